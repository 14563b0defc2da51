"""The gevent host: sockets in front of an `Engine`. With hub.py and host_writes.py, the only gevent importers.

Theory of operation. When the caller is not monkey-patched, the broker gets a native
thread with its own hub, and every call from the test thread is posted to that hub
through a thread-safe async watcher (`call`), so the engine is only ever touched by one
thread. When the caller is patched, the broker's greenlets run in the caller's hub and
calls run inline. Per client there is one greenlet, which reads, feeds the connection and
answers at once; how output reaches the sockets (at once, without blocking; a writer greenlet
only for a client that does not keep up) is host_writes.py's, which `Host` extends. One timer
greenlet with a heap serves every connection's heart-beats, delayed frames and CONNECT
timeout. One port serves STOMP over TCP and over WebSocket: a connection whose first bytes
are `GET ` gets a `WebSocketAdapter` (websocket.py) between its socket and its `Connection`,
which never learns the difference; until its handshake is done the reader waits no longer
than the profile's handshake timeout. Only `stomptest.broker.broker` imports this module, lazily.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import socket
import ssl
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

import gevent
import gevent.event
import gevent.socket
import gevent.ssl
from gevent.greenlet import Greenlet

from stomptest.broker.connection import Connection
from stomptest.broker.engine import Engine
from stomptest.broker.host_writes import Client, WriteSide, close_socket, send_now
from stomptest.broker.hub import Box, caller_is_patched, run_hub_thread
from stomptest.broker.websocket import WebSocketAdapter, looks_like_websocket

log = logging.getLogger("stomptest.broker")

T = TypeVar("T")

_QUICKACK = getattr(socket, "TCP_QUICKACK", None)
_RECV_SIZE = 256 * 1024
# A reader whose socket always has data never yields: after this many bytes it gives the loop one turn
# (timers, host calls, other connections), by a sleep of _TURN s. That sleep lasts up to a millisecond
# (epoll counts in ms) when nothing else is pending: once per 2 MiB (about 150 ms of work) costs < 1 %.
_TURN_BYTES = 2 * 1024 * 1024
_TURN = 0.0001
_CALL_TIMEOUT = 30.0


class Host(WriteSide):
    """Listens on a TCP port and serves an engine; `start()` returns once it accepts connections."""

    def __init__(
        self,
        engine: Engine,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(engine, ssl_context)
        self.host = host
        self.port = port
        self._greenlets: set[Greenlet] = set()
        self._listener: Any = None
        self._acceptor: Greenlet | None = None
        self._thread: threading.Thread | None = None
        self._thread_ident: int | None = None
        self._inline = False
        self._calls: deque[tuple[Callable[[], Any], Box, bool]] = deque()
        self._async: Any = None
        self._stopped: gevent.event.Event | None = None
        self._refusing: Greenlet | None = None
        self._placeholder: socket.socket | None = None  # holds the port while refusing connections
        self._timers: list[tuple[float, int]] = []  # (deadline, connection id), a heap
        self._timer_wake: Any = None  # a gevent Event, made in the broker's hub
        self.running = False

    # -- lifecycle (caller's thread)

    def start(self) -> None:
        listener = self._bind()
        self.port = listener.getsockname()[1]
        self.engine.port = self.port
        self.engine.on_output = self._on_output
        if caller_is_patched():
            self._inline = True
            self._start_in_hub()
            self._setup(listener)
            self.running = True
            return
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=run_hub_thread,
            args=(self._thread_main, listener, ready, failure),
            name=f"stomptest-broker-{self.port}",
            daemon=True,
        )
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            raise failure[0]
        self.running = True

    def stop(self) -> None:
        if not self.running:
            return
        self.running = False
        try:
            self._stop()
        finally:
            if self.engine.on_output == self._on_output:
                self.engine.on_output = _ignore  # the engine outlives this host: let the host be freed

    def _stop(self) -> None:
        if self._inline:
            self._shutdown()
            gevent.killall(list(self._greenlets), block=True, timeout=5)
            return
        thread = self._thread
        assert thread is not None
        if thread.is_alive():
            with contextlib.suppress(RuntimeError):
                self.call(self._shutdown)
        thread.join(10)

    def call(self, function: Callable[[], T], *, blocking: bool = False) -> T:
        """Run `function` in the broker's hub and return its result (thread-safe).

        A `blocking` function runs in a greenlet of its own, so it may wait on gevent.
        """
        if self._inline or (not self.running and self._thread is None):
            return function()
        if threading.get_ident() == self._thread_ident:
            return function()
        thread = self._thread
        if thread is None or not thread.is_alive():
            raise RuntimeError("the broker's thread is not running; start() the broker first")
        box = Box()
        self._calls.append((function, box, blocking))
        self._async.send()
        if not box.done.wait(_CALL_TIMEOUT):
            raise RuntimeError(f"the broker's thread did not answer within {_CALL_TIMEOUT:g} s")
        if box.error is not None:
            raise box.error
        result: T = box.result
        return result

    # -- inside the hub

    def _thread_main(self, listener: socket.socket, ready: threading.Event, failure: list[BaseException]) -> None:
        """Serve until stopped (runs in the broker's thread; `run_hub_thread` destroys the hub after)."""
        hub = gevent.get_hub()
        try:
            self._thread_ident = threading.get_ident()
            self._async = hub.loop.async_()
            self._async.start(self._run_calls)
            self._stopped = gevent.event.Event()
            self._start_in_hub()
            self._setup(listener)
        except BaseException as exc:
            failure.append(exc)
            ready.set()
            return
        ready.set()
        try:
            self._stopped.wait()
            gevent.killall(list(self._greenlets), block=True, timeout=5)
        finally:
            self._async.close()
            self._async = None
            self._run_calls()  # answer anything posted while stopping

    def _run_calls(self) -> None:
        calls = self._calls
        while calls:
            function, box, blocking = calls.popleft()
            if blocking and self._stopped is not None and not self._stopped.is_set():
                self._spawn(self._run_call, function, box)
            else:
                self._run_call(function, box)

    @staticmethod
    def _run_call(function: Callable[[], Any], box: Box) -> None:
        try:
            box.result = function()
        except BaseException as exc:
            box.error = exc
        box.done.set()

    def _bind(self, listen: bool = True) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self.port))
            if listen:
                listener.listen(1024)
        except BaseException:
            listener.close()
            raise
        return listener

    def _start_in_hub(self) -> None:
        self._loop = gevent.get_hub().loop
        self._timer_wake = gevent.event.Event()
        self._spawn(self._timer_loop)

    def _setup(self, listener: socket.socket) -> None:
        self._listener = gevent.socket.socket(listener.family, listener.type, fileno=listener.detach())
        self._acceptor = self._spawn(self._accept_loop, self._listener)

    def _spawn(self, function: Callable[..., Any], *args: Any) -> Greenlet:
        greenlet = Greenlet(function, *args)
        self._greenlets.add(greenlet)
        greenlet.rawlink(self._greenlets.discard)
        greenlet.start()
        return greenlet

    def _accept_loop(self, listener: Any) -> None:
        while True:
            try:
                sock, address = listener.accept()
            except OSError as exc:
                if listener is not self._listener or listener.fileno() < 0:
                    return
                log.warning("accept failed: %s", exc)
                gevent.sleep(0.05)
                continue
            self._spawn(self._serve, sock, address)

    def _serve(self, sock: Any, address: Any) -> None:
        peer = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.ssl_context is not None:
                sock = gevent.ssl.SSLSocket(
                    sock=sock, server_side=True, do_handshake_on_connect=False, _context=self.ssl_context
                )
                with gevent.Timeout(10):
                    sock.do_handshake()
        except (OSError, gevent.Timeout) as exc:
            log.info("connection from %s failed before STOMP: %s", peer, exc)
            sock.close()
            return
        connection = Connection(self.engine, peer, time.time())
        client = Client(sock, connection)
        connection.on_schedule = self._on_schedule
        self._clients[connection.id] = client
        log.info("connection %d from %s", connection.id, peer)
        client.reader = gevent.getcurrent()
        self._on_schedule(connection)  # the CONNECT timeout
        quickack = _QUICKACK is not None and self.ssl_context is None
        recv = _reader(sock) if self.ssl_context is None else sock.recv
        setsockopt = getattr(sock, "_sock", sock).setsockopt
        limit = self.engine.limits.max_output_bytes
        unyielded = 0  # bytes read since this greenlet last let the loop turn
        first = b""  # the opening bytes, until they tell TCP from WebSocket
        try:
            self._flush(client)  # an ERROR for a refused connection
            while not connection.closing:
                writer = client.writer
                if writer is not None and connection.output_size >= limit:  # it does not read: stop reading it
                    writer.join()
                ws = client.ws
                if ws is not None and ws.handshake_deadline is not None:
                    data = self._recv_handshake(client, ws)
                else:
                    data = recv(_RECV_SIZE)
                if not data:
                    break
                if client.sniffing:
                    first += data
                    websocket = looks_like_websocket(first)
                    if websocket is None:
                        continue
                    client.sniffing = False
                    data, first = first, b""
                    if websocket:
                        profile = self.engine.profile
                        ws = client.ws = WebSocketAdapter(profile.websocket, profile.frame_eol, time.time())
                        log.info("connection %d speaks WebSocket", connection.id)
                if ws is not None:
                    try:
                        data = ws.receive_data(data)
                    except Exception:  # a bug of stomptest's: Broker.check() reports it; this client is closed
                        self.engine.record_internal_error(traceback.format_exc())
                        break
                    if data:
                        connection.receive_data(data, time.time())
                    answered = connection.out_bytes > 0
                    self._flush(client)
                    if ws.finished:
                        log.info("connection %d: WebSocket closed (%s)", connection.id, ws.close_kind)
                        break
                else:
                    connection.receive_data(data, time.time())
                    answered = connection.out_bytes > 0
                    self._flush(client)  # answer at once (round-trip latency)
                if quickack and not answered:  # no answer carried the ACK: send it now, or Nagle (stomp.py) waits 40 ms
                    setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
                if self._dirty:
                    # What this input made for other connections (MESSAGEs) goes out now, not when the loop
                    # next turns: a recv with data waiting never yields, so a producer that keeps us busy
                    # would otherwise hold every delivery back until it paused.
                    self._flush_dirty()
                unyielded += len(data)
                if unyielded >= _TURN_BYTES:  # data kept coming without a wait: give the others and the timers a turn
                    unyielded = 0
                    # One turn of the loop, polling included: sleep(0) only runs callbacks, and idle() would
                    # wait for a quiet loop, which a storm of other connections never leaves.
                    gevent.sleep(_TURN)
        except OSError:
            pass
        finally:
            self._finish(client)

    def _recv_handshake(self, client: Client, ws: WebSocketAdapter) -> bytes:
        """Read while a WebSocket handshake is under way: b"" once its deadline passed (after its answer)."""
        deadline = ws.handshake_deadline
        assert deadline is not None
        data = b""
        with gevent.Timeout(max(0.0, deadline - time.time()), False):
            data = client.socket.recv(_RECV_SIZE)
            if data:
                return bytes(data)
        ws.handshake_timed_out()
        with contextlib.suppress(OSError):
            client.socket.sendall(ws.data_to_send())
        return b""

    def _on_schedule(self, connection: Connection) -> None:
        client = self._clients.get(connection.id)
        deadline = connection.next_deadline()
        if client is None or deadline is None:
            return
        if client.scheduled is not None and client.scheduled <= deadline:
            return  # the timer wakes for it in time and looks again
        client.scheduled = deadline
        heapq.heappush(self._timers, (deadline, connection.id))
        if self._timers[0][1] == connection.id:
            self._timer_wake.set()

    def _timer_loop(self) -> None:
        timers = self._timers
        wake = self._timer_wake
        while True:
            if not timers:
                wake.wait()
                wake.clear()
                continue
            deadline, connection_id = timers[0]
            now = time.time()
            if deadline > now:
                wake.wait(deadline - now)
                wake.clear()
                continue
            heapq.heappop(timers)
            client = self._clients.get(connection_id)
            if client is None or client.scheduled != deadline:
                continue  # gone, or rescheduled
            client.scheduled = None
            connection = client.connection
            following = connection.next_deadline()
            if following is not None and following <= now:
                connection.tick(now)
                following = connection.next_deadline()
            if following is not None:
                client.scheduled = following
                heapq.heappush(timers, (following, connection_id))

    def _shutdown(self) -> None:
        """Close the listener and every connection; clients see end of file."""
        self._close_listener()
        if self._placeholder is not None:
            self._placeholder.close()
            self._placeholder = None
        if self._refusing is not None:
            self._refusing.kill(block=False)
        now = time.time()
        for client in list(self._clients.values()):
            connection = client.connection
            data = self._take(client)
            if data:
                send_now(client.socket, data)
            connection.close("broker stopped")
            if client.ws is not None:
                send_now(client.socket, self._take(client))  # the close frame
            connection.connection_lost(now)
            close_socket(client.socket)
        self._clients.clear()
        for greenlet in list(self._greenlets):
            if greenlet is not gevent.getcurrent():
                greenlet.kill(block=False)
        if self._stopped is not None:
            self._stopped.set()

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            close_socket(listener)
        if self._acceptor is not None:
            self._acceptor.kill(block=False)
            self._acceptor = None

    # -- faults (inside the hub)

    def clients(self) -> dict[int, Connection]:
        return {connection_id: client.connection for connection_id, client in self._clients.items()}

    def refuse(self, duration: float | None) -> None:
        """Stop listening, so connection attempts are refused; listen again after `duration` seconds.

        The port stays bound to a socket that does not listen, so no other program can take it meanwhile.
        """
        if self._listener is not None:
            if self._acceptor is not None:
                self._acceptor.kill(block=True)  # no waiter left, so the port is released at once
            self._close_listener()
            self._placeholder = self._bind(listen=False)
        if self._refusing is not None:
            self._refusing.kill(block=False)
            self._refusing = None
        if duration is not None:
            self._refusing = self._spawn(self._accept_later, duration)

    def _accept_later(self, duration: float) -> None:
        gevent.sleep(duration)
        self._refusing = None
        self.accept()

    def accept(self) -> None:
        """Listen again after `refuse`."""
        placeholder, self._placeholder = self._placeholder, None
        if self._listener is None and self.running:
            if placeholder is None:
                placeholder = self._bind(listen=False)
            placeholder.listen(1024)
            self._setup(placeholder)
        elif placeholder is not None:
            placeholder.close()

    def wake(self, connection: Connection) -> None:
        self._on_output(connection)
        self._on_schedule(connection)


def _reader(sock: Any) -> Callable[[int], bytes]:
    """`sock.recv` without gevent's wrapper around it: a wake-up per message is the broker's usual case
    under a client that writes each frame at once (stompjs), and the wrapper's frames and its
    exception for every empty read cost about 7 % of the broker's CPU per message there (measured
    with benchmarks/websocket.py's paced workload). Falls back to gevent's recv if its internals differ.
    """
    raw = getattr(sock, "_sock", None)
    wait = getattr(sock, "_wait", None)
    if raw is None or wait is None or getattr(sock, "_read_event", None) is None:
        return sock.recv  # type: ignore[no-any-return]
    read_event = sock._read_event
    raw_recv = raw.recv

    def recv(size: int) -> bytes:
        while True:
            try:
                return raw_recv(size)  # type: ignore[no-any-return]
            except BlockingIOError:
                wait(read_event)  # this greenlet sleeps until the socket is readable; the loop turns meanwhile

    return recv


def _ignore(connection: Connection) -> None:
    pass
