"""Heart-beat timing on the broker's own clock (issue 18), driven by a hand-held clock: no sleeping.

The figures are the ones measured on RabbitMQ 3.10.8 and ActiveMQ 5.17.2 (docs/broker.md,
"Issue 18"): both look for a silent client only at whole intervals from CONNECTED and close at
the first look that finds more than two whole intervals without a byte; ActiveMQ beats at whole
intervals unless a frame went out in the one just ended, so its first beat comes at 2T.
"""

from __future__ import annotations

import pytest

from stomptest.protocol import Frame, Heartbeat

from .harness import Peer, engine


def _connected(profile: str, heart_beat: str, version: str = "1.2") -> Peer:
    peer = Peer(engine(profile), now=0.0)
    headers = {"host": "/", "heart-beat": heart_beat, "login": "guest", "passcode": "guest"}
    if version != "1.0":
        headers["accept-version"] = version
    reply = peer.send("CONNECT", headers)
    assert reply[0].command == "CONNECTED", reply
    return peer


def _run_until(peer: Peer, end: float) -> list[tuple[float, Frame | Heartbeat]]:
    """Tick at every deadline up to `end` (as the host does); what came out, with when."""
    seen: list[tuple[float, Frame | Heartbeat]] = []
    while not peer.connection.closed:
        deadline = peer.connection.next_deadline()
        if deadline is None or deadline > end:
            break
        seen += [(deadline, item) for item in peer.tick(deadline)]
    return seen


@pytest.mark.parametrize("profile", ["rabbitmq", "activemq"])
def test_a_client_silent_from_connect_is_closed_at_the_third_check(profile: str) -> None:
    peer = _connected(profile, "1000,0")
    assert peer.connection.next_deadline() == pytest.approx(3.0)
    peer.tick(2.999)
    assert not peer.connection.closing
    peer.tick(3.0)
    assert peer.connection.closed


@pytest.mark.parametrize("profile", ["rabbitmq", "activemq"])
@pytest.mark.parametrize("last_byte", [2.05, 2.5, 2.95])
def test_a_silent_client_is_closed_on_the_grid_2t_to_3t_after_its_last_byte(profile: str, last_byte: float) -> None:
    peer = _connected(profile, "1000,0")
    for at in (1.0, 2.0, last_byte):
        peer.now = at
        peer.raw(b"\n")
    assert peer.connection.next_deadline() == pytest.approx(5.0)  # the first check with two silent intervals
    peer.tick(4.999)
    assert not peer.connection.closing
    peer.tick(5.0)
    assert peer.connection.closed
    assert 2.0 <= 5.0 - last_byte < 3.0


def test_a_late_tick_still_closes() -> None:
    peer = _connected("activemq", "1000,0")
    peer.tick(7.3)  # the host was busy: the checks at 3, 4, ... were missed
    assert peer.connection.closed


def test_the_grid_follows_the_negotiated_interval() -> None:
    peer = _connected("rabbitmq", "1500,0")  # RabbitMQ floors to whole seconds: 1000
    assert peer.connection.next_deadline() == pytest.approx(3.0)
    peer = _connected("activemq", "250,0")
    assert peer.connection.next_deadline() == pytest.approx(0.75)


def test_strict_keeps_its_timer() -> None:
    peer = _connected("strict", "1000,0")
    assert peer.connection.next_deadline() == pytest.approx(2.001)  # grace 2.0 after the last byte, any time
    peer.now = 1.3
    peer.raw(b"\n")
    peer.tick(3.3)
    assert not peer.connection.closing
    peer.tick(3.302)
    assert peer.connection.closed


def test_activemq_beats_first_at_2t_then_every_t() -> None:
    peer = _connected("activemq", "0,1000")
    seen = _run_until(peer, 5.0)
    assert [at for at, item in seen if item == Heartbeat()] == pytest.approx([2.0, 3.0, 4.0, 5.0])


def test_activemq_skips_the_beat_after_a_period_with_a_frame() -> None:
    """Measured (T=200 ms): a RECEIPT at 1.5T moves the first beat from 2T to 3T; one at 2.5T skips 3T."""
    peer = _connected("activemq", "0,1000")
    assert _run_until(peer, 1.4) == []
    peer.now = 1.5
    assert [f.command for f in peer.send("BEGIN", {"transaction": "t", "receipt": "r"})] == ["RECEIPT"]
    seen = _run_until(peer, 4.0)
    assert [at for at, item in seen if item == Heartbeat()] == pytest.approx([3.0, 4.0])
    peer.now = 4.5
    peer.send("ABORT", {"transaction": "t", "receipt": "r2"})
    seen = _run_until(peer, 7.0)
    assert [at for at, item in seen if item == Heartbeat()] == pytest.approx([6.0, 7.0])


def test_rabbitmq_beats_at_half_the_interval_from_connected() -> None:
    peer = _connected("rabbitmq", "0,1000")
    seen = _run_until(peer, 2.0)
    assert [at for at, item in seen if item == Heartbeat()] == pytest.approx([0.5, 1.0, 1.5, 2.0])


@pytest.mark.parametrize(("profile", "negotiated"), [("rabbitmq", "1000,1000"), ("activemq", "200,200")])
def test_heartbeats_are_negotiated_in_1_0(profile: str, negotiated: str) -> None:
    asked = "1000,1000" if profile == "rabbitmq" else "200,200"
    peer = Peer(engine(profile), now=0.0)
    reply = peer.send("CONNECT", {"heart-beat": asked, "login": "guest", "passcode": "guest"})
    assert reply[0].headers["version"] == "1.0"
    assert reply[0].headers["heart-beat"] == negotiated
    assert peer.connection.next_deadline() is not None
    interval = int(negotiated.split(",")[0]) / 1000
    peer.tick(3 * interval)  # silent from the start: closed at the third check, as measured
    assert peer.connection.closed


def test_strict_ignores_heartbeats_in_1_0() -> None:
    peer = Peer(engine("strict"), now=0.0)
    reply = peer.send("CONNECT", {"heart-beat": "1000,1000"})
    assert reply[0].headers["heart-beat"] == "0,0"
    assert peer.connection.next_deadline() is None
