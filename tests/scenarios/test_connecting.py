"""STOMP asking for 1.0, in raw frames (issue 18, found by the differential tests as D3).

Measured on 2026-12-06: ActiveMQ and RabbitMQ take it as CONNECT and answer CONNECTED
version 1.0. Artemis 2.40.0 answers `AMQ339029 Unsupported command STOMP` and keeps the
connection open, unconnected and fixed at 1.0: any other frame then gets `AMQ339010
Connection is not valid.`, another STOMP the same refusal even asking for 1.2, and a CONNECT
asking for 1.2 gets `CONNECTED version:1.0`.
"""

from __future__ import annotations

import pytest

from .conftest import Target
from .test_raw_frames import LOGIN, Raw


@pytest.mark.parametrize("accept", ["", "accept-version:1.0\n"], ids=["no-accept-version", "1.0"])
def test_stomp_asking_for_1_0(target: Target, raw: list[Raw], accept: str) -> None:
    connection = Raw(target, "1.0")
    raw.append(connection)
    connection.send(f"STOMP\n{accept}host:/\n{LOGIN}receipt:r0\n\n\x00")
    answer = connection.next()
    if target.facts.stomp_in_1_0 == "accept":
        assert answer.command == "CONNECTED" and answer.headers.get("version", "1.0") == "1.0", answer
        return
    assert answer.command == "ERROR", answer
    assert answer.headers["message"] == "AMQ339029 Unsupported command STOMP", answer
    connection.send(f"SEND\ndestination:{target.queue()}\nreceipt:s\n\nx\x00")
    refused = connection.next()
    assert refused.command == "ERROR" and refused.headers["message"] == "AMQ339010 Connection is not valid.", refused
    connection.send(f"STOMP\naccept-version:1.2\nhost:/\n{LOGIN}\n\x00")
    again = connection.next()
    assert again.command == "ERROR" and again.headers["message"] == "AMQ339029 Unsupported command STOMP", again
    connection.send(f"CONNECT\naccept-version:1.2\nhost:/\n{LOGIN}\n\x00")
    connected = connection.next()
    assert connected.command == "CONNECTED" and connected.headers["version"] == "1.0", connected


_AFTER = {
    "SUBSCRIBE": ("SUBSCRIBE\nid:1\ndestination:{queue}\nreceipt:s\n\n\x00", "AMQ229031 Unable to validate user from "),
    "UNSUBSCRIBE": ("UNSUBSCRIBE\nid:1\nreceipt:s\n\n\x00", "AMQ339017 Error unsubscribing 1"),
    "ACK": ("ACK\nmessage-id:none\nreceipt:s\n\n\x00", "AMQ339018 Error acknowledging message none"),
    "BEGIN": ("BEGIN\ntransaction:t\nreceipt:s\n\n\x00", "AMQ339012 Error beginning a transaction t"),
    "COMMIT": ("COMMIT\ntransaction:t\nreceipt:s\n\n\x00", "AMQ339013 Error committing t"),
    "ABORT": ("ABORT\ntransaction:t\nreceipt:s\n\n\x00", "AMQ339014 Error aborting t"),
    "UNSUBSCRIBE by destination": (
        "UNSUBSCRIBE\ndestination:/topic/x\nreceipt:s\n\n\x00",
        "AMQ339031 Error handling send",
    ),
    "BEGIN without transaction": ("BEGIN\nreceipt:s\n\n\x00", "AMQ339032 Need a transaction id to begin"),
}


@pytest.mark.parametrize("command", sorted(_AFTER))
def test_each_command_after_a_refused_stomp(target: Target, raw: list[Raw], command: str) -> None:
    """Artemis (measured): each command's own ERROR; the connection stays open and a CONNECT still works."""
    if target.facts.stomp_in_1_0 != "refused":
        pytest.skip(f"{target.name} takes STOMP asking for 1.0 as CONNECT")
    connection = Raw(target, "1.0")
    raw.append(connection)
    connection.send(f"STOMP\nhost:/\n{LOGIN}\n\x00")
    assert connection.next().command == "ERROR"
    text, expected = _AFTER[command]
    connection.send(text.format(queue=target.queue()))
    error = connection.next()
    assert error.command == "ERROR" and error.headers["message"].startswith(expected), error
    assert error.headers.get("receipt-id") == (None if command == "SUBSCRIBE" else "s"), error
    connection.send(f"CONNECT\naccept-version:1.2\nhost:/\n{LOGIN}\n\x00")
    assert connection.next().headers["version"] == "1.0"
