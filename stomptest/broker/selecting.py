"""Queue dispatch when some subscriptions of the queue have a selector (engine.py hands it over).

Measured (issue 14, ActiveMQ 5.17.2 and Artemis 2.40.0): a queued message goes to the first
subscription in the rotation that has room and whose selector picks it; a message no selector
picks stays queued, in order, for a subscriber that comes later (or a test that looks). The
rotation is the engine's: the subscription served goes to the back.

A full dispatch scans what is queued. A newly published message is offered alone
(`offer`): what already waits was undeliverable at the last dispatch, and only a change of
room or of subscriptions (an ACK, a SUBSCRIBE, an UNSUBSCRIBE), each followed by a full
dispatch, can change that; so a backlog nobody picks costs nothing per SEND.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from stomptest.broker import expiry
from stomptest.broker.destinations import Destination, Message

if TYPE_CHECKING:
    from stomptest.broker.engine import Engine


def offer(engine: Engine, destination: Destination, message: Message, now: float) -> None:
    """A new message on a queue with selecting subscriptions: delivered now, or queued behind the rest."""
    if message.expires and message.expires < (now + engine.clock_offset) * 1000:
        expiry.expire(engine, message, now)  # where an expired message goes is the profile's (expiry.py)
        return
    limit = engine.limits.max_unacknowledged
    subscriptions = destination.subscriptions
    for index, candidate in enumerate(subscriptions):
        selector = candidate.selector
        if candidate.has_room(limit) and (selector is None or selector.matches(message)):
            if index < len(subscriptions) - 1:
                del subscriptions[index]
                subscriptions.append(candidate)
            if engine.journal is not None:
                engine.keep(message, destination)
            candidate.connection.deliver(candidate, message)
            return
    engine.enqueue(destination, message)  # in its place: arrival or priority order


def dispatch_selecting(engine: Engine, destination: Destination, now: float) -> None:
    """Deliver what can be delivered on a queue with selecting subscriptions now."""
    messages = destination.messages
    subscriptions = destination.subscriptions
    limit = engine.limits.max_unacknowledged
    now_ms = (now + engine.clock_offset) * 1000
    skipped: deque[Message] = deque()
    while messages:
        if not any(candidate.has_room(limit) for candidate in subscriptions):
            break
        message = messages.popleft()
        if message.expires and message.expires < now_ms:
            expiry.expire(engine, message, now)  # as engine.dispatch does
            continue
        chosen = None
        for index, candidate in enumerate(subscriptions):
            selector = candidate.selector
            if candidate.has_room(limit) and (selector is None or selector.matches(message)):
                chosen = candidate
                if index < len(subscriptions) - 1:
                    del subscriptions[index]
                    subscriptions.append(candidate)
                break
        if chosen is None:
            skipped.append(message)  # no selector picks it (or the one that would has no room): it waits
            continue
        chosen.connection.deliver(chosen, message)
    if skipped:
        messages.extendleft(reversed(skipped))
