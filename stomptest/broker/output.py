"""What a broker connection writes: frames the client's version can carry, ERRORs, held frames, the transcript.

Every byte for the client goes through `write`, which also counts the frame, adds the
profile's LF after it (`Profile.frame_eol`) and keeps it in the transcript; the host
takes the bytes with `Connection.data_to_send()`. An ERROR's text, extra headers and
whether it closes are all the profile's (`error_texts`, `closing_errors` and the
`error_*` settings, `errors_without_receipt_id`, `every_error_closes_in`, `receipt_after_error`), read in `fail`
and nowhere else.

These are functions of the connection rather than methods so that each family of
commands can live in a module of its own; `Connection` names the ones others call as
its methods (`send`, `fail`, `release`), at no cost per call.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

from stomptest.broker import wire
from stomptest.broker.error_kinds import ErrorKind
from stomptest.protocol.errors import FrameError
from stomptest.protocol.frame import HEARTBEAT, Frame, Heartbeat

if TYPE_CHECKING:
    from stomptest.broker.connection import Connection

log = logging.getLogger("stomptest.broker")

Direction = Literal["in", "out"]


class PendingFrame:
    """A frame the broker sent, kept as parts until a test looks at it (building a `Frame` costs time)."""

    __slots__ = ("body", "command", "headers")

    def __init__(self, command: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.command = command
        self.headers = headers
        self.body = body

    def frame(self) -> Frame:
        return Frame(self.command, self.headers, self.body)


class _Fields(dict[str, str]):
    """Template fields for error texts; a field the error does not have is empty."""

    def __missing__(self, key: str) -> str:
        return ""


def fail(connection: Connection, kind: ErrorKind, frame: Frame | None, **fields: str) -> None:
    """Answer with the profile's ERROR for `kind`, then close if the profile says so."""
    if connection.state in ("closing", "closed"):
        return
    profile = connection.profile
    if kind == "malformed" and not profile.malformed_error:
        reason = fields.get("reason", "")
        log.info("connection %d: malformed input, closed without ERROR: %s", connection.id, reason)
        connection.close(f"malformed input: {reason}")
        return
    values = _Fields(fields)
    if frame is not None:
        values.setdefault("command", frame.command)
    values.setdefault("versions", ",".join(profile.versions))
    texts = profile.error_texts
    by_command = f"{kind} {frame.command}" if frame is not None else kind  # a command's own text, if it has one
    header = fields.get("header")  # a text of its own for this command and header ("KIND COMMAND HEADER")?
    own = texts.get(f"{by_command} {header}") if header is not None and frame is not None else None
    variant = fields.get("variant")  # or one the caller asks for ("KIND VARIANT")
    own = own or (texts.get(f"{kind} {variant}") if variant is not None else None)
    message_template, body_template = own or texts.get(by_command) or texts[kind]
    message = wire.printable(message_template.format_map(values).replace("\n", " ").replace("\r", " "))
    body = wire.printable(body_template.format_map(values))
    headers = [("message", message)]
    if (kind == "version" and profile.version_error_header) or profile.error_version_header:
        headers.append(("version", ",".join(profile.versions)))
    wanted = frame.headers.get("receipt") if frame is not None else None
    if wanted is not None and profile.error_receipt_id:
        unsent = profile.errors_without_receipt_id
        if kind not in unsent and by_command not in unsent:
            headers.append(("receipt-id", wanted))
    if body and profile.error_content_type:
        headers.append(("content-type", "text/plain"))
    if body and content_length(connection) != "as-sent":
        headers.append(("content-length", str(len(body.encode("utf-8")))))
    send(connection, Frame("ERROR", headers, body.encode("utf-8")))
    log.info("connection %d: ERROR (%s) %s", connection.id, kind, message)
    after = profile.receipt_after_error
    if frame is not None and (kind in after or by_command in after):  # RabbitMQ: the refused frame's RECEIPT too
        receipt(connection, frame)
    if kind in profile.closing_errors or connection.version in profile.every_error_closes_in:
        connection.close(f"ERROR ({kind}): {message}")


def content_length(connection: Connection) -> Literal["always", "as-sent", "non-empty"]:
    """The profile's content-length rule in this connection's version (`content_length`, `content_length_1_0`)."""
    profile = connection.profile
    version = connection.version or connection.fixed_version  # Artemis: at 1.0 since a refused STOMP
    if version == "1.0" and profile.content_length_1_0 is not None:
        return profile.content_length_1_0
    return profile.content_length


def send(connection: Connection, frame: Frame) -> None:
    """Queue a frame for the client (held back if a hold fault matches it), its headers in `header_order`."""
    if connection.state == "closed":
        return
    hold = connection.hold_commands
    if hold is not None and (not hold or frame.command in hold):
        connection.held.append(frame)
        return
    for command, names in connection.profile.header_order:  # CONNECTED and ERROR in the broker's order (N1)
        if command == frame.command:
            rank = {name: index for index, name in enumerate(names)}
            ordered = sorted(frame.raw_headers, key=lambda pair: rank.get(pair[0], len(names)))
            frame = Frame(frame.command, ordered, frame.body)
            break
    write(connection, encode(connection, frame), frame)


def receipt(connection: Connection, frame: Frame) -> None:
    """The RECEIPT for `frame`, if it asked for one."""
    wanted = frame.headers.get("receipt")
    if wanted is not None:
        send(connection, Frame("RECEIPT", [("receipt-id", wanted)]))


def release(connection: Connection) -> None:
    """Send the frames a hold fault kept back, in order, and stop holding."""
    held, connection.held = connection.held, []
    connection.hold_commands = None
    connection.hold_until = None
    for frame in held:
        send(connection, frame)


def encode(connection: Connection, frame: Frame) -> bytes:
    """`frame` as the client's version writes it, leaving out headers that version cannot carry."""
    version = connection.wire_out
    try:
        return frame.encode(version)
    except FrameError:
        pass
    # a header this version cannot carry (a LF for a 1.0 client, bytes that are not UTF-8 for 1.1+): leave it out
    kept = [(n, v) for n, v in frame.raw_headers if wire.encodable(n, v, version)]
    try:
        return Frame(frame.command, kept, frame.body).encode(version)
    except FrameError:
        return Frame(frame.command, (), frame.body).encode(version)


def write(connection: Connection, data: bytes, item: Frame | Heartbeat | PendingFrame) -> None:
    """Queue encoded bytes for the client and note them; wakes the host when the output was empty."""
    out = connection.out
    was_empty = not out
    out.append(data)
    connection.out_bytes += len(data)
    connection.last_sent = connection.now
    if item is not HEARTBEAT:
        connection.frames_sent += 1
        if connection.profile.frame_eol:  # part of the frame on the wire, as the broker writes it, not a heart-beat
            out.append(b"\n")
            connection.out_bytes += 1
    record(connection, "out", item)
    if was_empty:
        connection.engine.on_output(connection)


def record(connection: Connection, direction: Direction, item: Frame | Heartbeat | PendingFrame) -> None:
    """Keep `item` in the transcript, forgetting the oldest beyond max_transcript frames or _bytes of bodies.

    Heart-beats are bounded on their own (max_transcript_heartbeats): an idle connection beats
    forever, and each remembered beat costs about 90 bytes.
    """
    transcript = connection.transcript
    transcript.append((connection.now, direction, item))
    limits = connection.limits
    total = connection.transcript_bytes
    if isinstance(item, Heartbeat):
        connection.transcript_beats += 1
        if connection.transcript_beats > limits.max_transcript_heartbeats:
            _forget_oldest_heartbeat(connection)
    else:
        total = connection.transcript_bytes = total + len(item.body)
    if len(transcript) > limits.max_transcript or total > limits.max_transcript_bytes:  # rarely: trim
        while len(transcript) > 1 and (len(transcript) > limits.max_transcript or total > limits.max_transcript_bytes):
            old = transcript.popleft()[2]
            if isinstance(old, Heartbeat):
                connection.transcript_beats -= 1
            else:
                total -= len(old.body)
        connection.transcript_bytes = total


def _forget_oldest_heartbeat(connection: Connection) -> None:
    transcript = connection.transcript
    for index, entry in enumerate(transcript):  # in an idle connection it sits right after CONNECTED
        if isinstance(entry[2], Heartbeat):
            del transcript[index]
            connection.transcript_beats -= 1
            return
