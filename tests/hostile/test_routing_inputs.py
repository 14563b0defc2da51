"""Hostile routing input (issue 15): exchange names with every character, topic patterns of odd `*`, `#` and `>`,
huge composite lists, absurd queue arguments. The broker must answer each as its profile's broker would
(a RECEIPT, or an ERROR it knows), never fail inside (`Engine.internal_errors`), and route what it takes
by the rules docs/routing.md gives: the topic patterns against a plain recursive matcher as the oracle.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stomptest.broker.exchanges import topic_matches
from stomptest.protocol import Frame
from tests.broker.harness import Peer, connected, engine

# every character a header value may carry in STOMP 1.2 (escaped on the wire), surrogates aside
_ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
_WORDS = st.lists(st.sampled_from(["*", "#", ">", "a", "b", ""]), min_size=1, max_size=7)


def _answers(peer: Peer, command: str, headers: dict[str, str]) -> list[str]:
    body = b"x" if command == "SEND" else b""
    return [frame.command for frame in peer.send(command, {**headers, "receipt": "r"}, body)]


@given(exchange=_ANY_TEXT, key=_ANY_TEXT)
def test_rabbitmq_exchange_names_with_every_character(exchange: str, key: str) -> None:
    eng = engine("rabbitmq")
    for command, headers in (("SUBSCRIBE", {"id": "s"}), ("SEND", {})):
        peer = connected(eng)
        answers = _answers(peer, command, {**headers, "destination": f"/exchange/{exchange}/{key}"})
        assert answers and answers[0] in ("RECEIPT", "ERROR"), answers
    assert eng.internal_errors == []


@given(exchange=_ANY_TEXT.filter(lambda name: name and "/" not in name), kind=st.sampled_from(["direct", "topic"]))
def test_a_declared_exchange_of_any_name_routes(exchange: str, kind: str) -> None:
    eng = engine("rabbitmq")
    eng.routes.declare_exchange(exchange, kind)
    reader = connected(eng)
    assert _answers(reader, "SUBSCRIBE", {"id": "s", "destination": f"/exchange/{exchange}/k"}) == ["RECEIPT"]
    connected(eng).send("SEND", {"destination": f"/exchange/{exchange}/k"}, b"hello")
    [message] = [f for f in reader.frames() if f.command == "MESSAGE"]
    assert (message.body, message.headers["destination"]) == (b"hello", f"/exchange/{exchange}/k")


def _reference(pattern: list[str], key: list[str], many: str) -> bool:
    """Topic matching the slow, obvious way (exponential; only for short inputs)."""
    if not pattern:
        return not key
    word, rest = pattern[0], pattern[1:]
    if word == many:
        return any(_reference(rest, key[index:], many) for index in range(len(key) + 1))
    return bool(key) and (word == "*" or word == key[0]) and _reference(rest, key[1:], many)


@given(pattern=_WORDS, key=st.lists(st.sampled_from(["a", "b", "*", "#", ">", ""]), min_size=1, max_size=7))
@pytest.mark.parametrize("many", ["#", ">"])
def test_topic_patterns_with_odd_wildcards_match_as_the_reference_does(
    many: str, pattern: list[str], key: list[str]
) -> None:
    expected = _reference(pattern, key, many)
    assert topic_matches(".".join(pattern), ".".join(key), many) is expected


@given(pattern=_WORDS, key=st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=5))
@pytest.mark.parametrize("profile", ["rabbitmq", "activemq", "artemis"])
def test_wildcard_subscriptions_of_odd_patterns(profile: str, pattern: list[str], key: list[str]) -> None:
    eng = engine(profile)
    reader = connected(eng)
    destination = "/topic/t." + ".".join(pattern)
    answers = _answers(reader, "SUBSCRIBE", {"id": "s", "destination": destination})
    assert answers == ["RECEIPT"]
    connected(eng).send("SEND", {"destination": "/topic/t." + ".".join(key)}, b"x")
    got = [f for f in reader.frames() if f.command == "MESSAGE"]
    many = ">" if profile == "activemq" else "#"
    assert len(got) == int(_reference(["t", *pattern], ["t", *key], many))
    assert eng.internal_errors == []


def test_deeply_nested_many_words_stay_cheap() -> None:
    """`#.#.#...` against a long key: the matcher is linear in each, so this returns at once."""
    pattern = ".".join(["#"] * 2000 + ["x"])
    assert topic_matches(pattern, ".".join(["a"] * 2000)) is False
    assert topic_matches(pattern, ".".join(["a"] * 2000 + ["x"])) is True


@pytest.mark.parametrize("count", [1, 2, 300])  # 300 parts twice: 7 KB, within its 10 KiB header limit
def test_activemq_huge_composite_lists(count: int) -> None:
    eng = engine("activemq")
    names = [f"/queue/q{index}" for index in range(count)]
    reader = connected(eng)
    reader.send("SUBSCRIBE", {"id": "s", "destination": names[-1]})
    sender = connected(eng)
    assert _answers(sender, "SEND", {"destination": ",".join(names + names)}) == ["RECEIPT"]  # repeated parts: once
    [message] = [f for f in reader.frames() if f.command == "MESSAGE"]
    assert message.headers["original-destination"].count(",") == count - 1
    assert all(len(eng.destinations[name].messages) == 1 for name in names[:-1])
    assert eng.internal_errors == []


@pytest.mark.parametrize(
    "destination",
    [",", ",,,,", "/queue/a,", ",/queue/a", "/queue/a,,/queue/b", "/queue/a,/queue/", "/queue/a,/topic/", " , ,"],
)
@pytest.mark.parametrize("command", ["SEND", "SUBSCRIBE"])
def test_activemq_composite_lists_with_empty_parts(destination: str, command: str) -> None:
    """Empty parts at the end are left out; one before another part, or a part that is /queue/ or /topic/
    alone, closes without a frame (measured on ActiveMQ 5.17.2, SEND and SUBSCRIBE alike)."""
    eng = engine("activemq")
    peer = connected(eng)
    answers = _answers(peer, command, {"destination": destination, **({"id": "s"} if command == "SUBSCRIBE" else {})})
    kept = destination.strip().rstrip(",")  # Java trims the whole name, then split drops empty parts at its end
    if destination.endswith(("/queue/", "/topic/")) or (kept and "" in kept.split(",")):
        assert answers == [] and peer.connection.closed
    else:
        assert answers == ["RECEIPT"]
    assert eng.internal_errors == []


@given(value=st.one_of(_ANY_TEXT, st.integers().map(str)))
def test_rabbitmq_absurd_queue_lengths(value: str) -> None:
    eng = engine("rabbitmq")
    peer = connected(eng)
    answers = peer.send("SUBSCRIBE", {"id": "s", "destination": "/queue/q", "x-max-length": value, "receipt": "r"})
    assert answers and answers[0].command in ("RECEIPT", "ERROR")
    if answers[0].command == "ERROR":
        assert answers[0].headers["message"] in ("Processing error", "precondition_failed")
    else:
        assert int(value) >= 0
        connected(eng).send("SEND", {"destination": "/amq/queue/q"}, b"x")
    assert eng.internal_errors == []


def test_a_frame_of_every_answer_is_well_formed() -> None:
    """The new ERRORs encode in every version (their texts hold quotes, braces and a queue's odd name)."""
    eng = engine("rabbitmq")
    for headers in ({"x-max-length": "-5"}, {"x-queue-type": "q'\"{}"}, {"exclusive": "true"}):
        peer = connected(eng)
        for frame in peer.send("SUBSCRIBE", {"id": "s", "destination": "/queue/odd:name\\x", **headers}):
            assert isinstance(frame, Frame)
    assert eng.internal_errors == []
