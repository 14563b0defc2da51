"""A raw, blocking STOMP-over-WebSocket client for tests: wsproto over a plain socket, nothing hidden.

It shows every WebSocket message as it came (text or binary, one per item), the subprotocol
answered, an HTTP status that refused the upgrade, and the close code, so tests can compare a
broker's WebSocket behaviour with its profile's settings.
"""

from __future__ import annotations

import socket
import ssl
import time
from dataclasses import dataclass, field

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.extensions import Extension, PerMessageDeflate

CONNECT = b"CONNECT\naccept-version:1.0,1.1,1.2\nhost:/\nlogin:guest\npasscode:guest\n\n\x00"


@dataclass
class Received:
    """One WebSocket message from the broker."""

    binary: bool
    data: bytes


@dataclass
class WSClient:
    port: int
    path: str = "/ws"
    subprotocols: tuple[str, ...] = ("v12.stomp", "v11.stomp", "v10.stomp")
    deflate: bool = False
    messages: list[Received] = field(default_factory=list)
    accepted: AcceptConnection | None = None
    rejected: int | None = None  # the HTTP status of a refused upgrade
    close_code: int | None = None  # the broker's close frame (1006: the connection ended without one)
    ended: bool = False  # end of file or reset
    tls: ssl.SSLContext | None = None  # wss://

    def __post_init__(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        if self.tls is not None:
            self.sock = self.tls.wrap_socket(self.sock)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self._text: list[str] = []
        self._binary: list[bytes] = []
        extensions: list[Extension] = [PerMessageDeflate()] if self.deflate else []
        request = Request(
            host=f"127.0.0.1:{self.port}",
            target=self.path,
            subprotocols=list(self.subprotocols),
            extensions=extensions,
        )
        self.sock.sendall(self.ws.send(request))
        self.pump(lambda: self.accepted is not None or self.rejected is not None or self.ended, 5.0)

    # -- sending

    def text(self, data: bytes | str, final: bool = True) -> None:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        self.sock.sendall(self.ws.send(TextMessage(data=text, message_finished=final)))

    def binary(self, data: bytes, final: bool = True) -> None:
        self.sock.sendall(self.ws.send(BytesMessage(data=data, message_finished=final)))

    def connect(self) -> bytes:
        """CONNECT in a text message; the payload of the first message back."""
        self.text(CONNECT)
        self.pump(lambda: bool(self.messages) or self.ended, 5.0)
        assert self.messages, f"no answer to CONNECT (close {self.close_code})"
        return self.messages.pop(0).data

    # -- receiving

    def pump(self, until: object, timeout: float) -> bool:
        """Read until `until()` is true (returns True) or `timeout` s pass or the connection ends."""
        check = until if callable(until) else (lambda: False)
        deadline = time.monotonic() + timeout
        while not check():
            if self.ended:
                return bool(check())
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except (TimeoutError, ssl.SSLWantReadError):
                return bool(check())
            except OSError:
                data = b""
            if not data:
                self.ended = True
                if self.close_code is None:
                    self.close_code = 1006
                return bool(check())
            self.ws.receive_data(data)
            for event in self.ws.events():
                self._event(event)
        return True

    def wait_for(self, prefix: bytes, timeout: float = 5.0) -> Received | None:
        """The first message received whose payload starts with `prefix` (taken out of `messages`)."""

        def found() -> bool:
            return any(m.data.startswith(prefix) for m in self.messages)

        self.pump(found, timeout)
        for index, message in enumerate(self.messages):
            if message.data.startswith(prefix):
                return self.messages.pop(index)
        return None

    def _event(self, event: Event) -> None:
        if isinstance(event, AcceptConnection):
            self.accepted = event
        elif isinstance(event, RejectConnection):
            self.rejected = event.status_code
        elif isinstance(event, TextMessage):
            self._text.append(event.data)
            if event.message_finished:
                self.messages.append(Received(False, "".join(self._text).encode("utf-8")))
                self._text.clear()
        elif isinstance(event, BytesMessage):
            self._binary.append(bytes(event.data))
            if event.message_finished:
                self.messages.append(Received(True, b"".join(self._binary)))
                self._binary.clear()
        elif isinstance(event, CloseConnection):
            if self.close_code is None:
                self.close_code = event.code
        elif isinstance(event, Ping):
            self.sock.sendall(self.ws.send(event.response()))

    def close(self) -> None:
        self.sock.close()


def raw_http(port: int, request: bytes, timeout: float = 1.0, status_only: bool = False) -> tuple[int | None, bool]:
    """Send `request` on a new connection: (the HTTP status answered or None, whether the broker closed it).

    Reads until the broker closes or `timeout` s pass; with `status_only`, also stops once an answer's head
    (status line and headers) is in, for a caller that reads the close only when no status came (a broker that
    keeps the connection open after its answer costs no wait then).
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        if request:
            sock.sendall(request)
        data = b""
        closed = False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                break
            except OSError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            data += chunk
            if status_only and data.startswith(b"HTTP/1.1 ") and b"\r\n\r\n" in data:
                break
    if data.startswith(b"HTTP/1.1 "):
        return int(data[9:12]), closed
    return None, closed
