"""Routing beyond one queue or topic (issue 15, docs/routing.md), engine level: temporary queues and reply-to,
RabbitMQ's exchanges and queue arguments, ActiveMQ's composite destinations and virtual topics.

The expectations are what the real brokers did with raw frames (RabbitMQ 3.10.8, ActiveMQ 5.17.2,
Artemis 2.40.0); tests/scenarios/test_routing.py runs the same behaviours against them.
"""

from __future__ import annotations

import pytest

from stomptest.broker.engine import Engine
from stomptest.broker.exchanges import Exchanges, display, parse, topic_matches
from stomptest.protocol import ConfigurationError, Frame

from .harness import Peer, connected, engine


def messages(frames: list[Frame]) -> list[Frame]:
    return [f for f in frames if f.command == "MESSAGE"]


class Reader(Peer):
    """A peer that subscribed: the MESSAGEs that came with its RECEIPT are kept for `frames`."""

    early: list[Frame]

    def frames(self) -> list[Frame]:
        early, self.early = self.early, []
        return early + super().frames()


def bodies(peer: Peer) -> list[bytes]:
    return [m.body for m in messages(peer.frames())]


def subscribed(eng: Engine, destination: str, **headers: str) -> Reader:
    peer = Reader(eng)
    peer.connect()
    replies = peer.send("SUBSCRIBE", {"id": "s", "destination": destination, "receipt": "r", **headers})
    assert replies and replies[0].command == "RECEIPT", replies
    peer.early = replies[1:]
    return peer


# -- temporary queues: ActiveMQ


def test_activemq_names_temporary_destinations_by_session_and_number() -> None:
    eng = engine("activemq")
    requester = connected(eng)
    service = subscribed(eng, "/queue/svc")
    requester.send("SUBSCRIBE", {"id": "a", "destination": "/temp-queue/aa"})
    requester.send("SUBSCRIBE", {"id": "b", "destination": "/temp-topic/bb"})
    for name in ("/temp-queue/cc", "/temp-queue/aa", "/temp-topic/bb"):
        requester.send("SEND", {"destination": "/queue/svc", "reply-to": name}, name)
    session = requester.connection.session
    assert [m.headers["reply-to"] for m in messages(service.frames())] == [
        f"/remote-temp-queue/{session}:3",
        f"/remote-temp-queue/{session}:1",
        f"/remote-temp-topic/{session}:2",
    ]


def test_activemq_others_compete_on_a_temporary_queue_and_name_it_remotely() -> None:
    eng = engine("activemq")
    requester = connected(eng)
    requester.send("SUBSCRIBE", {"id": "a", "destination": "/temp-queue/r"})
    service = subscribed(eng, "/queue/svc")
    requester.send("SEND", {"destination": "/queue/svc", "reply-to": "/temp-queue/r"}, b"q")
    [request] = messages(service.frames())
    remote = request.headers["reply-to"]
    other = subscribed(eng, remote)
    for body in (b"m0", b"m1", b"m2", b"m3"):
        service.send("SEND", {"destination": remote}, body)
    mine, theirs = messages(requester.frames()), messages(other.frames())
    assert [m.body for m in mine] == [b"m0", b"m2"]
    assert [m.body for m in theirs] == [b"m1", b"m3"]
    assert {m.headers["destination"] for m in mine} == {"/temp-queue/r"}
    assert {m.headers["destination"] for m in theirs} == {remote}


def test_activemq_send_to_a_temporary_queue_of_a_closed_connection_is_an_error_that_keeps_the_connection() -> None:
    eng = engine("activemq")
    requester = connected(eng)
    requester.send("SUBSCRIBE", {"id": "a", "destination": "/temp-queue/r"})
    remote = f"/remote-temp-queue/{requester.connection.session}:1"
    requester.send("DISCONNECT")
    service = connected(eng)
    [error] = service.send("SEND", {"destination": remote, "receipt": "r6"}, b"late")
    assert error.command == "ERROR"
    assert error.headers["message"] == "temp-queue://" + remote.split("/", 2)[2]
    assert error.headers["receipt-id"] == "r6"
    assert "DestinationDoesNotExistException" in error.body.decode()
    assert not service.connection.closing
    assert remote not in eng.destinations


# -- temporary queues: RabbitMQ


def test_rabbitmq_reply_queue_is_read_as_queue_amq_gen_and_locked_to_its_connection() -> None:
    eng = engine("rabbitmq")
    requester = connected(eng)
    service = subscribed(eng, "/queue/svc")
    requester.send("SEND", {"destination": "/queue/svc", "reply-to": "/temp-queue/x"}, b"1")
    requester.send("SEND", {"destination": "/queue/svc", "reply-to": "/temp-queue/x"}, b"2")
    requester.send("SEND", {"destination": "/queue/svc", "reply-to": "/temp-queue/y"}, b"3")
    first, second, third = [m.headers["reply-to"] for m in messages(service.frames())]
    assert first == second != third and first.startswith("/reply-queue/amq.gen-") and len(first) == 13 + 8 + 22
    service.send("SEND", {"destination": first}, b"answer")
    [answer] = messages(requester.frames())
    assert answer.headers["destination"] == "/queue/" + first[13:]
    assert answer.headers["subscription"] == "/temp-queue/x"
    thief = connected(eng)
    error, receipt = thief.send("SUBSCRIBE", {"id": "t", "destination": first, "receipt": "r4"})
    assert (error.headers["message"], receipt.command) == ("resource_locked", "RECEIPT")
    assert error.body.decode().startswith(
        f"RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '{first[13:]}'"
    )
    assert thief.connection.closed


def test_rabbitmq_reply_queue_after_its_connection_closed() -> None:
    eng = engine("rabbitmq")
    requester = connected(eng)
    service = subscribed(eng, "/queue/svc")
    requester.send("SEND", {"destination": "/queue/svc", "reply-to": "/temp-queue/x"}, b"q")
    [request] = messages(service.frames())
    reply_to = request.headers["reply-to"]
    requester.send("DISCONNECT")
    assert [f.command for f in service.send("SEND", {"destination": reply_to, "receipt": "r6"}, b"late")] == ["RECEIPT"]
    assert "/queue/" + reply_to[13:] not in eng.destinations  # dropped, not kept in a new queue
    late = connected(eng)
    error, receipt = late.send("SUBSCRIBE", {"id": "o", "destination": reply_to, "receipt": "r7"})
    assert error.body.decode() == f"NOT_FOUND - no queue '{reply_to[13:]}' in vhost '/'"
    assert receipt.headers["receipt-id"] == "r7" and late.connection.closed


def test_rabbitmq_refuses_a_temporary_topic_in_reply_to_and_stays_open() -> None:
    eng = engine("rabbitmq")
    service = subscribed(eng, "/queue/svc")
    requester = connected(eng)
    [error] = requester.send("SEND", {"destination": "/queue/svc", "reply-to": "/temp-topic/t", "receipt": "r"}, b"q")
    assert (error.headers["message"], error.body) == ("Processing error", b"Processing error")
    assert not requester.connection.closing
    assert bodies(service) == []


def test_rabbitmq_reply_queue_prefix_alone_is_an_invalid_destination() -> None:
    [error] = connected(engine("rabbitmq")).send("SEND", {"destination": "/reply-queue/"}, b"x")
    assert error.headers["message"] == "Invalid destination"
    assert error.body == b"'/' is not a valid reply_queue destination\n"


# -- RabbitMQ exchanges


@pytest.mark.parametrize(
    ("pattern", "key", "matches"),
    [
        ("a.*", "a.b", True),
        ("a.*", "a.b.c", False),
        ("a.*", "a", False),
        ("a.#", "a", True),
        ("a.#", "a.b.c", True),
        ("#", "", True),
        ("*", "", True),  # one empty word
        ("#.z", "a.b.z", True),
        ("#.z", "z", True),
        ("a.#.z", "a.z", True),
        ("a.#.z", "a.b.c.z", True),
        ("a.#.z", "a.b.c", False),
        ("*.*", "a", False),
        ("#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.#.x", "a." * 200 + "y", False),
        ("a.b", "a.b", True),
        ("a.b", "a.c", False),
    ],
)
def test_topic_matching(pattern: str, key: str, matches: bool) -> None:
    assert topic_matches(pattern, key) is matches


def test_exchange_names_parse_and_display_as_rabbitmq_writes_them() -> None:
    assert parse("/exchange/amq.direct/k") == ("amq.direct", "k")
    assert parse("/exchange/amq.fanout") == ("amq.fanout", "")
    assert parse("/topic/a.b") == ("amq.topic", "a.b")
    assert parse("/exchange/amq.direct/a/b") is None
    assert parse("/exchange//x") is None
    assert display("amq.topic", "k.q") == "/topic/k.q"
    assert display("amq.fanout", "") == "/exchange/amq.fanout"
    assert display("amq.direct", "k") == "/exchange/amq.direct/k"


def test_rabbitmq_direct_fanout_and_topic_exchanges() -> None:
    eng = engine("rabbitmq")
    direct = subscribed(eng, "/exchange/amq.direct/k")
    fan1 = subscribed(eng, "/exchange/amq.fanout")
    fan2 = subscribed(eng, "/exchange/amq.fanout/other")
    star = subscribed(eng, "/exchange/amq.topic/k.*")
    hash_ = subscribed(eng, "/exchange/amq.topic/k.#")
    plain = subscribed(eng, "/topic/k.*.z")
    headers = subscribed(eng, "/exchange/amq.headers")
    producer = connected(eng)
    producer.send("SEND", {"destination": "/exchange/amq.direct/k"}, b"direct")
    producer.send("SEND", {"destination": "/exchange/amq.direct/k.x"}, b"missed")
    producer.send("SEND", {"destination": "/exchange/amq.fanout/whatever"}, b"fan")
    producer.send("SEND", {"destination": "/exchange/amq.headers/x"}, b"hdrs")
    for key in ("k.a", "k.a.z", "k", "k.a.b.c"):
        producer.send("SEND", {"destination": f"/topic/{key}"}, key)
    producer.send("SEND", {"destination": "/exchange/amq.topic/k.q"}, b"via-exchange")
    [got] = messages(direct.frames())
    assert (got.body, got.headers["destination"]) == (b"direct", "/exchange/amq.direct/k")
    assert [m.headers["destination"] for m in messages(fan1.frames())] == ["/exchange/amq.fanout/whatever"]
    assert bodies(fan2) == [b"fan"]
    assert bodies(headers) == [b"hdrs"]  # STOMP binds without arguments: every message matches
    star_got = messages(star.frames())
    assert [m.body for m in star_got] == [b"k.a", b"via-exchange"]
    assert star_got[1].headers["destination"] == "/topic/k.q"
    assert bodies(hash_) == [b"k.a", b"k.a.z", b"k", b"k.a.b.c", b"via-exchange"]
    assert bodies(plain) == [b"k.a.z"]


def test_rabbitmq_declared_exchange_routes_and_unknown_one_is_not_found() -> None:
    eng = engine("rabbitmq")
    eng.routes.declare_exchange("orders", "topic")
    eu = subscribed(eng, "/exchange/orders/eu.*")
    producer = connected(eng)
    producer.send("SEND", {"destination": "/exchange/orders/eu.fr"}, b"fr")
    producer.send("SEND", {"destination": "/exchange/orders/us.ny"}, b"ny")
    assert [(m.body, m.headers["destination"]) for m in messages(eu.frames())] == [(b"fr", "/exchange/orders/eu.fr")]
    eng.routes.delete_exchange("orders")
    error, *_ = producer.send("SEND", {"destination": "/exchange/orders/eu.fr"}, b"x")
    assert error.body == b"NOT_FOUND - no exchange 'orders' in vhost '/'"


def test_declaring_exchanges_is_checked() -> None:
    exchanges = Exchanges()
    with pytest.raises(ConfigurationError, match="not one of"):
        exchanges.declare("x", "bogus")
    with pytest.raises(ConfigurationError, match="no '/'"):
        exchanges.declare("a/b", "direct")
    exchanges.declare("x", "direct")
    with pytest.raises(ConfigurationError, match="direct exchange already"):
        exchanges.declare("x", "fanout")
    with pytest.raises(ConfigurationError, match="cannot be deleted"):
        exchanges.delete("amq.topic")
    with pytest.raises(ConfigurationError, match="no exchange"):
        exchanges.delete("nope")
    with pytest.raises(ConfigurationError, match="no exchanges"):
        engine("activemq").routes.declare_exchange("x", "direct")


def test_rabbitmq_exchange_key_with_a_slash_is_an_invalid_destination() -> None:
    [error] = connected(engine("rabbitmq")).send("SUBSCRIBE", {"id": "s", "destination": "/exchange/amq.direct/a/b"})
    assert error.body == b"'/amq.direct/a/b' is not a valid exchange destination\n"


def test_rabbitmq_amq_queue_must_exist_to_subscribe_and_drops_sends_when_it_does_not() -> None:
    eng = engine("rabbitmq")
    producer = connected(eng)
    assert [f.command for f in producer.send("SEND", {"destination": "/amq/queue/q", "receipt": "a"}, b"x")] == [
        "RECEIPT"
    ]
    assert "/queue/q" not in eng.destinations
    reader = connected(eng)
    error, receipt = reader.send("SUBSCRIBE", {"id": "s", "destination": "/amq/queue/q", "receipt": "r"})
    assert error.body == b"NOT_FOUND - no queue 'q' in vhost '/'" and receipt.command == "RECEIPT"
    assert reader.connection.closed
    producer.send("SEND", {"destination": "/queue/q"}, b"declared")
    reader = subscribed(eng, "/amq/queue/q")
    producer.send("SEND", {"destination": "/amq/queue/q"}, b"via-amq")
    assert [(m.body, m.headers["destination"]) for m in messages(reader.frames())] == [
        (b"declared", "/queue/q"),
        (b"via-amq", "/queue/q"),
    ]


# -- RabbitMQ queue arguments


def test_rabbitmq_x_max_length_drops_the_oldest_ready_messages() -> None:
    eng = engine("rabbitmq")
    reader = subscribed(eng, "/queue/q", **{"x-max-length": "2", "ack": "client", "prefetch-count": "1"})
    producer = connected(eng)
    for index in range(4):
        producer.send("SEND", {"destination": "/amq/queue/q"}, f"m{index}")
    assert bodies(reader) == [b"m0"]  # m0 unacknowledged, m1 dropped: m2 and m3 are the two ready ones
    reader.send("DISCONNECT")  # RabbitMQ keeps m0 unacknowledged past an UNSUBSCRIBE, till the connection ends
    again = subscribed(eng, "/queue/q", **{"x-max-length": "2"})
    assert bodies(again) == [b"m0", b"m2", b"m3"]  # m0 came back when its connection ended


def test_rabbitmq_x_max_length_bytes_and_ignored_x_overflow() -> None:
    eng = engine("rabbitmq")
    reader = subscribed(eng, "/queue/q", **{"x-max-length-bytes": "5", "x-overflow": "reject-publish"})
    reader.send("UNSUBSCRIBE", {"id": "s"})
    producer = connected(eng)
    receipts = [producer.send("SEND", {"destination": "/amq/queue/q", "receipt": b}, b) for b in ("abc", "de", "fgh")]
    assert [[f.command for f in r] for r in receipts] == [["RECEIPT"]] * 3
    assert bodies(subscribed(eng, "/queue/q", **{"x-max-length-bytes": "5"})) == [b"de", b"fgh"]


def test_rabbitmq_queue_declared_again_with_other_arguments_is_refused() -> None:
    eng = engine("rabbitmq")
    subscribed(eng, "/queue/q", **{"x-max-length": "2"})
    sender = connected(eng)
    [error] = sender.send("SEND", {"destination": "/queue/q", "receipt": "m"}, b"m")
    assert error.headers["message"] == "precondition_failed"
    assert error.body == (
        b"PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue 'q' in vhost '/': "
        b"received none but current is the value '2' of type 'long'"
    )
    assert sender.connection.closed
    other = connected(eng)
    error, receipt = other.send(
        "SUBSCRIBE", {"id": "t", "destination": "/queue/q", "x-max-length": "3", "receipt": "r"}
    )
    assert b"received '3' but current is '2'" in error.body and receipt.command == "RECEIPT"
    same = connected(eng)
    assert [
        f.command for f in same.send("SEND", {"destination": "/queue/q", "x-max-length": "2", "receipt": "x"}, b"")
    ] == ["RECEIPT"]


@pytest.mark.parametrize(
    ("headers", "message", "text", "closes"),
    [
        ({"x-max-length": "abc"}, "Processing error", "Processing error", False),
        ({"x-max-length": "-1"}, "precondition_failed", "{value_negative,-1}", True),
        ({"x-queue-type": "bogus"}, "precondition_failed", "\"unsupported queue type 'bogus'\"", True),
        ({"x-queue-type": "quorum", "durable": "false"}, "precondition_failed", "invalid property 'auto-delete'", True),
    ],
)
def test_rabbitmq_bad_queue_arguments(headers: dict[str, str], message: str, text: str, closes: bool) -> None:
    peer = connected(engine("rabbitmq"))
    replies = peer.send("SUBSCRIBE", {"id": "s", "destination": "/queue/q", "receipt": "r", **headers})
    assert replies[0].headers["message"] == message
    assert text in replies[0].body.decode()
    assert peer.connection.closed is closes


def test_rabbitmq_exclusive_queue_is_locked_to_its_connection_and_dies_with_it() -> None:
    eng = engine("rabbitmq")
    owner = subscribed(eng, "/queue/q", exclusive="true")
    other = connected(eng)
    error, receipt = other.send("SUBSCRIBE", {"id": "s", "destination": "/queue/q", "receipt": "r"})
    assert error.headers["message"] == "resource_locked" and receipt.command == "RECEIPT"
    owner.send("DISCONNECT")
    assert "/queue/q" not in eng.destinations


def test_rabbitmq_durable_false_on_an_existing_durable_queue_is_locked() -> None:
    eng = engine("rabbitmq")
    connected(eng).send("SEND", {"destination": "/queue/q"}, b"x")
    [error, _] = connected(eng).send(
        "SUBSCRIBE", {"id": "s", "destination": "/queue/q", "durable": "false", "receipt": "r"}
    )
    assert error.headers["message"] == "resource_locked"


# -- ActiveMQ composite destinations and virtual topics


def test_activemq_composite_send_reaches_each_part_named_by_the_whole_name_rule() -> None:
    eng = engine("activemq")
    a, b, t = subscribed(eng, "/queue/A"), subscribed(eng, "/queue/B"), subscribed(eng, "/topic/T")
    producer = connected(eng)
    producer.send("SEND", {"destination": "/queue/A,/queue/B"}, b"qq")
    producer.send("SEND", {"destination": "/queue/A,topic://T"}, b"qt")  # topic://T is the queue topic://T
    producer.send("SEND", {"destination": "/queue/A,/topic/T"}, b"q/t")
    producer.send("SEND", {"destination": "/topic/T,queue://B"}, b"tq")
    producer.send("SEND", {"destination": "/queue/A,B"}, b"bare")
    got_a, got_b, got_t = messages(a.frames()), messages(b.frames()), messages(t.frames())
    assert [m.body for m in got_a] == [b"qq", b"qt", b"q/t", b"bare"]
    assert [m.body for m in got_b] == [b"qq", b"bare"]
    assert [m.body for m in got_t] == [b"q/t", b"tq"]
    assert [m.headers["original-destination"] for m in got_a] == [
        "/queue/A,queue://B",
        "/queue/A,queue://topic://T",
        "/queue/A,topic://T",
        "/queue/A,queue://B",
    ]
    assert got_t[1].headers["original-destination"] == "/topic/T,queue://queue://B"
    assert {m.headers["destination"] for m in got_a} == {"/queue/A"}
    assert got_a[0].headers["message-id"] == got_b[0].headers["message-id"]


def test_activemq_virtual_topic_copies_to_consumer_groups_that_exist() -> None:
    eng = engine("activemq")
    producer = connected(eng)
    producer.send("SEND", {"destination": "/topic/VirtualTopic.X"}, b"before")
    one_a, one_b = (
        subscribed(eng, "/queue/Consumer.one.VirtualTopic.X"),
        subscribed(eng, "/queue/Consumer.one.VirtualTopic.X"),
    )
    two = subscribed(eng, "/queue/Consumer.two.VirtualTopic.X")
    plain = subscribed(eng, "/topic/VirtualTopic.X")
    for index in range(4):
        producer.send("SEND", {"destination": "/topic/VirtualTopic.X"}, f"v{index}")
    got = messages(one_a.frames())
    assert [m.body for m in got] == [b"v0", b"v2"]
    assert bodies(one_b) == [b"v1", b"v3"]
    assert bodies(two) == [b"v0", b"v1", b"v2", b"v3"]
    assert bodies(plain) == [b"v0", b"v1", b"v2", b"v3"]
    assert got[0].headers["destination"] == "/queue/Consumer.one.VirtualTopic.X"
    assert got[0].headers["original-destination"] == "/topic/VirtualTopic.X"
    one_a.send("DISCONNECT")
    one_b.send("DISCONNECT")
    producer.send("SEND", {"destination": "/topic/VirtualTopic.X"}, b"while-away")
    assert bodies(subscribed(eng, "/queue/Consumer.one.VirtualTopic.X")) == [b"while-away"]
    assert bodies(subscribed(eng, "/queue/Consumer.three.VirtualTopic.X")) == []


@pytest.mark.parametrize("profile", ["artemis", "strict", "rabbitmq"])
def test_other_profiles_take_composite_and_virtual_names_as_plain_names(profile: str) -> None:
    eng = engine(profile)
    a = subscribed(eng, "/queue/A")
    consumer = subscribed(eng, "/queue/Consumer.one.VirtualTopic.X")
    producer = connected(eng)
    if profile != "rabbitmq":  # RabbitMQ refuses '/' in a queue's name
        producer.send("SEND", {"destination": "/queue/A,/queue/B"}, b"comp")
    producer.send("SEND", {"destination": "/topic/VirtualTopic.X"}, b"virtual")
    assert bodies(a) == [] and bodies(consumer) == []


# -- wildcard topic subscriptions (ActiveMQ: * and >, Artemis: * and #)

# pattern -> what it got of the keys a, a.b, a.b.c, x.b (measured on /topic/UNIQUE.PATTERN, issue 15)
_WILDCARDS = {
    "activemq": {"*": ["a"], "#": [], ">": ["a", "a.b", "a.b.c", "x.b"], "a.*": ["a.b"], "a.>": ["a", "a.b", "a.b.c"]},
    "artemis": {"*": ["a"], "#": ["a", "a.b", "a.b.c", "x.b"], ">": [], "a.*": ["a.b"], "a.#": ["a", "a.b", "a.b.c"]},
    "strict": {"*": [], "#": [], ">": [], "a.b": ["a.b"]},
}


@pytest.mark.parametrize("profile", sorted(_WILDCARDS))
def test_wildcard_topic_subscriptions(profile: str) -> None:
    eng = engine(profile)
    readers = {pattern: subscribed(eng, f"/topic/k.{pattern}") for pattern in _WILDCARDS[profile]}
    producer = connected(eng)
    for key in ("a", "a.b", "a.b.c", "x.b"):
        producer.send("SEND", {"destination": f"/topic/k.{key}"}, key)
    for pattern, expected in _WILDCARDS[profile].items():
        got = messages(readers[pattern].frames())
        assert [m.body.decode() for m in got] == expected, pattern
        assert [m.headers["destination"] for m in got] == [f"/topic/k.{key}" for key in expected]


def test_activemq_virtual_topic_without_topic_subscribers_still_reaches_its_consumers() -> None:
    eng = engine("activemq")
    consumer = subscribed(eng, "/queue/Consumer.c.VirtualTopic.Y")
    connected(eng).send("SEND", {"destination": "/topic/VirtualTopic.Y"}, b"y")
    assert bodies(consumer) == [b"y"]


# -- RabbitMQ: the queue behind a subscription (x-queue-name, auto-delete, durable topic subscriptions)


def test_rabbitmq_x_queue_name_is_a_shared_queue_that_goes_with_its_last_subscriber() -> None:
    eng = engine("rabbitmq")
    first = subscribed(eng, "/topic/k", **{"x-queue-name": "named"})
    second = subscribed(eng, "/topic/k", **{"x-queue-name": "named"})
    producer = connected(eng)
    producer.send("SEND", {"destination": "/topic/k"}, b"t0")
    producer.send("SEND", {"destination": "/topic/k"}, b"t1")
    producer.send("SEND", {"destination": "/amq/queue/named"}, b"direct")
    got_first, got_second = messages(first.frames()), messages(second.frames())
    assert [(m.body, m.headers["destination"]) for m in got_first] == [(b"t0", "/topic/k"), (b"direct", "/queue/named")]
    assert [m.body for m in got_second] == [b"t1"]
    first.send("UNSUBSCRIBE", {"id": "s"})
    assert "/queue/named" in eng.destinations
    second.send("UNSUBSCRIBE", {"id": "s"})
    assert "/queue/named" not in eng.destinations


def test_rabbitmq_auto_delete_queue_goes_with_its_last_subscriber() -> None:
    eng = engine("rabbitmq")
    reader = subscribed(eng, "/queue/q", **{"auto-delete": "true", "durable": "false"})
    reader.send("UNSUBSCRIBE", {"id": "s"})
    error, _ = connected(eng).send("SUBSCRIBE", {"id": "s", "destination": "/amq/queue/q", "receipt": "r"})
    assert error.body == b"NOT_FOUND - no queue 'q' in vhost '/'"


def test_rabbitmq_durable_topic_subscription_keeps_messages_while_away() -> None:
    eng = engine("rabbitmq")
    durable = {"durable": "true", "auto-delete": "false"}
    reader = connected(eng)
    reader.send("SUBSCRIBE", {"id": "dur1", "destination": "/topic/k", **durable})
    reader.send("DISCONNECT")
    connected(eng).send("SEND", {"destination": "/topic/k"}, b"while-away")
    again = connected(eng)
    replies = again.send("SUBSCRIBE", {"id": "dur1", "destination": "/topic/k", **durable})
    assert [(m.body, m.headers["destination"]) for m in messages(replies)] == [(b"while-away", "/topic/k")]


def test_seeding_goes_where_a_send_would() -> None:
    eng = engine("rabbitmq")
    eng.routes.declare_exchange("orders", "topic")
    eu, deep = subscribed(eng, "/exchange/orders/eu.*"), subscribed(eng, "/topic/k.#")
    eng.seed("/exchange/orders/eu.fr", b"fr", (), 1000.0)
    eng.seed("/topic/k.a.b", b"kab", (), 1000.0)
    assert (bodies(eu), bodies(deep)) == ([b"fr"], [b"kab"])
    amq = engine("activemq")
    wildcard = subscribed(amq, "/topic/t.>")
    amq.seed("/queue/A,/topic/t.x", b"both", (), 1000.0)
    assert [m.body for m in amq.destinations["/queue/A"].messages] == [b"both"]
    assert bodies(wildcard) == [b"both"]


def test_broker_declare_exchange_end_to_end() -> None:
    from stomptest.broker import Broker
    from stomptest.client import Client

    with Broker(profile="rabbitmq") as broker:
        broker.declare_exchange("events", "fanout")
        with Client(broker.url, host="/", login="guest", passcode="guest") as client:
            subscription = client.subscribe("/exchange/events")
            client.send("/exchange/events/any.key", b"hello", receipt=True)
            message = subscription.receive(timeout=5)
            assert message is not None and message.body == b"hello"
            assert message.destination == "/exchange/events/any.key"
        broker.delete_exchange("events")
        with pytest.raises(ConfigurationError, match="no exchange 'events'"):
            broker.delete_exchange("events")
        broker.check()
