"""`EventLoopShell`: the asyncio client's transport and tasks: connecting, reconnecting, heart-beats, writing.

The half of `AsyncClient` (stomptest/client/aio.py) that moves bytes; the calls a user
makes are in aio.py.

Theory of operation. An `asyncio.Protocol` hands received bytes to the sans-IO
`ClientConnection` (stomptest/protocol/connection.py), which parses them, keeps the
messages in its inbox for `receive()` and `async for message in subscription`, and
says which waiting call each RECEIPT or ERROR answers; this shell resolves the future
of that call, and reports other errors to `on_error` or to the next call.
Everything runs on the event loop, so there are no locks; writes go through the
transport (with back-pressure: a send waits while the transport's buffer is full).
Frames nobody waits for are coalesced until the loop next runs its callbacks (or
64 KiB), so a burst of sends becomes one write instead of one TCP segment per frame
on a TCP_NODELAY socket; anything that waits for an answer is written at once.
Past `max_unconsumed` messages not yet received, the transport stops reading
(`pause_reading()`) until `receive()` makes room, so TCP back-pressure reaches the
broker. A heart-beat task exists while heart-beats are negotiated, and a reconnect
task after a lost connection walks the failover policy, negotiates and replays the
subscriptions before `on_reconnect` is called.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from stomptest.client import transport
from stomptest.client.base import ClientBase, ends_attempts
from stomptest.client.failover import Endpoint
from stomptest.protocol.errors import ConnectionLost, ConnectTimeout, ProtocolError, StompError
from stomptest.protocol.events import Answer, Broken, Connected, Error, Message, Notice, Receipt, Unsolicited
from stomptest.protocol.frame import Frame
from stomptest.protocol.session import Session

log = logging.getLogger("stomptest.client")


class _Protocol(asyncio.Protocol):
    def __init__(self, client: EventLoopShell) -> None:
        self.client = client
        self.reading_paused = False
        self.transport: asyncio.Transport | None = None
        self.paused = False
        self.drained: asyncio.Future[None] | None = None
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        client = self.client
        if client._protocol is not self:
            return
        connection = client._connection
        notices = connection.receive_data(data, time.monotonic())
        if connection.unconsumed:
            client._wake_inbox()
        if connection.write_due:  # WebSocket: CONNECT after the upgrade, a pong, a close reply
            client.flush()
        if notices:
            client._act(notices)
        if connection.reading_paused and self.transport is not None and not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)
        self.client._connection_lost(self, exc)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self.drained is not None and not self.drained.done():
            self.drained.set_result(None)

    async def drain(self) -> None:
        if self.paused:
            self.drained = asyncio.get_running_loop().create_future()
            await self.drained


class EventLoopShell(ClientBase):
    """The transport, the tasks and the writing of `AsyncClient`; use it from one event loop."""

    def _init_io(self) -> None:
        self._protocol: _Protocol | None = None
        self._flush_scheduled = False
        self._inbox_waiters: list[asyncio.Future[None]] = []
        self._waiters: dict[str, asyncio.Future[Receipt]] = {}
        self._connecting: asyncio.Future[Connected] | None = None
        self._cause: ConnectionLost | None = None
        self._online: asyncio.Event | None = None
        self._stop: asyncio.Event | None = None
        self._beater: asyncio.Task[None] | None = None
        self._beat_wake: asyncio.Event | None = None
        self._reconnector: asyncio.Task[None] | None = None

    async def connect(self) -> Connected:
        """Connect through the failover policy and negotiate (see `Client.connect`)."""
        self._check_connectable()
        if self._beater is not None:  # left from a connection that failed for good
            self._beater.cancel()
            self._beater = None
        self._online = asyncio.Event()
        self._stop = asyncio.Event()
        self._beat_wake = asyncio.Event()
        self._closing = False
        self._failure = None
        connected = await self._establish(reconnect=False)
        if self._protocol is None:
            # Lost right behind CONNECTED: _connection_lost already owns the state (reconnecting or failed).
            return connected
        self._status = "connected"
        self._online.set()
        self._ensure_beater()
        return connected

    async def _establish(self, *, reconnect: bool) -> Connected:
        attempts = self.uri.attempts(self._rng, reconnect=reconnect)
        last: BaseException | None = None
        assert self._stop is not None
        while True:
            try:
                broker, delay = next(attempts)
            except ConnectTimeout as exc:
                raise transport.gave_up(exc, last) from last
            if delay > 0:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), delay)
            if self._stop.is_set():
                raise ConnectionLost("disconnect() was called while connecting")
            try:
                connected = await asyncio.wait_for(self._open(broker), self.options.connect_timeout)
            except (OSError, StompError, asyncio.TimeoutError) as exc:
                if ends_attempts(exc):
                    raise
                last = exc
                log.debug("connecting to %s failed: %r", broker, exc)
                continue
            self.broker = broker
            return connected

    async def _open(self, broker: Endpoint) -> Connected:
        loop = asyncio.get_running_loop()
        context = transport.tls_context(broker, self.options.ssl_context)
        protocol = _Protocol(self)
        self._protocol = protocol
        self._connecting = loop.create_future()
        try:
            sock_transport, _ = await loop.create_connection(
                lambda: protocol,
                broker.host,
                broker.port,
                ssl=context,
                server_hostname=broker.host if context is not None else None,
            )
            sock = sock_transport.get_extra_info("socket")
            if sock is not None:
                transport.set_options(sock)
            sock_transport.write(
                self._connection.open(
                    time.monotonic(), transport.websocket(broker, self._connection.session.offered_versions)
                )
            )
            connected = await self._connecting
            self.flush()  # the SUBSCRIBE frames to replay
            return connected
        except BaseException:
            self._protocol = None
            if protocol.transport is not None:
                protocol.transport.abort()
            self._connection.connection_lost()
            raise
        finally:
            self._connecting = None

    def _ensure_beater(self) -> None:
        intervals = self._connection.session.heartbeat
        if (intervals.send or intervals.receive) and self._beater is None:
            self._beater = asyncio.get_running_loop().create_task(self._beat_loop())
        if self._beat_wake is not None:
            self._beat_wake.set()

    def _act(self, notices: list[Notice]) -> None:
        """Resolve the futures of the calls answered, report errors nobody waits for, drop a broken stream."""
        for notice in notices:
            if isinstance(notice, Answer):
                future = self._waiters.pop(notice.receipt_id, None)
                if future is not None and not future.done():
                    if notice.error is not None:
                        future.set_exception(notice.error)
                    else:
                        assert notice.receipt is not None
                        future.set_result(notice.receipt)
            elif isinstance(notice, Connected):
                if self._connecting is not None and not self._connecting.done():
                    self._connecting.set_result(notice)
            elif isinstance(notice, Error):
                if self._connecting is not None and not self._connecting.done():
                    self._connecting.set_exception(notice.exception)
            elif isinstance(notice, Unsolicited):
                if self._connecting is not None and not self._connecting.done():
                    self._connecting.set_exception(notice.error)
                else:
                    self._report(notice.error)
            elif isinstance(notice, Broken):
                self._cause = notice.error
                protocol = self._protocol
                if protocol is not None and protocol.transport is not None:
                    protocol.transport.abort()

    def _report(self, error: StompError) -> None:
        if self._on_error is not None:
            self._call_back(self._on_error, error)
            return
        self._errors.append(error)
        self._wake_inbox()

    def _call_back(self, callback: Callable[..., Any], *args: Any) -> None:
        try:
            result = callback(*args)
            if asyncio.iscoroutine(result):
                task = asyncio.get_running_loop().create_task(result)
                task.add_done_callback(_log_failure)
        except Exception:
            log.exception("client callback %r failed", callback)

    def _wake_inbox(self) -> None:
        waiters, self._inbox_waiters = self._inbox_waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)

    def _connection_lost(self, protocol: _Protocol, exc: Exception | None) -> None:
        if self._protocol is not protocol:
            return
        self._protocol = None
        cause: BaseException = self._cause or (
            ConnectionLost(f"the connection failed: {exc}")
            if exc
            else ConnectionLost("the broker closed the connection")
        )
        self._cause = None
        if self._connecting is not None and not self._connecting.done():
            self._connecting.set_exception(ConnectionLost(f"the connection ended before CONNECTED: {cause}"))
            return
        clean = self._closing or self._connection.clean_end
        lost, _ = self._connection.connection_lost()  # frames not yet written die with it
        self._fail_waiters(cause if isinstance(cause, ConnectionLost) else ConnectionLost(str(cause)))
        if clean:
            self._wake_inbox()
            return
        self._lost(lost)
        if self._online is not None:
            self._online.clear()
        self._wake_inbox()
        if self.on_connection_lost is not None:
            self._call_back(self.on_connection_lost, lost, cause)
        else:
            self._log_lost(lost, cause)
        self._reconnector = asyncio.get_running_loop().create_task(self._reconnect(cause))

    async def _reconnect(self, cause: BaseException) -> None:
        assert self._online is not None and self._stop is not None
        try:
            connected = await self._establish(reconnect=True)
        except (StompError, OSError) as exc:
            self._gave_up(cause, exc, stopped=self._stop.is_set())
            self._online.set()
            self._wake_inbox()
            if self._beater is not None:
                self._beater.cancel()
                self._beater = None
            return
        finally:
            if self._reconnector is asyncio.current_task():
                self._reconnector = None
        self.reconnects += 1
        if self._protocol is None:  # lost again at once: the reconnect that loss started owns the state
            return
        self._status = "connected"
        self._online.set()
        self._ensure_beater()
        if self.on_reconnect is not None:
            self._call_back(self.on_reconnect, connected)

    def _fail_waiters(self, error: ConnectionLost) -> None:
        waiters, self._waiters = self._waiters, {}
        for future in waiters.values():
            if not future.done():
                future.set_exception(error)

    async def _beat_loop(self) -> None:
        assert self._stop is not None and self._beat_wake is not None
        while not self._stop.is_set():
            self._beat_wake.clear()
            timeout = self._beat_once()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._beat_wake.wait(), timeout)

    def _beat_once(self) -> float | None:
        protocol = self._protocol
        connection = self._connection
        if self._status != "connected" or protocol is None or protocol.transport is None:
            return None
        due = connection.heartbeat_due(time.monotonic())
        if due.silent_for is not None:
            self._cause = ConnectionLost(due.lost_message(connection.session.heartbeat.receive))
            protocol.transport.abort()
            return None
        if due.beat and connection.beat():
            self.flush()
        return due.wake_in

    async def _ready(self) -> _Protocol:
        self._raise_pending()
        if self._status == "reconnecting" and self._online is not None:
            await self._online.wait()
            self._raise_pending()
        if self._failure is not None and self._status in ("failed", "closed"):
            raise self._failure
        protocol = self._protocol
        if self._status != "connected" or protocol is None or protocol.transport is None:
            raise ProtocolError(f"the client is {self._status}: call connect() first")
        return protocol

    async def _write(
        self, build: Callable[[Session], Frame], wait: bool = False, timeout: float | None = None
    ) -> tuple[Frame, Receipt | None]:
        protocol = await self._ready()
        await protocol.drain()
        if self._protocol is not protocol or protocol.transport is None or protocol.transport.is_closing():
            raise self._down()
        frame, receipt_id, urgent = self._send_frame(build, wait)
        future: asyncio.Future[Receipt] | None = None
        if receipt_id is not None:
            future = self._waiters[receipt_id] = asyncio.get_running_loop().create_future()
            self._resume_reading()  # the answer is behind the messages that filled the inbox
        if urgent:
            self.flush()
        elif not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._scheduled_flush)
        if future is None:
            return frame, None
        limit = self.options.receipt_timeout if timeout is None else timeout
        try:
            receipt = await asyncio.wait_for(asyncio.shield(future), limit)
        except asyncio.TimeoutError:
            self._waiters.pop(receipt_id or "", None)
            self._connection.forget(receipt_id or "")
            raise ConnectionLost(
                f"no RECEIPT for {frame.command} (receipt {receipt_id!r}) within {limit:g} s"
            ) from None
        return frame, receipt

    def flush(self) -> None:
        """Hand the coalesced frames to the transport now."""
        protocol = self._protocol
        if protocol is None or protocol.transport is None or not self._connection.has_data_to_send:
            return
        protocol.transport.write(self._connection.data_to_send(time.monotonic()))

    def _scheduled_flush(self) -> None:
        self._flush_scheduled = False
        self.flush()

    async def _next_message(
        self, timeout: float | None, key: str | None, *, stop_when_gone: bool = False
    ) -> Message | None:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            self._raise_pending()
            message = self._take(key)
            if message is not None:
                return message
            if self._stopped_receiving(stop_when_gone):
                return None
            if stop_when_gone and key is not None and all(s.key != key for s in self.session.subscriptions):
                return None
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return None
            future: asyncio.Future[None] = loop.create_future()
            self._inbox_waiters.append(future)
            timer = loop.call_later(remaining, _wake, future) if remaining is not None else None
            try:
                await future
            finally:
                if timer is not None:
                    timer.cancel()

    def _take(self, key: str | None) -> Message | None:
        connection = self._connection
        message = connection.take(key)
        if connection.room_made:
            connection.room_made = False
            if connection.has_backlog:
                notices = connection.receive_data(b"", time.monotonic())
                if notices:
                    self._act(notices)
            self._resume_reading()
        return message

    def _resume_reading(self) -> None:
        """Read again once the connection allows it: room in the inbox, or a call waiting for its answer."""
        protocol = self._protocol
        if protocol is not None and protocol.reading_paused and not self._connection.reading_paused:
            protocol.reading_paused = False
            if protocol.transport is not None:
                protocol.transport.resume_reading()

    async def close(self) -> None:
        """Close at once, without DISCONNECT."""
        self._closing = True
        if self._stop is not None:
            self._stop.set()
        await self._shutdown()

    async def _shutdown(self) -> None:
        self.flush()  # frames sent without receipt still go out before the close
        if self._beat_wake is not None:
            self._beat_wake.set()
        protocol = self._protocol
        if protocol is not None and protocol.transport is not None:
            goodbye = self._connection.goodbye()  # WebSocket: a close frame before the TCP close
            if goodbye:
                protocol.transport.write(goodbye)
            protocol.transport.close()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(protocol.closed), 5.0)
            if self._protocol is protocol:  # connection_lost never came
                protocol.transport.abort()
                self._protocol = None
        for task in (self._beater, self._reconnector):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._beater = None
        self._reconnector = None
        self._connection.close()
        self._status = "closed"
        if self._online is not None:
            self._online.set()
        self._fail_waiters(ConnectionLost("the client disconnected"))
        self._wake_inbox()


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("client callback failed", exc_info=task.exception())
