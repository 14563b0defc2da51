"""Hypothesis strategies for JMS selectors and the messages they are tried on (issue 14's differential test).

Selectors are drawn as text from a small grammar that covers what the brokers' parsers accept
(and some of what they refuse: a string literal in `>`, a number as a condition), over a few
property names shared with the generated messages, so that most selectors pick some messages.
Values lean to the awkward: numbers as strings, '1.5', ' 5', '0x10', 'TRUE', '2147483648', ''.
"""

from __future__ import annotations

from hypothesis import strategies as st

NAMES = ("a", "b", "age", "color")
VALUES = (
    "1",
    "20",
    "5",
    "abc",
    "red",
    "1.5",
    "-3",
    "",
    "TRUE",
    "true",
    "a_c",
    "x%y",
    "007",
    " 5",
    "1e3",
    "0x10",
    "2147483648",
    "NaN",
)


def _keyword(word: str) -> st.SearchStrategy[str]:
    return st.sampled_from((word, word.lower(), word.capitalize()))


def _string_literal() -> st.SearchStrategy[str]:
    return st.sampled_from(("'1'", "'20'", "'abc'", "'red'", "''", "'it''s'", "'a_c'", "'TRUE'", "'1.5'"))


def _number_literal() -> st.SearchStrategy[str]:
    return st.sampled_from(("0", "1", "5", "18", "20", "-3", "1.5", "1e3", "0x10", "010", "2147483648", "10L", ".5"))


def _property(jms: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.sampled_from(NAMES + jms)


def _operand(jms: tuple[str, ...], property_arithmetic: bool) -> st.SearchStrategy[str]:
    simple = st.one_of(_property(jms), _number_literal(), _string_literal(), st.sampled_from(("TRUE", "FALSE")))
    if property_arithmetic:
        term = st.one_of(_property(jms), _number_literal())
        left = st.one_of(term, _string_literal())
    else:
        term = left = _number_literal()
    arithmetic = st.tuples(left, st.sampled_from(("+", "-", "*", "/", "%")), term).map(" ".join)
    return st.one_of(simple, simple, arithmetic, _property(jms).map(lambda p: f"-{p}"))


def _condition(jms: tuple[str, ...], property_arithmetic: bool) -> st.SearchStrategy[str]:
    operand = _operand(jms, property_arithmetic)
    comparison = st.tuples(operand, st.sampled_from(("=", "<>", "<", ">", "<=", ">=")), operand).map(" ".join)
    like = st.tuples(
        _property(jms),
        st.sampled_from(("LIKE", "NOT LIKE", "like")),
        st.sampled_from(("'a%'", "'%c'", "'_'", "'a\\_c' ESCAPE '\\'", "'x!%y' ESCAPE '!'", "'%'", "'r_d'")),
    ).map(" ".join)
    between = st.tuples(
        st.one_of(_property(jms), _number_literal()),
        st.sampled_from(("BETWEEN", "NOT BETWEEN")),
        _number_literal(),
        _keyword("AND"),
        _number_literal(),
    ).map(" ".join)
    within = st.tuples(
        _property(jms),
        st.sampled_from(("IN", "NOT IN", "in")),
        st.lists(_string_literal(), min_size=1, max_size=3).map(lambda items: "(" + ", ".join(items) + ")"),
    ).map(" ".join)
    null = st.tuples(_property(jms), st.sampled_from(("IS NULL", "IS NOT NULL", "is null"))).map(" ".join)
    return st.one_of(comparison, comparison, like, between, within, null, _property(jms))


def selectors(jms: tuple[str, ...] = (), property_arithmetic: bool = True) -> st.SearchStrategy[str]:
    """Selector texts: conditions joined by AND/OR, with NOT and parentheses; `jms` adds header names.

    `property_arithmetic=False` keeps properties and strings out of arithmetic: on ActiveMQ 5.17
    arithmetic on a string throws inside the broker, and some such throws keep the message from every subscriber of
    the topic (measured; docs/selectors.md), which the fake does not model.
    """
    return st.recursive(
        _condition(jms, property_arithmetic),
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(("AND", "OR", "and", "Or")), inner).map(" ".join),
            inner.map(lambda text: f"NOT {text}"),
            inner.map(lambda text: f"({text})"),
        ),
        max_leaves=4,
    )


def message_headers(extra: tuple[tuple[str, tuple[str, ...]], ...] = ()) -> st.SearchStrategy[dict[str, str]]:
    """The user headers of one SEND: some of NAMES with awkward values, and the broker headers in `extra`."""
    pairs = [(name, st.sampled_from(VALUES)) for name in NAMES] + [(n, st.sampled_from(v)) for n, v in extra]
    return st.fixed_dictionaries({}, optional=dict(pairs))


ACTIVEMQ_JMS = ("JMSPriority", "JMSType", "JMSCorrelationID", "JMSDeliveryMode", "JMSXGroupID", "JMSRedelivered")
ARTEMIS_JMS = ("AMQPriority", "AMQDurable", "JMSType", "JMSCorrelationID", "AMQGroupID", "JMSPriority")
BROKER_HEADERS = (
    ("priority", ("0", "4", "9")),
    ("type", ("car", "1")),
    ("correlation-id", ("c1", "20")),
    ("persistent", ("true", "false")),
    ("JMSXGroupID", ("g", "1")),
)
