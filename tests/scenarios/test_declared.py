"""Scenario: RabbitMQ's STOMP adapter declares a `/queue/` once per connection (issue 15, docs/routing.md).

Measured on RabbitMQ 3.10.8: a connection that declared a queue (by SEND or SUBSCRIBE) does not
declare it again, so once the queue is gone (auto-delete, `x-expires`) that connection's SEND gets
its RECEIPT and goes nowhere, and its SUBSCRIBE is `not_found` (then the RECEIPT and the close);
a new connection's SEND declares the queue afresh, after which the first connection's SENDs reach it.
Asserted on the fake `rabbitmq` profile and on real RabbitMQ; the other profiles do not claim it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .conftest import Target
from .test_routing import Peer, _peer, _unique


@pytest.fixture
def peers(target: Target) -> Iterator[list[Peer]]:
    if not target.facts.queue_arguments:
        pytest.skip(f"{target.name}: its profile does not declare queues from frame headers (RabbitMQ's)")
    opened: list[Peer] = []
    yield opened
    for peer in opened:
        peer.close()


def _gone_by_auto_delete(target: Target, peers: list[Peer]) -> tuple[Peer, str]:
    """A connection that declared `/queue/Q` auto-delete, and Q, gone with its subscriber."""
    queue = f"/queue/{_unique()}"
    declarer = _peer(target, peers)
    declarer.subscribed(queue, **{"auto-delete": "true", "durable": "false"})
    declarer.frame("UNSUBSCRIBE", {"id": "s", "receipt": "unsub"})
    assert declarer.next().command == "RECEIPT"
    return declarer, queue


def _not_found(target: Target, peers: list[Peer], queue: str, declarer: Peer | None = None) -> None:
    peer = declarer or _peer(target, peers)
    name = queue if declarer else "/amq/queue/" + queue[7:]
    reply = peer.subscribe(name, id="check")
    assert (reply.command, reply.headers.get("message")) == ("ERROR", "not_found"), reply
    assert reply.body.decode().startswith(f"NOT_FOUND - no queue '{queue[7:]}'")


def test_a_send_from_the_declaring_connection_after_the_queue_went(target: Target, peers: list[Peer]) -> None:
    declarer, queue = _gone_by_auto_delete(target, peers)
    assert declarer.sent(queue, "lost").command == "RECEIPT"
    _not_found(target, peers, queue)  # not made again: the message went nowhere
    assert _peer(target, peers).sent(queue, "kept").command == "RECEIPT"  # a new connection declares it
    assert declarer.sent(queue, "after").command == "RECEIPT"
    reader = _peer(target, peers)
    reader.subscribed(queue)
    assert [frame.body for frame in reader.upto_marker(declarer, queue)] == [b"kept", b"after"]


def test_a_subscribe_from_the_declaring_connection_after_the_queue_went(target: Target, peers: list[Peer]) -> None:
    declarer, queue = _gone_by_auto_delete(target, peers)
    _not_found(target, peers, queue, declarer)
    assert declarer.next().command == "RECEIPT"
    with pytest.raises(AssertionError, match="closed the connection"):
        declarer.next()


def test_a_send_declares_a_bounded_queue(target: Target, peers: list[Peer]) -> None:
    """Three SENDs with x-max-length:2 to a new queue: each gets its RECEIPT, the newest two stay."""
    queue = f"/queue/{_unique()}"
    producer = _peer(target, peers)
    for body in ("m1", "m2", "m3"):
        assert producer.sent(queue, body, **{"x-max-length": "2"}).command == "RECEIPT"
    reader = _peer(target, peers)
    reader.subscribed(queue, **{"x-max-length": "2"})
    assert [frame.body for frame in reader.upto_marker(producer, queue)] == [b"m2", b"m3"]
