"""A fake broker per test, and `run`: the `stomptest` command in this process, its status and output."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from stomptest.broker import Broker
from stomptest.cli import main


@pytest.fixture
def broker() -> Iterator[Broker]:
    with Broker(profile="strict") as running:
        yield running
        running.check()


@dataclass
class Result:
    status: int
    out: str
    err: str


Run = Callable[..., Result]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run("send", url, ..., stdin=b"...")``: main() with these arguments; stdin is empty unless given."""

    def call(*argv: str, stdin: bytes = b"") -> Result:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
        status = main(list(argv))
        out, err = capsys.readouterr()
        return Result(status, out, err)

    return call
