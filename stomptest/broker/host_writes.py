"""The host's write side: a connection's output onto its socket, at once and without blocking.

A reader answers its own client at once (round-trip latency). Output queued for a connection by
another greenlet (MESSAGEs, heart-beats, a close from elsewhere) marks the client dirty; the
dirty clients are flushed once per turn of the loop, and by the reader whose input made the
output as soon as it has handled that input, so that a producer that keeps its reader busy does
not hold deliveries back. Nothing waits to be coalesced: every flush goes to the socket now, in
one `send` per connection, and sockets have TCP_NODELAY (set by host.py), so neither this module
nor the kernel holds a lone delivery back (tests/broker/test_host_writes.py). A client whose
socket would block gets a writer greenlet for as long as it lags; the reader stops reading it
while its output is over the engine's limit. Over WebSocket, `_take` wraps the connection's
bytes into messages through the client's `WebSocketAdapter`.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.ssl
from gevent.greenlet import Greenlet

from stomptest.broker.connection import Connection
from stomptest.broker.engine import Engine
from stomptest.broker.websocket import WebSocketAdapter

__all__ = ["Client", "WriteSide", "close_socket", "send_now"]

log = logging.getLogger("stomptest.broker")


class Client:
    """One client socket: its connection, the greenlet reading it, and one writing only while a write would block."""

    __slots__ = ("connection", "reader", "scheduled", "sniffing", "socket", "writer", "ws")

    def __init__(self, sock: Any, connection: Connection) -> None:
        self.socket = sock
        self.connection = connection
        self.sniffing = True  # the first bytes have not yet told TCP from WebSocket
        self.ws: WebSocketAdapter | None = None
        self.reader: Greenlet | None = None
        self.writer: Greenlet | None = None
        self.scheduled: float | None = None  # the deadline this client has in the host's timer heap


class WriteSide:
    """The part of `Host` that writes: what it needs of the host is set here and by `Host.__init__`."""

    def __init__(self, engine: Engine, ssl_context: Any) -> None:
        self.engine = engine
        self.ssl_context = ssl_context
        self.segment_size: int | None = None  # fault: write in segments of this many bytes
        self.segment_delay = 0.001
        self._clients: dict[int, Client] = {}
        self._dirty: set[Client] = set()  # clients with output queued by another greenlet
        self.persist: Callable[[], None] = _ignore_persist  # writes the engine's journal (Broker, store.py)
        self._flush_scheduled = False
        self._loop: Any = None  # the broker's hub's loop, set by the host once it runs there

    def _spawn(self, function: Callable[..., Any], *args: Any) -> Greenlet:
        raise NotImplementedError  # Host's

    def _take(self, client: Client) -> bytes:
        """What the client's socket must carry next: the connection's bytes, in WebSocket messages if need be."""
        if self.engine.journal:  # durable messages reach the disk before any RECEIPT leaves (store.py)
            self.persist()
        connection = client.connection
        data = connection.data_to_send()
        ws = client.ws
        if ws is None:
            return data
        if connection.closing and not ws.finished:
            ws.stomp_closed(data, connection.close_reason or "")
        else:
            ws.send_stomp(data)
        return ws.data_to_send()

    def _finish(self, client: Client) -> None:
        """The reader is done: send the last bytes (an ERROR, a RECEIPT), then forget the connection."""
        connection = client.connection
        if connection.closing and not connection.closed:
            with contextlib.suppress(OSError, gevent.Timeout), gevent.Timeout(5):
                if client.writer is not None:
                    client.writer.join()
                else:
                    while data := self._take(client):
                        self._send(client.socket, data)
        self._lost(connection)
        self._clients.pop(connection.id, None)
        writer = client.writer
        if writer is not None and writer is not gevent.getcurrent():
            writer.kill(block=False)
        close_socket(client.socket)

    def _flush(self, client: Client) -> None:
        """Send what the connection has queued without blocking; a writer greenlet takes over if it would block."""
        if client.writer is not None:
            return  # the writer sends everything, in order
        connection = client.connection
        raw: Any = getattr(client.socket, "_sock", None)
        inline = raw is not None and not self.segment_size and self.ssl_context is None
        while True:
            data = self._take(client)
            if not data:
                break
            sent = 0
            if inline:
                try:
                    sent = raw.send(data)
                except BlockingIOError:
                    sent = 0
                except OSError:
                    return  # the reader sees the failure and cleans up
            if sent < len(data):
                client.writer = self._spawn(self._write_loop, client, data[sent:])
                return
        if connection.closing and client.reader is not gevent.getcurrent():
            self._lost(connection)  # closed from elsewhere: done before the client can see end of file
            with contextlib.suppress(OSError):  # the reader sees end of file and finishes
                client.socket.shutdown(socket.SHUT_RDWR)

    @staticmethod
    def _lost(connection: Connection) -> None:
        if not connection.closed:
            connection.connection_lost(time.time())
            log.info("connection %d closed: %s", connection.id, connection.close_reason)

    def _write_loop(self, client: Client, backlog: bytes) -> None:
        """Send to a client that does not keep up (or in tiny segments, or over TLS), then stop."""
        connection = client.connection
        try:
            data = backlog
            while data:
                self._send(client.socket, data)
                data = self._take(client)
            if connection.closing and client.reader is not gevent.getcurrent():
                self._lost(connection)
                client.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        finally:
            client.writer = None

    def _send(self, sock: Any, data: bytes) -> None:
        size = self.segment_size
        if not size:
            sock.sendall(data)
            return
        for start in range(0, len(data), size):
            sock.sendall(data[start : start + size])
            gevent.sleep(self.segment_delay)

    def _on_output(self, connection: Connection) -> None:
        client = self._clients.get(connection.id)
        if client is None:
            return
        self._dirty.add(client)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.run_callback(self._flush_dirty)

    def _flush_dirty(self) -> None:
        """Output queued for other connections (MESSAGEs, heart-beats), sent once per turn of the loop."""
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, set()
        for client in dirty:
            if client.connection.id in self._clients:
                self._flush(client)

    # -- timers: one greenlet and a heap for every connection's heart-beats, delays and CONNECT timeout


def send_now(sock: Any, data: bytes) -> None:
    """Best effort, without waiting for a slow reader (used when stopping)."""
    raw = getattr(sock, "_sock", None)
    try:
        if raw is not None and not isinstance(sock, gevent.ssl.SSLSocket):
            raw.send(data)
    except OSError:
        pass


def close_socket(sock: Any) -> None:
    with contextlib.suppress(OSError):
        sock.close()


def _ignore_persist() -> None:
    pass
