"""`AsyncClient`: the asyncio STOMP client, a thin shell over the sans-IO `ClientConnection`.

The calls a user makes, as coroutines; the transport, the tasks and the reconnection
are in stomptest/client/loop.py. Every frame is built, and every byte interpreted, by
the connection (stomptest/protocol/connection.py), which the blocking `Client` drives
too. Use an `AsyncClient` from one event loop; its callbacks may be plain functions or
coroutine functions.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from types import TracebackType

from stomptest.client.base import SubscriptionHandle
from stomptest.client.loop import EventLoopShell
from stomptest.client.options import check_wait, stale_ack_error
from stomptest.protocol.errors import BrokerError, ConnectionLost, ProtocolError, StompError
from stomptest.protocol.events import Message
from stomptest.protocol.events import Subscription as SessionSubscription
from stomptest.protocol.frame import Frame, HeadersArg
from stomptest.protocol.session import Session

log = logging.getLogger("stomptest.client")


class AsyncSubscription(SubscriptionHandle["AsyncClient"]):
    """A subscription made by `AsyncClient.subscribe()`: `async for message in subscription`.

    Iteration ends once the subscription is unsubscribed or the client disconnected.
    """

    async def receive(self, timeout: float | None = None) -> Message | None:
        return await self.client.receive(timeout, subscription=self)

    async def unsubscribe(self, *, receipt: bool = False) -> None:
        await self.client.unsubscribe(self, receipt=receipt)

    def __aiter__(self) -> AsyncSubscription:
        return self

    async def __anext__(self) -> Message:
        message = await self.client._next_message(None, self.key, stop_when_gone=True)
        if message is None:
            raise StopAsyncIteration
        return message


class AsyncClient(EventLoopShell):
    """An asyncio STOMP client; the same options and operations as `Client`, as coroutines.

    ``async with AsyncClient(url) as client:`` connects on entry and disconnects on
    exit. Use it from one event loop. Callbacks may be plain functions or coroutine
    functions. Options: see `ClientBase` and docs/client.md.
    """

    async def send(
        self,
        destination: str,
        body: bytes | str = b"",
        headers: HeadersArg | None = None,
        receipt: bool = False,
        transaction: str | None = None,
    ) -> Frame:
        frame, _ = await self._write(
            lambda s: s.send(destination, body, headers=headers or (), transaction=transaction, receipt=receipt),
            receipt,
        )
        return frame

    async def subscribe(
        self,
        destination: str,
        ack: str = "auto",
        id: str | None = None,
        headers: HeadersArg | None = None,
        receipt: bool = False,
    ) -> AsyncSubscription:
        made: list[SessionSubscription] = []

        def build(session: Session) -> Frame:
            frame, subscription = session.subscribe(destination, id=id, ack=ack, headers=headers or (), receipt=receipt)
            made.append(subscription)
            return frame

        await self._write(build, receipt)
        return AsyncSubscription(self, made[0])

    async def unsubscribe(
        self,
        subscription: AsyncSubscription | str | None = None,
        *,
        destination: str | None = None,
        receipt: bool = False,
    ) -> None:
        target = subscription.key if isinstance(subscription, AsyncSubscription) else subscription
        try:
            await self._write(lambda s: s.unsubscribe(target, destination=destination, receipt=receipt), receipt)
        finally:
            self._wake_inbox()

    async def receive(
        self, timeout: float | None = None, *, subscription: AsyncSubscription | None = None
    ) -> Message | None:
        key = subscription.key if subscription is not None else None
        return await self._next_message(check_wait("timeout", timeout), key)

    async def ack(
        self,
        message: Message,
        *,
        transaction: str | None = None,
        receipt: bool = False,
        headers: HeadersArg | None = None,
    ) -> None:
        await self._acknowledge(Session.ack, message, transaction, receipt, headers)

    async def nack(
        self,
        message: Message,
        *,
        transaction: str | None = None,
        receipt: bool = False,
        headers: HeadersArg | None = None,
    ) -> None:
        await self._acknowledge(Session.nack, message, transaction, receipt, headers)

    async def _acknowledge(
        self,
        command: Callable[..., Frame],
        message: Message,
        transaction: str | None,
        receipt: bool,
        headers: HeadersArg | None,
    ) -> None:
        try:
            await self._write(
                lambda s: command(s, message, transaction=transaction, receipt=receipt, headers=headers or ()), receipt
            )
        except ProtocolError as exc:
            raise stale_ack_error(self.lost, message, command.__name__, exc) from exc

    async def begin(self, transaction: str | None = None, *, receipt: bool = False) -> str:
        frame, _ = await self._write(lambda s: s.begin(transaction, receipt=receipt), receipt)
        return frame.headers["transaction"]

    async def commit(self, transaction: str, *, receipt: bool = False) -> None:
        self._check_lost_transaction("commit", transaction)
        await self._write(lambda s: s.commit(transaction, receipt=receipt), receipt)

    async def abort(self, transaction: str, *, receipt: bool = False) -> None:
        self._check_lost_transaction("abort", transaction)
        await self._write(lambda s: s.abort(transaction, receipt=receipt), receipt)

    @contextlib.asynccontextmanager
    async def transaction(self, *, receipt: bool = False) -> AsyncIterator[str]:
        """BEGIN, yield the id; COMMIT on success, ABORT when the block raises."""
        transaction = await self.begin()
        try:
            yield transaction
        except BaseException:
            if transaction in self.session.transactions:
                with contextlib.suppress(StompError):
                    await self.abort(transaction)
            raise
        await self.commit(transaction, receipt=receipt)

    async def disconnect(self, *, receipt: bool = True, timeout: float | None = None) -> None:
        """DISCONNECT (waiting for its receipt), then close; raises an ERROR still pending afterwards."""
        self._closing = True
        if self._stop is not None:
            self._stop.set()
        try:
            if self._status == "connected":
                try:
                    await self._write(lambda s: s.disconnect(receipt=receipt), receipt, timeout)
                except ConnectionLost:
                    pass  # the broker may close first; the connection ends either way
                except BrokerError as exc:
                    self._errors.append(exc)  # raised below, once the connection is closed
        finally:
            await self._shutdown()
        self._raise_pending()

    async def __aenter__(self) -> AsyncClient:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if exc is None:
            await self.disconnect()
            return
        try:
            await self.disconnect()
        except StompError as pending:
            log.error("while leaving the client's async with block on %r: the broker had also sent %s", exc, pending)


__all__ = ["AsyncClient", "AsyncSubscription"]
