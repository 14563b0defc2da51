"""Selectors: the parser's answers (with positions), the evaluator's Java semantics, dispatch through the engine.

The expected values are the real brokers' answers measured with raw frames (issue 14,
ActiveMQ 5.17.2 and Artemis 2.40.0); tests/scenarios/test_selectors.py asks the brokers again.
"""

from __future__ import annotations

import pytest

from stomptest.broker.destinations import Message
from stomptest.broker.selector_parser import MAX_DEPTH, MAX_LENGTH, Long, SelectorError, parse
from stomptest.broker.selectors import compile_selector

from .harness import connected, engine


def message(**headers: str) -> Message:
    return Message(
        1,
        "/queue/orders",
        tuple(headers.items()),
        b"body",
        "ID:test-1:",
        1_700_000_000_000,
        0,
        int(headers.get("priority", "4")),
        headers.get("persistent"),
    )


def picked(selector: str, dialect: str, *messages: dict[str, str]) -> list[int]:
    compiled = compile_selector(selector, dialect)  # type: ignore[arg-type]
    return [index for index, headers in enumerate(messages) if compiled.matches(message(**headers))]


# (selector, messages, picked by activemq, picked by artemis): measured
MEASURED = [
    ("age > 18", [{"age": "20"}, {"age": "abc"}, {"age": "5"}, {}], [0], []),
    ("convert_string_expressions:age > 18", [{"age": "20"}, {"age": "abc"}, {}], [0], [0]),
    ("age = 20", [{"age": "20"}, {"age": "20.0"}, {"age": "abc"}], [0], []),
    ("age = '20'", [{"age": "20"}, {"age": "20.0"}], [0], [0]),
    (
        "size = 'L' AND NOT color = 'red'",
        [{"size": "L"}, {"size": "L", "color": "blue"}, {"size": "L", "color": "red"}],
        [],
        [],
    ),
    ("color IS NULL", [{"color": "x"}, {}], [1], [1]),
    ("name LIKE 'a%'", [{"name": "abc"}, {"name": "bac"}], [0], [0]),
    ("name LIKE 'a\\_%' ESCAPE '\\'", [{"name": "a_c"}, {"name": "abc"}], [0], [0]),
    ("age BETWEEN 10 AND 20", [{"age": "15"}, {"age": "25"}, {"age": "x"}], [0], []),
    ("color IN ('red','blue')", [{"color": "red"}, {"color": "green"}, {}], [0], [0]),
    ("color NOT IN ('red','blue')", [{"color": "red"}, {"color": "green"}, {}], [1], [1]),
    ("age + 1 = 21", [{"age": "20"}], [], []),
    ("age + 1 = '201'", [{"age": "20"}], [0], [0]),
    ("age * 2 > 30", [{"age": "20"}], [], []),
    ("convert_string_expressions:age * 2 > 30", [{"age": "20"}], [0], [0]),
    ("JMSPriority = 9", [{"priority": "9"}, {}], [0], []),
    ("AMQPriority = 9", [{"priority": "9"}, {}], [], [0]),
    ("JMSType = 'car'", [{"type": "car"}, {}], [0], [0]),
    ("type = 'car'", [{"type": "car"}], [], []),
    ("JMSCorrelationID = 'c1'", [{"correlation-id": "c1"}, {}], [0], [0]),
    ("JMSMessageID IS NOT NULL", [{}], [0], []),
    ("JMSDeliveryMode = 'PERSISTENT'", [{"persistent": "true"}, {}], [0], []),
    ("AMQDurable = 'DURABLE'", [{"persistent": "true"}, {}], [], [0]),
    ("JMSTimestamp > 0", [{}], [0], []),
    ("AMQTimestamp > 0", [{}], [], [0]),
    ("flag = TRUE", [{"flag": "true"}, {"flag": "TRUE"}, {"flag": "1"}], [0, 1], []),
    ("flag", [{"flag": "true"}, {"flag": "false"}], [], []),
    ("x = 1.5", [{"x": "1.5"}, {"x": "1.50"}], [0, 1], []),
    ("x = 0x10", [{"x": "16"}], [0], []),
    ("x = 10L", [{"x": "10"}], [0], []),
    ("priority = 9", [{"priority": "9"}], [], []),
    ("expires IS NULL", [{"expires": "99"}], [0], [0]),
    ("a = b", [{"a": "1", "b": "1.0"}, {}], [1], [1]),
    ("NOT (5 = x)", [{}], [0], [0]),
    ("(a * 2 > 3) OR c = 'r'", [{"a": "1", "c": "r"}], [], []),
    ("NOT((a = 1 AND b * 2 > 3) OR c = 'r')", [{"a": "2", "b": "x", "c": "q"}], [0], [0]),
    ("a = 1 AnD b Is NuLl", [{"a": "1"}], [0], []),
    ("a = 1.0e0", [{"a": "1"}, {"a": "1.0"}], [0, 1], []),
    ("a = 07", [{"a": "7"}], [0], []),
    ("a LIKE '%'", [{"a": "x\ny"}], [0], [0]),
    ("a in ('1')", [{"a": "1"}], [0], [0]),
]


@pytest.mark.parametrize(("selector", "messages", "activemq", "artemis"), MEASURED, ids=[m[0] for m in MEASURED])
def test_measured_answers(
    selector: str, messages: list[dict[str, str]], activemq: list[int], artemis: list[int]
) -> None:
    if selector.startswith("convert_string_expressions:"):  # ActiveMQ adds and strips its own prefix only
        with pytest.raises(SelectorError, match="Lexical error at line 1, column 27"):
            compile_selector(selector, "activemq")
    else:
        assert picked(selector, "activemq", *messages) == activemq
    assert picked(selector, "artemis", *messages) == artemis


def test_artemis_hyphenated_and_quoted_names() -> None:
    assert picked("hyphenated_props:my-key = 'v'", "artemis", {"my-key": "v"}, {}) == [0]
    assert picked("\"my-key\" = 'v'", "artemis", {"my-key": "v"}, {}) == [0]
    assert picked("my-key = 'v'", "artemis", {"my-key": "v", "my": "1"}) == []  # my - key: NULL arithmetic
    with pytest.raises(SelectorError):
        compile_selector("\"my-key\" = 'v'", "activemq")  # measured: ActiveMQ has no quoted names


def test_strict_reads_jms_names_without_string_conversion() -> None:
    assert picked("JMSPriority = 9 AND age = '20'", "strict", {"priority": "9", "age": "20"}) == [0]
    assert picked("age > 18", "strict", {"age": "20"}) == []


# (selector, 1-based column of the mistake): the column ActiveMQ's ParseException names where it names one
ERRORS = [
    ("select x", 8, "Parse error at line 1, column 8.  Encountered: x"),
    ("age >", 5, "Parse error at line 1, column 5.  Encountered: <EOF>"),
    ("and and ", 1, "Parse error at line 1, column 1.  Encountered: and"),
    ("age > '18'", 5, "Value ''18'' cannot be compared."),
    ("name > 'b'", 6, "Value ''b'' cannot be compared."),
    ("a = NULL", 3, "'NULL' cannot be compared."),
    ("5", 1, "Expression will not result in a boolean value: 5"),
    ("a = 1 AND 2", 11, "Expression will not result in a boolean value: 2"),
    ("1 IN ('a')", 3, "Expected a property for In expression, got: 1"),
    ("a LIKE 'x' ESCAPE 'ab'", 19, "The ESCAPE string literal is invalid."),
    ("a # b", 3, 'Lexical error at line 1, column 3.  Encountered: "#" (35)'),
    ("a = 1\n  OR", 4, "Parse error at line 2, column 4.  Encountered: <EOF>"),
    ("", 1, "Parse error at line 1, column 1.  Encountered: <EOF>"),
]


@pytest.mark.parametrize(("selector", "column", "reason"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_name_the_position(selector: str, column: int, reason: str) -> None:
    with pytest.raises(SelectorError) as caught:
        compile_selector(selector, "activemq")
    assert caught.value.column == column
    assert caught.value.reason.startswith(reason)


def test_artemis_refuses_an_empty_selector() -> None:
    with pytest.raises(SelectorError, match="Selector cannot be empty"):
        compile_selector("", "artemis")


def test_literals_are_typed_as_java_types_them() -> None:
    assert parse("a = 2147483647", "activemq") == ("eq", ("prop", "a"), ("const", 2147483647))
    big = parse("a = 2147483648", "activemq")[2][1]
    assert type(big) is Long
    assert picked("a = 2147483648", "activemq", {"a": "2147483648"}) == [0]
    assert picked("a = 1", "activemq", {"a": "2147483648"}) == []  # Integer.valueOf throws: FALSE


def test_java_arithmetic_overflows_and_divides() -> None:
    assert picked("2147483647 + 1 < 0", "activemq", {}) == [0]  # Integer wraps
    assert picked("1 / 0 > 1000000", "activemq", {}) == [0]  # Double: Infinity
    assert picked("-7 % 3 = -1", "activemq", {}) == [0]  # the dividend's sign
    assert picked("'a' + 1.0 = 'a1.0'", "activemq", {}) == [0]  # Java's Double.toString


def test_nesting_and_length_are_bounded() -> None:
    deep = "(" * MAX_DEPTH + "a = 1" + ")" * MAX_DEPTH
    assert picked(deep, "activemq", {"a": "1"}) == [0]
    for selector in (
        "(" * (MAX_DEPTH + 1) + "a = 1" + ")" * (MAX_DEPTH + 1),
        "NOT " * 10_000 + "a",
        "-" * 10_000 + "1 = 1",
    ):
        with pytest.raises(SelectorError, match="StackOverflowError"):
            compile_selector(selector, "activemq")
    with pytest.raises(SelectorError, match="longer than"):
        compile_selector("a = 1 OR " * (MAX_LENGTH // 9 + 1) + "a = 1", "activemq")


def test_long_flat_chains_evaluate_without_deep_recursion() -> None:
    chain = " OR ".join(f"a = {n}" for n in range(5_000))
    assert picked(chain, "activemq", {"a": "4999"}, {"a": "x"}) == [0]
    sums = "1" + "+1" * 5_000 + " = 5001"
    assert picked(sums, "activemq", {}) == [0]


# -- through the engine


def test_queue_message_nobody_selects_waits_for_a_later_subscriber() -> None:
    eng = engine("activemq")
    consumer = connected(eng)
    consumer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/q", "selector": "color = 'red'"})
    producer = connected(eng)
    producer.send("SEND", {"destination": "/queue/q", "color": "blue"}, "blue")
    producer.send("SEND", {"destination": "/queue/q", "color": "red"}, "red")
    assert [f.body for f in consumer.frames() if f.command == "MESSAGE"] == [b"red"]
    later = connected(eng)
    replies = later.send("SUBSCRIBE", {"id": "2", "destination": "/queue/q"})
    assert [f.body for f in replies if f.command == "MESSAGE"] == [b"blue"]


def test_topic_subscribers_get_what_their_selector_picks() -> None:
    eng = engine("artemis")
    red, everything = connected(eng), connected(eng)
    red.send("SUBSCRIBE", {"id": "1", "destination": "/topic/t", "selector": "color = 'red'"})
    everything.send("SUBSCRIBE", {"id": "1", "destination": "/topic/t"})
    producer = connected(eng)
    for color in ("red", "blue"):
        producer.send("SEND", {"destination": "/topic/t", "color": color}, color)
    assert [f.body for f in red.frames() if f.command == "MESSAGE"] == [b"red"]
    assert [f.body for f in everything.frames() if f.command == "MESSAGE"] == [b"red", b"blue"]


def test_unsubscribing_a_selecting_subscription_restores_plain_dispatch() -> None:
    eng = engine("activemq")
    peer = connected(eng)
    peer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/q", "selector": "a = 'x'"})
    peer.send("UNSUBSCRIBE", {"id": "1"})
    assert eng.destinations["/queue/q"].selecting == 0


def test_invalid_selector_errors_per_profile() -> None:
    amq = connected(engine("activemq"))
    [error] = amq.send("SUBSCRIBE", {"id": "1", "destination": "/queue/q", "selector": "age >", "receipt": "r"})
    assert error.command == "ERROR"
    assert error.headers["message"] == "age >"
    assert error.headers["receipt-id"] == "r"
    assert "javax.jms.InvalidSelectorException: age >" in error.body.decode()
    assert "line 1, column 5" in error.body.decode()
    assert not amq.connection.closing  # measured: ActiveMQ reads on
    [topic_error] = amq.send("SUBSCRIBE", {"id": "2", "destination": "/topic/t", "selector": "age >"})
    assert topic_error.headers["message"] == "Couldn't create TopicSubscription"

    artemis = connected(engine("artemis"))
    [error] = artemis.send("SUBSCRIBE", {"id": "1", "destination": "/queue/q", "selector": "age >", "receipt": "r"})
    assert error.headers["message"] == 'Invalid selector "age >"'
    assert "receipt-id" not in error.headers
    assert "line 1, column 5" in error.body.decode()
    assert artemis.connection.closing  # every ERROR closes in 1.2
    empty = connected(engine("artemis"))
    [error] = empty.send("SUBSCRIBE", {"id": "1", "destination": "/queue/q", "selector": ""})
    assert error.headers["message"] == "Selector cannot be empty"


def test_rabbitmq_ignores_selectors() -> None:
    eng = engine("rabbitmq")
    peer = connected(eng)
    replies = peer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/q", "selector": "age >", "receipt": "r"})
    assert [f.command for f in replies] == ["RECEIPT"]
    replies = peer.send("SEND", {"destination": "/queue/q"}, "x")
    assert [f.body for f in replies if f.command == "MESSAGE"] == [b"x"]


def test_artemis_keeps_the_connection_after_a_bad_selector_before_1_2() -> None:
    """Measured on Artemis 2.40.0: in 1.0 and 1.1 the invalid-selector ERROR leaves the connection open."""
    peer = connected(engine("artemis"), "1.1")
    [error] = peer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/q", "selector": "age >"})
    assert error.headers["message"] == 'Invalid selector "age >"'
    assert not peer.connection.closing
