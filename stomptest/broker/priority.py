"""The order of a queue's messages: arrival order, or highest priority first.

Measured (issue 15, raw frames, backlog sent 1, 9, 4, 4, none, 0, 7): ActiveMQ 5.17.2 with its
default policy and RabbitMQ 3.10.8 without `x-max-priority` deliver in arrival order; Artemis
2.40.0 delivers 9, 7, 4, 4, none (4), 1, 0; RabbitMQ with `x-max-priority:5` delivers 9, 7
(both above 5, so 5, in arrival order), 4, 4, 1, then none and 0 (no priority is 0) in arrival
order. Ties keep arrival order everywhere. A queue is kept sorted by (-rank, sequence), so a
requeued message goes back to its place.

ActiveMQ (measured, issue 18, raw frames): a queue's backlog comes persistent messages first,
then the others, each in arrival order (sent np1 p1 np2 p2 np3 p3 before anyone subscribed,
delivered p1 p2 p3 np1 np2 np3); its store keeps the two kinds apart and drains the persistent
one first. Messages reaching a consumer with room go at once, in arrival order.
"""

from __future__ import annotations

import bisect
import itertools
from collections import deque
from collections.abc import Callable

from stomptest.broker.destinations import Destination, Message
from stomptest.broker.profiles import Profile

_ARTEMIS_LEVELS = 9  # Artemis' priority levels are 0-9

Rank = Callable[[Message], int]  # a message's place: higher first, arrival order within a rank


def ranking(profile: Profile, destination: Destination) -> Rank | None:
    """How `destination` orders its messages, or None for arrival order."""
    settings = destination.lifecycle
    if settings is not None and settings.max_priority is not None:
        return _levels(settings.max_priority)
    order = profile.priority_order
    if order == "fifo":
        return None
    return _ARTEMIS if order == "priority" else _persistent_first


def _levels(top: int) -> Rank:
    def rank(message: Message) -> int:
        return min(max(message.priority, 0), top)

    return rank


_ARTEMIS = _levels(_ARTEMIS_LEVELS)


def _persistent_first(message: Message) -> int:
    return 1 if message.persistent == "true" else 0


def enqueue(messages: deque[Message], message: Message, rank: Rank | None) -> None:
    """Put `message` in its place: at the end, or after every message of its rank or higher."""
    if rank is None or not messages:
        messages.append(message)
        return
    wanted = rank(message)
    if rank(messages[-1]) >= wanted:
        messages.append(message)
        return
    keys = [(-rank(m), m.sequence) for m in messages]
    messages.insert(bisect.bisect(keys, (-wanted, message.sequence)), message)


def merge(queued: deque[Message], returned: list[Message], rank: Rank | None) -> None:
    """Merge messages given back (requeued) into a queue, each to its place."""

    def key(message: Message) -> tuple[int, int]:
        return (0 if rank is None else -rank(message), message.sequence)

    returned.sort(key=key)
    if not queued or key(returned[-1]) < key(queued[0]):
        queued.extendleft(reversed(returned))
        return
    merged = sorted(itertools.chain(returned, queued), key=key)
    queued.clear()
    queued.extend(merged)
