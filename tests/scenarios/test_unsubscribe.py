"""What UNSUBSCRIBE does with a subscription's unacknowledged messages, per broker, in raw frames.

Measured on 2026-12-06 (found by the differential tests, issue 18): ActiveMQ gives them back as
delivered (`redelivered:true` next time); Artemis gives them back as if never delivered
(`redelivered:false`; a closed connection's come back `redelivered:true`); RabbitMQ keeps them
unacknowledged until the connection ends, and an ACK naming the ended subscription is
`Subscription not found`.
"""

from __future__ import annotations

import pytest

from stomptest.protocol import Frame

from .conftest import Target
from .test_header_values import _pair
from .test_raw_frames import Raw


def _frames_until_marker(connection: Raw, producer: Raw, queue: str) -> list[Frame]:
    producer.send(f"SEND\ndestination:{queue}\nreceipt:m\n\n-- marker --\x00")
    assert producer.next().command == "RECEIPT"
    got = []
    while (frame := connection.next()).body != b"-- marker --":
        got.append(frame)
    return got


def test_unacknowledged_messages_at_unsubscribe(target: Target, raw: list[Raw]) -> None:
    producer, consumer, queue = _pair(target, raw, "1.2", "1.2")  # consumer: subscription 1, ack:auto
    consumer.send("UNSUBSCRIBE\nid:1\nreceipt:u1\n\n\x00")
    assert consumer.next().command == "RECEIPT"
    consumer.send(f"SUBSCRIBE\nid:2\ndestination:{queue}\nack:client-individual\nreceipt:r2\n\n\x00")
    assert consumer.next().command == "RECEIPT"
    producer.send(f"SEND\ndestination:{queue}\nreceipt:s\n\none\x00")
    assert producer.next().command == "RECEIPT"
    assert consumer.next().body == b"one"
    consumer.send("UNSUBSCRIBE\nid:2\nreceipt:u2\n\n\x00")
    assert consumer.next().command == "RECEIPT"
    consumer.send(f"SUBSCRIBE\nid:3\ndestination:{queue}\nreceipt:r3\n\n\x00")
    assert consumer.next().command == "RECEIPT"
    again = [(m.body, m.headers.get("redelivered")) for m in _frames_until_marker(consumer, producer, queue)]
    policy = target.facts.unsubscribe_unacked
    if policy == "hold":
        assert again == []
        other = Raw(target, "1.2")
        raw.append(other)
        other.connect("1.2")
        other.send(f"SUBSCRIBE\nid:1\ndestination:{queue}\nreceipt:r\n\n\x00")
        assert other.next().command == "RECEIPT"
        consumer.sock.close()  # the connection ends: now it comes back, as delivered
        message = other.next()
        assert (message.body, message.headers.get("redelivered")) == (b"one", "true"), message
        return
    written = target.facts.redelivered_header  # "always", "when-true" or "never"
    counted = policy == "requeue"
    flag = None if written == "never" or (written == "when-true" and not counted) else str(counted).lower()
    assert again == [(b"one", flag)]


@pytest.mark.parametrize("transaction", [None, "never-begun"])
@pytest.mark.parametrize("command", ["ACK", "NACK"])
def test_an_ack_after_its_subscription_is_gone(
    target: Target, raw: list[Raw], command: str, transaction: str | None
) -> None:
    """RabbitMQ (measured, found by the differential tests): the subscription an ack id names is looked up first,
    before the transaction it names (an unknown one is not what the ERROR says)."""
    if target.facts.unknown_delivery_ack != "precondition-failed":
        pytest.skip(f"{target.name}: an ack id does not name its subscription")
    producer, consumer, queue = _pair(target, raw, "1.2", "1.2")
    consumer.send(f"SUBSCRIBE\nid:2\ndestination:{queue}\nack:client-individual\nreceipt:r2\n\n\x00")
    assert consumer.next().command == "RECEIPT"
    consumer.send("UNSUBSCRIBE\nid:1\nreceipt:u1\n\n\x00")
    assert consumer.next().command == "RECEIPT"
    producer.send(f"SEND\ndestination:{queue}\nreceipt:s\n\nbody\x00")
    assert producer.next().command == "RECEIPT"
    ack = consumer.next().headers["ack"]
    consumer.send("UNSUBSCRIBE\nid:2\nreceipt:u2\n\n\x00")
    assert consumer.next().command == "RECEIPT"
    in_transaction = "" if transaction is None else f"transaction:{transaction}\n"
    consumer.send(f"{command}\nid:{ack}\n{in_transaction}receipt:k\n\n\x00")
    error = consumer.next()
    assert error.command == "ERROR", error
    assert error.headers["message"] == "Subscription not found", error
    assert error.body.decode() == f'Message with id "{ack}" has no subscription'
    assert not consumer.closes()
