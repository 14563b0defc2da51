"""What the assertion helpers compare, and how a failure shows the closest things that did happen.

Shared by the fake broker handle (which reads its transcripts) and the external one (which
reads over STOMP): both turn what they saw into `SentMessage` or `Delivery` records.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

BodyArg = bytes | str | None
HeadersArg = Mapping[str, str] | None

# Headers that describe the frame rather than the message: left out when messages are shown.
_FRAME_HEADERS = frozenset(
    {"destination", "content-length", "receipt", "transaction", "message-id", "subscription", "ack"}
)


@dataclass(frozen=True)
class SentMessage:
    """A SEND the broker received: on which connection, to where, with what, and its transaction's fate."""

    connection: int
    destination: str
    headers: Mapping[str, str]
    body: bytes
    transaction: str | None = None
    state: Literal["sent", "pending", "aborted"] = "sent"  # pending: its transaction is not committed yet

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def __str__(self) -> str:
        where = f"#{self.connection} " if self.connection else ""
        tx = f" in transaction {self.transaction} ({self.state})" if self.transaction else ""
        return f"{where}{self.destination} {format_headers(self.headers)}body={short(self.body)}{tx}"


@dataclass(frozen=True)
class Delivery:
    """A MESSAGE the broker delivered, and what became of it: acked, nacked, unacked, or auto (no ACK needed)."""

    connection: int
    subscription: str
    destination: str
    message_id: str
    headers: Mapping[str, str]
    body: bytes
    ack_mode: str
    status: Literal["acked", "nacked", "unacked", "auto"] = "unacked"
    ack_id: str = field(default="", compare=False)  # what a 1.2 ACK names

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def __str__(self) -> str:
        return (
            f"#{self.connection} subscription {self.subscription} (ack:{self.ack_mode}) {self.destination} "
            f"message-id:{self.message_id} {format_headers(self.headers)}body={short(self.body)} -> {self.status}"
        )


def short(body: bytes, limit: int = 60) -> str:
    return repr(body[:limit]) + ("..." if len(body) > limit else "")


def format_headers(headers: Mapping[str, str]) -> str:
    shown = [f"{k}:{v}" for k, v in headers.items() if k not in _FRAME_HEADERS]
    return " ".join(shown) + " " if shown else ""


def as_bytes(body: BodyArg) -> bytes | None:
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    raise TypeError(f"body must be bytes, str or None, not {type(body).__name__}")


def matches(
    candidate: SentMessage | Delivery,
    destination: str | None,
    body: bytes | None,
    headers: HeadersArg,
) -> bool:
    if destination is not None and candidate.destination != destination:
        return False
    if body is not None and candidate.body != body:
        return False
    return all(candidate.headers.get(name) == value for name, value in (headers or {}).items())


def describe_wanted(destination: str | None, body: bytes | None, headers: HeadersArg) -> str:
    parts = [destination or "any destination"]
    if headers:
        parts.append(" ".join(f"{k}:{v}" for k, v in headers.items()))
    if body is not None:
        parts.append(f"body={short(body)}")
    return " ".join(parts)


def closest(
    candidates: Iterable[SentMessage | Delivery],
    destination: str | None,
    body: bytes | None,
    headers: HeadersArg,
    limit: int = 5,
) -> list[SentMessage | Delivery]:
    """The candidates most like what was wanted: same destination first, then most headers, then likest body."""

    def score(candidate: SentMessage | Delivery) -> tuple[float, ...]:
        same_destination = destination is None or candidate.destination == destination
        destination_likeness = difflib.SequenceMatcher(None, destination or "", candidate.destination).ratio()
        wanted = headers or {}
        header_hits = sum(candidate.headers.get(k) == v for k, v in wanted.items())
        likeness = 1.0 if body is None else difflib.SequenceMatcher(None, body[:200], candidate.body[:200]).ratio()
        return (float(same_destination), float(header_hits), likeness, destination_likeness)

    ranked = sorted(candidates, key=score, reverse=True)
    return ranked[:limit]


def mismatch(
    candidate: SentMessage | Delivery, destination: str | None, body: bytes | None, headers: HeadersArg
) -> str:
    """Why one candidate is not what was wanted, in a few words."""
    reasons = []
    if destination is not None and candidate.destination != destination:
        reasons.append(f"destination {candidate.destination!r}")
    for name, value in (headers or {}).items():
        got = candidate.headers.get(name)
        if got != value:
            reasons.append(f"{name} is {got!r}, not {value!r}")
    if body is not None and candidate.body != body:
        reasons.append("another body")
    return "; ".join(reasons) or "matches"


def report(
    title: str,
    candidates: Sequence[SentMessage | Delivery],
    destination: str | None,
    body: bytes | None,
    headers: HeadersArg,
    nothing: str,
    limit: int = 5,
) -> str:
    """`title`, then the closest candidates with why each is not a match (or `nothing`)."""
    if not candidates:
        return f"{title}\n{nothing}"
    near = closest(candidates, destination, body, headers, limit)
    lines = [f"{title}", f"closest of {len(candidates)}:"]
    for candidate in near:
        lines.append(f"  {candidate}\n      ({mismatch(candidate, destination, body, headers)})")
    if len(candidates) > len(near):
        lines.append(f"  ... and {len(candidates) - len(near)} more")
    return "\n".join(lines)
