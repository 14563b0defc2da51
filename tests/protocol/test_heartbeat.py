"""Heart-beat negotiation and deadlines, as pure functions of the values passed in."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stomptest.protocol import heartbeat
from stomptest.protocol.errors import ConfigurationError, RemoteProtocolError

ms = st.integers(0, 10**7)
clock = st.floats(0, 1e9, allow_nan=False)


@given(ms, ms, ms, ms)
def test_negotiation_follows_the_spec(cx: int, cy: int, sx: int, sy: int) -> None:
    result = heartbeat.negotiate((cx, cy), (sx, sy))
    # Client to server: nothing if either side says 0, otherwise the slower of the two.
    if cx == 0 or sy == 0:
        assert result.send == 0
    else:
        assert result.send >= cx and result.send >= sy and result.send in (cx, sy)
    if sx == 0 or cy == 0:
        assert result.receive == 0
    else:
        assert result.receive >= sx and result.receive >= cy and result.receive in (sx, cy)
    # The server's view is the mirror image.
    mirrored = heartbeat.negotiate((sx, sy), (cx, cy))
    assert (mirrored.send, mirrored.receive) == (result.receive, result.send)


def test_negotiation_examples() -> None:
    assert heartbeat.negotiate((1000, 2000), (500, 3000)) == heartbeat.HeartbeatIntervals(3000, 2000)
    assert heartbeat.negotiate((0, 2000), (500, 3000)) == heartbeat.HeartbeatIntervals(0, 2000)
    assert heartbeat.negotiate((1000, 0), (500, 3000)) == heartbeat.HeartbeatIntervals(3000, 0)


@given(ms, ms)
def test_header_round_trip(first: int, second: int) -> None:
    assert heartbeat.parse(heartbeat.format_header((first, second))) == (first, second)


@pytest.mark.parametrize("value", ["", "1000", "1,2,3", "-1,0", "a,b", "1.5,2", "\u0661,\u0662"])
def test_malformed_header_from_the_peer(value: str) -> None:
    with pytest.raises(RemoteProtocolError, match="heart-beat"):
        heartbeat.parse(value)


@pytest.mark.parametrize("pair", [(-1, 0), (0, -5), (1.5, 0), (True, 0), (1,), "10,10"])
def test_bad_local_values_are_configuration_errors(pair: object) -> None:
    with pytest.raises(ConfigurationError):
        heartbeat.format_header(pair)  # type: ignore[arg-type]


@given(clock, clock, st.integers(1, 10**6))
def test_seconds_until_send(last_sent: float, now: float, interval: int) -> None:
    wait = heartbeat.seconds_until_send(last_sent, now, interval)
    assert wait is not None and wait >= 0.0
    assert math.isclose(wait, max(0.0, last_sent + interval / 1000 - now), abs_tol=1e-6)
    assert heartbeat.seconds_until_send(last_sent, now, 0) is None


@given(clock, st.floats(0, 1e6), st.integers(1, 10**6), st.floats(1.0, 10.0))
def test_peer_overdue_only_after_grace_intervals(last: float, silence: float, interval: int, grace: float) -> None:
    now = last + silence
    overdue = heartbeat.peer_overdue(last, now, interval, grace)
    deadline = heartbeat.receive_deadline(last, interval, grace)
    assert deadline is not None
    assert overdue == (now > deadline)
    assert heartbeat.peer_overdue(last, deadline, interval, grace) is False
    assert heartbeat.peer_overdue(last, now, 0, grace) is False  # not heart-beating: never overdue


@pytest.mark.parametrize("grace", [0.5, 0, -1, float("nan"), True, "2"])
def test_grace_below_one_is_refused(grace: object) -> None:
    with pytest.raises(ConfigurationError, match="grace"):
        heartbeat.peer_overdue(0.0, 1.0, 1000, grace)  # type: ignore[arg-type]


small_ms = st.integers(0, 10_000)
offset = st.floats(0, 30, allow_nan=False)


@given(small_ms, small_ms, clock, offset, offset, st.floats(1.0, 4.0))
def test_due_agrees_with_the_deadlines(
    send: int, receive: int, now: float, since_sent: float, since_received: float, grace: float
) -> None:
    intervals = heartbeat.HeartbeatIntervals(send, receive)
    last_sent, last_received = now - since_sent, now - since_received
    due = heartbeat.due(intervals, last_sent, last_received, now, grace)
    if heartbeat.peer_overdue(last_received, now, receive, grace):
        assert (due.beat, due.silent_for, due.wake_in) == (False, now - last_received, None)
        return
    assert due.silent_for is None
    until = heartbeat.seconds_until_send(last_sent, now, send)
    assert due.beat == (until is not None and until <= 0)
    if send == 0 and receive == 0:
        assert due.wake_in is None
        return
    assert due.wake_in is not None and due.wake_in >= 0.001
    if send:  # never sleep past the next beat (counted from now when one is sent now)
        assert due.wake_in <= max(0.001, send / 1000.0 if due.beat else until or 0.0) + 1e-9
    deadline = heartbeat.receive_deadline(last_received, receive, grace)
    if deadline is not None:  # nor past the moment the peer becomes overdue
        assert due.wake_in <= max(0.001, deadline - now + 0.001) + 1e-9


def test_due_examples() -> None:
    both = heartbeat.HeartbeatIntervals(send=1000, receive=500)
    assert heartbeat.due(both, last_sent=0.0, last_received=0.0, now=0.25) == heartbeat.Due(False, None, 0.75)
    beat = heartbeat.due(both, last_sent=0.0, last_received=0.9, now=1.0)
    assert (beat.beat, beat.silent_for, beat.wake_in) == (True, None, pytest.approx(0.901))
    silent = heartbeat.due(both, last_sent=0.0, last_received=0.0, now=1.5)
    assert silent == heartbeat.Due(False, 1.5, None)
    assert (
        silent.lost_message(500) == "the broker sent nothing for 1.50 s although it promised a heart-beat every 500 ms"
    )
    assert heartbeat.due(heartbeat.NONE, 0.0, 0.0, 99.0) == heartbeat.Due(False, None, None)
