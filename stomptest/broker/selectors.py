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

import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from stomptest.broker.selector_parser import (
    Dialect,
    Long,
    Node,
    SelectorError,
    parse,
    strip_prefixes,
)

if TYPE_CHECKING:
    from stomptest.broker.destinations import Message

__all__ = ["Selector", "SelectorError", "compile_selector"]

Value = Any  # None, str, bool, int (Integer), Long, float (Double), Decimal (BigDecimal)
Getter = Callable[["Message", dict[str, str]], Value]
Evaluate = Callable[["Message", dict[str, str]], Value]
Matches = Callable[["Message", dict[str, str]], bool]


class _Thrown(Exception):
    """A RuntimeException inside the broker's evaluation: the selector selects nothing."""


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
        except (_Thrown, ArithmeticError, ValueError, RecursionError):
            return False

    def check(self, message: Message) -> bool | None:
        """Whether it picks `message`, or None where the broker's evaluation throws (`age * 2` with `age:x`).

        Measured on ActiveMQ 5.17.2: after such a throw the message may reach no subscriber of the
        topic at all, or not; the fake only leaves it unpicked by this selector (docs/selectors.md).
        """
        try:
            return self._matches(message, properties(message))
        except (_Thrown, ArithmeticError, ValueError, RecursionError):
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


# -- Java values


def _java_str(value: Value) -> str:
    """String.valueOf as Java writes it (string concatenation with `+`)."""
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is float:
        return _java_double(value)
    return str(value)


def _java_double(value: float) -> str:
    """Double.toString: plain between 10^-3 and 10^7, else d.dddE<n> (shortest digits either way)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = f"{value:f}" if "e" in repr(value) else repr(value)
        text = text.rstrip("0") if "." in text else text
        return text + "0" if text.endswith(".") else text
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    shown = "".join(map(str, digits)).rstrip("0") or "0"
    power = len(digits) + int(exponent) - 1
    return f"{'-' if sign else ''}{shown[0]}.{shown[1:] or '0'}E{power}"


_INTEGER = re.compile(r"[+-]?\d+")
_DOUBLE = re.compile(
    r"[+-]?(?:NaN|Infinity|(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)[fFdD]?)"
    r"|[+-]?0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)[pP][+-]?\d+[fFdD]?",
    re.ASCII,
)


def _parse_int(text: str, bits: int) -> int | None:
    """Integer.valueOf / Long.valueOf: None where Java throws NumberFormatException."""
    if _INTEGER.fullmatch(text) is None:
        return None
    value = int(text)
    limit = 1 << (bits - 1)
    return value if -limit <= value < limit else None


def _parse_double(text: str) -> float | None:
    """Double.valueOf: Java's grammar (surrounding control characters and spaces trimmed), None where it throws."""
    text = text.strip("".join(chr(c) for c in range(33)))
    if _DOUBLE.fullmatch(text) is None:
        return None
    body = text.rstrip("fFdD") if not text.endswith(("NaN", "Infinity")) else text
    if "x" in body.lower() and "p" in body.lower():
        sign = -1.0 if body.startswith("-") else 1.0
        return sign * float.fromhex(body.lstrip("+-"))
    return float(body.replace("Infinity", "inf").replace("NaN", "nan"))


def _convert_string(text: str, like: Value) -> Value:
    """The string read as the other operand's type (`convert_string_expressions`), or _NO where Java throws."""
    kind = type(like)
    if kind is bool:
        return text.lower() == "true"
    value: Value
    if kind is int:
        value = _parse_int(text, 32)
    elif kind is Long:
        value = _parse_int(text, 64)
        value = None if value is None else Long(value)
    elif kind is float:
        value = _parse_double(text)
    else:
        return _NO
    return _NO if value is None else value


_NO = object()
_NUMBERS = (int, Long, float)


def _double_compare(left: float, right: float) -> int:
    """Double.compareTo: NaN above everything and equal to itself, -0.0 below 0.0."""
    if left < right:
        return -1
    if left > right:
        return 1
    left_nan, right_nan = left != left, right != right
    if left_nan or right_nan:
        return (left_nan > right_nan) - (left_nan < right_nan)
    return (math.copysign(1, left) > math.copysign(1, right)) - (math.copysign(1, left) < math.copysign(1, right))


def _compare(left: Value, right: Value, convert: bool, activemq: bool = False) -> int | None:
    """ComparisonExpression.compare's ordering of two non-null values, None where it answers FALSE.

    ActiveMQ 5.17.2 casts the Boolean on the left to a String when the right is one (a
    ClassCastException: `TRUE = color`, `NOT a = 'x'`); Artemis converts the right instead.
    """
    left_type, right_type = type(left), type(right)
    if left_type is not right_type:
        if activemq and left_type is bool and right_type is str:
            raise _Thrown(
                "java.lang.ClassCastException: class java.lang.Boolean cannot be cast to class java.lang.String"
            )
        if left_type is str:
            if not convert:
                return None
            left = _convert_string(left, right)
            if left is _NO:
                return None
        elif right_type is str:
            if not convert or left_type is Decimal:
                return None
            right = _convert_string(right, left)
            if right is _NO:
                return None
        elif left_type in _NUMBERS and right_type in _NUMBERS:
            if left_type is float or right_type is float:
                return _double_compare(float(left), float(right))
        else:
            return None
    if type(left) is float:
        return _double_compare(left, right)
    if type(left) is str and not (left.isascii() and right.isascii()):
        left, right = left.encode("utf-16-be"), right.encode("utf-16-be")  # Java compares UTF-16 code units
    return -1 if left < right else (1 if left > right else 0)


_ORDER: dict[str, Callable[[int], bool]] = {
    "<": lambda c: c < 0,
    ">": lambda c: c > 0,
    "<=": lambda c: c <= 0,
    ">=": lambda c: c >= 0,
}


def _wrap(value: int, bits: int) -> int:
    limit = 1 << (bits - 1)
    return ((value + limit) % (1 << bits)) - limit


def _arithmetic(op: str, left: Value, right: Value) -> Value:
    """ArithmeticExpression's plus/minus/multiply (Integer, Long or Double), divide and mod (always Double)."""
    if op in "/%":
        a, b = float(left), float(right)
        if op == "/":
            if b == 0:
                if a == 0 or a != a:
                    return math.nan
                return math.copysign(math.inf, a) * math.copysign(1, b)
            return a / b
        if b == 0 or math.isinf(a) or a != a or b != b:
            return math.nan
        return math.fmod(a, b)
    if type(left) is float or type(right) is float:
        a, b = float(left), float(right)
        return a + b if op == "+" else (a - b if op == "-" else a * b)
    a, b = int(left), int(right)
    result = a + b if op == "+" else (a - b if op == "-" else a * b)
    if type(left) is Long or type(right) is Long:
        return Long(_wrap(result, 64))
    return _wrap(result, 32)


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
            order = _compare(a, b, convert, activemq)
            return order == 0

        return evaluate

    def _cmp(self, node: Node) -> Evaluate:
        test = _ORDER[node[1]]
        left, right = self.evaluate(node[2]), self.evaluate(node[3])
        convert, activemq = self.convert, self.dialect == "activemq"

        def evaluate(m: Message, h: dict[str, str]) -> Value:
            a = left(m, h)
            if a is None:
                return None
            b = right(m, h)
            if b is None:
                return None
            order = _compare(a, b, convert, activemq)
            return False if order is None else test(order)

        return evaluate

    def _like(self, node: Node) -> Evaluate:
        inner = self.evaluate(node[1])
        pattern = _like_pattern(node[2], node[3])

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
                return _wrap(-value, 32)
            if kind is Long:
                return Long(_wrap(-value, 64))
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
            if kind in _NUMBERS:
                return value
            if kind is Decimal:
                return _wrap(int(value), 32)  # BigDecimal is neither Double nor Long: Java takes intValue()
            if artemis and convert and kind is str:
                parsed = _parse_double(value) if "." in value else _parse_int(value, 64)
                if parsed is not None:
                    return parsed if type(parsed) is float else Long(parsed)
            raise _Thrown(f"Cannot convert value: {value} into a number")

        def evaluate(m: Message, h: dict[str, str]) -> Value:
            left = first(m, h)
            for op, operand in rest:
                if left is None:
                    return None
                right = operand(m, h)
                if right is None:
                    return None
                if op == "+" and type(left) is str:
                    left = left + _java_str(right)
                    continue
                if not artemis and type(left) not in _NUMBERS and type(left) is not Decimal:
                    raise _Thrown(f"Cannot call {op} operation on: {left} and: {right}")
                left = _arithmetic(op, number(left), number(right))
            return left

        return evaluate


def _like_pattern(like: str, escape: str | None) -> Callable[[str], bool]:
    """LikeExpression as a matcher: % any run, _ one character, the escape only before % _ or itself.

    The brokers build a regular expression (`.*?` per %); a backtracking engine takes exponential
    time on `%a%a%a...b` against a long value, so here it is the two-pointer wildcard match, which
    backtracks only to the last % (at most len(pattern) x len(value) steps).
    """
    items: list[str | None] = []  # a character, "" for _, None for %
    index = 0
    while index < len(like):
        char = like[index]
        if escape is not None and char == escape and index + 1 < len(like) and like[index + 1] in ("_", "%", escape):
            index += 1
            items.append(like[index])
        elif char == "%":
            if not items or items[-1] is not None:  # %% is %
                items.append(None)
        elif char == "_":
            items.append("")
        else:
            items.append(char)
        index += 1
    pattern = tuple(items)
    if None not in pattern and "" not in pattern:
        literal = "".join(item for item in pattern if item)
        return lambda value: value == literal

    def matches(value: str) -> bool:
        p = v = 0
        star = -1
        resume = 0
        while v < len(value):
            if p < len(pattern) and pattern[p] is not None and (pattern[p] == "" or pattern[p] == value[v]):
                p += 1
                v += 1
            elif p < len(pattern) and pattern[p] is None:
                star, resume = p, v
                p += 1
            elif star >= 0:
                p = star + 1
                resume += 1
                v = resume
            else:
                return False
        while p < len(pattern) and pattern[p] is None:
            p += 1
        return p == len(pattern)

    return matches
