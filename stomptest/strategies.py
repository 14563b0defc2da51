"""Hypothesis strategies for STOMP: header names and values, bodies, frames and chunked byte streams.

Use them to fuzz your own STOMP code. Every frame they generate is valid for the
version asked for: it encodes without error, only SEND, MESSAGE and ERROR carry a
body in 1.1 and 1.2, and each frame has the headers the spec requires of its command.

    from hypothesis import given
    from stomptest import strategies as stomp

    @given(stomp.streams("1.2"))
    def test_my_reader(stream):
        assert my_reader(stream.chunks) == list(stream.items)

Importing this module imports hypothesis; `import stomptest` does not import it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise

from hypothesis import strategies as st

from stomptest.protocol import spec
from stomptest.protocol.frame import HEARTBEAT, Frame, Heartbeat

__all__ = [
    "Stream",
    "bodies",
    "chunked",
    "commands",
    "frames",
    "header_names",
    "header_values",
    "headers",
    "heartbeats",
    "streams",
    "wire_frame",
]

Item = Frame | Heartbeat

# Printable ASCII that needs no escaping anywhere: the common case, drawn often so frames look real.
_PLAIN = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters=":\\")
# Any character UTF-8 can encode (no lone surrogates), NUL aside: NUL cannot be in a header. The
# characters escaping is about are drawn on purpose, as a uniform draw would hardly ever hit them.
_ANY = st.one_of(st.sampled_from(":\\\n\r"), st.characters(codec="utf-8", exclude_characters="\x00"))
# What a header without escaping (1.0, and CONNECT, STOMP and CONNECTED in 1.1+) can carry.
_VERBATIM_VALUE = st.one_of(st.sampled_from(":\\\r"), st.characters(codec="utf-8", exclude_characters="\x00\n"))
_VERBATIM_NAME = st.one_of(st.sampled_from("\\\r"), st.characters(codec="utf-8", exclude_characters="\x00\n:"))
_RESERVED_NAMES = frozenset({"content-length"})  # the codec owns it: see frames(content_length=...)


def _check(version: str) -> str:
    return spec.check_version(version)


def _verbatim(version: str, command: str | None) -> bool:
    """True when headers of `command` are written without escaping in `version`."""
    return version == "1.0" or command in spec.UNESCAPED_COMMANDS


def _no_trailing_cr(version: str, verbatim: bool) -> bool:
    # An unescaped 1.2 line ending in CR would read as a CR LF line ending.
    return verbatim and version == "1.2"


def header_names(version: str = "1.2", command: str | None = None, *, max_size: int = 20) -> st.SearchStrategy[str]:
    """Header names `version` can carry in a `command` frame (any command that escapes when None).

    1.1 and 1.2 escape LF, ':' and '\\' (1.2 also CR), so names may hold them; 1.0 and
    CONNECT/STOMP/CONNECTED frames cannot escape, so their names have no LF or ':'.
    `content-length` is never drawn: the codec writes it (see `frames`).
    """
    version = _check(version)
    return _names(version, _verbatim(version, command), max_size)


@cache
def _names(version: str, verbatim: bool, max_size: int) -> st.SearchStrategy[str]:
    alphabet = _VERBATIM_NAME if verbatim else _ANY
    names = st.one_of(
        st.text(_PLAIN, min_size=1, max_size=max_size),
        st.text(alphabet, min_size=1, max_size=max_size),
    )
    if _no_trailing_cr(version, verbatim):
        return names.filter(lambda name: name not in _RESERVED_NAMES and not name.endswith("\r"))
    return names.filter(lambda name: name not in _RESERVED_NAMES)


def header_values(version: str = "1.2", command: str | None = None, *, max_size: int = 40) -> st.SearchStrategy[str]:
    """Header values `version` can carry in a `command` frame (any command that escapes when None).

    Values may hold a raw ':' in every version. Only escaping frames may hold LF; NUL never.
    """
    version = _check(version)
    return _values(version, _verbatim(version, command), max_size)


@cache
def _values(version: str, verbatim: bool, max_size: int) -> st.SearchStrategy[str]:
    alphabet = _VERBATIM_VALUE if verbatim else _ANY
    values = st.one_of(st.text(_PLAIN, max_size=max_size), st.text(alphabet, max_size=max_size))
    if _no_trailing_cr(version, verbatim):
        return values.filter(lambda value: not value.endswith("\r"))
    return values


@st.composite
def _headers(draw: st.DrawFn, version: str, command: str | None, max_size: int) -> list[tuple[str, str]]:
    values = header_values(version, command)
    pairs = draw(st.lists(st.tuples(header_names(version, command), values), max_size=max_size))
    repeat: bool = draw(st.booleans())
    if pairs and repeat:  # repeat a name with another value: the first one must win
        name = draw(st.sampled_from([name for name, _ in pairs]))
        pairs.insert(draw(st.integers(0, len(pairs))), (name, draw(values)))
    return pairs


def headers(
    version: str = "1.2", command: str | None = None, *, max_size: int = 6
) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Lists of (name, value) pairs for a `command` frame; a name may repeat (the first one counts)."""
    return _headers(_check(version), command, max_size)


def bodies(*, max_size: int = 256) -> st.SearchStrategy[bytes]:
    """Frame bodies: empty, text, or binary with NUL bytes (which needs content-length on the wire)."""
    return st.one_of(
        st.just(b""),
        st.text(max_size=max_size).map(lambda text: text.encode("utf-8")),
        st.binary(max_size=max_size),
    )


def commands(version: str = "1.2", side: str | None = None) -> st.SearchStrategy[str]:
    """Commands of `version`: `side` "client" (sent to a broker), "server" (sent by one), or None for both."""
    version = _check(version)
    if side not in (None, "client", "server"):
        raise ValueError(f"side is 'client', 'server' or None, not {side!r}")
    pool = {None: spec.COMMANDS, "client": spec.CLIENT_COMMANDS, "server": spec.SERVER_COMMANDS}[side]
    if version == "1.0":
        pool = pool - spec.COMMANDS_SINCE_1_1
    return st.sampled_from(sorted(pool))


def _required_value(version: str, command: str, name: str) -> st.SearchStrategy[str]:
    if name == "accept-version":
        return st.lists(st.sampled_from(spec.VERSIONS[1:]), min_size=1, max_size=2, unique=True).map(",".join)
    if name == "version":
        return st.just(version)
    if name == "host":
        return st.sampled_from(["/", "localhost"])
    return header_values(version, command)


@st.composite
def _frame(
    draw: st.DrawFn, version: str, command_strategy: st.SearchStrategy[str], max_headers: int, max_body: int
) -> Frame:
    command = draw(command_strategy)
    pairs = [(name, draw(_required_value(version, command, name))) for name in spec.REQUIRED_HEADERS[version][command]]
    pairs += draw(headers(version, command, max_size=max_headers))
    body = b""
    if version == "1.0" or command in spec.BODY_COMMANDS:
        body = draw(bodies(max_size=max_body))
    return Frame(command, pairs, body)


def frames(
    version: str = "1.2",
    command: str | Iterable[str] | None = None,
    *,
    side: str | None = None,
    max_headers: int = 6,
    max_body: int = 256,
) -> st.SearchStrategy[Frame]:
    """Valid frames of `version`: `command` fixes one or several commands, `side` picks client or server ones.

    Each frame has the headers its command requires in `version` (first), then random
    ones, repeats included. Only SEND, MESSAGE and ERROR get a body in 1.1 and 1.2. No
    frame has a `content-length` header: `Frame.encode` adds it when the body holds a
    NUL, and a parser then reports it as the last header (see `wire_frame`).
    """
    version = _check(version)
    if command is None:
        command_strategy = commands(version, side)
    else:
        chosen = [command] if isinstance(command, str) else sorted(set(command))
        known = spec.COMMANDS - (spec.COMMANDS_SINCE_1_1 if version == "1.0" else frozenset())
        unknown = [name for name in chosen if name not in known]
        if unknown or not chosen:
            raise ValueError(f"not STOMP {version} commands: {unknown or chosen!r}")
        command_strategy = st.sampled_from(chosen)
    return _frame(version, command_strategy, max_headers, max_body)


def heartbeats(version: str = "1.2") -> st.SearchStrategy[bytes]:
    """The bytes of one heart-beat (an EOL between frames): LF, or in 1.2 also CR LF."""
    version = _check(version)
    return st.sampled_from([b"\n", b"\r\n"] if version == "1.2" else [b"\n"])


def wire_frame(frame: Frame, version: str = "1.2", *, content_length: bool = False) -> tuple[bytes, Frame]:
    """`frame.encode(version, content_length=...)` and the frame a parser must return for those bytes.

    The two differ only by the `content-length` header the encoder appends when the body
    holds a NUL, or when asked to, and the frame had none.
    """
    data = frame.encode(version, content_length=content_length)
    if "content-length" not in frame.headers and (content_length or b"\x00" in frame.body):
        frame = Frame(frame.command, (*frame.raw_headers, ("content-length", str(len(frame.body)))), frame.body)
    return data, frame


@dataclass(frozen=True)
class Stream:
    """A STOMP byte stream cut into `chunks`, and the `items` a correct parser yields for it, in order.

    `items` holds no heart-beats in 1.0, where EOLs between frames are not reported.
    """

    version: str
    items: tuple[Item, ...]
    chunks: tuple[bytes, ...]

    @property
    def data(self) -> bytes:
        """All chunks joined: the whole stream."""
        return b"".join(self.chunks)

    @property
    def frames(self) -> tuple[Frame, ...]:
        """The frames among `items`."""
        return tuple(item for item in self.items if isinstance(item, Frame))


def chunked(data: bytes, *, max_chunks: int = 16) -> st.SearchStrategy[tuple[bytes, ...]]:
    """`data` cut at random places into at most `max_chunks` non-empty pieces (one piece when empty)."""
    if len(data) < 2:
        return st.just((data,) if data else ())
    cuts = st.lists(st.integers(1, len(data) - 1), max_size=max_chunks - 1, unique=True)
    return cuts.map(lambda points: _cut(data, sorted(points)))


def _cut(data: bytes, points: Sequence[int]) -> tuple[bytes, ...]:
    edges = [0, *points, len(data)]
    return tuple(data[start:stop] for start, stop in pairwise(edges))


@st.composite
def _stream(
    draw: st.DrawFn,
    version: str,
    frame_strategy: st.SearchStrategy[Frame],
    max_frames: int,
    max_heartbeats: int,
    max_chunks: int,
) -> Stream:
    pieces: list[bytes] = []
    items: list[Item] = []
    beats = heartbeats(version)
    for _ in range(draw(st.integers(0, max_frames))):
        for _ in range(draw(st.integers(0, max_heartbeats))):
            pieces.append(draw(beats))
            if version != "1.0":
                items.append(HEARTBEAT)
        data, expected = wire_frame(draw(frame_strategy), version, content_length=draw(st.booleans()))
        pieces.append(data)
        items.append(expected)
    for _ in range(draw(st.integers(0, max_heartbeats))):
        pieces.append(draw(beats))
        if version != "1.0":
            items.append(HEARTBEAT)
    chunks = draw(chunked(b"".join(pieces), max_chunks=max_chunks))
    return Stream(version, tuple(items), chunks)


def streams(
    version: str = "1.2",
    of: st.SearchStrategy[Frame] | None = None,
    *,
    max_frames: int = 5,
    max_heartbeats: int = 2,
    max_chunks: int = 16,
) -> st.SearchStrategy[Stream]:
    """Byte streams of frames and heart-beats of `version`, cut into random chunks, with the expected items.

    `of` draws the frames (default: `frames(version)`); some are encoded with
    `content-length` even when not needed. Heart-beats go before, between and after
    frames (CR LF ones too in 1.2).
    """
    version = _check(version)
    return _stream(version, of if of is not None else frames(version), max_frames, max_heartbeats, max_chunks)
