"""A scripted STOMP server for testing the conformance machinery without a broker."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator

import pytest

Handler = Callable[[socket.socket], None]


class ScriptedServer:
    """Accepts connections on loopback and hands each to `handler` in its own thread."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            self.handler(conn)

    def close(self) -> None:
        self.listener.close()
        for conn in self.connections:
            conn.close()


def read_frame(conn: socket.socket) -> bytes:
    """Bytes up to and including the next NUL (enough for the small frames these tests send)."""
    data = b""
    while not data.endswith(b"\x00"):
        chunk = conn.recv(1)
        if not chunk:
            raise OSError("client closed")
        data += chunk
    return data


def connected_then(answers: Callable[[socket.socket], None] | None = None) -> Handler:
    """A handler that answers CONNECT with CONNECTED (server:Scripted/1), then runs `answers`."""

    def handle(conn: socket.socket) -> None:
        read_frame(conn)
        conn.sendall(b"CONNECTED\nversion:1.2\nserver:Scripted/1\n\n\x00")
        if answers is not None:
            answers(conn)
        else:
            while conn.recv(1024):
                pass

    return handle


@pytest.fixture
def scripted() -> Iterator[Callable[[Handler], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(handler: Handler) -> ScriptedServer:
        server = ScriptedServer(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()
