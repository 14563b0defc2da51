"""Differences between a real broker and its fake profile that are already written down, masked or avoided.

Each entry names its finding of issue 18 (measured facts: docs/broker.md), so the differential state
machine can run today and still catch every *new* difference. Whoever fixes a finding in a
profile deletes its entry here; the stored examples under examples/ then replay the sessions
that showed it. Two kinds:

- "mask": a rewrite of the normalised frames of one connection in one step, applied to both
  sides alike (so it can only hide a difference, never create one);
- "avoid": a kind of input the state machine does not generate for that profile, for
  differences no rewrite can hide (the real broker accepts a frame and the fake closes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tests.differential.normalise import Seen

Mask = Callable[[list[Seen]], list[Seen]]


@dataclass(frozen=True)
class KnownDifference:
    key: str
    profiles: frozenset[str]
    finding: str  # the finding in the issue 18 findings file
    what: str
    mask: Mask | None = None  # None: an "avoid" entry, checked by the state machine through `avoided`


def _sort_message_headers(frames: list[Seen]) -> list[Seen]:
    return [
        Seen(frame.command, tuple(sorted(frame.headers)), frame.body) if frame.command == "MESSAGE" else frame
        for frame in frames
    ]


def _receipts_after_messages(frames: list[Seen]) -> list[Seen]:
    """RECEIPTs moved behind the MESSAGEs of the same step (their order on real RabbitMQ is a race)."""
    if not any(frame.command == "MESSAGE" for frame in frames):
        return frames
    receipts = [frame for frame in frames if frame.command == "RECEIPT"]
    return [frame for frame in frames if frame.command != "RECEIPT"] + receipts


RABBITMQ = frozenset({"rabbitmq"})
ACTIVEMQ = frozenset({"activemq"})
ARTEMIS = frozenset({"artemis"})

KNOWN_DIFFERENCES: tuple[KnownDifference, ...] = (
    # masks
    KnownDifference(
        "message-header-order",
        ACTIVEMQ | ARTEMIS,
        "N1 header order (MESSAGE); Artemis: 'Still different'",
        "MESSAGE headers compared as a sorted list (the SEND's own in a Java hash map's order)",
        _sort_message_headers,
    ),
    KnownDifference(
        "receipt-and-message-order",
        RABBITMQ,
        "R2, a race of real RabbitMQ (issue 18's differential runs, 2026-12-06)",
        "a SEND's RECEIPT and the MESSAGE it makes for the same connection come in either order on RabbitMQ "
        "(the fake: MESSAGE first, as most runs show); compared with RECEIPTs after the MESSAGEs of the step",
        _receipts_after_messages,
    ),
    # avoided inputs
    KnownDifference(
        "short-content-length",
        ARTEMIS,
        "differential D1 (modelled since issue 16, A20, but for one moment)",
        "a body longer than its content-length: in 1.0 the byte left after the dropped one (here the NUL) starts "
        "the next frame; Artemis answers its ERROR when that frame comes, the fake at once",
    ),
    KnownDifference(
        "stomp-1.0",
        ARTEMIS,
        "differential D3 (modelled for plain frames: tests/scenarios/test_connecting.py)",
        "STOMP asking for 1.0 (Artemis: AMQ339029, then the connection is read by its 1.0 decoder, whose answers to "
        "mutated frames are not all measured: a header line without ':' made BEGIN's transaction that line)",
    ),
    KnownDifference(
        "crlf-1.0",
        ARTEMIS,
        "L12 (Artemis 1.0, strict xfail of test_crlf_line_ends_before_1_2)",
        "a CR LF frame on a 1.0 connection (Artemis: no answer, the next frame read as part of it; the fake: ERROR)",
    ),
)


def masks(profile: str) -> list[Mask]:
    return [entry.mask for entry in KNOWN_DIFFERENCES if entry.mask is not None and profile in entry.profiles]


def avoided(key: str, profile: str) -> bool:
    """Whether the state machine should not generate inputs of this kind for the profile."""
    return any(entry.key == key and profile in entry.profiles for entry in KNOWN_DIFFERENCES)
