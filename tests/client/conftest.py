"""Fixtures for the client tests: a fake broker per test and failover URLs that retry quickly."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from stomptest.broker import Broker
from stomptest.broker.profiles import PROFILES

# ActiveMQ's manners, refusing names without a /queue/ or /topic/ prefix: an ERROR that echoes the
# SEND's receipt and leaves the connection open, the case the receipt-error tests need.
REFUSING_ACTIVEMQ = dataclasses.replace(PROFILES["activemq"], unknown_destinations="error")


@pytest.fixture
def broker() -> Iterator[Broker]:
    with Broker(profile="strict") as running:
        yield running
        running.check()


def failover(broker: Broker, **options: object) -> str:
    """A failover URL for `broker` that retries fast and for long enough for the fault tests."""
    settings: dict[str, object] = {
        "initialReconnectDelay": 10,
        "maxReconnectDelay": 50,
        "maxReconnectAttempts": 200,
        "randomize": "false",
    }
    settings.update(options)
    query = "&".join(f"{name}={value}" for name, value in settings.items())
    return f"failover:(tcp://127.0.0.1:{broker.port})?{query}"
