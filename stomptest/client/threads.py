"""`ThreadedShell`: the blocking client's socket and threads, connecting and reconnecting, and writing.

One of three layers of `Client`: this one moves bytes; `reading.ReadingShell` decides
who reads the socket and how calls wait; `sync.Client` holds the calls a user makes.
All of them drive one sans-IO `ClientConnection` (stomptest/protocol/connection.py),
which builds every frame, interprets every byte, routes each RECEIPT or ERROR to the
call waiting for it and keeps the inbox.

One lock, `_lock`, guards the connection; `_ready` (a condition on it) wakes calls
waiting for an answer, a message, or the turn to read. The reader thread waits on a
condition of its own, `_reader_wake`, notified only when it has something to do:
woken on every call, it would fight the caller for the GIL on every round trip.

Threads. The reader thread reads while no call does (see reading.py) and handles
every end of a connection: the failover sleeps and the reconnection happen there,
never in a caller. A flusher thread writes frames nobody waits for. A heart-beat
thread exists only while heart-beats are negotiated: it writes an EOL when we have
been quiet too long, and shuts the socket when the broker has been silent too long
(the connection excuses the silence while the inbox is full and nobody reads),
which whoever reads then sees as a lost connection.

Writes are coalesced. Every socket has TCP_NODELAY (a request that waits for an
answer must not sit in Nagle's buffer), so writing each small frame at once would
make one TCP segment per frame and the broker one read per frame. Instead a frame
nobody waits for stays in the connection's outgoing buffer, which the flusher writes
out as soon as it gets to run, usually together with the frames that followed
meanwhile; anything that waits for an answer writes the buffer itself, and so does a
buffer past `FLUSH_BYTES`. `_send_lock`, taken under `_lock` when bytes are taken from
the buffer, keeps the batches on the wire in the order the session made the frames,
while a writer stuck in `sendall()` never stops anyone from reading.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from typing import Final

from stomptest.client import transport
from stomptest.client.base import ClientBase, ends_attempts
from stomptest.client.failover import Endpoint
from stomptest.protocol.errors import ConnectionLost, ConnectTimeout, ProtocolError, StompError
from stomptest.protocol.events import Answer, Broken, Connected, Error, Lost, Message, Notice, Receipt, Unsolicited
from stomptest.protocol.frame import Frame
from stomptest.protocol.session import Session

log = logging.getLogger("stomptest.client")

RECV_SIZE: Final = 256 * 1024
HAND_BACK: Final = 0.01
"""Seconds without a waiting call before the reader thread takes the socket back from the calls (`_hand_back`).

Long enough that calls following each other (a test's steps) keep reading for themselves;
short enough that what the broker sends meanwhile waits in the kernel only briefly."""
_JOIN_TIMEOUT: Final = 5.0
RECV_SLICE: Final = 0.02
"""Seconds a blocking recv() waits at most (SO_RCVTIMEO) before its caller looks at its deadline and pokes again.

A call waiting for its RECEIPT reads with one blocking recv() rather than select() and
recv(): one system call less on every round trip (5 µs of a 35 µs round trip on the
project's virtual machine, docs/benchmarks.md). A poke or a deadline is then seen
within this slice instead of at once."""


class ThreadedShell(ClientBase):
    """The socket, the threads and the writing of `Client`; `_serve` (who reads, and when) is the layer above's."""

    def _init_io(self) -> None:
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._sleepers = 0  # calls waiting on _ready (guarded by _lock): no notify without one
        # The reader thread waits apart, woken only when it has something to do (an end, room in the inbox):
        # a wake-up per call would make it fight the caller for the GIL on every round trip.
        self._reader_wake = threading.Condition(self._lock)
        self._send_lock = threading.Lock()  # taken under _lock, held while writing: keeps batches in order
        self._reading = False  # the reading token (guarded by _lock)
        self._callers_waiting = 0  # calls waiting for an answer or a message (guarded by _lock)
        self._handed_back = 0.0  # when a call last gave the token back
        self._hand_back = HAND_BACK
        # The receipt id whose call took the reading token as it wrote, and the socket it holds it for
        self._token_for: tuple[str, socket.socket] | None = None
        self._poked = False  # a poke waits in the socket pair (guarded by _lock)
        self._caller_reads = False  # a call holds the token (may sleep in select()): poke _wake to rouse it
        self._wake_pair: tuple[socket.socket, socket.socket] | None = None  # made by connect(), closed by _shutdown()
        self._answers: dict[str, Receipt | BaseException] = {}
        self._ended: BaseException | None = None  # the current connection ended; the reader thread handles it
        self._sock: socket.socket | None = None
        self._sliced: socket.socket | None = None  # the socket whose blocking recv() returns every RECV_SLICE s
        # Whoever holds the reading token reads into this one buffer: a fresh recv(RECV_SIZE) would have the
        # allocator map and unmap 256 KiB for every read (three system calls on each round trip).
        self._recv_view = memoryview(bytearray(RECV_SIZE))
        self._reader: threading.Thread | None = None
        self._beater: threading.Thread | None = None
        self._flusher: threading.Thread | None = None
        self._flush_wake = threading.Event()
        self._beat_wake = threading.Event()
        self._stop = threading.Event()
        self._online = threading.Event()
        self._overdue: ConnectionLost | None = None

    def unacknowledged(self) -> tuple[Message, ...]:
        """Messages delivered on this connection and not yet acknowledged, oldest first."""
        with self._lock:
            return self._connection.session.unacknowledged()

    def connect(self) -> Connected:
        """Connect through the failover policy and negotiate; replays subscriptions held from a lost connection.

        Raises `BrokerError` when the broker refuses CONNECT, `ConnectTimeout` when no
        attempt succeeded.
        """
        self._check_connectable()
        self._stop.set()  # threads left from a failed connection end now
        self._flush_wake.set()
        self._beat_wake.set()
        self._join_threads()
        self._stop.clear()
        self._closing = False
        self._failure = None
        with self._lock:
            self._ended = None
            self._reading = True  # the reader thread starts with the token: no call may read the new socket before
        try:
            sock, connected = self._establish(reconnect=False)
        except BaseException:
            with self._lock:
                self._reading = False
            raise
        self._sock = sock
        self._status = "connected"
        self._online.set()
        if self._wake_pair is None:
            self._wake_pair = socket.socketpair()
            for end in self._wake_pair:
                end.setblocking(False)
        with self._lock:
            self._handed_back = time.monotonic()  # the caller's next call comes soon: leave the socket to it
            self._reading = False  # the socket is ready for whoever reads first
            self._notify()
        self._reader = threading.Thread(target=self._read_loop, args=(sock,), name="stomptest-reader", daemon=True)
        self._reader.start()
        if self._flusher is None:
            self._flusher = threading.Thread(target=self._flush_loop, name="stomptest-flusher", daemon=True)
            self._flusher.start()
        self._ensure_beater()
        return connected

    def _establish(self, *, reconnect: bool) -> tuple[socket.socket, Connected]:
        attempts = self.uri.attempts(self._rng, reconnect=reconnect)
        last: BaseException | None = None
        while True:
            try:
                broker, delay = next(attempts)
            except ConnectTimeout as exc:
                raise transport.gave_up(exc, last) from last
            if delay > 0 and self._stop.wait(delay):
                raise ConnectionLost("disconnect() was called while reconnecting")
            if self._stop.is_set() and reconnect:
                raise ConnectionLost("disconnect() was called while reconnecting")
            try:
                sock = transport.open_socket(broker, self.options.ssl_context, self.connect_timeout)
            except OSError as exc:
                last = exc
                log.debug("connecting to %s failed: %s", broker, exc)
                continue
            try:
                connected = self._handshake(sock, broker)
            except (OSError, StompError) as exc:
                _close(sock)
                if ends_attempts(exc):
                    raise
                last = exc
                continue
            self.broker = broker
            return sock, connected

    def _recv(self, sock: socket.socket, flags: int = 0) -> bytes:
        """One read of `sock`, copied out of the shared buffer (only the token's holder calls this)."""
        view = self._recv_view
        return bytes(view[: sock.recv_into(view, RECV_SIZE, flags)])

    def _handshake(self, sock: socket.socket, broker: Endpoint) -> Connected:
        """CONNECT, wait for CONNECTED, and replay subscriptions, all on `sock` before anyone else reads it.

        Over WebSocket the upgrade comes first; CONNECT goes once it is accepted (`write_due`).
        """
        connection = self._connection
        try:
            with self._lock:
                data = connection.open(
                    time.monotonic(), transport.websocket(broker, connection.session.offered_versions)
                )
            sock.settimeout(self.connect_timeout)
            sock.sendall(data)
            deadline = time.monotonic() + self.connect_timeout
            while True:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no CONNECTED within connect_timeout={self.connect_timeout:g} s")
                data = self._recv(sock)
                if not data:
                    raise ConnectionLost("the broker closed the connection before answering CONNECT")
                with self._lock:
                    notices = connection.receive_data(data, time.monotonic())
                    due = connection.data_to_send(time.monotonic()) if connection.write_due else b""
                if due:
                    sock.sendall(due)
                for index, notice in enumerate(notices):
                    if isinstance(notice, Error):
                        raise notice.exception
                    if isinstance(notice, (Unsolicited, Broken)):
                        raise notice.error
                    if isinstance(notice, Connected):
                        with self._lock:
                            replay = connection.data_to_send(time.monotonic())
                        if replay:
                            sock.sendall(replay)
                        sock.settimeout(None)
                        if _recv_in_slices(sock):
                            self._sliced = sock
                        self._handle(notices[index + 1 :])
                        return notice
        except BaseException:
            with self._lock:
                connection.connection_lost()
            raise

    def _ensure_beater(self) -> None:
        intervals = self._connection.session.heartbeat
        if (intervals.send or intervals.receive) and self._beater is None:
            self._beater = threading.Thread(target=self._beat_loop, name="stomptest-heartbeat", daemon=True)
            self._beater.start()
        self._beat_wake.set()

    def _read_loop(self, sock: socket.socket) -> None:
        """The reader thread: read while no call waits, and handle every end of a connection."""
        while True:
            cause = self._serve(sock)
            next_sock = self._connection_ended(sock, cause)
            if next_sock is None:
                return
            sock = next_sock

    def _sleep(self, timeout: float | None) -> None:
        """Wait on `_ready` (the caller holds `_lock`)."""
        self._sleepers += 1
        try:
            self._ready.wait(timeout)
        finally:
            self._sleepers -= 1

    def _notify(self) -> None:
        if self._sleepers:
            self._ready.notify_all()

    def _poke(self) -> None:
        """Rouse a call reading the socket, to look at what changed (the caller holds `_lock`).

        A poke that comes before the call sleeps in select() stays in the socket pair and
        makes that select() return at once: a wake-up is never lost, at worst spurious.
        """
        pair = self._wake_pair
        if self._caller_reads and pair is not None:
            self._poked = True  # a caller in a sliced recv() (not select) sees it within RECV_SLICE
            with contextlib.suppress(OSError):
                pair[1].send(b"\0")

    def _end(self, sock: socket.socket, cause: BaseException) -> None:
        with self._lock:
            if self._ended is None and self._sock is sock:
                self._ended = cause
            self._notify()
            self._reader_wake.notify()

    def _handle(self, notices: list[Notice], sock: socket.socket | None = None) -> None:
        """Act on what the connection made of the bytes read: answers to waiting calls, errors, a broken stream."""
        with self._lock:
            reports = self._route(notices, sock)
            self._notify()
        for error in reports:
            self._report(error)

    def _route(self, notices: list[Notice], sock: socket.socket | None) -> list[StompError]:
        """Answers to their waiting calls, a broken stream ended; the errors to report (the caller holds `_lock`)."""
        reports: list[StompError] = []
        for notice in notices:
            if type(notice) is Answer:
                self._answers[notice.receipt_id] = notice.receipt or notice.error  # type: ignore[assignment]
            elif isinstance(notice, Unsolicited):
                reports.append(notice.error)
            elif isinstance(notice, Broken) and sock is not None and self._ended is None and self._sock is sock:
                self._ended = notice.error
                self._reader_wake.notify()
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        return reports

    def _report(self, error: StompError) -> None:
        """An error nobody waits for: to `on_error`, or raised by the caller's next call."""
        callback = self._on_error
        if callback is not None:
            try:
                callback(error)
            except Exception:
                log.exception("on_error callback failed")
            return
        self._errors.append(error)
        self._wake()

    def _wake(self) -> None:
        """Wake every waiting call to look again (a status change, an unsubscribe, an error to raise)."""
        with self._lock:
            self._notify()
            self._reader_wake.notify()
            self._poke()

    def _connection_ended(self, sock: socket.socket, cause: BaseException) -> socket.socket | None:
        """Clean up after a connection ended (holding the token); reconnect unless it was our own disconnect."""
        _close(sock)
        self._online.clear()
        with self._lock:
            clean = self._closing or self._connection.clean_end
            lost, waiting = self._connection.connection_lost()
            failed = cause if isinstance(cause, ConnectionLost) else ConnectionLost(str(cause))
            for receipt_id in waiting:
                self._answers[receipt_id] = failed
            if not clean:
                self._status = "reconnecting"
            self._notify()
        if clean:
            with self._lock:
                self._reading = False
                self._notify()
            return None
        self._lost(lost)
        self._wake()
        self._tell_lost(lost, cause)
        self._overdue = None
        try:
            sock, connected = self._establish(reconnect=True)
        except (StompError, OSError) as exc:
            self._gave_up(cause, exc, stopped=self._stop.is_set())
            self._online.set()  # wake callers waiting for the reconnection: they raise `failure`
            with self._lock:
                self._reading = False
            self._wake()
            return None
        self._sock = sock
        with self._lock:
            self._reading = False
            self._notify()
        self.reconnects += 1
        self._status = "connected"
        self._online.set()
        self._ensure_beater()
        if self.on_reconnect is not None:
            try:
                self.on_reconnect(connected)
            except Exception:
                log.exception("on_reconnect callback failed")
        return sock

    def _tell_lost(self, lost: Lost, cause: BaseException) -> None:
        if self.on_connection_lost is not None:
            try:
                self.on_connection_lost(lost, cause)
            except Exception:
                log.exception("on_connection_lost callback failed")
            return
        self._log_lost(lost, cause)

    def _beat_loop(self) -> None:
        while not self._stop.is_set():
            self._beat_wake.clear()
            timeout = self._beat_once()
            self._beat_wake.wait(timeout)

    def _beat_once(self) -> float | None:
        """Send a beat if one is due, shut a silent connection; return how long to sleep."""
        sock = self._sock
        if self._status != "connected" or sock is None:
            return None
        connection = self._connection
        with self._lock:
            due = connection.heartbeat_due(time.monotonic())
            if due.silent_for is not None:
                self._overdue = ConnectionLost(due.lost_message(connection.session.heartbeat.receive))
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                return None
            data = b""
            if due.beat and sock is self._sock and connection.beat():
                data = self._take_locked()
        if data:
            with contextlib.suppress(ConnectionLost):  # whoever reads reports the loss
                self._send_taken(sock, data, "a heart-beat")
        return due.wake_in

    def _flush_loop(self) -> None:
        while not self._stop.is_set():
            self._flush_wake.wait()
            self._flush_wake.clear()
            with contextlib.suppress(ConnectionLost):  # whoever reads reports the loss
                self.flush()

    def _take_locked(self) -> bytes:
        """Take the buffered bytes and the turn to write them (the caller holds `_lock`).

        Writing happens after `_lock` is released, so others can go on building frames
        and reading meanwhile; `_send_lock`, taken here in buffer order, keeps the
        batches in order.
        """
        data = self._connection.data_to_send(time.monotonic())
        if data:
            self._send_lock.acquire()
        return data

    def _send_taken(self, sock: socket.socket, data: bytes, what: str) -> None:
        try:
            sock.sendall(data)
        except OSError as exc:
            raise _write_failed(sock, what, exc) from exc
        finally:
            self._send_lock.release()

    def flush(self) -> None:
        """Write out frames still buffered (see the module docstring); calls that wait do it themselves."""
        if not self._connection.has_data_to_send:
            return
        with self._lock:
            sock = self._sock
            data = self._take_locked() if sock is not None else b""
        if sock is not None and data:
            self._send_taken(sock, data, "buffered frames")

    def _check_ready(self) -> None:
        """Raise what is pending; wait out a reconnection; refuse when the client is down."""
        self._raise_pending()
        if self._status == "reconnecting":
            self._online.wait()
            self._raise_pending()
        if self._failure is not None and self._status in ("failed", "closed"):
            raise self._failure
        if self._status != "connected":
            raise ProtocolError(f"the client is {self._status}: call connect() first")

    def _write(self, build: Callable[[Session], Frame], wait: bool = False) -> tuple[Frame, str | None]:
        """Make a frame with the connection and write it, in session order; the receipt id to wait for, if any."""
        if self._errors or self._status != "connected":
            self._check_ready()
        connection = self._connection
        with self._lock:
            sock = self._sock
            wake = not connection.has_data_to_send
            frame, receipt_id, urgent = self._send_frame(build, wait)
            if sock is None:
                if receipt_id is not None:
                    connection.forget(receipt_id)
                raise self._down()
            # `_take_locked`, `_take_token` and `_send_taken` written out: every call that waits for an answer
            # comes here, and the three calls measured about 4 µs of a round trip whose client and broker share a
            # vCPU (docs/benchmarks.md, "Round trips on a quiet machine, and on one vCPU")
            if urgent:
                data = connection.data_to_send(time.monotonic())
                if data:
                    self._send_lock.acquire()
            else:
                data = b""
            if receipt_id is not None:
                self._callers_waiting += 1  # uncounted by _await, which must follow
                if not self._reading and self._ended is None and not connection.reading_paused:
                    self._reading = self._caller_reads = True  # read the answer the moment the bytes are out
                    self._token_for = (receipt_id, sock)
        if data:
            try:
                try:
                    sock.sendall(data)
                except OSError as exc:
                    raise _write_failed(sock, frame.command, exc) from exc
                finally:
                    self._send_lock.release()
            except BaseException:
                if receipt_id is not None:
                    with self._lock:
                        self._callers_waiting -= 1
                        if self._token_for is not None and self._token_for[0] == receipt_id:
                            self._token_for = None
                            self._release_token()
                raise
        elif wake:
            self._flush_wake.set()
        return frame, receipt_id

    def close(self) -> None:
        """Close the connection at once, without DISCONNECT (the broker sees an abrupt end)."""
        self._closing = True
        self._stop.set()
        self._beat_wake.set()
        self._flush_wake.set()
        self._shutdown()

    def _shutdown(self) -> None:
        with contextlib.suppress(ConnectionLost):
            self.flush()  # frames sent without receipt still go out before the close
        sock = self._sock
        if sock is not None:
            with self._lock:
                goodbye = self._connection.goodbye()  # WebSocket: a close frame before the TCP close
            with contextlib.suppress(OSError):
                if goodbye and self._send_lock.acquire(timeout=1.0):
                    try:
                        sock.sendall(goodbye)
                    finally:
                        self._send_lock.release()
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            self._end(sock, ConnectionLost("the client disconnected"))  # for a reader thread not in recv()
        self._wake()
        self._join_threads()
        if sock is not None:
            _close(sock)
        failed = ConnectionLost("the client disconnected")
        with self._lock:
            for receipt_id in self._connection.close():
                self._answers[receipt_id] = failed
            self._reading = False
            self._ended = None
        self._sock = None
        self._status = "closed"
        self._online.set()
        self._wake()
        pair, self._wake_pair = self._wake_pair, None
        for end in pair or ():
            end.close()

    def _join_threads(self) -> None:
        current = threading.current_thread()
        for thread in (self._reader, self._beater, self._flusher):
            if thread is not None and thread is not current:
                thread.join(_JOIN_TIMEOUT)
        self._reader = None
        self._beater = None
        self._flusher = None

    def _serve(self, sock: socket.socket) -> BaseException:
        """Read `sock` while the calls leave it to the reader thread; return why the connection ended."""
        raise NotImplementedError

    def _take_token(self) -> socket.socket | None:
        """The socket to read when the token is free and reading is allowed (the caller holds `_lock`)."""
        raise NotImplementedError

    def _release_token(self) -> None:
        """A call that read gives the token back (the caller holds `_lock`)."""
        raise NotImplementedError


def _recv_in_slices(sock: socket.socket) -> bool:
    """Bound a blocking recv() on a plain TCP socket to RECV_SLICE (Linux); False when not done (TLS, elsewhere)."""
    if type(sock) is not socket.socket or not sys.platform.startswith("linux"):
        return False
    seconds = int(RECV_SLICE)
    try:
        sock.setsockopt(
            socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", seconds, int((RECV_SLICE - seconds) * 1e6))
        )
    except OSError:
        return False
    return True


def _write_failed(sock: socket.socket, what: str, exc: OSError) -> ConnectionLost:
    """A write of `what` failed: the socket is shut down (the reader sees the end) and the loss is said."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    return ConnectionLost(f"writing {what} failed: {exc}")


def _close(sock: socket.socket) -> None:
    """Shut down first: close() alone does not wake another thread blocked in send() or recv()."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
