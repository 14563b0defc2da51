"""Hostile names for subscriptions that read several destinations (issue 15, broker/spanning.py): composite lists
of any characters and any number of parts, wildcard queue patterns of odd words. ActiveMQ's answer to each is a
RECEIPT, an ERROR it knows, or a close without a frame (an empty part, `/queue/` alone), never a failure
inside (`Engine.internal_errors`); what the subscription takes, it reads by the rules of docs/routing.md.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from stomptest.broker import composite
from stomptest.broker.exchanges import topic_matches
from tests.broker.harness import connected, engine

_ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
_PART = st.one_of(
    _ANY_TEXT,
    _ANY_TEXT.map(lambda name: "/queue/" + name),
    _ANY_TEXT.map(lambda name: "/topic/" + name),
    st.sampled_from(["", " ", "/queue/", "/topic/", "queue://x", "topic://x", "/temp-queue/t", "/queue/a.>", "*"]),
)


@settings(max_examples=200)
@given(parts=st.lists(_PART, min_size=1, max_size=12), ack=st.sampled_from(["auto", "client", "client-individual"]))
def test_composite_subscribe_of_any_parts(parts: list[str], ack: str) -> None:
    eng = engine("activemq")
    reader = connected(eng)
    name = ",".join(parts)
    replies = reader.send("SUBSCRIBE", {"id": "s", "destination": name, "ack": ack, "receipt": "r"})
    commands = [frame.command for frame in replies]
    assert commands in (["RECEIPT"], ["ERROR"], []), commands
    if commands == []:
        assert reader.connection.closed
    producer = connected(eng)
    for part in composite.parts(name) or ():
        producer.send("SEND", {"destination": part}, b"x")
    for frame in reader.frames():
        assert frame.command == "MESSAGE"
        if ack != "auto":
            reader.send("ACK", {"id": frame.headers["ack"]})
    reader.send("DISCONNECT")
    assert eng.internal_errors == []
    assert all(not d.subscriptions for d in eng.destinations.values())
    assert eng.routes.spans == []


@given(words=st.lists(st.sampled_from(["*", ">", "a", "b", "", "#"]), min_size=1, max_size=6))
def test_wildcard_queue_patterns_read_what_they_match(words: list[str]) -> None:
    eng = engine("activemq")
    pattern = ".".join(words)
    keys = ["a", "a.b", "b.a.b", "a.a.a.a", "a..b", ".a", "*", ">"]  # "/queue/" alone would close the producer
    producer = connected(eng)
    producer.send("SEND", {"destination": "/queue/" + keys[0]}, keys[0])  # one made before
    reader = connected(eng)
    replies = reader.send("SUBSCRIBE", {"id": "s", "destination": "/queue/" + pattern, "receipt": "r"})
    if not replies:  # /queue/ alone: closed without a frame, as ActiveMQ does
        assert pattern == "" and reader.connection.closed
        return
    assert [frame.command for frame in replies][:1] == ["RECEIPT"]
    for key in keys[1:]:
        producer.send("SEND", {"destination": "/queue/" + key}, key)
    got = [frame.body.decode() for frame in replies[1:] + reader.frames() if frame.command == "MESSAGE"]
    wildcard = any(word in ("*", ">") for word in words)
    expected = [key for key in keys if (topic_matches(pattern, key, ">") if wildcard else key == pattern)]
    assert sorted(got) == sorted(expected)
    assert eng.internal_errors == []


def test_a_thousand_parts_and_one_more() -> None:
    eng = engine("activemq")
    reader = connected(eng)
    limit = eng.limits.max_subscriptions
    name = ",".join(f"q{index}" for index in range(limit))
    assert [f.command for f in reader.send("SUBSCRIBE", {"id": "s", "destination": name, "receipt": "r"})] == [
        "RECEIPT"
    ]
    over = connected(eng)
    [error] = over.send("SUBSCRIBE", {"id": "s", "destination": name + ",one-more", "receipt": "r"})
    assert error.command == "ERROR" and f"{limit + 1} parts in one destination" in error.headers["message"]
    assert eng.internal_errors == []
