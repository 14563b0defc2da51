"""Heart-beat timing against every target (issue 18), with margins from what was measured.

Wall-clock asserts here are ranges, never points: each bound is the measured range on the
real broker (docs/broker.md, "Issue 18") widened by a margin for a loaded machine. Intervals
are short on the brokers that allow it (ActiveMQ: 200 ms); RabbitMQ floors to whole seconds,
so its cases are few. The exact rules are tested on a hand-held clock in
tests/broker/test_heartbeat_clock.py.
"""

from __future__ import annotations

import re
import select
import socket
import time
from collections.abc import Iterator

import pytest

from .conftest import Target

LOGIN = "login:guest\npasscode:guest\n"
MARGIN = 0.06  # seconds: scheduling on a 2-core machine with three brokers (measured jitter: under 10 ms)


class Timed:
    """A raw socket that notes when each byte arrives, measured from the end of CONNECTED."""

    def __init__(self, target: Target) -> None:
        port = int(target.url.rsplit(":", 1)[1])
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connected_at = 0.0
        self.last_sent = 0.0

    def connect(self, heart_beat: str, version: str = "1.2") -> str:
        """CONNECT; the CONNECTED frame's head, as text. Timing starts at its arrival."""
        accept = "" if version == "1.0" else f"accept-version:{version}\nhost:/\n"
        self.sock.sendall(f"CONNECT\n{accept}{LOGIN}heart-beat:{heart_beat}\n\n\x00".encode())
        data = b""
        while b"\x00" not in data:
            chunk = self.sock.recv(4096)
            assert chunk, "closed before CONNECTED"
            data += chunk
        self.connected_at = time.monotonic()
        head, _, rest = data.partition(b"\x00")
        assert rest.strip(b"\n") == b"", rest
        assert head.startswith(b"CONNECTED\n"), head
        return head.decode()

    def beat(self) -> None:
        self.sock.sendall(b"\n")
        self.last_sent = time.monotonic() - self.connected_at

    def events(self, until: float, beat_at: list[float]) -> Iterator[tuple[float, bytes]]:
        """(seconds after CONNECTED, bytes) as they come, b"" once closed; the client beats at `beat_at`."""
        pending = sorted(beat_at)
        while True:
            now = time.monotonic() - self.connected_at
            while pending and now >= pending[0]:
                self.beat()
                pending.pop(0)
            if now >= until:
                return
            wait = min(until, pending[0]) - now if pending else until - now
            ready, _, _ = select.select([self.sock], [], [], max(0.0, wait))
            if ready:
                data = self.sock.recv(4096)
                yield time.monotonic() - self.connected_at, data
                if not data:
                    return

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def timed(target: Target) -> Iterator[list[Timed]]:
    opened: list[Timed] = []
    yield opened
    for connection in opened:
        connection.close()


def _interval(target: Target) -> float:
    """A short interval the target keeps as asked (RabbitMQ: whole seconds; Artemis: at least 500 ms)."""
    facts = target.facts
    if facts.heartbeat_rounding == "whole-seconds":
        return 1.0
    return max(0.2, facts.heartbeat_min_receive_ms / 1000, facts.heartbeat_min_send_ms / 1000)


def _negotiated(head: str) -> tuple[float, float]:
    found = re.search(r"^heart-beat:(\d+),(\d+)$", head, re.MULTILINE)
    assert found, head
    return int(found.group(1)) / 1000, int(found.group(2)) / 1000


def test_a_silent_client_is_closed_on_the_check_grid(target: Target, timed: list[Timed]) -> None:
    """The client beats at T, 2T and 2.5T, then stops: where and when does the broker close?

    Measured with this schedule (RabbitMQ T=1 s, ActiveMQ T=100-2000 ms): the close comes on the grid of
    whole intervals from CONNECTED, 2T-3T after the last byte (ActiveMQ: one check early in 4 of 36 runs,
    after 1.4T-1.9T). A timer profile closes `heartbeat_grace` x T after the last byte, off the grid.
    """
    facts = target.facts
    if facts.heartbeat_timeout_error is not None:
        pytest.skip(f"{target.name}: closes with an ERROR after a TTL; see test_a_silent_client_is_closed")
    interval = _interval(target)
    connection = Timed(target)
    timed.append(connection)
    ms = round(interval * 1000)
    _, receive = _negotiated(connection.connect(f"{ms},0"))  # CONNECTED: heart-beat:<sends>,<wants>
    assert receive == interval
    closed = None
    for at, data in connection.events(8 * interval + 1, [interval, 2 * interval, 2.5 * interval]):
        if not data:
            closed = at
            break
    assert closed is not None, "still open"
    after_last = closed - connection.last_sent
    if facts.heartbeat_check == "grid":
        # on the grid from CONNECTED; ActiveMQ was measured one check early now and then
        early = 1.4 if facts.name == "activemq" else 2.0
        assert early * interval - MARGIN <= after_last <= 3 * interval + MARGIN, (closed, connection.last_sent)
        off_grid = abs(closed - round(closed / interval) * interval)
        assert off_grid <= MARGIN, (closed, interval)
    else:
        grace = facts.heartbeat_grace * interval
        assert grace - MARGIN <= after_last <= grace + MARGIN, (closed, connection.last_sent)


def test_the_first_heartbeat_from_the_broker(target: Target, timed: list[Timed]) -> None:
    """The client asks for beats every T and keeps beating itself; when does the broker's first LF come?

    Measured: ActiveMQ 2T after CONNECTED (T=200 ms: 0.401-0.404 s, 7 of 7; findings: 52 of 52 for
    100-2000 ms), then every T; RabbitMQ at T/2 (1 s: 0.500-0.503 s), then every T/2.
    """
    facts = target.facts
    interval = _interval(target)
    ms = round(interval * 1000)
    connection = Timed(target)
    timed.append(connection)
    send, _ = _negotiated(connection.connect(f"{ms},{ms}"))
    period = send * facts.heartbeat_send_fraction
    first = (2 if facts.heartbeat_send == "grid" else 1) * period
    own_beats = [k * interval / 2 for k in range(1, 40)]
    beats = [at for at, data in connection.events(first + 2 * period, own_beats) if data == b"\n"]
    assert beats, "no heart-beat"
    assert first - MARGIN <= beats[0] <= first + MARGIN, beats
    if len(beats) > 1:
        assert period - MARGIN <= beats[1] - beats[0] <= period + MARGIN, beats


def test_heartbeats_on_a_1_0_connection(target: Target, timed: list[Timed]) -> None:
    """A 1.0 CONNECT with heart-beat:T,T and then silence (N8, measured on both brokers).

    RabbitMQ (T=1 s) and ActiveMQ (T=200 ms) negotiate it as in 1.1: the CONNECTED says T,T, the broker
    beats (RabbitMQ from T/2, ActiveMQ from 2T) and closes the silent client at the third check, 3T
    after CONNECTED (RabbitMQ 3.004 s, ActiveMQ 0.600 s).
    """
    facts = target.facts
    interval = _interval(target)
    ms = round(interval * 1000)
    connection = Timed(target)
    timed.append(connection)
    head = connection.connect(f"{ms},{ms}", version="1.0")
    if not facts.heartbeats_in_1_0:
        found = re.search(r"^heart-beat:(.*)$", head, re.MULTILINE)
        assert found is None or found.group(1) == "0,0", head
        return
    assert _negotiated(head) == (interval, interval)
    beats, closed = [], None
    for at, data in connection.events(3 * interval + 1, []):
        if not data:
            closed = at
            break
        beats.append(at)
    assert beats, "no heart-beat"
    assert closed is not None and 3 * interval - MARGIN <= closed <= 3 * interval + MARGIN, (beats, closed)
