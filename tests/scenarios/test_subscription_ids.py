"""A SUBSCRIBE whose id is in use, where the broker keeps both (ActiveMQ, issue 18's N18), in raw frames.

Measured on ActiveMQ 5.17.2: the newer subscription takes the id, the older one goes on
delivering under the same `subscription` header until the connection ends. UNSUBSCRIBE with
that id ends the newer one, a second gets "No subscription matched."; a 1.1 ACK naming the
id cannot reach the older one's messages, a 1.2 ACK by its `ack` id and a 1.0 ACK naming
no subscription can; a 1.0 UNSUBSCRIBE by destination reaches the older one. The other
brokers refuse the second SUBSCRIBE (test_raw_frames.py::test_a_duplicate_subscription).
"""

from __future__ import annotations

import pytest

from stomptest.protocol import Frame

from .conftest import Target
from .test_raw_frames import Raw
from .test_subscriptions import _connect, _durable, _fresh, _ok, _remove, _request, _send

MARKER = "-- marker --"


def _connected(target: Target, raw: list[Raw], version: str) -> Raw:
    connection = Raw(target, version)
    raw.append(connection)
    connection.connect(version)
    return connection


def _sent(producer: Raw, destination: str, body: str) -> None:
    producer.send(f"SEND\ndestination:{destination}\nreceipt:s\n\n{body}\x00")
    receipt = producer.next()
    assert receipt.command == "RECEIPT", receipt


def _upto_marker(reader: Raw, producer: Raw, destination: str) -> list[Frame]:
    """The MESSAGEs `reader` gets before a marker sent to `destination` (which it must read)."""
    _sent(producer, destination, MARKER)
    got: list[Frame] = []
    while (frame := reader.next()).body != MARKER.encode():
        got.append(frame)
    return got


def _reply(connection: Raw, frame: str) -> Frame:
    connection.send(frame)
    return connection.next()


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_a_second_subscribe_with_an_id_in_use(target: Target, raw: list[Raw], version: str) -> None:
    if target.facts.duplicate_subscription != "add":
        pytest.skip(f"{target.name} refuses or ignores the second SUBSCRIBE: test_a_duplicate_subscription")
    reader, producer = _connected(target, raw, version), _connected(target, raw, "1.2")
    older, newer = target.queue(), target.queue()
    ack = "client" if version == "1.0" else "client-individual"
    for name in (older, newer):
        assert _reply(reader, f"SUBSCRIBE\nid:1\ndestination:{name}\nack:{ack}\nreceipt:r\n\n\x00").command == "RECEIPT"
    _sent(producer, older, "o1")
    _sent(producer, newer, "n1")
    got = [reader.next(), reader.next()]
    assert sorted((m.body, m.headers["destination"], m.headers["subscription"]) for m in got) == [
        (b"n1", newer, "1"),
        (b"o1", older, "1"),
    ]
    from_older = next(m for m in got if m.body == b"o1")
    if version == "1.2":
        ack_frame = f"ACK\nid:{from_older.headers['ack']}\nreceipt:k\n\n\x00"
    elif version == "1.1":
        ack_frame = f"ACK\nsubscription:1\nmessage-id:{from_older.headers['message-id']}\nreceipt:k\n\n\x00"
    else:
        ack_frame = f"ACK\nmessage-id:{from_older.headers['message-id']}\nreceipt:k\n\n\x00"
    answer = _reply(reader, ack_frame)
    if version == "1.1":  # the id names the newer subscription, which never had this message
        assert answer.command == "ERROR", answer
        assert answer.headers["message"].startswith("Unexpected ACK received for message-id ["), answer
    else:
        assert answer.command == "RECEIPT", answer
    assert _reply(reader, "UNSUBSCRIBE\nid:1\nreceipt:u1\n\n\x00").command == "RECEIPT"
    _sent(producer, newer, "n2")
    assert [m.body for m in _upto_marker(reader, producer, older)] == []  # the older one still delivers
    again = _reply(reader, "UNSUBSCRIBE\nid:1\nreceipt:u2\n\n\x00")
    assert again.command == "ERROR" and again.headers["message"] == "No subscription matched.", again
    if version == "1.0":  # by destination, the older one can be ended
        assert _reply(reader, f"UNSUBSCRIBE\ndestination:{older}\nreceipt:u3\n\n\x00").command == "RECEIPT"
        _sent(producer, older, "o2")
        _sent(producer, older, "o3")
        probe = _connected(target, raw, "1.2")
        assert _reply(probe, f"SUBSCRIBE\nid:p\ndestination:{older}\nreceipt:r\n\n\x00").command == "RECEIPT"
        # nothing went to the ended one, and the marker it never acknowledged came back
        assert sorted(probe.next().body for _ in range(3)) == sorted([b"o2", b"o3", MARKER.encode()])


def test_the_same_durable_subscribe_again_while_consumed(target: Target, raw: list[Raw]) -> None:
    """Measured on ActiveMQ: refused ("Durable consumer is in use"), and the first consumer goes on alone."""
    dialect = target.facts.durable_subscriptions
    if dialect != "activemq":
        pytest.skip(f"{target.name}: durable subscriptions of another dialect, or none")
    name, topic = _fresh(), target.topic()
    connect, subscribe, _ = _durable(dialect, name)
    subscriber = _connect(target, raw, connect)
    producer = _connect(target, raw)
    try:
        _ok(subscriber, f"SUBSCRIBE\nid:{name}\ndestination:{topic}\n{subscribe}\n\x00")
        again = _request(subscriber, f"SUBSCRIBE\nid:{name}\ndestination:{topic}\n{subscribe}\n\x00", "again")
        assert again.command == "ERROR", again
        assert again.headers["message"].startswith("Durable consumer is in use for client"), again
        assert again.body.decode().startswith("javax.jms.JMSException: Durable consumer is in use for client"), again
        _send(producer, topic, "once")
        _send(producer, topic, "end")
        assert [subscriber.next().body, subscriber.next().body] == [b"once", b"end"]
    finally:  # no UNSUBSCRIBE: after the refusal ActiveMQ gives the id to the refused consumer (docs/broker.md, N18)
        subscriber.send("DISCONNECT\nreceipt:bye\n\n\x00")
        subscriber.next()
        _remove(target, raw, dialect, name, topic)
