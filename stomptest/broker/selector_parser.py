"""The JMS message-selector grammar, read as ActiveMQ 5.17 and Artemis 2.40 read it, into a small tree.

A hand-written recursive-descent parser (no parsing library: the grammar is ~15 rules, and
the errors must name the line and column the way the brokers' JavaCC parsers do, which a
generic library would make us re-derive anyway). Tokens follow the brokers' JavaCC token
rules: longest match wins, a keyword beats an identifier of the same length, keywords are
case-blind, `--` comments need a line end, `/* */` comments are skipped. The parse-time
checks the brokers make while building their expression objects (`'18' > x`, `x = NULL`,
`IN` on something not a property, an ESCAPE of more than one character, a bare number as a
condition) are made here too, so an invalid selector is refused at SUBSCRIBE as there.

Nodes are tuples (kind, ...): ("const", value), ("prop", name), ("and", [nodes]), ("or", [nodes]),
("not", node), ("cast", prop) (a property used as a condition), ("eq", left, right),
("cmp", op, left, right), ("like", node, pattern, escape), ("in", prop, values, negated),
("arith", first, [(op, node), ...]), ("neg", node), ("xpath", text). BETWEEN, <>, IS [NOT] NULL and NOT
LIKE are rewritten into these as the brokers do. Values are Python values standing for Java
ones: str, bool, int (Integer), `Long` (java.lang.Long), float (Double), Decimal (BigDecimal).
Nesting is bounded (`MAX_DEPTH`) and so is the length (`MAX_LENGTH`): a deeper selector gets
the same invalid-selector answer the brokers give when their parser runs out of stack.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Literal

Dialect = Literal["activemq", "artemis", "strict"]
Node = tuple[Any, ...]

# measured: ActiveMQ 5.17.2 accepts 300 nested parentheses and refuses 1,000 (a StackOverflowError inside its
# parser, answered as an invalid selector); Artemis 2.40.0 alike. The fake stops at 100 (Python's own stack).
MAX_DEPTH = 100
MAX_LENGTH = 100_000

_KEYWORDS = frozenset(
    {"NOT", "AND", "OR", "BETWEEN", "LIKE", "ESCAPE", "IN", "IS", "TRUE", "FALSE", "NULL", "XPATH", "XQUERY"}
)
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


class Long(int):
    """A java.lang.Long (an int that compares and converts as a Long, not an Integer)."""

    __slots__ = ()


class SelectorError(ValueError):
    """An invalid selector: `reason` in the brokers' words, `position` (0-based) of the mistake."""

    def __init__(self, reason: str, text: str, position: int, *, syntax: bool) -> None:
        self.reason = reason
        self.text = text
        self.position = max(0, min(position, len(text)))
        self.syntax = syntax  # a ParseException (True) or a RuntimeException while building the expression
        before = text[: self.position]
        self.line = before.count("\n") + 1
        self.column = self.position - (before.rfind("\n") + 1) + 1
        super().__init__(f"{reason} (line {self.line}, column {self.column})")


# token kinds, tried in the JavaCC declaration order (a tie in length goes to the earlier one)
_TOKEN_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("DECIMAL", re.compile(r"[1-9][0-9]*[lL]?")),
    ("HEX", re.compile(r"0[xX][0-9a-fA-F]+")),
    ("OCTAL", re.compile(r"0[0-7]*")),
    ("FLOAT", re.compile(r"[0-9]+\.[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+")),
    ("STRING", re.compile(r"'(?:''|[^'])*'")),
)
_ID = re.compile(r"[a-zA-Z_$][a-zA-Z0-9_$]*")
_HYPHENATED_ID = re.compile(r"[a-zA-Z_$][a-zA-Z0-9_$-]*")
_QUOTED_ID = re.compile(r'"(?:""|[^"])*"')
_SYMBOLS = ("<>", ">=", "<=", "=", ">", "<", "+", "-", "*", "/", "%", "(", ")", ",")
_SPACE = " \t\n\r\f"
_LINE_COMMENT = re.compile(r"--[^\n\r]*(?:\r\n|\n|\r)")
_BLOCK_COMMENT = re.compile(r"/\*[^*]*\*+(?:[^/*][^*]*\*+)*/")

Token = tuple[str, str, int]  # kind, text, position


def tokenize(text: str, dialect: Dialect, hyphenated: bool = False) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    end = len(text)
    identifier = _HYPHENATED_ID if hyphenated else _ID
    # where the last line break and the last "*/" are: a comment that cannot end is not tried (each try would
    # scan to the end of the text, and "-" * 90_000 would take quadratic time)
    last_break = max(text.rfind("\n"), text.rfind("\r"))
    last_close = text.rfind("*/")
    while position < end:
        char = text[position]
        if char in _SPACE:
            position += 1
            continue
        if (text.startswith("--", position) and position < last_break) or (
            text.startswith("/*", position) and position + 2 <= last_close
        ):
            comment = (_LINE_COMMENT if char == "-" else _BLOCK_COMMENT).match(text, position)
            if comment is not None:
                position = comment.end()
                continue
        best: Token | None = None
        for kind, pattern in _TOKEN_RULES:
            found = pattern.match(text, position)
            if found is not None and (best is None or len(found.group()) > len(best[1])):
                best = (kind, found.group(), position)
        word = identifier.match(text, position)
        if word is not None and (best is None or len(word.group()) > len(best[1])):
            upper = word.group().upper()
            best = (upper if upper in _KEYWORDS else "ID", word.group(), position)
        if best is None and dialect == "artemis" and not hyphenated and char == '"':
            quoted = _QUOTED_ID.match(text, position)
            if quoted is not None:
                best = ("QUOTED_ID", quoted.group(), position)
        if best is None:
            for symbol in _SYMBOLS:
                if text.startswith(symbol, position):
                    best = (symbol, symbol, position)
                    break
        if best is None:
            raise SelectorError(
                f"Lexical error at line {_line(text, position)}, column {_column(text, position)}.  "
                f'Encountered: "{char}" ({ord(char)}), after : ""',
                text,
                position,
                syntax=True,
            )
        tokens.append(best)
        position += len(best[1])
    tokens.append(("EOF", "<EOF>", max(end - 1, 0)))  # JavaCC places <EOF> at the last character read
    return tokens


def _line(text: str, position: int) -> int:
    return text.count("\n", 0, position) + 1


def _column(text: str, position: int) -> int:
    return position - (text.rfind("\n", 0, position) + 1) + 1


def strip_prefixes(text: str, dialect: Dialect) -> tuple[str, bool, bool]:
    """Artemis' leading options (`convert_string_expressions:`, `hyphenated_props:` and their `no_` forms).

    Returns the selector without them, whether strings convert to numbers, whether names may hold '-'.
    ActiveMQ's STOMP transport always prefixes `convert_string_expressions:` itself (ProtocolConverter),
    and its parser strips that one prefix: the profile `activemq` always converts, and a prefix the
    client wrote is left in the selector, where its ':' is a lexical error.
    """
    if dialect == "activemq":
        return text, True, False
    if dialect == "strict":
        return text, False, False
    convert = hyphenated = False
    while True:
        for prefix, flag, value in (
            ("convert_string_expressions:", "convert", True),
            ("hyphenated_props:", "hyphenated", True),
            ("no_convert_string_expressions:", "convert", False),
            ("no_hyphenated_props:", "hyphenated", False),
        ):
            if text.startswith(prefix):
                text = text[len(prefix) :]
                if flag == "convert":
                    convert = value
                else:
                    hyphenated = value
                break
        else:
            return text, convert, hyphenated


def parse(text: str, dialect: Dialect, hyphenated: bool = False) -> Node:
    """The tree of a selector (already stripped of its prefixes), or `SelectorError`."""
    if len(text) > MAX_LENGTH:
        raise SelectorError(f"selector longer than {MAX_LENGTH} characters", text, MAX_LENGTH, syntax=True)
    parser = _Parser(text, tokenize(text, dialect, hyphenated))
    node = parser.or_expression()
    parser.expect("EOF")
    return parser.as_boolean(node, 0)


_BOOLEAN_KINDS = frozenset({"and", "or", "not", "cast", "eq", "cmp", "like", "in", "xpath"})


class _Parser:
    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    # -- helpers

    @property
    def kind(self) -> str:
        return self.tokens[self.index][0]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def at(self, *kinds: str) -> bool:
        return self.tokens[self.index][0] in kinds

    def expect(self, kind: str) -> Token:
        if self.kind != kind:
            self.fail_here()
        return self.take()

    def fail_here(self) -> None:
        _, image, position = self.tokens[self.index]
        raise SelectorError(
            f"Parse error at line {_line(self.text, position)}, column {_column(self.text, position)}.  "
            f"Encountered: {image}",
            self.text,
            position,
            syntax=True,
        )

    def semantic(self, reason: str, position: int) -> None:
        raise SelectorError(reason, self.text, position, syntax=False)

    def deeper(self, position: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SelectorError(
                f"java.lang.StackOverflowError (nested deeper than {MAX_DEPTH})", self.text, position, syntax=False
            )

    def as_boolean(self, node: Node, position: int) -> Node:
        if node[0] in _BOOLEAN_KINDS:
            return node
        if node[0] == "prop":
            return ("cast", node)
        if node[0] == "const" and (node[1] is None or type(node[1]) is bool):
            return node
        self.semantic(f"Expression will not result in a boolean value: {describe(node)}", position)
        raise AssertionError  # unreachable

    # -- grammar: or > and > equality > comparison > add > mult > unary > primary

    def or_expression(self) -> Node:
        start = self.tokens[self.index][2]
        left = self.and_expression()
        if not self.at("OR"):
            return left
        terms = [self.as_boolean(left, start)]
        while self.at("OR"):
            self.take()
            start = self.tokens[self.index][2]
            terms.append(self.as_boolean(self.and_expression(), start))
        return ("or", terms)

    def and_expression(self) -> Node:
        start = self.tokens[self.index][2]
        left = self.equality()
        if not self.at("AND"):
            return left
        terms = [self.as_boolean(left, start)]
        while self.at("AND"):
            self.take()
            start = self.tokens[self.index][2]
            terms.append(self.as_boolean(self.equality(), start))
        return ("and", terms)

    def equality(self) -> Node:
        left = self.comparison()
        while True:
            kind, _, position = self.tokens[self.index]
            if kind in ("=", "<>"):
                self.take()
                right = self.comparison()
                for operand in (left, right):
                    if operand[0] == "const" and operand[1] is None:
                        self.semantic("'NULL' cannot be compared.", position)
                if left[0] == "const" and right[0] == "const" and type(left[1]) is bool and type(right[1]) is not bool:
                    self.semantic(f"'{describe(left)}' cannot be compared with '{describe(right)}'", position)
                left = ("eq", left, right) if kind == "=" else ("not", ("eq", left, right))
            elif kind == "IS":
                self.take()
                negated = self.at("NOT")
                if negated:
                    self.take()
                self.expect("NULL")
                test = ("eq", left, ("const", None))
                left = ("not", test) if negated else test
            else:
                return left

    def comparison(self) -> Node:
        left = self.add()
        while True:
            kind, _, position = self.tokens[self.index]
            if kind in (">", ">=", "<", "<="):
                self.take()
                right = self.add()
                left = self.compare(kind, left, right, position)
            elif kind == "LIKE" or (kind == "NOT" and self.tokens[self.index + 1][0] == "LIKE"):
                negated = kind == "NOT"
                self.index += 2 if negated else 1
                pattern = self.string()
                escape = None
                if self.at("ESCAPE"):
                    self.take()
                    escape_position = self.tokens[self.index][2]
                    escape = self.string()
                    if len(escape) != 1:
                        self.semantic(
                            "The ESCAPE string literal is invalid.  It can only be one character.  "
                            f"Literal used: {escape}",
                            escape_position,
                        )
                like = ("like", left, pattern, escape)
                left = ("not", like) if negated else like
            elif kind == "BETWEEN" or (kind == "NOT" and self.tokens[self.index + 1][0] == "BETWEEN"):
                negated = kind == "NOT"
                self.index += 2 if negated else 1
                low = self.add()
                self.expect("AND")
                high = self.add()
                if negated:
                    left = ("or", [self.compare("<", left, low, position), self.compare(">", left, high, position)])
                else:
                    left = ("and", [self.compare(">=", left, low, position), self.compare("<=", left, high, position)])
            elif kind == "IN" or (kind == "NOT" and self.tokens[self.index + 1][0] == "IN"):
                negated = kind == "NOT"
                self.index += 2 if negated else 1
                self.expect("(")
                values = [self.string()]
                while self.at(","):
                    self.take()
                    values.append(self.string())
                self.expect(")")
                if left[0] != "prop":
                    self.semantic(f"Expected a property for In expression, got: {describe(left)}", position)
                left = ("in", left, frozenset(values), negated)
            else:
                return left

    def compare(self, op: str, left: Node, right: Node, position: int) -> Node:
        for operand in (left, right):
            constant = operand[0] == "const"
            if (constant and not _is_number(operand[1])) or (not constant and operand[0] in _BOOLEAN_KINDS):
                self.semantic(f"Value '{describe(operand)}' cannot be compared.", position)
        return ("cmp", op, left, right)

    def add(self) -> Node:
        first = self.mult()
        rest: list[tuple[str, Node]] = []
        while self.at("+", "-"):
            op = self.take()[0]
            rest.append((op, self.mult()))
        return ("arith", first, rest) if rest else first

    def mult(self) -> Node:
        first = self.unary()
        rest: list[tuple[str, Node]] = []
        while self.at("*", "/", "%"):
            op = self.take()[0]
            rest.append((op, self.unary()))
        return ("arith", first, rest) if rest else first

    def unary(self) -> Node:
        kind, _, position = self.tokens[self.index]
        if kind in ("+", "-", "NOT"):
            self.take()
            self.deeper(position)
            operand_position = self.tokens[self.index][2]
            operand = self.unary()
            self.depth -= 1
            if kind == "+":
                return operand
            if kind == "-":
                return ("neg", operand)
            return ("not", self.as_boolean(operand, operand_position))
        if kind in ("XPATH", "XQUERY"):
            self.take()
            return ("xpath", self.string())
        return self.primary()

    def primary(self) -> Node:
        kind, image, position = self.tokens[self.index]
        if kind == "(":
            self.take()
            self.deeper(position)
            node = self.or_expression()
            self.depth -= 1
            self.expect(")")
            return node
        if kind == "ID":
            self.take()
            return ("prop", image)
        if kind == "QUOTED_ID":
            self.take()
            return ("prop", image[1:-1].replace('""', '"'))
        if kind == "STRING":
            return ("const", self.string())
        self.take()
        if kind == "DECIMAL":
            return ("const", _decimal(image[:-1] if image[-1] in "lL" else image))
        if kind == "HEX":
            return ("const", _narrow(int(image[2:], 16), image))
        if kind == "OCTAL":
            return ("const", _narrow(int(image, 8), image))
        if kind == "FLOAT":
            return ("const", float(image))
        if kind in ("TRUE", "FALSE"):
            return ("const", kind == "TRUE")
        if kind == "NULL":
            return ("const", None)
        self.index -= 1
        self.fail_here()
        raise AssertionError  # unreachable

    def string(self) -> str:
        return self.expect("STRING")[1][1:-1].replace("''", "'")


def _is_number(value: object) -> bool:
    return type(value) in (int, Long, float, Decimal)


def _decimal(text: str) -> object:
    """ConstantExpression.createFromDecimal: an Integer if it fits, else a Long, else a BigDecimal."""
    value = int(text)
    if value > _LONG_MAX:
        return Decimal(text)
    return value if value <= _INT_MAX else Long(value)


def _narrow(value: int, image: str) -> object:
    if value > _LONG_MAX:
        raise SelectorError(f'For input string: "{image}"', image, 0, syntax=False)
    return value if value <= _INT_MAX else Long(value)


def describe(node: Node) -> str:
    """A node as the brokers' toString() writes it, near enough for an error text."""
    kind = node[0]
    if kind == "const":
        value = node[1]
        if value is None:
            return "NULL"
        if type(value) is bool:
            return "TRUE" if value else "FALSE"
        if type(value) is str:
            return "'" + value.replace("'", "''") + "'"
        return str(value)
    if kind == "prop":
        return str(node[1])
    if kind == "cast":
        return describe(node[1])
    if kind == "neg":
        return f"(- {describe(node[1])})"
    if kind == "not":
        return f"(NOT {describe(node[1])})"
    if kind == "arith":
        text = describe(node[1])
        for op, operand in node[2]:
            text = f"({text} {op} {describe(operand)})"
        return text
    if kind in ("and", "or"):
        return "(" + f" {kind.upper()} ".join(describe(term) for term in node[1]) + ")"
    if kind == "eq":
        return f"({describe(node[1])} = {describe(node[2])})"
    if kind == "cmp":
        return f"({describe(node[2])} {node[1]} {describe(node[3])})"
    if kind == "like":
        return f"{describe(node[1])} LIKE '{node[2]}'"
    if kind == "in":
        return f"{describe(node[1])} IN (...)"
    return str(kind).upper()
