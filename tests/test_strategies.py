"""stomptest.strategies: what it promises its users (valid frames per version, honest streams)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import find, given, settings
from hypothesis import strategies as st

from stomptest import strategies as stomp
from stomptest.protocol import HEARTBEAT, VERSIONS, Frame, Heartbeat, spec

versions = pytest.mark.parametrize("version", VERSIONS)
# These check the generators' promises, not the codec (tests/protocol/test_codec_properties.py
# does that): a tenth of the profile's examples is plenty and keeps the suite in its budget.
tenth = settings(max_examples=max(20, settings.default.max_examples // 10))


@versions
@tenth
@given(data=st.data())
def test_frames_are_valid_for_their_version(version: str, data: st.DataObject) -> None:
    frame = data.draw(stomp.frames(version))
    frame.encode(version)  # raises FrameError if the version cannot carry it
    assert frame.command in spec.COMMANDS
    if version == "1.0":
        assert frame.command not in spec.COMMANDS_SINCE_1_1
    elif frame.body:
        assert frame.command in spec.BODY_COMMANDS
    names = [name for name, _ in frame.raw_headers]
    required = spec.REQUIRED_HEADERS[version][frame.command]
    assert names[: len(required)] == list(required)
    assert "content-length" not in names


@versions
@tenth
@given(data=st.data())
def test_frames_of_chosen_commands_and_sides(version: str, data: st.DataObject) -> None:
    small = {"max_headers": 1, "max_body": 8}
    assert data.draw(stomp.frames(version, "SEND", **small)).command == "SEND"
    assert data.draw(stomp.frames(version, ["ACK", "BEGIN"], **small)).command in {"ACK", "BEGIN"}
    assert data.draw(stomp.frames(version, side="server", **small)).command in spec.SERVER_COMMANDS
    assert data.draw(stomp.frames(version, side="client", **small)).command in spec.CLIENT_COMMANDS


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match=r"not STOMP 1\.0 commands: \['NACK'\]"):
        stomp.frames("1.0", "NACK")
    with pytest.raises(ValueError, match=r"not STOMP 1\.2 commands"):
        stomp.frames("1.2", "send")
    with pytest.raises(ValueError, match="side is 'client', 'server' or None"):
        stomp.commands("1.2", "broker")
    with pytest.raises(ValueError, match="unknown STOMP version"):
        stomp.header_names("2.0")


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
@tenth
@given(data=st.data())
def test_verbatim_headers_have_no_lf_and_names_no_colon(version: str, data: st.DataObject) -> None:
    name = data.draw(stomp.header_names(version, "CONNECT"))
    value = data.draw(stomp.header_values(version, "CONNECT"))
    assert name and "\n" not in name and ":" not in name and "\x00" not in name
    assert "\n" not in value and "\x00" not in value
    if version == "1.2":
        assert not name.endswith("\r") and not value.endswith("\r")


@tenth
@given(names=st.lists(stomp.header_names("1.2"), min_size=20, max_size=20))
def test_escaping_versions_draw_names_that_need_escapes(names: list[str]) -> None:
    assert all(names) and "content-length" not in names


@pytest.mark.parametrize("char", ["\n", ":", "\\", "\r"])
def test_escaping_versions_draw_the_characters_escaping_is_about(char: str) -> None:
    search = settings(max_examples=5000, database=None)
    assert char in find(stomp.header_values("1.2"), lambda value: char in value, settings=search)
    assert char in find(stomp.header_names("1.2"), lambda name: char in name, settings=search)


@tenth
@given(data=st.data())
def test_headers_can_repeat_a_name(data: st.DataObject) -> None:
    pairs = data.draw(stomp.headers("1.2"))
    assert all(isinstance(name, str) and isinstance(value, str) for name, value in pairs)


def test_headers_do_repeat_names_sometimes() -> None:
    repeats: list[bool] = []

    @tenth
    @given(stomp.headers("1.2"))
    def collect(pairs: list[tuple[str, str]]) -> None:
        names = [name for name, _ in pairs]
        repeats.append(len(set(names)) < len(names))

    collect()
    assert any(repeats) and not all(repeats)


@tenth
@given(body=stomp.bodies(max_size=50))
def test_bodies(body: bytes) -> None:
    assert isinstance(body, bytes) and len(body) <= 200  # 50 characters, up to 4 UTF-8 bytes each


@versions
@tenth
@given(beat=st.data())
def test_heartbeats(version: str, beat: st.DataObject) -> None:
    assert beat.draw(stomp.heartbeats(version)) in ([b"\n", b"\r\n"] if version == "1.2" else [b"\n"])


@tenth
@given(data=st.binary(max_size=100), more=st.data())
def test_chunked_pieces_join_to_the_data(data: bytes, more: st.DataObject) -> None:
    chunks = more.draw(stomp.chunked(data, max_chunks=5))
    assert b"".join(chunks) == data
    assert all(chunks) and len(chunks) <= 5


@versions
@tenth
@given(data=st.data())
def test_streams_describe_their_bytes(version: str, data: st.DataObject) -> None:
    stream = data.draw(stomp.streams(version, max_frames=3))
    assert stream.version == version
    assert stream.data == b"".join(stream.chunks)
    frames = [item for item in stream.items if isinstance(item, Frame)]
    assert list(stream.frames) == frames
    assert stream.data.count(b"\x00") >= len(frames)
    if version == "1.0":
        assert all(isinstance(item, Frame) for item in stream.items)
    beats = [item for item in stream.items if isinstance(item, Heartbeat)]
    assert beats == [HEARTBEAT] * len(beats)


def test_wire_frame_adds_content_length_only_when_needed() -> None:
    assert stomp.wire_frame(Frame("SEND", body=b"ab")) == (b"SEND\n\nab\x00", Frame("SEND", body=b"ab"))
    data, expected = stomp.wire_frame(Frame("SEND", body=b"a\x00"))
    assert data == b"SEND\ncontent-length:2\n\na\x00\x00"
    assert expected == Frame("SEND", [("content-length", "2")], b"a\x00")
    _, expected = stomp.wire_frame(Frame("SEND", body=b"ab"), content_length=True)
    assert expected.raw_headers == (("content-length", "2"),)


def test_importing_stomptest_does_not_import_the_strategies_or_hypothesis() -> None:
    code = (
        "import sys, stomptest, stomptest.protocol; "
        "print(sorted(m for m in sys.modules if m in {'hypothesis', 'stomptest.strategies'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
