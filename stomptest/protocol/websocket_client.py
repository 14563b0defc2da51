"""`WebSocketClient`: the client end of STOMP over one WebSocket (RFC 6455), sans-IO, on wsproto.

Theory of operation. `ClientConnection` (connection.py) puts one of these between the socket
and its STOMP byte stream when the URL is ws:// or wss://: the socket's bytes go in through
`receive_data`, which returns the STOMP bytes the messages carried, in order, and what ended
the WebSocket if something did; the connection's queued frames go out through `send`, one
STOMP frame (or heart-beat) per message, as every broker measured here sends them and
ActiveMQ Classic needs them (it reads one frame per text message). Nothing here knows STOMP.

Choices, and why:

* Subprotocols: those of the STOMP versions offered (v12.stomp, v11.stomp, v10.stomp by
  default), most preferred first (client/transport.py picks them). The
  answer is recorded (`subprotocol`) but decides nothing: the CONNECT frame's accept-version
  negotiates the STOMP version, as it does over TCP, and a broker answering none (RabbitMQ and
  Artemis when offered none they know, measured) still speaks STOMP.
* Text or binary: a frame that is UTF-8 goes as a text message, any other as binary (what the
  RFC allows and what stompjs does). RabbitMQ 3.10 web-stomp and Artemis 2.40 take both
  (measured: docs/websocket.md). Messages go out in WebSocket frames of at most
  `FRAGMENT_BYTES`: Artemis resets a connection on a frame over 65,536 bytes but takes a
  longer message in fragments (measured).
* Receiving is strict, as a browser is: a text message that is not UTF-8 fails the
  WebSocket with 1007 (RabbitMQ sends every frame as text, so a body that is not UTF-8
  breaks a conforming client: measured, and said in the error).
* Ping is answered with pong; a close from the broker is answered and reported with its
  code and reason as a `ConnectionLost`; no permessage-deflate is offered (STOMP frames are
  small and the CPU matters more than the bytes on a test machine).
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Final

from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

from stomptest.protocol.errors import ConnectionLost
from stomptest.protocol.websocket import SUBPROTOCOLS

FRAGMENT_BYTES: Final = 65536
"""The largest WebSocket frame sent; a longer message goes in fragments (Artemis' limit per frame, measured)."""

# RFC 6455 section 7.4.1, and the IANA registry's 1012-1014.
CLOSE_CODES: Final = {
    1000: "normal closure",
    1001: "going away",
    1002: "protocol error",
    1003: "unsupported data",
    1005: "no status code",
    1006: "closed without a close frame",
    1007: "invalid frame payload data",
    1008: "policy violation",
    1009: "message too big",
    1010: "mandatory extension",
    1011: "internal error",
    1012: "service restart",
    1013: "try again later",
    1014: "bad gateway",
}


class WebSocketClosed(ConnectionLost):
    """The WebSocket ended: the broker closed it, refused the upgrade, or sent what RFC 6455 forbids.

    `code` is the close code (the broker's, or the one we failed the WebSocket with), `status`
    the HTTP status of a refused upgrade; None where there was none.
    """

    def __init__(self, message: str, *, code: int | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def describe_close(code: int | None, reason: str | None) -> str:
    """`1007 (invalid frame payload data): reason` for messages."""
    if code is None:
        return "no close code"
    name = CLOSE_CODES.get(code, "private use" if code >= 4000 else "unknown code")
    return f"{code} ({name})" + (f": {reason}" if reason else "")


class WebSocketClient:
    """One WebSocket's client end: the opening handshake, then STOMP bytes in messages both ways.

    `host` is the Host header (``host:port``), `target` the request path. Not thread-safe:
    the `ClientConnection` that owns it is called under its shell's lock.
    """

    __slots__ = ("_parts", "_pending", "_target", "_ws", "closed", "host", "messages", "opened", "subprotocol")

    def __init__(
        self,
        host: str,
        target: str = "/",
        subprotocols: tuple[str, ...] = SUBPROTOCOLS,
        *,
        keep_messages: bool = False,
    ) -> None:
        self.host = host
        self._target = target
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._pending = self._ws.send(Request(host=host, target=target, subprotocols=list(subprotocols)))
        self.messages: list[tuple[str, bytes]] | None = [] if keep_messages else None
        """With `keep_messages`: each whole message received, as ("text" or "binary", payload) (for probes)."""
        self._parts: list[bytes] = []
        self.opened = False
        """The broker accepted the upgrade: STOMP may flow."""
        self.subprotocol: str | None = None
        """The subprotocol the broker chose (None: it named none)."""
        self.closed: WebSocketClosed | None = None
        """Why the WebSocket ended, once it has (a close, a refused upgrade, a broken message)."""

    def __repr__(self) -> str:
        return f"<WebSocketClient {self.host}{self._target} {self._ws.state.name}>"

    @property
    def has_data_to_send(self) -> bool:
        """The handshake request, a pong or a close reply waits to be written."""
        return bool(self._pending)

    def data_to_send(self) -> bytes:
        """The handshake request or the control replies due (b"" when none)."""
        data, self._pending = self._pending, b""
        return data

    def send(self, chunks: list[bytes]) -> bytes:
        """Each chunk (a whole STOMP frame or a heart-beat) as a message of its own; b"" before the upgrade."""
        if not self.opened or self.closed is not None:
            return self.data_to_send()  # before the upgrade: nothing; after a close: its reply at most
        send = self._ws.send
        out = [self._pending] if self._pending else []
        self._pending = b""
        for chunk in chunks:
            if len(chunk) <= FRAGMENT_BYTES:
                try:
                    out.append(send(TextMessage(data=chunk.decode("utf-8"))))
                except UnicodeDecodeError:
                    out.append(send(BytesMessage(data=chunk)))
            else:
                out.extend(self._fragments(chunk))
        return b"".join(out)

    def _fragments(self, chunk: bytes) -> list[bytes]:
        """A long message in frames of at most FRAGMENT_BYTES, text cut only between characters."""
        send = self._ws.send
        try:
            chunk.decode("utf-8")
        except UnicodeDecodeError:
            last = len(chunk) - 1
            return [
                send(BytesMessage(data=chunk[at : at + FRAGMENT_BYTES], message_finished=at + FRAGMENT_BYTES > last))
                for at in range(0, len(chunk), FRAGMENT_BYTES)
            ]
        out = []
        start = 0
        while start < len(chunk):
            end = min(start + FRAGMENT_BYTES, len(chunk))
            while end < len(chunk) and chunk[end] & 0xC0 == 0x80:  # a continuation byte: back to a character start
                end -= 1
            out.append(send(TextMessage(data=chunk[start:end].decode("utf-8"), message_finished=end == len(chunk))))
            start = end
        return out

    def receive_data(self, data: bytes) -> bytes:
        """The STOMP bytes `data` carried; sets `opened`, `subprotocol`, `closed` and queues replies as they come."""
        if self.closed is not None:
            return b""
        ws = self._ws
        try:
            ws.receive_data(data)
            out: list[bytes] = []
            for event in ws.events():
                if isinstance(event, TextMessage):
                    out.append(event.data.encode("utf-8"))
                    if self.messages is not None:
                        self._keep("text", out[-1], event.message_finished)
                elif isinstance(event, BytesMessage):
                    out.append(bytes(event.data))
                    if self.messages is not None:
                        self._keep("binary", out[-1], event.message_finished)
                elif isinstance(event, Ping):
                    self._pending += ws.send(event.response())
                elif isinstance(event, AcceptConnection):
                    self.opened = True
                    self.subprotocol = event.subprotocol
                elif isinstance(event, CloseConnection):
                    self._close(event)
                    break
                elif isinstance(event, (RejectConnection, RejectData)):
                    self._rejected(event)
                    break
        except RemoteProtocolError as exc:
            what = "its answer to the upgrade" if not self.opened else "it"
            self.closed = WebSocketClosed(
                f"the broker at {self.host} broke the WebSocket protocol in {what}: {exc} "
                "(is this the broker's WebSocket port and path? STOMP over TCP wants tcp://)"
            )
            return b""
        return b"".join(out)

    def _keep(self, kind: str, part: bytes, finished: bool) -> None:
        self._parts.append(part)
        if finished and self.messages is not None:
            self.messages.append((kind, b"".join(self._parts)))
            self._parts.clear()

    def close(self, code: int = 1000) -> bytes:
        """The close frame that ends the WebSocket from our side (b"" when it is not open or already closing)."""
        if not self.opened or self.closed is not None or self._ws.state is not ConnectionState.OPEN:
            return b""
        return self.data_to_send() + self._ws.send(CloseConnection(code=code))

    def message(self, data: bytes, *, binary: bool | None = None, fragments: int | None = None) -> bytes:
        """`data` as one message of the type asked (None: text when UTF-8); for probes.

        It goes in `fragments` WebSocket frames (text cut only between characters), or by
        default in frames of at most FRAGMENT_BYTES, as `send` does.
        """
        if binary is None:
            try:
                data.decode("utf-8")
                binary = False
            except UnicodeDecodeError:
                binary = True
        size = FRAGMENT_BYTES if fragments is None else max(1, -(-len(data) // fragments))
        cuts = [0]
        while cuts[-1] < len(data):
            end = min(cuts[-1] + size, len(data))
            while not binary and cuts[-1] < end < len(data) and data[end] & 0xC0 == 0x80:
                end -= 1  # not inside a character
            cuts.append(end if end > cuts[-1] else min(cuts[-1] + size, len(data)))
        pairs = list(itertools.pairwise(cuts)) or [(0, 0)]
        out = []
        for index, (start, end) in enumerate(pairs):
            last = index == len(pairs) - 1
            piece = data[start:end]
            if binary:
                out.append(self._ws.send(BytesMessage(data=piece, message_finished=last)))
            else:
                out.append(self._ws.send(TextMessage(data=piece.decode("utf-8"), message_finished=last)))
        return b"".join(out)

    def _close(self, event: CloseConnection) -> None:
        ws = self._ws
        described = describe_close(event.code, event.reason)
        if ws.state is ConnectionState.REMOTE_CLOSING:
            self._pending += ws.send(event.response())
            self.closed = WebSocketClosed(f"the broker closed the WebSocket with {described}", code=event.code)
            return
        # wsproto found the broker's message invalid (the event is ours to send): fail the WebSocket, RFC 6455 7.1.7.
        hint = (
            " (RabbitMQ sends every frame as a text message, so a body that is not UTF-8 breaks any conforming client)"
            if event.code == 1007
            else ""
        )
        with contextlib.suppress(LocalProtocolError):
            self._pending += ws.send(CloseConnection(code=event.code, reason=event.reason))
        self.closed = WebSocketClosed(
            f"the broker sent an invalid WebSocket message, closed with {described}{hint}", code=event.code
        )

    def _rejected(self, event: RejectConnection | RejectData) -> None:
        status = getattr(event, "status_code", None)
        hint = " (RabbitMQ web-stomp serves /ws; Artemis any path)" if status == 404 else ""
        self.closed = WebSocketClosed(
            f"the broker at {self.host} refused the WebSocket upgrade of {self._target}"
            + (f" with HTTP {status}" if status is not None else "")
            + hint,
            status=status,
        )


__all__ = ["CLOSE_CODES", "FRAGMENT_BYTES", "WebSocketClient", "WebSocketClosed", "describe_close"]
