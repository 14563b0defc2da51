"""A raw STOMP connection for conformance checks: bytes out, parsed frames in, every step logged.

Checks need to send what no well-behaved client would (split or packed segments, CR LF,
bad escapes), so this speaks to the socket directly with the codec and keeps a transcript
that a failed check shows as "what was sent, what came back".

Over WebSocket (a ws:// or wss:// target) the probe makes the upgrade first, then each
write is one WebSocket message: what a check sends in one piece goes in one message, and
`send_parts` sends a frame split over several messages, so every check also tests how the
broker maps frames to messages. `websocket.messages` keeps each message received.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stomptest.protocol.errors import FrameError
from stomptest.protocol.frame import Frame, Heartbeat
from stomptest.protocol.parser import Parser

if TYPE_CHECKING:
    from stomptest.protocol.websocket_client import WebSocketClient

Item = Frame | Heartbeat

_MAX_LOGGED_BYTES = 400


class ProbeClosed(Exception):
    """The broker closed the connection while the probe was waiting for something."""


class ProbeTimeout(Exception):
    """Nothing matching arrived in time."""


@dataclass
class Transcript:
    """Lines of `>` (sent) and `<` (received) traffic, shared by the probes of one check."""

    lines: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    start: float = field(default_factory=time.monotonic)

    def add(self, label: str, arrow: str, text: str) -> None:
        stamp = time.monotonic() - self.start
        with self.lock:
            self.lines.append(f"{stamp:6.2f}s {label} {arrow} {text}")


def show_bytes(data: bytes) -> str:
    """Bytes as a readable one-line literal, shortened when long."""
    if len(data) > _MAX_LOGGED_BYTES:
        return repr(data[:_MAX_LOGGED_BYTES])[:-1] + f"...' ({len(data)} bytes)"
    return repr(data)


def show_frame(frame: Frame) -> str:
    headers = " ".join(f"{name}:{value}" for name, value in frame.raw_headers)
    body = frame.body
    text = f"{frame.command} [{headers}]"
    if body:
        text += f" body={body[:120]!r}" + (f"... ({len(body)} bytes)" if len(body) > 120 else "")
    if len(text) > _MAX_LOGGED_BYTES:
        text = text[:_MAX_LOGGED_BYTES] + "..."
    return text


class Probe:
    """One TCP (or, with `ssl_context`, TLS; with `websocket_path`, WebSocket) connection to the broker under test.

    Received frames queue up in `backlog`; `wait_for` takes the first one that matches
    and leaves the others for later, so a check can wait for a RECEIPT while MESSAGEs
    arrive around it. Heart-beats are not queued: their arrival times go to `heartbeats`.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        version: str = "1.2",
        timeout: float = 5.0,
        label: str = "c",
        transcript: Transcript | None = None,
        ssl_context: ssl.SSLContext | None = None,
        websocket_path: str | None = None,
        subprotocols: tuple[str, ...] | None = None,
    ) -> None:
        self.label = label
        self.timeout = timeout
        self.transcript = transcript if transcript is not None else Transcript()
        self.parser = Parser(version)
        self.backlog: list[Frame] = []
        self.heartbeats: list[float] = []
        self.closed = False
        self.close_reason = ""
        self.last_received = time.monotonic()
        sock = socket.create_connection((host, port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if ssl_context is not None:  # a TLS target: the handshake happens here, under `timeout`
                sock = ssl_context.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        self.websocket: WebSocketClient | None = None
        if websocket_path is not None:
            from stomptest.protocol.websocket_client import WebSocketClient

            name = f"[{host}]" if ":" in host else host
            offered = subprotocols if subprotocols is not None else ("v12.stomp", "v11.stomp", "v10.stomp")
            self.websocket = WebSocketClient(f"{name}:{port}", websocket_path, offered, keep_messages=True)
            self._upgrade()

    def _upgrade(self) -> None:
        """The WebSocket opening handshake; raises ProbeClosed when the broker refuses it or says nothing."""
        ws = self.websocket
        assert ws is not None
        request = ws.data_to_send()
        self.transcript.add(self.label, ">", show_bytes(request))
        self.sock.sendall(request)
        deadline = time.monotonic() + self.timeout
        while not ws.opened:
            left = deadline - time.monotonic()
            if self.closed or left <= 0:
                self.sock.close()
                raise ProbeClosed(
                    f"no WebSocket upgrade within {self.timeout:.1f}s ({self.close_reason or 'no answer'})"
                )
            self._read(left)
        self.transcript.add(self.label, "<", f"(WebSocket open, subprotocol {ws.subprotocol or '(none)'})")

    @property
    def close_code(self) -> int | None:
        """The WebSocket close code the broker sent (or we failed the connection with); None without one."""
        ws = self.websocket
        return ws.closed.code if ws is not None and ws.closed is not None else None

    @property
    def version(self) -> str:
        return self.parser.version

    @version.setter
    def version(self, version: str) -> None:
        self.parser.version = version

    # -- sending

    def send_raw(self, data: bytes, *, binary: bool | None = None, fragments: int | None = None) -> None:
        """Write `data`; over WebSocket as one message (`binary`: its type, None: text when UTF-8)."""
        self.transcript.add(self.label, ">", show_bytes(data))
        if self.websocket is not None:
            data = self.websocket.message(data, binary=binary, fragments=fragments)
        try:
            self.sock.sendall(data)
        except OSError as exc:
            # the broker may have answered (an ERROR for an oversize frame, say) before closing: keep it
            while self._read(0.2):
                pass
            self._mark_closed(f"send failed: {exc}")
            raise ProbeClosed(f"the broker closed the connection while we were sending ({exc})") from None

    def send(self, frame: Frame, *, content_length: bool = False) -> None:
        self.send_raw(frame.encode(self.version, content_length=content_length))

    def send_parts(self, parts: Iterable[bytes], delay: float = 0.05) -> None:
        """Send each part in its own write, pausing so that each travels as its own TCP segment."""
        for index, part in enumerate(parts):
            if index:
                time.sleep(delay)
            self.send_raw(part)

    # -- receiving

    def _read(self, timeout: float) -> bool:
        """Read once (at most `timeout` seconds); False on timeout or close."""
        if self.closed:
            return False
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return False
        except OSError as exc:
            self._mark_closed(f"connection reset ({exc})")
            return False
        if not data:
            self._mark_closed("the broker closed the connection")
            return False
        now = time.monotonic()
        self.last_received = now
        ws = self.websocket
        if ws is not None:
            data = ws.receive_data(data)
            if ws.has_data_to_send:
                with contextlib.suppress(OSError):
                    self.sock.sendall(ws.data_to_send())
        try:
            items = self.parser.feed(data)
        except Exception as exc:  # FrameError, or a codec bug: either way show the bytes that caused it
            if isinstance(exc, FrameError):
                self._take(exc.frames, now)
            self.transcript.add(self.label, "<", f"unparseable bytes: {exc} {show_bytes(data)}")
            self._mark_closed(f"the broker sent bytes we cannot parse: {exc}")
            return False
        self._take(items, now)
        if ws is not None and ws.closed is not None:
            self._mark_closed(str(ws.closed))
            return False
        return True

    def _take(self, items: Iterable[Item], now: float) -> None:
        for item in items:
            if isinstance(item, Frame):
                self.transcript.add(self.label, "<", show_frame(item))
                self.backlog.append(item)
                if item.command == "CONNECTED" and item.headers.get("version") in ("1.1", "1.2"):
                    self.parser.version = item.headers["version"]
            else:
                self.heartbeats.append(now)

    def _mark_closed(self, reason: str) -> None:
        if not self.closed:
            self.closed = True
            self.close_reason = reason
            self.transcript.add(self.label, "<", f"(closed: {reason})")

    def poll(self, seconds: float) -> None:
        """Keep reading for `seconds` (or until closed), queueing what arrives."""
        deadline = time.monotonic() + seconds
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._read(left)

    def wait_for(self, match: Callable[[Frame], bool], timeout: float | None = None, what: str = "a frame") -> Frame:
        """The first queued or arriving frame for which `match` is true; raises on timeout or close."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            for index, frame in enumerate(self.backlog):
                if match(frame):
                    del self.backlog[index]
                    return frame
            if self.closed:
                raise ProbeClosed(f"connection closed while waiting for {what} ({self.close_reason})")
            left = deadline - time.monotonic()
            if left <= 0:
                raise ProbeTimeout(f"no {what} within {self.timeout if timeout is None else timeout:.1f}s")
            self._read(left)

    def next_frame(self, timeout: float | None = None) -> Frame:
        return self.wait_for(lambda _frame: True, timeout, "frame")

    def maybe(self, match: Callable[[Frame], bool], timeout: float) -> Frame | None:
        """Like `wait_for` but None when nothing matches in time or the connection closes."""
        try:
            return self.wait_for(match, timeout)
        except (ProbeTimeout, ProbeClosed):
            return None

    def receipt(self, receipt_id: str, timeout: float | None = None) -> Frame:
        """The RECEIPT for `receipt_id`, or an ERROR that arrives first (returned, not raised)."""
        return self.wait_for(
            lambda f: (f.command == "RECEIPT" and f.headers.get("receipt-id") == receipt_id) or f.command == "ERROR",
            timeout,
            f"RECEIPT receipt-id:{receipt_id}",
        )

    def messages(self, count: int, timeout: float | None = None, destination: str | None = None) -> list[Frame]:
        """The next `count` MESSAGE frames (to `destination` when given)."""
        return [
            self.wait_for(
                lambda f: (
                    f.command == "MESSAGE" and (destination is None or f.headers.get("destination") == destination)
                ),
                timeout,
                "MESSAGE",
            )
            for _ in range(count)
        ]

    def wait_closed(self, timeout: float) -> bool:
        """True when the broker closes the connection within `timeout` seconds."""
        self.poll(timeout)
        return self.closed

    def close(self) -> None:
        self.sock.close()  # closing twice is harmless
        self.closed = True

    def __enter__(self) -> Probe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
