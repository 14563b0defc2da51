"""Frame and Heartbeat: construction, the header views, and encoding per version (bytes and refusals)."""

from __future__ import annotations

import copy
import pickle
import re

import pytest

from stomptest.protocol import HEARTBEAT, ConfigurationError, Frame, FrameError, Heartbeat, Parser

# -- construction


def test_headers_as_pairs_or_mapping() -> None:
    pairs = Frame("SEND", [("destination", "/queue/a"), ("x", "1")])
    mapping = Frame("SEND", {"destination": "/queue/a", "x": "1"})
    assert pairs == mapping
    assert pairs.raw_headers == (("destination", "/queue/a"), ("x", "1"))


def test_int_values_become_decimal_strings() -> None:
    assert Frame("SEND", {"priority": 4, "expires": 0}).raw_headers == (("priority", "4"), ("expires", "0"))


@pytest.mark.parametrize("value", [True, 1.5, None, b"x"])
def test_other_value_types_are_refused(value: object) -> None:
    with pytest.raises(TypeError, match="header 'x': values are str or int"):
        Frame("SEND", {"x": value})  # type: ignore[dict-item]


def test_bad_header_shapes() -> None:
    with pytest.raises(TypeError, match=r"a header is a \(name, value\) pair, not 'abc'"):
        Frame("SEND", ["abc"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="header names are str, not 1"):
        Frame("SEND", [(1, "x")])  # type: ignore[list-item]


def test_command_must_be_a_non_empty_str() -> None:
    with pytest.raises(TypeError, match="a frame's command is a non-empty str"):
        Frame("")
    with pytest.raises(TypeError, match="a frame's command is a non-empty str"):
        Frame(b"SEND")  # type: ignore[arg-type]


def test_str_body_is_utf8_with_a_content_type() -> None:
    frame = Frame("SEND", {"destination": "/q"}, "h\u00e9")
    assert frame.body == b"h\xc3\xa9"
    assert frame.raw_headers == (("destination", "/q"), ("content-type", "text/plain;charset=utf-8"))


def test_str_body_keeps_a_given_content_type() -> None:
    frame = Frame("SEND", {"content-type": "application/json"}, "{}")
    assert frame.raw_headers == (("content-type", "application/json"),)


def test_bytes_like_bodies_become_bytes() -> None:
    assert Frame("SEND", body=bytearray(b"ab")).body == b"ab"
    assert type(Frame("SEND", body=memoryview(b"ab")).body) is bytes
    with pytest.raises(TypeError, match="a frame's body is bytes or str, not int"):
        Frame("SEND", body=3)  # type: ignore[arg-type]


def test_headers_view_first_wins_and_is_read_only() -> None:
    frame = Frame("MESSAGE", [("a", "1"), ("b", "2"), ("a", "3")])
    assert frame.headers == {"a": "1", "b": "2"}
    assert frame.raw_headers == (("a", "1"), ("b", "2"), ("a", "3"))
    with pytest.raises(TypeError):
        frame.headers["a"] = "x"  # type: ignore[index]


def test_frames_are_immutable_and_hashable() -> None:
    frame = Frame("SEND", {"a": "1"}, b"x")
    with pytest.raises(AttributeError, match="cannot set body: a Frame is immutable"):
        frame.body = b"y"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="a Frame is immutable"):
        del frame.command  # type: ignore[misc]
    assert frame.body == b"x"
    assert {frame: 1}[Frame("SEND", [("a", "1")], b"x")] == 1


def test_equality_looks_at_command_headers_in_order_and_body() -> None:
    assert Frame("SEND", [("a", "1"), ("b", "2")]) != Frame("SEND", [("b", "2"), ("a", "1")])
    assert Frame("SEND", body=b"x") != Frame("SEND", body=b"y")
    assert Frame("SEND") != Frame("MESSAGE")
    assert Frame("SEND") != "SEND"


def test_repr_and_str() -> None:
    frame = Frame("SEND", {"destination": "/q"}, b"hi")
    assert repr(frame) == "Frame('SEND', headers=[('destination', '/q')], body=b'hi')"
    assert str(frame) == "SEND\ndestination:/q\n\nhi"
    assert str(Frame("SEND", body=b"\xff")) == "SEND\n\nb'\\xff'"
    assert repr(Frame("SEND", body=b"x" * 100)).endswith("body=b'" + "x" * 80 + "...')")


def test_heartbeats_are_all_equal() -> None:
    assert Heartbeat() == HEARTBEAT
    assert hash(Heartbeat()) == hash(HEARTBEAT)
    assert Frame("SEND") != HEARTBEAT
    assert repr(HEARTBEAT) == "Heartbeat()"


# -- encoding


def test_encode() -> None:
    frame = Frame("SEND", [("destination", "/queue/a"), ("x", "1")], b"hello")
    assert frame.encode() == b"SEND\ndestination:/queue/a\nx:1\n\nhello\x00"


def test_encode_escapes_per_version() -> None:
    frame = Frame("SEND", [("a:b", "1\n2:3\\4\r")])
    assert frame.encode("1.2") == b"SEND\na\\cb:1\\n2\\c3\\\\4\\r\n\n\x00"
    assert frame.encode("1.1") == b"SEND\na\\cb:1\\n2\\c3\\\\4\r\n\n\x00"


def test_1_0_writes_headers_verbatim() -> None:
    assert Frame("SEND", [("x", "a:b\\c")]).encode("1.0") == b"SEND\nx:a:b\\c\n\n\x00"


@pytest.mark.parametrize("command", ["CONNECT", "STOMP", "CONNECTED"])
def test_connect_and_connected_are_never_escaped(command: str) -> None:
    frame = Frame(command, [("passcode", "a:b\\c")])
    assert frame.encode("1.2") == command.encode() + b"\npasscode:a:b\\c\n\n\x00"


@pytest.mark.parametrize(
    ("version", "command", "headers", "message"),
    [
        ("1.0", "SEND", [("x", "a\nb")], "header 'x': a LF in the value cannot be carried by STOMP 1.0 (no escaping)"),
        (
            "1.0",
            "SEND",
            [("a:b", "1")],
            "header name 'a:b' has a LF or ':', which STOMP 1.0 cannot carry (no escaping)",
        ),
        (
            "1.2",
            "CONNECT",
            [("login", "a\nb")],
            "header 'login': a LF in the value cannot be carried by CONNECT in STOMP 1.2 (no escaping)",
        ),
        (
            "1.2",
            "CONNECTED",
            [("server", "x\r")],
            "header 'server': a trailing CR would be read as part of CRLF in CONNECTED in STOMP 1.2",
        ),
        ("1.2", "SEND", [("", "x")], "a header name may not be empty"),
        ("1.0", "SEND", [("", "x")], "a header name may not be empty"),
        ("1.2", "SEND", [("x", "a\x00b")], "header 'x': NUL cannot appear in a header"),
        ("1.0", "SEND", [("x", "a\x00b")], "header 'x': NUL cannot appear in a header"),
        ("1.2", "SEND", [("x", "\udcff")], "header text cannot be encoded as UTF-8: surrogates not allowed"),
        ("1.0", "SEND", [("x", "\ud800")], "header text cannot be encoded as UTF-8: surrogates not allowed"),
    ],
)
def test_encode_refuses_what_the_version_cannot_carry(
    version: str, command: str, headers: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(FrameError, match=re.escape(message)) as caught:
        Frame(command, headers).encode(version)
    assert caught.value.offset is None
    assert caught.value.kind == "unencodable-header"


def test_1_0_writes_surrogate_escaped_bytes_back() -> None:
    assert Frame("SEND", [("x", "\udcff")]).encode("1.0") == b"SEND\nx:\xff\n\n\x00"


def test_1_1_carries_a_raw_cr() -> None:
    assert Frame("CONNECT", [("x", "a\r")]).encode("1.1") == b"CONNECT\nx:a\r\n\n\x00"


def test_body_only_on_send_message_and_error_in_1_1_and_later() -> None:
    for version in ("1.1", "1.2"):
        with pytest.raises(FrameError, match=f"SUBSCRIBE frames may not have a body in STOMP {version}"):
            Frame("SUBSCRIBE", {"id": "1"}, b"x").encode(version)
    assert Frame("SUBSCRIBE", {"id": "1"}, b"x").encode("1.0") == b"SUBSCRIBE\nid:1\n\nx\x00"
    for command in ("SEND", "MESSAGE", "ERROR"):
        assert Frame(command, body=b"x").encode("1.2") == command.encode() + b"\n\nx\x00"


def test_unknown_commands_are_not_encoded() -> None:
    with pytest.raises(FrameError, match="cannot encode unknown command 'send': use one of ABORT, ACK"):
        Frame("send").encode()
    with pytest.raises(FrameError, match=r"NACK does not exist in STOMP 1\.0: negotiate 1\.1 or later"):
        Frame("NACK", {"message-id": "1"}).encode("1.0")


def test_unknown_version() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown STOMP version '2\.0'"):
        Frame("SEND").encode("2.0")


def test_content_length_is_added_when_the_body_has_nul() -> None:
    assert Frame("SEND", body=b"a\x00b").encode() == b"SEND\ncontent-length:3\n\na\x00b\x00"


def test_content_length_on_request() -> None:
    assert Frame("SEND", body=b"ab").encode(content_length=True) == b"SEND\ncontent-length:2\n\nab\x00"
    assert Frame("DISCONNECT").encode(content_length=True) == b"DISCONNECT\ncontent-length:0\n\n\x00"


def test_a_given_content_length_must_match() -> None:
    assert Frame("SEND", {"content-length": "2"}, b"ab").encode(content_length=True) == (
        b"SEND\ncontent-length:2\n\nab\x00"
    )
    assert Frame("SEND", {"content-length": "02"}, b"ab").encode() == b"SEND\ncontent-length:02\n\nab\x00"
    with pytest.raises(FrameError, match="content-length:3 does not match the body's 2 bytes: leave the header out"):
        Frame("SEND", {"content-length": "3"}, b"ab").encode()
    with pytest.raises(FrameError, match="content-length:x does not match"):
        Frame("SEND", {"content-length": "x"}, b"ab").encode()
    # a repeated header: the first one counts, as in `headers`
    assert (
        Frame("SEND", [("content-length", "2"), ("content-length", "9")], b"ab")
        .encode()
        .startswith(b"SEND\ncontent-length:2\ncontent-length:9\n")
    )
    with pytest.raises(FrameError, match="content-length:9 does not match"):
        Frame("SEND", [("content-length", "9"), ("content-length", "2")], b"ab").encode()


def test_str_body_encodes_with_its_content_type() -> None:
    assert Frame("SEND", {"destination": "/q"}, "\u00e9").encode() == (
        b"SEND\ndestination:/q\ncontent-type:text/plain;charset=utf-8\n\n\xc3\xa9\x00"
    )


@pytest.mark.parametrize(
    ("frame", "version", "kind"),
    [
        (Frame("send"), "1.2", "unknown-command"),
        (Frame("NACK", {"id": "1"}), "1.0", "unknown-command"),
        (Frame("SUBSCRIBE", {"id": "1"}, b"x"), "1.1", "body-not-allowed"),
        (Frame("SEND", {"content-length": "3"}, b"ab"), "1.2", "bad-content-length"),
        (Frame("SEND", [("", "x")]), "1.2", "unencodable-header"),
    ],
)
def test_encode_errors_say_their_kind(frame: Frame, version: str, kind: str) -> None:
    with pytest.raises(FrameError) as caught:
        frame.encode(version)
    assert caught.value.kind == kind


def test_frame_error_kind_is_checked() -> None:
    assert FrameError("x").kind == "other"
    with pytest.raises(ConfigurationError, match="FrameError kind must be one of broken-stream, "):
        FrameError("x", kind="bad")  # type: ignore[arg-type]


@pytest.mark.parametrize("made_by", ["constructor", "parser"])
def test_a_frame_copies_and_pickles_as_a_value(made_by: str) -> None:
    frame = Frame("SEND", [("destination", "/queue/a"), ("x", "1"), ("x", "2")], b"body")
    if made_by == "parser":
        [frame] = Parser().feed(frame.encode())  # type: ignore[assignment]
    frame.headers  # noqa: B018 (the read-only mapping made on first use must not get in the way)
    for twin in (copy.copy(frame), copy.deepcopy(frame), pickle.loads(pickle.dumps(frame))):
        assert (
            twin == frame
            and twin.raw_headers == frame.raw_headers
            and twin.headers == {"destination": "/queue/a", "x": "1"}
        )
