"""A message's life in the engine (issue 15): expiry, priority, dead letters, per profile as measured.

The harness's clock stands at 1000 s (1,000,000 ms since the epoch); `Engine.advance` moves
the messages' clock on, as `Broker.advance` does. Figures: docs/lifecycle.md.
"""

from __future__ import annotations

from stomptest.broker.engine import Engine
from stomptest.protocol import Frame

from .harness import Peer, connected, engine

NOW_MS = 1_000_000


def bodies(frames: list[Frame]) -> list[bytes]:
    return [f.body for f in frames if f.command == "MESSAGE"]


def backlog(eng: Engine, queue: str, sends: list[dict[str, str]], **subscribe: str) -> tuple[Peer, list[Frame]]:
    """Send `sends` (headers, with `body`) to `queue`, then subscribe and return what came."""
    producer = connected(eng)
    for headers in sends:
        headers = dict(headers)
        body = headers.pop("body", "x")
        producer.send("SEND", {"destination": queue, **headers}, body)
    consumer = connected(eng)
    frames = consumer.send("SUBSCRIBE", {"id": "s", "destination": queue, **subscribe})
    return consumer, [f for f in frames if f.command == "MESSAGE"]


def header(frame: Frame, name: str) -> str | None:
    return frame.headers.get(name)


# -- expiry


def test_activemq_sends_persistent_expired_messages_to_its_dlq_and_drops_the_rest() -> None:
    eng = engine("activemq")
    producer = connected(eng)
    soon = str(NOW_MS + 300)
    producer.send("SEND", {"destination": "/queue/e", "expires": soon, "persistent": "true"}, "kept")
    producer.send("SEND", {"destination": "/queue/e", "expires": soon}, "dropped")
    producer.send("SEND", {"destination": "/queue/e", "expiration": "1"}, "not ActiveMQ's header")
    eng.advance(0.2, 1000.0)
    assert len(eng.destinations["/queue/e"].messages) == 3  # not yet
    eng.advance(0.2, 1000.0)
    assert [m.body for m in eng.destinations["/queue/e"].messages] == [b"not ActiveMQ's header"]
    assert [m.body for m in eng.expired] == [b"kept", b"dropped"]
    [dead] = eng.destinations["/queue/ActiveMQ.DLQ"].messages
    assert dead.body == b"kept" and dead.expires == 0
    headers = dict(dead.headers)
    assert headers["original-destination"] == "/queue/e"
    assert headers["originalExpiration"] == soon
    assert headers["dlqDeliveryFailureCause"] == f"java.lang.Throwable: Message Expired. Expiration:{soon}"


def test_an_expired_message_is_never_delivered() -> None:
    eng = engine("activemq")
    _, got = backlog(eng, "/queue/e", [{"expires": str(NOW_MS - 1), "body": "late"}, {"body": "fine"}])
    assert [f.body for f in got] == [b"fine"]
    assert [m.body for m in eng.expired] == [b"late"]


def test_artemis_sends_every_expired_message_to_its_expiry_queue() -> None:
    eng = engine("artemis")
    producer = connected(eng)
    producer.send("SEND", {"destination": "/queue/e", "expires": str(NOW_MS + 10)}, "a")
    producer.send("SEND", {"destination": "/queue/e", "expires": str(NOW_MS + 10), "persistent": "true"}, "b")
    eng.advance(1, 1000.0)
    dead = list(eng.destinations["/queue/ExpiryQueue"].messages)
    assert [m.body for m in dead] == [b"a", b"b"]
    headers = dict(dead[0].headers)
    assert headers["_AMQ_ORIG_ADDRESS"] == "e" and headers["_AMQ_ORIG_ROUTING_TYPE"] == "1"
    assert int(headers["_AMQ_ACTUAL_EXPIRY"]) >= NOW_MS + 10
    consumer = connected(eng)
    [message] = bodies(consumer.send("SUBSCRIBE", {"id": "s", "destination": "/queue/ExpiryQueue"}))[:1]
    assert message == b"a"


def test_rabbitmq_reads_expiration_relative_and_ignores_expires() -> None:
    eng = engine("rabbitmq")
    producer = connected(eng)
    producer.send("SEND", {"destination": "/queue/e", "expiration": "500"}, "relative")
    producer.send("SEND", {"destination": "/queue/e", "expires": str(NOW_MS - 1)}, "an ordinary header")
    eng.advance(0.4, 1000.0)
    assert len(eng.destinations["/queue/e"].messages) == 2
    eng.advance(0.2, 1000.0)
    assert [m.body for m in eng.destinations["/queue/e"].messages] == [b"an ordinary header"]
    assert [m.body for m in eng.expired] == [b"relative"]
    assert "/queue/DLQ" not in eng.destinations  # no dead-letter exchange: gone


def test_rabbitmq_queue_ttl_from_subscribe_and_the_smaller_deadline_wins() -> None:
    eng = engine("rabbitmq")
    declarer = connected(eng)
    declarer.send("SUBSCRIBE", {"id": "d", "destination": "/queue/t", "x-message-ttl": "300"})
    declarer.send("UNSUBSCRIBE", {"id": "d"})
    declarer.send("SEND", {"destination": "/queue/t"}, "queue ttl")
    declarer.send("SEND", {"destination": "/queue/t", "expiration": "5000"}, "own is longer")
    declarer.send("SEND", {"destination": "/queue/t", "expiration": "100"}, "own is shorter")
    eng.advance(0.2, 1000.0)
    assert [m.body for m in eng.expired] == [b"own is shorter"]
    eng.advance(0.2, 1000.0)
    assert [m.body for m in eng.expired] == [b"own is shorter", b"queue ttl", b"own is longer"]


def test_rabbitmq_x_expires_deletes_an_unused_queue_with_its_messages() -> None:
    eng = engine("rabbitmq")
    peer = connected(eng)
    peer.send("SUBSCRIBE", {"id": "d", "destination": "/queue/x", "x-expires": "500"})
    peer.send("UNSUBSCRIBE", {"id": "d"})
    peer.send("SEND", {"destination": "/queue/x"}, "gone with its queue")
    eng.advance(0.4, 1000.0)
    assert "/queue/x" in eng.destinations
    eng.advance(0.2, 1000.0)
    assert "/queue/x" not in eng.destinations
    assert bodies(connected(eng).send("SUBSCRIBE", {"id": "s", "destination": "/queue/x"})) == []


# -- priority (sent 1, 9, 4, 4, none, 0, 7: measured orders)

SENT = [("1", "a"), ("9", "b"), ("4", "c"), ("4", "d"), (None, "e"), ("0", "f"), ("7", "g")]


def _sends() -> list[dict[str, str]]:
    return [{"body": body, **({"priority": p} if p is not None else {})} for p, body in SENT]


def test_priority_orders_as_each_broker_does() -> None:
    expected = {
        "strict": b"abcdefg",
        "activemq": b"abcdefg",
        "rabbitmq": b"abcdefg",
        "artemis": b"bgcdeaf",
    }
    for profile, order in expected.items():
        _, got = backlog(engine(profile), "/queue/p", _sends())
        assert b"".join(f.body for f in got) == order, profile


def test_rabbitmq_x_max_priority_caps_levels_and_no_priority_is_zero() -> None:
    eng = engine("rabbitmq")
    declarer = connected(eng)
    declarer.send("SUBSCRIBE", {"id": "d", "destination": "/queue/p", "x-max-priority": "5"})
    declarer.send("UNSUBSCRIBE", {"id": "d"})
    for headers in _sends():
        body = headers.pop("body")
        declarer.send("SEND", {"destination": "/queue/p", "x-max-priority": "5", **headers}, body)
    got = bodies(declarer.send("SUBSCRIBE", {"id": "s", "destination": "/queue/p"}))
    assert b"".join(got) == b"bgcdaef"


def test_a_requeued_message_goes_back_to_its_priority_place() -> None:
    eng = engine("artemis")
    consumer, got = backlog(eng, "/queue/p", _sends()[:2], ack="client-individual", **{"consumer-window-size": "0"})
    assert [f.body for f in got] == [b"b"]
    consumer.send("UNSUBSCRIBE", {"id": "s"})
    assert [m.body for m in eng.destinations["/queue/p"].messages] == [b"b", b"a"]


# -- dead letters through RabbitMQ's exchanges


def _dead_lettering(eng: Engine, **arguments: str) -> Peer:
    peer = connected(eng)
    peer.send("SUBSCRIBE", {"id": "dead", "destination": "/queue/dead", "receipt": "r"})
    args = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": "dead", **arguments}
    peer.send("SUBSCRIBE", {"id": "live", "destination": "/queue/live", "ack": "client-individual", **args})
    return peer


def test_rabbitmq_dead_letters_an_expired_message_with_first_death_headers() -> None:
    eng = engine("rabbitmq")
    peer = _dead_lettering(eng)
    peer.send("UNSUBSCRIBE", {"id": "live"})
    peer.send("SEND", {"destination": "/queue/live", "expiration": "200", "persistent": "true", "foo": "bar"}, b"x")
    eng.advance(1, 1000.0)
    [dead] = [f for f in peer.frames() if f.command == "MESSAGE"]
    assert dead.headers["destination"] == "/queue/dead" and dead.headers["redelivered"] == "false"
    names = [n for n, _ in dead.raw_headers]
    assert names[names.index("foo") :] == [
        "foo",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
        "persistent",
        "content-length",
    ]
    assert dead.headers["x-first-death-queue"] == "live" and dead.headers["x-first-death-reason"] == "expired"
    assert "expiration" not in dead.headers


def test_rabbitmq_nack_without_requeue_dead_letters_as_rejected() -> None:
    eng = engine("rabbitmq")
    peer = _dead_lettering(eng)
    [message] = [f for f in peer.send("SEND", {"destination": "/queue/live"}, "no") if f.command == "MESSAGE"]
    frames = peer.send("NACK", {"id": message.headers["ack"], "requeue": "false"})
    [dead] = [f for f in frames if f.command == "MESSAGE"]
    assert dead.headers["x-first-death-reason"] == "rejected" and dead.body == b"no"


def test_rabbitmq_drops_a_message_that_expires_round_a_cycle() -> None:
    eng = engine("rabbitmq")
    peer = connected(eng)
    args = {"x-dead-letter-exchange": "", "x-message-ttl": "200"}
    peer.send("SUBSCRIBE", {"id": "d", "destination": "/queue/loop", **args})
    peer.send("UNSUBSCRIBE", {"id": "d"})
    peer.send("SEND", {"destination": "/queue/loop"}, "round and round")
    eng.advance(0.3, 1000.0)  # measured: expired once, and dropped rather than put back on its own queue
    assert list(eng.destinations["/queue/loop"].messages) == []
    assert len(eng.expired) == 1


def test_rabbitmq_queue_arguments_must_match_the_queues() -> None:
    eng = engine("rabbitmq")
    connected(eng).send("SUBSCRIBE", {"id": "d", "destination": "/queue/a", "x-message-ttl": "60000"})
    other = connected(eng)
    [error] = other.send("SEND", {"destination": "/queue/a", "receipt": "r"}, "x")
    assert error.command == "ERROR" and error.headers["message"] == "precondition_failed"
    assert error.body == (
        b"PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'a' in vhost '/': "
        b"received none but current is the value '60000' of type 'long'"
    )
    assert other.connection.closed


def test_rabbitmq_refuses_queue_arguments_out_of_range() -> None:
    eng = engine("rabbitmq")
    peer = connected(eng)
    frames = peer.send("SUBSCRIBE", {"id": "s", "destination": "/queue/a", "x-max-priority": "300", "receipt": "r"})
    assert [f.command for f in frames] == ["ERROR", "RECEIPT"]
    assert frames[0].body.endswith(b"{max_value_exceeded,300}")
    peer = connected(eng)
    [error] = peer.send("SUBSCRIBE", {"id": "s", "destination": "/queue/b", "x-message-ttl": "abc"})
    assert error.headers["message"] == "Processing error" and not peer.connection.closing


def test_a_broker_restart_keeps_non_persistent_messages_only_in_strict() -> None:
    for profile, kept in {"strict": [b"p", b"n"], "activemq": [b"p"], "rabbitmq": [b"p"], "artemis": [b"p"]}.items():
        eng = engine(profile)
        producer = connected(eng)
        producer.send("SEND", {"destination": "/queue/r", "persistent": "true"}, "p")
        producer.send("SEND", {"destination": "/queue/r"}, "n")
        eng.restarted()
        assert [m.body for m in eng.destinations["/queue/r"].messages] == kept, profile
