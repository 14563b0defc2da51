"""`stomptest send` and `stomptest receive` as a developer runs them by hand, on every target."""

from __future__ import annotations

import json

import pytest

from stomptest.cli import main

from .conftest import Target


def test_send_then_receive_with_the_command_line_client(target: Target, capsys: pytest.CaptureFixture[str]) -> None:
    queue = target.queue()
    login = ["--login", "guest", "--passcode", "guest"]
    assert main(["send", target.url, queue, "by hand", "-H", "kind:manual", "--receipt", *login]) == 0
    status = main(["receive", target.url, queue, "--count", "1", "--json", "--ack", "client", "-t", "10", *login])
    out = capsys.readouterr().out
    assert status == 0
    record = json.loads(out)
    assert (record["destination"], record["body"], record["headers"]["kind"]) == (queue, "by hand", "manual")
