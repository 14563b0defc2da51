"""The parser, rule by rule, on concrete bytes: what it yields, and what it refuses (message and offset)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stomptest.protocol import HEARTBEAT, ConfigurationError, Frame, FrameError, Heartbeat, Parser
from stomptest.protocol import _header_lines as header_lines
from stomptest.protocol import parser as parser_module
from stomptest.protocol.errors import FRAME_ERROR_KINDS
from stomptest.protocol.spec import CLIENT_COMMANDS, COMMANDS_SINCE_1_1, SERVER_COMMANDS

Item = Frame | Heartbeat


@pytest.fixture(autouse=True, params=["c", "python"])
def parser_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every rule below holds with the C fast path and without it (as installed without a compiler)."""
    if request.param == "python":
        monkeypatch.setattr(parser_module, "_FAST_RULES", {})
    elif not parser_module.SPEEDUPS:
        pytest.skip("the C fast path is not built (no C compiler at install time, or STOMPTEST_PURE_PYTHON is set)")
    return str(request.param)


def parse(data: bytes, version: str = "1.2", **limits: int) -> list[Item]:
    return Parser(version, **limits).feed(data)


def bytewise(data: bytes, version: str = "1.2", **limits: int) -> list[Item]:
    parser = Parser(version, **limits)
    items: list[Item] = []
    for i in range(len(data)):
        items += parser.feed(data[i : i + 1])
    return items


def refused(data: bytes, version: str = "1.2", **limits: int) -> FrameError:
    with pytest.raises(FrameError) as caught:
        Parser(version, **limits).feed(data)
    return caught.value


def refused_bytewise(data: bytes, version: str = "1.2", **limits: int) -> tuple[FrameError, int]:
    """The error when `data` arrives one byte at a time, and how many bytes had been fed."""
    parser = Parser(version, **limits)
    for i in range(len(data)):
        try:
            parser.feed(data[i : i + 1])
        except FrameError as exc:
            return exc, i + 1
    raise AssertionError("no FrameError")


# -- frames and heart-beats


def test_a_frame() -> None:
    assert parse(b"SEND\ndestination:/queue/a\n\nhello\x00") == [Frame("SEND", [("destination", "/queue/a")], b"hello")]


def test_a_frame_in_any_chunking() -> None:
    data = b"SEND\ndestination:/queue/a\n\nhello\x00MESSAGE\nmessage-id:1\n\n\x00"
    expected = parse(data)
    assert len(expected) == 2
    assert bytewise(data) == expected
    parser = Parser()
    assert parser.feed(data[:10]) == []
    assert parser.buffered == 10
    assert parser.feed(data[10:]) == expected
    assert parser.buffered == 0


def test_frames_without_headers_or_body() -> None:
    assert parse(b"DISCONNECT\n\n\x00") == [Frame("DISCONNECT")]


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_eols_between_frames_are_heartbeats(version: str) -> None:
    assert parse(b"\nSEND\n\n\x00\n\n", version) == [HEARTBEAT, Frame("SEND"), HEARTBEAT, HEARTBEAT]


def test_1_0_reports_no_heartbeats() -> None:
    assert parse(b"\nSEND\n\n\x00\n\n", "1.0") == [Frame("SEND")]


def test_1_2_crlf_heartbeats() -> None:
    assert parse(b"\r\n\r\nSEND\n\n\x00\r\n") == [HEARTBEAT, HEARTBEAT, Frame("SEND"), HEARTBEAT]
    assert bytewise(b"\r\n\r\n") == [HEARTBEAT, HEARTBEAT]


def test_1_2_a_cr_between_frames_waits_for_its_lf() -> None:
    parser = Parser("1.2")
    assert parser.feed(b"\r") == []
    assert parser.buffered == 1
    assert parser.feed(b"\n") == [HEARTBEAT]


def test_1_2_a_cr_between_frames_without_lf() -> None:
    error = refused(b"SEND\n\n\x00\rX")
    assert str(error) == "a CR between frames must be followed by LF (at byte 8)"
    assert error.offset == 8
    assert error.frames == [Frame("SEND")]


def test_1_1_has_no_crlf_heartbeats() -> None:
    error = refused(b"\r\n", "1.1")
    assert str(error) == "unknown command '\\r': CR LF line endings are only allowed in STOMP 1.2 (at byte 0)"


# -- CR LF line endings (1.2 only)


def test_1_2_crlf_frame() -> None:
    frame = Frame("SEND", [("destination", "/queue/a"), ("x", "1")], b"body\r\n")
    assert parse(b"SEND\r\ndestination:/queue/a\r\nx:1\r\n\r\nbody\r\n\x00") == [frame]


def test_1_2_mixed_line_endings() -> None:
    assert parse(b"SEND\r\na:1\nb:2\r\n\n\x00") == [Frame("SEND", [("a", "1"), ("b", "2")])]
    assert parse(b"SEND\na:1\n\r\n\x00") == [Frame("SEND", [("a", "1")])]


def test_1_2_only_one_cr_is_part_of_the_line_ending() -> None:
    assert parse(b"SEND\na:b\r\r\n\r\n\x00") == [Frame("SEND", [("a", "b\r")])]


def test_1_2_crlf_frame_byte_by_byte() -> None:
    data = b"\r\nSEND\r\na:1\r\n\r\nxy\x00\r\n"
    assert bytewise(data) == parse(data) == [HEARTBEAT, Frame("SEND", [("a", "1")], b"xy"), HEARTBEAT]


def test_1_1_crlf_command_is_refused_with_a_hint() -> None:
    error = refused(b"SEND\r\n\r\n\x00", "1.1")
    assert str(error) == "unknown command 'SEND\\r': CR LF line endings are only allowed in STOMP 1.2 (at byte 0)"


def test_1_1_cr_is_part_of_a_value() -> None:
    assert parse(b"SEND\na:b\r\n\n\x00", "1.1") == [Frame("SEND", [("a", "b\r")])]


# -- headers


def test_raw_colon_in_a_value() -> None:
    (frame,) = parse(b"MESSAGE\nmessage-id:ID:host-1:2:3\n\n\x00")
    assert frame.raw_headers == (("message-id", "ID:host-1:2:3"),)


def test_repeated_headers_keep_all_first_wins() -> None:
    (frame,) = parse(b"MESSAGE\nfoo:1\nbar:2\nfoo:3\n\n\x00")
    assert frame.raw_headers == (("foo", "1"), ("bar", "2"), ("foo", "3"))
    assert frame.headers == {"foo": "1", "bar": "2"}
    assert list(frame.headers) == ["foo", "bar"]


def test_empty_value() -> None:
    assert parse(b"SEND\na:\n\n\x00")[0].raw_headers == (("a", ""),)


def test_header_line_without_colon() -> None:
    error = refused(b"SEND\na:1\nabc\n\n\x00")
    assert str(error) == "header line 'abc' has no ':' between name and value (at byte 9)"
    assert error.offset == 9


def test_header_line_with_empty_name() -> None:
    error = refused(b"SEND\n:x\n\n\x00")
    assert str(error) == "header line ':x' has an empty name (at byte 5)"


def test_nul_inside_the_headers() -> None:
    error = refused(b"SEND\nx:y\x00")
    assert str(error) == "NUL before the blank line that ends the headers (at byte 8)"


def test_header_bytes_must_be_utf8_in_1_1_and_1_2() -> None:
    for version in ("1.1", "1.2"):
        error = refused(b"SEND\nx:ab\xff\n\n\x00", version)
        assert str(error) == "header bytes are not UTF-8 (at byte 9)"


def test_1_0_decodes_header_bytes_leniently_and_reversibly() -> None:
    wire = b"SEND\nx:caf\xc3\xa9 \xff\xfe\n\n\x00"
    (frame,) = parse(wire, "1.0")
    assert frame.raw_headers == (("x", "caf\u00e9 \udcff\udcfe"),)
    assert frame.encode("1.0") == wire


# -- escapes


def test_1_1_escapes() -> None:
    (frame,) = parse(b"SEND\na\\cb:1\\n2\\c3\\\\4\n\n\x00", "1.1")
    assert frame.raw_headers == (("a:b", "1\n2:3\\4"),)


def test_1_2_adds_the_cr_escape() -> None:
    assert parse(b"SEND\nx:a\\rb\n\n\x00")[0].raw_headers == (("x", "a\rb"),)


def test_1_1_refuses_the_cr_escape() -> None:
    error = refused(b"SEND\nx:a\\rb\n\n\x00", "1.1")
    assert str(error) == (
        "header line 'x:a\\\\rb' has the invalid escape '\\\\r' (STOMP 1.1 allows only \\\\, \\c, \\n) (at byte 5)"
    )


@pytest.mark.parametrize("line", [b"x:a\\tb", b"x:ab\\", b"x\\q:1", b"x:\\\\\\t"])
def test_any_other_escape_is_refused(line: bytes) -> None:
    error = refused(b"SEND\n" + line + b"\n\n\x00")
    assert "has the invalid escape" in str(error)
    assert error.offset == 5


def test_1_0_has_no_escapes() -> None:
    assert parse(b"SEND\nx:a\\cb\\t\n\n\x00", "1.0")[0].raw_headers == (("x", "a\\cb\\t"),)


@pytest.mark.parametrize("command", ["CONNECT", "STOMP", "CONNECTED"])
@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_connect_and_connected_are_never_unescaped(command: str, version: str) -> None:
    (frame,) = parse(command.encode() + b"\nlogin:a\\cb\\t\n\n\x00", version)
    assert frame.raw_headers == (("login", "a\\cb\\t"),)


def test_a_header_line_means_the_same_after_a_connected_frame() -> None:
    # the same bytes are verbatim in CONNECTED and unescaped in MESSAGE, in one parser
    items = parse(b"CONNECTED\nx:a\\cb\n\n\x00MESSAGE\nx:a\\cb\n\n\x00CONNECTED\nx:a\\cb\n\n\x00")
    assert [frame.raw_headers for frame in items if isinstance(frame, Frame)] == [
        (("x", "a\\cb"),),
        (("x", "a:b"),),
        (("x", "a\\cb"),),
    ]


# -- bodies


def test_content_length_slices_the_body_nul_included() -> None:
    (frame,) = parse(b"SEND\ncontent-length:5\n\na\x00b\x00c\x00")
    assert frame.body == b"a\x00b\x00c"


def test_content_length_body_in_pieces() -> None:
    body = bytes(range(256)) * 40
    data = b"MESSAGE\ncontent-length:10240\n\n" + body + b"\x00\n"
    parser = Parser()
    items: list[Item] = []
    for i in range(0, len(data), 1000):
        items += parser.feed(data[i : i + 1000])
    assert items == [Frame("MESSAGE", [("content-length", "10240")], body), HEARTBEAT]


def test_content_length_must_be_followed_by_nul() -> None:
    error = refused(b"SEND\ncontent-length:3\n\nabcd\x00")
    assert str(error) == (
        "the 3 bytes of content-length:3 are followed by b'd', not the NUL that ends a frame (at byte 26)"
    )
    assert error.offset == 26


@pytest.mark.parametrize("value", ["x", "-1", "+3", " 3", "3 ", "", "\u0663"])
def test_content_length_must_be_a_byte_count(value: str) -> None:
    error = refused(f"SEND\ncontent-length:{value}\n\n\x00".encode())
    assert str(error) == f"content-length:{value!r} is not a byte count (at byte 0)"


def test_content_length_with_leading_zeros() -> None:
    assert parse(b"SEND\ncontent-length:003\n\nabc\x00")[0].body == b"abc"


def test_content_length_with_thousands_of_digits_is_a_frame_error() -> None:
    error = refused(b"SEND\ncontent-length:" + b"9" * 5000 + b"\n\n")
    assert "makes the frame larger than max_frame_bytes" in str(error)


def test_without_content_length_the_body_ends_at_the_first_nul() -> None:
    assert parse(b"SEND\n\nab\x00cd") == [Frame("SEND", (), b"ab")]


def test_the_first_content_length_counts() -> None:
    assert parse(b"SEND\ncontent-length:1\ncontent-length:5\n\na\x00")[0].body == b"a"


@pytest.mark.parametrize("command", sorted((CLIENT_COMMANDS | SERVER_COMMANDS) - {"SEND", "MESSAGE", "ERROR"}))
def test_only_send_message_and_error_carry_a_body(command: str) -> None:
    data = command.encode() + b"\n\nx\x00"
    error = refused(data)
    assert str(error) == f"{command} frames may not carry a body in STOMP 1.2 (at byte {len(command) + 2})"
    if command not in COMMANDS_SINCE_1_1:
        assert parse(data, "1.0") == [Frame(command, (), b"x")]


def test_a_bodiless_command_fails_on_its_first_body_byte() -> None:
    error, fed = refused_bytewise(b"SUBSCRIBE\nid:1\n\nthe rest never comes")
    assert fed == 17
    assert error.offset == 16


def test_a_bodiless_command_with_content_length_fails_at_once() -> None:
    parser = Parser()
    with pytest.raises(FrameError, match=r"UNSUBSCRIBE frames may not carry a body in STOMP 1.2 \(content-length:4\)"):
        parser.feed(b"UNSUBSCRIBE\ncontent-length:4\n\n")
    assert parse(b"UNSUBSCRIBE\ncontent-length:0\n\n\x00") == [Frame("UNSUBSCRIBE", [("content-length", "0")])]


# -- commands


@pytest.mark.parametrize("command", sorted(CLIENT_COMMANDS | SERVER_COMMANDS))
def test_every_command_is_known(command: str) -> None:
    assert parse(command.encode() + b"\n\n\x00") == [Frame(command)]


def test_commands_are_case_sensitive() -> None:
    error = refused(b"send\n\n\x00")
    assert str(error) == "unknown command 'send': commands are case-sensitive, did you mean SEND? (at byte 0)"


def test_unknown_command() -> None:
    error = refused(b"SEND\n\n\x00FOO\n\n\x00")
    assert str(error) == "unknown command 'FOO' (at byte 7)"
    assert error.frames == [Frame("SEND")]


@pytest.mark.parametrize("command", sorted(COMMANDS_SINCE_1_1))
def test_1_0_has_no_stomp_or_nack(command: str) -> None:
    error = refused(command.encode() + b"\n\n\x00", "1.0")
    assert str(error) == f"unknown command '{command}': {command} does not exist in STOMP 1.0 (at byte 0)"


def test_unknown_command_is_reported_before_the_frame_ends() -> None:
    error, fed = refused_bytewise(b"HELLO\nthe rest never comes")
    assert fed == 6
    assert str(error) == "unknown command 'HELLO' (at byte 0)"


# -- errors keep what came before, and stop the stream


def test_frames_before_the_bad_bytes_are_on_the_error() -> None:
    parser = Parser()
    assert parser.feed(b"SEND\n\na\x00") == [Frame("SEND", (), b"a")]
    with pytest.raises(FrameError) as caught:
        parser.feed(b"\nSEND\n\nb\x00\nbad\n\n\x00")
    assert caught.value.frames == [HEARTBEAT, Frame("SEND", (), b"b"), HEARTBEAT]
    assert caught.value.offset == 8 + 10  # stream offset, not chunk offset
    with pytest.raises(FrameError, match="unusable after an earlier error"):
        parser.feed(b"SEND\n\n\x00")


# -- limits, enforced as bytes arrive


def test_an_endless_header_line_fails_at_max_header_bytes() -> None:
    parser = Parser(max_header_bytes=100)
    parser.feed(b"SEND\nx:")
    fed = 0
    with pytest.raises(FrameError) as caught:
        for _ in range(1000):
            parser.feed(b"a" * 10)
            fed += 10
    assert str(caught.value) == "a header line is longer than max_header_bytes=100 (at byte 5)"
    assert 2 + fed <= 100 + 1 < 2 + fed + 10  # failed with the chunk that passed the limit
    assert parser.buffered < 200


def test_an_endless_header_line_fed_at_once() -> None:
    error = refused(b"SEND\nx:" + b"a" * 200, max_header_bytes=100)
    assert str(error) == "a header line is longer than max_header_bytes=100 (at byte 5)"


def test_a_complete_head_with_a_long_line() -> None:
    error = refused(b"SEND\na:1\nx:" + b"a" * 99 + b"\n\n\x00", max_header_bytes=100)
    assert str(error) == "a header line is longer than max_header_bytes=100 (at byte 9)"
    assert parse(b"SEND\na:1\nx:" + b"a" * 98 + b"\n\n\x00", max_header_bytes=100)[0].headers["x"] == "a" * 98


def test_1_2_crlf_does_not_count_in_the_line_length() -> None:
    line = b"x:" + b"a" * 98
    assert bytewise(b"SEND\r\n" + line + b"\r\n\r\n\x00", max_header_bytes=100)[0].headers["x"] == "a" * 98


def test_max_headers() -> None:
    assert len(parse(b"SEND\na:1\nb:2\n\n\x00", max_headers=2)[0].raw_headers) == 2
    error = refused(b"SEND\na:1\nb:2\nc:3\n\n\x00", max_headers=2)
    assert str(error) == "more than max_headers=2 headers (at byte 0)"
    error, fed = refused_bytewise(b"SEND\na:1\nb:2\nc:3\nd:4\n", max_headers=2)
    assert str(error) == "more than max_headers=2 headers (at byte 0)"
    assert fed == len(b"SEND\na:1\nb:2\nc:3\n")


def test_content_length_beyond_max_frame_bytes_fails_before_the_body() -> None:
    parser = Parser()
    with pytest.raises(FrameError) as caught:
        parser.feed(b"SEND\ncontent-length:10000000000\n\n")
    assert str(caught.value) == (
        "content-length:10000000000 makes the frame larger than max_frame_bytes=104857600 (at byte 0)"
    )


def test_a_body_without_content_length_fails_at_max_frame_bytes() -> None:
    parser = Parser(max_frame_bytes=1000)
    parser.feed(b"SEND\n\n")
    with pytest.raises(FrameError, match=r"frame is larger than max_frame_bytes=1000 \(at byte 0\)"):
        for _ in range(100):
            parser.feed(b"x" * 100)
    assert parser.buffered <= 1000


def test_a_frame_exactly_at_max_frame_bytes() -> None:
    frame = b"SEND\n\n" + b"x" * 13 + b"\x00"
    assert len(frame) == 20
    assert parse(frame, max_frame_bytes=20) == bytewise(frame, max_frame_bytes=20) == [Frame("SEND", (), b"x" * 13)]
    assert str(refused(frame, max_frame_bytes=19)) == "frame is larger than max_frame_bytes=19 (at byte 0)"


# -- configuration and misuse


@pytest.mark.parametrize("limit", ["max_frame_bytes", "max_headers", "max_header_bytes"])
@pytest.mark.parametrize("value", [0, -1, 1.5, True, "10"])
def test_limits_must_be_positive_ints(limit: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(f"{limit} must be a positive int, not {value!r}")):
        Parser(**{limit: value})  # type: ignore[arg-type]


def test_unknown_version() -> None:
    with pytest.raises(ConfigurationError, match=re.escape("unknown STOMP version '1.3': use one of 1.0, 1.1, 1.2")):
        Parser("1.3")


def test_version_changes_between_feeds() -> None:
    parser = Parser("1.0")
    assert parser.feed(b"CONNECTED\nversion:1.2\n\n\x00\n") == [Frame("CONNECTED", [("version", "1.2")])]
    parser.version = "1.2"
    assert parser.version == "1.2"
    assert parser.feed(b"\r\nMESSAGE\nx:a\\cb\n\n\x00") == [HEARTBEAT, Frame("MESSAGE", [("x", "a:b")])]


def test_feed_takes_bytes_like_objects() -> None:
    parser = Parser()
    assert parser.feed(bytearray(b"SEND\n\n")) == []
    assert parser.feed(memoryview(b"\x00")) == [Frame("SEND")]
    with pytest.raises(TypeError, match=r"Parser\.feed takes bytes, not str"):
        parser.feed("SEND\n\n\x00")  # type: ignore[arg-type]


def test_empty_feed() -> None:
    assert Parser().feed(b"") == []


def test_header_lines_are_read_by_the_current_version() -> None:
    # header lines are cached per version: a change of version must not reuse 1.2's reading
    parser = Parser("1.2")
    assert parser.feed(b"SEND\nx:a\\rb\n\n\x00") == [Frame("SEND", [("x", "a\rb")])]
    parser.version = "1.1"
    with pytest.raises(FrameError, match="invalid escape"):
        parser.feed(b"SEND\nx:a\\rb\n\n\x00")
    parser = Parser("1.2")
    parser.feed(b"SEND\nx:a\\cb\n\n\x00")
    parser.version = "1.0"
    assert parser.feed(b"SEND\nx:a\\cb\n\n\x00") == [Frame("SEND", [("x", "a\\cb")])]


# -- error kinds: what code reacts to, whatever the message says


@pytest.mark.parametrize(
    ("data", "version", "limits", "kind", "offset"),
    [
        (b"\rX", "1.2", {}, "bad-eol", 1),
        (b"SEND\nx:\xff\n\n\x00", "1.2", {}, "bad-utf8", 7),
        (b"FOO\n\n\x00", "1.2", {}, "unknown-command", 0),
        (b"SEND\r\n\r\n\x00", "1.1", {}, "unknown-command", 0),
        (b"NACK\nid:1\n\n\x00", "1.0", {}, "unknown-command", 0),
        (b"SEND\na:1\nb:2\n\n\x00", "1.2", {"max_headers": 1}, "too-many-headers", 0),
        (b"SEND\nx:12345\n\n\x00", "1.2", {"max_header_bytes": 6}, "header-too-large", 5),
        (b"SEND\nxy\n\n\x00", "1.2", {}, "bad-header-line", 5),
        (b"SEND\n:v\n\n\x00", "1.2", {}, "bad-header-line", 5),
        (b"SEND\nx:a\\tb\n\n\x00", "1.2", {}, "bad-escape", 5),
        (b"SEND\nx:a\\rb\n\n\x00", "1.1", {}, "bad-escape", 5),
        (b"SEND\ncontent-length:x\n\n\x00", "1.2", {}, "bad-content-length", 0),
        (b"SEND\ncontent-length:-1\n\n\x00", "1.2", {}, "bad-content-length", 0),
        (b"SUBSCRIBE\nid:1\n\nx\x00", "1.2", {}, "body-not-allowed", 16),
        (b"SUBSCRIBE\ncontent-length:1\n\nx\x00", "1.1", {}, "body-not-allowed", 28),
        (b"SEND\n\n" + b"x" * 20 + b"\x00", "1.2", {"max_frame_bytes": 20}, "frame-too-large", 0),
        (b"SEND\ncontent-length:99\n\n", "1.2", {"max_frame_bytes": 50}, "frame-too-large", 0),
        (b"SEND\ncontent-length:1\n\nxy\x00", "1.2", {}, "missing-nul", 24),
        (b"SEND\nx:1\x00", "1.2", {}, "nul-in-headers", 8),
    ],
)
def test_each_error_has_its_kind(data: bytes, version: str, limits: dict[str, int], kind: str, offset: int) -> None:
    for error in (refused(data, version, **limits), refused_bytewise(data, version, **limits)[0]):
        assert (error.kind, error.offset) == (kind, offset), str(error)


def test_kind_of_an_oversized_frame_in_chunks() -> None:
    # the limit is enforced whatever the chunking: a body awaiting its NUL, an open head, a content-length
    for data in (b"SEND\n\n" + b"x" * 100, b"SEND\nx:" + b"y" * 100, b"SEND\ncontent-length:10\n\n" + b"z" * 100):
        parser = Parser(max_frame_bytes=30, max_header_bytes=1000)
        with pytest.raises(FrameError) as caught:
            for i in range(0, len(data), 7):
                parser.feed(data[i : i + 7])
        assert caught.value.kind == "frame-too-large", str(caught.value)


def test_kind_after_an_error() -> None:
    parser = Parser()
    with pytest.raises(FrameError):
        parser.feed(b"FOO\n\n\x00")
    with pytest.raises(FrameError) as caught:
        parser.feed(b"SEND\n\n\x00")
    assert caught.value.kind == "broken-stream"


@given(st.binary(max_size=64), st.sampled_from(["1.0", "1.1", "1.2"]))
def test_every_parse_error_has_a_codec_kind(data: bytes, version: str) -> None:
    parser = Parser(version, max_frame_bytes=48, max_headers=3, max_header_bytes=16)
    try:
        parser.feed(b"SEND\n" + data)
        parser.feed(b"\n\n\x00")
    except FrameError as exc:
        assert exc.kind in FRAME_ERROR_KINDS
        assert exc.kind != "other"


# -- the shared header-line cache


def test_parsers_share_one_bounded_cache_per_escaping() -> None:
    a, b = Parser("1.2"), Parser("1.2")
    a.feed(b"SEND\nshared-line:1\n\n\x00")
    escaped = header_lines.ESCAPED["1.2"]
    assert escaped["shared-line:1"] == ("shared-line", "1")
    assert b.feed(b"SEND\nshared-line:1\n\n\x00") == [Frame("SEND", [("shared-line", "1")])]
    assert not hasattr(a, "__dict__")  # slots: an idle parser holds only its own state
    long_line = "x:" + "y" * header_lines.CACHED_LINE
    a.feed(b"SEND\n" + long_line.encode() + b"\n\n\x00")
    assert long_line not in escaped
    for i in range(header_lines.CACHE_SIZE + 10):
        a.feed(b"SEND\nn:%d\n\n\x00" % i)
        assert len(escaped) <= header_lines.CACHE_SIZE
    assert "n:0" not in escaped  # cleared when full: the oldest lines went with it


def test_bad_lines_are_not_cached() -> None:
    with pytest.raises(FrameError):
        Parser("1.2").feed(b"SEND\nx:a\\tb\n\n\x00")
    assert "x:a\\tb" not in header_lines.ESCAPED["1.2"]
    assert "x:a\\tb" not in header_lines.VERBATIM


def test_limits_of_any_size_are_accepted() -> None:
    huge = 10**30  # past what C's ssize_t holds: the C fast path must still take the frame
    parser = Parser(max_frame_bytes=huge, max_headers=huge, max_header_bytes=huge)
    assert parser.feed(b"SEND\ndestination:a\n\nx\x00") == [Frame("SEND", [("destination", "a")], b"x")]


# --- whole_receipt: a waiting call's answer read by comparison, exactly as feed() reads it ---------------------

_RECEIPT_ID_CHARS = st.sampled_from([*"abc-_9.é:\\\r\n\x00 ", "\\c", "\\n"])


@given(
    version=st.sampled_from(["1.0", "1.1", "1.2"]),
    receipt_id=st.one_of(st.text("abc-_9.", max_size=12), st.lists(_RECEIPT_ID_CHARS, max_size=12).map("".join)),
    tail=st.sampled_from([b"", b"\n", b"\n\n", b"\r\n", b"\x00", b"MESSAGE", b"RECEIPT\nreceipt-id:x\n\n\x00"]),
    extra_header=st.sampled_from([b"", b"\nx:y", b"\r"]),
    body=st.sampled_from([b"", b"b"]),
)
def test_whole_receipt_reads_what_feed_reads(
    version: str, receipt_id: str, tail: bytes, extra_header: bytes, body: bytes
) -> None:
    data = b"RECEIPT\nreceipt-id:" + receipt_id.encode() + extra_header + b"\n\n" + body + b"\x00" + tail
    fast = Parser(version)
    whole = fast.whole_receipt(data)
    if whole is None:
        return  # declined: feed() reads it, as it always did
    assert Parser(version).feed(data) == [Frame("RECEIPT", {"receipt-id": whole[0]})] + [HEARTBEAT] * whole[1]
    assert fast.buffered == 0
    later = b"RECEIPT\nreceipt-id:next\n\n\x00"  # the stream goes on where feed() would have left it
    assert fast.feed(later) == [Frame("RECEIPT", {"receipt-id": "next"})]


def test_whole_receipt_takes_the_plain_answers_brokers_send() -> None:
    for version, data, expected in (
        ("1.2", b"RECEIPT\nreceipt-id:receipt-7\n\n\x00", ("receipt-7", False)),
        ("1.2", b"RECEIPT\nreceipt-id:receipt-7\n\n\x00\n", ("receipt-7", True)),  # ActiveMQ, RabbitMQ: EOL after
        ("1.0", b"RECEIPT\nreceipt-id:receipt-7\n\n\x00\n", ("receipt-7", False)),  # 1.0 has no heart-beats
    ):
        assert Parser(version).whole_receipt(data) == expected


def test_whole_receipt_declines_when_bytes_wait_or_the_stream_broke() -> None:
    answer = b"RECEIPT\nreceipt-id:r-1\n\n\x00"
    waiting = Parser("1.2")
    waiting.feed(b"MESS")
    assert waiting.whole_receipt(answer) is None
    broken = Parser("1.2")
    with pytest.raises(FrameError):
        broken.feed(b"NOT A COMMAND\n\n\x00")
    assert broken.whole_receipt(answer) is None
    assert Parser("1.2").whole_receipt(bytearray(answer)) is None  # type: ignore[arg-type]
    assert Parser("1.2").whole_receipt(b"RECEIPT\nreceipt-id:" + b"r" * 600 + b"\n\n\x00") is None
