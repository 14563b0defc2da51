"""What a broker should do in each scenario, derived from its facts (a `Profile`) and nothing else.

Scenarios ask these functions instead of branching on broker names, so a difference
between brokers lives in exactly one place: the profile that records it.
"""

from __future__ import annotations

from typing import Literal

from stomptest.broker import Profile
from stomptest.protocol.heartbeat import HeartbeatIntervals, negotiate


def versions(facts: Profile) -> tuple[str, ...]:
    return tuple(facts.versions)


def server_name(facts: Profile) -> str:
    """The product part of the CONNECTED `server` header ("RabbitMQ" of "RabbitMQ/3.10.8")."""
    return facts.server.split("/")[0]


def nack_outcome(facts: Profile, *, persistent: bool = True) -> Literal["requeue", "dead-letter", "discard"]:
    """What a NACKed message becomes: delivered again, moved to `facts.dead_letter_queue`, or gone.

    `persistent`: whether it was sent with `persistent:true` (ActiveMQ dead-letters only those).
    """
    if facts.nack == "dead-letter" and not persistent and not facts.dead_letter_non_persistent:
        return "discard"
    return facts.nack


def frame_eol(facts: Profile) -> bool:
    """Every frame's NUL is followed by a LF on the wire."""
    return facts.frame_eol


def server_header(facts: Profile, version: str) -> bool:
    """Whether CONNECTED names the server (Artemis: not in 1.0)."""
    return facts.connected_headers == "all" or version != "1.0"


def refuses_unknown_destinations(facts: Profile) -> bool:
    """A destination without /queue/ or /topic/ is an ERROR (else it is taken as a queue name)."""
    return facts.unknown_destinations == "error"


def closes_after(facts: Profile, kind: str, version: str = "1.2") -> bool:
    """Whether an ERROR of `kind` is followed by the broker closing the connection."""
    return kind in facts.closing_errors or version in facts.every_error_closes_in


def abort_undoes_ack(facts: Profile) -> bool:
    """An ACK inside a transaction that is then aborted leaves the message unacknowledged."""
    return facts.transactional_ack


def send_receipt_waits_for_commit(facts: Profile) -> bool:
    """The RECEIPT of a SEND inside a transaction comes only at COMMIT (RabbitMQ)."""
    return facts.transaction_receipts == "at-commit"


def heartbeat_to_ask(facts: Profile) -> int:
    """A short interval the broker honours as asked (RabbitMQ works in whole seconds, Artemis >= 500 ms).

    Not shorter than 250 ms: a loaded CI machine (two test workers and two JVM/BEAM brokers
    on two cores) can delay a beat by a good part of 100 ms.
    """
    if facts.heartbeat_rounding == "whole-seconds":
        return 1000
    return max(250, facts.heartbeat_min_send_ms)


def negotiated_heartbeat(facts: Profile, asked: tuple[int, int]) -> HeartbeatIntervals:
    """The intervals the client ends up with when asking `asked` = (cx, cy) of this broker."""
    cx, cy = asked

    def rounded(ms: int) -> int:
        return max(1000, ms // 1000 * 1000) if ms and facts.heartbeat_rounding == "whole-seconds" else ms

    # The broker takes our wishes: it beats as often as we want to receive (never faster than its minimum)
    # and expects to hear from us as often as we said we can send.
    server_sends = rounded(cy)
    if server_sends and facts.heartbeat_min_send_ms:
        server_sends = max(server_sends, facts.heartbeat_min_send_ms)
    server_receives = rounded(cx)
    server_receives = max(server_receives, facts.heartbeat_min_receive_ms) if cx else facts.heartbeat_default_receive_ms
    return negotiate(asked, (server_sends, server_receives))


def nack_outcome_without_requeue(facts: Profile) -> Literal["requeue", "dead-letter", "discard"]:
    """What a NACK with `requeue:false` does: RabbitMQ honours the header (dropping the message), others ignore it."""
    return "discard" if facts.nack_requeue_header else facts.nack
