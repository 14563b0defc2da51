"""Hostile lifecycle headers and dead-letter cycles (issue 15): the fake broker answers, never breaks.

Absurd TTLs, priorities and queue arguments of every shape go to each profile; the broker
must answer as its profile says (lifecycle_headers.py, lifecycle_arguments.py: measured) and
never hit a bug of its own, and an expired message is never delivered whatever the clock does.
Dead-letter cycles end: a message expiring round a cycle of RabbitMQ queues is dropped, and a
dead-letter or expiry queue never sends a message to itself.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stomptest.broker import PROFILES
from stomptest.broker.engine import Engine

from ..broker.harness import Peer, connected, engine

NAMES = ["priority", "expires", "expiration", "x-message-ttl", "x-expires", "x-max-priority", "x-dead-letter-exchange"]
NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -1, 9, 10, 127, 128, -128, -129, 255, 256, 2**31, 2**32, 2**63, -(2**63) - 1]),
).map(str)
VALUES = st.one_of(NUMBERS, st.text(max_size=12).filter(lambda v: "\x00" not in v), st.just(""), st.just("1e3"))
HEADERS = st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=4)


def _healthy(eng: Engine) -> None:
    assert eng.internal_errors == [], eng.internal_errors[0]


@pytest.mark.parametrize("profile", sorted(PROFILES))
@given(sends=st.lists(HEADERS, min_size=1, max_size=6), steps=st.lists(st.floats(0, 1e9), max_size=3))
def test_absurd_lifecycle_headers_are_answered(profile: str, sends: list[dict[str, str]], steps: list[float]) -> None:
    eng = engine(profile)
    consumer = connected(eng)
    consumer.send("SUBSCRIBE", {"id": "s", "destination": "/queue/h", "ack": "client-individual", **sends[0]})
    producers = [connected(eng) for _ in sends]
    for producer, headers in zip(producers, sends, strict=True):
        frames = producer.send("SEND", {"destination": "/queue/h", "receipt": "r", **headers}, b"x")
        assert all(f.command in ("RECEIPT", "ERROR", "MESSAGE") for f in frames), frames
    for seconds in steps:
        eng.advance(seconds, 1000.0)
        _healthy(eng)
    now_ms = (1000.0 + eng.clock_offset) * 1000
    for message in eng.destinations["/queue/h"].messages if "/queue/h" in eng.destinations else ():
        assert not (message.expires and message.expires < now_ms) or not steps, "an expired message stayed queued"
    consumer.read()
    _healthy(eng)


@given(ttl=st.integers(0, 10**6), hops=st.integers(1, 5))
def test_an_expiry_cycle_of_rabbitmq_queues_ends(ttl: int, hops: int) -> None:
    eng = engine("rabbitmq")
    peer = connected(eng)
    names = [f"c{i}" for i in range(hops)]
    for index, name in enumerate(names):
        arguments = {
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": names[(index + 1) % hops],
            "x-message-ttl": str(ttl),
        }
        peer.send("SUBSCRIBE", {"id": name, "destination": f"/queue/{name}", **arguments})
        peer.send("UNSUBSCRIBE", {"id": name})
    peer.send("SEND", {"destination": "/queue/c0"}, "round")
    for _ in range(hops + 2):
        eng.advance(ttl / 1000 + 0.01, 1000.0)
    assert all(not eng.destinations[f"/queue/{name}"].messages for name in names)
    assert len(eng.expired) == hops  # round the cycle once, dropped where it would reach its first queue again
    _healthy(eng)


def test_a_rejection_cycle_goes_on_only_while_clients_reject() -> None:
    eng = engine("rabbitmq")
    peer = connected(eng)
    for name, other in (("a", "b"), ("b", "a")):
        arguments = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": other}
        peer.send("SUBSCRIBE", {"id": name, "destination": f"/queue/{name}", "ack": "client-individual", **arguments})
    frames = peer.send("SEND", {"destination": "/queue/a"}, "ping-pong")
    for hop in range(50):  # RabbitMQ allows a cycle with a rejection in it (documented), so each NACK moves it
        [message] = [f for f in frames if f.command == "MESSAGE"]
        assert message.headers["x-first-death-reason" if hop else "destination"] in ("rejected", "/queue/a")
        frames = peer.send("NACK", {"id": message.headers["ack"], "requeue": "false"})
    _healthy(eng)


@pytest.mark.parametrize("profile", ["activemq", "artemis"])
def test_an_expired_message_on_the_expiry_queue_itself_is_dropped(profile: str) -> None:
    eng = engine(profile)
    target = PROFILES[profile].expiry_queue
    assert target is not None
    producer: Peer = connected(eng)
    producer.send("SEND", {"destination": target, "expires": "1", "persistent": "true"}, "old")
    eng.advance(1, 1000.0)
    assert [m.body for m in eng.expired] == [b"old"]
    assert list(eng.destinations[target].messages) == []
    _healthy(eng)
