"""STOMP over WebSocket (RFC 6455), the part both ends share: subprotocols, frames to messages.

Theory of operation. A WebSocket carries STOMP as a stream of bytes cut into messages. The
receiving side needs nothing of this module: the payloads of text and binary messages, in
order, are the STOMP byte stream (the parser does not care where one message ended). The
sending side cuts its byte stream into messages: `FrameSplitter` finds where each frame ends
(at its NUL, or after `content-length` bytes of body when the header is there) and where a
heart-beat stands alone, so that every frame and every heart-beat can go out as a message of
its own, as every broker measured here sends them. `payload` then says whether a chunk goes
as text or binary and with what bytes, by a `MessageType`. No I/O and no WebSocket framing
here: the broker's adapter (stomptest/broker/websocket.py) and, later, the clients wrap
wsproto around it.
"""

from __future__ import annotations

from typing import Final, Literal

# The subprotocols of STOMP over WebSocket, most preferred first (the names every broker uses).
SUBPROTOCOLS: Final = ("v12.stomp", "v11.stomp", "v10.stomp")

# How a broker sends a frame: "text" always, even when the body is not UTF-8 (RabbitMQ: such a message is
# invalid and a conforming client fails the connection); "text-replaced" always text, bytes that are not
# UTF-8 replaced by U+FFFD (ActiveMQ decodes the body to a string); "binary" always (Artemis);
# "text-or-binary": text when the frame is UTF-8, binary otherwise (strict: what the RFC allows).
MessageType = Literal["text", "text-replaced", "binary", "text-or-binary"]
Opcode = Literal["text", "binary"]

_CONTENT_LENGTH = b"\ncontent-length:"


def choose_subprotocol(
    offered: list[str],
    known: tuple[str, ...],
    choice: Literal["preferred", "first-offered"],
) -> str | None:
    """The subprotocol to answer: of the offered ones known, the most preferred or the first offered; or none."""
    matches = [name for name in offered if name in known]
    if not matches:
        return None
    if choice == "first-offered":
        return matches[0]
    return min(matches, key=known.index)


def payload(chunk: bytes, message_type: MessageType) -> tuple[Opcode, bytes]:
    """The opcode and payload bytes of the message carrying `chunk` (a frame or a heart-beat)."""
    if message_type == "binary":
        return "binary", chunk
    if message_type == "text":
        return "text", chunk
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError:
        if message_type == "text-or-binary":
            return "binary", chunk
        return "text", chunk.decode("utf-8", "replace").encode("utf-8")
    return "text", chunk


class FrameSplitter:
    """Cuts a STOMP byte stream into whole frames and lone heart-beats, keeping a partial frame for later.

    `eol_in_stream`: the stream writes a LF after each frame's NUL (Profile.frame_eol), which belongs to
    the frame; `eol_in_message`: whether the chunk keeps that LF (or gains one).
    """

    __slots__ = ("_buffer", "_eol_in_message", "_eol_in_stream")

    def __init__(self, *, eol_in_stream: bool = False, eol_in_message: bool = False) -> None:
        self._buffer = b""
        self._eol_in_stream = eol_in_stream
        self._eol_in_message = eol_in_message

    @property
    def pending(self) -> bytes:
        """The bytes of a frame not yet whole."""
        return self._buffer

    def feed(self, data: bytes) -> list[bytes]:
        """Every whole frame and heart-beat in what was fed so far, in order."""
        buffer = self._buffer + data if self._buffer else data
        chunks: list[bytes] = []
        start = 0
        size = len(buffer)
        while start < size:
            first = buffer[start]
            if first == 0x0A:  # a heart-beat
                chunks.append(b"\n")
                start += 1
                continue
            if first == 0x0D:
                if start + 1 >= size:
                    break
                if buffer[start + 1] == 0x0A:
                    chunks.append(b"\r\n")
                    start += 2
                    continue
            end = frame_end(buffer, start)
            if end is None:
                break
            if self._eol_in_stream and end < size and buffer[end] == 0x0A:
                end += 1
                frame = buffer[start:end] if self._eol_in_message else buffer[start : end - 1]
            else:
                frame = buffer[start:end] + b"\n" if self._eol_in_message else buffer[start:end]
            chunks.append(frame)
            start = end
        self._buffer = buffer[start:]
        return chunks


def frame_end(buffer: bytes, start: int) -> int | None:
    """Where the frame starting at `start` ends (just after its NUL), or None while it is not whole."""
    lf = buffer.find(b"\n\n", start)
    crlf = buffer.find(b"\n\r\n", start, len(buffer) if lf < 0 else lf + 2)  # only before the first LF LF
    if lf < 0 and crlf < 0:
        return None
    if crlf >= 0 and (lf < 0 or crlf < lf):
        head_end, body_start = crlf, crlf + 3
    else:
        head_end, body_start = lf, lf + 2
    length = _content_length(buffer, start, head_end)
    if length is not None:
        nul = body_start + length
        if nul >= len(buffer):
            return None
        if buffer[nul] == 0:
            return nul + 1
    nul = buffer.find(b"\x00", body_start)
    return None if nul < 0 else nul + 1


def _content_length(buffer: bytes, start: int, head_end: int) -> int | None:
    """The first content-length header's value between `start` and `head_end`, if it is a number."""
    at = buffer.find(_CONTENT_LENGTH, start, head_end)
    if at < 0:
        return None
    value_start = at + len(_CONTENT_LENGTH)
    value_end = buffer.find(b"\n", value_start, head_end + 1)
    text = buffer[value_start:value_end].strip()
    return int(text) if text.isdigit() else None


class TextAsBinary:
    """Rewrites the opcode of a client's text frames to binary, before a WebSocket library reads them.

    Why: Artemis takes a text message that is not UTF-8 as it takes any bytes (measured on 2.40.0),
    while wsproto checks every text message and closes with 1007. Marked as binary, the same bytes
    pass unchecked; for a broker that reads text and binary messages alike nothing else changes.
    Continuation frames carry opcode 0 and follow their first frame; control frames are untouched.
    Only client frames, which are always masked, come through here.
    """

    __slots__ = ("_head", "_payload_left")

    def __init__(self) -> None:
        self._head = bytearray()  # the frame head read so far (2 to 14 bytes)
        self._payload_left = 0  # payload bytes of the current frame still to pass through

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        position, end = 0, len(data)
        while position < end:
            if self._payload_left:
                taken = min(self._payload_left, end - position)
                out += data[position : position + taken]
                position += taken
                self._payload_left -= taken
                continue
            head = self._head
            head.append(data[position])
            position += 1
            size = _head_size(head)
            if size is None or len(head) < size:
                continue
            if head[0] & 0x0F == 0x1:  # text: binary, the FIN and RSV bits as they were
                head[0] = (head[0] & 0xF0) | 0x2
            out += head
            self._payload_left = _payload_length(head)
            self._head = bytearray()
        return bytes(out)


def _head_size(head: bytearray) -> int | None:
    """How long a frame head is, once its second byte is known (RFC 6455 5.2)."""
    if len(head) < 2:
        return None
    length = head[1] & 0x7F
    extended = 2 if length == 126 else 8 if length == 127 else 0
    return 2 + extended + (4 if head[1] & 0x80 else 0)


def _payload_length(head: bytearray) -> int:
    length = head[1] & 0x7F
    if length == 126:
        return int.from_bytes(head[2:4], "big")
    if length == 127:
        return int.from_bytes(head[2:10], "big")
    return length
