"""Java's values as the brokers' selector evaluation sees them: types, conversions, order, arithmetic, LIKE.

Selector values stand for Java objects: str (String), bool (Boolean), int (Integer), `Long`,
float (Double), Decimal (BigDecimal, a decimal literal past Long). The functions here are the
brokers' `ComparisonExpression.compare`, `ArithmeticExpression`, `LikeExpression` and the
`valueOf` parsers they call, with the Java behaviour a Python reading would get wrong: 32- and
64-bit overflow, `Double.compareTo` (NaN, -0.0), `Double.toString` in string concatenation,
what `Integer.valueOf` and `Double.valueOf` accept. A RuntimeException inside the broker is
`Thrown` here (the selector then picks nothing).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from stomptest.broker.selector_parser import Long

Value = Any  # None, str, bool, int (Integer), Long, float (Double), Decimal (BigDecimal)


class Thrown(Exception):
    """A RuntimeException inside the broker's evaluation: the selector selects nothing."""


def java_str(value: Value) -> str:
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


def parse_int(text: str, bits: int) -> int | None:
    """Integer.valueOf / Long.valueOf: None where Java throws NumberFormatException."""
    if _INTEGER.fullmatch(text) is None:
        return None
    value = int(text)
    limit = 1 << (bits - 1)
    return value if -limit <= value < limit else None


def parse_double(text: str) -> float | None:
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
        value = parse_int(text, 32)
    elif kind is Long:
        value = parse_int(text, 64)
        value = None if value is None else Long(value)
    elif kind is float:
        value = parse_double(text)
    else:
        return _NO
    return _NO if value is None else value


_NO = object()
NUMBERS = (int, Long, float)


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


def compare(left: Value, right: Value, convert: bool, activemq: bool = False) -> int | None:
    """ComparisonExpression.compare's ordering of two non-null values, None where it answers FALSE.

    ActiveMQ 5.17.2 casts the Boolean on the left to a String when the right is one (a
    ClassCastException: `TRUE = color`, `NOT a = 'x'`); Artemis converts the right instead.
    """
    left_type, right_type = type(left), type(right)
    if left_type is not right_type:
        if activemq and left_type is bool and right_type is str:
            raise Thrown(
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
        elif left_type in NUMBERS and right_type in NUMBERS:
            if left_type is float or right_type is float:
                return _double_compare(float(left), float(right))
        else:
            return None
    if type(left) is float:
        return _double_compare(left, right)
    if type(left) is str and not (left.isascii() and right.isascii()):
        left, right = left.encode("utf-16-be"), right.encode("utf-16-be")  # Java compares UTF-16 code units
    return -1 if left < right else (1 if left > right else 0)


ORDER: dict[str, Callable[[int], bool]] = {
    "<": lambda c: c < 0,
    ">": lambda c: c > 0,
    "<=": lambda c: c <= 0,
    ">=": lambda c: c >= 0,
}


def wrap(value: int, bits: int) -> int:
    limit = 1 << (bits - 1)
    return ((value + limit) % (1 << bits)) - limit


def arithmetic(op: str, left: Value, right: Value) -> Value:
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
        return Long(wrap(result, 64))
    return wrap(result, 32)


def like_pattern(like: str, escape: str | None) -> Callable[[str], bool]:
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
