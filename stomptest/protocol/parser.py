"""The incremental frame parser: bytes in, `Frame` and `Heartbeat` items out.

Theory of operation. Unconsumed bytes sit in `_buf`, and a partial frame always
starts at `_buf[0]`. Scanning resumes where the last attempt stopped, so a frame
trickling in byte by byte costs linear time. Chunks that cannot complete anything
are parked in a list and joined once, when one can: the rest of a body whose size
is known (`content-length`), a body waiting for its NUL, a header line still
growing. So a large body is copied a constant number of times however small the
chunks, and limits are checked against what has arrived, before anything is
allocated for it. Header lines go through a cache per version, shared by every
parser (most lines repeat from frame to frame, and across connections; see
_header_lines.py), so the common case costs one C-level lookup per line and an idle
parser holds no cache of its own. The cache is bounded in entries and line length
whatever peers send. Only
`_parse` and its helpers raise, always `FrameError`; after one the stream cannot
be resynchronised, so the parser refuses further input.

When the C extension is built, `_parse` first hands the buffer to its `scan`, which
turns complete, well-formed frames into the same `Frame` objects and stops, consuming
nothing, at anything else; this loop then carries on from there, so errors and
partial frames are only ever handled here (see _speedups.c and docs/codec.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stomptest.protocol import spec
from stomptest.protocol._header_lines import ESCAPED, VERBATIM, BadHeader, HeaderCache
from stomptest.protocol._native import speedups
from stomptest.protocol.errors import ConfigurationError, FrameError, FrameErrorKind
from stomptest.protocol.frame import (
    HEARTBEAT,
    Frame,
    Heartbeat,
    _set_body,
    _set_command,
    _set_headers,
    _set_raw_headers,
)

Item = Frame | Heartbeat

_COMMANDS_1_0 = spec.COMMANDS - spec.COMMANDS_SINCE_1_1
_MAX_DIGITS = 18  # a longer content-length is beyond any limit (and int() of huge strings is refused)

_new = object.__new__
_RECEIPT_HEAD = b"RECEIPT\nreceipt-id:"
_RECEIPT_HEAD_LEN = len(_RECEIPT_HEAD)
_WHOLE_RECEIPT_MAX = 512  # longer receipt ids take the usual path, with its limits
_NOT_PLAIN = b"\n\r\\:\x00"
_HUGE = 2**62  # limits are clamped to this for the C fast path


class Parser:
    """Turns a STOMP byte stream into frames, one `feed` at a time.

    `version` may be changed between feeds (after CONNECTED has settled it). The
    limits bound memory whatever a peer sends: `max_frame_bytes` for a whole frame,
    `max_headers` header lines, `max_header_bytes` for one header line.

    In 1.0, header bytes that are not UTF-8 are decoded with Python's
    ``surrogateescape`` handler: each such byte becomes one lone surrogate, and
    `Frame.encode("1.0")` writes the very same byte back. 1.1 and 1.2 require UTF-8.
    """

    __slots__ = (
        "_awaiting_nul",
        "_bodiless",
        "_broken",
        "_buf",
        "_commands",
        "_counted",
        "_fast",
        "_head_scanned",
        "_known",
        "_line_len",
        "_line_start",
        "_lines",
        "_need",
        "_offset",
        "_open_head",
        "_parked",
        "_parked_len",
        "_version",
        "max_frame_bytes",
        "max_header_bytes",
        "max_headers",
    )

    def __init__(
        self,
        version: str = "1.2",
        *,
        max_frame_bytes: int = spec.DEFAULT_MAX_FRAME_BYTES,
        max_headers: int = spec.DEFAULT_MAX_HEADERS,
        max_header_bytes: int = spec.DEFAULT_MAX_HEADER_BYTES,
    ) -> None:
        for name, limit in (
            ("max_frame_bytes", max_frame_bytes),
            ("max_headers", max_headers),
            ("max_header_bytes", max_header_bytes),
        ):
            if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
                raise ConfigurationError(f"{name} must be a positive int, not {limit!r}")
        self.max_frame_bytes = max_frame_bytes
        self.max_headers = max_headers
        self.max_header_bytes = max_header_bytes
        self.version = version
        self._buf = b""
        self._offset = 0  # stream offset of _buf[0]
        self._parked: list[bytes] = []
        self._parked_len = 0
        self._need = 0  # bytes buffered before another parse is worth trying
        self._awaiting_nul = False  # a body without content-length is open
        self._bodiless = False  # ... and the command may not have one: its first byte is an error
        self._open_head = False  # the head of the frame at _buf[0] is incomplete
        self._head_scanned = 0  # how far the open frame was searched for the end of its head
        self._counted = 0  # how far the open head's line feeds were counted
        self._lines = 0  # line feeds in the open head so far
        self._line_start = 0  # where the open head's last line starts (relative to the frame)
        self._line_len = 0  # bytes of that line parked unjoined
        self._broken: FrameError | None = None

    @property
    def version(self) -> str:
        return self._version

    @version.setter
    def version(self, version: str) -> None:
        self._version = spec.check_version(version)
        self._commands = _COMMANDS_1_0 if version == "1.0" else spec.COMMANDS
        self._known = _HEAD_RULES[version]
        self._fast = _FAST_RULES.get(version)

    @property
    def buffered(self) -> int:
        """Bytes received that are not yet part of a complete item."""
        return len(self._buf) + self._parked_len

    def feed(self, data: bytes | bytearray | memoryview) -> list[Item]:
        """Add `data` and return every frame and heart-beat it completes, in order."""
        if self._broken is not None:
            raise FrameError(
                f"the stream is unusable after an earlier error ({self._broken}); "
                "close the connection and parse a new stream with a new Parser",
                kind="broken-stream",
            )
        if type(data) is not bytes:
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(f"Parser.feed takes bytes, not {type(data).__name__}")
            data = bytes(data)  # one copy, and bytes semantics for `in` and find() below
        try:
            if data and self._park(data):
                return []
            return self._parse()
        except FrameError as exc:
            self._broken = exc
            raise

    def whole_receipt(self, data: bytes) -> tuple[str, bool] | None:
        """Read `data` when it is one whole RECEIPT with only a plain `receipt-id` and at most one EOL after it.

        Returns the receipt id and whether that EOL is a heart-beat (1.1+), with `data`
        consumed as `feed` would; None, consuming nothing, for anything else (and when
        bytes are buffered already): then `feed` it. Why: the answer a waiting call
        expects is the frame a test's client reads most, and a comparison reads it in a
        fraction of the scan's cost (a round trip's own work, docs/benchmarks.md).
        """
        if (
            self._buf
            or self._parked
            or self._broken is not None
            or type(data) is not bytes
            or not data.startswith(_RECEIPT_HEAD)
            or len(data) > _WHOLE_RECEIPT_MAX
        ):
            return None
        end = data.find(b"\n\n\x00", _RECEIPT_HEAD_LEN)
        if end <= _RECEIPT_HEAD_LEN:
            return None
        size = end + 3
        if size != len(data) and (size + 1 != len(data) or data[size] != 10):
            return None  # more after the frame than one LF (another frame, a CR, a partial one)
        value = data[_RECEIPT_HEAD_LEN:end]
        if not value.isascii() or len(value.translate(None, _NOT_PLAIN)) != len(value):
            return None  # another header line, an escape, a CR or a ':' (read as each version reads it)
        self._offset += len(data)
        return value.decode("ascii"), size != len(data) and self._version != "1.0"

    def _park(self, data: bytes) -> bool:
        """Buffer `data`; return True when it cannot complete anything yet (kept unjoined)."""
        size = len(self._buf) + self._parked_len + len(data)
        if size < self._need or (self._awaiting_nul and not self._bodiless and b"\x00" not in data):
            if size > self.max_frame_bytes:
                raise self._too_large(0, [])
            self._parked.append(data)
            self._parked_len += len(data)
            return True
        if self._open_head and b"\n" not in data and b"\x00" not in data:
            # the open head's last line grows: nothing can end, only a limit can be passed
            self._line_len += len(data)
            if len(self._buf) - self._line_start + self._line_len > self._line_limit():
                raise self._error(
                    "header-too-large",
                    f"a header line is longer than max_header_bytes={self.max_header_bytes}",
                    self._line_start,
                    [],
                )
            if size > self.max_frame_bytes:
                raise self._too_large(0, [])
            self._parked.append(data)
            self._parked_len += len(data)
            return True
        if self._parked:
            self._buf = b"".join([self._buf, *self._parked, data])
            self._parked.clear()
            self._parked_len = 0
            self._line_len = 0
        elif self._buf:
            self._buf += data
        else:
            self._buf = data
        return False

    def _parse(self) -> list[Item]:
        """Every item that `_buf` completes, leaving a partial frame at the start of `_buf`.

        The loop finds where things end: what lies between frames (heart-beats), the blank
        line that ends a head, the NUL that ends the usual body. It hands each frame to two
        steps along the frame's own seam: `_head` reads the command line and headers into a
        `Frame`, `_body` finds where a body with content-length, or one still arriving,
        stops (-1 while it has not all come). An open head and the usual body stay in the
        loop, which spares a call per feed or frame on the paths every byte takes (measured
        with benchmarks/parser.py before and after the split; see docs/codec.md).
        """
        buf = self._buf
        n = len(buf)
        version = self._version
        crlf = version == "1.2"
        beats = version != "1.0"
        any_cr = crlf and b"\r" in buf  # one scan here spares a search per frame
        max_frame_bytes = self.max_frame_bytes
        fast = self._fast
        # made when C is first called: a feed that only grows an open head (a trickle) never calls it
        c_limits: tuple[int, int, int] | None = None
        out: list[Item] = []
        pos = 0
        while pos < n:
            if fast is not None and not (self._head_scanned or self._open_head):
                # complete, well-formed frames in C; it stops, consuming nothing, where this loop must decide
                if c_limits is None:  # for C, which wants a ssize_t: a limit past any buffer is no limit
                    c_limits = (
                        min(max_frame_bytes, _HUGE),
                        min(self.max_header_bytes, _HUGE),
                        min(self.max_headers + 1, _HUGE),
                    )
                pos = _scan(buf, pos, fast, *c_limits, out)
                if pos >= n:
                    break
            byte = buf[pos]
            if byte == 10:  # LF between frames
                if beats:
                    out.append(HEARTBEAT)
                pos += 1
                continue
            if byte == 13 and crlf:
                if pos + 1 == n:
                    break
                if buf[pos + 1] != 10:
                    raise self._error("bad-eol", "a CR between frames must be followed by LF", pos + 1, out)
                out.append(HEARTBEAT)
                pos += 2
                continue
            # -- the head: command line and headers, ended by an empty line before any NUL
            scan = pos + self._head_scanned
            nul = buf.find(b"\x00", scan)
            bound = n if nul < 0 else nul
            end = buf.find(b"\n\n", scan, bound)
            skip = 2
            if any_cr:
                cr = buf.find(b"\r", scan, bound if end < 0 else end)
                if cr >= 0:
                    crlf_end = buf.find(b"\n\r\n", max(scan, cr - 1), bound if end < 0 else end + 1)
                    if crlf_end >= 0 and (end < 0 or crlf_end < end):
                        end, skip = crlf_end, 3
            if end < 0:
                self._check_open_head(buf, pos, nul, out)
                break
            frame, no_body = self._head(buf, pos, end, any_cr, out)
            start = end + skip
            if nul < 0 or "content-length" in frame._headers:  # type: ignore[operator]  # _head set a dict
                stop = self._body(buf, pos, end, start, frame, no_body, out)
                if stop < 0:
                    break
            else:  # the usual frame: its body ends at the first NUL, which has come
                stop = nul
                if stop + 1 - pos > max_frame_bytes:
                    raise self._too_large(pos, out)
                if no_body and stop > start:
                    raise self._no_body(frame, start, out)
            _set_body(frame, buf[start:stop])
            out.append(frame)
            pos = stop + 1
            if self._head_scanned:  # the frame was the one left open by an earlier feed
                self._head_scanned = self._need = 0
                self._awaiting_nul = False
        if pos:
            self._buf = buf[pos:]
            self._offset += pos
        return out

    def _head(self, buf: bytes, pos: int, end: int, any_cr: bool, out: list[Item]) -> tuple[Frame, bool]:
        """The frame whose head is `buf[pos:end]`, headers set and body not yet, and whether its command may not
        have a body."""
        if self._open_head:
            self._open_head = False
            self._counted = self._lines = self._line_start = 0
        try:
            text = buf[pos:end].decode("utf-8")
        except UnicodeDecodeError as exc:
            if self._version != "1.0":
                raise self._error("bad-utf8", "header bytes are not UTF-8", pos + exc.start, out) from None
            text = buf[pos:end].decode("utf-8", "surrogateescape")
        if any_cr and "\r" in text:  # any_cr: only 1.2 takes CR LF
            lines = [line[:-1] if line[-1:] == "\r" else line for line in text.split("\n")]
        else:
            lines = text.split("\n")
        command = lines[0]
        rules = self._known.get(command)
        if rules is None:
            raise self._command_error(command, pos, out)
        split_line, no_body = rules
        if len(lines) > self.max_headers + 1:
            raise self._error("too-many-headers", f"more than max_headers={self.max_headers} headers", pos, out)
        if end - pos > self.max_header_bytes:
            self._check_line_lengths(buf, pos, lines, out)
        del lines[0]
        try:
            raw = tuple(map(split_line, lines))
        except BadHeader as exc:
            line = exc.args[1]
            at = _line_at(buf, pos, lines.index(line) + 1)
            raise self._error(exc.args[2], f"header line {_clip(line)!r} has {exc.args[0]}", at, out) from None
        first = dict(raw)
        if len(first) != len(raw):
            first = _first_wins(raw)
        frame = _new(Frame)
        _set_command(frame, command)
        _set_raw_headers(frame, raw)
        _set_headers(frame, first)
        return frame, no_body

    def _body(self, buf: bytes, pos: int, end: int, start: int, frame: Frame, no_body: bool, out: list[Item]) -> int:
        """Where the body of `frame` stops, at its NUL; -1 while it has not all come.

        The frame starts at `pos`, its head's blank line at `end`, its body at `start`. For a
        frame with content-length, or one whose NUL has not come; `_parse` itself ends the
        usual frame, whose NUL is there.
        """
        length_text = frame._headers.get("content-length")  # type: ignore[union-attr]  # a dict: _head set it
        if length_text is None:
            n = len(buf)
            if no_body and start < n:
                raise self._no_body(frame, start, out)
            if n - pos > self.max_frame_bytes:
                raise self._too_large(pos, out)
            # a frame that may not have a body fails on its first body byte, parked or not
            self._awaiting_nul = True
            self._bodiless = no_body
            self._head_scanned = end - pos  # the head ends here: do not search it again
            return -1
        if not (length_text.isascii() and length_text.isdigit()):
            raise self._error(
                "bad-content-length", f"content-length:{_clip(length_text)!r} is not a byte count", pos, out
            )
        digits = length_text.lstrip("0")
        length = int(digits or "0") if len(digits) <= _MAX_DIGITS else self.max_frame_bytes + 1
        if length and no_body:
            raise self._error(
                "body-not-allowed",
                f"{frame.command} frames may not carry a body in STOMP {self._version} "
                f"(content-length:{_clip(length_text)})",
                start,
                out,
            )
        stop = start + length
        if stop + 1 - pos > self.max_frame_bytes:
            raise self._error(
                "frame-too-large",
                f"content-length:{_clip(length_text)} makes the frame larger than "
                f"max_frame_bytes={self.max_frame_bytes}",
                pos,
                out,
            )
        if stop >= len(buf):
            self._need = stop + 1 - pos
            self._head_scanned = end - pos  # the head ends here: do not search it again
            return -1
        if buf[stop] != 0:
            error = self._error(
                "missing-nul",
                f"the {length} bytes of content-length:{length_text} are followed by "
                f"{buf[stop : stop + 1]!r}, not the NUL that ends a frame",
                stop,
                out,
            )
            error.frame_offset = self._offset + pos  # a lenient reader (the artemis profile) takes the frame
            raise error
        return stop

    def _check_open_head(self, buf: bytes, pos: int, nul: int, out: list[Item]) -> None:
        """Fail early on a head that can never become valid; else note how far it was read."""
        n = len(buf)
        if nul >= 0:
            self._check_command(buf, pos, nul, out)
            raise self._error("nul-in-headers", "NUL before the blank line that ends the headers", nul, out)
        counted = pos + self._counted
        lines = buf.count(b"\n", counted)
        if lines:
            if not self._lines:
                self._check_command(buf, pos, nul, out)
            self._lines += lines
            self._line_start = buf.rfind(b"\n", counted) + 1 - pos
            if self._lines > self.max_headers + 1:
                raise self._error("too-many-headers", f"more than max_headers={self.max_headers} headers", pos, out)
        self._counted = n - pos
        if n - pos - self._line_start > self._line_limit():
            raise self._error(
                "header-too-large",
                f"a header line is longer than max_header_bytes={self.max_header_bytes}",
                pos + self._line_start,
                out,
            )
        if n - pos > self.max_frame_bytes:
            raise self._too_large(pos, out)
        self._head_scanned = max(0, n - pos - 3)  # an EOL pair (LF CR LF) may straddle chunks
        self._need = 0
        self._open_head = True

    def _line_limit(self) -> int:
        # An open line may end in the CR of a CR LF (1.2), which is not part of the line.
        return self.max_header_bytes + (self._version == "1.2")

    def _check_command(self, buf: bytes, pos: int, nul: int, out: list[Item]) -> None:
        stop = len(buf) if nul < 0 else nul
        first_lf = buf.find(b"\n", pos, stop)
        command = buf[pos : stop if first_lf < 0 else first_lf].decode("utf-8", "replace")
        if self._version == "1.2" and command.endswith("\r"):
            command = command[:-1]
        if command not in self._commands:
            raise self._command_error(command, pos, out)

    def _check_line_lengths(self, buf: bytes, pos: int, lines: list[str], out: list[Item]) -> None:
        for index, line in enumerate(lines):
            if len(line.encode("utf-8", "surrogateescape")) > self.max_header_bytes:
                raise self._error(
                    "header-too-large",
                    f"a header line is longer than max_header_bytes={self.max_header_bytes}",
                    _line_at(buf, pos, index),
                    out,
                )

    def _error(self, kind: FrameErrorKind, message: str, at: int, done: list[Item]) -> FrameError:
        return FrameError(message, kind=kind, offset=self._offset + at, frames=done)

    def _no_body(self, frame: Frame, at: int, done: list[Item]) -> FrameError:
        return self._error(
            "body-not-allowed", f"{frame.command} frames may not carry a body in STOMP {self._version}", at, done
        )

    def _too_large(self, at: int, done: list[Item]) -> FrameError:
        return self._error("frame-too-large", f"frame is larger than max_frame_bytes={self.max_frame_bytes}", at, done)

    def _command_error(self, command: str, at: int, done: list[Item]) -> FrameError:
        hint = ""
        if command.endswith("\r"):
            hint = ": CR LF line endings are only allowed in STOMP 1.2"
        elif command.upper() in self._commands:
            hint = f": commands are case-sensitive, did you mean {command.upper()}?"
        elif command in spec.COMMANDS:
            hint = f": {command} does not exist in STOMP {self._version}"
        return self._error("unknown-command", f"unknown command {_clip(command, 40)!r}{hint}", at, done)


def _clip(text: str, size: int = 60) -> str:
    return text if len(text) <= size else text[:size] + "..."


def _first_wins(raw: tuple[tuple[str, str], ...]) -> dict[str, str]:
    first = dict(raw)
    if len(first) != len(raw):
        first = {}
        for name, value in raw:
            first.setdefault(name, value)
    return first


def _line_at(buf: bytes, pos: int, index: int) -> int:
    """Byte offset of line `index` of the frame starting at `pos` (for error messages)."""
    for _ in range(index):
        pos = buf.index(b"\n", pos) + 1
    return pos


def _rules(version: str) -> dict[str, tuple[HeaderCache, bool]]:
    """Command -> (the cache that splits its header lines, whether it may not have a body), for `version`."""
    escaped = ESCAPED.get(version, VERBATIM)
    commands = _COMMANDS_1_0 if version == "1.0" else spec.COMMANDS
    return {
        command: (
            VERBATIM if command in spec.UNESCAPED_COMMANDS else escaped,
            version != "1.0" and command not in spec.BODY_COMMANDS,
        )
        for command in commands
    }


_RULES: dict[str, dict[str, tuple[HeaderCache, bool]]] = {version: _rules(version) for version in spec.VERSIONS}
# what `_head` looks up per frame: the cache's lookup already bound, which spares making it again for every frame
_HEAD_RULES: dict[str, dict[str, tuple[Callable[[str], tuple[str, str]], bool]]] = {
    version: {command: (cache.__getitem__, no_body) for command, (cache, no_body) in rules.items()}
    for version, rules in _RULES.items()
}


def _no_scan(*args: object) -> int:
    raise AssertionError("the C fast path is not loaded: Parser._fast must be None")


def _load_speedups() -> tuple[Callable[..., int], dict[str, Any]]:
    """The C fast path and its rules per version; no rules when it is not built or STOMPTEST_PURE_PYTHON is set."""
    if speedups is None:
        return _no_scan, {}
    descriptors = vars(Frame)
    slots = (descriptors[name] for name in ("command", "raw_headers", "body", "_headers"))
    speedups.init(Frame, HEARTBEAT, *slots)
    usual_first = ("MESSAGE", "SEND", "ACK", "RECEIPT", "NACK")
    compiled: dict[str, Any] = {}
    for version, rules in _RULES.items():
        entries = tuple(
            (command.encode("ascii"), command, no_body, 0 if cache.version is None else 1 + (version == "1.2"))
            for command, (cache, no_body) in sorted(rules.items(), key=lambda rule: rule[0] not in usual_first)
        )
        compiled[version] = speedups.compile(version != "1.0", version == "1.2", entries)
    return speedups.scan, compiled


_scan, _FAST_RULES = _load_speedups()
SPEEDUPS: bool = bool(_FAST_RULES)
"""Whether new parsers use the C fast path (built at install time when a C compiler is there)."""
