"""`Session`: the client side of one STOMP conversation as a sans-IO state machine.

Theory of operation. Methods named after client commands return the `Frame` to send
and record what it implies (a receipt to expect, a transaction open, a subscription
to replay); `receive()` takes each frame or heart-beat the broker sent and returns one
event (`Connected`, `Message`, `Receipt`, `Error`, or the `Heartbeat` itself). The
session never touches a socket or a clock: `connection_lost()` and `close()` tell it
that the transport ended, and heart-beat deadlines take clock values as arguments.

Two rules, as in h11: every state transition is in `_TRANSITIONS` below and nowhere
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

import enum
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import FrozenInstanceError, dataclass
from typing import Final, Literal, cast

from stomptest.protocol import commands, spec
from stomptest.protocol import heartbeat as _heartbeat
from stomptest.protocol.commands import ConnectedInfo, MessageInfo
from stomptest.protocol.errors import BrokerError, ProtocolError, RemoteProtocolError
from stomptest.protocol.frame import HEARTBEAT, Frame, HeadersArg, Heartbeat
from stomptest.protocol.heartbeat import HeartbeatIntervals
from stomptest.protocol.spec import VERSIONS, Version


class State(enum.Enum):
    """Where the session is in its life."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTING = "disconnecting"


DISCONNECTED: Final = State.DISCONNECTED
CONNECTING: Final = State.CONNECTING
CONNECTED: Final = State.CONNECTED
DISCONNECTING: Final = State.DISCONNECTING

# Every transition of the session, and nothing else. Inputs in lower case are our
# calls, in upper case what the broker sent; "RECEIPT-DISCONNECT" is the receipt for
# our DISCONNECT, "HEARTBEAT" an EOL between frames. A pair missing here is illegal.
_CLIENT_FRAMES: Final = ("send", "subscribe", "unsubscribe", "ack", "nack", "begin", "commit", "abort")
_TRANSITIONS: Final[dict[tuple[State, str], State]] = {
    (DISCONNECTED, "connect"): CONNECTING,
    (DISCONNECTED, "close"): DISCONNECTED,
    (DISCONNECTED, "connection_lost"): DISCONNECTED,
    (DISCONNECTED, "HEARTBEAT"): DISCONNECTED,  # EOLs after the last frame (RECEIPT\0\n) arrive after the end
    (CONNECTING, "CONNECTED"): CONNECTED,
    (CONNECTING, "ERROR"): DISCONNECTED,
    (CONNECTING, "HEARTBEAT"): CONNECTING,
    (CONNECTING, "connection_lost"): DISCONNECTED,
    **{(CONNECTED, name): CONNECTED for name in _CLIENT_FRAMES},
    (CONNECTED, "replay"): CONNECTED,
    (CONNECTED, "beat"): CONNECTED,
    (CONNECTED, "disconnect"): DISCONNECTING,
    (CONNECTED, "MESSAGE"): CONNECTED,
    (CONNECTED, "RECEIPT"): CONNECTED,
    (CONNECTED, "ERROR"): CONNECTED,  # most brokers keep the connection open after ERROR; the transport says if not
    (CONNECTED, "HEARTBEAT"): CONNECTED,
    (CONNECTED, "connection_lost"): DISCONNECTED,
    (DISCONNECTING, "MESSAGE"): DISCONNECTING,  # already in flight when the broker read DISCONNECT
    (DISCONNECTING, "RECEIPT"): DISCONNECTING,
    (DISCONNECTING, "RECEIPT-DISCONNECT"): DISCONNECTED,
    (DISCONNECTING, "ERROR"): DISCONNECTING,
    (DISCONNECTING, "HEARTBEAT"): DISCONNECTING,
    (DISCONNECTING, "close"): DISCONNECTED,
    (DISCONNECTING, "connection_lost"): DISCONNECTED,
}

_HINTS: Final[dict[State, str]] = {
    DISCONNECTED: "call connect() and feed the broker's CONNECTED to receive() first",
    CONNECTING: "wait until receive() has returned Connected",
    CONNECTED: "the session is connected already",
    DISCONNECTING: "DISCONNECT has been sent; close() or wait for its receipt, then connect() again",
}

_RECENT_RECEIPTS: Final = 1024  # completed receipt ids remembered to tell "repeated" from "unexpected"


# --- what the session records ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subscription:
    """A subscription as sent: `frame` is the SUBSCRIBE frame, headers and receipt included, that `replay()` resends.

    `id` is None only for 1.0 subscriptions keyed by destination.
    """

    id: str | None
    destination: str
    ack: commands.AckMode
    frame: Frame

    @property
    def key(self) -> str:
        """What names the subscription on the connection: its id, or in 1.0 without one, its destination."""
        return self.id if self.id is not None else self.destination

    @property
    def receipt(self) -> str | None:
        return self.frame.headers.get("receipt")


# --- events returned by receive() ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Connected:
    """The broker accepted CONNECT; `heartbeat` holds the negotiated intervals (ms)."""

    info: ConnectedInfo
    heartbeat: HeartbeatIntervals
    frame: Frame

    @property
    def version(self) -> Version:
        return self.info.version


class Message:
    """A MESSAGE. `subscription` is None when it belongs to none we hold (see `Session.receive`).

    Immutable, compared and hashed by its fields like the other events. A plain class
    with slots rather than a dataclass because one is made per message received: the
    session builds `info` only when asked for it (an ack:auto message is usually
    consumed without it), from headers it checked on arrival.
    """

    __slots__ = ("_info", "_version", "frame", "needs_ack", "subscription")
    __match_args__ = ("frame", "info", "subscription", "needs_ack")

    frame: Frame
    subscription: Subscription | None
    needs_ack: bool
    """True when the subscription's ack mode asks us to ACK or NACK it."""
    _info: MessageInfo | None
    _version: str

    def __init__(self, frame: Frame, info: MessageInfo, subscription: Subscription | None, needs_ack: bool) -> None:
        _set_frame(self, frame)
        _set_info(self, info)
        _set_version(self, "")
        _set_subscription(self, subscription)
        _set_needs_ack(self, needs_ack)

    @property
    def info(self) -> MessageInfo:
        """The ids that acknowledge this message (`commands.MessageInfo`)."""
        info = self._info
        if info is None:
            info = commands.message(self.frame, self._version)
            _set_info(self, info)
        return info

    @property
    def destination(self) -> str:
        return self.info.destination

    @property
    def message_id(self) -> str:
        return self.info.message_id

    @property
    def body(self) -> bytes:
        return self.frame.body

    def _fields(self) -> tuple[Frame, MessageInfo, Subscription | None, bool]:
        return (self.frame, self.info, self.subscription, self.needs_ack)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return (
            f"Message(frame={self.frame!r}, info={self.info!r}, subscription={self.subscription!r}, "
            f"needs_ack={self.needs_ack!r})"
        )

    def __reduce__(self) -> tuple[type[Message], tuple[Frame, MessageInfo, Subscription | None, bool]]:
        return (Message, self._fields())

    def __setattr__(self, name: str, value: object) -> None:
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise FrozenInstanceError(f"cannot delete field {name!r}")


_set_frame: Final[Callable[[Message, Frame], None]] = vars(Message)["frame"].__set__
_set_info: Final[Callable[[Message, MessageInfo | None], None]] = vars(Message)["_info"].__set__
_set_version: Final[Callable[[Message, str], None]] = vars(Message)["_version"].__set__
_set_subscription: Final[Callable[[Message, Subscription | None], None]] = vars(Message)["subscription"].__set__
_set_needs_ack: Final[Callable[[Message, bool], None]] = vars(Message)["needs_ack"].__set__
_new_message: Final = object.__new__


def _delivered(frame: Frame, version: str, subscription: Subscription) -> Message:
    """An ack:auto MESSAGE whose headers `Session.receive` checked: `info` is built on first use."""
    message: Message = _new_message(Message)
    _set_frame(message, frame)
    _set_info(message, None)
    _set_version(message, version)
    _set_subscription(message, subscription)
    _set_needs_ack(message, False)
    return message


@dataclass(frozen=True)
class Receipt:
    """The broker processed `request` (the frame that asked for receipt `receipt_id`)."""

    receipt_id: str
    request: Frame
    frame: Frame


@dataclass(frozen=True)
class Error:
    """The broker sent ERROR. `request` is the frame it answers when it names a receipt we were waiting for.

    During CONNECTING it means the connection was refused: the session is DISCONNECTED
    again and `exception` says why (listing both sides' versions when that was the cause).
    """

    frame: Frame
    exception: BrokerError
    request: Frame | None = None


Event = Connected | Message | Receipt | Error | Heartbeat


@dataclass(frozen=True)
class Lost:
    """What died with a connection: returned by `connection_lost()` for the client to report."""

    transactions: tuple[str, ...] = ()
    receipts: tuple[Frame, ...] = ()
    """Frames whose receipts never came: the broker may or may not have processed them."""
    unacknowledged: tuple[Message, ...] = ()
    """Messages delivered but not acknowledged (an ACK in a transaction that died does not count): redelivered."""


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
        self._counter = 0
        # Per connection:
        self._receipts: OrderedDict[str, Frame] = OrderedDict()
        self._completed: deque[str] = deque(maxlen=_RECENT_RECEIPTS)
        self._disconnect_receipt: str | None = None
        # open transaction -> its ACKs/NACKs, as (subscription key, message identity), applied at COMMIT
        self._transactions: OrderedDict[str, set[tuple[str, str]]] = OrderedDict()
        self._unsubscribed: set[str] = set()
        # subscription key -> message identity -> (delivery number, message), in delivery order
        self._unacked: OrderedDict[str, OrderedDict[str, tuple[int, Message]]] = OrderedDict()
        self._deliveries = 0
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
        return dict(self._receipts)

    @property
    def transactions(self) -> tuple[str, ...]:
        """Transactions open on this connection, in the order begun."""
        return tuple(self._transactions)

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
        if subscription is not None:
            return tuple(m for _, m in self._unacked.get(subscription, {}).values())
        merged = sorted((entry for pending in self._unacked.values() for entry in pending.values()), key=_first)
        return tuple(m for _, m in merged)

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
        receipt_id = self._new_receipt(receipt)
        frame = commands.disconnect(self.version, receipt=receipt_id)
        self._remember_receipt(receipt_id, frame)
        self._disconnect_receipt = receipt_id
        self._transactions.clear()
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
        lost = Lost(tuple(self._transactions), tuple(self._receipts.values()), self.unacknowledged())
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
            if sub.id is None and self.version != "1.0":
                raise ProtocolError(
                    f"subscription to {sub.destination!r} was made in STOMP 1.0 without an id and cannot be "
                    f"replayed in {self.version}: unsubscribe() it and subscribe() again with an id"
                )
            if sub.ack == "client-individual" and self.version == "1.0":
                raise ProtocolError(
                    f"subscription {sub.key!r} uses ack:client-individual, which STOMP 1.0 lacks: "
                    "unsubscribe() it and subscribe() again with ack='client'"
                )
            if sub.receipt is not None and sub.receipt in self._receipts:
                raise ProtocolError(
                    f"cannot replay the subscription {sub.key!r}: its receipt id {sub.receipt!r} is already "
                    "outstanding on this connection; use receipt=True to let the session choose ids"
                )
        for sub in pending:
            self._remember_receipt(sub.receipt, sub.frame)
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
        receipt_id = self._new_receipt(receipt)
        frame = commands.send(version, destination, body, headers=headers, transaction=transaction, receipt=receipt_id)
        self._remember_receipt(receipt_id, frame)
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
            id = self._generate("sub", self._subscriptions)
        key = id if id is not None else destination
        if key in self._subscriptions:
            what = f"id {id!r}" if id is not None else f"destination {destination!r} without an id"
            raise ProtocolError(
                f"a subscription with {what} exists already: unsubscribe it first, or pass a different id="
            )
        receipt_id = self._new_receipt(receipt)
        frame = commands.subscribe(self.version, destination, id=id, ack=ack, headers=headers, receipt=receipt_id)
        subscription = Subscription(id, destination, cast(commands.AckMode, ack), frame)
        self._remember_receipt(receipt_id, frame)
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
        receipt_id = self._new_receipt(receipt)
        if subscription.id is not None:
            frame = commands.unsubscribe(self.version, id=subscription.id, receipt=receipt_id)
        else:
            frame = commands.unsubscribe(self.version, destination=subscription.destination, receipt=receipt_id)
        self._remember_receipt(receipt_id, frame)
        del self._subscriptions[key]
        self._active.discard(key)
        self._unacked.pop(key, None)
        for claims in self._transactions.values():
            claims.difference_update([claim for claim in claims if claim[0] == key])
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
            transaction = self._generate("tx", self._transactions)
        elif transaction in self._transactions:
            raise ProtocolError(f"transaction {transaction!r} is open already: commit() or abort() it first")
        receipt_id = self._new_receipt(receipt)
        frame = commands.begin(self.version, transaction, receipt=receipt_id)
        self._remember_receipt(receipt_id, frame)
        self._transactions[transaction] = set()
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
        if type(frame) is Frame and frame.command == "MESSAGE" and self._state is CONNECTED:
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
                return _delivered(frame, self._version, subscription)  # type: ignore[arg-type]
            return self._on_message(frame)
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
            pending = self._unacked.setdefault(subscription.key, OrderedDict())
            identity = _identity(info)
            pending.pop(identity, None)  # a redelivery goes to the back
            self._deliveries += 1
            pending[identity] = (self._deliveries, event)
        return event

    def _on_receipt(self, frame: Frame) -> Receipt:
        receipt_id = commands.receipt(frame)
        request = self._receipts.get(receipt_id)
        if request is None:
            if receipt_id in self._completed:
                raise RemoteProtocolError(f"the broker sent receipt {receipt_id!r} a second time")
            waiting = ", ".join(repr(r) for r in self._receipts) or "none"
            raise RemoteProtocolError(
                f"the broker sent receipt {receipt_id!r}, which was not asked for (waiting for {waiting})"
            )
        after = self._next("RECEIPT-DISCONNECT" if receipt_id == self._disconnect_receipt else "RECEIPT")
        del self._receipts[receipt_id]
        self._completed.append(receipt_id)
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
        receipt_id = frame.headers.get("receipt-id")
        request = self._receipts.pop(receipt_id, None) if receipt_id is not None else None
        if request is not None and receipt_id is not None:
            self._completed.append(receipt_id)
        self._state = after
        return Error(frame, commands.error(frame), request)

    # --- helpers -----------------------------------------------------------------------------------------------

    def _next(self, action: str) -> State:
        """The state after `action`, or the error saying why it cannot happen now."""
        after = _TRANSITIONS.get((self._state, action))
        if after is not None:
            return after
        state = self._state.name
        if action.isupper():
            raise RemoteProtocolError(f"the broker sent {action.split('-')[0]} while the session is {state}")
        raise ProtocolError(f"cannot {action}() while the session is {state}: {_HINTS[self._state]}")

    def _generate(self, prefix: str, taken: Mapping[str, object]) -> str:
        while True:
            self._counter += 1
            candidate = f"{prefix}-{self._counter}"
            if candidate not in taken:
                return candidate

    def _new_receipt(self, receipt: bool | str | None) -> str | None:
        if receipt is None or receipt is False:
            return None
        if receipt is True:
            return self._generate("receipt", self._receipts)
        if not isinstance(receipt, str) or not receipt:
            raise ProtocolError(f"receipt= is True (generate an id), a non-empty str, or None; not {receipt!r}")
        if receipt in self._receipts:
            raise ProtocolError(f"receipt {receipt!r} is outstanding already: use another id, or receipt=True")
        return receipt

    def _remember_receipt(self, receipt_id: str | None, frame: Frame) -> None:
        if receipt_id is not None:
            self._receipts[receipt_id] = frame

    def _check_transaction(self, transaction: str | None, action: str) -> None:
        if transaction is not None and transaction not in self._transactions:
            open_ = ", ".join(repr(t) for t in self._transactions) or "none"
            raise ProtocolError(
                f"cannot {action}() in unknown transaction {transaction!r} (open: {open_}): begin() it first"
            )

    def _end_transaction(self, action: str, transaction: str, receipt: bool | str | None) -> Frame:
        self._next(action)
        if transaction is None:
            raise ProtocolError(f"{action}() needs the transaction id that begin() put in its frame")
        self._check_transaction(transaction, action)
        receipt_id = self._new_receipt(receipt)
        build = commands.commit if action == "commit" else commands.abort
        frame = build(self.version, transaction, receipt=receipt_id)
        self._remember_receipt(receipt_id, frame)
        claims = self._transactions.pop(transaction)
        if action == "commit":
            for key, identity in claims:
                pending = self._unacked.get(key)
                if pending is not None:
                    pending.pop(identity, None)  # gone already when acknowledged twice by cumulative ACKs
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
        identity = _identity(info)
        subscription = self._find_subscription(info)
        if subscription is None:
            raise ProtocolError(
                f"cannot {action}() message {info.message_id!r}: its subscription is not held "
                "(unsubscribed, or never made on this session)"
            )
        if subscription.ack == "auto":
            raise ProtocolError(
                f"cannot {action}() message {info.message_id!r}: subscription {subscription.key!r} is ack:auto, "
                "so the broker considers it acknowledged on delivery (and in 1.2 sends no 'ack' header to quote); "
                "subscribe with ack='client' or 'client-individual' to acknowledge messages"
            )
        pending = self._unacked.get(subscription.key, OrderedDict())
        if identity not in pending:
            raise ProtocolError(
                f"message {info.message_id!r} on subscription {subscription.key!r} is not awaiting "
                f"acknowledgement: it was acknowledged already, or delivered on an earlier connection "
                f"(the broker redelivers those)"
            )
        holder = next((tx for tx, claims in self._transactions.items() if (subscription.key, identity) in claims), None)
        if holder is not None:
            raise ProtocolError(
                f"message {info.message_id!r} on subscription {subscription.key!r} is acknowledged already in "
                f"open transaction {holder!r}, which settles it at commit(); abort() that transaction first "
                "to acknowledge the message another way"
            )
        self._check_transaction(transaction, action)
        receipt_id = self._new_receipt(receipt)
        build = commands.ack if action == "ack" else commands.nack
        frame = build(self.version, info, transaction=transaction, receipt=receipt_id, headers=headers)
        self._remember_receipt(receipt_id, frame)
        if subscription.ack == "client":
            # Cumulative: this message and everything delivered before it on the subscription.
            covered: list[str] = []
            for earlier in pending:
                covered.append(earlier)
                if earlier == identity:
                    break
        else:
            covered = [identity]
        if transaction is None:
            for each in covered:
                del pending[each]
        else:
            # The spec: an aborted transaction's acknowledgements are not applied, so wait for COMMIT.
            self._transactions[transaction].update((subscription.key, each) for each in covered)
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
        self._completed.clear()
        self._disconnect_receipt = None
        self._transactions.clear()
        self._unsubscribed.clear()
        self._unacked.clear()
        self._active.clear()

    def _forget_all(self) -> None:
        self._reset_connection()
        self._lost_unacked = ()
        self._subscriptions.clear()


def _identity(info: MessageInfo) -> str:
    """What tells messages apart on a subscription: the 1.2 ack id when there is one, else the message-id."""
    return f"ack:{info.ack}" if info.ack is not None else f"id:{info.message_id}"


def _key_of(message: Message) -> str | None:
    return message.subscription.key if message.subscription is not None else None


def _first(entry: tuple[int, Message]) -> int:
    return entry[0]
