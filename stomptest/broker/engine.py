"""The shared side of the broker: routing, dispatch, redelivery and dead letters.

The objects it moves (messages, destinations, subscriptions, deliveries) are defined in
destinations.py and importable from here too.

Theory of operation. The engine is plain state, driven by `Connection` objects (one per
client, see connection.py) and by the test-side API; it never does I/O and never reads
a clock: every call that needs the time receives `now` (seconds since the epoch). It
knows a connection only as a `Consumer`, the few things dispatch asks of one, so this
module imports no connection: connection.py imports the engine, never the other way.

A queue keeps its messages in sequence order and hands them to the subscriptions that
have room (flow control: prefetch windows and `max_unacknowledged`, and a connection
whose unsent output is full has no room) in rotation: its `subscriptions` list is the
rotation, the one served goes to the back and a new one joins at the back. RabbitMQ,
ActiveMQ and Artemis all do so (issue 18, N11: one message queued before A subscribes,
then B subscribes, then four more: A A B A B; "the one after the last served" would
give A B A B A). A topic copies each message
to every subscription's own `pending` list, so a slow subscriber delays only itself.
A message that goes back to a queue (disconnect, UNSUBSCRIBE, NACK) is merged back in
sequence order, so per destination the order holds even across redeliveries.
"""

from __future__ import annotations

import itertools
import random
import string
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from stomptest.broker.destinations import (
    AckMode,
    Consumer,
    Delivery,
    Destination,
    Kind,
    Message,
    Queue,
    Subscription,
    Topic,
)
from stomptest.broker.profiles import Limits, Profile
from stomptest.broker.routing import Routes

if TYPE_CHECKING:
    from stomptest.broker.connection import Connection

# the data model lives in destinations.py; these names stay importable from here
__all__ = [
    "AckMode",
    "Consumer",
    "Delivery",
    "Destination",
    "Engine",
    "Kind",
    "Message",
    "Queue",
    "Subscription",
    "Topic",
]


# headers a dead letter gets from the broker (Profile.dead_letter_headers), replaced when it dies again
_ORIGIN_HEADERS = frozenset(
    {"original-destination", "_AMQ_ORIG_QUEUE", "_AMQ_ORIG_ROUTING_TYPE", "_AMQ_ORIG_ADDRESS", "_AMQ_ORIG_MESSAGE_ID"}
)


_PREFIXES: tuple[tuple[str, Kind], ...] = (
    ("/queue/", "queue"),
    ("/topic/", "topic"),
    ("/temp-queue/", "queue"),
    ("/temp-topic/", "topic"),
    ("/remote-temp-queue/", "queue"),
    ("/remote-temp-topic/", "topic"),
    ("/reply-queue/", "queue"),
)
_MAX_ROUTES = 10_000  # names whose routing is remembered; beyond, resolve() works it out each time
_ALPHABET = string.ascii_letters + string.digits + "-_"


class Engine:
    """Destinations and connections of one broker, shared by all its `Connection`s."""

    def __init__(
        self,
        profile: Profile,
        *,
        users: Mapping[str, str] | None = None,
        limits: Limits | None = None,
        seed: int | None = None,
    ) -> None:
        self.profile = profile
        self.limits = limits if limits is not None else profile.limits
        self.users = dict(users) if users is not None else None
        self.destinations: dict[str, Destination] = {}
        self.connections: dict[int, Connection] = {}
        self.finished: deque[Connection] = deque(maxlen=100)  # closed connections, for their transcripts
        self.internal_errors: list[str] = []  # broker bugs, raised by Broker.check()
        self.port = 0  # set by the host, used in ActiveMQ-style ids
        self.random = random.Random(seed)
        self._token = "".join(self.random.choice(string.digits) for _ in range(13))
        self._sequence = itertools.count(1)
        self._id_prefixes: dict[int, str] = {}
        self._connection_ids = itertools.count(1)
        self._subscription_serials = itertools.count(1)
        self._routes: dict[str, tuple[Kind, str] | None] = {}  # resolve() of names that are not temporary
        self.routes = Routes(self)  # issue 15: exchanges, composite destinations, virtual topics, temporary names
        # called with a connection whose output became non-empty; the host wakes its writer
        self.on_output: Callable[[Connection], None] = _ignore

    # -- connections

    def new_connection_id(self) -> int:
        return next(self._connection_ids)

    def admit(self, connection: Connection) -> None:
        """Count a new `Connection` in (its constructor calls this); over `max_connections` it is answered
        with ERROR and closed."""
        self.connections[connection.id] = connection
        if len(self.connections) > self.limits.max_connections:
            connection.fail(
                "limit", None, reason=f"too many connections (max_connections={self.limits.max_connections})"
            )

    def forget(self, connection: Connection) -> None:
        if self.connections.pop(connection.id, None) is not None:
            self.finished.append(connection)

    def session_id(self, connection: Consumer) -> str:
        style = self.profile.id_style
        if style == "activemq":
            return f"ID:stomptest-{self.port}-{self._token}-0:{connection.id}"
        if style == "rabbitmq":
            return "session-" + "".join(self.random.choice(_ALPHABET) for _ in range(22))
        if style == "artemis":
            return str(self.random.randrange(10**8, 10**9))
        return f"session-{connection.id}"

    # -- destinations

    def resolve(self, name: str, connection: Consumer | None = None) -> tuple[Kind, str] | None:
        """How `name` is routed and its canonical name, or None when the profile refuses it.

        `connection` is who names it: temporary destinations may be private to a connection.
        The answer for other names depends only on the profile, so it is kept (every SEND asks).
        """
        routes = self._routes
        if name in routes:
            return routes[name]
        given = name
        for prefix, replacement in self.profile.destination_aliases:
            if name.startswith(prefix):
                name = replacement + name[len(prefix) :]
                break
        temporary = self.profile.temporary_destinations
        if temporary == "unprefixed" and name.startswith(("/temp-queue/", "/temp-topic/")):
            resolved = self._route(name, prefixed=False)  # Artemis: a name without its acceptor's prefixes
            if len(routes) < _MAX_ROUTES:
                routes[given] = resolved
            return resolved
        if temporary != "shared" and name.startswith(("/temp-queue/", "/temp-topic/")):
            if temporary == "reply-queue" or connection is None:
                return None  # RabbitMQ: only in reply-to
            kind: Kind = "queue" if name.startswith("/temp-queue/") else "topic"
            return kind, self.routes.temporary_name(connection, kind, name)  # ActiveMQ: SESSION:N
        resolved = self._route(name)
        if len(routes) < _MAX_ROUTES:
            routes[given] = resolved
        return resolved

    def forget_routes(self) -> None:
        """Work out every name again: the exchanges a test declared changed what names mean."""
        self._routes.clear()

    def _route(self, name: str, *, prefixed: bool = True) -> tuple[Kind, str] | None:
        names = self.profile.destination_names  # issue 18: how the profile's broker reads and names them
        if names == "rabbitmq":  # a bare name is a queue; a queue's or topic's name has no '/'
            if name and not name.startswith("/"):
                return "queue", "/queue/" + name
            if name.startswith(("/queue/", "/topic/")) and "/" in name[7:]:
                return None
            if name.startswith("/exchange/") and self.routes.exchanges is not None:
                return self.routes.resolve_exchange(name)  # issue 15: routing.py
        for prefix, kind in _PREFIXES if prefixed else ():
            if name.startswith(prefix) and len(name) > len(prefix):
                return kind, name
        unknown = self.profile.unknown_destinations
        if unknown != "error" and name:
            if names == "activemq":  # a queue named by the whole string, /queue/ and /topic/ refused
                return None if name in ("/queue/", "/topic/") else (unknown, "/queue/" + name)
            return unknown, name
        return None

    def destination(self, kind: Kind, name: str, owner: int | None = None) -> Destination:
        found = self.destinations.get(name)
        if found is None:
            found = Queue(name, owner) if kind == "queue" else Topic(name, owner)
            self.destinations[name] = found
            self.routes.created(found)
        return found

    def drop_temporary(self, connection: Consumer) -> None:
        """Temporary destinations die with the connection that made them."""
        for name in [n for n, d in self.destinations.items() if d.owner == connection.id]:
            del self.destinations[name]
        self.routes.forget(connection)

    def lookup(self, name: str) -> Destination:
        """The destination for a name given by a test; refused names get a clear error."""
        resolved = self.resolve(name)
        if resolved is None:
            from stomptest.protocol.errors import ConfigurationError

            raise ConfigurationError(
                f"the {self.profile.name} profile cannot route {name!r}: use /queue/NAME or /topic/NAME"
            )
        return self.destination(*resolved)

    # -- messages

    def new_message(
        self,
        destination: Destination,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        now: float,
        sender: int = 0,
        had_content_length: bool = False,
    ) -> Message:
        sequence = next(self._sequence)
        prefix = self._id_prefixes.get(sender)
        if prefix is None:
            style = self.profile.id_style
            if style == "activemq":
                prefix = f"ID:stomptest-{self.port}-{self._token}-0:{sender}:1:1:"
            elif style == "artemis":
                prefix = ""
            else:
                prefix = "message-"
            if len(self._id_prefixes) < 10_000:
                self._id_prefixes[sender] = prefix
        expires = 0
        priority = 4
        persistent = None
        for name, value in headers:
            if name == "expires":
                expires = _int(value, 0)
            elif name == "priority":
                priority = _int(value, 4)
            elif name == "persistent":
                persistent = value
        return Message(
            sequence,
            destination.name,
            headers,
            body,
            prefix,
            int(now * 1000),
            expires,
            priority,
            persistent,
            had_content_length,
        )

    def room_for(self, destination: Destination, count: int = 1) -> bool:
        return destination.kind == "topic" or len(destination.messages) + count <= self.limits.max_queued

    def publish(self, destination: Destination, message: Message, now: float) -> None:
        """Route a message: keep it on a queue, or copy it to each topic subscriber."""
        router = destination.router  # issue 15: an exchange, a composite destination, a virtual topic
        if router is not None and router(message, now):
            return
        if destination.kind == "queue":
            messages = destination.messages
            subscriptions = destination.subscriptions
            if not messages and len(subscriptions) == 1:  # the usual case: what dispatch() would do, in short
                chosen = subscriptions[0]
                if not chosen.has_room(self.limits.max_unacknowledged):
                    messages.append(message)
                    return
                if not (message.expires and message.expires < now * 1000):
                    chosen.connection.deliver(chosen, message)
                return
            messages.append(message)
            self.dispatch(destination, now)
            return
        max_pending = self.limits.max_pending
        subscriptions = list(destination.subscriptions)
        # Each subscriber gets a copy of its own, made before any is delivered: one shared object would
        # count every subscriber's delivery as a redelivery of the one before.
        copies = [message, *(message.copy() for _ in subscriptions[1:])] if subscriptions else []
        for subscription, copy in zip(subscriptions, copies, strict=True):
            pending = subscription.pending
            assert pending is not None
            pending.append(copy)
            if len(pending) > max_pending:
                subscription.connection.fail(
                    "limit", None, reason=f"slow consumer: more than max_pending={max_pending} messages waiting"
                )
            else:
                self.dispatch_subscription(subscription, now)

    def dispatch(self, destination: Destination, now: float) -> None:
        """Deliver what can be delivered on `destination` now."""
        if destination.kind == "topic":
            for subscription in list(destination.subscriptions):
                self.dispatch_subscription(subscription, now)
            return
        messages = destination.messages
        subscriptions = destination.subscriptions
        if not messages or not subscriptions:
            return
        limit = self.limits.max_unacknowledged
        now_ms = now * 1000
        while messages and subscriptions:
            count = len(subscriptions)
            chosen = None
            if count == 1:  # the usual case, without the rotation
                candidate = subscriptions[0]
                if candidate.has_room(limit):
                    chosen = candidate
            else:  # the first in the rotation with room is served and goes to the back (see the module docstring)
                for index, candidate in enumerate(subscriptions):
                    if candidate.has_room(limit):
                        chosen = candidate
                        if index < count - 1:
                            del subscriptions[index]
                            subscriptions.append(candidate)
                        break
            if chosen is None:
                return
            message = messages.popleft()
            if message.expires and message.expires < now_ms:
                continue  # expired messages are dropped (none of the profiles dead-letters non-persistent ones)
            chosen.connection.deliver(chosen, message)

    def dispatch_subscription(self, subscription: Subscription, now: float) -> None:
        if subscription.pending is None:
            self.dispatch(subscription.destination, now)
            return
        pending = subscription.pending
        limit = self.limits.max_unacknowledged
        now_ms = now * 1000
        while pending and subscription.has_room(limit) and not subscription.connection.closed:
            message = pending.popleft()
            if message.expires and message.expires < now_ms:
                continue
            subscription.connection.deliver(subscription, message)

    def requeue(self, subscription: Subscription, messages: list[Message], now: float) -> None:
        """Give unacknowledged messages back, to be delivered again (topics: only to a live subscriber)."""
        if not messages:
            return
        max_deliveries = self.profile.max_deliveries
        if max_deliveries is not None:
            kept = []
            for message in messages:
                if message.deliveries >= max_deliveries:
                    self.dead_letter(message, now)
                else:
                    kept.append(message)
            messages = kept
        destination = subscription.destination
        if destination.kind == "topic":
            if subscription in destination.subscriptions and subscription.pending is not None:
                subscription.pending.extendleft(reversed(messages))
            return
        queued = destination.messages
        messages.sort(key=_by_sequence)  # a redelivered message may have been handed out after later ones
        if not queued or messages[-1].sequence < queued[0].sequence:
            queued.extendleft(reversed(messages))
        else:
            merged = sorted(itertools.chain(messages, queued), key=_by_sequence)
            queued.clear()
            queued.extend(merged)

    def dead_letter(self, message: Message, now: float) -> None:
        """Move a message to the profile's dead-letter queue, noting where it came from (or drop it, per profile)."""
        if message.persistent != "true" and not self.profile.dead_letter_non_persistent:
            return  # ActiveMQ: a non-persistent message is not worth a dead-letter queue
        target = self.destination("queue", self.profile.dead_letter_queue)
        if target.name == message.destination:
            return  # a dead letter that dies again is dropped, as brokers do by default
        headers = tuple((n, v) for n, v in message.headers if n not in _ORIGIN_HEADERS)
        copy = self.new_message(target, (*headers, *self._origin(message)), message.body, now)
        copy.message_id_given = message.message_id
        copy.had_content_length = message.had_content_length
        target.messages.append(copy)
        self.dispatch(target, now)

    def _origin(self, message: Message) -> tuple[tuple[str, str], ...]:
        """The headers that say where a dead letter came from, as the profile's broker writes them."""
        if self.profile.dead_letter_headers == "artemis":
            name = message.destination
            address = name.split("/", 2)[2] if name.startswith(("/queue/", "/topic/")) else name
            found = self.destinations.get(name)
            routing_type = "0" if found is not None and found.kind == "topic" else "1"  # MULTICAST 0, ANYCAST 1
            return (
                ("_AMQ_ORIG_QUEUE", address),
                ("_AMQ_ORIG_ROUTING_TYPE", routing_type),
                ("_AMQ_ORIG_ADDRESS", address),
                ("_AMQ_ORIG_MESSAGE_ID", message.message_id),
            )
        return (("original-destination", message.destination),)

    def subscribe(self, subscription: Subscription) -> None:
        subscription.destination.subscriptions.append(subscription)

    def new_subscription_serial(self) -> int:
        return next(self._subscription_serials)

    def unsubscribe(self, subscription: Subscription, now: float) -> None:
        """Remove a subscription; its unacknowledged messages go back to be delivered again."""
        destination = subscription.destination
        if subscription in destination.subscriptions:
            destination.subscriptions.remove(subscription)
        returned = [delivery.message for delivery in subscription.unacked.values()]
        subscription.unacked.clear()
        subscription.unacked_by_message_id.clear()
        subscription.unacked_bytes = 0
        if destination.kind == "queue":  # topic messages die with their (non-durable) subscription
            self.requeue(subscription, returned, now)
            self.dispatch(destination, now)
        if not destination.subscriptions and destination.arguments.get("auto-delete"):  # issue 15: RabbitMQ
            self.destinations.pop(destination.name, None)

    # -- test-side operations

    def seed(
        self,
        name: str,
        body: bytes,
        headers: Iterable[tuple[str, str]],
        now: float,
    ) -> Message:
        destination = self.lookup(name)
        if self.routes.active:  # issue 15: through an exchange, a composite list, to wildcard subscribers
            destination = self.routes.seed_target(name, destination)
        if not self.room_for(destination):
            from stomptest.protocol.errors import ConfigurationError

            raise ConfigurationError(f"{name} already holds max_queued={self.limits.max_queued} messages")
        message = self.new_message(destination, tuple(headers), body, now)
        self.publish(destination, message, now)
        return message

    def purge(self) -> None:
        """Forget every destination and queued message (connections are left alone)."""
        for destination in self.destinations.values():
            destination.messages.clear()
            for subscription in destination.subscriptions:
                if subscription.pending is not None:
                    subscription.pending.clear()
        self.destinations = {
            name: destination for name, destination in self.destinations.items() if destination.subscriptions
        }

    def record_internal_error(self, text: str) -> None:
        if len(self.internal_errors) < 100:
            self.internal_errors.append(text)


def _by_sequence(message: Message) -> int:
    return message.sequence


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default


def _ignore(connection: Connection) -> None:
    pass
