"""When a message expires, and where it goes then.

The time comes from the engine's clock: the host's `now` plus `Engine.clock_offset`, which a
test moves with `Broker.advance(seconds)`, so no test sleeps for a TTL. A message's deadline
(`Message.expires`, ms since the epoch, 0 for never) is set when it arrives: from `expires`
(absolute: ActiveMQ, Artemis) or `expiration` (ms from arrival: RabbitMQ, `expiry_header`),
and on a RabbitMQ queue declared with `x-message-ttl` no later than arrival plus that TTL.
An expired message is never delivered: dispatch drops it when it reaches it, and
`Broker.advance` sweeps every queue. Measured (issue 15, raw frames): ActiveMQ 5.17.2 moves a
persistent expired message to ActiveMQ.DLQ with `expires:0`, `original-destination`,
`originalExpiration` and `dlqDeliveryFailureCause` and drops a non-persistent one; Artemis
2.40.0 moves every expired message to ExpiryQueue with `expires:0`, `_AMQ_ACTUAL_EXPIRY` and
the `_AMQ_ORIG_*` headers; RabbitMQ 3.10.8 drops it unless its queue has a dead-letter
exchange (redelivery.py). A RabbitMQ queue declared with `x-expires` is deleted, messages and
all, once it has had no consumer for that long.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from stomptest.broker import redelivery
from stomptest.broker.destinations import Destination, Message
from stomptest.broker.lifecycle_arguments import unused_too_long

if TYPE_CHECKING:
    from stomptest.broker.engine import Engine

_ORIGIN = frozenset(
    {
        "expires",
        "original-destination",
        "originalExpiration",
        "dlqDeliveryFailureCause",
        "_AMQ_ACTUAL_EXPIRY",
        "_AMQ_ORIG_QUEUE",
        "_AMQ_ORIG_ROUTING_TYPE",
        "_AMQ_ORIG_ADDRESS",
        "_AMQ_ORIG_MESSAGE_ID",
    }
)


def deadline(header: str, value: str, arrival_ms: int) -> int:
    """A message's deadline in ms since the epoch (0: never) from its `expires` or `expiration` header.

    Values the broker would refuse never get here (lifecycle_headers.py); a seeded one that is not
    a number means no deadline.
    """
    try:
        number = int(value)
    except ValueError:
        return 0
    if header == "expiration":
        return arrival_ms + max(number, 0) or 1
    return number


def with_queue_ttl(message: Message, destination: Destination, now_ms: int) -> None:
    """Cap the deadline of a message arriving on a queue declared with `x-message-ttl` (RabbitMQ)."""
    settings = destination.lifecycle
    if settings is None or settings.message_ttl is None:
        return
    limit = now_ms + settings.message_ttl or 1
    if not message.expires or limit < message.expires:
        message.expires = limit


def expire(engine: Engine, message: Message, now: float) -> None:
    """Record an expired message for the test-side API and send it where the profile's broker sends it."""
    engine.expired.append(message)
    engine.release(message)
    profile = engine.profile
    source = engine.destinations.get(message.destination)
    if source is not None and source.lifecycle is not None and source.lifecycle.dead_letter_exchange is not None:
        redelivery.dead_letter_by_exchange(engine, message, source, "expired", now)
        return
    target_name = profile.expiry_queue
    if target_name is None or target_name == message.destination:
        return
    if message.persistent != "true" and not profile.dead_letter_non_persistent:
        return  # ActiveMQ: only persistent messages reach its DLQ (measured)
    style = profile.expiry_headers
    headers = tuple((n, v) for n, v in message.headers if n not in _ORIGIN)
    if style == "artemis":
        origin = (("_AMQ_ACTUAL_EXPIRY", str(int(engine.clock(now) * 1000))), *engine.origin(message))
    elif style == "activemq":
        origin = (
            ("original-destination", message.destination),
            ("originalExpiration", str(message.expires)),
            ("dlqDeliveryFailureCause", f"java.lang.Throwable: Message Expired. Expiration:{message.expires}"),
        )
    else:
        origin = (("original-destination", message.destination),)
    target = engine.destination("queue", target_name)
    copy = engine.new_message(target, (*headers, *origin), message.body, now)
    copy.expires = 0
    copy.message_id_given = message.message_id
    copy.had_content_length = message.had_content_length
    copy.timestamp = message.timestamp
    engine.enqueue(target, copy)
    engine.dispatch(target, now)


def sweep(engine: Engine, now: float) -> None:
    """Expire every message past its deadline and delete queues unused past their `x-expires`."""
    clock = engine.clock(now)
    for destination in list(engine.destinations.values()):
        if unused_too_long(clock, destination):
            engine.delete_queue(destination)
        elif destination.kind == "queue":
            _sweep(engine, destination.messages, clock * 1000, now)
        else:
            for subscription in destination.subscriptions:
                if subscription.pending is not None:
                    _sweep(engine, subscription.pending, clock * 1000, now)


def _sweep(engine: Engine, messages: deque[Message], now_ms: float, now: float) -> None:
    dead = [m for m in messages if m.expires and m.expires < now_ms]
    if not dead:
        return
    kept = [m for m in messages if not (m.expires and m.expires < now_ms)]
    messages.clear()
    messages.extend(kept)
    for message in dead:
        expire(engine, message, now)
