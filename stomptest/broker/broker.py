"""`Broker`: the fake broker on a TCP port, with the thread-safe test-side API.

Constructing a `Broker` is cheap and imports no gevent; `start()` loads the host
(host.py) and returns once the port accepts connections. Every inspection and fault
method may be called from any thread: it runs inside the broker's hub and returns
plain snapshots (snapshot.py), never live objects.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import ssl
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Literal, TypeVar

from stomptest.broker.engine import Engine
from stomptest.broker.profiles import Profile, get_profile
from stomptest.broker.snapshot import (
    ConnectionInfo,
    DeliveryInfo,
    DestinationInfo,
    DurableInfo,
    MessageSnapshot,
    Snapshot,
    SubscriptionInfo,
    TranscriptEntry,
    connection_info,
    snapshot,
    transcript,
)
from stomptest.protocol.errors import ConfigurationError, StompError
from stomptest.protocol.frame import Frame, HeadersArg

if TYPE_CHECKING:
    from stomptest.broker.connection import Connection
    from stomptest.broker.host import Host
    from stomptest.broker.store import Store
    from stomptest.broker.tls import ThrowawayTLS

T = TypeVar("T")

_running: weakref.WeakSet[Broker] = weakref.WeakSet()
_atexit_lock = threading.Lock()
_atexit_registered = False


class WaitTimeout(AssertionError):
    """A `wait_for...` helper ran out of time; the message shows what the broker had instead."""


class BrokerFailure(StompError):
    """The broker hit a bug of its own while serving (raised by `Broker.check()`)."""


class Broker:
    """A STOMP 1.0-1.2 broker for tests, faithful to a real broker through its `profile`.

    ``Broker(host="127.0.0.1", port=0, profile="strict", users=None, ssl_context=None, **limits)``:
    `port` 0 picks a free port; `profile` is a name from `PROFILES` or a `Profile`; `users`
    maps login to passcode (None accepts anyone); `limits` override the profile's `Limits`.
    ``tls=True`` serves ssl:// with a throwaway certificate; clients trust ``broker.tls.client_context()``.
    Stopping keeps queued messages: `start()` again (or `restart()`) serves them on the same port.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        profile: str | Profile = "strict",
        users: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        *,
        tls: bool = False,
        data_dir: str | os.PathLike[str] | None = None,
        **limits: int,
    ) -> None:
        # tls=True: a throwaway CA and certificate (broker/tls.py); clients trust self.tls.client_context()
        self.tls: ThrowawayTLS | None = None
        if tls:
            if ssl_context is not None:
                raise ConfigurationError("give tls=True (a throwaway certificate) or ssl_context, not both")
            from stomptest.broker.tls import ThrowawayTLS

            self.tls = ThrowawayTLS.make(host)
            ssl_context = self.tls.server_context()
        if not isinstance(port, int) or not 0 <= port <= 65535:
            raise ConfigurationError(f"port must be an int from 0 to 65535, not {port!r}")
        if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
            raise ConfigurationError("ssl_context must be an ssl.SSLContext (server side, with a certificate loaded)")
        self.profile = get_profile(profile)
        self.limits = self.profile.limits.replace(**limits) if limits else self.profile.limits
        self.host = host
        self._port = port
        self.ssl_context = ssl_context
        self.engine = Engine(self.profile, users=users, limits=self.limits)
        self.store: Store | None = None
        if data_dir is not None:  # durable messages on disk, kept across processes (store.py)
            from stomptest.broker.store import SqliteStore, restore

            self.store = SqliteStore(data_dir)
            restore(self.engine, self.store)
            self.engine.journal = []
        self._host: Host | None = None
        self._segment_size: int | None = None
        self._lock = threading.Lock()

    # -- lifecycle

    def start(self) -> Broker:
        """Listen and serve; returns once connections are accepted."""
        with self._lock:
            if self._host is not None:
                return self
            from stomptest.broker.host import Host

            host = Host(self.engine, self.host, self._port, self.ssl_context)
            host.persist = self._persist
            host.segment_size = self._segment_size
            host.start()
            self._port = host.port
            self._host = host
        _remember(self)
        return self

    def stop(self) -> None:
        """Close every connection (clients see end of file) and the port; queued messages are kept."""
        with self._lock:
            host, self._host = self._host, None
            if host is not None:
                host.stop()
            self._persist()
        _running.discard(self)

    def restart(self, down_for: float = 0.0) -> None:
        """Stop, stay down `down_for` seconds, and start again on the same port, keeping queued messages.

        Those the profile's broker keeps: every one (strict), or only those sent `persistent:true`
        (`restart_keeps_non_persistent`), with their delivery counts or not (`restart_keeps_deliveries`;
        docs/lifecycle.md).
        """
        self.stop()
        self.engine.restarted()
        from stomptest.broker.store import forget_deliveries  # ActiveMQ counts deliveries afresh (store.py)

        forget_deliveries(self.engine)
        if down_for > 0:
            time.sleep(down_for)
        self.start()

    def __enter__(self) -> Broker:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._host is not None

    @property
    def port(self) -> int:
        """The TCP port (the one chosen by the system after `start()` when constructed with 0)."""
        return self._port

    @property
    def url(self) -> str:
        scheme = "ssl" if self.ssl_context is not None else "tcp"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self._port}"

    @property
    def ws_url(self) -> str:
        """STOMP over WebSocket on the same port: `ws://HOST:PORT/ws` (`wss://` with TLS).

        The profile's `websocket.paths` says which paths upgrade (`/ws` upgrades in every shipped profile).
        """
        scheme = "wss" if self.ssl_context is not None else "ws"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self._port}/ws"

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self._port)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Broker {self.profile.name} {self.url} {state}>"

    def _call(self, function: Callable[[], T]) -> T:
        host = self._host
        if host is None:
            result = function()  # not serving: nothing else touches the engine
            self._persist()
            return result
        if self.store is None:
            return host.call(function)

        def then_persist() -> T:  # a seed, purge or advance is on disk when the call returns
            result = function()
            self._persist()
            return result

        return host.call(then_persist)

    def _persist(self) -> None:
        """Write the engine's journal to the store (in the broker's hub, or the caller's thread while stopped)."""
        journal = self.engine.journal
        if journal and self.store is not None:
            self.engine.journal = []
            self.store.write(journal)

    # -- inspection

    def snapshot(self) -> Snapshot:
        """Destinations with their queued messages, connections, subscriptions and unacked deliveries."""
        return self._call(lambda: snapshot(self.engine))

    def destinations(self) -> Mapping[str, DestinationInfo]:
        return self.snapshot().destinations

    def messages(self, destination: str) -> tuple[MessageSnapshot, ...]:
        """The messages queued on `destination` (not yet delivered), in delivery order."""
        return self.snapshot().messages(destination)

    def unacked(self, destination: str | None = None) -> tuple[DeliveryInfo, ...]:
        deliveries = self.snapshot().unacked
        return tuple(d for d in deliveries if destination is None or d.destination == destination)

    def subscriptions(self, destination: str | None = None) -> tuple[SubscriptionInfo, ...]:
        found = self.snapshot().subscriptions
        return tuple(s for s in found if destination is None or s.destination == destination)

    def durable_subscriptions(self) -> tuple[DurableInfo, ...]:
        """Durable topic subscriptions, also while their subscriber is away, with what each one keeps."""
        return self.snapshot().durable_subscriptions

    def connections(self) -> tuple[ConnectionInfo, ...]:
        """Open connections (including ones that have not sent CONNECT yet)."""
        return self._call(lambda: tuple(connection_info(c) for c in self.engine.connections.values()))

    def transcript(
        self,
        connection: int | None = None,
        *,
        command: str | None = None,
        direction: Literal["in", "out"] | None = None,
    ) -> list[TranscriptEntry]:
        """Frames in both directions, per connection or all (recently closed connections included)."""

        def collect() -> list[TranscriptEntry]:
            engine = self.engine
            found = [*engine.finished, *engine.connections.values()]
            entries: list[TranscriptEntry] = []
            for item in found:
                if connection is None or item.id == connection:
                    entries += transcript(item)
            if connection is None:
                entries.sort(key=lambda e: e.time)
            return entries

        entries = self._call(collect)
        return [
            e
            for e in entries
            if (command is None or e.command == command) and (direction is None or e.direction == direction)
        ]

    def expired(self, destination: str | None = None) -> tuple[MessageSnapshot, ...]:
        """Messages that expired before they were delivered (on `destination`, or anywhere), oldest first.

        Where each went after (a dead-letter or expiry queue, or nowhere) is the profile's (docs/lifecycle.md).
        """
        return self.snapshot().expired(destination)

    # -- the messages' clock (issue 15)

    def advance(self, seconds: float) -> None:
        """Move the broker's clock for messages on by `seconds`: what expires in that time expires now.

        Message timestamps, `expires`/`expiration` deadlines and queue TTLs all read this clock;
        heart-beats and timeouts keep real time. No test needs to sleep for a TTL.
        """
        if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 <= seconds < 10**12:
            raise ConfigurationError(f"advance() takes a number of seconds from 0 on, not {seconds!r}")
        self._call(lambda: self.engine.advance(float(seconds), time.time()))

    @property
    def clock(self) -> float:
        """The broker's time for messages, in seconds since the epoch (real time moved on by `advance`)."""
        return time.time() + self.engine.clock_offset

    def check(self) -> None:
        """Raise `BrokerFailure` if the broker hit a bug of its own since it was created."""
        __tracebackhide__ = True  # a failure in a test shows the test's line
        errors = self._call(lambda: list(self.engine.internal_errors))
        if errors:
            raise BrokerFailure(f"the broker failed {len(errors)} time(s); first:\n{errors[0]}")

    # -- waiting

    def wait_for(self, condition: Callable[[Snapshot], T], timeout: float = 5.0, what: str | None = None) -> T:
        """Poll snapshots until `condition` returns something truthy, and return it.

        On timeout, raise `WaitTimeout` showing the last snapshot.
        """
        __tracebackhide__ = True  # a failure in a test shows the test's line
        deadline = time.monotonic() + timeout
        pause = 0.0005
        while True:
            state = self.snapshot()
            result = condition(state)
            if result:
                return result
            if time.monotonic() >= deadline:
                label = what or getattr(condition, "__name__", "the condition")
                raise WaitTimeout(
                    f"timed out after {timeout:g} s waiting for {label}; the broker had:\n{state.describe()}"
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.02)

    def wait_for_messages(self, destination: str, count: int = 1, timeout: float = 5.0) -> tuple[MessageSnapshot, ...]:
        """Wait until at least `count` messages are queued on `destination`; return them."""
        __tracebackhide__ = True  # a failure in a test shows the test's line
        return self.wait_for(
            lambda s: s.messages(destination) if len(s.messages(destination)) >= count else (),
            timeout,
            f"{count} message(s) queued on {destination}",
        )

    def wait_for_unacked(
        self, count: int = 1, destination: str | None = None, timeout: float = 5.0
    ) -> tuple[DeliveryInfo, ...]:
        __tracebackhide__ = True  # a failure in a test shows the test's line

        def enough(state: Snapshot) -> tuple[DeliveryInfo, ...]:
            found = tuple(d for d in state.unacked if destination is None or d.destination == destination)
            return found if len(found) >= count else ()

        return self.wait_for(
            enough, timeout, f"{count} unacknowledged deliveries on {destination or 'any destination'}"
        )

    def wait_for_subscriptions(
        self, destination: str, count: int = 1, timeout: float = 5.0
    ) -> tuple[SubscriptionInfo, ...]:
        __tracebackhide__ = True  # a failure in a test shows the test's line

        def enough(state: Snapshot) -> tuple[SubscriptionInfo, ...]:
            found = tuple(s for s in state.subscriptions if s.destination == destination)
            return found if len(found) >= count else ()

        return self.wait_for(enough, timeout, f"{count} subscription(s) on {destination}")

    def wait_for_connections(
        self, count: int = 1, *, exactly: bool = False, timeout: float = 5.0
    ) -> tuple[ConnectionInfo, ...]:
        """Wait until at least (or `exactly`) `count` connections are CONNECTED; return them."""
        __tracebackhide__ = True  # a failure in a test shows the test's line

        def enough(state: Snapshot) -> tuple[ConnectionInfo, ...] | bool:
            found = tuple(c for c in state.connections if c.state == "connected")
            ok = len(found) == count if exactly else len(found) >= count
            return (found or True) if ok else False

        result = self.wait_for(enough, timeout, f"{'exactly' if exactly else 'at least'} {count} connection(s)")
        return result if isinstance(result, tuple) else ()

    def wait_for_frame(
        self,
        command: str,
        *,
        direction: Literal["in", "out"] = "in",
        connection: int | None = None,
        match: Callable[[Frame], bool] | None = None,
        timeout: float = 5.0,
    ) -> TranscriptEntry:
        """Wait for a frame with `command` to be received (or sent, `direction="out"`); return its entry."""
        __tracebackhide__ = True  # a failure in a test shows the test's line
        deadline = time.monotonic() + timeout
        pause = 0.0005
        while True:
            entries = self.transcript(connection, direction=direction)
            for entry in entries:
                frame = entry.frame
                if entry.command == command and isinstance(frame, Frame) and (match is None or match(frame)):
                    return entry
            if time.monotonic() >= deadline:
                shown = "\n".join(str(e) for e in entries[-20:]) or "(no frames)"
                where = "received" if direction == "in" else "sent"
                raise WaitTimeout(
                    f"timed out after {timeout:g} s waiting for a {command} frame to be {where}; "
                    f"the last frames {where} were:\n{shown}"
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.02)

    # -- seeding and clearing

    def seed(
        self,
        destination: str,
        body: bytes | str = b"",
        headers: HeadersArg | None = None,
        count: int = 1,
    ) -> list[str]:
        """Put `count` messages on `destination` as if a client had sent them; return their message ids."""
        frame = Frame("SEND", headers or (), body)  # validates and normalises like a client frame
        pairs = tuple((n, v) for n, v in frame.raw_headers if n not in ("destination", "content-length"))

        def put() -> list[str]:
            now = time.time()
            return [self.engine.seed(destination, frame.body, pairs, now).message_id for _ in range(count)]

        return self._call(put)

    def declare_exchange(self, name: str, type: str = "topic") -> None:
        """Declare a RabbitMQ exchange (`direct`, `topic`, `fanout` or `headers`), as a management tool would:
        STOMP cannot. Then `/exchange/NAME/KEY` routes through it (docs/routing.md); rabbitmq profile only."""
        self._call(lambda: self.engine.routes.declare_exchange(name, type))

    def delete_exchange(self, name: str) -> None:
        """Delete an exchange `declare_exchange` made; a SEND to it is then answered `not_found`."""
        self._call(lambda: self.engine.routes.delete_exchange(name))

    def purge(self) -> None:
        """Forget all queued messages and unused destinations; connections stay."""
        self._call(self.engine.purge)

    def reset(self) -> None:
        """Drop every connection and forget every message: a clean broker on the same port."""
        self.drop_connections()
        self.purge()

    # -- faults

    def _targets(self, connection: int | None) -> list[Connection]:
        engine = self.engine
        if connection is None:
            return list(engine.connections.values())
        found = engine.connections.get(connection)
        if found is None:
            raise ConfigurationError(
                f"no open connection #{connection}; open ones: {sorted(engine.connections) or 'none'}"
            )
        return [found]

    def drop_connections(self, connection: int | None = None, *, error: str | None = None) -> int:
        """Close one connection (or all) at once; with `error`, send an ERROR with that message first.

        Unacknowledged messages go back to their queues, as when a client disconnects.
        """

        def drop() -> int:
            targets = self._targets(connection)
            for target in targets:
                if error is not None:
                    target.send(Frame("ERROR", [("message", error.replace("\n", " "))]))
                target.close("dropped by the test" + (f" with ERROR {error!r}" if error is not None else ""))
                if self._host is None:
                    target.connection_lost(time.time())
            return len(targets)

        return self._call(drop)

    def send_frame(self, connection: int, frame: Frame) -> None:
        """Send any frame to one connection (a MESSAGE nobody subscribed to, a stray RECEIPT...)."""
        self._call(lambda: self._targets(connection)[0].send(frame))

    def send_error(
        self, connection: int | None = None, message: str = "injected error", body: str = "", *, close: bool = True
    ) -> None:
        """Send an ERROR to one connection (or all), then close it unless `close` is false."""

        def inject() -> None:
            for target in self._targets(connection):
                headers = [("message", message.replace("\n", " "))]
                if body:
                    headers.append(("content-type", "text/plain"))
                target.send(Frame("ERROR", headers, body.encode("utf-8")))
                if close:
                    target.close(f"ERROR {message!r} injected by the test")

        self._call(inject)

    def refuse_connections(self, duration: float | None = None) -> None:
        """Stop listening, so new connections are refused, for `duration` seconds (None: until `accept_connections()`).

        Open connections are not touched.
        """
        host = self._require_host()
        host.call(lambda: host.refuse(duration), blocking=True)

    def accept_connections(self) -> None:
        host = self._require_host()
        host.call(host.accept)

    def hold_frames(
        self,
        commands: Iterable[str] | None = None,
        *,
        connection: int | None = None,
        duration: float | None = None,
    ) -> None:
        """Keep back frames the broker sends (of `commands`, or all) for `duration` s or until `release_frames()`.

        Held frames go out in order when released: this delays RECEIPTs, MESSAGEs or heart-beat-free silences.
        """
        wanted = frozenset(commands) if commands is not None else frozenset()

        def hold() -> None:
            until = time.time() + duration if duration is not None else None
            for target in self._targets(connection):
                target.hold_commands = wanted
                target.hold_until = until
                self._wake(target)

        self._call(hold)

    def release_frames(self, connection: int | None = None) -> None:
        def release() -> None:
            for target in self._targets(connection):
                target.release()

        self._call(release)

    def pause_heartbeats(self, connection: int | None = None) -> None:
        """Stop sending heart-beats (the client should then time the connection out)."""
        self._call(lambda: self._set_beats(connection, True))

    def resume_heartbeats(self, connection: int | None = None) -> None:
        self._call(lambda: self._set_beats(connection, False))

    def _set_beats(self, connection: int | None, paused: bool) -> None:
        for target in self._targets(connection):
            target.heartbeats_paused = paused
            self._wake(target)

    @property
    def segment_size(self) -> int | None:
        """When set, the broker writes in TCP segments of at most this many bytes (None: normal writes)."""
        return self._segment_size

    @segment_size.setter
    def segment_size(self, size: int | None) -> None:
        if size is not None and (not isinstance(size, int) or size < 1):
            raise ConfigurationError(f"segment_size must be a positive int or None, not {size!r}")
        self._segment_size = size
        host = self._host
        if host is not None:
            host.call(lambda: setattr(host, "segment_size", size))

    def _wake(self, connection: Connection) -> None:
        host = self._host
        if host is not None:
            host.wake(connection)

    def _require_host(self) -> Host:
        host = self._host
        if host is None:
            raise ConfigurationError("the broker is not running: start() it first")
        return host


def _remember(broker: Broker) -> None:
    """Stop forgotten brokers before the interpreter goes down (the exit safety net)."""
    global _atexit_registered
    _running.add(broker)
    with _atexit_lock:
        if not _atexit_registered:
            atexit.register(_stop_all)
            _atexit_registered = True


def _stop_all() -> None:
    for broker in list(_running):
        with contextlib.suppress(Exception):  # at exit, a broker that cannot stop must not hide the others
            broker.stop()
