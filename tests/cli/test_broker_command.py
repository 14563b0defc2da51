"""`stomptest` and `stomptest broker` as a user runs them (bad options: test_bad_input.py)."""

from __future__ import annotations

import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from stomptest.cli import main
from stomptest.client import Client
from stomptest.protocol import HEARTBEAT, Frame, Parser


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "broker" in capsys.readouterr().err


def test_broker_command_serves_logs_and_stops_on_sigint() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "stomptest.cli", "broker", "--port", "0", "--profile", "rabbitmq", "--user", "a:b"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert "rabbitmq profile" in line
        port = int(line.rsplit(":", 1)[1])
        assert process.stderr.readline().strip().endswith(f"STOMP over WebSocket on ws://127.0.0.1:{port}/ws")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(Frame("CONNECT", {"accept-version": "1.2", "login": "a", "passcode": "b"}).encode())
            [reply, *beats] = Parser().feed(sock.recv(4096))  # rabbitmq: a LF follows every frame's NUL
            assert beats in ([], [HEARTBEAT])
            assert isinstance(reply, Frame) and reply.command == "CONNECTED"
            assert reply.headers["server"].startswith("RabbitMQ/")
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
        log = process.stderr.read()
        assert "connection 1 from 127.0.0.1" in log
        assert "stopped" in log
    finally:
        process.kill()
        process.wait()


def test_broker_tls_makes_a_throwaway_certificate_and_writes_its_ca(tmp_path: Path) -> None:
    pytest.importorskip("trustme")
    ca = tmp_path / "ca.pem"
    command = [sys.executable, "-m", "stomptest", "broker", "--port", "0", "--tls", "--ca-out", str(ca), "-q"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        url = process.stderr.readline().split()[-1]
        assert url.startswith("ssl://127.0.0.1:")
        process.stderr.readline()  # the WebSocket URL
        assert process.stderr.readline().strip().endswith(f"its CA in {ca}")
        with Client(url, ssl_context=ssl.create_default_context(cafile=str(ca))) as client:
            client.send("/queue/a", b"x", receipt=True)
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
    finally:
        process.kill()
        process.wait()
