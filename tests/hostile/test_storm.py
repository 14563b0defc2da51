"""Many clients send mutated frames at once while well-behaved clients send and acknowledge messages.

Every hostile connection ends (the broker closes it, after an ERROR where the profile
says so); the well-behaved clients lose no message and get none twice; the broker
still serves afterwards and recorded no internal error.
"""

from __future__ import annotations

from typing import Any

import pytest

from stomptest.broker import Broker
from stomptest.client import Client

from .storm import QUEUE, StormResult, storm

LIMITS: dict[str, Any] = {"max_frame_bytes": 8192, "max_headers": 32, "max_header_bytes": 512}


def check(broker: Broker, result: StormResult) -> None:
    assert not result.failures, result.failures
    assert result.outcomes, "no hostile connection ran"
    hung = [o for o in result.outcomes if not o.closed]
    assert not hung, f"{len(hung)} hostile connections were not closed, e.g. {hung[0].commands}"
    unreadable = [o.unreadable for o in result.outcomes if o.unreadable]
    assert not unreadable, unreadable[:3]
    assert any("ERROR" in o.commands for o in result.outcomes), "no hostile connection was answered with ERROR"
    if broker.profile.closing_errors >= {"malformed", "unknown-command", "missing-header"}:
        for outcome in result.outcomes:
            if "ERROR" in outcome.commands:
                assert outcome.commands[-1] == "ERROR", f"frames after an ERROR that closes: {outcome.commands}"
    assert result.sent, "the producers sent nothing"
    duplicates = [body for body, count in result.acked.items() if count > 1 and body not in result.resent]
    assert not duplicates, f"acknowledged twice: {duplicates[:5]}"
    missing = set(result.sent) - set(result.acked)
    assert not missing, f"{len(missing)} of {len(result.sent)} messages lost, e.g. {sorted(missing)[:5]}"
    assert broker.messages(QUEUE) == () and broker.unacked(QUEUE) == ()
    with Client(broker.url) as client:  # still serving
        subscription = client.subscribe("/queue/after", ack="client-individual")
        client.send("/queue/after", b"still here", receipt=True)
        message = subscription.receive(timeout=5)
        assert message is not None and message.body == b"still here"
        client.ack(message, receipt=True)
    broker.check()


@pytest.mark.parametrize("profile", ["strict", "rabbitmq"])
def test_storm_of_mutated_frames(profile: str) -> None:
    with Broker(profile=profile, **LIMITS) as broker:
        result = storm(broker, seconds=2.0, hostile=12, max_messages=150, seed=1)
        check(broker, result)


def test_storm_with_every_connection_dropped_now_and_then() -> None:
    """The same storm while the broker drops every connection each 0.4 s: failover clients lose nothing."""
    with Broker(profile="activemq", **LIMITS) as broker:
        result = storm(broker, seconds=2.0, hostile=6, max_messages=150, seed=5, drop_every=0.4)
        assert result.drops >= 2
        check(broker, result)


@pytest.mark.soak
@pytest.mark.parametrize("profile", ["strict", "activemq", "rabbitmq", "artemis"])
def test_storm_of_mutated_frames_soak(profile: str) -> None:
    with Broker(profile=profile, **LIMITS) as broker:
        result = storm(broker, seconds=60.0, hostile=20, max_messages=100_000, seed=2)
        check(broker, result)


@pytest.mark.soak
def test_storm_with_drops_soak() -> None:
    with Broker(profile="activemq", **LIMITS) as broker:
        result = storm(broker, seconds=60.0, hostile=12, max_messages=100_000, seed=6, drop_every=0.5)
        assert result.drops >= 50
        check(broker, result)
