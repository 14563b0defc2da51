"""The example project's tests: the fixtures of stomptest's pytest plugin, as installed from the wheel."""

from __future__ import annotations

import json

import pytest
import shop

from stomptest.client import Client
from stomptest.testing import BrokerHandle


def test_an_order_reaches_the_queue(stomp_broker: BrokerHandle, stomp_client: Client) -> None:
    orders = stomp_broker.destination("/queue/orders")
    shop.place(stomp_client, orders, "fig", 2)
    [sent] = stomp_broker.assert_sent(orders, headers={"kind": "order"})
    assert json.loads(sent.body) == {"item": "fig", "quantity": 2}


@pytest.mark.stomp_broker(profile="rabbitmq", users={"shop": "secret"})
def test_the_client_logs_in_as_the_markers_user(stomp_broker: BrokerHandle, stomp_client: Client) -> None:
    assert stomp_client.connected is not None
    assert stomp_client.connected.frame.headers["server"].startswith("RabbitMQ/")


def test_the_c_fast_path_is_installed() -> None:
    from stomptest.protocol import _speedups  # noqa: F401 (shipped in the wheel)
