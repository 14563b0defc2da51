"""Exclusive consumers and message groups: queues whose messages may not go to just any consumer.

Measured with raw frames (docs/subscriptions.md): on ActiveMQ a consumer subscribed with
`activemq.exclusive:true` gets every message of its queue, even when others subscribed
first, until it leaves; on ActiveMQ and Artemis the first message of a `JMSXGroupID` goes to
the next consumer in the rotation and the rest of that group follow it until it leaves
(ActiveMQ also ends the group at a `JMSXGroupSeq:-1`). The engine sends a queue here only
once it has seen such a subscription or message on it (`Sticky.names`), so every other queue
keeps the engine's plain rotation; without groups or exclusive consumers the choice made here
is that same rotation.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from stomptest.broker import expiry
from stomptest.broker.destinations import Destination, Message, Subscription
from stomptest.broker.profiles import Profile

if TYPE_CHECKING:
    from stomptest.broker.connection import Connection
    from stomptest.broker.engine import Engine
    from stomptest.protocol.frame import Frame


class Sticky:
    """Which queues need this module's dispatch, and which consumer holds each group."""

    def __init__(self, profile: Profile) -> None:
        self.groups = profile.message_groups
        self.exclusive = profile.exclusive_consumers == "activemq"
        self.names: set[str] = set()
        self.owners: dict[str, dict[str, Subscription]] = {}  # queue name -> group -> its consumer
        self.locked: dict[str, int] = {}  # RabbitMQ: exclusive queue name -> the connection that owns it

    def subscribed(self, subscription: Subscription) -> None:
        exclusive = subscription.headers.get("activemq.exclusive") == "true"
        if self.exclusive and exclusive and subscription.destination.kind == "queue":
            self.names.add(subscription.destination.name)

    def published(self, destination: Destination, message: Message) -> None:
        if self.groups != "none" and destination.name not in self.names:
            for name, _ in message.headers:
                if name == "JMSXGroupID":
                    self.names.add(destination.name)
                    return

    def clear(self) -> None:
        self.names.clear()
        self.owners.clear()
        self.locked.clear()


def _header(message: Message, wanted: str) -> str | None:
    for name, value in message.headers:
        if name == wanted:
            return value
    return None


def dispatch(engine: Engine, destination: Destination, now: float) -> None:
    """Deliver what can be delivered on a queue with groups or an exclusive consumer, in queue order.

    A message whose group's consumer (or the exclusive consumer) has no room waits; on ActiveMQ
    the ones after it may pass it to other consumers, on Artemis they wait behind it (measured).
    """
    sticky = engine.sticky
    messages = destination.messages
    subscriptions = destination.subscriptions
    limit = engine.limits.max_unacknowledged
    now_ms = (now + engine.clock_offset) * 1000  # the broker's clock (issue 15)
    owners = sticky.owners.setdefault(destination.name, {})
    for held, holder in list(owners.items()):
        if holder not in subscriptions:
            del owners[held]  # its consumer left: the group goes to whoever gets its next message
    exclusive = None
    if sticky.exclusive:
        exclusive = next((s for s in subscriptions if s.headers.get("activemq.exclusive") == "true"), None)
    waiting: deque[Message] = deque()
    while messages and subscriptions:
        message = messages.popleft()
        if message.expires and message.expires < now_ms:
            expiry.expire(engine, message, now)  # where an expired message goes is the profile's (expiry.py)
            continue
        group = _header(message, "JMSXGroupID") if sticky.groups != "none" else None
        owner = owners.get(group) if group is not None else None
        chosen: Subscription | None = None
        if exclusive is not None:
            chosen = exclusive if exclusive.has_room(limit) else None
        elif owner is not None:
            chosen = owner if owner.has_room(limit) else None
        else:
            for index, candidate in enumerate(subscriptions):  # the engine's rotation
                if candidate.has_room(limit):
                    chosen = candidate
                    del subscriptions[index]
                    subscriptions.append(candidate)
                    break
        if chosen is None:
            waiting.append(message)
            if (owner is not None and sticky.groups == "artemis") or not any(s.has_room(limit) for s in subscriptions):
                break  # Artemis (measured): the messages after a group's waiting one wait too
            continue
        if group is not None:
            if sticky.groups == "activemq" and _header(message, "JMSXGroupSeq") == "-1":
                owners.pop(group, None)  # ActiveMQ: the last message of the group closes it
            else:
                owners[group] = chosen
        chosen.connection.deliver(chosen, message)
    messages.extendleft(reversed(waiting))


def refuse_locked(connection: Connection, frame: Frame, name: str, canonical: str) -> bool:
    """RabbitMQ's exclusive queues: True once a SUBSCRIBE or SEND was refused with ERROR resource_locked.

    Measured (3.10.8): SUBSCRIBE with `exclusive:true` to a /queue/ that does not exist yet makes
    it the connection's own, gone when the connection closes; a SUBSCRIBE or SEND through
    /queue/ by any other connection, or an exclusive SUBSCRIBE to a queue that exists already, is
    answered ERROR resource_locked (SUBSCRIBE: then its RECEIPT) and a close; /amq/queue/ reaches it.
    """
    if connection.profile.exclusive_consumers != "rabbitmq" or not name.startswith("/queue/"):
        return False
    engine = connection.engine
    locked = engine.sticky.locked
    holder = locked.get(canonical)
    if holder is not None and (canonical not in engine.destinations or holder not in engine.connections):
        del locked[canonical]  # the queue died with its connection
        holder = None
    if holder is None:
        if frame.command != "SUBSCRIBE" or frame.headers.get("exclusive") != "true":
            return False
        if canonical not in engine.destinations:
            engine.destination("queue", canonical, owner=connection.id)  # dropped when the connection closes
            locked[canonical] = connection.id
            return False
    elif holder == connection.id:
        return False
    reason = (
        f"cannot obtain exclusive access to locked queue '{canonical[len('/queue/') :]}' in vhost "
        f"'{connection.host or '/'}'. It could be originally declared on another connection or the exclusive "
        "property value does not match that"
    )
    connection.fail("not-found", frame, header="exclusive", reason=reason)
    return True
