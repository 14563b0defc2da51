"""`Session`: the client side of one STOMP conversation as a sans-IO state machine.

Theory of operation. Methods named after client commands return the `Frame` to send
and record what it implies (a receipt to expect, a transaction open, a subscription
to replay); `receive()` takes each frame or heart-beat the broker sent and returns one
event (`Connected`, `Message`, `Receipt`, `Error`, or the `Heartbeat` itself). The
session never touches a socket or a clock: `connection_lost()` and `close()` tell it
that the transport ended, and heart-beat deadlines take clock values as arguments.

Two rules, as in h11: every state transition is in `state.TRANSITIONS` and nowhere
else; a call that is illegal in the current state raises before anything changes, with
`ProtocolError` when our side misused the session and `RemoteProtocolError` when the
broker sent something it should not have.

Two ways for a connection to end, kept apart on purpose:

* clean: `disconnect()` then the DISCONNECT receipt, or `close()`. Everything is
  forgotten; a later `connect()` starts from nothing.
* forced: `connection_lost()` (or an ERROR refusing CONNECT). Transactions and receipts
  die with the connection, messages not yet acknowledged will be redelivered by the
  broker, but subscriptions are kept so that `replay()` on the next connection returns
  exactly the SUBSCRIBE frames to send again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Literal, cast

from stomptest.protocol import commands, spec
from stomptest.protocol import heartbeat as _heartbeat
from stomptest.protocol.acknowledgements import Ledger
from stomptest.protocol.commands import ConnectedInfo, MessageInfo
from stomptest.protocol.errors import BrokerError, ProtocolError, RemoteProtocolError
from stomptest.protocol.events import Connected, Error, Event, Lost, Message, Receipt, Subscription, delivered
from stomptest.protocol.frame import HEARTBEAT, Frame, HeadersArg, Heartbeat
from stomptest.protocol.heartbeat import HeartbeatIntervals
from stomptest.protocol.receipts import Receipts
from stomptest.protocol.spec import VERSIONS, Version
from stomptest.protocol.state import (
    CONNECTED,
    CONNECTING,
    DISCONNECTED,
    DISCONNECTING,
    TRANSITIONS,
    State,
    next_state,
)

# --- the session -----------------------------------------------------------------------------------------------


class Session:
    """The state of one client's STOMP conversation, across reconnections.

    `version` is the highest version to offer; `versions` narrows the offer (default:
    every version up to `version`). After CONNECTED, `version` is the negotiated one.
    """

    def __init__(self, version: str = "1.2", *, versions: Iterable[str] | None = None) -> None:
        highest = spec.check_version(version)
        if versions is None:
            offered = list(VERSIONS[: VERSIONS.index(highest) + 1])
        else:
            offered = sorted({spec.check_version(v) for v in versions}, key=VERSIONS.index)
            if not offered or offered[-1] != highest:
                raise ProtocolError(f"versions= must be non-empty and have {highest} as its highest version")
        self._offered: tuple[Version, ...] = tuple(offered)
        self._state = DISCONNECTED
        self._version: Version | None = None
        self._info: ConnectedInfo | None = None
        self._asked_heartbeat: tuple[int, int] = (0, 0)
        self._heartbeat = _heartbeat.NONE
        self._receipts = Receipts()  # per connection, but its id counter runs on
        # Per connection:
        self._ledger = Ledger()  # unacknowledged messages, open transactions and what they acknowledge
        self._unsubscribed: set[str] = set()
        self._lost_unacked: tuple[Message, ...] = ()
        # Across connections (until a clean disconnect):
        self._subscriptions: OrderedDict[str, Subscription] = OrderedDict()
        self._active: set[str] = set()  # subscription keys sent on the current connection

    def __repr__(self) -> str:
        return f"<Session {self._state.name} version={self.version} subscriptions={len(self._subscriptions)}>"

    # --- read-only views ---------------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        return self._state

    @property
    def version(self) -> Version:
        """The negotiated version once connected (kept after a disconnect), else the highest one offered."""
        return self._version if self._version is not None else self._offered[-1]

    @property
    def offered_versions(self) -> tuple[Version, ...]:
        return self._offered

    @property
    def connected_info(self) -> ConnectedInfo | None:
        """What the last CONNECTED said (version, session, server, heart-beat), or None before any."""
        return self._info

    @property
    def heartbeat(self) -> HeartbeatIntervals:
        """Negotiated intervals in ms; zero until connected, and always in 1.0."""
        return self._heartbeat

    @property
    def receipts(self) -> Mapping[str, Frame]:
        """Receipts outstanding on this connection: receipt id -> the frame that asked for it, in order."""
        return dict(self._receipts.outstanding)

    @property
    def transactions(self) -> tuple[str, ...]:
        """Transactions open on this connection, in the order begun."""
        return tuple(self._ledger.transactions)

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """Subscriptions held, in the order made, whether or not sent on the current connection yet."""
        return tuple(self._subscriptions.values())

    def unacknowledged(self, subscription: str | None = None) -> tuple[Message, ...]:
        """Messages delivered and not yet acknowledged, oldest first (optionally of one subscription key).

        An ACK or NACK inside a transaction takes effect at its COMMIT: until then the
        message stays here, and an ABORT (or a disconnect or lost connection, which abort
        it) leaves it here. After `connection_lost()` these are the messages the lost connection left
        unacknowledged, until the next `connect()`.
        """
        if self._state is DISCONNECTED:
            return tuple(m for m in self._lost_unacked if subscription is None or _key_of(m) == subscription)
        return self._ledger.pending(subscription)

    # --- connecting and disconnecting --------------------------------------------------------------------------

    def connect(
        self,
        *,
        host: str | None = None,
        login: str | None = None,
        passcode: str | None = None,
        heartbeat: tuple[int, int] | None = None,
        headers: HeadersArg = (),
        command: Literal["CONNECT", "STOMP"] = "CONNECT",
    ) -> Frame:
        """The CONNECT (or STOMP) frame that opens a connection; feed the answer to `receive()`."""
        after = self._next("connect")
        frame = commands.connect(
            self._offered[-1],
            host=host,
            login=login,
            passcode=passcode,
            heartbeat=heartbeat,
            versions=self._offered,
            headers=headers,
            command=command,
        )
        self._asked_heartbeat = heartbeat if heartbeat is not None else (0, 0)
        self._reset_connection()
        self._lost_unacked = ()
        self._version = None
        self._heartbeat = _heartbeat.NONE
        self._state = after
        return frame

    def disconnect(self, *, receipt: bool | str | None = None) -> Frame:
        """DISCONNECT; open transactions are aborted by the broker. With a receipt, its arrival ends the session."""
        after = self._next("disconnect")
        receipt_id = self._receipts.new_id(receipt)
        frame = commands.disconnect(self.version, receipt=receipt_id)
        self._receipts.remember(receipt_id, frame)
        self._receipts.disconnect = receipt_id
        self._ledger.abort_all()
        self._state = after
        return frame

    def close(self) -> None:
        """We closed the transport after DISCONNECT (without waiting for its receipt): a clean end."""
        after = self._next("close")
        self._forget_all()
        self._state = after

    def connection_lost(self) -> Lost:
        """The transport ended without a clean disconnect: keep subscriptions for `replay()`, report the rest.

        While DISCONNECTING this counts as the clean end we asked for.
        """
        before = self._state
        after = self._next("connection_lost")
        if before is DISCONNECTED:
            return Lost()  # nothing was open; what an earlier loss left stays readable
        lost = Lost(tuple(self._ledger.transactions), tuple(self._receipts.outstanding.values()), self.unacknowledged())
        if before is DISCONNECTING:
            self._forget_all()
        else:
            self._lost_unacked = lost.unacknowledged
            self._reset_connection()
        self._state = after
        return lost

    def replay(self) -> list[Frame]:
        """The SUBSCRIBE frames to send again on a new connection: every subscription not yet sent on it, in order.

        The frames are the originals, headers and receipt ids included (those receipts
        are expected again). A second call returns only what was subscribed since.
        """
        self._next("replay")
        pending = [sub for key, sub in self._subscriptions.items() if key not in self._active]
        for sub in pending:
            sub.check_carried_by(self.version)
            if sub.receipt is not None and sub.receipt in self._receipts.outstanding:
                raise ProtocolError(
                    f"cannot replay the subscription {sub.key!r}: its receipt id {sub.receipt!r} is already "
                    "outstanding on this connection; use receipt=True to let the session choose ids"
                )
        for sub in pending:
            self._receipts.remember(sub.receipt, sub.frame)
            self._active.add(sub.key)
        return [sub.frame for sub in pending]

    # --- client frames -----------------------------------------------------------------------------------------

    def send(
        self,
        destination: str,
        body: bytes | str = b"",
        *,
        headers: HeadersArg = (),
        transaction: str | None = None,
        receipt: bool | str | None = None,
    ) -> Frame:
        """SEND `body` to `destination`, optionally inside an open `transaction`."""
        if self._state is not CONNECTED:
            self._next("send")  # CONNECTED -> CONNECTED (the one legal case) needs no table lookup
        if transaction is not None:
            self._check_transaction(transaction, "send")
        version = self._version or self.version  # set in CONNECTED, the one state that gets here
        if receipt is None or receipt is False:
            return commands.send(version, destination, body, headers=headers, transaction=transaction)
        receipt_id = self._receipts.new_id(receipt)
        frame = commands.send(version, destination, body, headers=headers, transaction=transaction, receipt=receipt_id)
        self._receipts.remember(receipt_id, frame)
        return frame

    def subscribe(
        self,
        destination: str,
        *,
        id: str | None = None,
        ack: str = "auto",
        headers: HeadersArg = (),
        receipt: bool | str | None = None,
    ) -> tuple[Frame, Subscription]:
        """SUBSCRIBE to `destination`. In 1.1+ an id is generated when not given; a 1.0 one may go without."""
        self._next("subscribe")
        if id is None and self.version != "1.0":
            id = self._receipts.generate("sub", self._subscriptions)
        key = id if id is not None else destination
        if key in self._subscriptions:
            what = f"id {id!r}" if id is not None else f"destination {destination!r} without an id"
            raise ProtocolError(
                f"a subscription with {what} exists already: unsubscribe it first, or pass a different id="
            )
        receipt_id = self._receipts.new_id(receipt)
        frame = commands.subscribe(self.version, destination, id=id, ack=ack, headers=headers, receipt=receipt_id)
        subscription = Subscription(id, destination, cast(commands.AckMode, ack), frame)
        self._receipts.remember(receipt_id, frame)
        self._subscriptions[key] = subscription
        self._active.add(key)
        self._unsubscribed.discard(key)
        return frame, subscription

    def unsubscribe(
        self,
        id: str | Subscription | None = None,
        *,
        destination: str | None = None,
        receipt: bool | str | None = None,
    ) -> Frame:
        """UNSUBSCRIBE by subscription, id, or (1.0) destination; its unacknowledged messages are dropped."""
        self._next("unsubscribe")
        if isinstance(id, Subscription):
            id = id.key
        if id is not None:
            key = id
        elif destination is not None and self.version == "1.0":
            key = next((k for k, s in self._subscriptions.items() if s.destination == destination), destination)
        else:
            raise ProtocolError(f"unsubscribe() needs the subscription's id in STOMP {self.version}: pass id=")
        subscription = self._subscriptions.get(key)
        if subscription is None:
            held = ", ".join(repr(k) for k in self._subscriptions) or "none"
            raise ProtocolError(f"no subscription {key!r} to unsubscribe (held: {held})")
        receipt_id = self._receipts.new_id(receipt)
        if subscription.id is not None:
            frame = commands.unsubscribe(self.version, id=subscription.id, receipt=receipt_id)
        else:
            frame = commands.unsubscribe(self.version, destination=subscription.destination, receipt=receipt_id)
        self._receipts.remember(receipt_id, frame)
        del self._subscriptions[key]
        self._active.discard(key)
        self._ledger.unsubscribed(key)
        self._unsubscribed.add(key)
        return frame

    def ack(
        self,
        message: Message | Frame,
        *,
        transaction: str | None = None,
        receipt: bool | str | None = None,
        headers: HeadersArg = (),
    ) -> Frame:
        """ACK `message` (in ack:client mode, also every earlier unacknowledged one of its subscription).

        With `transaction`, the message leaves `unacknowledged()` only at that transaction's
        COMMIT; an ABORT leaves it unacknowledged, as the spec says.
        """
        return self._acknowledge("ack", message, transaction, receipt, headers)

    def nack(
        self,
        message: Message | Frame,
        *,
        transaction: str | None = None,
        receipt: bool | str | None = None,
        headers: HeadersArg = (),
    ) -> Frame:
        """NACK `message` (1.1+); in ack:client mode the spec makes it cover earlier messages too.

        `headers` carries broker extensions, such as RabbitMQ's `requeue:false`.
        """
        return self._acknowledge("nack", message, transaction, receipt, headers)

    def begin(self, transaction: str | None = None, *, receipt: bool | str | None = None) -> Frame:
        """BEGIN a transaction; its id (generated unless given) is the frame's `transaction` header."""
        self._next("begin")
        if transaction is None:
            transaction = self._receipts.generate("tx", self._ledger.transactions)
        elif transaction in self._ledger.transactions:
            raise ProtocolError(f"transaction {transaction!r} is open already: commit() or abort() it first")
        receipt_id = self._receipts.new_id(receipt)
        frame = commands.begin(self.version, transaction, receipt=receipt_id)
        self._receipts.remember(receipt_id, frame)
        self._ledger.begin(transaction)
        return frame

    def commit(self, transaction: str, *, receipt: bool | str | None = None) -> Frame:
        """COMMIT an open transaction; its ACKs and NACKs take effect now."""
        return self._end_transaction("commit", transaction, receipt)

    def abort(self, transaction: str, *, receipt: bool | str | None = None) -> Frame:
        """ABORT an open transaction; the messages it acknowledged stay unacknowledged."""
        return self._end_transaction("abort", transaction, receipt)

    def beat(self) -> bytes:
        """The bytes of one heart-beat to send (an EOL); 1.0 has none."""
        self._next("beat")
        return commands.beat(self.version)

    # --- heart-beat deadlines ----------------------------------------------------------------------------------

    def seconds_until_beat(self, last_sent: float, now: float) -> float | None:
        """How long from `now` until we must send something, given when we last sent; None if never."""
        return _heartbeat.seconds_until_send(last_sent, now, self._heartbeat.send)

    def server_overdue(self, last_received: float, now: float, grace: float = _heartbeat.DEFAULT_GRACE) -> bool:
        """Whether the broker has been silent for more than `grace` of its heart-beat intervals."""
        return _heartbeat.peer_overdue(last_received, now, self._heartbeat.receive, grace)

    def heartbeat_due(
        self, last_sent: float, last_received: float, now: float, grace: float = _heartbeat.DEFAULT_GRACE
    ) -> _heartbeat.Due:
        """What heart-beating asks of this connection at `now` (see `heartbeat.due`)."""
        return _heartbeat.due(self._heartbeat, last_sent, last_received, now, grace)

    # --- received frames ---------------------------------------------------------------------------------------

    def receive(self, frame: Frame | Heartbeat) -> Event:
        """Take one item the broker sent and say what it means.

        Raises `RemoteProtocolError` when the broker broke the protocol: a frame that
        cannot come now, a RECEIPT nobody asked for or one that came twice, a MESSAGE
        for a subscription never made (one recently unsubscribed is accepted, since
        it may have been in flight, and comes back with `subscription=None`).
        """
        if type(frame) is Frame and self._state is CONNECTED:
            command = frame.command
            if command == "MESSAGE":
                # The common case, one per message received: a checked subset of `_on_message` in one call.
                headers = frame.headers
                subscription = self._subscriptions.get(headers.get("subscription"))  # type: ignore[arg-type]
                if (
                    subscription is not None
                    and subscription.ack == "auto"
                    and self._version != "1.0"
                    and "destination" in headers
                    and "message-id" in headers
                ):
                    return delivered(frame, self._version, subscription)  # type: ignore[arg-type]
                return self._on_message(frame)
            if command == "RECEIPT":
                return self._on_receipt(frame)  # a round trip's answer: the checks below cannot fail
        if isinstance(frame, Heartbeat):
            if self._state is not CONNECTED:  # legal in every state; only the state table says what follows
                self._state = self._next("HEARTBEAT")
            return HEARTBEAT
        if not isinstance(frame, Frame):
            raise TypeError(f"receive() takes a Frame or a Heartbeat, not {type(frame).__name__}")
        if self._state is DISCONNECTED:
            raise ProtocolError(
                f"receive({frame.command}) while the session is DISCONNECTED: the connection ended; "
                "connect() again first"
            )
        if frame.command not in spec.SERVER_COMMANDS:
            raise RemoteProtocolError(f"the broker sent {frame.command}, which is not a server frame")
        if frame.command == "CONNECTED":
            return self._on_connected(frame)
        if frame.command == "MESSAGE":
            return self._on_message(frame)
        if frame.command == "RECEIPT":
            return self._on_receipt(frame)
        return self._on_error(frame)

    def _on_connected(self, frame: Frame) -> Connected:
        after = self._next("CONNECTED")
        info = commands.connected(frame, self._offered)
        intervals = (
            _heartbeat.negotiate(self._asked_heartbeat, info.heartbeat) if info.version != "1.0" else _heartbeat.NONE
        )
        self._info = info
        self._version = info.version
        self._heartbeat = intervals
        self._state = after
        return Connected(info, intervals, frame)

    def _on_message(self, frame: Frame) -> Message:
        self._next("MESSAGE")
        info = commands.message(frame, self.version)
        subscription = self._find_subscription(info)
        if subscription is None and self.version != "1.0" and info.subscription not in self._unsubscribed:
            raise RemoteProtocolError(
                f"MESSAGE for subscription {info.subscription!r}, which this session never made "
                f"(held: {', '.join(repr(k) for k in self._subscriptions) or 'none'})"
            )
        needs_ack = subscription is not None and subscription.ack != "auto"
        event = Message(frame, info, subscription, needs_ack)
        if needs_ack:
            assert subscription is not None
            self._ledger.delivered(subscription, info, event)
        return event

    def _on_receipt(self, frame: Frame) -> Receipt:
        raw = frame.raw_headers
        if len(raw) == 1 and raw[0][0] == "receipt-id":  # the usual answer: no headers mapping to build
            receipt_id: str | None = raw[0][1]
        else:
            receipt_id = frame.headers.get("receipt-id")  # `commands.receipt` without its command check, done above
        if receipt_id is None:
            receipt_id = commands.receipt(frame)  # raises, saying what is missing
        receipts = self._receipts
        if receipt_id not in receipts.outstanding:
            receipts.answered(receipt_id)  # raises, saying whether it came twice or was never asked for
        final = receipt_id == receipts.disconnect  # CONNECTED -> CONNECTED, a round trip's case, needs no lookup
        after = CONNECTED if self._state is CONNECTED and not final else self._next("RECEIPT" + "-DISCONNECT" * final)
        request = receipts.answered(receipt_id)
        if after is DISCONNECTED:
            self._forget_all()
        self._state = after
        return Receipt(receipt_id, request, frame)

    def _on_error(self, frame: Frame) -> Error:
        after = self._next("ERROR")
        if self._state is CONNECTING:
            self._reset_connection()
            self._state = after
            return Error(frame, commands.connect_refused(frame, self._offered))
        request = self._receipts.answered_by_error(frame.headers.get("receipt-id"))
        self._state = after
        return Error(frame, commands.error(frame), request)

    # --- helpers -----------------------------------------------------------------------------------------------

    def _next(self, action: str) -> State:
        """The state after `action`, or the error saying why it cannot happen now (see `state.next_state`)."""
        return next_state(self._state, action)

    def _check_transaction(self, transaction: str | None, action: str) -> None:
        if transaction is not None and transaction not in self._ledger.transactions:
            open_ = ", ".join(repr(t) for t in self._ledger.transactions) or "none"
            raise ProtocolError(
                f"cannot {action}() in unknown transaction {transaction!r} (open: {open_}): begin() it first"
            )

    def _end_transaction(self, action: str, transaction: str, receipt: bool | str | None) -> Frame:
        self._next(action)
        if transaction is None:
            raise ProtocolError(f"{action}() needs the transaction id that begin() put in its frame")
        self._check_transaction(transaction, action)
        receipt_id = self._receipts.new_id(receipt)
        build = commands.commit if action == "commit" else commands.abort
        frame = build(self.version, transaction, receipt=receipt_id)
        self._receipts.remember(receipt_id, frame)
        self._ledger.end(transaction, commit=action == "commit")
        return frame

    def _acknowledge(
        self,
        action: str,
        message: Message | Frame,
        transaction: str | None,
        receipt: bool | str | None,
        headers: HeadersArg,
    ) -> Frame:
        self._next(action)
        if isinstance(message, Message):
            info = message.info
        elif isinstance(message, Frame):
            info = commands.message(message, self.version)
        else:
            raise TypeError(f"{action}() takes the Message event or the MESSAGE frame, not {type(message).__name__}")
        subscription = self._find_subscription(info)
        if subscription is None:
            raise ProtocolError(
                f"cannot {action}() message {info.message_id!r}: its subscription is not held "
                "(unsubscribed, or never made on this session)"
            )
        self._ledger.check(action, subscription, info)
        self._check_transaction(transaction, action)
        receipt_id = self._receipts.new_id(receipt)
        build = commands.ack if action == "ack" else commands.nack
        frame = build(self.version, info, transaction=transaction, receipt=receipt_id, headers=headers)
        self._receipts.remember(receipt_id, frame)
        # The spec: an aborted transaction's acknowledgements are not applied, so a transacted one waits for COMMIT.
        self._ledger.acknowledge(subscription, info, transaction)
        return frame

    def _find_subscription(self, info: MessageInfo) -> Subscription | None:
        """The held subscription a MESSAGE belongs to, or None."""
        if info.subscription is not None:
            found = self._subscriptions.get(info.subscription)
            if found is not None or self.version != "1.0":
                return found
        if self.version == "1.0":
            # 1.0 brokers may name subscriptions their own way or not at all: fall back to the destination.
            return next((s for s in self._subscriptions.values() if s.destination == info.destination), None)
        return None

    def _reset_connection(self) -> None:
        self._receipts.clear()
        self._ledger.clear()
        self._unsubscribed.clear()
        self._active.clear()

    def _forget_all(self) -> None:
        self._reset_connection()
        self._lost_unacked = ()
        self._subscriptions.clear()


def _key_of(message: Message) -> str | None:
    return message.subscription.key if message.subscription is not None else None


# The events and states moved to `events` and `state`; importing them from here keeps working.
__all__ = ["CONNECTED", "CONNECTING", "DISCONNECTED", "DISCONNECTING", "TRANSITIONS", "BrokerError", "Connected"]
__all__ += ["Error", "Event", "Lost", "Message", "Receipt", "Session", "State", "Subscription"]
