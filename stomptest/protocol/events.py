"""The events of a client's STOMP conversation: immutable records of what the broker said.

`Session.receive` returns one of `Connected`, `Message`, `Receipt`, `Error` (or the
`Heartbeat` itself) for each frame or EOL the broker sent; `Session.connection_lost`
returns `Lost`; `Subscription` is what `Session.subscribe` recorded. They live here, apart
from the session that makes them (as h11 keeps `_events.py`), so that the client shells,
the client connection and the tests can name them without importing the state machine.
The old import path `stomptest.protocol.session` re-exports every one of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import FrozenInstanceError, dataclass
from typing import Final

from stomptest.protocol import commands
from stomptest.protocol.commands import ConnectedInfo, MessageInfo
from stomptest.protocol.errors import BrokerError, ConnectionLost, ProtocolError, StompError
from stomptest.protocol.frame import Frame, Heartbeat
from stomptest.protocol.heartbeat import HeartbeatIntervals
from stomptest.protocol.spec import Version

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

    def check_carried_by(self, version: str) -> None:
        """Raise `ProtocolError` when a connection of `version` cannot carry this subscription (for replay)."""
        if self.id is None and version != "1.0":
            raise ProtocolError(
                f"subscription to {self.destination!r} was made in STOMP 1.0 without an id and cannot be "
                f"replayed in {version}: unsubscribe() it and subscribe() again with an id"
            )
        if self.ack == "client-individual" and version == "1.0":
            raise ProtocolError(
                f"subscription {self.key!r} uses ack:client-individual, which STOMP 1.0 lacks: "
                "unsubscribe() it and subscribe() again with ack='client'"
            )


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

    @property
    def headers(self) -> Mapping[str, str]:
        """The MESSAGE frame's headers, read-only; the first of a repeated header wins, as the spec says."""
        return self.frame.headers

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


def delivered(frame: Frame, version: str, subscription: Subscription) -> Message:
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


# --- notices returned by ClientConnection.receive_data() --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """The answer to the call waiting for receipt `receipt_id`: its `receipt`, or the `error` the broker sent."""

    receipt_id: str
    receipt: Receipt | None
    error: BrokerError | None


@dataclass(frozen=True, slots=True)
class Unsolicited:
    """An error no waiting call takes: an ERROR, or the broker breaking the protocol. The shell reports it."""

    error: StompError


@dataclass(frozen=True, slots=True)
class Broken:
    """The broker sent bytes that are not STOMP: the shell closes the transport, with `error` as the cause."""

    error: ConnectionLost


Notice = Connected | Error | Answer | Unsolicited | Broken


__all__ = [
    "Answer",
    "Broken",
    "Connected",
    "Error",
    "Event",
    "Lost",
    "Message",
    "Notice",
    "Receipt",
    "Subscription",
    "Unsolicited",
]
