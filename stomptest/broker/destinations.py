"""Destinations and what they hold: messages, the subscriptions they go to, deliveries awaiting an ACK.

Plain state with no behaviour beyond flow control (`Subscription.has_room`); the engine
(engine.py) routes messages between these objects, and a connection is known here only
as a `Consumer`, the few things dispatch asks of one. A queue's `subscriptions` list is
also its rotation of competing consumers (engine.py's dispatch moves the one served to
the back); a topic gives each subscription a `pending` list of its own.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Literal, Protocol

from stomptest.broker.error_kinds import ErrorKind

if TYPE_CHECKING:
    from stomptest.broker.lifecycle_arguments import QueueSettings
    from stomptest.broker.selectors import Selector
    from stomptest.protocol.frame import Frame

Kind = Literal["queue", "topic"]
AckMode = Literal["auto", "client", "client-individual"]


class Consumer(Protocol):
    """What the engine asks of a connection (connection.py's `Connection` is the one there is)."""

    @property
    def id(self) -> int: ...

    @property
    def session(self) -> str | None: ...

    @property
    def writable(self) -> bool:
        """Whether more MESSAGEs may be queued to it now (flow control)."""
        ...

    @property
    def closed(self) -> bool: ...

    def deliver(self, subscription: Subscription, message: Message) -> None:
        """Write `message` as a MESSAGE for `subscription`."""

    def fail(self, kind: ErrorKind, frame: Frame | None, **fields: str) -> None:
        """Answer with the profile's ERROR for `kind` (a slow consumer: "limit")."""


class Message:
    """One message held by the broker (its headers are the user headers of the SEND)."""

    __slots__ = (
        "body",
        "deaths",
        "deliveries",
        "destination",
        "expires",
        "had_content_length",
        "headers",
        "held_in",
        "id_prefix",
        "message_id_given",
        "out_headers",
        "persistent",
        "priority",
        "sequence",
        "timestamp",
    )
    held_in: Destination  # the queue that keeps it for a store (Engine.keep; store.py): set only where there is one

    def __init__(
        self,
        sequence: int,
        destination: str,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        id_prefix: str,
        timestamp: int,
        expires: int = 0,
        priority: int = 4,
        persistent: str | None = None,
        had_content_length: bool = False,
    ) -> None:
        self.sequence = sequence
        self.destination = destination
        self.headers = headers
        self.body = body
        self.id_prefix = id_prefix  # shared between messages: the id is made only when asked for
        self.message_id_given: str | None = None
        self.timestamp = timestamp
        self.expires = expires
        self.priority = priority
        self.persistent = persistent
        self.had_content_length = had_content_length
        self.deliveries = 0
        self.out_headers = headers  # the SEND's headers as MESSAGE repeats them (jms_headers_from_send: fewer)
        self.deaths: tuple[tuple[str, str], ...] = ()  # RabbitMQ: (queue, reason) per dead-lettering (redelivery.py)

    def copy(self) -> Message:
        """The same message for one more topic subscriber, with a delivery count of its own."""
        copy = Message(
            self.sequence,
            self.destination,
            self.headers,
            self.body,
            self.id_prefix,
            self.timestamp,
            self.expires,
            self.priority,
            self.persistent,
            self.had_content_length,
        )
        copy.message_id_given = self.message_id_given
        copy.deliveries = self.deliveries
        copy.out_headers = self.out_headers
        copy.deaths = self.deaths
        return copy

    @property
    def message_id(self) -> str:
        """The broker's id for this message (built on demand: a million queued ids would cost 60 MB)."""
        given = self.message_id_given
        return given if given is not None else self.id_prefix + str(self.sequence)


class Delivery:
    """A message handed to a subscription in a client ack mode and not yet acknowledged."""

    __slots__ = ("ack", "message", "message_id", "subscription")

    def __init__(self, message: Message, subscription: Subscription, message_id: str, ack: str) -> None:
        self.message = message
        self.subscription = subscription
        self.message_id = message_id
        self.ack = ack


class Subscription:
    """A SUBSCRIBE of one connection; `unacked` is ordered by delivery, keyed by ack id."""

    __slots__ = (
        "ack",
        "connection",
        "destination",
        "headers",
        "id",
        "pending",
        "selector",
        "serial",
        "unacked",
        "unacked_by_message_id",
        "unacked_bytes",
        "window",
        "window_unit",
    )

    def __init__(
        self,
        connection: Consumer,
        id: str,
        destination: Destination,
        ack: AckMode,
        window: int | None,
        window_unit: str,
        serial: int,
        headers: Mapping[str, str],
    ) -> None:
        self.connection = connection
        self.id = id
        self.destination = destination
        self.ack = ack
        self.window = window  # None: no window beyond Limits.max_unacknowledged
        self.window_unit = window_unit
        self.serial = serial
        self.headers = dict(headers)
        self.unacked: dict[str, Delivery] = {}
        self.unacked_by_message_id: dict[str, str] = {}
        self.unacked_bytes = 0
        # topics only: messages copied to this subscriber and not yet delivered
        self.pending: deque[Message] | None = deque() if destination.kind == "topic" else None
        self.selector: Selector | None = None  # SUBSCRIBE's `selector`, compiled (selectors.py)

    def has_room(self, limit: int) -> bool:
        """Whether one more message may be delivered now (flow control)."""
        if not self.connection.writable:
            return False
        if self.ack == "auto":
            return True
        count = len(self.unacked)
        if count >= limit:
            return False
        window = self.window
        if window is None:
            return True
        if self.window_unit == "bytes":
            # Artemis: a byte window; 0 means one message at a time, and one message is always allowed
            return count == 0 or self.unacked_bytes < window
        return count < window


class Destination:
    """A named place to send to; `kind` says how messages are routed."""

    kind: Kind = "queue"
    # a subscription's Span (spanning.py): the destinations it reads; None for every other destination
    parts: list[Destination] | None = None

    def __init__(self, name: str, owner: int | None = None) -> None:
        self.name = name
        self.owner = owner  # the connection a temporary destination belongs to
        self.subscriptions: list[Subscription] = []
        self.messages: deque[Message] = deque()  # queues only
        self.lifecycle: QueueSettings | None = None  # RabbitMQ: its queue arguments (lifecycle_arguments.py)
        self.selecting = 0  # how many of its subscriptions have a selector (engine.py dispatches them apart)
        # issue 15 (routing.py): where a message published here goes instead or as well; True: handled
        self.router: Callable[[Message, float], bool] | None = None
        self.arguments: dict[str, int] = {}  # RabbitMQ: the queue arguments it was declared with (routing.py)


class Queue(Destination):
    kind: Kind = "queue"


class Topic(Destination):
    kind: Kind = "topic"
