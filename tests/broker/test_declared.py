"""RabbitMQ declares a `/queue/` once per connection (issue 15, docs/routing.md), engine level.

Measured on RabbitMQ 3.10.8: once the queue is gone (auto-delete, `x-expires`), the connection
that declared it SENDs into nothing (RECEIPT, dropped) and its SUBSCRIBE is `not_found` with the
close; another connection declares it afresh. tests/scenarios/test_declared.py runs it on RabbitMQ.
"""

from __future__ import annotations

import pytest

from stomptest.protocol import Frame

from .harness import connected, engine


def _commands(frames: list[Frame]) -> list[str]:
    return [frame.command for frame in frames]


@pytest.mark.parametrize("gone_by", ["auto-delete", "x-expires"])
def test_the_declaring_connection_does_not_declare_a_gone_queue_again(gone_by: str) -> None:
    eng = engine("rabbitmq")
    declarer = connected(eng)
    arguments = {"auto-delete": "true", "durable": "false"} if gone_by == "auto-delete" else {"x-expires": "500"}
    declarer.send("SUBSCRIBE", {"id": "s", "destination": "/queue/q", **arguments})
    declarer.send("UNSUBSCRIBE", {"id": "s"})
    if gone_by == "x-expires":
        eng.advance(1, 1000.0)
    assert "/queue/q" not in eng.destinations
    sent = {"destination": "/queue/q", "receipt": "r", **({"x-expires": "500"} if gone_by == "x-expires" else {})}
    assert _commands(declarer.send("SEND", sent, b"lost")) == ["RECEIPT"]
    assert "/queue/q" not in eng.destinations  # dropped, not made again
    other = connected(eng)
    assert _commands(other.send("SEND", sent, b"kept")) == ["RECEIPT"]
    assert _commands(declarer.send("SEND", sent, b"after")) == ["RECEIPT"]
    assert [m.body for m in eng.destinations["/queue/q"].messages] == [b"kept", b"after"]


def test_x_expires_found_late_by_the_declaring_connections_send() -> None:
    """The fake deletes an x-expires queue when a frame names it after its time (no advance() in between)."""
    eng = engine("rabbitmq")
    declarer = connected(eng)
    declarer.send("SUBSCRIBE", {"id": "s", "destination": "/queue/q", "x-expires": "500"})
    declarer.send("UNSUBSCRIBE", {"id": "s"})
    declarer.now += 1
    sent = {"destination": "/queue/q", "receipt": "r", "x-expires": "500"}
    assert _commands(declarer.send("SEND", sent, b"lost")) == ["RECEIPT"]
    assert "/queue/q" not in eng.destinations
    replies = declarer.send("SUBSCRIBE", {"id": "t", "destination": "/queue/q", "x-expires": "500", "receipt": "r"})
    assert _commands(replies) == ["ERROR", "RECEIPT"]
    assert replies[0].headers["message"] == "not_found" and declarer.connection.closed


def test_subscribe_of_the_declaring_connection_is_not_found_and_purge_forgets() -> None:
    eng = engine("rabbitmq")
    declarer = connected(eng)
    declarer.send("SUBSCRIBE", {"id": "s", "destination": "/queue/q", "auto-delete": "true", "durable": "false"})
    declarer.send("UNSUBSCRIBE", {"id": "s"})
    keeper = connected(eng)
    keeper.send("SUBSCRIBE", {"id": "s", "destination": "/queue/k", "auto-delete": "true", "durable": "false"})
    keeper.send("UNSUBSCRIBE", {"id": "s"})
    eng.purge()  # the test side starts afresh: the connections declare their queues again
    assert _commands(keeper.send("SEND", {"destination": "/queue/k", "receipt": "r"}, b"x")) == ["RECEIPT"]
    assert [m.body for m in eng.destinations["/queue/k"].messages] == [b"x"]
    declarer.send("SUBSCRIBE", {"id": "s", "destination": "/queue/q", "auto-delete": "true", "durable": "false"})
    declarer.send("UNSUBSCRIBE", {"id": "s"})
    replies = declarer.send("SUBSCRIBE", {"id": "t", "destination": "/queue/q", "receipt": "r"})
    assert _commands(replies) == ["ERROR", "RECEIPT"]
    assert replies[0].body.decode().startswith("NOT_FOUND - no queue 'q' in vhost '/'")
    assert declarer.connection.closed


def test_a_send_declares_a_bounded_queue_with_its_arguments() -> None:
    """Measured on 3.10.8: three SENDs with x-max-length:2 to a new queue leave the newest two, each with a RECEIPT."""
    eng = engine("rabbitmq")
    producer = connected(eng)
    for body in (b"m1", b"m2", b"m3"):
        sent = {"destination": "/queue/b", "receipt": "r", "x-max-length": "2"}
        assert _commands(producer.send("SEND", sent, body)) == ["RECEIPT"]
    assert [m.body for m in eng.destinations["/queue/b"].messages] == [b"m2", b"m3"]


def test_a_bounded_queue_applies_its_message_ttl_too() -> None:
    """Measured on 3.10.8: x-max-length:2 with x-message-ttl:300, three SENDs, 1 s later a subscriber gets none."""
    eng = engine("rabbitmq")
    producer = connected(eng)
    sent = {"destination": "/queue/b", "receipt": "r", "x-max-length": "2", "x-message-ttl": "300"}
    for body in (b"m1", b"m2", b"m3"):
        assert _commands(producer.send("SEND", sent, body)) == ["RECEIPT"]
    assert [m.body for m in eng.destinations["/queue/b"].messages] == [b"m2", b"m3"]
    eng.advance(1, 1000.0)
    assert not eng.destinations["/queue/b"].messages
    assert [m.body for m in eng.expired] == [b"m2", b"m3"]
