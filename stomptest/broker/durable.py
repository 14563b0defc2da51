"""Durable topic subscriptions, in the dialect of the profile's broker (`Profile.durable_subscriptions`).

A durable subscription is kept as a queue of its own bound to its topic (the way Artemis and
RabbitMQ keep one, and the way ActiveMQ behaves): the engine copies each message published to
the topic into every bound queue, so while no one is subscribed the messages wait there, and a
subscriber who comes back is an ordinary consumer of that queue (acknowledgements, windows,
redelivery and competing consumers come from the queue code unchanged). The queue is named
`/durable/<key>` (the key: `<client-id>.<name>` for ActiveMQ and Artemis, the x-queue-name or
the subscription id for RabbitMQ), so `Broker.messages("/durable/...")` shows what it holds and
`Snapshot.durable_subscriptions` lists them while their subscriber is away. What each broker
does, measured with raw frames, is in docs/subscriptions.md; every answer here follows it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from stomptest.broker.destinations import Destination, Queue, Subscription
from stomptest.broker.output import receipt
from stomptest.protocol.frame import Frame

if TYPE_CHECKING:
    from stomptest.broker.connection import Connection
    from stomptest.broker.engine import Engine
    from stomptest.broker.selectors import Selector

PREFIX = "/durable/"
# Artemis reads its own header and two aliases, in this order (VersionedStompFrameHandler.onSubscribe)
_ARTEMIS_NAMES = ("durable-subscription-name", "durable-subscriber-name", "activemq.subscriptionName")


class Durable:
    """One durable subscription: the topic it is bound to and the queue that holds its messages."""

    __slots__ = ("client_id", "key", "name", "queue", "topic")

    def __init__(self, key: str, topic: str, queue: Queue, client_id: str | None, name: str) -> None:
        self.key = key
        self.topic = topic
        self.queue = queue
        self.client_id = client_id
        self.name = name


class DurableStore:
    """The durable subscriptions of one engine, and the client ids its connections gave on CONNECT."""

    def __init__(self) -> None:
        self.by_key: dict[str, Durable] = {}
        self.bound: dict[str, list[Queue]] = {}  # topic name -> queues of its durable subscriptions
        self.client_ids: dict[int, str] = {}  # connection id -> client-id
        # queue name -> the selector of the subscription's latest SUBSCRIBE: only what it picks is kept while
        # away (measured on ActiveMQ 5.17.2 and Artemis 2.40.0: red, blue, red sent, red and red kept)
        self.selectors: dict[str, Selector] = {}

    def select(self, queue: Destination, selector: Selector | None) -> None:
        if selector is None:
            self.selectors.pop(queue.name, None)
        else:
            self.selectors[queue.name] = selector

    def find(self, queue: Destination) -> Durable | None:
        if not queue.name.startswith(PREFIX):
            return None
        return self.by_key.get(queue.name[len(PREFIX) :])

    def ensure(self, engine: Engine, key: str, topic: str, client_id: str | None, name: str) -> Durable:
        """The durable subscription `key`, made and bound to `topic` if new (or moved to it, as a new one)."""
        found = self.by_key.get(key)
        if found is not None and found.topic != topic:
            self.remove(engine, key)  # a durable subscription resubscribed to another topic starts anew
            found = None
        if found is None:
            queue = engine.destination("queue", PREFIX + key)
            assert isinstance(queue, Queue)
            found = Durable(key, topic, queue, client_id, name)
            self.by_key[key] = found
            self.bound.setdefault(topic, []).append(queue)
        return found

    def remove(self, engine: Engine, key: str) -> None:
        """Forget a durable subscription and what it holds."""
        found = self.by_key.pop(key, None)
        if found is None:
            return
        queues = self.bound.get(found.topic, [])
        if found.queue in queues:
            queues.remove(found.queue)
        if not queues:
            self.bound.pop(found.topic, None)
        found.queue.messages.clear()
        self.selectors.pop(found.queue.name, None)
        if not found.queue.subscriptions and engine.destinations.get(found.queue.name) is found.queue:
            del engine.destinations[found.queue.name]

    def clear(self) -> None:
        """Forget every durable subscription (`Broker.purge`, and so the plugin's isolation between tests)."""
        for found in self.by_key.values():
            found.queue.messages.clear()
        self.by_key.clear()
        self.bound.clear()
        self.selectors.clear()


def on_connect(connection: Connection, frame: Frame) -> bool:
    """CONNECT's `client-id`: remembered for durable subscriptions; False once refused with ERROR.

    Measured (ActiveMQ 5.17.2): a client-id in use by an open connection is refused with
    ERROR "Broker: <name> - Client: <id> already connected from tcp://<peer>" and a close, and
    CONNECTED's `session` is the client-id. Artemis and RabbitMQ accept the same id twice.
    """
    client_id = frame.headers.get("client-id")
    dialect = connection.profile.durable_subscriptions
    if client_id is None or dialect == "none":
        return True
    engine = connection.engine
    if dialect == "activemq":
        for other_id, other_client_id in engine.durable.client_ids.items():
            other = engine.connections.get(other_id)
            if other_client_id == client_id and other is not None and other is not connection and not other.closed:
                reason = f"Broker: localhost - Client: {client_id} already connected from tcp://{other.peer}"
                connection.fail("bad-connect", frame, reason=reason)
                return False
        connection.session = connection.session or client_id
    engine.durable.client_ids[connection.id] = client_id
    return True


def subscribe_target(connection: Connection, frame: Frame, kind: str, name: str) -> Queue | Literal[False] | None:
    """The queue a durable SUBSCRIBE consumes from; None when the SUBSCRIBE is not durable; False after an ERROR."""
    dialect = connection.profile.durable_subscriptions
    if dialect == "none":
        return None
    headers = frame.headers
    engine = connection.engine
    store = engine.durable
    client_id = store.client_ids.get(connection.id)
    if dialect == "rabbitmq":
        durable = headers.get("durable", headers.get("persistent"))
        if kind != "topic" or durable != "true" or headers.get("auto-delete") != "false":
            return None  # measured: durable:true alone, or auto-delete:true, keeps nothing while away
        key = headers.get("x-queue-name") or "stomp-subscription-" + headers.get("id", name)
        return store.ensure(engine, key, name, None, key).queue
    if dialect == "activemq":
        subscription_name = headers.get("activemq.subscriptionName")
        if subscription_name is None:
            return None
        if kind != "topic":
            reason = "Invalid Subscription: cannot durably subscribe to a Queue destination!"
            connection.fail("invalid-header", frame, reason=reason)
            return False
        if client_id is None:
            return None  # measured: RECEIPT; the real broker files it under a made-up client id no one can reuse
        key = f"{client_id}.{subscription_name}"
        found = store.by_key.get(key)
        if found is not None and found.queue.subscriptions:
            reason = f"Durable consumer is in use for client: {client_id} and subscriptionName: {subscription_name}"
            connection.fail("precondition-failed", frame, reason=reason)
            return False
        found = store.ensure(engine, key, name, client_id, subscription_name)
        # measured: on return, the persistent messages kept while away come first, then the others, each in order
        held = sorted(found.queue.messages, key=lambda message: message.persistent != "true")
        found.queue.messages.clear()
        found.queue.messages.extend(held)
        return found.queue
    subscription_name = next((headers[n] for n in _ARTEMIS_NAMES if n in headers), None)
    if subscription_name is None or kind != "topic":
        return None  # measured: a durable name on an anycast (queue) destination is a plain queue subscription
    if client_id is None:
        reason = f"AMQ339016 Error creating subscription {headers.get('id')}"
        connection.fail("precondition-failed", frame, reason=reason)
        return False
    key = f"{client_id}.{subscription_name}"
    return store.ensure(engine, key, name, client_id, subscription_name).queue  # shared by every consumer of it


def before_unsubscribe(
    connection: Connection, frame: Frame, detach: Callable[[Connection, Subscription], None]
) -> bool:
    """UNSUBSCRIBE naming a durable subscription (ActiveMQ, Artemis): removes it; True once answered.

    `detach` ends one subscription of this connection as a plain UNSUBSCRIBE does.
    """
    dialect = connection.profile.durable_subscriptions
    if dialect not in ("activemq", "artemis"):
        return False
    headers = frame.headers
    engine = connection.engine
    store = engine.durable
    client_id = store.client_ids.get(connection.id)
    names = ("activemq.subscriptionName",) if dialect == "activemq" else _ARTEMIS_NAMES
    subscription_name = next((headers[n] for n in names if n in headers), None)
    if subscription_name is None or client_id is None or "id" not in headers:
        return False
    key = f"{client_id}.{subscription_name}"
    found = store.by_key.get(key)
    if dialect == "activemq":  # measured: only an inactive one goes; the active one stays, as it was
        if found is None:
            reason = (
                f"No durable subscription exists for clientID: {client_id} and subscriptionName: {subscription_name}"
            )
            connection.fail("not-found", frame, reason=reason)
            return True
        if found.queue.subscriptions:
            connection.fail("precondition-failed", frame, reason="Durable consumer is in use")
            return True
    else:  # Artemis: this connection's consumer is closed first; another's still on it is an error
        own = connection.subscriptions.get(headers["id"])
        if own is not None:
            detach(connection, own)
        if found is not None and found.queue.subscriptions:
            connection.fail("precondition-failed", frame, reason=f"AMQ339017 Error unsubscribing {headers['id']}")
            return True
    store.remove(engine, key)
    receipt(connection, frame)
    return True


def after_unsubscribe(connection: Connection, frame: Frame, subscription: Subscription) -> None:
    """RabbitMQ: UNSUBSCRIBE with durable:true or persistent:true deletes the subscription's queue (measured)."""
    if connection.profile.durable_subscriptions != "rabbitmq":
        return
    headers = frame.headers
    if "true" not in (headers.get("durable"), headers.get("persistent")):
        return
    store = connection.engine.durable
    found = store.find(subscription.destination)
    if found is not None:
        store.remove(connection.engine, found.key)
