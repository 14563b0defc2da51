"""`stomptest shell`: a script of commands on stdin, as a user would type them, against the fake broker."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time

from stomptest.broker import Broker
from tests.cli.conftest import Run


def shell(run: Run, broker: Broker, *lines: str) -> list[str]:
    result = run("shell", broker.url, stdin="\n".join(lines).encode() + b"\n")
    assert result.status == 0 and result.err == ""
    return result.out.splitlines()


def test_subscribe_send_receive_and_ack_by_number(run: Run, broker: Broker) -> None:
    out = shell(
        run,
        broker,
        "subscribe /queue/a client-individual",
        "send -H kind:typed /queue/a hello world",
        "receive 1",
        "ack 1",
        "quit",
    )
    assert out[0] == "subscribed: id sub-1"
    assert "sent" in out
    [shown] = [line for line in out if line.startswith("#1 ")]
    assert "destination:/queue/a" in shown and "kind:typed" in shown
    assert out[out.index(shown) + 1] == "   hello world"
    assert "acked #1" in out
    assert broker.unacked() == ()
    assert [e.frame.command for e in broker.transcript(direction="in")][-1] == "DISCONNECT"


def test_nack_and_unsubscribe(run: Run, broker: Broker) -> None:
    out = shell(run, broker, "subscribe /queue/a client", "send /queue/a x", "receive 1", "nack 1", "unsubscribe sub-1")
    assert "nacked #1" in out and "unsubscribed: id sub-1" in out
    assert "NACK" in [e.frame.command for e in broker.transcript(direction="in")]


def test_a_transaction_holds_its_sends_until_commit(run: Run, broker: Broker) -> None:
    script = ["begin t1", "send -t t1 /queue/a held", "commit t1", "begin t2", "send -t t2 /queue/a gone", "abort t2"]
    out = shell(run, broker, *script)
    assert out[:2] == ["begun: transaction t1", "sent"]
    assert "committed: transaction t1" in out and "aborted: transaction t2" in out
    assert [m.body for m in broker.snapshot().messages("/queue/a")] == [b"held"]


def test_every_mistake_is_one_line_and_the_shell_goes_on(run: Run, broker: Broker) -> None:
    out = shell(
        run,
        broker,
        "frob",
        "send",
        "ack 7",
        "subscribe /queue/a sometimes",
        "unsubscribe nope",
        "commit never-begun",
        "send -H nocolon /queue/a x",
        'send /queue/a "unclosed',
        "receive soon",
        "receive -1",
        "send /queue/a still here",
    )
    errors = [line for line in out if line.startswith("error: ")]
    assert errors == [
        "error: unknown command 'frob': type help",
        "error: usage: send [-H name:value]... [-t TX] DEST [BODY...]",
        "error: no message #7 waiting for an ack (see the numbers shown)",
        "error: ack mode 'sometimes': use one of auto, client, client-individual",
        "error: no subscription 'nope': yours are none",
        errors[5],
        "error: header 'nocolon': write NAME:VALUE",
        "error: No closing quotation",
        "error: receive 'soon': give a number of seconds, 0 or more",
        "error: receive '-1': give a number of seconds, 0 or more",
    ]
    assert "never-begun" in errors[5] and "()" not in errors[5]  # the shell's commands, not the client's methods
    assert out[-1] == "sent"
    assert [m.body for m in broker.snapshot().messages("/queue/a")] == [b"still here"]


def test_help_lists_every_command(run: Run, broker: Broker) -> None:
    text = "\n".join(shell(run, broker, "help"))
    for command in ("send", "subscribe", "receive", "ack", "nack", "begin", "commit", "abort", "unsubscribe", "quit"):
        assert command in text


def test_on_a_terminal_it_prompts_and_greets(broker: Broker) -> None:
    primary, secondary = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "stomptest", "shell", broker.url],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        close_fds=True,
    )
    os.close(secondary)
    output = b""
    try:
        os.write(primary, b"send /queue/a typed\nquit\n")
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            try:
                output += os.read(primary, 4096)
            except OSError:  # the terminal closed with the process
                break
        assert process.wait(30) == 0
    finally:
        process.kill()
        os.close(primary)
    text = output.decode()
    assert "connected; type help for the commands, quit to leave" in text
    assert "stomp> " in text and "sent" in text
    assert [m.body for m in broker.wait_for_messages("/queue/a")] == [b"typed"]
