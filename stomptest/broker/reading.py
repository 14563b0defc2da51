"""Reading a broker connection's input: bytes to frames, and getting past a frame the parser refused.

Before CONNECT the parser only ever sees bytes up to the first NUL, so that frames
pipelined behind CONNECT are read with the escaping of the version it negotiates.
After a refused frame the connection either closes or, where the profile's broker
carries on (RabbitMQ after "Bad command"), skips to the frame's NUL with a fresh
parser; ActiveMQ's way with undefined escapes is a repair of the bytes, not an ERROR
(`Profile.undefined_escapes`), and so is a body on a frame that may have none where the
profile's broker ignores it (`Profile.bodyless_frame_bodies`), a header line without ':'
(`header_without_colon`), CR LF line ends before 1.2 (`crlf_before_1_2`) and a body longer than its
content-length (`missing_nul`). An EOL before
CONNECT is a heart-beat, or deafens the connection to what follows (`eol_before_connect`).
A refused frame's ERROR gives the parser's reason or the broker's own words (`decoder_texts`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from stomptest.broker import output, wire
from stomptest.broker.error_kinds import ErrorKind
from stomptest.broker.states import READING, TRANSITIONS
from stomptest.protocol.errors import FrameError
from stomptest.protocol.frame import Frame, Heartbeat
from stomptest.protocol.parser import Parser

if TYPE_CHECKING:
    from stomptest.broker.connection import Connection


def receive(connection: Connection, data: bytes) -> None:
    while data and connection.state in READING and not connection.deaf:
        if connection._skipping:
            nul = data.find(b"\x00")
            if nul < 0:
                return
            data = data[nul + 1 :]
            connection._skipping = False
            continue
        if connection.state == "new":
            nul = data.find(b"\x00")
            if nul >= 0:
                chunk, data = data[: nul + 1], data[nul + 1 :]
            else:
                chunk, data = data, b""
        else:
            chunk, data = data, b""
        rest = _feed(connection, chunk)
        if rest:
            data = rest + data


def _feed(connection: Connection, data: bytes) -> bytes:
    """Parse `data` and handle what it completes; after a recoverable error, return the bytes to go on with."""
    error: FrameError | None = None
    if not connection._unparsed:
        connection._unparsed_start = connection._fed
    connection._unparsed.append(data)
    connection._fed += len(data)
    try:
        items = connection._parser.feed(data)
    except FrameError as exc:
        error = exc
        items = exc.frames
    for item in items:
        if connection.state not in READING:
            return b""
        if isinstance(item, Heartbeat):
            if connection.state == "new" and connection.profile.eol_before_connect == "deafens":
                connection.eol_before_connect = True
            if TRANSITIONS[connection.state, "HEARTBEAT"][0] == "record" and connection.version != "1.0":
                output.record(connection, "in", item)
            continue
        connection.frames_received += 1
        output.record(connection, "in", item)
        if connection.eol_before_connect:
            # Artemis (measured, issue 18): the frame after an EOL before CONNECT, a CONNECT included, is
            # not answered, nor is anything after it (connecting.py's `out_of_turn` for frame_before_connect)
            connection.deaf = True
            return b""
        try:
            connection.handle_frame(item)
        except Exception:
            connection.internal_error(item)
    if error is None:
        if not connection._parser.buffered:
            connection._unparsed.clear()
        return b""
    if connection.state not in READING:
        return b""
    return _parse_error(connection, error)


def _parse_error(connection: Connection, error: FrameError) -> bytes:
    text = connection.profile.decoder_texts.get(error.kind) or str(error)
    stream = b"".join(connection._unparsed)
    connection._unparsed.clear()
    at = max((error.offset or connection._unparsed_start) - connection._unparsed_start, 0)
    keep_escapes = connection.profile.undefined_escapes == "keep"
    if error.kind == "bad-escape" and keep_escapes and connection.state == "connected":
        start = stream.rfind(b"\x00", 0, at) + 1  # the offset may point into the frame: back to its start
        while stream[start : start + 1] in (b"\n", b"\r"):
            start += 1
        repaired = wire.keep_undefined_escapes(stream, start, connection._parser.version)
        if repaired is not None and repaired != stream[start:]:  # ActiveMQ passes an undefined escape through
            _new_parser(connection)
            return repaired
    profile = connection.profile
    if error.kind == "missing-nul" and profile.missing_nul == "artemis" and error.frame_offset is not None:
        return _cut_at_content_length(connection, stream, at, error.frame_offset - connection._unparsed_start)
    if error.kind == "body-not-allowed" and profile.bodyless_frame_bodies == "ignore":
        return _without_body(connection, stream, at)
    if (error.kind == "bad-header-line" and profile.header_without_colon == "ignore") or (
        error.kind == "unknown-command" and profile.crlf_before_1_2 != "error"
    ):
        repaired = _lenient_head(connection, stream, at, error.kind)
        if repaired is not None:
            _new_parser(connection)
            return repaired
    command = ""
    kind: ErrorKind = "malformed"
    bad: Frame | None = None
    if error.kind == "unknown-command":
        command, bad = wire.bad_frame_head(stream, at)
        kind = "not-connected" if connection.state == "new" and command else "unknown-command"
        if connection.fixed_version is not None:  # Artemis, after a refused STOMP: its 1.0 decoder refuses and closes
            connection.fail("unknown-command", bad, command=command, reason=text)
            connection.close(f"unknown command {command!r} on a connection at STOMP 1.0")
            return b""
    version, nack_1_0 = connection.version, connection.profile.nack_in_1_0
    if command == "NACK" and version == "1.0" and nack_1_0 != "unknown-command" and bad is not None:
        connection.handle_frame(bad)  # a 1.0 parser knows no NACK; the profile's broker answers it (nack_in_1_0)
    elif error.kind == "bad-escape" and (escape := wire.undefined_escape(stream[at:], connection._parser.version)):
        # Artemis names the escape ("malformed bad-escape" in its error texts)
        connection.fail(kind, bad, command=command, reason=text, variant=error.kind, escape=escape)
    else:
        connection.fail(kind, bad, command=command, reason=text)
    if connection.state != "connected":
        return b""
    # recoverable (RabbitMQ keeps the connection after "Bad command"): skip the bad frame
    _new_parser(connection)
    nul = stream.find(b"\x00", at)
    if nul < 0:
        connection._skipping = True
        return b""
    return stream[nul + 1 :]


def _without_body(connection: Connection, stream: bytes, at: int) -> bytes:
    """The frame whose body starts at `at` without its body, and what follows it (bodyless_frame_bodies="ignore").

    Measured (issue 18): ActiveMQ and RabbitMQ read a CONNECT, SUBSCRIBE, BEGIN, UNSUBSCRIBE
    or DISCONNECT with a body as if it had none, in every version.
    """
    start = stream.rfind(b"\x00", 0, at) + 1  # back to the frame's start, past EOLs between frames
    while stream[start : start + 1] in (b"\n", b"\r"):
        start += 1
    head = _CONTENT_LENGTH.sub(b"", stream[start:at]) + b"\x00"  # without the length of the body it drops
    _new_parser(connection)
    nul = stream.find(b"\x00", at)
    if nul >= 0:
        return head + stream[nul + 1 :]
    rest = _feed(connection, head)  # the body's NUL has not come yet: the frame now, its body skipped later
    connection._skipping = connection.state in READING
    return rest


def _cut_at_content_length(connection: Connection, stream: bytes, at: int, start: int) -> bytes:
    """The frame ended where its content-length says, and what the profile's broker reads after it.

    Measured on Artemis 2.40.0 (issue 16): 1.0 drops the byte after the body and reads on from the
    next (`xy` + a SEND: the SEND is answered; `xyGARB` + a SEND: ERROR and close); 1.1 and 1.2 drop
    what follows up to the next NUL that has come, or all that has come (a SEND in the same packet
    is lost, one in the next packet is answered).
    """
    frame = stream[max(start, 0) : at] + b"\x00"
    if connection.version == "1.0":
        rest = stream[at + 1 :]
    else:
        nul = stream.find(b"\x00", at)
        rest = stream[nul + 1 :] if nul >= 0 else b""
    _new_parser(connection)
    return frame + rest


def _lenient_head(connection: Connection, stream: bytes, at: int, kind: str) -> bytes | None:
    """The refused frame's head as the profile's broker reads it, and what follows; None if that changes nothing.

    Measured (issue 18): ActiveMQ skips a header line without ':' (`header_without_colon`);
    before 1.2, RabbitMQ reads CR LF as LF, and ActiveMQ too in 1.0 while in 1.1 it keeps the CR
    in header values (`crlf_before_1_2`).
    """
    start = stream.rfind(b"\x00", 0, at) + 1
    while stream[start : start + 1] in (b"\n", b"\r"):
        start += 1
    end = stream.find(b"\n\n", start)
    crlf_end = stream.find(b"\n\r\n", start)
    if crlf_end >= 0 and (end < 0 or crlf_end < end):
        end, blank = crlf_end, 3
    else:
        blank = 2
    if end < 0:
        return None  # the head has not all come yet: the error stands
    lines = stream[start : end + 1].split(b"\n")[:-1]
    if kind == "bad-header-line":
        lines = lines[:1] + [line for line in lines[1:] if b":" in line]
    elif not lines[0].endswith(b"\r"):
        return None
    elif connection.profile.crlf_before_1_2 == "activemq" and connection.version == "1.1":
        lines[0] = lines[0][:-1]  # the command's CR only; the values keep theirs
    else:
        lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    head = b"\n".join(lines) + b"\n\n"
    if head == stream[start : end + blank]:
        return None
    return head + stream[end + blank :]


_CONTENT_LENGTH = re.compile(rb"(?m)^content-length:[^\n]*\n")


def _new_parser(connection: Connection) -> None:
    connection._parser = Parser(
        connection._parser.version,
        max_frame_bytes=connection.limits.max_frame_bytes,
        max_headers=connection.limits.max_headers,
        max_header_bytes=connection.limits.max_header_bytes,
    )
    connection._fed = 0


def set_wire_version(connection: Connection, version: str) -> None:
    """Read and write with `version`'s escaping from now on (CONNECT decides it)."""
    if connection._parser.version != version:  # setting it rebuilds the parser's caches (4 KB)
        connection._parser.version = version
    connection.wire_out = version
