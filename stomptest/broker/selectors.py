"""Message selectors: compiled once per SUBSCRIBE into a predicate on messages, per the profile's broker.

`compile_selector(text, dialect)` parses (selector_parser.py) and turns the tree into nested
Python closures, so dispatch calls one function per message with no tree walk. The closures
reproduce the brokers' Java evaluation (ActiveMQ 5.17's `org.apache.activemq.filter`, which
Artemis 2.40's `artemis-selector` copies), measured on the wire and read in their sources:

- three values: a missing header is NULL; AND/OR/NOT are SQL's; only TRUE selects. Java's two
  paths are kept apart: `evaluate` (under NOT, inside comparisons) and `matches` (the top, AND
  and OR, which stop at the first non-TRUE term), because a term that throws (arithmetic on a
  string: `age * 2` with `age:abc`) makes the whole selector select nothing, and which terms run
  first decides whether it throws.
- header values are strings. With string conversion (`activemq` always: its STOMP transport
  prefixes `convert_string_expressions:`; `artemis` only with that prefix) a string compared with a
  number is read as one (`age > 18` picks `age:20`, not `age:abc` nor `age:20.0` against an
  integer); without it a string never equals a number. `'18' > x` is refused when parsed.
- JMS header names map to STOMP headers as each broker maps them (`JMSPriority` to `priority`
  on ActiveMQ; `AMQPriority` on Artemis, where `JMSPriority` is an unset property).

`strict` (the spec says nothing on selectors) takes the JMS 1.1 reading both brokers share:
ActiveMQ's grammar and JMS names, no string-to-number conversion (so a selector that works on
`strict` works on both brokers). `rabbitmq` ignores the header (measured: RabbitMQ 3.10).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from stomptest.broker.selector_parser import (
    Dialect,
    Long,
    Node,
    SelectorError,
    parse,
    strip_prefixes,
)
from stomptest.broker.selector_values import (
    NUMBERS,
    ORDER,
    Thrown,
    Value,
    arithmetic,
    compare,
    java_str,
    like_pattern,
    parse_double,
    parse_int,
    wrap,
)

if TYPE_CHECKING:
    from stomptest.broker.destinations import Message

__all__ = ["Selector", "SelectorError", "compile_selector"]

Getter = Callable[["Message", dict[str, str]], Value]
Evaluate = Callable[["Message", dict[str, str]], Value]
Matches = Callable[["Message", dict[str, str]], bool]


class Selector:
    """A compiled selector: `matches(message)` is what the broker decides for that message."""

    __slots__ = ("_matches", "convert", "dialect", "text")

    def __init__(self, text: str, dialect: Dialect, matches: Matches, convert: bool) -> None:
        self.text = text
        self.dialect = dialect
        self.convert = convert
        self._matches = matches

    def matches(self, message: Message) -> bool:
        try:
            return self._matches(message, properties(message))
        except (Thrown, ArithmeticError, ValueError, RecursionError):
            return False

    def check(self, message: Message) -> bool | None:
        """Whether it picks `message`, or None where the broker's evaluation throws (`age * 2` with `age:x`).

        Measured on ActiveMQ 5.17.2: after such a throw the message may reach no subscriber of the
        topic at all, or not; the fake only leaves it unpicked by this selector (docs/selectors.md).
        """
        try:
            return self._matches(message, properties(message))
        except (Thrown, ArithmeticError, ValueError, RecursionError):
            return None

    def __repr__(self) -> str:
        return f"Selector({self.text!r}, {self.dialect!r})"


def compile_selector(text: str, dialect: Dialect) -> Selector:
    """Parse and compile `text` as the dialect's broker would; `SelectorError` says where it is wrong."""
    actual, convert, hyphenated = strip_prefixes(text, dialect)
    if dialect == "artemis" and not actual.strip():
        raise SelectorError("Selector cannot be empty", actual, 0, syntax=True)
    tree = parse(actual, dialect, hyphenated)
    return Selector(text, dialect, _Compiler(dialect, convert).matches(tree), convert)


_cache: tuple[object, dict[str, str]] = (None, {})


def properties(message: Message) -> dict[str, str]:
    """A message's headers by name (the first of repeated ones), kept for the next subscriber's selector."""
    global _cache
    cached = _cache  # one read: another thread may replace it, never half of it
    if cached[0] is message:
        return cached[1]
    found: dict[str, str] = {}
    for name, value in reversed(message.headers):
        found[name] = value
    _cache = (message, found)
    return found


# -- property access: what an identifier reads, per broker


def _header(name: str) -> Getter:
    def get(message: Message, headers: dict[str, str]) -> Value:
        return headers.get(name)

    return get


def _jms_destination(name: str | None) -> str | None:
    """ActiveMQDestination.toString(): queue://NAME, topic://NAME."""
    if name is None:
        return None
    for prefix, scheme in (("/queue/", "queue://"), ("/topic/", "topic://"), ("/temp-queue/", "temp-queue://")):
        if name.startswith(prefix):
            return scheme + name[len(prefix) :]
    if name.startswith("/temp-topic/"):
        return "temp-topic://" + name[len("/temp-topic/") :]
    return "queue://" + name


def _int_header(name: str, default: int) -> Getter:
    def get(message: Message, headers: dict[str, str]) -> Value:
        try:
            return int(headers.get(name, default))
        except ValueError:
            return default

    return get


def _persistent(message: Message) -> bool:
    return (message.persistent or "").lower() == "true"


def _activemq_names() -> dict[str, Getter]:
    """org.apache.activemq.filter.PropertyExpression's JMS names, over STOMP."""
    return {
        "JMSDestination": lambda m, h: _jms_destination(m.destination),
        "JMSReplyTo": lambda m, h: _jms_destination(h.get("reply-to")),
        "JMSType": _header("type"),
        "JMSDeliveryMode": lambda m, h: "PERSISTENT" if _persistent(m) else "NON_PERSISTENT",
        "JMSPriority": lambda m, h: m.priority,
        "JMSMessageID": lambda m, h: m.message_id,
        "JMSTimestamp": lambda m, h: Long(m.timestamp),
        "JMSCorrelationID": _header("correlation-id"),
        "JMSExpiration": lambda m, h: Long(m.expires),
        "JMSRedelivered": lambda m, h: m.deliveries > 0,
        "JMSXDeliveryCount": lambda m, h: m.deliveries + 1,
        "JMSXGroupID": _header("JMSXGroupID"),
        "JMSXGroupSeq": _int_header("JMSXGroupSeq", 0),
        "JMSXUserID": lambda m, h: None,
        "JMSXProducerTXID": lambda m, h: None,
        "JMSActiveMQBrokerInTime": lambda m, h: Long(m.timestamp),
        "JMSActiveMQBrokerOutTime": lambda m, h: Long(m.timestamp),
        "JMSActiveMQBrokerPath": lambda m, h: "null",
        "JMSXGroupFirstForConsumer": lambda m, h: False,
    }


_ACTIVEMQ_NAMES = _activemq_names()
# STOMP headers ActiveMQ turns into message fields: no property of that name (measured: `priority = 9`,
# `persistent = 'true'`, `destination IS NOT NULL`, `receipt = 'x'` select nothing; `expires IS NULL` holds)
_ACTIVEMQ_CONSUMED = frozenset(
    {"destination", "receipt", "transaction", "persistent", "priority", "type", "expires", "correlation-id"}
)


def _artemis_size(message: Message) -> int:
    """AMQSize stands for the encoded size of the core message: an estimate (the real one is not on the wire)."""
    return 200 + len(message.body) + sum(2 * (len(n) + len(v)) + 8 for n, v in message.headers)


def _address(name: str) -> str:
    return name.split("/", 2)[2] if name.startswith(("/queue/", "/topic/")) else name


def _artemis_names() -> dict[str, Getter]:
    """FilterImpl.getHeaderFieldValue's AMQ names, and the JMS names Artemis' STOMP sets as properties."""
    return {
        "AMQUserID": lambda m, h: None,  # measured: a STOMP message has none
        "AMQPriority": lambda m, h: m.priority,
        "AMQTimestamp": lambda m, h: Long(m.timestamp),
        "AMQDurable": lambda m, h: "DURABLE" if _persistent(m) else "NON_DURABLE",
        "AMQExpiration": lambda m, h: Long(m.expires),
        "AMQSize": lambda m, h: _artemis_size(m),
        "AMQAddress": lambda m, h: _address(m.destination),
        "AMQGroupID": _header("JMSXGroupID"),
        "JMSType": _header("type"),  # measured: `type` becomes the JMSType property
        "JMSCorrelationID": _header("correlation-id"),
        "JMSReplyTo": _header("reply-to"),
        "destination": lambda m, h: h.get("destination", m.destination),  # measured: a property on Artemis
    }


_ARTEMIS_NAMES = _artemis_names()
# measured: priority, persistent, expires, type, reply-to, content-type and JMSXGroupID are no properties
_ARTEMIS_CONSUMED = frozenset(
    {"priority", "persistent", "expires", "type", "correlation-id", "reply-to", "content-type", "JMSXGroupID"}
)


def _plain_header(name: str, dialect: Dialect) -> str | None:
    """The STOMP header an identifier reads as it is, or None for a name the broker maps or hides."""
    if dialect == "artemis":
        return None if name in _ARTEMIS_NAMES or name in _ARTEMIS_CONSUMED else name
    if name in _ACTIVEMQ_NAMES or (dialect == "activemq" and name in _ACTIVEMQ_CONSUMED):
        return None
    return name


def _property(name: str, dialect: Dialect) -> Getter:
    header = _plain_header(name, dialect)
    if header is not None:
        return _header(header)
    special = (_ARTEMIS_NAMES if dialect == "artemis" else _ACTIVEMQ_NAMES).get(name)
    return special if special is not None else (lambda m, h: None)


class _Compiler:
    """Turns a tree into closures; `evaluate` gives Java's three values, `matches` its boolean."""

    def __init__(self, dialect: Dialect, convert: bool) -> None:
        self.dialect = dialect
        self.convert = convert

    def matches(self, node: Node) -> Matches:
        kind = node[0]
        if kind == "and":
            terms = tuple(self.matches(term) for term in node[1])
            return lambda m, h: all(term(m, h) for term in terms)
        if kind == "or":
            terms = tuple(self.matches(term) for term in node[1])
            return lambda m, h: any(term(m, h) for term in terms)
        if kind == "not":
            inner = self.evaluate(node[1])
            return lambda m, h: inner(m, h) is False
        if kind == "eq" and node[1][0] == "prop" and node[2][0] == "const" and type(node[2][1]) is str:
            header = _plain_header(node[1][1], self.dialect)
            if header is not None:  # the usual `header = 'value'`: a string or missing, no conversion to make
                constant = node[2][1]
                return lambda m, h: h.get(header) == constant
        evaluate = self.evaluate(node)
        return lambda m, h: evaluate(m, h) is True

    def evaluate(self, node: Node) -> Evaluate:
        method: Callable[[Node], Evaluate] = getattr(self, "_" + node[0])
        return method(node)

    def _const(self, node: Node) -> Evaluate:
        value = node[1]
        return lambda m, h: value

    def _prop(self, node: Node) -> Evaluate:
        return _property(node[1], self.dialect)

    def _xpath(self, node: Node) -> Evaluate:
        return lambda m, h: False  # XPATH/XQUERY on the body: not modelled, selects nothing

    def _and(self, node: Node) -> Evaluate:
        terms = tuple(self.evaluate(term) for term in node[1])

        def evaluate(m: Message, h: dict[str, str]) -> Value:
            unknown = False
            for term in terms:
                value = term(m, h)
                if value is False:
                    return False
                if value is None:
                    unknown = True
            return None if unknown else True

        return evaluate

    def _or(self, node: Node) -> Evaluate:
        terms = tuple(self.evaluate(term) for term in node[1])

        def evaluate(m: Message, h: dict[str, str]) -> Value:
            unknown = False
            for term in terms:
                value = term(m, h)
                if value is True:
                    return True
                if value is None:
                    unknown = True
            return None if unknown else False

        return evaluate

    def _not(self, node: Node) -> Evaluate:
        inner = self.evaluate(node[1])

        def evaluate(m: Message, h: dict[str, str]) -> Value:
            value = inner(m, h)
            return None if value is None else not value

        return evaluate

    def _cast(self, node: Node) -> Evaluate:
        inner = self.evaluate(node[1])

        def evaluate(m: Message, h: dict[str, str]) -> Value:
            value = inner(m, h)
            if value is None:
                return None
            return value if type(value) is bool else False

        return evaluate

    def _eq(self, node: Node) -> Evaluate:
        left, right = self.evaluate(node[1]), self.evaluate(node[2])
        convert, activemq = self.convert, self.dialect == "activemq"

        def evaluate(m: Message, h: dict[str, str]) -> Value:
            a, b = left(m, h), right(m, h)
            if a is None or b is None:
                if a is None and b is None:
                    return True
                return None if a is None else False
            if type(a) is type(b) and type(a) is not float:
                return a == b
            order = compare(a, b, convert, activemq)
            return order == 0

        return evaluate

    def _cmp(self, node: Node) -> Evaluate:
        test = ORDER[node[1]]
        left, right = self.evaluate(node[2]), self.evaluate(node[3])
        convert, activemq = self.convert, self.dialect == "activemq"

        def evaluate(m: Message, h: dict[str, str]) -> Value:
            a = left(m, h)
            if a is None:
                return None
            b = right(m, h)
            if b is None:
                return None
            order = compare(a, b, convert, activemq)
            return False if order is None else test(order)

        return evaluate

    def _like(self, node: Node) -> Evaluate:
        inner = self.evaluate(node[1])
        pattern = like_pattern(node[2], node[3])

        def evaluate(m: Message, h: dict[str, str]) -> Value:
            value = inner(m, h)
            if value is None:
                return None
            if type(value) is not str:
                return False
            return pattern(value)

        return evaluate

    def _in(self, node: Node) -> Evaluate:
        inner = self.evaluate(node[1])
        values, negated = node[2], node[3]

        def evaluate(m: Message, h: dict[str, str]) -> Value:
            value = inner(m, h)
            if value is None or type(value) is not str:
                return None
            return (value in values) is not negated

        return evaluate

    def _neg(self, node: Node) -> Evaluate:
        inner = self.evaluate(node[1])

        def evaluate(m: Message, h: dict[str, str]) -> Value:
            value = inner(m, h)
            kind = type(value)
            if kind is int:
                return wrap(-value, 32)
            if kind is Long:
                return Long(wrap(-value, 64))
            if kind is float:
                return -value
            if kind is Decimal:
                negated = -value
                return Long(int(negated)) if negated == -(2**63) else negated
            return None  # a string or a boolean negates to NULL

        return evaluate

    def _arith(self, node: Node) -> Evaluate:
        first = self.evaluate(node[1])
        rest = tuple((op, self.evaluate(operand)) for op, operand in node[2])
        artemis = self.dialect == "artemis"
        convert = self.convert

        def number(value: Value) -> Value:
            kind = type(value)
            if kind in NUMBERS:
                return value
            if kind is Decimal:
                return wrap(int(value), 32)  # BigDecimal is neither Double nor Long: Java takes intValue()
            if artemis and convert and kind is str:
                parsed = parse_double(value) if "." in value else parse_int(value, 64)
                if parsed is not None:
                    return parsed if type(parsed) is float else Long(parsed)
            raise Thrown(f"Cannot convert value: {value} into a number")

        def evaluate(m: Message, h: dict[str, str]) -> Value:
            left = first(m, h)
            for op, operand in rest:
                if left is None:
                    return None
                right = operand(m, h)
                if right is None:
                    return None
                if op == "+" and type(left) is str:
                    left = left + java_str(right)
                    continue
                if not artemis and type(left) not in NUMBERS and type(left) is not Decimal:
                    raise Thrown(f"Cannot call {op} operation on: {left} and: {right}")
                left = arithmetic(op, number(left), number(right))
            return left

        return evaluate
