"""Subscriptions that read several destinations (issue 15, spanning.py), engine level: ActiveMQ's composite
SUBSCRIBE and its wildcard queues.

The expectations are what ActiveMQ 5.17.2 did with raw frames (docs/routing.md); tests/scenarios/test_routing.py
runs the same behaviours against it.
"""

from __future__ import annotations

import pytest

from stomptest.broker.composite import parts
from stomptest.broker.engine import Engine

from .harness import Peer, connected, engine
from .test_routing import Reader, messages, subscribed


def sent(producer: Peer, destination: str, body: str, **headers: str) -> None:
    replies = producer.send("SEND", {"destination": destination, "receipt": "r", **headers}, body)
    assert [f.command for f in replies] == ["RECEIPT"], replies


def got(reader: Reader) -> list[tuple[str, str]]:
    return [(m.body.decode(), m.headers["destination"]) for m in messages(reader.frames())]


def activemq() -> tuple[Engine, Peer]:
    eng = engine("activemq")
    return eng, connected(eng)


def test_composite_subscribe_reads_every_part_and_names_each() -> None:
    eng, producer = activemq()
    reader = subscribed(eng, "/queue/A,/queue/B")
    sent(producer, "/queue/A", "a")
    sent(producer, "/queue/B", "b")
    frames = messages(reader.frames())
    assert [(m.body, m.headers["destination"], m.headers["subscription"]) for m in frames] == [
        (b"a", "/queue/A", "s"),
        (b"b", "/queue/B", "s"),
    ]
    plain = subscribed(eng, "/queue/A", id="p")  # a message-id is the part's, as a plain subscriber's
    sent(producer, "/queue/A", "a2")
    sent(producer, "/queue/A", "a3")
    ids = [m.headers["message-id"] for m in messages(reader.frames()) + messages(plain.frames())]
    assert len(set(ids)) == 2 and all(i.startswith("ID:") for i in ids)


def test_backlog_is_delivered_part_by_part_in_the_lists_order() -> None:
    eng, producer = activemq()
    for index in range(2):
        sent(producer, "/queue/A", f"a{index}")
        sent(producer, "/queue/B", f"b{index}")
    reader = subscribed(eng, "/queue/B,/queue/A")
    assert [body for body, _ in got(reader)] == ["b0", "b1", "a0", "a1"]


@pytest.mark.parametrize(
    ("name", "reads"),
    [
        ("/queue/A,/topic/T", ["/queue/A"]),  # only the first part's kind
        ("/topic/T,/queue/A", ["/topic/T"]),
        ("A,/topic/T", ["/queue/A"]),  # a bare part is a queue
        ("/topic/T,/topic/U", ["/topic/T", "/topic/U"]),
        ("/queue/A,queue://B", ["/queue/A", "/queue/queue://B"]),  # queue://B in a list is the queue queue://B
        ("/queue/A,topic://T", ["/queue/A", "/queue/topic://T"]),
        ("/queue/A,/queue/A", ["/queue/A"]),  # read once
        ("/queue/A,,", ["/queue/A"]),  # empty parts at the end are left out
        ("/queue/A, ,/queue/ B", ["/queue/A", "/queue/B"]),  # blanks around a name are trimmed
    ],
)
def test_which_parts_a_composite_subscription_reads(name: str, reads: list[str]) -> None:
    eng, producer = activemq()
    reader = subscribed(eng, name)
    candidates = ["/queue/A", "/queue/B", "/topic/T", "/topic/U", "/queue/queue://B", "/queue/topic://T"]
    for destination in candidates:
        sent(producer, destination, destination)
    assert got(reader) == [(destination, destination) for destination in candidates if destination in reads]


@pytest.mark.parametrize("name", ["/queue/A,,/queue/B", ",/queue/A", "/queue/A,/queue/"])
@pytest.mark.parametrize("command", ["SUBSCRIBE", "SEND"])
def test_an_empty_part_before_another_closes_without_a_frame(name: str, command: str) -> None:
    eng, peer = activemq()
    headers = {"destination": name, "receipt": "r", **({"id": "s"} if command == "SUBSCRIBE" else {})}
    assert peer.send(command, headers, b"x" if command == "SEND" else b"") == []
    assert peer.connection.closed
    assert eng.internal_errors == []


def test_composite_parts_rule() -> None:
    assert parts("/queue/A,,,") == ["/queue/A"]
    assert parts(",/queue/A") is None
    assert parts("/queue/A,,B") is None
    assert parts("/queue/\tA ,  B\x01") == ["/queue/A", "/queue/B"]
    assert parts(" /queue/A, /queue/B ") == ["/queue/A", "/queue//queue/B"]  # a blank before a prefix: a name
    assert parts("/queue/A,topic://T,/temp-queue/t") == ["/queue/A", "/queue/topic://T", "/temp-queue/t"]
    assert parts(",") == []


def test_a_composite_consumer_competes_round_robin_on_each_part() -> None:
    eng, producer = activemq()
    composite = subscribed(eng, "/queue/A,/queue/B")
    plain = subscribed(eng, "/queue/A", id="p")
    for index in range(4):
        sent(producer, "/queue/A", f"a{index}")
    sent(producer, "/queue/B", "b0")
    assert [body for body, _ in got(composite)] == ["a0", "a2", "b0"]
    assert [body for body, _ in got(plain)] == ["a1", "a3"]


def test_a_topic_composite_gets_a_copy_beside_plain_subscribers() -> None:
    eng, producer = activemq()
    composite = subscribed(eng, "/topic/T,/topic/U")
    plain = subscribed(eng, "/topic/T", id="p")
    sent(producer, "/topic/T", "t")
    sent(producer, "/topic/U", "u")
    assert got(composite) == [("t", "/topic/T"), ("u", "/topic/U")]
    assert got(plain) == [("t", "/topic/T")]


def test_ack_client_covers_earlier_messages_of_other_parts() -> None:
    eng, producer = activemq()
    reader = subscribed(eng, "/queue/A,/queue/B", ack="client")
    sent(producer, "/queue/A", "a1")
    sent(producer, "/queue/A", "a2")
    sent(producer, "/queue/B", "b1")
    frames = messages(reader.frames())
    assert reader.send("ACK", {"id": frames[2].headers["ack"], "receipt": "k"})[0].command == "RECEIPT"
    assert (
        eng.destinations["/queue/A"].messages
        == eng.destinations["/queue/B"].messages
        == type(eng.destinations["/queue/A"].messages)()
    )
    reader.send("DISCONNECT")
    assert got(subscribed(eng, "/queue/A")) == [] and got(subscribed(eng, "/queue/B")) == []


def test_client_individual_ack_and_what_goes_back_to_each_part_on_unsubscribe() -> None:
    eng, producer = activemq()
    reader = subscribed(eng, "/queue/A,/queue/B", ack="client-individual")
    sent(producer, "/queue/A", "a1")
    sent(producer, "/queue/B", "b1")
    sent(producer, "/queue/A", "a2")
    frames = messages(reader.frames())
    reader.send("ACK", {"id": frames[1].headers["ack"]})  # b1 only
    assert reader.send("UNSUBSCRIBE", {"id": "s", "receipt": "u"})[0].command == "RECEIPT"
    assert [m.body for m in eng.destinations["/queue/A"].messages] == [b"a1", b"a2"]
    assert not eng.destinations["/queue/B"].messages and not eng.destinations["/queue/B"].subscriptions
    again = subscribed(eng, "/queue/A", id="p")
    assert [(m.body, m.headers.get("redelivered")) for m in messages(again.frames())] == [
        (b"a1", "true"),
        (b"a2", "true"),
    ]


def test_nack_sends_a_persistent_message_to_the_dlq_naming_its_part() -> None:
    eng, producer = activemq()
    reader = subscribed(eng, "/queue/A,/queue/B", ack="client")
    sent(producer, "/queue/A", "a1", persistent="true")
    sent(producer, "/queue/B", "b1", persistent="true")
    frames = messages(reader.frames())
    reader.send("NACK", {"id": frames[1].headers["ack"]})
    dlq = subscribed(eng, "/queue/ActiveMQ.DLQ", id="d")
    [dead] = messages(dlq.frames())
    assert (dead.body, dead.headers["original-destination"]) == (b"b1", "/queue/B")


def test_a_selector_applies_to_every_part() -> None:
    eng, producer = activemq()
    reader = subscribed(eng, "/queue/A,/queue/B", selector="n > 1")
    for index in range(4):
        sent(producer, "/queue/A", f"a{index}", n=str(index))
        sent(producer, "/queue/B", f"b{index}", n=str(index))
    assert [body for body, _ in got(reader)] == ["a2", "b2", "a3", "b3"]
    assert [m.body for m in eng.destinations["/queue/B"].messages] == [b"b0", b"b1"]
    reader.send("UNSUBSCRIBE", {"id": "s"})
    assert eng.destinations["/queue/A"].selecting == eng.destinations["/queue/B"].selecting == 0


def test_a_window_counts_across_parts() -> None:
    eng, producer = activemq()
    reader = subscribed(eng, "/queue/A,/queue/B", ack="client", **{"activemq.prefetchSize": "2"})
    for index in range(2):
        sent(producer, "/queue/A", f"a{index}")
        sent(producer, "/queue/B", f"b{index}")
    frames = messages(reader.frames())
    assert [m.body for m in frames] == [b"a0", b"b0"]
    after = reader.send("ACK", {"id": frames[1].headers["ack"]})  # covers a0 and b0: room for two more
    assert [m.body for m in messages(after)] == [b"a1", b"b1"]
    assert reader.send("UNSUBSCRIBE", {"id": "s", "receipt": "u"})[0].command == "RECEIPT"
    assert not eng.destinations["/queue/A"].subscriptions and not eng.destinations["/queue/B"].subscriptions


# -- wildcard queues


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [(">", ["old", "new", "new.deep", ""]), ("*", ["old", "new"])],
)
def test_wildcard_queue_reads_matching_queues_existing_and_later(pattern: str, expected: list[str]) -> None:
    eng, producer = activemq()
    sent(producer, "/queue/P.old", "old")
    sent(producer, "/queue/Q.old", "elsewhere")
    reader = subscribed(eng, f"/queue/P.{pattern}")
    for suffix in ("new", "new.deep"):
        sent(producer, f"/queue/P.{suffix}", suffix)
    sent(producer, "/queue/P", "")
    sent(producer, "/queue/Px.y", "Px")
    frames = messages(reader.frames())
    assert [m.body.decode() for m in frames] == expected
    assert frames[0].headers["destination"] == "/queue/P.old"


def test_a_send_to_a_wildcard_queue_name_is_a_queue_of_that_name() -> None:
    eng, producer = activemq()
    plain = subscribed(eng, "/queue/P.a")
    sent(producer, "/queue/P.*", "literal")
    assert messages(plain.frames()) == []
    reader = subscribed(eng, "/queue/P.*", id="w")
    assert got(reader) == [("literal", "/queue/P.*")]


def test_wildcard_queue_subscription_ends_cleanly() -> None:
    eng, producer = activemq()
    reader = subscribed(eng, "/queue/P.>", ack="client")
    sent(producer, "/queue/P.a", "a")
    assert len(messages(reader.frames())) == 1
    reader.send("DISCONNECT")
    assert eng.routes.spans == []
    sent(producer, "/queue/P.b", "b")  # a queue made after: no one reads it
    assert [m.body for m in eng.destinations["/queue/P.a"].messages] == [b"a"]
    assert [m.body for m in eng.destinations["/queue/P.b"].messages] == [b"b"]


def test_composite_with_wildcard_parts() -> None:
    eng, producer = activemq()
    queues = subscribed(eng, "/queue/P.>,/queue/X")
    topics = subscribed(eng, "/topic/T.>,/topic/U", id="t")
    for destination in ("/queue/P.a", "/queue/X", "/queue/P.b.c", "/topic/T.a", "/topic/U", "/topic/V"):
        sent(producer, destination, destination)
    assert [body for body, _ in got(queues)] == ["/queue/P.a", "/queue/X", "/queue/P.b.c"]
    assert [body for body, _ in got(topics)] == ["/topic/T.a", "/topic/U"]


@pytest.mark.parametrize("profile", ["strict", "artemis"])
def test_other_profiles_read_the_list_and_the_pattern_as_one_name(profile: str) -> None:
    eng = engine(profile)
    producer = connected(eng)
    reader = subscribed(eng, "/queue/A,/queue/B")
    wildcard = subscribed(eng, "/queue/P.>", id="w")
    for destination in ("/queue/A", "/queue/P.a", "/queue/A,/queue/B", "/queue/P.>"):
        sent(producer, destination, destination)
    assert got(reader) == [("/queue/A,/queue/B", "/queue/A,/queue/B")]
    assert got(wildcard) == [("/queue/P.>", "/queue/P.>")]


def test_hundreds_of_parts_and_too_many() -> None:
    eng, producer = activemq()
    many = ",".join(f"/queue/P{index}" for index in range(500))
    reader = subscribed(eng, many)
    sent(producer, "/queue/P499", "last")
    assert got(reader) == [("last", "/queue/P499")]
    peer = connected(eng)
    too_many = ",".join(f"Q{index}" for index in range(eng.limits.max_subscriptions + 1))  # within max_header_bytes
    replies = peer.send("SUBSCRIBE", {"id": "s", "destination": too_many, "receipt": "r"})
    assert [f.command for f in replies] == ["ERROR"]
    assert "parts in one destination" in replies[0].headers["message"] + replies[0].body.decode()
    assert eng.internal_errors == []
