"""Shared by the plugin tests: the sample project's files, and whether a real broker answers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

SAMPLE = Path(__file__).parent / "sample_project"


def sample_files() -> dict[str, str]:
    return {path.stem: path.read_text() for path in SAMPLE.glob("*.py")}


def write_sample(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(**sample_files())


def real_broker(port: int, name: str) -> None:
    """Skip (printing why) unless STOMPTEST_REAL_BROKERS=1 and the broker accepts connections."""
    if os.environ.get("STOMPTEST_REAL_BROKERS") != "1":
        pytest.skip(f"{name}: set STOMPTEST_REAL_BROKERS=1 (and run scripts/real-brokers.sh start) to test it")
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError as exc:
        pytest.skip(f"{name} is not reachable on 127.0.0.1:{port}: {exc}")


def make_certificate(directory: Path) -> tuple[str, str]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed, so no certificate can be made for the TLS test")
    cert, key = directory / "cert.pem", directory / "key.pem"
    command = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"]
    command += ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)]
    subprocess.run(command, check=True, capture_output=True)
    return str(cert), str(key)
