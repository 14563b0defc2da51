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


def _sort_headers(frames: list[Seen]) -> list[Seen]:
    return [Seen(frame.command, tuple(sorted(frame.headers)), frame.body) for frame in frames]


def _drop_subscription_named_after_destination(frames: list[Seen]) -> list[Seen]:
    return [
        frame.without("subscription")
        if frame.command == "MESSAGE" and frame.header("subscription") == frame.header("destination")
        else frame
        for frame in frames
    ]


def _drop_empty_content_length(frames: list[Seen]) -> list[Seen]:
    return [
        frame.without("content-length")
        if frame.command == "MESSAGE" and frame.header("content-length") == "0"
        else frame
        for frame in frames
    ]


def _drop_repeated_headers(frames: list[Seen]) -> list[Seen]:
    deduplicated = []
    for frame in frames:
        seen: set[str] = set()
        headers = []
        for name, value in frame.headers:
            if name not in seen or frame.command != "MESSAGE":
                headers.append((name, value))
            seen.add(name)
        deduplicated.append(Seen(frame.command, tuple(headers), frame.body))
    return deduplicated


def _error_text(frames: list[Seen]) -> list[Seen]:
    masked = []
    for frame in frames:
        if frame.command == "ERROR":
            headers = tuple(
                (name, "<text>") if name == "message" else (name, value)
                for name, value in frame.headers
                if name != "content-length"
            )
            frame = Seen("ERROR", headers, "<text>")
        masked.append(frame)
    return masked


ALL = frozenset({"rabbitmq", "activemq"})
RABBITMQ = frozenset({"rabbitmq"})
ACTIVEMQ = frozenset({"activemq"})

KNOWN_DIFFERENCES: tuple[KnownDifference, ...] = (
    # masks
    KnownDifference("header-order", ALL, "N1 header order", "headers compared as a sorted list", _sort_headers),
    KnownDifference(
        "subscription-without-id",
        ALL,
        "item 7",
        "MESSAGE for an id-less SUBSCRIBE carries subscription:<destination>",
        _drop_subscription_named_after_destination,
    ),
    KnownDifference(
        "empty-content-length",
        RABBITMQ,
        "N12",
        "MESSAGE with an empty body carries content-length:0",
        _drop_empty_content_length,
    ),
    KnownDifference(
        "repeated-jms-headers",
        ACTIVEMQ,
        "N16",
        "priority/expires/persistent/timestamp from SEND appear twice on the MESSAGE",
        _drop_repeated_headers,
    ),
    KnownDifference("error-texts", ALL, "items 5 (c), 6, 7; N7", "ERROR message headers and bodies", _error_text),
    # avoided inputs
    KnownDifference("body-on-bodyless-frame", ALL, "item 5 (a); N3", "CONNECT/SUBSCRIBE/BEGIN/... with a body"),
    KnownDifference("nack-1.0", ALL, "item 5 (b)", "NACK on a 1.0 connection"),
    KnownDifference("ack-without-subscription-1.1", RABBITMQ, "item 5 (c)", "1.1 ACK/NACK without subscription"),
    KnownDifference("requeue-False", RABBITMQ, "item 5 (d)", "NACK requeue:False"),
    KnownDifference("leading-space-1.0", ALL, "item 5 (e)", "1.0 header values with leading/trailing spaces"),
    KnownDifference("header-without-colon", ACTIVEMQ, "item 5 (f); N4", "a header line without ':'"),
    KnownDifference("crlf-before-1.2", ALL, "item 5 (f); N5", "CRLF line ends on a 1.0/1.1 connection"),
    KnownDifference("rabbitmq-destinations", RABBITMQ, "item 6", "/queue/a/b, /queue, /exchange/..., bare names"),
    KnownDifference("activemq-destinations", ACTIVEMQ, "item 6; N2", "destinations without /queue/ or /topic/"),
    KnownDifference(
        "duplicate-subscription",
        ALL,
        "item 6 (RabbitMQ); N18 (ActiveMQ)",
        "a second SUBSCRIBE with an id in use (RabbitMQ: ERROR and close; ActiveMQ: both subscriptions live)",
    ),
    KnownDifference("second-connect", ALL, "N9", "a second CONNECT (RabbitMQ: close, no ERROR; ActiveMQ: stays open)"),
    KnownDifference("duplicate-begin", RABBITMQ, "N10", "BEGIN of a transaction already open"),
    KnownDifference(
        "ack-unknown-delivery",
        ALL,
        "N13; N14",
        "ACK/NACK of a delivery not awaiting one (RabbitMQ: always closes; ActiveMQ 1.0/1.1: closes once subscribed)",
    ),
    KnownDifference(
        "unsubscribe-by-destination",
        RABBITMQ,
        "N15",
        "UNSUBSCRIBE by destination of a subscription made with an id",
    ),
    KnownDifference("selectors", ACTIVEMQ, "N17", "SUBSCRIBE with a JMS selector (the fake ignores it)"),
    KnownDifference("subscribe-without-id", RABBITMQ, "item 7; N6", "SUBSCRIBE/UNSUBSCRIBE without id in 1.1/1.2"),
)


def masks(profile: str) -> list[Mask]:
    return [entry.mask for entry in KNOWN_DIFFERENCES if entry.mask is not None and profile in entry.profiles]


def avoided(key: str, profile: str) -> bool:
    """Whether the state machine should not generate inputs of this kind for the profile."""
    return any(entry.key == key and profile in entry.profiles for entry in KNOWN_DIFFERENCES)
