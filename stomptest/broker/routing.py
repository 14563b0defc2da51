"""Where a SEND goes and what a SUBSCRIBE reads beyond one plain queue or topic (issue 15, docs/routing.md).

The engine resolves a name to one destination; the brokers do more with some names, and
this module does it, per profile:

- RabbitMQ (`exchanges`, `queue_arguments`): `/exchange/E/KEY` and `/topic/KEY` reach every
  queue bound to the exchange with a matching key (exchanges.py); `/amq/queue/Q` and
  `/reply-queue/Q` name queues that must exist; SUBSCRIBE's queue arguments bound a queue
  (`x-max-length`, `x-max-length-bytes`: the oldest ready messages are dropped) or lock it to
  one connection (`exclusive`, `durable:false`), and a queue declared again otherwise is refused.
- ActiveMQ (`composite_destinations`, `virtual_topics`): comma-separated names and
  `VirtualTopic.` topics (composite.py); its temporary queues are named `SESSION:N`, numbered
  per connection in the order first named, and a SEND to one whose connection has gone is an ERROR.

A SEND to several places goes to a carrier: a destination the engine does not list, whose
`router` publishes a copy to each real one (the engine's `publish` asks a destination's
router first). A virtual topic's router copies to its consumer queues and lets the topic
deliver as usual; a bounded queue's router keeps it within its limits. Sans-IO like the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Literal

from stomptest.broker import composite, exchanges, expiry, spanning
from stomptest.broker.destinations import Destination, Kind, Message, Topic
from stomptest.broker.lifecycle_arguments import QueueSettings

if TYPE_CHECKING:
    from stomptest.broker.connection import Connection
    from stomptest.broker.destinations import Consumer, Subscription
    from stomptest.broker.engine import Engine
    from stomptest.protocol.frame import Frame

Refused = Literal[False]  # an ERROR was sent: the frame goes no further
_Router = Callable[[Message, float], bool]
_MAX_CARRIERS = 10_000
# the queue arguments RabbitMQ 3.10.8's STOMP plugin passes on that this module models; x-overflow is not passed
# on (measured: reject-publish and a bogus value are both ignored, the oldest messages are dropped)
_LENGTH_ARGUMENTS = ("x-max-length", "x-max-length-bytes")
_QUEUE_TYPES = ("classic", "quorum", "stream")


class Routes:
    """The routing state of one engine beyond its destinations: bindings, temporary names, consumer groups."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        profile = engine.profile
        self.exchanges = exchanges.Exchanges() if profile.exchanges else None
        # ActiveMQ's and Artemis' wildcard topic subscriptions, as bindings to one topic exchange
        wildcards = profile.topic_wildcards
        self.wildcards = exchanges.Exchanges(">" if wildcards == "activemq" else "#") if wildcards != "none" else None
        self.composite = profile.composite_destinations
        self.queue_wildcards = profile.queue_wildcards  # ActiveMQ: SUBSCRIBE /queue/P.> reads P.a, P.b, ...
        self.spans: list[Subscription] = []  # subscriptions to wildcard queues: a queue made later may join them
        self.queue_arguments = profile.queue_arguments
        self.remote_temporary = profile.temporary_destinations == "connection"
        self.active = self.exchanges is not None or self.queue_arguments or self.composite
        self.active = self.active or self.remote_temporary or self.wildcards is not None or self.queue_wildcards
        self.temporary: dict[int, dict[str, str]] = {}  # connection -> its /temp-X/NAME <-> /remote-temp-X/S:N
        self.consumers: dict[str, list[str]] = {}  # virtual topic -> its consumer queues, in order made
        self.bounded: set[str] = set()  # RabbitMQ: queues declared with length arguments (a SEND must match them)
        self._carriers: dict[str, Destination] = {}
        self.plain: set[str] = set()  # names a SEND to which goes to the one destination they name, always

    # -- temporary destinations (ActiveMQ)

    def temporary_name(self, connection: Consumer, kind: Kind, name: str) -> str:
        """ActiveMQ's name for a connection's `/temp-queue/NAME`: `/remote-temp-queue/SESSION:N` (measured).

        N counts the connection's temporary queues and topics together, from 1, in the order each
        was first named (in a SUBSCRIBE, a SEND or a reply-to).
        """
        names = self.temporary.setdefault(connection.id, {})
        found = names.get(name)
        if found is None:
            found = f"/remote-temp-{kind}/{connection.session}:{len(names) // 2 + 1}"
            names[name] = found
            names[found] = name
        return found

    def own_name(self, connection: Consumer, destination: str) -> str:
        """The name the connection that made a temporary destination gave it; others' names as they are."""
        names = self.temporary.get(connection.id)
        return names.get(destination, destination) if names else destination

    def forget(self, connection: Consumer) -> None:
        self.temporary.pop(connection.id, None)

    # -- destinations as they are made

    def created(self, destination: Destination) -> None:
        """Give a new destination its router, where its name asks for one (virtual topics); wildcard readers."""
        if self.spans and destination.kind == "queue":
            spanning.created(self.engine, destination)  # the wildcard queue subscriptions it matches read it
        if not self.engine.profile.virtual_topics:
            return
        name = destination.name
        if destination.kind == "topic" and composite.is_virtual_topic(name):
            destination.router = self._virtual_router(destination)
            return
        topic = composite.virtual_topic(name) if destination.kind == "queue" else None
        if topic is not None:
            groups = self.consumers.setdefault(topic, [])
            if name not in groups:
                groups.append(name)

    def _virtual_router(self, topic: Destination) -> _Router:
        engine = self.engine

        def copy_to_consumers(message: Message, now: float) -> bool:
            for name in self.consumers.get(topic.name, ()):
                queue = engine.destinations.get(name)
                if queue is not None:
                    copy = message.copy()
                    copy.destination = name
                    _add_header(copy, ("original-destination", topic.name))
                    engine.publish(queue, copy, now)
            return False  # and the topic's own subscribers get it as usual

        return copy_to_consumers

    # -- SEND

    def send_target(
        self, connection: Connection, frame: Frame, headers: Mapping[str, str], resolved: tuple[Kind, str]
    ) -> Destination | Refused | None:
        """Where a SEND goes when it is not simply the destination `resolved` names (None: it is).

        On every SEND of the profiles that route (the hot path): the cheap tests come first.
        """
        engine = self.engine
        name = headers["destination"]
        kind, canonical = resolved  # one argument, not two: a call with *args is not specialised (3.11)
        if self.composite and "," in name:
            return self._composite(connection, frame, name)
        if kind == "topic":
            carrier = self._carriers.get(canonical)
            if carrier is not None and (self.wildcards is None or canonical in engine.destinations):
                return carrier
            if self.exchanges is not None:
                parsed = exchanges.parse(canonical)
                if parsed is not None:
                    return self._carrier(canonical, parsed, self.exchanges)
            if self.wildcards is not None and canonical.startswith("/topic/"):
                # the topic itself (and its router: a virtual topic's), then every wildcard subscription it matches
                if canonical not in engine.destinations:
                    engine.destination("topic", canonical)
                    self.wildcards.bind("amq.topic", canonical[7:], canonical)
                return self._carrier(canonical, ("amq.topic", canonical[7:]), self.wildcards)
        if self.remote_temporary and canonical.startswith("/remote-temp-"):
            if not name.startswith("/temp-") and canonical not in engine.destinations:
                # measured: DestinationDoesNotExistException, and the connection stays open
                written = f"temp-{kind}://{canonical.split('/', 2)[2]}"
                connection.fail("not-found", frame, destination=written)
                return False
            return None
        if self.exchanges is not None and name.startswith(("/amq/queue/", "/reply-queue/")):
            # no declare: a queue that is not there drops the message
            return None if canonical in engine.destinations else _dropping(canonical)
        if not (self.queue_arguments and kind == "queue"):
            if len(self.plain) < _MAX_CARRIERS:
                self.plain.add(name)  # nothing about it depends on the broker's state or the frame: asked no more
            return None
        if canonical in engine.declared.get(connection.id, ()):
            # measured: a connection declares a queue once and checks no arguments again; gone since (auto-delete,
            # x-expires), it is not made again
            return _dropping(canonical) if canonical not in engine.destinations and _declares(name) else None
        if canonical in self.bounded or "x-max-length" in headers or "x-max-length-bytes" in headers:
            if not _declares(name):
                return None
            arguments = _arguments(connection, frame, canonical)
            if arguments is False:
                return False
            found = engine.destinations.get(canonical)
            if found is None and arguments:  # measured: a SEND declares the queue with its arguments too
                found = engine.destination("queue", canonical)
                found.arguments = arguments
                found.router = self._bounded(found)
                self.bounded.add(canonical)
            elif found is not None and not _equivalent(connection, frame, found, arguments):
                return False
        return None

    def _carrier(self, name: str, route: tuple[str, str], bindings: exchanges.Exchanges) -> Destination:
        """A destination no one reads, whose router publishes to what is bound to `route`."""
        carrier = self._carriers.get(name)
        if carrier is not None:
            return carrier
        carrier = Topic(name)
        engine = self.engine

        generation = -1  # the bindings' generation when `names` was worked out
        names: tuple[str, ...] = ()

        def fan_out(message: Message, now: float) -> bool:
            nonlocal generation, names
            if generation != bindings.generation:
                generation, names = bindings.generation, bindings.route(*route)
            first = True
            for target_name in names:
                target = engine.destinations.get(target_name)
                if target is None:
                    continue
                engine.publish(target, message if first else message.copy(), now)
                first = False
            return True

        carrier.router = fan_out
        if len(self._carriers) < _MAX_CARRIERS:
            self._carriers[name] = carrier
        return carrier

    def _composite(self, connection: Connection, frame: Frame, name: str) -> Destination | Refused:
        """ActiveMQ: a carrier that copies to each part, each read by the rule for a whole name (measured)."""
        engine = self.engine
        resolved: list[tuple[Kind, str]] = []
        written = composite.parts(name)
        if written is None:  # measured: an empty part before another closes the connection without a frame
            connection.close(f"destination {name} has an empty part (closed without ERROR)")
            return False
        for part in written:
            found = engine.resolve(part, connection)
            if found is None:  # /queue/ or /topic/ alone: closed without a frame, as the whole name would be
                connection.close(f"destination {part} in {name} has no name (closed without ERROR)")
                return False
            resolved.append(found)
        return self._composite_carrier(name, resolved)

    def _composite_carrier(self, name: str, parts: list[tuple[Kind, str]]) -> Destination:
        engine = self.engine
        resolved = list(dict.fromkeys(parts))
        original = composite.original_destination([(k, n) for k, n in resolved])
        carrier = Topic(name)

        def copy_to_parts(message: Message, now: float) -> bool:
            for part_kind, part_name in resolved:
                target = engine.destinations.get(part_name) or engine.destination(part_kind, part_name)
                if part_kind == "topic" and self.wildcards is not None and part_name.startswith("/topic/"):
                    self.wildcards.bind("amq.topic", part_name[7:], part_name)  # and its wildcard subscribers
                    target = self._carrier(part_name, ("amq.topic", part_name[7:]), self.wildcards)
                copy = message.copy()
                copy.destination = part_name
                _add_header(copy, ("original-destination", original))
                engine.publish(target, copy, now)
            return True

        carrier.router = copy_to_parts
        return carrier

    def seed_target(self, name: str, resolved: Destination) -> Destination:
        """Where `Broker.seed` puts a message: where a client's SEND to `name` would go (no ERRORs: a name the
        engine resolved is taken, and what a SEND would have refused is seeded to the one destination)."""
        engine = self.engine
        canonical = resolved.name
        if engine.profile.composite_destinations and "," in name:
            parts = [engine.resolve(part) for part in composite.parts(name) or ()]
            if parts and all(part is not None for part in parts):
                return self._composite_carrier(name, [part for part in parts if part is not None])
            return resolved
        if self.exchanges is not None and resolved.kind == "topic":
            parsed = exchanges.parse(canonical)
            if parsed is not None:
                return self._carrier(canonical, parsed, self.exchanges)
        if self.wildcards is not None and resolved.kind == "topic" and canonical.startswith("/topic/"):
            self.wildcards.bind("amq.topic", canonical[7:], canonical)
            return self._carrier(canonical, ("amq.topic", canonical[7:]), self.wildcards)
        return resolved

    # -- SUBSCRIBE

    def subscribe_target(
        self, connection: Connection, frame: Frame, name: str, kind: Kind, canonical: str
    ) -> Destination | Refused | None:
        """The destination a SUBSCRIBE to `name` reads, where this module decides it (None: the engine's own)."""
        engine = self.engine
        profile = engine.profile
        wildcard = self.queue_wildcards and kind == "queue" and spanning.is_wildcard(canonical)
        if wildcard or (self.composite and "," in name):
            return spanning.span(engine, connection, frame, name, kind, canonical)  # reads several destinations
        if self.wildcards is not None and kind == "topic" and canonical.startswith("/topic/"):
            destination = engine.destination("topic", canonical)
            self.wildcards.bind("amq.topic", canonical[7:], canonical)
            return destination
        if self.exchanges is None and not profile.queue_arguments:
            return None
        host = connection.host or "/"
        if self.exchanges is not None and name.startswith(("/amq/queue/", "/reply-queue/")):
            found = engine.destinations.get(canonical)
            if found is None:
                connection.fail("not-found", frame, reason=f"no queue '{canonical[7:]}' in vhost '{host}'")
                return False
            if found.owner not in (None, connection.id):
                connection.fail("resource-locked", frame, reason=_locked(canonical[7:], host))
                return False
            return found
        if self.exchanges is not None and kind == "topic":
            parsed = exchanges.parse(canonical)
            if parsed is not None:
                return self._bound(frame, canonical, parsed)
        if profile.queue_arguments and kind == "queue" and _declares(name):
            return self._declare(connection, frame, canonical, host)
        return None

    def bind_topic(self, canonical: str) -> None:
        """Bind the topic `canonical` names to its exchange, for a durable subscription's copies (durable.py)."""
        if self.exchanges is None:
            return
        parsed = exchanges.parse(canonical)
        if parsed is not None:
            self.engine.destination("topic", canonical)
            self.exchanges.bind(*parsed, canonical)

    def _bound(self, frame: Frame, canonical: str, binding: tuple[str, str]) -> Destination:
        """The queue a SUBSCRIBE to an exchange reads, bound to it (RabbitMQ, measured on 3.10.8).

        Each subscriber's own queue, which dies with the subscription (one topic-like destination per
        binding gives each its copy), or a queue named by `x-queue-name`, which any subscriber naming
        it shares and which also goes with its last subscriber. A durable subscription (`durable:true`
        with `auto-delete:false`) is durable.py's, which binds its topic through `bind_topic`.
        """
        assert self.exchanges is not None
        engine = self.engine
        named = frame.headers.get("x-queue-name")
        if named is None:
            destination = engine.destination("topic", canonical)
            self.exchanges.bind(*binding, canonical)
            return destination
        name = "/queue/" + named
        destination = engine.destination("queue", name)
        destination.arguments["auto-delete"] = 1
        self.exchanges.bind(*binding, name)
        return destination

    def _declare(self, connection: Connection, frame: Frame, canonical: str, host: str) -> Destination | Refused:
        """RabbitMQ's queue.declare from a SUBSCRIBE's headers (measured on 3.10.8, issue 15)."""
        engine = self.engine
        headers = frame.headers
        queue = canonical[7:]
        if canonical not in engine.destinations and canonical in engine.declared.get(connection.id, ()):
            # measured: this connection declared it once and does not again; gone since (auto-delete, x-expires)
            connection.fail("not-found", frame, reason=f"no queue '{queue}' in vhost '{host}'")
            return False
        arguments = _arguments(connection, frame, canonical)
        if arguments is False:
            return False
        queue_type = headers.get("x-queue-type")
        if queue_type is not None and queue_type not in _QUEUE_TYPES:
            detail = f"\"unsupported queue type '{queue_type}'\""
            reason = f"invalid arg 'x-queue-type' for queue '{queue}' in vhost '{host}': {detail}"
            connection.fail("precondition-failed", frame, reason=reason)
            return False
        private = headers.get("exclusive") == "true" or headers.get("durable") == "false"
        if queue_type in ("quorum", "stream") and private:
            connection.fail(
                "precondition-failed",
                frame,
                reason=f"invalid property 'auto-delete' for queue '{queue}' in vhost '{host}'",
            )
            return False
        found = engine.destinations.get(canonical)
        if found is not None:
            if found.owner not in (None, connection.id) or (private and found.owner is None):
                connection.fail("resource-locked", frame, reason=_locked(queue, host))
                return False
            if not _equivalent(connection, frame, found, arguments):
                return False
            return found
        destination = engine.destination("queue", canonical, owner=connection.id if private else None)
        if arguments:
            destination.arguments = arguments
            destination.router = self._bounded(destination)
            self.bounded.add(canonical)
        if headers.get("auto-delete") == "true":  # measured: gone once its last subscriber leaves
            destination.arguments["auto-delete"] = 1
        return destination

    def _bounded(self, queue: Destination) -> _Router:
        """A queue with x-max-length or x-max-length-bytes: over either, its oldest ready messages are dropped."""
        engine = self.engine
        arguments = queue.arguments

        def keep_within(message: Message, now: float) -> bool:
            messages = queue.messages
            if queue.lifecycle is not None:  # and x-message-ttl, as engine.publish applies it
                expiry.with_queue_ttl(message, queue, int(engine.clock(now) * 1000))
            messages.append(message)
            if engine.journal is not None:
                engine.keep(message, queue)  # and what is dropped below leaves the store (store.py)
            count = arguments.get("x-max-length")
            if count is not None:
                while len(messages) > count:
                    engine.release(messages.popleft())
            size = arguments.get("x-max-length-bytes")
            if size is not None:
                total = sum(len(m.body) for m in messages)
                while messages and total > size:
                    dropped = messages.popleft()
                    engine.release(dropped)
                    total -= len(dropped.body)
            engine.dispatch(queue, now)
            return True

        return keep_within

    def redeclare(self, queue: Destination, kept: Mapping[str, Mapping[str, str | int]], now: float) -> None:
        """A queue loaded from a data folder (store.py) declared again with the arguments it was declared with."""
        length = {name: value for name, value in kept.get("arguments", {}).items() if isinstance(value, int)}
        if length:
            queue.arguments = length
            if any(name in length for name in _LENGTH_ARGUMENTS):
                queue.router = self._bounded(queue)
                self.bounded.add(queue.name)
        lifecycle = kept.get("lifecycle")
        if lifecycle:
            queue.lifecycle = QueueSettings(dict(lifecycle), self.engine.clock(now))

    # -- the test side

    def declare_exchange(self, name: str, type: str) -> None:
        if self.exchanges is None:
            from stomptest.protocol.errors import ConfigurationError

            raise ConfigurationError(
                f"the {self.engine.profile.name} profile has no exchanges (use the rabbitmq profile)"
            )
        self.exchanges.declare(name, type)
        self.engine.forget_routes()

    def delete_exchange(self, name: str) -> None:
        if self.exchanges is None:
            from stomptest.protocol.errors import ConfigurationError

            raise ConfigurationError(
                f"the {self.engine.profile.name} profile has no exchanges (use the rabbitmq profile)"
            )
        self.exchanges.delete(name)
        self.engine.forget_routes()

    def resolve_exchange(self, name: str) -> tuple[Kind, str] | None:
        """`/exchange/E[/KEY]` of a known exchange as the topic-like name RabbitMQ writes on its MESSAGEs."""
        assert self.exchanges is not None
        parsed = exchanges.parse(name)
        if parsed is None or parsed[0] not in self.exchanges.types:
            return None
        return "topic", exchanges.display(*parsed)


def _add_header(message: Message, pair: tuple[str, str]) -> None:
    """Add a header to one copy of a message (ActiveMQ's `original-destination`).

    Where messages also keep `out_headers`, the SEND's headers as their MESSAGE repeats them
    (N16, `jms_headers_from_send`), the header goes there too.
    """
    message.headers = (*message.headers, pair)
    repeated = getattr(message, "out_headers", None)
    if repeated is not None:
        setattr(message, "out_headers", (*repeated, pair))  # noqa: B010  (not an attribute on every version)


def _dropping(name: str) -> Destination:
    """A destination no one reads whose messages go nowhere (RabbitMQ: a SEND to a queue that is not there)."""
    carrier = Topic(name)
    carrier.router = _drop
    return carrier


def _drop(message: Message, now: float) -> bool:
    return True


def _declares(name: str) -> bool:
    """Whether a SEND or SUBSCRIBE to `name` declares its queue (RabbitMQ: /queue/Q and a bare Q do)."""
    return not name.startswith(("/amq/queue/", "/reply-queue/", "/temp-queue/"))


def _arguments(connection: Connection, frame: Frame, canonical: str) -> dict[str, int] | Refused:
    """The length arguments of a frame; a bad one is answered as RabbitMQ answers it (measured)."""
    found: dict[str, int] = {}
    for argument in _LENGTH_ARGUMENTS:
        text = frame.headers.get(argument)
        if text is None:
            continue
        try:
            value = int(text)
        except ValueError:
            connection.fail("invalid-header", frame, reason=f"{argument}:{text} is not an integer", header=argument)
            return False
        if value < 0:
            host = connection.host or "/"
            reason = (
                f"invalid arg '{argument}' for queue '{canonical[7:]}' in vhost '{host}': {{value_negative,{value}}}"
            )
            connection.fail("precondition-failed", frame, reason=reason)
            return False
        found[argument] = value
    return found


def _equivalent(connection: Connection, frame: Frame, queue: Destination, arguments: dict[str, int]) -> bool:
    """Whether a queue declared again with `arguments` matches what it has; if not, RabbitMQ's ERROR (measured)."""
    current = queue.arguments
    for argument in _LENGTH_ARGUMENTS:
        received, had = arguments.get(argument), current.get(argument)
        if received == had:
            continue
        if received is None:
            detail = f"received none but current is the value '{had}' of type 'long'"
        elif had is None:
            detail = f"received the value '{received}' of type 'long' but current is none"
        else:
            detail = f"received '{received}' but current is '{had}'"
        host = connection.host or "/"
        reason = f"inequivalent arg '{argument}' for queue '{queue.name[7:]}' in vhost '{host}': {detail}"
        connection.fail("precondition-failed", frame, reason=reason)
        return False
    return True


def _locked(queue: str, host: str) -> str:
    return (
        f"cannot obtain exclusive access to locked queue '{queue}' in vhost '{host}'. It could be originally "
        "declared on another connection or the exclusive property value does not match that of the original "
        "declaration."
    )
