"""`Frame` and `Heartbeat`, and how a frame becomes wire bytes for a version.

A frame is immutable. `raw_headers` keeps every header in order, repeats included,
because brokers differ in which repeat they honour and tests need to see them all;
`headers` applies the spec's rule that the first occurrence wins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from stomptest.protocol import spec
from stomptest.protocol._native import speedups
from stomptest.protocol.errors import FrameError

HeaderValue = str | int
HeadersArg = Mapping[str, HeaderValue] | Iterable[tuple[str, HeaderValue]]

TEXT_CONTENT_TYPE = "text/plain;charset=utf-8"


class Heartbeat:
    """An EOL received between frames (1.1+): proof that the peer is alive."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Heartbeat()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Heartbeat)

    def __hash__(self) -> int:
        return hash(Heartbeat)


HEARTBEAT = Heartbeat()


class Frame:
    """One STOMP frame: a command, ordered headers and a body of bytes; immutable and hashable.

    `headers` may be a mapping or a sequence of (name, value) pairs; int values are
    written in decimal. A `str` body is encoded as UTF-8 and, unless the headers name
    one, gets `content-type:text/plain;charset=utf-8`. Nothing is checked against a
    STOMP version here: `encode` does that, so a test can build a bad frame on purpose.
    """

    __slots__ = ("_headers", "body", "command", "raw_headers")

    command: str
    raw_headers: tuple[tuple[str, str], ...]
    body: bytes
    _headers: Mapping[str, str] | None

    def __init__(
        self, command: str, headers: HeadersArg = (), body: bytes | bytearray | memoryview | str = b""
    ) -> None:
        if not isinstance(command, str) or not command:
            raise TypeError(f"a frame's command is a non-empty str, not {command!r}")
        kind = type(headers)
        if kind is dict:  # exact types first: an isinstance against the Mapping ABC costs more than the rest
            items: Iterable[Any] = headers.items()  # type: ignore[union-attr]
        elif kind is list or kind is tuple:
            items = headers
        else:
            items = headers.items() if isinstance(headers, Mapping) else headers
        raw: list[tuple[str, str]] = []
        for item in items:
            try:
                name, value = item
            except (TypeError, ValueError):
                raise TypeError(f"a header is a (name, value) pair, not {item!r}") from None
            if type(name) is not str and not isinstance(name, str):
                raise TypeError(f"header names are str, not {name!r}")
            if type(value) is not str:
                if isinstance(value, int) and not isinstance(value, bool):
                    value = str(value)
                elif not isinstance(value, str):
                    raise TypeError(f"header {name!r}: values are str or int, not {value!r}")
            raw.append((name, value))
        if type(body) is bytes:
            pass
        elif isinstance(body, str):
            if not any(name == "content-type" for name, _ in raw):
                raw.append(("content-type", TEXT_CONTENT_TYPE))
            body = body.encode("utf-8")
        elif isinstance(body, (bytearray, memoryview)):
            body = bytes(body)
        elif not isinstance(body, bytes):
            raise TypeError(f"a frame's body is bytes or str, not {type(body).__name__}")
        _set_command(self, command)
        _set_raw_headers(self, tuple(raw))
        _set_body(self, body)
        _set_headers(self, None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot set {name}: a Frame is immutable, build a new one instead")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a Frame is immutable ({name})")

    @property
    def headers(self) -> Mapping[str, str]:
        """Read-only view of the headers where the first occurrence of a name wins."""
        headers = self._headers
        if headers is None:
            raw = self.raw_headers
            first = dict(raw)
            if len(first) != len(raw):  # a repeated name: dict() kept the last value, the spec wants the first
                first = {}
                for name, value in raw:
                    first.setdefault(name, value)
            headers = MappingProxyType(first)
            _set_headers(self, headers)
        elif type(headers) is dict:  # the parser's own dict, wrapped on first use
            headers = MappingProxyType(headers)
            _set_headers(self, headers)
        return headers

    def encode(self, version: str = "1.2", *, content_length: bool = False) -> bytes:
        """The wire bytes of this frame in `version`.

        `content-length` is written when the body holds a NUL or `content_length` is
        true; a `content-length` header given by the caller must match the body.
        Headers that the version cannot represent raise `FrameError`.
        """
        version = spec.check_version(version)
        command = self.command
        if command not in spec.COMMANDS:
            known = ", ".join(sorted(spec.COMMANDS))
            raise FrameError(f"cannot encode unknown command {command!r}: use one of {known}", kind="unknown-command")
        if version == "1.0" and command in spec.COMMANDS_SINCE_1_1:
            raise FrameError(
                f"{command} does not exist in STOMP 1.0: negotiate 1.1 or later to use it", kind="unknown-command"
            )
        body = self.body
        raw = self.raw_headers
        if body and version != "1.0" and command not in spec.BODY_COMMANDS:
            raise FrameError(f"{command} frames may not have a body in STOMP {version}", kind="body-not-allowed")
        given = None
        for name, value in raw:  # the first one, as in `headers`, without building that mapping for every send
            if name == "content-length":
                given = value
                break
        if given is not None:
            if not (given.isascii() and given.isdigit() and len(given) < 20 and int(given) == len(body)):
                raise FrameError(
                    f"content-length:{given} does not match the body's {len(body)} bytes: "
                    "leave the header out and stomptest writes the right one",
                    kind="bad-content-length",
                )
        elif content_length or b"\x00" in body:
            raw = (*raw, ("content-length", str(len(body))))
        escaped = version != "1.0" and command not in spec.UNESCAPED_COMMANDS
        if _encode is not None:
            data = _encode(command, raw, body, (1 + (version == "1.2")) if escaped else 0)
            if data is not None:
                return data
        lines = [command]
        if escaped:
            table = spec.ESCAPES[version]
            for name, value in raw:
                if not name:
                    raise FrameError("a header name may not be empty", kind="unencodable-header")
                if "\x00" in name or "\x00" in value:
                    raise FrameError(f"header {name!r}: NUL cannot appear in a header", kind="unencodable-header")
                lines.append(f"{name.translate(table)}:{value.translate(table)}")
        else:
            for name, value in raw:
                _check_unescaped(command, version, name, value)
                lines.append(f"{name}:{value}")
        lines.append("")
        errors = "surrogateescape" if version == "1.0" else "strict"
        try:
            head = ("\n".join(lines) + "\n").encode("utf-8", errors)
        except UnicodeEncodeError as exc:
            raise FrameError(
                f"header text cannot be encoded as UTF-8: {exc.reason}", kind="unencodable-header"
            ) from None
        return head + body + b"\x00"

    def __reduce__(self) -> tuple[type[Frame], tuple[str, tuple[tuple[str, str], ...], bytes]]:
        """copy, deepcopy and pickle rebuild the frame from its parts (an immutable value, like a tuple)."""
        return Frame, (self.command, self.raw_headers, self.body)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Frame):
            return NotImplemented
        return self.command == other.command and self.raw_headers == other.raw_headers and self.body == other.body

    def __hash__(self) -> int:
        return hash((self.command, self.raw_headers, self.body))

    def __repr__(self) -> str:
        body = self.body if len(self.body) <= 80 else self.body[:80] + b"..."
        return f"Frame({self.command!r}, headers={list(self.raw_headers)!r}, body={body!r})"

    def __str__(self) -> str:
        lines = [self.command, *(f"{name}:{value}" for name, value in self.raw_headers), ""]
        try:
            body = self.body.decode("utf-8")
        except UnicodeDecodeError:
            body = repr(self.body)
        return "\n".join(lines) + "\n" + body


def encode_parts(command: str, headers: Sequence[tuple[str, str]], body: bytes, version: str) -> bytes | None:
    """A frame's wire bytes straight from its parts, skipping `Frame` and its checks: for hot paths.

    `command` must be one that is escaped in `version` (not CONNECT, STOMP or CONNECTED).
    None when the C extension is not loaded or a header needs the careful path: then
    build a `Frame` and call `encode`, which writes it or says what is wrong.
    """
    if _encode is None:
        return None
    return _encode(command, headers, body, 0 if version == "1.0" else 1 + (version == "1.2"))


_encode: Callable[[str, Sequence[tuple[str, str]], bytes, int], bytes | None] | None = (
    speedups.encode if speedups is not None else None
)

# Slot setters: the parser and the constructor write through these, everyone else gets AttributeError.
_set_command: Callable[[Frame, str], None] = vars(Frame)["command"].__set__
_set_raw_headers: Callable[[Frame, tuple[tuple[str, str], ...]], None] = vars(Frame)["raw_headers"].__set__
_set_body: Callable[[Frame, bytes], None] = vars(Frame)["body"].__set__
_set_headers: Callable[[Frame, Mapping[str, str] | None], None] = vars(Frame)["_headers"].__set__


def checked_frame(command: str, raw_headers: tuple[tuple[str, str], ...], body: bytes) -> Frame:
    """A frame from parts a builder has checked already (str names and values, a bytes body): no checks again.

    For `commands.send`, once per SEND: the constructor's checks are a third of its cost.
    """
    frame: Frame = object.__new__(Frame)
    _set_command(frame, command)
    _set_raw_headers(frame, raw_headers)
    _set_body(frame, body)
    _set_headers(frame, None)
    return frame


def _check_unescaped(command: str, version: str, name: str, value: str) -> None:
    """Refuse what a frame without escaping cannot carry (1.0, and CONNECT/CONNECTED)."""
    where = f"{command} in STOMP {version}" if version != "1.0" else "STOMP 1.0"
    if not name:
        raise FrameError("a header name may not be empty", kind="unencodable-header")
    if "\n" in name or ":" in name:
        raise FrameError(
            f"header name {name!r} has a LF or ':', which {where} cannot carry (no escaping)", kind="unencodable-header"
        )
    if "\n" in value:
        raise FrameError(
            f"header {name!r}: a LF in the value cannot be carried by {where} (no escaping)", kind="unencodable-header"
        )
    if version == "1.2" and (name.endswith("\r") or value.endswith("\r")):
        raise FrameError(
            f"header {name!r}: a trailing CR would be read as part of CRLF in {where}", kind="unencodable-header"
        )
    if "\x00" in name or "\x00" in value:
        raise FrameError(f"header {name!r}: NUL cannot appear in a header", kind="unencodable-header")
