"""Header lines of a frame's head: split at the first ':', checked, unescaped per version, and cached.

One cache per escaping (`VERBATIM`, and `ESCAPED` per version) serves every parser: the
parser's `_head` maps each line of a head through the cache of the frame's command.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from stomptest.protocol import spec

CACHE_SIZE = 1024  # lines per cache (shared by all parsers), emptied when full; 4096 measured 3% slower
CACHED_LINE = 256  # longer lines are not remembered: a cache stays within ~2.5 MB whatever peers send


class _BadEscape(Exception):
    """An escape the version does not define (args: the escape)."""


class BadHeader(Exception):
    """(problem, line, kind): a bad header line, which the parser reports as a FrameError with its offset."""


class HeaderCache(dict[str, tuple[str, str]]):
    """Header line -> (name, value), checked and unescaped: a line seen before costs one lookup, in C.

    The pair is a pure function of the line and the escaping, so one cache per escaping serves
    every parser (threads included: the worst a race does is forget lines). At most
    `CACHE_SIZE` lines of at most `CACHED_LINE` characters are kept; a full cache is cleared,
    so a peer sending ever new lines costs speed, never memory. Bad lines are never stored.
    """

    def __init__(self, version: str | None) -> None:
        """`version` None: never unescape (1.0, and CONNECT, STOMP and CONNECTED in 1.1+)."""
        super().__init__()
        self.version = version
        self.table = spec.UNESCAPES[version] if version is not None else {}
        self.cr = "r" in self.table
        self.slow = _unescaper(self.table)  # escaped backslashes, and the exact error

    def __missing__(self, line: str) -> tuple[str, str]:
        name, colon, value = line.partition(":")
        if not colon:
            raise BadHeader("no ':' between name and value", line, "bad-header-line")
        if not name:
            raise BadHeader("an empty name", line, "bad-header-line")
        if "\\" in line and self.table:
            name, value = self._unescape(line, name, value)
        pair = (name, value)
        if len(line) <= CACHED_LINE:
            if len(self) >= CACHE_SIZE:
                self.clear()
            self[line] = pair
        return pair

    def _unescape(self, line: str, name: str, value: str) -> tuple[str, str]:
        if "\\\\" not in line:
            # every backslash must start one of the simple escapes: replace them, then check
            if "\\" in name:
                name = name.replace("\\n", "\n").replace("\\c", ":")
                if self.cr:
                    name = name.replace("\\r", "\r")
            if "\\" in value:
                value = value.replace("\\n", "\n").replace("\\c", ":")
                if self.cr:
                    value = value.replace("\\r", "\r")
            if "\\" not in name and "\\" not in value:
                return name, value
        unescape = self.slow
        try:
            return unescape(line.partition(":")[0]), unescape(line.partition(":")[2])
        except _BadEscape as exc:
            allowed = ", ".join(sorted("\\" + code for code in self.table))
            problem = f"the invalid escape {exc.args[0]!r} (STOMP {self.version} allows only {allowed})"
            raise BadHeader(problem, line, "bad-escape") from None


_ESCAPE = re.compile(r"\\(.?)", re.S)


def _unescaper(table: dict[str, str]) -> Callable[[str], str]:
    """A function that decodes the escapes of one version and rejects any other."""
    simple = [("\\" + code, decoded) for code, decoded in table.items() if code != "\\"]

    def decode(match: re.Match[str]) -> str:
        decoded = table.get(match.group(1))
        if decoded is None:
            raise _BadEscape(match.group(0))
        return decoded

    def unescape(text: str) -> str:
        if "\\" not in text:
            return text
        if "\\\\" not in text:
            # fast path: with no escaped backslash, every backslash must start a simple escape
            for escape, decoded in simple:
                text = text.replace(escape, decoded)
            if "\\" not in text:
                return text
            index = text.index("\\")
            raise _BadEscape(text[index : index + 2])
        return _ESCAPE.sub(decode, text)

    return unescape


VERBATIM = HeaderCache(None)  # 1.0, and CONNECT, STOMP and CONNECTED in 1.1+
ESCAPED: dict[str, HeaderCache] = {version: HeaderCache(version) for version in spec.VERSIONS if version != "1.0"}
