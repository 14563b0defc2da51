"""Properties of the codec, for each STOMP version, under the hypothesis profile from the root conftest.py.

The expected items come from the generators (stomptest.strategies), never from the
parser itself, so a parser bug cannot hide behind its own output.
"""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from stomptest import strategies as stomp
from stomptest.protocol import HEARTBEAT, VERSIONS, Frame, FrameError, Heartbeat, Parser, spec
from stomptest.protocol._header_lines import _unescaper

versions = pytest.mark.parametrize("version", VERSIONS)
# Drawing a whole stream costs hypothesis ~10 ms: these properties run a quarter of the
# profile's examples (500 under `ci`) to keep the suite within its time budget.
slow = settings(max_examples=max(25, settings.default.max_examples // 4))
Item = Frame | Heartbeat


def feed_all(parser: Parser, chunks: tuple[bytes, ...] | list[bytes]) -> list[Item]:
    items: list[Item] = []
    for chunk in chunks:
        items += parser.feed(chunk)
    return items


def outcome(version: str, chunks: list[bytes] | tuple[bytes, ...], **limits: int) -> tuple[list[Item], bool]:
    """Every item parsed (those on the error included) and whether the stream was refused.

    Anything but FrameError escaping is the failure these tests look for.
    """
    parser = Parser(version, **limits)
    items: list[Item] = []
    try:
        for chunk in chunks:
            items += parser.feed(chunk)
    except FrameError as exc:
        items += exc.frames
        with pytest.raises(FrameError, match="unusable after an earlier error"):
            parser.feed(b"SEND\n\n\x00")
        return items, True
    return items, False


@versions
@given(data=st.data())
def test_encode_then_parse_is_the_identity(version: str, data: st.DataObject) -> None:
    frame = data.draw(stomp.frames(version, max_headers=3, max_body=64))
    wire, expected = stomp.wire_frame(frame, version, content_length=data.draw(st.booleans()))
    assert Parser(version).feed(wire) == [expected]
    # the only normalisation: a content-length header appended last
    assert expected.raw_headers[: len(frame.raw_headers)] == frame.raw_headers
    assert expected.body == frame.body and expected.command == frame.command
    assert expected.headers == {**dict(reversed(frame.raw_headers)), **expected.headers}


def small_streams(version: str) -> st.SearchStrategy[stomp.Stream]:
    """Streams small enough for thousands of examples: the bugs live in the framing, not in the sizes."""
    return stomp.streams(version, stomp.frames(version, max_headers=3, max_body=64), max_frames=3)


@versions
@slow
@given(data=st.data())
def test_a_stream_parses_to_its_items_whatever_the_chunking(version: str, data: st.DataObject) -> None:
    stream = data.draw(small_streams(version))
    parser = Parser(version)
    assert feed_all(parser, stream.chunks) == list(stream.items)
    assert parser.buffered == 0
    assert Parser(version).feed(stream.data) == list(stream.items)
    one_byte_at_a_time = [stream.data[i : i + 1] for i in range(len(stream.data))]
    assert feed_all(Parser(version), one_byte_at_a_time) == list(stream.items)


@versions
@slow
@given(data=st.data())
def test_items_before_an_error_are_kept(version: str, data: st.DataObject) -> None:
    stream = data.draw(small_streams(version))
    with pytest.raises(FrameError) as caught:
        Parser(version).feed(stream.data + b"BOGUS\n\n\x00")
    assert caught.value.frames == list(stream.items)
    assert caught.value.offset == len(stream.data)


@versions
@given(junk=st.binary(max_size=300), cuts=st.lists(st.integers(0, 300), max_size=8))
def test_arbitrary_bytes_raise_nothing_but_frame_error(version: str, junk: bytes, cuts: list[int]) -> None:
    edges = sorted({0, len(junk), *(cut for cut in cuts if cut < len(junk))})
    chunks = [junk[a:b] for a, b in pairwise(edges)]
    assert outcome(version, chunks) == outcome(version, [junk])


@versions
@given(junk=st.binary(max_size=200), cut=st.integers(0, 200))
def test_arbitrary_bytes_under_small_limits(version: str, junk: bytes, cut: int) -> None:
    limits = {"max_frame_bytes": 40, "max_headers": 2, "max_header_bytes": 12}
    chunked = outcome(version, [junk[:cut], junk[cut:]], **limits)
    whole = outcome(version, [junk], **limits)
    assert chunked == whole


_PIECES = [
    b"\x00",
    b"\n",
    b"\r",
    b":",
    b"\\",
    b"\xff",
    b"SEND\n",
    b"SUBSCRIBE\n",
    b"CONNECT\n",
    b"content-length:",
    b"\r\n",
]


@st.composite
def mutated(draw: st.DrawFn, version: str) -> bytes:
    """A valid stream with a few bytes inserted, deleted or replaced: the near misses a fuzzer finds."""
    data = bytearray(draw(small_streams(version)).data)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = draw(st.one_of(st.sampled_from(_PIECES), st.binary(min_size=1, max_size=4)))
        if action == "insert":
            data[at:at] = piece
        elif action == "delete":
            del data[at : at + len(piece)]
        else:
            data[at : at + len(piece)] = piece
    return bytes(data)


@versions
@slow
@given(data=st.data())
def test_mutated_streams_raise_nothing_but_frame_error(version: str, data: st.DataObject) -> None:
    wire = data.draw(mutated(version))
    chunks = data.draw(stomp.chunked(wire))
    assert outcome(version, chunks) == outcome(version, [wire])


@pytest.mark.parametrize("version", ["1.1", "1.2"])
@given(data=st.data())
def test_unescaping_inverts_escaping(version: str, data: st.DataObject) -> None:
    text = data.draw(st.text())
    unescape = _unescaper(spec.UNESCAPES[version])
    escaped = text.translate(spec.ESCAPES[version])
    assert unescape(escaped) == text
    assert ":" not in escaped and "\n" not in escaped


@pytest.mark.parametrize("version", ["1.1", "1.2"])
@given(data=st.data())
def test_escaping_inverts_unescaping_of_escaped_text(version: str, data: st.DataObject) -> None:
    table = spec.UNESCAPES[version]
    plain = st.characters(codec="utf-8", exclude_characters="\\:\n" + ("\r" if version == "1.2" else ""))
    pieces = st.lists(st.one_of(st.text(plain, min_size=1), st.sampled_from(["\\" + code for code in table])))
    escaped = "".join(data.draw(pieces))
    assert _unescaper(table)(escaped).translate(spec.ESCAPES[version]) == escaped


@pytest.mark.parametrize("version", ["1.1", "1.2"])
@given(text=st.text(), bad=st.characters(codec="utf-8"))
def test_any_other_escape_is_refused(version: str, text: str, bad: str) -> None:
    assume(bad not in spec.UNESCAPES[version])
    escaped = text.translate(spec.ESCAPES[version]) + "\\" + bad
    wire = f"SEND\nx:{escaped}\n\n\x00".encode()
    assume(b"\x00" not in wire[:-1] and b"\n\n" not in wire[:-3])
    with pytest.raises(FrameError, match="invalid escape"):
        Parser(version).feed(wire)


@given(value=st.binary(max_size=40).filter(lambda raw: b"\n" not in raw and b"\x00" not in raw))
def test_1_0_header_bytes_survive_a_round_trip(value: bytes) -> None:
    wire = b"SEND\nx:" + value + b"\n\n\x00"
    (frame,) = Parser("1.0").feed(wire)
    assert frame.encode("1.0") == wire


@versions
@given(stream=st.data())
def test_heartbeats_only_between_frames(version: str, stream: st.DataObject) -> None:
    beats = stream.draw(st.lists(stomp.heartbeats(version), max_size=6))
    items = Parser(version).feed(b"".join(beats))
    assert items == ([HEARTBEAT] * len(beats) if version != "1.0" else [])
