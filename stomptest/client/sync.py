"""`Client`: the blocking STOMP client, a thin shell over the sans-IO `ClientConnection`.

The calls a user makes are here; how they wait and who reads the socket is in
stomptest/client/reading.py (a leader/follower hand-off: the call that waits for an
answer reads the socket itself), the socket, the threads and the reconnection in
stomptest/client/threads.py. Every frame is built, and every byte interpreted, by the
connection (stomptest/protocol/connection.py), which `AsyncClient` drives too.

A lost connection is reconnected by the reader thread through the failover policy:
it negotiates, replays the subscriptions, and tells the user through
`on_connection_lost(lost, cause)` and `on_reconnect(connected)`. Messages delivered
but not acknowledged are in `lost.unacknowledged` (the broker redelivers them) and
are no longer handed out by `receive()`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from types import TracebackType

from stomptest.client.base import SubscriptionHandle
from stomptest.client.options import check_wait, stale_ack_error
from stomptest.client.reading import ReadingShell
from stomptest.protocol.errors import BrokerError, ConnectionLost, ProtocolError, StompError
from stomptest.protocol.events import Message
from stomptest.protocol.events import Subscription as SessionSubscription
from stomptest.protocol.frame import Frame, HeadersArg
from stomptest.protocol.session import Session

log = logging.getLogger("stomptest.client")


class ClientSubscription(SubscriptionHandle["Client"]):
    """A subscription made by `Client.subscribe()`: receive from it, iterate over it, unsubscribe it.

    Iteration blocks for each next message and stops once the subscription is
    unsubscribed or the client disconnected.
    """

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


class Client(ReadingShell):
    """A blocking STOMP client for one broker URL (`tcp://`, `ssl://` or a failover URI).

    ``with Client(url) as client:`` connects on entry and disconnects on exit. All
    methods are safe to call from any thread. Options: see `ClientBase` and docs/client.md.
    """

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
        connection = self._connection
        if subscription is None and connection.unconsumed and not self._errors:
            # What a consumer keeping up with the broker hits once per message: a message is waiting.
            if timeout is not None:
                check_wait("timeout", timeout)
            with self._lock:
                message = connection.take()
                notices = self._made_room() if connection.room_made else None
            if notices:
                self._handle(notices, self._sock)
            if message is not None:
                return message
        key = subscription.key if subscription is not None else None
        return self._next_message(check_wait("timeout", timeout), key)

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
        self._check_lost_transaction(action, transaction)

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


__all__ = ["Client", "ClientSubscription"]
