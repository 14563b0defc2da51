"""The broker's WebSocket adapter: between a client's socket and its STOMP `Connection`, sans-IO.

Theory of operation. The host sees a connection open with an HTTP `GET ` and puts one
`WebSocketAdapter` in front of the `Connection`: socket bytes go to `receive_data(data)`, which
answers with the STOMP bytes they carried (for `Connection.receive_data`); the connection's
output goes to `send_stomp(data)`, which cuts it into one message per frame and heart-beat
(protocol/websocket.py); `data_to_send()` is then what the socket must carry (the handshake's
answer, messages, pongs, the close). The connection never learns the transport. wsproto does the
RFC 6455 work (HTTP through h11, framing, masking, UTF-8 checks, permessage-deflate); what this
module adds is the broker's side of each choice, from its `WebSocketSettings`
(websocket_profiles.py): which paths upgrade, which subprotocol is answered, what HTTP status a
bad request gets, the message type, the size limit, the close codes. When `finished` is true
the host sends the last bytes and closes the socket; `close_kind` says why, for logs and tests.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterable

from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.extensions import Extension, PerMessageDeflate
from wsproto.utilities import RemoteProtocolError

from stomptest.broker.websocket_frames import PING, read_frames
from stomptest.broker.websocket_profiles import CloseKind, WebSocketSettings
from stomptest.protocol.websocket import FrameSplitter, TextAsBinary, choose_subprotocol, frame_end, payload

__all__ = ["WebSocketAdapter", "looks_like_websocket"]

_GET = b"GET "


def looks_like_websocket(first: bytes) -> bool | None:
    """Whether a connection opening with `first` speaks HTTP (True) or STOMP (False); None: too few bytes yet.

    No STOMP command starts with G, but a STOMP client may send heart-beat EOLs before its CONNECT.
    """
    if len(first) >= len(_GET) or not _GET.startswith(first):
        return first.startswith(_GET)
    return None


class WebSocketAdapter:
    """One client's WebSocket: handshake, messages to STOMP bytes and back, the close."""

    __slots__ = (
        "_compressor",
        "_counted",
        "_deflate",
        "_fast",
        "_head",
        "_inflater",
        "_need",
        "_out",
        "_partial",
        "_received",
        "_rest",
        "_splitter",
        "_text_as_binary",
        "_ws",
        "close_code",
        "close_kind",
        "finished",
        "handshake_deadline",
        "open",
        "path",
        "settings",
        "subprotocol",
    )

    def __init__(self, settings: WebSocketSettings, frame_eol: bool, now: float) -> None:
        """`frame_eol`: the STOMP connection writes a LF after each frame (Profile.frame_eol)."""
        self.settings = settings
        self._ws = WSConnection(ConnectionType.SERVER)
        self._out: list[bytes] = []
        self._splitter = FrameSplitter(eol_in_stream=frame_eol, eol_in_message=settings.frame_eol)
        self._partial: list[bytes] = []  # the parts of a text message not yet whole (frame-per-text-message)
        self._received = 0  # bytes received
        self._head: bytearray | None = bytearray()  # the request so far, until its head is whole
        self._deflate: PerMessageDeflate | None = None  # permessage-deflate as agreed in the handshake, if it was
        self._compressor: zlib._Compress | None = None  # the deflate stream of the messages sent (context takeover)
        self._inflater: zlib._Decompress | None = None  # ... and of the messages received
        self._counted = 0  # bytes of the message (or WebSocket frame) being received, for max_bytes
        self._fast = True  # frames are read by websocket_frames until one of another kind (then wsproto, for good)
        self._rest = bytearray()  # the fast path's bytes not yet a whole frame
        self._need = 0  # how many bytes _rest must hold before the next frame can be read
        self._text_as_binary = None if settings.utf8_checked else TextAsBinary()  # Artemis: no UTF-8 check
        self.open = False  # the handshake is done
        self.finished = False  # nothing more is read; the host flushes and closes
        self.close_kind: str | None = None
        self.close_code: int | None = None
        self.path: str | None = None
        self.subprotocol: str | None = None
        timeout = settings.handshake_timeout
        self.handshake_deadline = None if timeout is None else now + timeout

    # -- input

    def receive_data(self, data: bytes) -> bytes:
        """Bytes from the socket; returns the STOMP bytes their messages carried (maybe none)."""
        if self.finished:
            return b""
        self._received += len(data)
        head = self._head
        if head is not None:  # the request's head is held until whole, to read its version
            searched = max(0, len(head) - 3)  # a byte at a time costs no more than all at once
            head += data
            if head.find(b"\r\n\r\n", searched) < 0 and len(head) < _MAX_HEAD:
                return b""
            self._head = None
            whole = bytes(head)
            end = whole.find(b"\r\n\r\n") + 4
            # what came behind the head waits until the request was answered: wsproto's server drops the bytes
            # that arrive with the request (its accepted Connection starts empty; found by fuzz/websocket_fuzz.py)
            data, behind = (whole, b"") if end < 4 else (whole[:end], whole[end:])
            data = _as_version_13(data, self.settings.versions)
            stomp = self._feed(data)
            return stomp + self._receive_open(behind) if behind and self.open and not self.finished else stomp
        return self._receive_open(data) if self.open else self._feed(data)

    def _receive_open(self, data: bytes) -> bytes:
        """Bytes after the handshake: simple frames on the fast path, the rest through wsproto."""
        if self._text_as_binary is not None:  # Artemis takes text that is not UTF-8: marked binary, unchecked
            data = self._text_as_binary.feed(data)
        if not self._fast:
            return self._feed(data)
        rest = self._rest
        if rest:
            rest += data
            if len(rest) < self._need:
                return b""
            data = bytes(rest)
            rest.clear()
        frames: list[tuple[int, bytes]] = []
        end, need = read_frames(data, frames, self._deflate is not None)
        stomp: list[bytes] = []
        for first, body in frames:
            if first == PING:
                self._out.append(self._ws.send(Pong(payload=body)))  # what wsproto answers to a Ping event
                continue
            if first & 0x40:  # RSV1: compressed
                try:
                    body = self._inflate(body)
                except zlib.error:
                    self._closed_by_peer(CloseConnection(code=1007))  # as wsproto answers bad deflate data
                    return b"".join(stomp)
            text = first & 0x0F == 0x1
            if text:
                try:
                    body.decode("utf-8")
                except UnicodeDecodeError:
                    self._closed_by_peer(CloseConnection(code=1007))  # as wsproto answers text that is not UTF-8
                    return b"".join(stomp)
            if not self._message(body, text, True, True, stomp):
                return b"".join(stomp)
        if need:
            rest += data[end:]
            self._need = need
            return b"".join(stomp)
        # a frame of another kind: wsproto reads it and all that follows, inflating with our inflater's
        # window (wsproto's PerMessageDeflate keeps it in _decompressor and makes one only when it has none)
        self._fast = False
        if self._deflate is not None:
            self._deflate._decompressor = self._inflater
        stomp.append(self._feed(data[end:]))
        return b"".join(stomp)

    def _inflate(self, body: bytes) -> bytes:
        """A compressed message's payload, inflated with the window and context takeover agreed."""
        deflate = self._deflate
        assert deflate is not None
        inflater = self._inflater
        if inflater is None:
            inflater = self._inflater = zlib.decompressobj(-deflate.client_max_window_bits)
        data = inflater.decompress(body + b"\x00\x00\xff\xff")
        if deflate.client_no_context_takeover:
            self._inflater = None
        return data

    def _feed(self, data: bytes) -> bytes:
        try:
            self._ws.receive_data(data)
            return self._handle(self._ws.events())
        except RemoteProtocolError as exc:
            self._refuse_handshake(exc)
            return b""
        except (UnicodeError, ValueError):  # wsproto decodes some headers without checking them (found by fuzzing)
            if self.open:
                raise
            self._refuse_handshake(RemoteProtocolError("undecodable header", event_hint=RejectConnection()))
            return b""

    def _handle(self, events: Iterable[Event]) -> bytes:
        stomp: list[bytes] = []
        for event in events:
            if isinstance(event, (TextMessage, BytesMessage)):
                raw = event.data
                data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
                finished = event.frame_finished, event.message_finished
                if not self._message(data, isinstance(event, TextMessage), *finished, stomp):
                    break
            elif isinstance(event, Request):
                self._request(event)
                if self.open:  # bytes that came behind the request
                    stomp.append(self._handle(self._ws.events()))
            elif isinstance(event, CloseConnection):
                self._closed_by_peer(event)
                break
            elif isinstance(event, Ping):
                self._out.append(self._ws.send(event.response()))
        return b"".join(stomp)

    def _message(
        self, data: bytes, text: bool, frame_finished: bool, message_finished: bool, stomp: list[bytes]
    ) -> bool:
        """One message's (or fragment's) payload: its STOMP bytes appended to `stomp`; False once closed."""
        settings = self.settings
        if settings.max_bytes is not None:
            self._counted += len(data)
            if self._counted > settings.max_bytes:
                self.close("too-big")
                return False
            if message_finished or (settings.max_bytes_per == "frame" and frame_finished):
                self._counted = 0
        if settings.input == "stream":
            stomp.append(data)
            return True
        # one frame per text message (ActiveMQ): binary ignored, a lone LF a heart-beat
        if not text:
            return True
        if not message_finished:  # keep the parts until the message is whole
            self._partial.append(data)
            return True
        message = self._take_text(data)
        if message == b"\n":
            stomp.append(message)
            return True
        end = frame_end(message, 0)
        if end is None:
            self.close("malformed")  # the broker's parser fails on a message without a whole frame
            return False
        stomp.append(message[:end])  # the rest of the message is never read
        return True

    def _take_text(self, data: bytes) -> bytes:
        partial = self._partial
        if not partial:
            return data
        partial.append(data)
        whole = b"".join(partial)
        partial.clear()
        return whole

    # -- the handshake

    def _request(self, request: Request) -> None:
        settings = self.settings
        self.path = request.target.split("?", 1)[0]
        if settings.paths is not None and self.path not in settings.paths:
            self._reject(settings.wrong_path_status, "wrong-path")
            return
        self.subprotocol = choose_subprotocol(request.subprotocols, settings.subprotocols, settings.subprotocol_choice)
        deflate = PerMessageDeflate()
        extensions: list[Extension] = [deflate] if settings.deflate else []
        if self.subprotocol is None and settings.unoffered_subprotocol is not None:
            # ActiveMQ names a subprotocol the client did not offer; wsproto will not, so the header goes as is
            self.subprotocol = settings.unoffered_subprotocol
            extra = [(b"Sec-WebSocket-Protocol", self.subprotocol.encode("ascii"))]
            accept = AcceptConnection(extensions=extensions, extra_headers=extra)
        else:
            accept = AcceptConnection(subprotocol=self.subprotocol, extensions=extensions)
        self._out.append(self._ws.send(accept))
        # wsproto agreed on it (or not) with the client's offer, in place; compressed frames (RSV1) coming in are
        # not simple frames, so wsproto reads them, with a fresh inflater: the first compressed message starts it
        self._deflate = deflate if settings.deflate and deflate.enabled() else None
        self.open = True
        self.handshake_deadline = None

    def _refuse_handshake(self, error: RemoteProtocolError) -> None:
        """A request wsproto could not take: not an upgrade, a missing key, another version, not HTTP."""
        if self.open:  # wsproto reports errors of an open connection as CloseConnection events
            self.close("malformed")
            return
        text = str(error)
        hint = error.event_hint
        settings = self.settings
        if "Connection: Upgrade" in text:
            status = settings.not_upgrade_status
            if status is None:
                return  # no answer: the client waits for the handshake timeout, as with the real broker
            self._reject(status, "not-upgrade")
        elif isinstance(hint, RejectConnection) and hint.status_code == 426:
            status = settings.wrong_version_status
            self._reject(status, "version", [(b"Sec-WebSocket-Version", b"13")] if status == 426 else None)
        elif settings.bad_handshake_status is None:
            self._finish("bad-handshake")
        else:
            self._reject(settings.bad_handshake_status, "bad-handshake")

    def _reject(self, status: int, kind: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        response = (
            f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\ncontent-length: 0\r\nconnection: close\r\n"
        ).encode("ascii")
        for name, value in headers or ():
            response += name + b": " + value + b"\r\n"
        self._out.append(response + b"\r\n")
        self._finish(kind)

    def handshake_timed_out(self) -> None:
        """The request was not complete by `handshake_deadline`: the profile's answer, then closed."""
        if self.open or self.finished:
            return
        status = self.settings.handshake_timeout_status
        if status is not None and self._ws.state == ConnectionState.CONNECTING and self._received:
            self._reject(status, "handshake-timeout")
        else:
            self._finish("handshake-timeout")

    # -- output

    def send_stomp(self, data: bytes) -> None:
        """The STOMP connection's output, as one message per frame and heart-beat (dropped before the handshake)."""
        if not self.open or self.finished or not data:
            return
        message_type = self.settings.message_type
        out = self._out
        for chunk in self._splitter.feed(data):
            opcode, body = payload(chunk, message_type)
            first = 0x82 if opcode == "binary" else 0x81
            if self._deflate is None:  # framed here: under half wsproto's cost per message, the same bytes
                out.append(_frame(first, body))
                continue
            if opcode != "binary":
                try:
                    body.decode("utf-8")
                except UnicodeDecodeError:  # RabbitMQ sends it as text all the same: a message the RFC forbids
                    out.append(_frame(0x81, body))  # (and uncompressed, as before the deflate path was ours)
                    continue
            out.append(_frame(first | 0x40, self._compress(body)))  # RSV1: compressed

    def _compress(self, body: bytes) -> bytes:
        """`body` deflated as permessage-deflate (RFC 7692) sends it, with the window and takeover agreed."""
        deflate = self._deflate
        assert deflate is not None
        compressor = self._compressor
        if compressor is None:
            bits = deflate.server_max_window_bits
            compressor = self._compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -bits)
        data = compressor.compress(body) + compressor.flush(zlib.Z_SYNC_FLUSH)
        if deflate.server_no_context_takeover:
            self._compressor = None
        return data[:-4]  # without the 00 00 ff ff that ends every sync flush

    def stomp_closed(self, data: bytes, reason: str) -> None:
        """The STOMP connection closed (for `reason`, its close_reason) after writing `data`: send it, then close."""
        if reason == "DISCONNECT":
            kind: CloseKind = "disconnect"
            if self.settings.disconnect_drops_output:
                data = b""
        else:
            kind = "malformed" if "malformed" in reason else "closed"
        self.send_stomp(data)
        self.close(kind)

    def close(self, kind: CloseKind) -> None:
        """Close the WebSocket for `kind` with the profile's code (None: no close frame, the socket just closes)."""
        if self.finished:
            return
        code = self.settings.close_codes.get(kind)
        if self.open and code is not None and self._ws.state == ConnectionState.OPEN:
            self._out.append(self._ws.send(CloseConnection(code=code)))
            self.close_code = code
        self._finish(kind)

    def _closed_by_peer(self, event: CloseConnection) -> None:
        state = self._ws.state
        if state == ConnectionState.REMOTE_CLOSING:
            self._out.append(self._ws.send(event.response()))  # the answering close
        elif state == ConnectionState.OPEN:  # wsproto found the input invalid (1007 for bad UTF-8, 1002, 1009)
            self._out.append(self._ws.send(CloseConnection(code=event.code)))
        self.close_code = event.code
        self._finish("peer-closed" if event.code < 1002 else f"invalid ({event.code})")

    def _finish(self, kind: str) -> None:
        self.finished = True
        self.close_kind = kind

    def data_to_send(self) -> bytes:
        """What the socket must carry next."""
        out = self._out
        if not out:
            return b""
        data = b"".join(out)
        out.clear()
        return data


_MAX_HEAD = 64 * 1024  # past this the head goes to wsproto whole or not (h11 refuses over 16 KiB: 400)
_VERSION = re.compile(rb"(?im)^(sec-websocket-version:[ \t]*)([0-9]+)([ \t]*\r?)$")


def _as_version_13(data: bytes, versions: tuple[str, ...]) -> bytes:
    """`data` with an older `Sec-WebSocket-Version` the broker takes (7, 8: the same framing) given as 13."""
    end = data.find(b"\r\n\r\n")
    if end < 0 or versions == ("13",):
        return data
    head = data[:end]

    def replace(match: re.Match[bytes]) -> bytes:
        if match.group(2).decode() in versions:
            return match.group(1) + b"13" + match.group(3)
        return match.group(0)

    return _VERSION.sub(replace, head) + data[end:]


def _frame(first: int, body: bytes) -> bytes:
    """A server's unmasked WebSocket frame: `first` is FIN and the opcode (0x81 text, 0x82 binary).

    Text is not checked for UTF-8: RabbitMQ sends bodies that are not as text all the same.
    """
    size = len(body)
    if size < 126:
        head = struct.pack("!BB", first, size)
    elif size < 65536:
        head = struct.pack("!BBH", first, 126, size)
    else:
        head = struct.pack("!BBQ", first, 127, size)
    return head + body


_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    408: "Request Timeout",
    426: "Upgrade Required",
}
