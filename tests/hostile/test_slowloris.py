"""Slow-loris clients: a trickle of bytes that never makes a frame, or silence after CONNECT.

The limits (max_header_bytes, max_frame_bytes) close a trickle that never ends a frame,
and the heart-beat timeout closes a client slower than the interval it promised. Scaled
down: small limits, a byte every 10 ms, heart-beats of 100 ms; every loop is bounded.
"""

from __future__ import annotations

import dataclasses
import socket
import time

import pytest

from stomptest.broker import Broker, get_profile
from stomptest.protocol import Frame, FrameError, Parser

CONNECT = b"CONNECT\naccept-version:1.2\nhost:/\n\n\x00"


class Trickle:
    """A raw client that writes one byte at a time and notices when the broker closes."""

    def __init__(self, broker: Broker) -> None:
        self.sock = socket.create_connection(broker.address, timeout=5)
        self.parser = Parser("1.2")
        self.frames: list[Frame] = []
        self.closed = False

    def poll(self, wait: float = 0.0) -> None:
        self.sock.settimeout(wait if wait > 0 else 0.0001)
        while not self.closed:
            try:
                data = self.sock.recv(65536)
            except (BlockingIOError, TimeoutError):
                return
            except OSError:
                self.closed = True
                return
            if not data:
                self.closed = True
                return
            try:
                self.frames += [i for i in self.parser.feed(data) if isinstance(i, Frame)]
            except FrameError as exc:
                raise AssertionError(f"the broker sent bytes that are not STOMP: {exc}") from None

    def send_slowly(self, data: bytes, pause: float, max_bytes: int) -> int:
        """Write `data` (cycled) a byte at a time until the broker closes; return the bytes written."""
        for count in range(max_bytes):
            try:
                self.sock.sendall(data[count % len(data) : count % len(data) + 1])
            except OSError:
                self.closed = True
                return count
            self.poll(pause)
            if self.closed:
                return count + 1
        return max_bytes

    def wait_closed(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self.poll(0.05)

    @property
    def commands(self) -> list[str]:
        return [frame.command for frame in self.frames]

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def broker() -> Broker:
    return Broker(max_header_bytes=32, max_frame_bytes=256)


@pytest.mark.parametrize("connected", [False, True], ids=["before-connect", "after-connect"])
def test_endless_header_line_is_closed_by_max_header_bytes(broker: Broker, connected: bool) -> None:
    with broker:
        client = Trickle(broker)
        if connected:
            client.sock.sendall(CONNECT)
        written = client.send_slowly(b"SEND\nx-endless:" + b"a" * 1000, pause=0.01, max_bytes=1000)
        client.wait_closed(2)
        assert client.closed, f"still open after {written} bytes of one header line"
        assert client.commands[-1] == "ERROR"
        assert "max_header_bytes" in client.frames[-1].headers["message"] + client.frames[-1].body.decode()
        assert written < 300  # closed near the limit (32), not at the end of our patience
        client.close()
        broker.check()


def test_endless_body_is_closed_by_max_frame_bytes(broker: Broker) -> None:
    with broker:
        client = Trickle(broker)
        client.sock.sendall(CONNECT + b"SEND\ndestination:/queue/a\n\n")
        written = client.send_slowly(b"b", pause=0.002, max_bytes=2000)
        client.wait_closed(2)
        assert client.closed and client.commands == ["CONNECTED", "ERROR"], client.commands
        assert written < 1000  # the limit is 256
        assert broker.messages("/queue/a") == ()
        client.close()
        broker.check()


def test_many_headers_one_byte_at_a_time_are_closed_by_max_headers() -> None:
    with Broker(max_headers=8) as broker:
        client = Trickle(broker)
        client.sock.sendall(CONNECT)
        written = client.send_slowly(b"SEND\n" + b"h:1\n" * 300, pause=0.005, max_bytes=1000)
        client.wait_closed(2)
        assert client.closed and client.commands == ["CONNECTED", "ERROR"], client.commands
        assert written < 400  # the limit is 8 lines, 37 bytes
        client.close()
        broker.check()


def test_silent_client_is_closed_by_the_heartbeat_timeout() -> None:
    with Broker() as broker:
        client = Trickle(broker)
        client.sock.sendall(b"CONNECT\naccept-version:1.2\nhost:/\nheart-beat:100,0\n\n\x00")
        client.wait_closed(3)  # promised a beat every 100 ms: closed after 100 ms x grace
        assert client.closed and client.commands == ["CONNECTED"]
        closed = [c for c in broker.engine.finished if c.close_reason and "heart-beat" in c.close_reason]
        assert closed, "closed for another reason than the heart-beat timeout"
        client.close()
        broker.check()


def test_trickle_slower_than_the_heartbeat_is_closed_by_the_timeout() -> None:
    """A byte every 400 ms of an endless header, from a client that promised one every 100 ms."""
    with Broker() as broker:
        client = Trickle(broker)
        client.sock.sendall(b"CONNECT\naccept-version:1.2\nhost:/\nheart-beat:100,0\n\n\x00")
        written = client.send_slowly(b"SEND\nx-endless:" + b"a" * 100, pause=0.4, max_bytes=10)
        client.wait_closed(3)
        assert client.closed and written < 10
        client.close()
        broker.check()


def test_trickle_faster_than_the_heartbeat_is_closed_by_the_limit() -> None:
    """Every byte counts as a heart-beat, so only the header limit ends this one."""
    with Broker(max_header_bytes=32) as broker:
        client = Trickle(broker)
        client.sock.sendall(b"CONNECT\naccept-version:1.2\nhost:/\nheart-beat:200,0\n\n\x00")
        written = client.send_slowly(b"SEND\nx-endless:" + b"a" * 1000, pause=0.02, max_bytes=300)
        client.wait_closed(2)
        assert client.closed and client.commands[-1] == "ERROR", client.commands
        assert written < 150  # the limit is 32 bytes of header line
        client.close()
        broker.check()


@pytest.mark.parametrize("trickle", [False, True], ids=["silent", "a-byte-every-20-ms"])
def test_connection_that_never_completes_connect_is_closed_by_the_connect_timeout(trickle: bool) -> None:
    """Before CONNECT no heart-beat applies: the profile's connect_timeout ends a trickle below every limit."""
    profile = dataclasses.replace(get_profile("strict"), connect_timeout=0.3)
    with Broker(profile=profile) as broker:
        client = Trickle(broker)
        if trickle:
            written = client.send_slowly(b"CONNECT\naccept-version:1.2\nx:" + b"a" * 1000, pause=0.02, max_bytes=150)
            assert written < 150
        client.wait_closed(3)
        assert client.closed and "CONNECTED" not in client.commands
        client.close()
        broker.check()
