"""A minimal blocking STOMP client over a plain socket, for host tests."""

from __future__ import annotations

import socket
import time

from stomptest.protocol import Frame, Heartbeat, Parser


class RawClient:
    def __init__(self, port: int, host: str = "127.0.0.1", version: str = "1.2") -> None:
        self.sock = socket.create_connection((host, port), timeout=5)
        self.parser = Parser(version)
        self.items: list[Frame | Heartbeat] = []
        self.closed = False

    def send(self, command: str, headers: dict[str, str] | None = None, body: bytes | str = b"") -> None:
        self.sock.sendall(Frame(command, headers or {}, body).encode(self.parser.version))

    def raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def connect(self, version: str = "1.2", **headers: str) -> Frame:
        self.parser.version = version
        self.send("CONNECT", {"accept-version": version, "host": "/", **headers})
        return self.expect("CONNECTED")

    def _fill(self, timeout: float) -> bool:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return True
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        self.items += self.parser.feed(data)
        return True

    def next(self, timeout: float = 5.0, heartbeats: bool = False) -> Frame | Heartbeat | None:
        deadline = time.monotonic() + timeout
        while True:
            for index, item in enumerate(self.items):
                if heartbeats or isinstance(item, Frame):
                    del self.items[: index + 1]
                    return item
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.closed or not self._fill(remaining):
                return None

    def expect(self, command: str, timeout: float = 5.0) -> Frame:
        item = self.next(timeout)
        assert isinstance(item, Frame), f"expected {command}, got {item!r}"
        assert item.command == command, f"expected {command}, got {item!r}"
        return item

    def wait_closed(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self._fill(deadline - time.monotonic())
        return self.closed

    def close(self) -> None:
        self.sock.close()
