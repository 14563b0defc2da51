"""The order of frames, and which consumer is served, on every target (issue 18: item 4, N11).

Measured on RabbitMQ 3.10.8, ActiveMQ 5.17.2 and Artemis 2.40.0 (docs/broker.md, "Issue 18"):
a SUBSCRIBE's RECEIPT comes before the backlog it opens; at COMMIT the COMMIT's RECEIPT comes
first, then the MESSAGEs, then the SEND receipts a profile holds until COMMIT; competing
consumers are served in rotation (the one served to the back, a new one joins at the back).
"""

from __future__ import annotations

import select
from collections.abc import Iterator

import pytest

from stomptest.protocol import Frame

from .conftest import Target
from .test_raw_frames import Raw


@pytest.fixture
def opened(target: Target) -> Iterator[list[Raw]]:
    connections: list[Raw] = []
    yield connections
    for connection in connections:
        connection.close()


def _connected(target: Target, opened: list[Raw]) -> Raw:
    connection = Raw(target)
    opened.append(connection)
    connection.connect()
    return connection


def _send(producer: Raw, destination: str, body: str) -> None:
    """A SEND whose RECEIPT is waited for (every frame before it is a MESSAGE for this connection)."""
    producer.send(f"SEND\ndestination:{destination}\nreceipt:p-{body}\n\n{body}\x00")
    while True:
        frame = producer.next()
        if frame.command == "RECEIPT" and frame.headers["receipt-id"] == f"p-{body}":
            return
        assert frame.command == "MESSAGE", frame


def _describe(frame: Frame) -> str:
    if frame.command == "RECEIPT":
        return f"RECEIPT {frame.headers['receipt-id']}"
    if frame.command == "MESSAGE":
        return f"MESSAGE {frame.body.decode()}"
    return f"{frame.command} {frame.headers.get('message', '')}"


def test_a_subscribe_receipt_comes_before_the_backlog(target: Target, opened: list[Raw]) -> None:
    queue = target.queue()
    producer = _connected(target, opened)
    for index in range(3):
        _send(producer, queue, f"m{index}")
    consumer = _connected(target, opened)
    consumer.send(f"SUBSCRIBE\nid:1\ndestination:{queue}\nack:client-individual\nreceipt:sub\n\n\x00")
    got = [_describe(consumer.next()) for _ in range(4)]
    assert got == ["RECEIPT sub", "MESSAGE m0", "MESSAGE m1", "MESSAGE m2"]


def test_the_order_of_frames_at_commit(target: Target, opened: list[Raw]) -> None:
    facts = target.facts
    queue = target.queue()
    connection = _connected(target, opened)
    connection.send(f"SUBSCRIBE\nid:1\ndestination:{queue}\nack:auto\nreceipt:sub\n\n\x00")
    assert _describe(connection.next()) == "RECEIPT sub"
    connection.send("BEGIN\ntransaction:tx1\nreceipt:begin\n\n\x00")
    assert _describe(connection.next()) == "RECEIPT begin"
    for index in (1, 2):
        connection.send(f"SEND\ndestination:{queue}\ntransaction:tx1\nreceipt:ts{index}\n\nt{index}\x00")
    connection.send("COMMIT\ntransaction:tx1\nreceipt:commit\n\n\x00")
    held = facts.transaction_receipts == "at-commit"
    expected = [
        *([] if held else ["RECEIPT ts1", "RECEIPT ts2"]),
        "RECEIPT commit",
        "MESSAGE t1",
        "MESSAGE t2",
        *(["RECEIPT ts1", "RECEIPT ts2"] if held else []),
    ]
    frames = [connection.next() for _ in expected]
    seen = [_describe(frame) for frame in frames]
    if held:
        # RabbitMQ writes the held SEND receipts after the COMMIT's, but whether each lands before or after a
        # committed MESSAGE is a race of its own (seen both ways on 3.10.8): only the order within each kind holds
        assert seen[0] == "RECEIPT commit", seen
        assert [item for item in seen if item.startswith("MESSAGE")] == ["MESSAGE t1", "MESSAGE t2"], seen
        assert [item for item in seen[1:] if item.startswith("RECEIPT")] == ["RECEIPT ts1", "RECEIPT ts2"], seen
    else:
        assert seen == expected
    for frame in frames:
        if frame.command == "MESSAGE":
            assert frame.headers.get("transaction") == ("tx1" if facts.message_transaction_header else None), frame


def _served(consumers: dict[str, Raw]) -> str:
    """Which consumer the next MESSAGE went to (waits for it; a second one would show up in the next call)."""
    while True:
        for name, consumer in consumers.items():
            if consumer.frames:
                frame = consumer.frames.pop(0)
                assert frame.command == "MESSAGE", frame
                return name
        ready, _, _ = select.select([consumer.sock for consumer in consumers.values()], [], [], 10)
        assert ready, "no MESSAGE within 10 s"
        for consumer in consumers.values():
            if consumer.sock in ready:
                data = consumer.sock.recv(65536)
                assert data, "closed"
                consumer.frames += [item for item in consumer.parser.feed(data) if isinstance(item, Frame)]


def test_competing_consumers_are_served_in_rotation(target: Target, opened: list[Raw]) -> None:
    """m0 waits for A; B subscribes; m1-m4 follow one by one. Measured on all three brokers: A A B A B."""
    queue = target.queue()
    producer = _connected(target, opened)
    a = _connected(target, opened)
    b = _connected(target, opened)
    _send(producer, queue, "m0")
    a.send(f"SUBSCRIBE\nid:a\ndestination:{queue}\nack:auto\nreceipt:sa\n\n\x00")
    assert _describe(a.next()) == "RECEIPT sa"
    served = [_served({"a": a, "b": b})]
    b.send(f"SUBSCRIBE\nid:b\ndestination:{queue}\nack:auto\nreceipt:sb\n\n\x00")
    assert _describe(b.next()) == "RECEIPT sb"
    for index in range(1, 5):
        _send(producer, queue, f"m{index}")
        served.append(_served({"a": a, "b": b}))
    assert "".join(served) == "aabab"


def test_an_ack_receipt_comes_before_the_message_it_lets_through(target: Target, opened: list[Raw]) -> None:
    """Prefetch 1, two queued: the ACK's RECEIPT, then the second MESSAGE (measured on both brokers)."""
    facts = target.facts
    if not facts.prefetch_headers:
        pytest.skip(f"{target.name}: no prefetch window to fill")
    queue = target.queue()
    producer = _connected(target, opened)
    for index in range(2):
        _send(producer, queue, f"n{index}")
    window = "".join(f"{name}:{1 if facts.prefetch_unit == 'messages' else 0}\n" for name in facts.prefetch_headers)
    consumer = _connected(target, opened)
    consumer.send(f"SUBSCRIBE\nid:7\ndestination:{queue}\nack:client-individual\n{window}receipt:sub\n\n\x00")
    assert _describe(consumer.next()) == "RECEIPT sub"
    first = consumer.next()
    assert _describe(first) == "MESSAGE n0"
    consumer.send(f"ACK\nid:{first.headers['ack']}\nreceipt:ack1\n\n\x00")
    assert [_describe(consumer.next()) for _ in range(2)] == ["RECEIPT ack1", "MESSAGE n1"]


def test_a_send_to_the_connections_own_subscription(target: Target, opened: list[Raw]) -> None:
    """RabbitMQ: the MESSAGE, then the SEND's RECEIPT; ActiveMQ and Artemis: the other way round."""
    queue = target.queue()
    connection = _connected(target, opened)
    connection.send(f"SUBSCRIBE\nid:9\ndestination:{queue}\nreceipt:sub\n\n\x00")
    assert _describe(connection.next()) == "RECEIPT sub"
    connection.send(f"SEND\ndestination:{queue}\nreceipt:own\n\nz\x00")
    expected = ["RECEIPT own", "MESSAGE z"]
    if not target.facts.receipt_before_dispatch:
        expected.reverse()
    assert [_describe(connection.next()) for _ in expected] == expected


def _in_profile_order(target: Target, frame: Frame) -> None:
    orders = dict(target.facts.header_order)
    if frame.command not in orders:
        pytest.skip(f"{target.name}: no measured header order for {frame.command}")
    names = [name for name, _ in frame.raw_headers]
    listed = [name for name in names if name in orders[frame.command]]
    assert listed == [name for name in orders[frame.command] if name in names], names
    assert names[: len(listed)] == listed, names  # names the profile does not list come after


@pytest.mark.parametrize("version", ["1.0", "1.2"])
def test_connected_headers_in_the_brokers_order(target: Target, opened: list[Raw], version: str) -> None:
    """N1, measured: RabbitMQ server, session, heart-beat, version; ActiveMQ server, heart-beat, session, version."""
    connection = Raw(target, version)
    opened.append(connection)
    _in_profile_order(target, connection.connect(version, "receipt:cr\n"))


def test_error_headers_in_the_brokers_order(target: Target, opened: list[Raw]) -> None:
    """N1, measured: RabbitMQ message, content-type, version, content-length; ActiveMQ content-type, receipt-id,
    message."""
    connection = _connected(target, opened)
    connection.send("UNSUBSCRIBE\nid:nope\nreceipt:ur\n\n\x00")
    error = connection.next()
    assert error.command == "ERROR", error
    _in_profile_order(target, error)
