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
from typing import TYPE_CHECKING, Literal

from stomptest.broker import expiry, groups, priority, redelivery, spanning
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
from stomptest.broker.durable import DurableStore
from stomptest.broker.limits import Limits
from stomptest.broker.profiles import Profile
from stomptest.broker.routing import Routes
from stomptest.broker.selecting import dispatch_selecting, offer
from stomptest.broker.sent_properties import sent_properties

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
    {
        "original-destination",
        "originalExpiration",
        "_AMQ_ORIG_QUEUE",
        "_AMQ_ORIG_ROUTING_TYPE",
        "_AMQ_ORIG_ADDRESS",
        "_AMQ_ORIG_MESSAGE_ID",
    }
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
        self.durable = DurableStore()  # issue 14: durable subscriptions (durable.py)
        self.sticky = groups.Sticky(profile)  # issue 14: exclusive consumers and message groups (groups.py)
        self.routes = Routes(self)  # issue 15: exchanges, composite destinations, virtual topics, temporary names
        # called with a connection whose output became non-empty; the host wakes its writer
        self.on_output: Callable[[Connection], None] = _ignore
        # a message's life (issue 15, expiry.py): the messages' clock is `now` + clock_offset (Broker.advance)
        self.clock_offset = 0.0
        self.expired: deque[Message] = deque(maxlen=10_000)  # for the test-side API, oldest first
        self.declared: dict[int, set[str]] = {}  # RabbitMQ: the queues each connection declared
        # ("put" or "drop", message) for a Store, which the host writes before any output (store.py); None: no store
        self.journal: list[tuple[Literal["put", "drop"], Message]] | None = None

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
        self.durable.client_ids.pop(connection.id, None)
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
        self.declared.pop(connection.id, None)
        for name in [n for n, d in self.destinations.items() if d.owner == connection.id]:
            self.delete_queue(self.destinations[name])  # with its messages, which leave a store too
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
        arrival = int((now + self.clock_offset) * 1000)
        expires, priority, persistent, timestamp, repeated = sent_properties(self.profile, headers, arrival)
        message = Message(
            sequence,
            destination.name,
            headers,
            body,
            prefix,
            timestamp,
            expires,
            priority,
            persistent,
            had_content_length,
        )
        if not repeated:  # N16: the broker's JMS header carries the SEND's value, written once
            taken = self.profile.jms_headers_from_send
            message.out_headers = tuple(pair for pair in headers if pair[0] not in taken)
        return message

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
            if destination.lifecycle is not None:
                expiry.with_queue_ttl(message, destination, int((now + self.clock_offset) * 1000))
            sticky = self.sticky
            if sticky.groups != "none":
                sticky.published(destination, message)
            # the usual case: what dispatch() would do, in short
            if not messages and len(subscriptions) == 1 and destination.name not in sticky.names:
                chosen = subscriptions[0]
                selector = chosen.selector
                if not chosen.has_room(self.limits.max_unacknowledged) or not (
                    selector is None or selector.matches(message)
                ):
                    self.enqueue(destination, message)
                    return
                if message.expires and message.expires < (now + self.clock_offset) * 1000:
                    expiry.expire(self, message, now)
                else:
                    if self.journal is not None:
                        self.keep(message, destination)
                    chosen.connection.deliver(chosen, message)
                return
            if destination.selecting and messages:  # see selecting.py: the backlog waits for a change of room
                offer(self, destination, message, now)
                return
            self.enqueue(destination, message)
            self.dispatch(destination, now)
            return
        max_pending = self.limits.max_pending
        subscriptions = list(destination.subscriptions)
        if destination.selecting:  # a topic subscriber gets only what its selector picks
            subscriptions = [s for s in subscriptions if s.selector is None or s.selector.matches(message)]
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
        bound = self.durable.bound.get(destination.name)
        if bound:  # durable subscriptions (durable.py): a copy waits in each one's queue
            selectors = self.durable.selectors
            for queue in list(bound):
                selector = selectors.get(queue.name) if selectors else None
                if selector is not None and not selector.matches(message):
                    continue  # a durable subscription keeps only what its selector picks
                self.enqueue(queue, message.copy())  # in its place: arrival or priority order
                self.dispatch(queue, now)

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
        if self.sticky.names and destination.name in self.sticky.names:
            groups.dispatch(self, destination, now)
            return
        if destination.selecting:
            dispatch_selecting(self, destination, now)
            return
        limit = self.limits.max_unacknowledged
        now_ms = (now + self.clock_offset) * 1000
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
                expiry.expire(self, message, now)  # never delivered; where it goes is the profile's (expiry.py)
                continue
            chosen.connection.deliver(chosen, message)

    def dispatch_subscription(self, subscription: Subscription, now: float) -> None:
        if subscription.pending is None:
            parts = subscription.destination.parts  # issue 15: a subscription may read several queues (spanning.py)
            for part in parts if parts is not None else (subscription.destination,):
                self.dispatch(part, now)
            return
        pending = subscription.pending
        limit = self.limits.max_unacknowledged
        now_ms = (now + self.clock_offset) * 1000
        while pending and subscription.has_room(limit) and not subscription.connection.closed:
            message = pending.popleft()
            if message.expires and message.expires < now_ms:
                expiry.expire(self, message, now)
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
        if destination.parts is not None:  # issue 15 (spanning.py): each goes back to the queue it came from
            spanning.give_back(self, destination, messages)
            return
        # a redelivered message may have been handed out after later ones: each goes back to its place
        priority.merge(destination.messages, messages, priority.ranking(self.profile, destination))

    def dead_letter(self, message: Message, now: float) -> None:
        """Move a message to the profile's dead-letter queue, noting where it came from (or drop it, per profile)."""
        self.release(message)
        if message.persistent != "true" and not self.profile.dead_letter_non_persistent:
            return  # ActiveMQ: a non-persistent message is not worth a dead-letter queue
        target = self.destination("queue", self.profile.dead_letter_queue)
        if target.name == message.destination:
            return  # a dead letter that dies again is dropped, as brokers do by default
        headers = tuple((n, v) for n, v in message.headers if n not in _ORIGIN_HEADERS)
        origin = self.origin(message)
        cleared = self.profile.expiry_headers == "activemq" and message.expires
        if cleared:  # measured (issue 15): ActiveMQ's dead letter never expires, and says when it would have
            headers = tuple((n, v) for n, v in headers if n != "expires")
            origin = (*origin, ("originalExpiration", str(message.expires)))
        copy = self.new_message(target, (*headers, *origin), message.body, now)
        copy.expires = 0 if cleared else message.expires
        copy.message_id_given = message.message_id
        copy.had_content_length = message.had_content_length
        self.enqueue(target, copy)
        self.dispatch(target, now)

    def reject(self, message: Message, now: float) -> None:
        """A message NACKed for good (RabbitMQ's `requeue:false`): to its queue's dead-letter exchange, if any."""
        self.release(message)
        source = self.destinations.get(message.destination)
        if source is not None and source.lifecycle is not None:
            redelivery.dead_letter_by_exchange(self, message, source, "rejected", now)

    # -- a message's life (issue 15)

    def clock(self, now: float) -> float:
        """The messages' clock: the host's time moved on by `Broker.advance`."""
        return now + self.clock_offset

    def advance(self, seconds: float, now: float) -> None:
        """Move the messages' clock on, then expire what that made due (expiry.py)."""
        self.clock_offset += seconds
        expiry.sweep(self, now)

    def enqueue(self, destination: Destination, message: Message) -> None:
        """Keep a message on a queue, in its place: arrival or priority order (priority.py)."""
        if self.journal is not None:
            self.keep(message, destination)
        priority.enqueue(destination.messages, message, priority.ranking(self.profile, destination))

    def keep(self, message: Message, queue: Destination) -> None:
        """A persistent message is in the care of `queue` now: journal it for the store (store.py)."""
        journal = self.journal
        if journal is not None and message.persistent == "true":
            message.held_in = queue  # copies of one message (one sequence) are kept apart by their queue
            journal.append(("put", message))

    def release(self, message: Message) -> None:
        """A message has left the broker's care (acknowledged, expired, dead-lettered): the store forgets it."""
        journal = self.journal
        if journal is not None and message.persistent == "true":
            journal.append(("drop", message))

    def continue_sequence(self, after: int) -> None:
        """Number new messages after `after` (messages loaded from a store keep theirs)."""
        self._sequence = itertools.count(max(after + 1, next(self._sequence)))

    def restarted(self) -> None:
        """What a broker keeps over a restart: persistent messages, or every one (`restart_keeps_non_persistent`)."""
        if self.profile.restart_keeps_non_persistent:
            return
        for destination in self.destinations.values():
            kept = [m for m in destination.messages if m.persistent == "true"]
            if len(kept) != len(destination.messages):
                destination.messages.clear()
                destination.messages.extend(kept)

    def delete_queue(self, destination: Destination) -> None:
        """A queue gone with its messages (RabbitMQ's `x-expires`); who declared it does not again (routing.py)."""
        self.destinations.pop(destination.name, None)
        for message in destination.messages:
            self.release(message)

    def origin(self, message: Message) -> tuple[tuple[str, str], ...]:
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
        if subscription.selector is not None:
            subscription.destination.selecting += 1
        if subscription.destination.parts is not None:  # issue 15: it reads several destinations (spanning.py)
            spanning.join(self, subscription)
        self.sticky.subscribed(subscription)

    def new_subscription_serial(self) -> int:
        return next(self._subscription_serials)

    def unsubscribe(self, subscription: Subscription, now: float) -> None:
        """Remove a subscription; its unacknowledged messages go back to be delivered again."""
        destination = subscription.destination
        if destination.parts is not None:  # issue 15: it reads several destinations (spanning.py)
            spanning.leave(self, subscription, now)
            return
        if subscription in destination.subscriptions:
            destination.subscriptions.remove(subscription)
            if subscription.selector is not None:
                destination.selecting -= 1
        returned = [delivery.message for delivery in subscription.unacked.values()]
        subscription.unacked.clear()
        subscription.unacked_by_message_id.clear()
        subscription.unacked_bytes = 0
        if destination.lifecycle is not None and not destination.subscriptions:
            destination.lifecycle.idle_since = self.clock(now)  # RabbitMQ's x-expires counts from here
        if destination.kind == "queue":  # topic messages die with their (non-durable) subscription
            self.requeue(subscription, returned, now)
            self.dispatch(destination, now)
        if not destination.subscriptions and destination.arguments.get("auto-delete"):  # issue 15: RabbitMQ
            self.delete_queue(destination)  # with its messages (and the store's copies of them)

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
            for message in destination.messages:
                self.release(message)
            destination.messages.clear()
            for subscription in destination.subscriptions:
                if subscription.pending is not None:
                    subscription.pending.clear()
        self.destinations = {
            name: destination for name, destination in self.destinations.items() if destination.subscriptions
        }
        self.durable.clear()
        self.declared.clear()  # the connections declare their queues again, as on a fresh broker
        self.sticky.names &= set(self.destinations)  # an exclusive consumer still subscribed stays so

    def record_internal_error(self, text: str) -> None:
        if len(self.internal_errors) < 100:
            self.internal_errors.append(text)


def _ignore(connection: Connection) -> None:
    pass
