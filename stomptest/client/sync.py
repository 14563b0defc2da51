"""`Client`: the blocking STOMP client, a thin I/O shell over `ClientConnection`.

Theory of operation. The sans-IO `ClientConnection` (stomptest/protocol/connection.py)
builds every frame, interprets every byte the broker sends, routes each RECEIPT or
ERROR to the call waiting for it, and keeps the inbox of received messages. This
shell owns the socket, the threads, the clocks and the reconnection. One lock,
`_lock`, guards the connection; `_ready` (a condition on it) wakes threads waiting
for an answer, a message, the turn to read, or room in the inbox.

Who reads the socket: a leader/follower hand-off. The reading role is a token,
`_reading`. A call that waits for an answer (a RECEIPT, CONNECTED, or a MESSAGE asked
for by `receive()`) takes the token when nobody holds it and reads the socket itself,
so the answer reaches it without a switch to another thread: a SEND->RECEIPT round
trip costs one system call on each side and nothing more (measured: docs/benchmarks.md).
Calls that find the token taken wait on `_ready` and are woken when what was read
answers them, or when the token is free again. The background reader thread takes
the token only when no call has waited for `_HAND_BACK` seconds, so that heart-beats,
ERRORs and messages for other subscriptions are noticed while the caller is busy
elsewhere; when it holds the token and a call starts to wait, it hands the token back
after its current read. A reader blocked in `recv()` is woken through a socket pair
(`_wake`) when a waiting call has something else to look at (an unsubscribe, a close).
Whoever reads an end of the connection leaves it in `_ended`; the reader thread then
handles it: the failover sleeps and reconnection happen there, never in a caller.

Writes are coalesced. Every socket has TCP_NODELAY (a request that waits for an
answer must not sit in Nagle's buffer), so writing each small frame at once would
make one TCP segment per frame and the broker one read per frame. Instead a frame
nobody waits for is left in the connection's outgoing buffer, which a flusher thread
writes out as soon as it gets to run, usually together with the frames that followed
meanwhile; anything that waits for an answer writes the buffer itself, and so does a
buffer past `FLUSH_BYTES`. `_send_lock`, taken under `_lock` when bytes are taken from
the buffer, keeps the batches on the wire in the order the session made the frames,
while a writer stuck in `sendall()` never stops anyone from reading.

Bounded memory: past `max_unconsumed` messages not yet taken by `receive()`, nobody
reads the socket (the connection says `reading_paused`) until `receive()` makes room,
so TCP back-pressure reaches the broker; the heart-beat check excuses the silence.
A second small thread exists only while heart-beats are negotiated: it writes an EOL
when we have been quiet too long, and shuts the socket when the broker has been
silent too long, which whoever reads then sees as a lost connection.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import random
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Final

from stomptest.client import transport
from stomptest.client.failover import Broker, FailoverUri
from stomptest.client.options import check_wait, client_options, stale_ack_error
from stomptest.protocol.connection import DEFAULT_MAX_UNCONSUMED, ClientConnection
from stomptest.protocol.errors import (
    BrokerError,
    ConnectionLost,
    ConnectTimeout,
    ProtocolError,
    RemoteProtocolError,
    StompError,
)
from stomptest.protocol.events import Answer, Broken, Connected, Error, Lost, Message, Notice, Receipt, Unsolicited
from stomptest.protocol.events import Subscription as SessionSubscription
from stomptest.protocol.frame import Frame, HeadersArg
from stomptest.protocol.session import Session

log = logging.getLogger("stomptest.client")

_RECV_SIZE: Final = 256 * 1024
_JOIN_TIMEOUT: Final = 5.0
_HAND_BACK: Final = 0.01
"""Seconds without a waiting call before the reader thread takes the socket back from the callers."""

LostCallback = Callable[[Lost, BaseException], None]
ReconnectCallback = Callable[[Connected], None]
ErrorCallback = Callable[[StompError], None]


class ClientSubscription:
    """A subscription made by `Client.subscribe()`: receive from it, iterate over it, unsubscribe it.

    Iteration blocks for each next message and stops once the subscription is
    unsubscribed or the client disconnected.
    """

    def __init__(self, client: Client, subscription: SessionSubscription) -> None:
        self.client = client
        self.subscription = subscription

    @property
    def id(self) -> str | None:
        return self.subscription.id

    @property
    def destination(self) -> str:
        return self.subscription.destination

    @property
    def ack(self) -> str:
        return self.subscription.ack

    @property
    def key(self) -> str:
        return self.subscription.key

    def receive(self, timeout: float | None = None) -> Message | None:
        """The next MESSAGE of this subscription (None on timeout)."""
        return self.client.receive(timeout, subscription=self)

    def unsubscribe(self, *, receipt: bool = False) -> None:
        self.client.unsubscribe(self, receipt=receipt)

    def __iter__(self) -> Iterator[Message]:
        while True:
            message = self.client._next_message(None, self.key, stop_when_gone=True)
            if message is None:
                return
            yield message

    def __repr__(self) -> str:
        return f"<ClientSubscription {self.key!r} to {self.destination!r} ack={self.ack}>"


class Client:
    """A blocking STOMP client for one broker URL (`tcp://`, `ssl://` or a failover URI).

    ``with Client(url) as client:`` connects on entry and disconnects on exit. All
    methods are safe to call from any thread. See docs/client.md.
    """

    def __init__(
        self,
        url: str | FailoverUri,
        *,
        version: str | Sequence[str] = "1.2",
        login: str | None = None,
        passcode: str | None = None,
        host: str | None = "/",
        heartbeat: tuple[int, int] = (0, 0),
        headers: HeadersArg = (),
        ssl_context: ssl.SSLContext | None = None,
        connect_timeout: float = transport.DEFAULT_CONNECT_TIMEOUT,
        receipt_timeout: float = 10.0,
        heartbeat_grace: float = 2.0,
        max_unconsumed: int = DEFAULT_MAX_UNCONSUMED,
        on_connection_lost: LostCallback | None = None,
        on_reconnect: ReconnectCallback | None = None,
        on_error: ErrorCallback | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.options = client_options(
            url,
            version=version,
            login=login,
            passcode=passcode,
            host=host,
            heartbeat=heartbeat,
            headers=headers,
            ssl_context=ssl_context,
            connect_timeout=connect_timeout,
            receipt_timeout=receipt_timeout,
            heartbeat_grace=heartbeat_grace,
            max_unconsumed=max_unconsumed,
        )
        self.uri = self.options.uri
        self._connection = self.options.new_connection()
        self.connect_timeout = self.options.connect_timeout
        self.receipt_timeout = self.options.receipt_timeout
        self.on_connection_lost = on_connection_lost
        self.on_reconnect = on_reconnect
        self.on_error = on_error
        self._rng = rng if rng is not None else random.Random()

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
        self._caller_reads = False  # a call holds the token (may sleep in select()): poke _wake to rouse it
        self._wake_out, self._wake_in = socket.socketpair()
        self._wake_out.setblocking(False)
        self._wake_in.setblocking(False)
        self._answers: dict[str, Receipt | BaseException] = {}
        self._ended: BaseException | None = None  # the current connection ended; the reader thread handles it
        self._errors: collections.deque[StompError] = collections.deque()
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None
        self._beater: threading.Thread | None = None
        self._flusher: threading.Thread | None = None
        self._flush_wake = threading.Event()
        self._beat_wake = threading.Event()
        self._stop = threading.Event()
        self._online = threading.Event()
        self._status = "new"  # new, connected, reconnecting, failed, closed
        self._failure: ConnectionLost | None = None
        self._closing = False
        self._overdue: ConnectionLost | None = None
        self._lost_transactions: set[str] = set()
        self.broker: Broker | None = None
        """The broker of the current (or last) connection."""
        self.lost: Lost | None = None
        """What the last lost connection left behind (None until one is lost)."""
        self.reconnects = 0

    def __repr__(self) -> str:
        return f"<Client {self.uri.uri!r} {self._status}>"

    # --- state ------------------------------------------------------------------------------------------------

    @property
    def session(self) -> Session:
        """The sans-IO session underneath (read it; do not drive it)."""
        return self._connection.session

    @property
    def connection(self) -> ClientConnection:
        """The sans-IO client connection underneath (read it; do not drive it)."""
        return self._connection

    @property
    def on_error(self) -> ErrorCallback | None:
        """Receives ERRORs that answer no waiting call; without it the next call raises them."""
        return self._on_error

    @on_error.setter
    def on_error(self, callback: ErrorCallback | None) -> None:
        self._on_error = callback
        self._connection.errors_have_handler = callback is not None

    @property
    def connected(self) -> Connected | None:
        """The last `Connected` event: negotiated version, heart-beat, server."""
        return self._connection.connected

    @property
    def heartbeats_received(self) -> int:
        return self._connection.heartbeats_received

    @property
    def heartbeats_sent(self) -> int:
        return self._connection.heartbeats_sent

    @property
    def version(self) -> str:
        return self._connection.session.version

    @property
    def is_connected(self) -> bool:
        return self._status == "connected"

    @property
    def status(self) -> str:
        """new, connected, reconnecting, failed (reconnecting gave up) or closed (disconnected)."""
        return self._status

    def unacknowledged(self) -> tuple[Message, ...]:
        """Messages delivered on this connection and not yet acknowledged, oldest first."""
        with self._lock:
            return self._connection.session.unacknowledged()

    # --- connecting -------------------------------------------------------------------------------------------

    def connect(self) -> Connected:
        """Connect through the failover policy and negotiate; replays subscriptions held from a lost connection.

        Raises `BrokerError` when the broker refuses CONNECT, `ConnectTimeout` when no
        attempt succeeded.
        """
        if self._status in ("connected", "reconnecting"):
            raise ProtocolError(f"the client is {self._status} already: disconnect() first")
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
        with self._lock:
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
                connected = self._handshake(sock)
            except (BrokerError, ProtocolError) as exc:
                _close(sock)
                if not isinstance(exc, RemoteProtocolError):
                    raise  # refused, or our own mistake (e.g. a subscription that cannot be replayed)
                last = exc
                continue
            except (OSError, StompError) as exc:
                _close(sock)
                last = exc
                continue
            self.broker = broker
            return sock, connected

    def _handshake(self, sock: socket.socket) -> Connected:
        """CONNECT, wait for CONNECTED, and replay subscriptions, all on `sock` before anyone else reads it."""
        connection = self._connection
        try:
            with self._lock:
                data = connection.open(time.monotonic())
            sock.settimeout(self.connect_timeout)
            sock.sendall(data)
            deadline = time.monotonic() + self.connect_timeout
            while True:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no CONNECTED within connect_timeout={self.connect_timeout:g} s")
                data = sock.recv(_RECV_SIZE)
                if not data:
                    raise ConnectionLost("the broker closed the connection before answering CONNECT")
                with self._lock:
                    notices = connection.receive_data(data, time.monotonic())
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

    # --- reading: the token, the reader thread, and what was read ---------------------------------------------

    def _read_loop(self, sock: socket.socket) -> None:
        """The reader thread: read while no call waits, and handle every end of a connection."""
        while True:
            cause = self._serve(sock)
            next_sock = self._connection_ended(sock, cause)
            if next_sock is None:
                return
            sock = next_sock

    def _serve(self, sock: socket.socket) -> BaseException:
        """Read `sock` whenever the callers leave it; return why the connection ended (then holding the token)."""
        connection = self._connection
        while True:
            with self._lock:
                while True:
                    if self._ended is not None:
                        cause, self._ended = self._ended, None
                        self._reading = True  # kept through the reconnection: nobody reads a socket being replaced
                        return cause
                    if self._reading or self._callers_waiting:
                        self._reader_wake.wait(_HAND_BACK)  # a poll, not a notify per call
                        continue
                    if connection.reading_paused:
                        self._reader_wake.wait()
                        continue
                    idle = time.monotonic() - self._handed_back
                    if idle < _HAND_BACK:
                        self._reader_wake.wait(_HAND_BACK - idle)
                        continue
                    self._reading = True
                    break
            try:
                self._read_once(sock, None)
            finally:
                with self._lock:
                    self._reading = False
                    self._notify()

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

    def _read_once(self, sock: socket.socket, deadline: float | None) -> None:
        """One read of `sock` by the token's holder, handled; returns early at `deadline` or when poked."""
        if (deadline is not None or self._callers_waiting) and not self._wait_readable(sock, deadline):
            return
        try:
            data = sock.recv(_RECV_SIZE)
        except OSError as exc:
            self._end(sock, self._overdue or ConnectionLost(f"the connection failed: {exc}"))
            return
        if not data:
            self._end(sock, self._overdue or ConnectionLost("the broker closed the connection"))
            return
        with self._lock:
            notices = self._connection.receive_data(data, time.monotonic())
            reports = self._route(notices, sock) if notices else None
            self._notify()
        if reports:
            for error in reports:
                self._report(error)

    def _wait_readable(self, sock: socket.socket, deadline: float | None) -> bool:
        """Whether `sock` has bytes before `deadline`; False when poked through `_wake` or out of time."""
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            readable, _, _ = select.select([sock, self._wake_out], [], [], remaining)
        except (OSError, ValueError):
            return True  # a closed socket: recv() says how it ended
        if self._wake_out in readable:
            with contextlib.suppress(OSError):
                self._wake_out.recv(4096)
        return sock in readable

    def _poke(self) -> None:
        """Rouse a call reading the socket, to look at what changed (the caller holds `_lock`).

        A poke that comes before the call sleeps in select() stays in the socket pair and
        makes that select() return at once: a wake-up is never lost, at worst spurious.
        """
        if self._caller_reads:
            with contextlib.suppress(OSError):
                self._wake_in.send(b"\0")

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

    # --- lost connections -------------------------------------------------------------------------------------

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
        self.lost = lost
        self._lost_transactions = set(lost.transactions)
        self._wake()
        self._tell_lost(lost, cause)
        self._overdue = None
        try:
            sock, connected = self._establish(reconnect=True)
        except (StompError, OSError) as exc:
            failure = ConnectionLost(f"connection lost ({cause}), and reconnecting failed: {exc}")
            failure.__cause__ = exc
            self._failure = failure
            self._status = "closed" if self._stop.is_set() else "failed"
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
        log.warning(
            "connection to %s lost (%s): %d unacknowledged message(s) will be redelivered, %d transaction(s) "
            "aborted, %d receipt(s) never came; reconnecting",
            self.broker,
            cause,
            len(lost.unacknowledged),
            len(lost.transactions),
            len(lost.receipts),
        )

    # --- the heart-beat and flusher threads -------------------------------------------------------------------

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

    # --- writing ----------------------------------------------------------------------------------------------

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
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            raise ConnectionLost(f"writing {what} failed: {exc}") from exc
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

    def _raise_pending(self) -> None:
        if self._errors:
            raise self._errors.popleft()

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

    def _down(self) -> StompError:
        if self._failure is not None:
            return self._failure
        return ConnectionLost(f"the connection was lost (client {self._status}); retry once it is back")

    def _write(self, build: Callable[[Session], Frame], wait: bool = False) -> tuple[Frame, str | None]:
        """Make a frame with the connection and write it, in session order; the receipt id to wait for, if any."""
        if self._errors or self._status != "connected":
            self._check_ready()
        with self._lock:
            sock = self._sock
            wake = not self._connection.has_data_to_send
            try:
                frame, receipt_id, urgent = self._connection.send_frame(build, wait=wait)
            except ProtocolError:
                if self._status != "connected":
                    raise self._down() from None
                raise
            if sock is None:
                if receipt_id is not None:
                    self._connection.forget(receipt_id)
                raise self._down()
            data = self._take_locked() if urgent else b""
            if receipt_id is not None:
                self._callers_waiting += 1  # uncounted by _await, which must follow
        if data:
            try:
                self._send_taken(sock, data, frame.command)
            except BaseException:
                if receipt_id is not None:
                    with self._lock:
                        self._callers_waiting -= 1
                raise
        elif wake:
            self._flush_wake.set()
        return frame, receipt_id

    def _await(self, frame: Frame, receipt_id: str | None, timeout: float | None = None) -> Receipt | None:
        """Wait for the answer to `receipt_id`, reading the socket ourselves when nobody else is.

        `_write` counted this call in `_callers_waiting` already, so that the reader thread
        does not take the socket between the write and the wait; every way out of here
        uncounts it, and hands the token on if this call holds it.
        """
        if receipt_id is None:
            return None
        limit = self.receipt_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        answers = self._answers
        sock: socket.socket | None = None
        answer: Receipt | BaseException | None = None
        try:
            while answer is None:
                with self._lock:
                    if sock is not None:  # read last round: hand the token on (and maybe take it again below)
                        self._release_token()
                        sock = None
                    answer = answers.pop(receipt_id, None)
                    if answer is None:
                        if time.monotonic() >= deadline:
                            self._connection.forget(receipt_id)
                            raise ConnectionLost(
                                f"no RECEIPT for {frame.command} (receipt {receipt_id!r}) within {limit:g} s"
                            )
                        sock = self._take_token()
                        if sock is None:
                            self._sleep(deadline - time.monotonic())
                if sock is not None:
                    self._read_once(sock, deadline)
        finally:
            with self._lock:
                if sock is not None:
                    self._release_token()
                self._callers_waiting -= 1
                self._handed_back = time.monotonic()
                self._notify()
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def _release_token(self) -> None:
        """A call that read gives the token back (the caller holds `_lock`)."""
        self._reading = False
        self._caller_reads = False
        self._handed_back = time.monotonic()
        self._notify()

    def _take_token(self) -> socket.socket | None:
        """The socket to read when the token is free and reading is allowed (the caller holds `_lock`)."""
        sock = self._sock
        if self._reading or sock is None or self._ended is not None or self._connection.reading_paused:
            return None
        self._reading = True
        self._caller_reads = True
        return sock

    def _lead(self, sock: socket.socket, deadline: float | None) -> None:
        """Read once as the token's holder, then hand the token on."""
        try:
            self._read_once(sock, deadline)
        finally:
            with self._lock:
                self._release_token()

    # --- operations -------------------------------------------------------------------------------------------

    def send(
        self,
        destination: str,
        body: bytes | str = b"",
        headers: HeadersArg | None = None,
        receipt: bool = False,
        transaction: str | None = None,
    ) -> Frame:
        """SEND; with `receipt=True`, return only once the broker confirmed it (BrokerError if it refused)."""
        frame, receipt_id = self._write(
            lambda s: s.send(destination, body, headers=headers or (), transaction=transaction, receipt=receipt),
            receipt,
        )
        self._await(frame, receipt_id)
        return frame

    def subscribe(
        self,
        destination: str,
        ack: str = "auto",
        id: str | None = None,
        headers: HeadersArg | None = None,
        receipt: bool = False,
    ) -> ClientSubscription:
        """SUBSCRIBE; the subscription is replayed on every reconnection until unsubscribed."""
        made: list[SessionSubscription] = []

        def build(session: Session) -> Frame:
            frame, subscription = session.subscribe(destination, id=id, ack=ack, headers=headers or (), receipt=receipt)
            made.append(subscription)
            return frame

        frame, receipt_id = self._write(build, receipt)
        self._await(frame, receipt_id)
        return ClientSubscription(self, made[0])

    def unsubscribe(
        self,
        subscription: ClientSubscription | str | None = None,
        *,
        destination: str | None = None,
        receipt: bool = False,
    ) -> None:
        """UNSUBSCRIBE by subscription object, id, or (1.0) destination."""
        target = subscription.key if isinstance(subscription, ClientSubscription) else subscription
        frame, receipt_id = self._write(
            lambda s: s.unsubscribe(target, destination=destination, receipt=receipt), receipt
        )
        self._wake()  # iterators over it may stop
        self._await(frame, receipt_id)

    def receive(
        self, timeout: float | None = None, *, subscription: ClientSubscription | None = None
    ) -> Message | None:
        """The next MESSAGE (of any subscription, or of `subscription`), or None after `timeout` seconds."""
        if subscription is None and self._connection.unconsumed and not self._errors:
            # What a consumer keeping up with the broker hits once per message: a message is waiting.
            check_wait("timeout", timeout)
            message = self._take(None)
            if message is not None:
                return message
        key = subscription.key if subscription is not None else None
        return self._next_message(check_wait("timeout", timeout), key)

    def _take(self, key: str | None) -> Message | None:
        with self._lock:
            message, notices = self._take_locked_message(key)
        if notices:
            self._handle(notices, self._sock)
        return message

    def _take_locked_message(self, key: str | None) -> tuple[Message | None, list[Notice]]:
        """The next message for `key`, and what moving the backlog on brought (the caller holds `_lock`)."""
        connection = self._connection
        message = connection.take(key)
        if not connection.room_made:
            return message, []
        connection.room_made = False
        notices = connection.receive_data(b"", time.monotonic()) if connection.has_backlog else []
        self._notify()  # room again: whoever waits to read may
        self._reader_wake.notify()
        return message, notices

    def _next_message(self, timeout: float | None, key: str | None, *, stop_when_gone: bool = False) -> Message | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        connection = self._connection
        if connection.has_data_to_send and not connection.unconsumed:
            with contextlib.suppress(ConnectionLost):  # a reply may depend on what we sent; a loss is reported below
                self.flush()
        with self._lock:
            self._callers_waiting += 1
        try:
            while True:
                self._raise_pending()
                notices: list[Notice] = []
                with self._lock:
                    message, notices = self._take_locked_message(key)
                    sock = None
                    if message is None and not self._errors:
                        if self._status in ("failed", "closed", "new"):
                            if stop_when_gone:
                                return None
                            if self._failure is not None:
                                raise self._failure
                            raise ProtocolError(f"receive() on a client that is {self._status}: connect() first")
                        if (
                            stop_when_gone
                            and key is not None
                            and all(s.key != key for s in connection.session.subscriptions)
                        ):
                            return None
                        remaining = None if deadline is None else deadline - time.monotonic()
                        if remaining is not None and remaining <= 0:
                            return None
                        sock = self._take_token() if self._status == "connected" else None
                        if sock is None:
                            self._sleep(remaining)
                if notices:
                    self._handle(notices, self._sock)
                if message is not None:
                    return message
                if sock is not None:
                    self._lead(sock, deadline)
        finally:
            with self._lock:
                self._callers_waiting -= 1
                self._handed_back = time.monotonic()
                self._notify()

    def ack(
        self,
        message: Message,
        *,
        transaction: str | None = None,
        receipt: bool = False,
        headers: HeadersArg | None = None,
    ) -> None:
        """ACK a message of a client or client-individual subscription.

        A message delivered on a connection since lost raises `ConnectionLost`: the
        broker redelivers it, and the redelivery is the one to acknowledge.
        """
        self._acknowledge(Session.ack, message, transaction, receipt, headers)

    def nack(
        self,
        message: Message,
        *,
        transaction: str | None = None,
        receipt: bool = False,
        headers: HeadersArg | None = None,
    ) -> None:
        """NACK a message (1.1+); what the broker does with it depends on the broker (docs/client.md)."""
        self._acknowledge(Session.nack, message, transaction, receipt, headers)

    def _acknowledge(
        self,
        command: Callable[..., Frame],
        message: Message,
        transaction: str | None,
        receipt: bool,
        headers: HeadersArg | None,
    ) -> None:
        try:
            frame, receipt_id = self._write(
                lambda s: command(s, message, transaction=transaction, receipt=receipt, headers=headers or ()), receipt
            )
        except ProtocolError as exc:
            raise stale_ack_error(self.lost, message, command.__name__, exc) from exc
        self._await(frame, receipt_id)

    def begin(self, transaction: str | None = None, *, receipt: bool = False) -> str:
        """BEGIN a transaction; returns its id."""
        frame, receipt_id = self._write(lambda s: s.begin(transaction, receipt=receipt), receipt)
        self._await(frame, receipt_id)
        return frame.headers["transaction"]

    def commit(self, transaction: str, *, receipt: bool = False) -> None:
        self._end_transaction("commit", transaction, receipt)

    def abort(self, transaction: str, *, receipt: bool = False) -> None:
        self._end_transaction("abort", transaction, receipt)

    def _end_transaction(self, action: str, transaction: str, receipt: bool) -> None:
        if transaction in self._lost_transactions:
            raise ConnectionLost(
                f"cannot {action}() transaction {transaction!r}: the broker aborted it when the connection was lost"
            )

        def build(session: Session) -> Frame:
            if action == "commit":
                return session.commit(transaction, receipt=receipt)
            return session.abort(transaction, receipt=receipt)

        frame, receipt_id = self._write(build, receipt)
        self._await(frame, receipt_id)

    @contextlib.contextmanager
    def transaction(self, *, receipt: bool = False) -> Iterator[str]:
        """BEGIN, yield the id; COMMIT on success, ABORT when the block raises."""
        transaction = self.begin()
        try:
            yield transaction
        except BaseException:
            if transaction in self.session.transactions:
                with contextlib.suppress(StompError):
                    self.abort(transaction)
            raise
        self.commit(transaction, receipt=receipt)

    def disconnect(self, *, receipt: bool = True, timeout: float | None = None) -> None:
        """DISCONNECT (waiting for its receipt so that everything sent was processed), then close.

        Raises an ERROR still pending from the broker after closing, so it is not lost.
        """
        self._closing = True
        self._stop.set()
        self._beat_wake.set()
        self._flush_wake.set()
        try:
            if self._status == "connected":
                try:
                    frame, receipt_id = self._write(lambda s: s.disconnect(receipt=receipt), receipt)
                    self._await(frame, receipt_id, timeout)
                except ConnectionLost:
                    pass  # the broker may close first; the connection ends either way
                except BrokerError as exc:
                    self._errors.append(exc)  # raised below, once the connection is closed
        finally:
            self._shutdown()
        self._raise_pending()

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

    def _join_threads(self) -> None:
        current = threading.current_thread()
        for thread in (self._reader, self._beater, self._flusher):
            if thread is not None and thread is not current:
                thread.join(_JOIN_TIMEOUT)
        self._reader = None
        self._beater = None
        self._flusher = None

    def __enter__(self) -> Client:
        self.connect()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc is None:
            self.disconnect()
            return
        try:
            self.disconnect()
        except StompError as pending:
            log.error("while leaving the client's with block on %r: the broker had also sent %s", exc, pending)


def _close(sock: socket.socket) -> None:
    """Shut down first: close() alone does not wake another thread blocked in send() or recv()."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


__all__ = ["Client", "ClientSubscription"]
