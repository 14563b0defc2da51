"""Frame order and consumer rotation at engine level (issue 18: item 4, N11), every profile.

RabbitMQ 3.10.8, ActiveMQ 5.17.2 and Artemis 2.40.0 were measured to agree on all of it
(docs/broker.md, "Issue 18"); only which receipts wait for COMMIT and whether the MESSAGE
keeps `transaction` are the profiles' own (`transaction_receipts`, `message_transaction_header`).
"""

from __future__ import annotations

import pytest

from stomptest.broker.profiles import PROFILES
from stomptest.protocol import Frame

from .harness import Peer, connected, engine

NAMES = ["strict", "activemq", "rabbitmq", "artemis"]


def _said(frames: list[Frame]) -> list[str]:
    return [f"{f.command} {f.headers.get('receipt-id') or f.body.decode()}" for f in frames]


def _login(profile: str) -> Peer:
    return connected(engine(profile), login="guest", passcode="guest")


@pytest.mark.parametrize("profile", NAMES)
def test_subscribe_receipt_before_the_backlog(profile: str) -> None:
    producer = _login(profile)
    for index in range(3):
        producer.send("SEND", {"destination": "/queue/q"}, f"m{index}")
    consumer = Peer(producer.engine)
    consumer.connect("1.2", login="guest", passcode="guest")
    reply = consumer.send(
        "SUBSCRIBE", {"id": "1", "destination": "/queue/q", "ack": "client-individual", "receipt": "s"}
    )
    assert _said(reply) == ["RECEIPT s", "MESSAGE m0", "MESSAGE m1", "MESSAGE m2"]


@pytest.mark.parametrize("profile", NAMES)
def test_commit_receipt_first_then_messages_then_held_receipts(profile: str) -> None:
    peer = _login(profile)
    peer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/q", "ack": "auto"})
    peer.send("BEGIN", {"transaction": "tx1"})
    early = []
    for index in (1, 2):
        sent = {"destination": "/queue/q", "transaction": "tx1", "receipt": f"ts{index}"}
        early += peer.send("SEND", sent, f"t{index}")
    reply = peer.send("COMMIT", {"transaction": "tx1", "receipt": "c"})
    facts = PROFILES[profile]
    if facts.transaction_receipts == "at-commit":
        assert early == []
        assert _said(reply) == ["RECEIPT c", "MESSAGE t1", "MESSAGE t2", "RECEIPT ts1", "RECEIPT ts2"]
    else:
        assert _said(early) == ["RECEIPT ts1", "RECEIPT ts2"]
        assert _said(reply) == ["RECEIPT c", "MESSAGE t1", "MESSAGE t2"]
    messages = [f for f in reply if f.command == "MESSAGE"]
    for message in messages:
        assert message.headers.get("transaction") == ("tx1" if facts.message_transaction_header else None)
    if facts.message_transaction_header and facts.echo_receipt_in_message:
        names = [name for name, _ in messages[0].raw_headers]
        assert names.index("receipt") < names.index("transaction")  # as RabbitMQ and Artemis write them


@pytest.mark.parametrize("profile", NAMES)
def test_competing_consumers_rotate(profile: str) -> None:
    producer = _login(profile)
    eng = producer.engine
    producer.send("SEND", {"destination": "/queue/q"}, "m0")
    a, b = Peer(eng), Peer(eng)
    for consumer in (a, b):
        consumer.connect("1.2", login="guest", passcode="guest")
    served = []
    assert _said(a.send("SUBSCRIBE", {"id": "a", "destination": "/queue/q", "ack": "auto"})) == ["MESSAGE m0"]
    served.append("a")
    b.send("SUBSCRIBE", {"id": "b", "destination": "/queue/q", "ack": "auto"})
    for index in range(1, 7):
        producer.send("SEND", {"destination": "/queue/q"}, f"m{index}")
        got_a, got_b = a.frames(), b.frames()
        assert len(got_a) + len(got_b) == 1
        served.append("a" if got_a else "b")
    assert "".join(served) == "aababab"


@pytest.mark.parametrize("profile", NAMES)
def test_a_consumer_without_room_keeps_its_place(profile: str) -> None:
    """A is full (prefetch 1, unacked): B is served and goes to the back; A stays first in line."""
    producer = _login(profile)
    eng = producer.engine
    a, b = Peer(eng), Peer(eng)
    for consumer in (a, b):
        consumer.connect("1.2", login="guest", passcode="guest")
    window = {"prefetch-count": "1", "activemq.prefetchSize": "1", "consumerWindowSize": "0"}
    a.send("SUBSCRIBE", {"id": "a", "destination": "/queue/q", "ack": "client-individual", **window})
    b.send("SUBSCRIBE", {"id": "b", "destination": "/queue/q", "ack": "auto"})
    producer.send("SEND", {"destination": "/queue/q"}, "m0")  # a (now full)
    producer.send("SEND", {"destination": "/queue/q"}, "m1")  # b: a has no room
    first = a.frames()
    assert _said(first) == ["MESSAGE m0"] and _said(b.frames()) == ["MESSAGE m1"]
    a.send("ACK", {"id": first[0].headers["ack"]})
    producer.send("SEND", {"destination": "/queue/q"}, "m2")
    assert _said(a.frames()) == ["MESSAGE m2"]


@pytest.mark.parametrize(
    ("profile", "connected", "error"),
    [
        (
            "activemq",
            ["server", "heart-beat", "session", "response-id", "receipt-id", "version"],
            ["content-type", "receipt-id", "message"],
        ),
        ("rabbitmq", ["server", "session", "heart-beat", "version"], ["message", "content-type", "version"]),
    ],
)
def test_header_order_of_connected_and_error(profile: str, connected: list[str], error: list[str]) -> None:
    """N1, measured on ActiveMQ 5.17.2 and RabbitMQ 3.10.8 (MESSAGE: RabbitMQ's matched already)."""
    peer = Peer(engine(profile))
    frame = peer.connect("1.2", login="guest", passcode="guest", receipt="cr")
    assert [name for name, _ in frame.raw_headers] == connected
    reply = peer.send("UNSUBSCRIBE", {"id": "nope", "receipt": "ur"})
    names = [name for name, _ in reply[0].raw_headers]
    assert [name for name in names if name != "content-length"] == error
