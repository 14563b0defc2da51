"""What `Client` and `AsyncClient` are apart from their I/O: options, callbacks, status, and the read-only views.

Both shells drive one `ClientConnection` (stomptest/protocol/connection.py), which does
everything about the conversation itself. What is left to share is the part of a shell
that does not depend on how it waits: the constructor and its options, the state a
user reads (`status`, `version`, `connected`, `lost`, the heart-beat counters), the
bookkeeping of a lost connection, and which failures end the walk through the
failover policy. It lives here once, so that the two shells differ only where threads
and an event loop differ.
"""

from __future__ import annotations

import collections
import logging
import random
import ssl
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from stomptest.client import transport
from stomptest.client.failover import Endpoint, FailoverUri
from stomptest.client.options import client_options
from stomptest.protocol.connection import DEFAULT_MAX_UNCONSUMED, ClientConnection
from stomptest.protocol.errors import BrokerError, ConnectionLost, ProtocolError, RemoteProtocolError, StompError
from stomptest.protocol.events import Connected, Lost, Message
from stomptest.protocol.events import Subscription as SessionSubscription
from stomptest.protocol.frame import Frame, HeadersArg
from stomptest.protocol.session import Session

log = logging.getLogger("stomptest.client")

LostCallback = Callable[[Lost, BaseException], Any]
ReconnectCallback = Callable[[Connected], Any]
ErrorCallback = Callable[[StompError], Any]

ClientT = TypeVar("ClientT")


class SubscriptionHandle(Generic[ClientT]):
    """A subscription as a client hands it out: what it is, and the client to receive from it through."""

    def __init__(self, client: ClientT, subscription: SessionSubscription) -> None:
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

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.key!r} to {self.destination!r} ack={self.ack}>"


class ClientBase:
    """The options, callbacks and state both clients have; each shell adds its I/O in `_init_io()`."""

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
        self._errors: collections.deque[StompError] = collections.deque()
        self._status = "new"  # new, connected, reconnecting, failed, closed
        self._failure: ConnectionLost | None = None
        self._closing = False
        self._lost_transactions: set[str] = set()
        self.broker: Endpoint | None = None
        """The broker of the current (or last) connection."""
        self.lost: Lost | None = None
        """What the last lost connection left behind (None until one is lost)."""
        self.reconnects = 0
        self._init_io()

    def _init_io(self) -> None:
        """The shell's own state: sockets, threads or tasks."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.uri.uri!r} {self._status}>"

    # --- what a user reads --------------------------------------------------------------------------------------

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
        return self._connection.session.unacknowledged()

    # --- what both shells decide alike --------------------------------------------------------------------------

    def _check_connectable(self) -> None:
        if self._status in ("connected", "reconnecting"):
            raise ProtocolError(f"the client is {self._status} already: disconnect() first")

    def _raise_pending(self) -> None:
        if self._errors:
            raise self._errors.popleft()

    def _down(self) -> StompError:
        if self._failure is not None:
            return self._failure
        return ConnectionLost(f"the connection was lost (client {self._status}); retry once it is back")

    def _send_frame(self, build: Callable[[Session], Frame], wait: bool) -> tuple[Frame, str | None, bool]:
        """`ClientConnection.send_frame`, a refusal while the client is down said as the loss it is."""
        try:
            return self._connection.send_frame(build, wait=wait)
        except ProtocolError:
            if self._status != "connected":
                raise self._down() from None
            raise

    def _stopped_receiving(self, stop_when_gone: bool) -> bool:
        """For a wait for a message: True when the client is down and an iterator ends; `receive()` raises."""
        if self._status not in ("failed", "closed", "new"):
            return False
        if stop_when_gone:
            return True
        if self._failure is not None:
            raise self._failure
        raise ProtocolError(f"receive() on a client that is {self._status}: connect() first")

    def _check_lost_transaction(self, action: str, transaction: str) -> None:
        if transaction in self._lost_transactions:
            raise ConnectionLost(
                f"cannot {action}() transaction {transaction!r}: the broker aborted it when the connection was lost"
            )

    def _lost(self, lost: Lost) -> None:
        """Record a connection lost without our asking: reconnecting follows."""
        self.lost = lost
        self._lost_transactions = set(lost.transactions)
        self._status = "reconnecting"

    def _log_lost(self, lost: Lost, cause: BaseException) -> None:
        """What a lost connection is worth saying when nobody listens through `on_connection_lost`."""
        log.warning(
            "connection to %s lost (%s): %d unacknowledged message(s) will be redelivered, %d transaction(s) "
            "aborted, %d receipt(s) never came; reconnecting",
            self.broker,
            cause,
            len(lost.unacknowledged),
            len(lost.transactions),
            len(lost.receipts),
        )

    def _gave_up(self, cause: BaseException, error: BaseException, *, stopped: bool) -> None:
        """Reconnecting failed for good: calls raise `_failure` from now on."""
        failure = ConnectionLost(f"connection lost ({cause}), and reconnecting failed: {error}")
        failure.__cause__ = error
        self._failure = failure
        self._status = "closed" if stopped else "failed"


def ends_attempts(error: BaseException) -> bool:
    """Whether a failed attempt ends the walk through the failover policy instead of trying the next broker.

    A refused CONNECT (a wrong passcode stays wrong) and our own mistakes (a subscription
    that cannot be replayed) do; a broker breaking the protocol or a network failure do not.
    """
    return isinstance(error, BrokerError) or (
        isinstance(error, ProtocolError) and not isinstance(error, RemoteProtocolError)
    )


__all__ = ["ClientBase", "ErrorCallback", "LostCallback", "ReconnectCallback", "SubscriptionHandle", "ends_attempts"]
