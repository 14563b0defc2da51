"""Shared by the plugin tests: the sample project's files, and whether a real broker answers."""

from __future__ import annotations

import os
import socket
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
