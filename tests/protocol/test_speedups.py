"""The C fast path against the pure-Python parser: the same items, errors and offsets for any bytes.

The fast path only takes complete, well-formed frames and hands everything else back,
so agreement on valid streams, near misses and junk, under every chunking and limit,
is the whole of its contract. The header caches are shared between the two paths, so
each side starts with them empty: a wrong pair cached by one cannot hide in the other.
"""

from __future__ import annotations

import os
from itertools import pairwise

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from stomptest import strategies as stomp
from stomptest.protocol import VERSIONS, Frame, FrameError, Parser, spec
from stomptest.protocol import _header_lines as header_lines
from stomptest.protocol import frame as frame_module
from stomptest.protocol import parser as parser_module
from stomptest.testing.fuzzing import Outcome, parse_outcome
from tests.protocol.test_codec_properties import mutated, small_streams

try:
    from stomptest.protocol import _speedups
except ImportError:
    _speedups = None  # type: ignore[assignment]

versions = pytest.mark.parametrize("version", VERSIONS)
slow = settings(max_examples=max(25, settings.default.max_examples // 4))  # whole streams: see test_codec_properties
built = pytest.mark.skipif(
    not parser_module.SPEEDUPS,
    reason="the C fast path is not built (no C compiler at install time, or STOMPTEST_PURE_PYTHON is set)",
)


def _clear_caches() -> None:
    header_lines.VERBATIM.clear()
    for cache in header_lines.ESCAPED.values():
        cache.clear()
    if _speedups is not None:
        _speedups.clear()


def run(version: str, chunks: list[bytes] | tuple[bytes, ...], *, fast: bool, **limits: int) -> Outcome:
    _clear_caches()
    return parse_outcome(version, chunks, fast=fast, **limits)


def agree(version: str, chunks: list[bytes] | tuple[bytes, ...], **limits: int) -> Outcome:
    python = run(version, chunks, fast=False, **limits)
    c = run(version, chunks, fast=True, **limits)
    assert c == python
    return c


def test_speedups_are_built() -> None:
    """CI sets STOMPTEST_REQUIRE_SPEEDUPS so that a broken build cannot pass as a slow one."""
    if not parser_module.SPEEDUPS:
        if os.environ.get("STOMPTEST_REQUIRE_SPEEDUPS"):
            pytest.fail("stomptest.protocol._speedups did not build or load; see the output of pip install")
        pytest.skip("the C fast path is not built here; the pure-Python parser does all the work")
    assert Parser("1.2")._fast is not None


@built
@versions
def test_frames_taken_by_the_fast_path(version: str) -> None:
    data = (
        b"MESSAGE\ndestination:/queue/a\nmessage-id:ID\\cx:1\nsubscription:0\n\nhello\x00\n"
        b"SEND\ndestination:/topic/b\ncontent-length:5\n\nh\x00llo\x00"
        b"SEND\ndestination:a\ndestination:b\n\n\x00"
    )
    items, error, buffered = agree(version, [data])
    assert error is None and buffered == 0
    frames = [item for item in items if isinstance(item, Frame)]
    assert [frame.command for frame in frames] == ["MESSAGE", "SEND", "SEND"]
    assert frames[0].headers["message-id"] == ("ID\\cx:1" if version == "1.0" else "ID:x:1")
    assert frames[1].body == b"h\x00llo"
    assert frames[2].headers["destination"] == "a" and len(frames[2].raw_headers) == 2


@built
@pytest.mark.parametrize(
    ("version", "data"),
    [
        ("1.2", b"SEND\r\ndestination:a\r\n\r\nx\x00"),  # CR LF head
        ("1.1", b"SEND\ndestination:a\\r\n\nx\x00"),  # \r is 1.2 only
        ("1.2", b"SEND\ndestination:a\\t\n\nx\x00"),  # invalid escape
        ("1.2", b"SEND\ndestination:a\\\n\nx\x00"),  # a lone backslash
        ("1.2", b"SEND\ndestination:\xff\n\nx\x00"),  # not UTF-8
        ("1.0", b"SEND\ndestination:\xff\n\nx\x00"),  # 1.0: surrogateescape, in Python only
        ("1.2", b"SEND\ndestination\n\nx\x00"),  # no colon
        ("1.2", b"SEND\n:a\n\nx\x00"),  # empty name
        ("1.2", b"SUBSCRIBE\nid:1\n\nbody\x00"),  # a body where none is allowed
        ("1.2", b"SEND\ncontent-length:x\n\n\x00"),
        ("1.2", b"SEND\ncontent-length:3\n\nabcd\x00"),
        ("1.2", b"SEND\ncontent-length:0000000000000000000000003\n\nabc\x00"),
        ("1.2", b"SEND\ncontent-length:99999999999999999999\n\nabc\x00"),
        ("1.2", b"send\n\n\x00"),
        ("1.0", b"NACK\n\n\x00"),
        ("1.2", b"SEND\ndestination:a\x00\n\n\x00"),
        ("1.2", b"CONNECT\nlogin:a\\cb\n\n\x00"),  # never unescaped
    ],
)
def test_what_the_fast_path_hands_back_ends_as_in_python(version: str, data: bytes) -> None:
    agree(version, [b"SEND\ndestination:ok\n\n\x00" + data + b"RECEIPT\nreceipt-id:1\n\n\x00"])


@built
@pytest.mark.parametrize(
    "limits",
    [
        {"max_frame_bytes": 30},
        {"max_headers": 1},
        {"max_header_bytes": 10},
        {"max_frame_bytes": 40, "max_headers": 2, "max_header_bytes": 12},
    ],
)
def test_limits_are_judged_alike(limits: dict[str, int]) -> None:
    data = b"SEND\nd:1\n\n\x00SEND\ndestination:/queue/long\nx:y\n\n0123456789012345678901234567890\x00"
    agree("1.2", [data], **limits)
    agree("1.2", [data[i : i + 1] for i in range(len(data))], **limits)


@built
@versions
@slow
@given(data=st.data())
def test_streams_in_any_chunking(version: str, data: st.DataObject) -> None:
    stream = data.draw(small_streams(version))
    items, error, _ = agree(version, stream.chunks)
    assert error is None
    assert [item for item in items if isinstance(item, Frame)] == list(stream.frames)


@built
@versions
@slow
@given(data=st.data())
def test_mutated_streams(version: str, data: st.DataObject) -> None:
    wire = data.draw(mutated(version))
    agree(version, [wire])
    agree(version, data.draw(stomp.chunked(wire)))


@built
@versions
@given(junk=st.binary(max_size=300), cuts=st.lists(st.integers(0, 300), max_size=8))
def test_arbitrary_bytes(version: str, junk: bytes, cuts: list[int]) -> None:
    edges = sorted({0, len(junk), *(cut for cut in cuts if cut < len(junk))})
    agree(version, [junk[a:b] for a, b in pairwise(edges)])


@built
@versions
@given(junk=st.binary(max_size=200), cut=st.integers(0, 200))
def test_arbitrary_bytes_under_small_limits(version: str, junk: bytes, cut: int) -> None:
    agree(version, [junk[:cut], junk[cut:]], max_frame_bytes=40, max_headers=2, max_header_bytes=12)


@built
def test_a_full_cache_is_emptied_not_grown() -> None:
    _clear_caches()
    parser = Parser("1.2")
    cache = header_lines.ESCAPED["1.2"]
    for n in range(3 * header_lines.CACHE_SIZE):
        parser.feed(b"SEND\ndestination:/queue/%d\n\n\x00" % n)
        assert len(cache) <= header_lines.CACHE_SIZE
    parser.feed(b"SEND\ndestination:" + b"x" * (header_lines.CACHED_LINE + 1) + b"\n\n\x00")
    assert all(len(line) <= header_lines.CACHED_LINE for line in cache)


# -- encoding

_ANY_TEXT = st.text(st.characters(blacklist_categories=()), max_size=12)  # surrogates, NUL, CR, LF and all
_HEADER_TEXT = st.one_of(_ANY_TEXT, st.sampled_from(["", ":", "\\", "\n", "\r", "a\rb", "é:ü", "\x00"]))


@st.composite
def any_frames(draw: st.DrawFn) -> Frame:
    command = draw(st.one_of(st.sampled_from(sorted(spec.COMMANDS)), st.text(max_size=8).filter(bool)))
    headers = draw(st.lists(st.tuples(_HEADER_TEXT, _HEADER_TEXT), max_size=5))
    body = draw(st.one_of(st.binary(max_size=20), st.just(b"a\x00b")))
    return Frame(command, headers, body)


def encoded(frame: Frame, version: str, *, fast: bool, content_length: bool) -> bytes | tuple[str, str]:
    saved = frame_module._encode
    if not fast:
        frame_module._encode = None
    try:
        return frame.encode(version, content_length=content_length)
    except FrameError as exc:
        return exc.kind, str(exc)
    finally:
        frame_module._encode = saved


@built
@versions
@given(frame=any_frames(), content_length=st.booleans())
def test_encoding_agrees_for_any_frame(version: str, frame: Frame, content_length: bool) -> None:
    python = encoded(frame, version, fast=False, content_length=content_length)
    assert encoded(frame, version, fast=True, content_length=content_length) == python


@built
@versions
@given(data=st.data())
def test_encode_parts_writes_what_frame_encode_writes(version: str, data: st.DataObject) -> None:
    frame = data.draw(stomp.frames(version, command="MESSAGE", max_headers=5, max_body=64))
    assume(b"\x00" not in frame.body)  # Frame.encode adds content-length then; the broker adds its own
    fast = frame_module.encode_parts("MESSAGE", frame.raw_headers, frame.body, version)
    if fast is not None:  # None: a header for the careful path (a CR in 1.0, say)
        assert fast == encoded(frame, version, fast=False, content_length=False)
        assert Parser(version).feed(fast) == [frame]


@built
@pytest.mark.parametrize(
    ("version", "value", "wire"),
    [
        ("1.2", "a:b\\c\nd\re", b"a\\cb\\\\c\\nd\\re"),
        ("1.1", "a:b\\c\nd\re", b"a\\cb\\\\c\\nd\re"),
        ("1.0", "a:b", b"a:b"),
    ],
)
def test_encode_parts_escapes_per_version(version: str, value: str, wire: bytes) -> None:
    assert frame_module.encode_parts("MESSAGE", [("k", value)], b"x", version) == b"MESSAGE\nk:" + wire + b"\n\nx\x00"


@built
@pytest.mark.parametrize("headers", [[("", "v")], [("k", "a\x00")], [("k", "\udcff")]])
def test_encode_parts_leaves_the_careful_cases_to_frame_encode(headers: list[tuple[str, str]]) -> None:
    assert frame_module.encode_parts("MESSAGE", headers, b"", "1.2") is None
