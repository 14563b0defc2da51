"""Fixtures for the client tests: a fake broker per test and failover URLs that retry quickly.

The `broker` fixture runs each test twice, over STOMP over TCP and STOMP over WebSocket: over
WebSocket its `url` is the broker's `ws_url`, so a test written with `Client(broker.url)` tests
the client's WebSocket layer with nothing else changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from stomptest.broker import Broker
from stomptest.broker.profiles import PROFILES

# ActiveMQ's manners, refusing names without a /queue/ or /topic/ prefix: an ERROR that echoes the
# SEND's receipt and leaves the connection open, the case the receipt-error tests need.
REFUSING_ACTIVEMQ = dataclasses.replace(PROFILES["activemq"], unknown_destinations="error")


class OverWebSocket:
    """A running `Broker` whose `url` is its WebSocket URL; everything else is the broker's."""

    def __init__(self, broker: Broker) -> None:
        self._broker = broker

    @property
    def url(self) -> str:
        return self._broker.ws_url

    def __getattr__(self, name: str) -> object:
        return getattr(self._broker, name)


@pytest.fixture(params=["tcp", "ws"])
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    with Broker(profile="strict") as running:
        yield running if request.param == "tcp" else OverWebSocket(running)  # type: ignore[misc]
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
    return f"failover:({broker.url})?{query}"
