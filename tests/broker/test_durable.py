"""Durable subscriptions on the fake broker only: kept across `Broker.restart()`, shown while offline, cleared.

The shared real brokers are never restarted, so "kept across a restart" is checked here;
what the real brokers do with durable subscriptions is in tests/scenarios/test_subscriptions.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from stomptest.broker import Broker
from stomptest.testing.fake import FakeBroker

from .rawclient import RawClient

DIALECTS = {  # profile -> (CONNECT headers, SUBSCRIBE headers)
    "activemq": ({"client-id": "c1"}, {"activemq.subscriptionName": "s1"}),
    "rabbitmq": ({}, {"durable": "true", "auto-delete": "false"}),
    "artemis": ({"client-id": "c1"}, {"durable-subscription-name": "s1"}),
}


@pytest.fixture(params=sorted(DIALECTS))
def profile(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def broker(profile: str) -> Iterator[Broker]:
    with Broker(profile=profile) as running:
        yield running
        running.check()


def _subscribe(broker: Broker, profile: str) -> RawClient:
    connect, subscribe = DIALECTS[profile]
    client = RawClient(broker.port)
    client.connect(**connect)
    client.send("SUBSCRIBE", {"id": "d1", "destination": "/topic/t", **subscribe, "receipt": "sub"})
    client.expect("RECEIPT")
    return client


def _leave(client: RawClient) -> None:
    client.send("DISCONNECT", {"receipt": "bye"})
    client.expect("RECEIPT")
    client.close()


def _publish(broker: Broker, *bodies: str) -> None:
    producer = RawClient(broker.port)
    producer.connect()
    for body in bodies:
        producer.send("SEND", {"destination": "/topic/t", "persistent": "true", "receipt": body}, body)
        producer.expect("RECEIPT")
    _leave(producer)


def test_kept_across_a_restart_and_shown_while_away(broker: Broker, profile: str) -> None:
    _leave(_subscribe(broker, profile))
    _publish(broker, "one", "two")
    broker.restart()
    (durable,) = broker.durable_subscriptions()
    assert not durable.active
    assert durable.topic == "/topic/t"
    assert [m.text for m in durable.messages] == ["one", "two"]
    assert [m.text for m in broker.messages(durable.queue)] == ["one", "two"]
    assert "offline, 2 kept" in broker.snapshot().describe()
    back = _subscribe(broker, profile)
    assert [back.expect("MESSAGE").body for _ in range(2)] == [b"one", b"two"]
    (durable,) = broker.durable_subscriptions()
    assert durable.active and durable.messages == ()


def test_purge_removes_them(broker: Broker, profile: str) -> None:
    _leave(_subscribe(broker, profile))
    _publish(broker, "one")
    broker.reset()
    assert broker.durable_subscriptions() == ()
    _publish(broker, "two")
    back = _subscribe(broker, profile)
    _publish(broker, "three")
    assert back.expect("MESSAGE").body == b"three"  # a new subscription: nothing kept from before


def test_the_plugins_clear_removes_them(profile: str) -> None:
    fake = FakeBroker(profile=profile)
    with fake:
        _leave(_subscribe(fake, profile))
        _publish(fake, "one")
        assert len(fake.durable_subscriptions()) == 1
        fake.clear()
        assert fake.durable_subscriptions() == ()
        assert all(not name.startswith("/durable/") for name in fake.destinations())
