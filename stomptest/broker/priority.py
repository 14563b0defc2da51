"""The order of a queue's messages: arrival order, or highest priority first.

Measured (issue 15, raw frames, backlog sent 1, 9, 4, 4, none, 0, 7): ActiveMQ 5.17.2 with its
default policy and RabbitMQ 3.10.8 without `x-max-priority` deliver in arrival order; Artemis
2.40.0 delivers 9, 7, 4, 4, none (4), 1, 0; RabbitMQ with `x-max-priority:5` delivers 9, 7
(both above 5, so 5, in arrival order), 4, 4, 1, then none and 0 (no priority is 0) in arrival
order. Ties keep arrival order everywhere. A queue is kept sorted by (-level, sequence), so a
requeued message goes back to its place.
"""

from __future__ import annotations

import bisect
import itertools
from collections import deque

from stomptest.broker.destinations import Destination, Message
from stomptest.broker.profiles import Profile

_ARTEMIS_LEVELS = 9  # Artemis' priority levels are 0-9


def levels(profile: Profile, destination: Destination) -> int | None:
    """The highest priority level `destination` orders by, or None for arrival order."""
    settings = destination.lifecycle
    if settings is not None and settings.max_priority is not None:
        return settings.max_priority
    return _ARTEMIS_LEVELS if profile.priority_order == "priority" else None


def level(message: Message, top: int) -> int:
    """The level a message is queued at: its priority within 0..top."""
    return min(max(message.priority, 0), top)


def enqueue(messages: deque[Message], message: Message, top: int | None) -> None:
    """Put `message` in its place: at the end, or after every message of its level or higher."""
    if top is None or not messages:
        messages.append(message)
        return
    wanted = level(message, top)
    if level(messages[-1], top) >= wanted:
        messages.append(message)
        return
    keys = [(-level(m, top), m.sequence) for m in messages]
    messages.insert(bisect.bisect(keys, (-wanted, message.sequence)), message)


def merge(queued: deque[Message], returned: list[Message], top: int | None) -> None:
    """Merge messages given back (requeued) into a queue, each to its place."""

    def key(message: Message) -> tuple[int, int]:
        return (0 if top is None else -level(message, top), message.sequence)

    returned.sort(key=key)
    if not queued or key(returned[-1]) < key(queued[0]):
        queued.extendleft(reversed(returned))
        return
    merged = sorted(itertools.chain(returned, queued), key=key)
    queued.clear()
    queued.extend(merged)
