"""The probe against a scripted server: frames split or packed, heart-beats, ERROR before close."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

from stomptest.conformance.probe import Probe, ProbeClosed, ProbeTimeout
from stomptest.protocol.frame import Frame
from tests.conformance.conftest import Handler, ScriptedServer, read_frame


def test_frames_split_across_segments_and_packed_are_parsed(scripted: Callable[[Handler], ScriptedServer]) -> None:
    def answer(conn: socket.socket) -> None:
        read_frame(conn)
        for part in (b"RECE", b"IPT\nreceipt-id:a\n", b"\n\x00MESSAGE\ndestination:/q\n\nbody\x00\n"):
            conn.sendall(part)
            time.sleep(0.02)
        conn.recv(1)

    server = scripted(answer)
    probe = Probe("127.0.0.1", server.port, timeout=2)
    probe.send(Frame("SEND", {"destination": "/q"}))
    message = probe.wait_for(lambda f: f.command == "MESSAGE")
    assert message.body == b"body"
    receipt = probe.receipt("a")
    assert receipt.command == "RECEIPT"
    probe.poll(0.1)
    assert len(probe.heartbeats) == 1
    assert any("> b'SEND" in line for line in probe.transcript.lines)
    probe.close()


def test_error_before_close_is_kept_and_close_is_detected(scripted: Callable[[Handler], ScriptedServer]) -> None:
    def answer(conn: socket.socket) -> None:
        read_frame(conn)
        conn.sendall(b"ERROR\nmessage:no\n\n\x00")
        conn.close()

    server = scripted(answer)
    probe = Probe("127.0.0.1", server.port, timeout=2)
    probe.send_raw(b"FOO\n\n\x00")
    assert probe.wait_closed(2)
    error = probe.next_frame()
    assert error.headers["message"] == "no"
    with pytest.raises(ProbeClosed):
        probe.next_frame()


def test_timeout_when_nothing_matches(scripted: Callable[[Handler], ScriptedServer]) -> None:
    def silent(conn: socket.socket) -> None:
        conn.recv(1)

    server = scripted(silent)
    probe = Probe("127.0.0.1", server.port, timeout=2)
    with pytest.raises(ProbeTimeout):
        probe.wait_for(lambda f: True, timeout=0.1)
    assert probe.maybe(lambda f: True, 0.05) is None
    assert not probe.closed
    probe.close()


def test_unparseable_bytes_close_the_probe_and_are_logged(scripted: Callable[[Handler], ScriptedServer]) -> None:
    def answer(conn: socket.socket) -> None:
        conn.sendall(b"NOT-A-COMMAND\n\n\x00")
        conn.recv(1)

    server = scripted(answer)
    probe = Probe("127.0.0.1", server.port, timeout=2)
    assert probe.wait_closed(2)
    assert "cannot parse" in probe.close_reason
    assert any("NOT-A-COMMAND" in line for line in probe.transcript.lines)
