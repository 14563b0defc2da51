"""Plain, immutable snapshots of a broker's state for tests, and how to describe them.

Everything here is a frozen dataclass built inside the broker's hub (see `Broker`),
so a test can keep, compare and print a snapshot from any thread while the broker
carries on. Frames are the codec's immutable `Frame` objects.

(Named `snapshot`, not `inspect` as before, which hid the standard library's module from
code run inside this directory; `MessageSnapshot` was `MessageInfo`, a name the client's
protocol/commands.py also uses for what a MESSAGE frame says.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from stomptest.broker.connection import Connection
from stomptest.broker.engine import Destination, Engine, Message, Subscription
from stomptest.broker.output import PendingFrame
from stomptest.protocol.frame import Frame, Heartbeat


@dataclass(frozen=True)
class MessageSnapshot:
    """A message as the broker holds it: the user headers of its SEND, and how often it was delivered."""

    destination: str
    message_id: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    deliveries: int
    sequence: int

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def header(self, name: str, default: str | None = None) -> str | None:
        return next((value for key, value in self.headers if key == name), default)


@dataclass(frozen=True)
class DeliveryInfo:
    """A message delivered in a client ack mode and not acknowledged yet."""

    connection: int
    subscription: str
    destination: str
    message_id: str  # as written in the MESSAGE
    ack: str  # the id a 1.2 ACK must name
    message: MessageSnapshot


@dataclass(frozen=True)
class SubscriptionInfo:
    connection: int
    id: str
    destination: str
    ack: str
    window: int | None
    unacked: int
    pending: int  # topics: messages copied to this subscriber, not yet delivered
    headers: Mapping[str, str]


@dataclass(frozen=True)
class ConnectionInfo:
    id: int
    peer: str
    state: str  # new, connected, closing, closed
    version: str | None
    session: str | None
    login: str | None
    host: str | None
    heartbeat: tuple[int, int]  # as the client asked in CONNECT
    subscriptions: tuple[str, ...]
    transactions: tuple[str, ...]
    unacked: int
    frames_received: int
    frames_sent: int
    close_reason: str | None


@dataclass(frozen=True)
class DestinationInfo:
    name: str
    kind: Literal["queue", "topic"]
    messages: tuple[MessageSnapshot, ...]  # queued, in delivery order (queues only)
    subscriptions: tuple[SubscriptionInfo, ...]


@dataclass(frozen=True)
class DurableInfo:
    """A durable topic subscription (durable.py), whether or not anyone consumes it now."""

    key: str  # <client-id>.<name> (ActiveMQ, Artemis), the x-queue-name or stomp-subscription-<id> (RabbitMQ)
    client_id: str | None
    name: str
    topic: str
    queue: str  # the destination that holds its messages: Broker.messages(queue) lists them
    messages: tuple[MessageSnapshot, ...]  # kept for it, not delivered yet
    subscribers: tuple[SubscriptionInfo, ...]  # empty while its subscriber is away

    @property
    def active(self) -> bool:
        return bool(self.subscribers)


@dataclass(frozen=True)
class TranscriptEntry:
    """One frame (or heart-beat) on one connection; `direction` is "in" (from the client) or "out"."""

    connection: int
    time: float
    direction: Literal["in", "out"]
    frame: Frame | Heartbeat

    @property
    def command(self) -> str:
        return self.frame.command if isinstance(self.frame, Frame) else "HEARTBEAT"

    def __str__(self) -> str:
        arrow = "->" if self.direction == "in" else "<-"
        if isinstance(self.frame, Frame):
            headers = " ".join(f"{name}:{value}" for name, value in self.frame.raw_headers)
            body = f" body={self.frame.body[:40]!r}" if self.frame.body else ""
            return f"#{self.connection} {arrow} {self.frame.command} {headers}{body}"
        return f"#{self.connection} {arrow} heart-beat"


@dataclass(frozen=True)
class Snapshot:
    """The whole broker at one instant."""

    destinations: Mapping[str, DestinationInfo]
    connections: tuple[ConnectionInfo, ...]
    unacked: tuple[DeliveryInfo, ...]
    # messages that expired before delivery, oldest first (the latest 10,000; issue 15, docs/lifecycle.md)
    expired_messages: tuple[MessageSnapshot, ...] = ()
    durable_subscriptions: tuple[DurableInfo, ...] = ()

    def expired(self, destination: str | None = None) -> tuple[MessageSnapshot, ...]:
        """Messages that expired undelivered (on `destination`, or anywhere)."""
        return tuple(m for m in self.expired_messages if destination is None or m.destination == destination)

    @property
    def subscriptions(self) -> tuple[SubscriptionInfo, ...]:
        return tuple(s for d in self.destinations.values() for s in d.subscriptions)

    def messages(self, destination: str) -> tuple[MessageSnapshot, ...]:
        found = self.destinations.get(destination)
        return found.messages if found is not None else ()

    def describe(self, limit: int = 5) -> str:
        """A short human-readable account, for failure messages."""
        lines = []
        if not self.destinations:
            lines.append("no destinations")
        for name, destination in sorted(self.destinations.items()):
            bodies = ", ".join(repr(m.body[:30]) for m in destination.messages[:limit])
            more = " ..." if len(destination.messages) > limit else ""
            lines.append(
                f"{destination.kind} {name}: {len(destination.messages)} queued [{bodies}{more}], "
                f"{len(destination.subscriptions)} subscription(s)"
            )
        connected = [c for c in self.connections if c.state == "connected"]
        lines.append(f"{len(connected)} connected of {len(self.connections)} connection(s)")
        for info in self.connections[:limit]:
            lines.append(
                f"  #{info.id} {info.peer} {info.state} v{info.version} subscriptions={list(info.subscriptions)} "
                f"unacked={info.unacked}"
            )
        lines.append(f"{len(self.unacked)} unacknowledged deliveries")
        for durable in self.durable_subscriptions[:limit]:
            state = "active" if durable.active else "offline"
            lines.append(f"durable {durable.key} on {durable.topic}: {state}, {len(durable.messages)} kept")
        return "\n".join(lines)


def message_snapshot(message: Message) -> MessageSnapshot:
    return MessageSnapshot(
        message.destination, message.message_id, message.headers, message.body, message.deliveries, message.sequence
    )


def subscription_info(subscription: Subscription) -> SubscriptionInfo:
    return SubscriptionInfo(
        subscription.connection.id,
        subscription.id,
        subscription.destination.name,
        subscription.ack,
        subscription.window,
        len(subscription.unacked),
        len(subscription.pending) if subscription.pending is not None else 0,
        MappingProxyType(dict(subscription.headers)),
    )


def destination_info(destination: Destination) -> DestinationInfo:
    return DestinationInfo(
        destination.name,
        destination.kind,
        tuple(message_snapshot(m) for m in destination.messages),
        tuple(subscription_info(s) for s in destination.subscriptions),
    )


def connection_info(connection: Connection) -> ConnectionInfo:
    return ConnectionInfo(
        connection.id,
        connection.peer,
        connection.state,
        connection.version,
        connection.session,
        connection.login,
        connection.host,
        connection.client_heartbeat,
        tuple(connection.subscriptions),
        tuple(connection.transactions),
        len(connection.unacked),
        connection.frames_received,
        connection.frames_sent,
        connection.close_reason,
    )


def snapshot(engine: Engine) -> Snapshot:
    unacked = []
    for connection in engine.connections.values():
        for subscription in connection.subscriptions.values():
            for delivery in subscription.unacked.values():
                unacked.append(
                    DeliveryInfo(
                        connection.id,
                        subscription.id,
                        subscription.destination.name,
                        delivery.message_id,
                        delivery.ack,
                        message_snapshot(delivery.message),
                    )
                )
    durables = tuple(
        DurableInfo(
            d.key,
            d.client_id,
            d.name,
            d.topic,
            d.queue.name,
            tuple(message_snapshot(m) for m in d.queue.messages),
            tuple(subscription_info(s) for s in d.queue.subscriptions),
        )
        for d in engine.durable.by_key.values()
    )
    return Snapshot(
        MappingProxyType({name: destination_info(d) for name, d in engine.destinations.items()}),
        tuple(connection_info(c) for c in engine.connections.values()),
        tuple(unacked),
        tuple(message_snapshot(m) for m in engine.expired),
        durables,
    )


def transcript(connection: Connection) -> list[TranscriptEntry]:
    return [
        TranscriptEntry(connection.id, at, direction, item.frame() if isinstance(item, PendingFrame) else item)
        for at, direction, item in connection.transcript
    ]
