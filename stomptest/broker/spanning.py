"""Subscriptions that read several destinations: ActiveMQ's composite SUBSCRIBE and its wildcard queues (issue 15).

Measured on ActiveMQ 5.17.2 with raw frames (docs/routing.md):

- SUBSCRIBE to `/queue/A,/queue/B` reads every part; each MESSAGE names its part as
  `destination` and the subscription's id as `subscription`, with the message-id the part gave
  it. The parts are named by the composite rule (composite.py), and only the parts of the
  first part's kind are read: `/queue/A,/topic/T` reads the queue A alone, `/topic/T,/queue/A`
  the topic T alone (the SUBSCRIBE still gets its RECEIPT). A part named twice is read once.
- On each queue part the subscription is one more consumer in that queue's rotation (a plain
  consumer of A and the composite one share A's messages round robin); a topic part gives it
  a copy, as to any subscriber. A selector applies to every part.
- ACKs are the subscription's, in delivery order across the parts: with ack:client an ACK of
  a message from B also acknowledges the messages from A delivered before it. A message given
  back (UNSUBSCRIBE, disconnect) returns to its own part, `redelivered:true`; a NACKed one goes
  to the dead-letter queue saying its part as `original-destination`.
- SUBSCRIBE to `/queue/P.>` or `/queue/P.*` (`queue_wildcards`) reads every queue the pattern
  matches (words split on `.`, `*` one word, `>` any number, as for topics): those that exist
  and those made later. A SEND to `/queue/P.*` is a SEND to the queue named `P.*`.

The subscription joins each part's own `subscriptions` (its rotation, or a topic's
subscribers), so dispatch, windows, selectors and round robin stay each part's, and a message
published to a part costs what it costs for any subscriber. Its `destination` is a `Span`: a
destination nothing is sent to, named as the SUBSCRIBE named it, listing its parts; the engine
asks a destination's `parts` only where a subscription starts, ends, is dispatched after an ACK,
or gives messages back. A backlog is delivered at SUBSCRIBE, part by part in the list's order
(ActiveMQ was measured to deliver a backlog on several parts late, often only once a new
message arrived on that part: a race this model leaves out).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from stomptest.broker import composite, exchanges, priority
from stomptest.broker.destinations import Destination, Kind, Message, Subscription

if TYPE_CHECKING:
    from stomptest.broker.connection import Connection
    from stomptest.broker.engine import Engine
    from stomptest.protocol.frame import Frame


class Span(Destination):
    """What a subscription to several destinations reads: its parts, and the patterns later queues may match."""

    def __init__(self, name: str, kind: Kind) -> None:
        super().__init__(name)
        self.kind = kind
        self.parts: list[Destination] = []  # each holds the subscription in its own `subscriptions`
        self.patterns: list[str] = []  # queue wildcards (after /queue/): a queue made later that matches joins


def is_wildcard(name: str) -> bool:
    """Whether a queue's canonical name (`/queue/...`) is an ActiveMQ wildcard: a word `*` or `>`."""
    return name.startswith("/queue/") and any(word in ("*", ">") for word in name[7:].split("."))


def span(
    engine: Engine, connection: Connection, frame: Frame, name: str, kind: Kind, canonical: str
) -> Span | Literal[False]:
    """The Span a SUBSCRIBE to `name` (a composite list, or a wildcard queue) reads; False once refused."""
    if "," in name and engine.profile.composite_destinations:
        written = composite.parts(name)
        if written is None:  # measured: an empty part before another closes the connection without a frame
            connection.close(f"destination {name} has an empty part (closed without ERROR)")
            return False
    else:
        written = [name]
    limit = connection.limits.max_subscriptions
    if len(written) > limit:
        connection.fail("limit", frame, reason=f"{len(written)} parts in one destination: more than {limit}")
        return False
    found = Span(canonical, kind)
    routes = engine.routes
    seen = set()
    for part in written:
        resolved = engine.resolve(part, connection)
        if resolved is None:  # /queue/ or /topic/ alone: closed without a frame, as the whole name would be
            connection.close(f"destination {part} in {name} has no name (closed without ERROR)")
            return False
        part_kind, part_name = resolved
        if part_kind != kind or part_name in seen:
            continue  # measured: only the parts of the first part's kind are read, each once
        seen.add(part_name)
        if part_kind == "queue" and routes.queue_wildcards and is_wildcard(part_name):
            found.patterns.append(part_name[7:])
            found.parts += [d for d in engine.destinations.values() if _matches(part_name[7:], d)]
            continue
        owner = connection.id if part.startswith(("/temp-queue/", "/temp-topic/")) else None
        destination = engine.destination(part_kind, part_name, owner)
        if part_kind == "topic" and routes.wildcards is not None and part_name.startswith("/topic/"):
            routes.wildcards.bind("amq.topic", part_name[7:], part_name)  # a wildcard topic part, or one it reaches
        found.parts.append(destination)
    found.parts = list(dict.fromkeys(found.parts))  # a queue named and matched by a pattern too: read once
    return found


def _matches(pattern: str, destination: Destination) -> bool:
    name = destination.name
    queue = destination.kind == "queue" and name.startswith("/queue/")
    return queue and exchanges.topic_matches(pattern, name[7:], ">")


def join(engine: Engine, subscription: Subscription) -> None:
    """Add a new subscription to each of its Span's parts (engine.subscribe calls this)."""
    found = subscription.destination
    assert isinstance(found, Span)
    for part in found.parts:
        _add(part, subscription)
    if found.patterns:
        engine.routes.spans.append(subscription)


def _add(part: Destination, subscription: Subscription) -> None:
    part.subscriptions.append(subscription)
    if subscription.selector is not None:
        part.selecting += 1


def created(engine: Engine, destination: Destination) -> None:
    """A queue was made: the wildcard subscriptions it matches read it from now on (and what it holds)."""
    for subscription in engine.routes.spans:
        found = subscription.destination
        assert isinstance(found, Span)
        if destination not in found.parts and any(_matches(pattern, destination) for pattern in found.patterns):
            found.parts.append(destination)
            _add(destination, subscription)


def leave(engine: Engine, subscription: Subscription, now: float) -> None:
    """End a subscription to several destinations; its unacknowledged messages go back, each to its own part."""
    found = subscription.destination
    assert isinstance(found, Span)
    if subscription in found.subscriptions:
        found.subscriptions.remove(subscription)
    for part in found.parts:
        if subscription in part.subscriptions:
            part.subscriptions.remove(subscription)
            if subscription.selector is not None:
                part.selecting -= 1
    if found.patterns and subscription in engine.routes.spans:
        engine.routes.spans.remove(subscription)
    returned = [delivery.message for delivery in subscription.unacked.values()]
    subscription.unacked.clear()
    subscription.unacked_by_message_id.clear()
    subscription.unacked_bytes = 0
    if found.kind == "queue":  # topic messages die with their (non-durable) subscription
        engine.requeue(subscription, returned, now)
        for part in found.parts:
            engine.dispatch(part, now)


def give_back(engine: Engine, found: Destination, messages: list[Message]) -> None:
    """Messages given back to a queue Span: each merged into the part it came from (engine.requeue calls this)."""
    parts = {part.name: part for part in found.parts or ()}
    by_part: dict[str, list[Message]] = {}
    for message in messages:
        by_part.setdefault(message.destination, []).append(message)
    for name, returned in by_part.items():
        part = parts.get(name) or engine.destination("queue", name)
        priority.merge(part.messages, returned, priority.ranking(engine.profile, part))
