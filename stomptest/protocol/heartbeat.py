"""Heart-beat arithmetic (STOMP 1.1+): negotiation and deadlines as pure functions.

Nothing here reads a clock. Callers pass clock values in (seconds, as floats from
any monotonic source), which keeps the rules testable and lets the blocking, asyncio
and gevent code share them. Intervals on the wire and in `HeartbeatIntervals` are
milliseconds, as in the spec; 0 always means "no heart-beats in that direction".
"""

from __future__ import annotations

from dataclasses import dataclass

from stomptest.protocol.errors import ConfigurationError, RemoteProtocolError

DEFAULT_GRACE = 2.0
"""How many receive intervals of silence to allow before calling the peer overdue.

The spec asks receivers to allow a margin without fixing one; Artemis and CoilMQ use
twice the interval, ActiveMQ is strict unless `hbGracePeriodMultiplier` is set.
"""


@dataclass(frozen=True)
class HeartbeatIntervals:
    """The negotiated intervals in ms: `send` is how often we must show life, `receive` how often the peer will."""

    send: int = 0
    receive: int = 0


NONE = HeartbeatIntervals(0, 0)


def parse(value: str) -> tuple[int, int]:
    """The two numbers of a `heart-beat` header the peer sent; a malformed one is the peer's fault."""
    parts = value.split(",")
    if len(parts) == 2:
        first, second = (part.strip() for part in parts)
        if _is_count(first) and _is_count(second):
            return int(first), int(second)
    raise RemoteProtocolError(f"heart-beat header {value!r} is not two non-negative integers separated by a comma")


def _is_count(text: str) -> bool:
    """ASCII digits that int() reads (it refuses more than 4,300 digits, and no interval needs 19)."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def check(heartbeat: tuple[int, int]) -> tuple[int, int]:
    """Validate heart-beat values our side wants to send: two non-negative ints in ms."""
    try:
        first, second = heartbeat
    except (TypeError, ValueError):
        raise ConfigurationError(f"heartbeat is a pair (send_ms, receive_ms), not {heartbeat!r}") from None
    for name, value in (("send", first), ("receive", second)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ConfigurationError(f"heartbeat {name} interval must be an int >= 0 in ms, not {value!r}")
    return first, second


def format_header(heartbeat: tuple[int, int]) -> str:
    """The `heart-beat` header value for a pair of intervals."""
    first, second = check(heartbeat)
    return f"{first},{second}"


def negotiate(client: tuple[int, int], server: tuple[int, int]) -> HeartbeatIntervals:
    """The intervals both sides must honour, from the client's `cx,cy` and the server's `sx,sy`.

    Each direction is 0 if either side says 0 (the sender cannot, or the receiver does
    not want to), otherwise the larger of the two, so neither side is asked to be
    faster than it offered.
    """
    cx, cy = client
    sx, sy = server
    send = 0 if cx == 0 or sy == 0 else max(cx, sy)
    receive = 0 if sx == 0 or cy == 0 else max(sx, cy)
    return HeartbeatIntervals(send, receive)


def next_send_at(last_sent: float, interval_ms: int) -> float | None:
    """The clock value at which we must send something (an EOL will do); None if we need not."""
    if interval_ms <= 0:
        return None
    return last_sent + interval_ms / 1000.0


def seconds_until_send(last_sent: float, now: float, interval_ms: int) -> float | None:
    """How long we may stay silent from `now`: 0.0 if a beat is due already, None if never needed."""
    due = next_send_at(last_sent, interval_ms)
    if due is None:
        return None
    return max(0.0, due - now)


def receive_deadline(last_received: float, interval_ms: int, grace: float = DEFAULT_GRACE) -> float | None:
    """The clock value after which the peer counts as silent; None when it is not heart-beating."""
    _check_grace(grace)
    if interval_ms <= 0:
        return None
    return last_received + grace * interval_ms / 1000.0


def peer_overdue(last_received: float, now: float, interval_ms: int, grace: float = DEFAULT_GRACE) -> bool:
    """Whether the peer has been silent for more than `grace` receive intervals at `now`."""
    deadline = receive_deadline(last_received, interval_ms, grace)
    return deadline is not None and now > deadline


@dataclass(frozen=True)
class Due:
    """What heart-beating asks of a connection at one moment, for any I/O shell to carry out."""

    beat: bool  # send an EOL now
    silent_for: float | None  # the peer is overdue: seconds since it last sent anything (else None)
    wake_in: float | None  # look again after this many seconds; None when nothing is being watched

    def lost_message(self, receive_ms: int) -> str:
        """Why the connection counts as lost, for the ConnectionLost the shell raises."""
        return (
            f"the broker sent nothing for {self.silent_for or 0.0:.2f} s although it promised "
            f"a heart-beat every {receive_ms} ms"
        )


def due(
    intervals: HeartbeatIntervals,
    last_sent: float,
    last_received: float,
    now: float,
    grace: float = DEFAULT_GRACE,
) -> Due:
    """Whether to beat now, whether the peer is overdue, and when to look again.

    A silent peer wins over a due beat: the connection is to be dropped, not kept up.
    `wake_in` assumes the beat, if due, is sent now, and is never below a millisecond so
    that a caller sleeping on it cannot spin.
    """
    if peer_overdue(last_received, now, intervals.receive, grace):
        return Due(beat=False, silent_for=now - last_received, wake_in=None)
    waits: list[float] = []
    until_send = seconds_until_send(last_sent, now, intervals.send)
    beat = until_send is not None and until_send <= 0
    if until_send is not None:
        waits.append(intervals.send / 1000.0 if beat else until_send)
    deadline = receive_deadline(last_received, intervals.receive, grace)
    if deadline is not None:
        waits.append(deadline - now + 0.001)
    return Due(beat=beat, silent_for=None, wake_in=max(0.001, min(waits)) if waits else None)


def _check_grace(grace: float) -> None:
    if isinstance(grace, bool) or not isinstance(grace, (int, float)) or not grace >= 1.0:
        raise ConfigurationError(
            f"grace must be a number >= 1.0 (a multiple of the receive interval), not {grace!r}: "
            "below 1 a punctual peer would count as overdue"
        )
