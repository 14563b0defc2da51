"""`Client`: the blocking STOMP client, a thin I/O shell over `Session`.

Theory of operation. The calling thread builds frames with the session and writes
them; one reader thread reads the socket, feeds the parser and the session, and
routes each event: MESSAGEs to an inbox that `receive()` drains, RECEIPTs and ERRORs
to the call waiting for them, other ERRORs to `on_error` or to the caller's next
call. A second small thread exists only while heart-beats are negotiated: it writes
an EOL when we have been quiet too long, and shuts the socket when the broker has
been silent too long, which the reader then sees as a lost connection.

Why a reader thread rather than reading in the caller: the broker's heart-beats and
ERRORs must be noticed while the caller is busy elsewhere, and a caller blocked in
`send()` on a full socket must not stop us from draining the broker's output.

Two locks, always taken in this order: `_write_lock` keeps frames on the wire in
the order the session made them, `_lock` guards the session. The reader only takes
`_lock`, so a writer stuck in `sendall()` never stops reading.

Writes are coalesced. Every socket has TCP_NODELAY (a request that waits for an
answer must not sit in Nagle's buffer), so writing each small frame at once would
make one TCP segment per frame and the broker one read per frame. Instead a frame
nobody waits for (a SEND or ACK without receipt) is appended to a buffer that a
flusher thread writes out as soon as it gets to run, usually together with the
frames that followed meanwhile; anything that waits for an answer (receipts,
DISCONNECT, heart-beats, and `receive()` before it blocks) flushes the buffer itself,
and so does a buffer past `_FLUSH_BYTES`.

On a lost connection the reader thread asks the failover policy for attempts,
connects, negotiates, replays the subscriptions, and tells the caller through
`on_connection_lost(lost, cause)` and `on_reconnect(connected)`. Messages delivered
but not acknowledged are in `lost.unacknowledged` (the broker redelivers them) and
are no longer handed out by `receive()`.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Final

from stomptest.client import transport
from stomptest.client.failover import Endpoint, FailoverUri
from stomptest.client.options import calls_answered_by, check_wait, client_options, stale_ack_error
from stomptest.protocol.errors import (
    BrokerError,
    ConnectionLost,
    ConnectTimeout,
    FrameError,
    ProtocolError,
    RemoteProtocolError,
    StompError,
)
from stomptest.protocol.frame import Frame, HeadersArg, Heartbeat
from stomptest.protocol.parser import Parser
from stomptest.protocol.session import (
    CONNECTED,
    CONNECTING,
    DISCONNECTING,
    Connected,
    Error,
    Lost,
    Message,
    Receipt,
    Session,
)
from stomptest.protocol.session import Subscription as SessionSubscription

log = logging.getLogger("stomptest.client")

_RECV_SIZE: Final = 256 * 1024
_FLUSH_BYTES: Final = 64 * 1024
_JOIN_TIMEOUT: Final = 5.0

LostCallback = Callable[[Lost, BaseException], None]
ReconnectCallback = Callable[[Connected], None]
ErrorCallback = Callable[[StompError], None]


class _Waiter:
    """One call waiting for a RECEIPT (or the ERROR answering it)."""

    __slots__ = ("error", "event", "receipt")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.receipt: Receipt | None = None
        self.error: BaseException | None = None


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
        )
        self.uri = self.options.uri
        self._session = self.options.new_session()
        self._connect_options = self.options.connect
        self._ssl_context = self.options.ssl_context
        self.connect_timeout = self.options.connect_timeout
        self.receipt_timeout = self.options.receipt_timeout
        self._grace = self.options.heartbeat_grace
        self.on_connection_lost = on_connection_lost
        self.on_reconnect = on_reconnect
        self.on_error = on_error
        self._rng = rng if rng is not None else random.Random()

        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._encoder = transport.Encoder()
        self._pending: list[bytes] = []  # encoded frames not yet written (guarded by _write_lock)
        self._pending_bytes = 0
        self._flush_wake = threading.Event()
        self._send_lock = threading.Lock()  # taken under _write_lock, held while writing: keeps batches in order
        self._flusher: threading.Thread | None = None
        self._inbox: collections.deque[tuple[int, Message]] = collections.deque()
        self._inbox_lock = threading.Lock()
        self._inbox_cond = threading.Condition(self._inbox_lock)
        self._inbox_waiting = 0
        self._waiters: dict[str, _Waiter] = {}
        self._errors: collections.deque[StompError] = collections.deque()
        self._sock: socket.socket | None = None
        self._reader: threading.Thread | None = None
        self._beater: threading.Thread | None = None
        self._beat_wake = threading.Event()
        self._stop = threading.Event()
        self._online = threading.Event()
        self._status = "new"  # new, connected, reconnecting, failed, closed
        self._failure: ConnectionLost | None = None
        self._closing = False
        self._generation = 0
        self._overdue: ConnectionLost | None = None
        self._lost_transactions: set[str] = set()
        self._last_sent = 0.0
        self._last_received = 0.0
        self.broker: Endpoint | None = None
        """The broker of the current (or last) connection."""
        self.connected: Connected | None = None
        """The last `Connected` event: negotiated version, heart-beat, server."""
        self.lost: Lost | None = None
        """What the last lost connection left behind (None until one is lost)."""
        self.reconnects = 0
        self.heartbeats_received = 0
        self.heartbeats_sent = 0

    def __repr__(self) -> str:
        return f"<Client {self.uri.uri!r} {self._status}>"

    # --- state ------------------------------------------------------------------------------------------------

    @property
    def session(self) -> Session:
        """The sans-IO session underneath (read it; do not drive it)."""
        return self._session

    @property
    def version(self) -> str:
        return self._session.version

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
            return self._session.unacknowledged()

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
        self._generation += 1
        sock, parser, connected, leftovers = self._establish(reconnect=False)
        self._start(sock, parser, leftovers)
        return connected

    def _establish(self, *, reconnect: bool) -> tuple[socket.socket, Parser, Connected, list[Frame | Heartbeat]]:
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
                sock = transport.open_socket(broker, self._ssl_context, self.connect_timeout)
            except OSError as exc:
                last = exc
                log.debug("connecting to %s failed: %s", broker, exc)
                continue
            try:
                parser, connected, leftovers = self._handshake(sock)
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
            return sock, parser, connected, leftovers

    def _handshake(self, sock: socket.socket) -> tuple[Parser, Connected, list[Frame | Heartbeat]]:
        """CONNECT, wait for CONNECTED, and replay subscriptions, all on `sock` before the reader starts."""
        try:
            with self._lock:
                frame = self._session.connect(**self._connect_options)
            parser = Parser(self._session.offered_versions[-1])
            sock.settimeout(self.connect_timeout)
            sock.sendall(frame.encode(self._session.offered_versions[-1]))
            deadline = time.monotonic() + self.connect_timeout
            while True:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no CONNECTED within connect_timeout={self.connect_timeout:g} s")
                data = sock.recv(_RECV_SIZE)
                if not data:
                    raise ConnectionLost("the broker closed the connection before answering CONNECT")
                items = parser.feed(data)
                for index, item in enumerate(items):
                    with self._lock:
                        event = self._session.receive(item)
                    if isinstance(event, Error):
                        raise event.exception
                    if isinstance(event, Connected):
                        parser.version = event.version
                        with self._lock:
                            replay = self._session.replay()
                        for subscribe in replay:
                            sock.sendall(subscribe.encode(event.version))
                        sock.settimeout(None)
                        now = time.monotonic()
                        self._last_sent = self._last_received = now
                        self.connected = event
                        return parser, event, items[index + 1 :]
        except BaseException:
            with self._lock:
                if self._session.state is CONNECTING or self._session.state is CONNECTED:
                    self._session.connection_lost()
            raise

    def _start(self, sock: socket.socket, parser: Parser, leftovers: list[Frame | Heartbeat]) -> None:
        self._sock = sock
        self._status = "connected"
        self._online.set()
        self._reader = threading.Thread(
            target=self._read_loop, args=(sock, parser, leftovers), name="stomptest-reader", daemon=True
        )
        self._reader.start()
        if self._flusher is None:
            self._flusher = threading.Thread(target=self._flush_loop, name="stomptest-flusher", daemon=True)
            self._flusher.start()
        self._ensure_beater()

    def _ensure_beater(self) -> None:
        intervals = self._session.heartbeat
        if (intervals.send or intervals.receive) and self._beater is None:
            self._beater = threading.Thread(target=self._beat_loop, name="stomptest-heartbeat", daemon=True)
            self._beater.start()
        self._beat_wake.set()

    # --- the reader thread ------------------------------------------------------------------------------------

    def _read_loop(self, sock: socket.socket, parser: Parser, leftovers: list[Frame | Heartbeat]) -> None:
        while True:
            cause = self._read_connection(sock, parser, leftovers)
            next_connection = self._connection_ended(sock, cause)
            if next_connection is None:
                return
            sock, parser, leftovers = next_connection

    def _read_connection(
        self, sock: socket.socket, parser: Parser, leftovers: list[Frame | Heartbeat]
    ) -> BaseException:
        try:
            self._dispatch(leftovers)
            recv = sock.recv
            while True:
                data = recv(_RECV_SIZE)
                if not data:
                    return self._overdue or ConnectionLost("the broker closed the connection")
                self._last_received = time.monotonic()
                try:
                    items = parser.feed(data)
                except FrameError as exc:
                    self._dispatch(list(exc.frames))
                    return ConnectionLost(f"the broker sent bytes that are not STOMP: {exc}")
                self._dispatch(items)
        except OSError as exc:
            return self._overdue or ConnectionLost(f"the connection failed: {exc}")
        except BaseException as exc:  # a bug or a broker breaking the rules: end this connection, never the thread
            return exc

    def _dispatch(self, items: list[Frame | Heartbeat]) -> None:
        if not items:
            return
        events: list[Message | Receipt | Error | Connected | Heartbeat] = []
        problem: StompError | None = None
        with self._lock:
            receive = self._session.receive
            for item in items:
                try:
                    events.append(receive(item))
                except ProtocolError as exc:  # the broker broke the rules: report it, keep reading
                    problem = exc
                    break
            generation = self._generation
        messages = [(generation, e) for e in events if type(e) is Message]
        if messages:
            with self._inbox_cond:
                self._inbox.extend(messages)
                if self._inbox_waiting:
                    self._inbox_cond.notify_all()
            if len(messages) == len(events) and problem is None:
                return
        # ActiveMQ, RabbitMQ and Artemis end every frame with NUL and LF: as many heart-beats as frames, counted at once
        others = [e for e in events if type(e) is not Message and type(e) is not Heartbeat]
        self.heartbeats_received += len(events) - len(messages) - len(others)
        for event in others:
            if isinstance(event, Receipt):
                waiter = self._waiters.pop(event.receipt_id, None)
                if waiter is not None:
                    waiter.receipt = event
                    waiter.event.set()
            elif isinstance(event, Error):
                self._on_error_frame(event)
        if problem is not None:
            self._report(problem)

    def _on_error_frame(self, event: Error) -> None:
        answered = calls_answered_by(event, list(self._waiters), self.on_error is not None)
        for receipt_id in answered:
            waiter = self._waiters.pop(receipt_id)
            waiter.error = event.exception
            waiter.event.set()
        if not answered:
            self._report(event.exception)

    def _report(self, error: StompError) -> None:
        """An error nobody waits for: to `on_error`, or raised by the caller's next call."""
        if self.on_error is not None:
            try:
                self.on_error(error)
            except Exception:
                log.exception("on_error callback failed")
            return
        self._errors.append(error)
        self._wake_inbox()

    def _wake_inbox(self) -> None:
        with self._inbox_cond:
            self._inbox_cond.notify_all()

    def _connection_ended(
        self, sock: socket.socket, cause: BaseException
    ) -> tuple[socket.socket, Parser, list[Frame | Heartbeat]] | None:
        """Clean up after a connection ended; reconnect unless it was our own disconnect."""
        _close(sock)
        self._online.clear()
        with self._write_lock, self._lock:
            clean = self._closing or self._session.state is DISCONNECTING
            lost = self._session.connection_lost()
            self._generation += 1
            if not clean:
                self._status = "reconnecting"
            self._pending.clear()  # frames of the lost connection never go to the next one
            self._pending_bytes = 0
        self._fail_waiters(cause if isinstance(cause, ConnectionLost) else ConnectionLost(str(cause)))
        if clean:
            return None
        self.lost = lost
        self._lost_transactions = set(lost.transactions)
        self._status = "reconnecting"
        self._wake_inbox()
        self._tell_lost(lost, cause)
        self._overdue = None
        try:
            sock, parser, connected, leftovers = self._establish(reconnect=True)
        except (StompError, OSError) as exc:
            failure = ConnectionLost(f"connection lost ({cause}), and reconnecting failed: {exc}")
            failure.__cause__ = exc
            self._failure = failure
            self._status = "closed" if self._stop.is_set() else "failed"
            self._online.set()  # wake callers waiting for the reconnection: they raise `failure`
            self._wake_inbox()
            return None
        self._sock = sock
        self.reconnects += 1
        self._status = "connected"
        self._online.set()
        self._ensure_beater()
        if self.on_reconnect is not None:
            try:
                self.on_reconnect(connected)
            except Exception:
                log.exception("on_reconnect callback failed")
        return sock, parser, leftovers

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

    def _fail_waiters(self, error: ConnectionLost) -> None:
        waiters, self._waiters = self._waiters, {}
        for waiter in waiters.values():
            waiter.error = error
            waiter.event.set()

    # --- the heart-beat thread --------------------------------------------------------------------------------

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
        session = self._session
        due = session.heartbeat_due(self._last_sent, self._last_received, time.monotonic(), self._grace)
        if due.silent_for is not None:
            self._overdue = ConnectionLost(due.lost_message(session.heartbeat.receive))
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            return None
        if due.beat:
            with self._write_lock:
                with self._lock:
                    data = session.beat() if session.state is CONNECTED else b""
                taken = None
                if data and sock is self._sock:
                    self._pending.append(data)
                    taken = self._take_locked()
            if taken is not None:
                with contextlib.suppress(ConnectionLost):  # the reader reports the loss
                    self._send_taken(sock, taken, "a heart-beat")
                self.heartbeats_sent += 1
        return due.wake_in

    # --- caller-side helpers ----------------------------------------------------------------------------------

    def _raise_pending(self) -> None:
        if self._errors:
            raise self._errors.popleft()

    def _ready(self) -> None:
        """Raise what is pending; wait out a reconnection; refuse when the client is down."""
        self._raise_pending()
        if self._status == "reconnecting":
            self._online.wait()
            self._raise_pending()
        if self._failure is not None and self._status in ("failed", "closed"):
            raise self._failure
        if self._status != "connected":
            raise ProtocolError(f"the client is {self._status}: call connect() first")

    def _write(self, build: Callable[[Session], Frame], waiter: bool = False) -> tuple[Frame, _Waiter | None]:
        """Make a frame with the session and write it, in session order; optionally register a receipt waiter."""
        if self._errors or self._status != "connected":
            self._ready()
        with self._write_lock:
            sock = self._sock
            with self._lock:
                try:
                    frame = build(self._session)
                except ProtocolError:
                    if self._status != "connected":
                        raise self._down() from None
                    raise
                version = self._session.version
                registered: _Waiter | None = None
                receipt_id = frame.headers.get("receipt") if waiter else None
                if receipt_id is not None:
                    registered = self._waiters[receipt_id] = _Waiter()
            if sock is None:
                raise self._down()
            data = self._encoder.encode(frame, version)
            wake = not self._pending
            self._pending.append(data)
            self._pending_bytes += len(data)
            taken = None
            if registered is not None or frame.command == "DISCONNECT" or self._pending_bytes >= _FLUSH_BYTES:
                taken = self._take_locked()
        if taken is not None:
            self._send_taken(sock, taken, frame.command)
        elif wake:
            self._flush_wake.set()
        return frame, registered

    def _take_locked(self) -> bytes | None:
        """Take the buffered frames and the turn to write them (the caller holds `_write_lock`).

        Writing happens after `_write_lock` is released, so callers can go on buffering
        meanwhile; `_send_lock`, taken here in buffer order, keeps the batches in order.
        """
        pending = self._pending
        if not pending:
            return None
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        pending.clear()
        self._pending_bytes = 0
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
        self._last_sent = time.monotonic()

    def flush(self) -> None:
        """Write out frames still buffered (see the module docstring); calls that wait do it themselves."""
        if not self._pending:
            return
        with self._write_lock:
            sock = self._sock
            taken = self._take_locked() if sock is not None else None
        if sock is not None and taken is not None:
            self._send_taken(sock, taken, "buffered frames")

    def _flush_loop(self) -> None:
        while not self._stop.is_set():
            self._flush_wake.wait()
            self._flush_wake.clear()
            with contextlib.suppress(ConnectionLost):  # the reader reports the loss
                self.flush()

    def _down(self) -> StompError:
        if self._failure is not None:
            return self._failure
        return ConnectionLost(f"the connection was lost (client {self._status}); retry once it is back")

    def _await(self, frame: Frame, waiter: _Waiter | None, timeout: float | None = None) -> Receipt | None:
        if waiter is None:
            return None
        limit = self.receipt_timeout if timeout is None else timeout
        if not waiter.event.wait(limit):
            receipt_id = frame.headers.get("receipt", "")
            self._waiters.pop(receipt_id, None)
            raise ConnectionLost(f"no RECEIPT for {frame.command} (receipt {receipt_id!r}) within {limit:g} s")
        if waiter.error is not None:
            raise waiter.error
        return waiter.receipt

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
        frame, waiter = self._write(
            lambda s: s.send(destination, body, headers=headers or (), transaction=transaction, receipt=receipt),
            receipt,
        )
        self._await(frame, waiter)
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

        frame, waiter = self._write(build, receipt)
        self._await(frame, waiter)
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
        frame, waiter = self._write(lambda s: s.unsubscribe(target, destination=destination, receipt=receipt), receipt)
        self._wake_inbox()  # iterators over it may stop
        self._await(frame, waiter)

    def receive(
        self, timeout: float | None = None, *, subscription: ClientSubscription | None = None
    ) -> Message | None:
        """The next MESSAGE (of any subscription, or of `subscription`), or None after `timeout` seconds."""
        if subscription is None and self._inbox and not self._errors:
            # What a consumer keeping up with the broker hits once per message: a message is waiting.
            check_wait("timeout", timeout)
            with self._inbox_lock:
                message = self._take(None)
            if message is not None:
                return message
        key = subscription.key if subscription is not None else None
        return self._next_message(check_wait("timeout", timeout), key)

    def _next_message(self, timeout: float | None, key: str | None, *, stop_when_gone: bool = False) -> Message | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._pending and not self._inbox:
            with contextlib.suppress(ConnectionLost):  # a reply may depend on what we sent; a loss is reported below
                self.flush()
        with self._inbox_cond:
            while True:
                self._raise_pending()
                message = self._take(key)
                if message is not None:
                    return message
                if self._status in ("failed", "closed", "new"):
                    if stop_when_gone:
                        return None
                    if self._failure is not None:
                        raise self._failure
                    raise ProtocolError(f"receive() on a client that is {self._status}: connect() first")
                if stop_when_gone and key is not None and all(s.key != key for s in self._session.subscriptions):
                    return None
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._inbox_waiting += 1
                try:
                    self._inbox_cond.wait(remaining)
                finally:
                    self._inbox_waiting -= 1

    def _take(self, key: str | None) -> Message | None:
        inbox = self._inbox
        generation = self._generation
        if key is None:
            while inbox:
                born, message = inbox.popleft()
                if born == generation or not message.needs_ack:
                    return message
            return None
        for index, (born, message) in enumerate(inbox):
            mine = message.subscription is not None and message.subscription.key == key
            if mine and (born == generation or not message.needs_ack):
                del inbox[index]
                return message
        return None

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
            frame, waiter = self._write(
                lambda s: command(s, message, transaction=transaction, receipt=receipt, headers=headers or ()), receipt
            )
        except ProtocolError as exc:
            raise stale_ack_error(self.lost, message, command.__name__, exc) from exc
        self._await(frame, waiter)

    def begin(self, transaction: str | None = None, *, receipt: bool = False) -> str:
        """BEGIN a transaction; returns its id."""
        frame, waiter = self._write(lambda s: s.begin(transaction, receipt=receipt), receipt)
        self._await(frame, waiter)
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

        frame, waiter = self._write(build, receipt)
        self._await(frame, waiter)

    @contextlib.contextmanager
    def transaction(self, *, receipt: bool = False) -> Iterator[str]:
        """BEGIN, yield the id; COMMIT on success, ABORT when the block raises."""
        transaction = self.begin()
        try:
            yield transaction
        except BaseException:
            if transaction in self._session.transactions:
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
                    frame, waiter = self._write(lambda s: s.disconnect(receipt=receipt), receipt)
                    self._await(frame, waiter, timeout)
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
        self._join_threads()
        if sock is not None:
            _close(sock)
        with self._lock:
            if self._session.state is DISCONNECTING:
                self._session.close()
            elif self._session.state is not CONNECTED and self._session.state is not CONNECTING:
                pass
            else:
                self._session.connection_lost()
        self._sock = None
        self._status = "closed"
        self._online.set()
        self._fail_waiters(ConnectionLost("the client disconnected"))
        self._wake_inbox()

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
