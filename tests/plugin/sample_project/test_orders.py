"""The sample application's tests, written with the stomptest fixtures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from orders import Shop, Worker, connect


@pytest.fixture
def connection(stomp_broker: Any) -> Iterator[Any]:
    conn = connect(stomp_broker.address, stomp_broker.login, stomp_broker.passcode, stomp_broker.vhost)
    yield conn
    conn.disconnect()


def test_an_order_goes_to_the_orders_queue(stomp_broker: Any, connection: Any) -> None:
    orders = stomp_broker.destination("/queue/orders")
    Shop(connection, orders).place("apple", 3)
    stomp_broker.assert_sent(
        orders, json.dumps({"item": "apple", "quantity": 3}), headers={"content-type": "application/json"}
    )


def test_an_empty_order_sends_nothing(stomp_broker: Any, connection: Any) -> None:
    orders = stomp_broker.destination("/queue/orders")
    Shop(connection, orders).place("apple", 0)
    stomp_broker.assert_nothing_sent(orders)


def test_the_worker_confirms_each_order(stomp_broker: Any, connection: Any) -> None:
    orders = stomp_broker.destination("/queue/orders")
    confirmations = stomp_broker.destination("/queue/confirmations")
    worker = Worker(connection, orders, confirmations)
    stomp_broker.seed(orders, json.dumps({"item": "pear", "quantity": 2}))
    assert worker.done.wait(5)
    stomp_broker.assert_sent(confirmations, "confirmed 2 x pear", headers={"order-item": "pear"})


@pytest.mark.stomp_fake_only
def test_the_worker_acknowledges_after_confirming(stomp_broker: Any, connection: Any) -> None:
    orders = stomp_broker.destination("/queue/orders")
    Worker(connection, orders, stomp_broker.destination("/queue/confirmations"))
    stomp_broker.seed(orders, json.dumps({"item": "fig", "quantity": 1}))
    stomp_broker.assert_acknowledged(orders, json.dumps({"item": "fig", "quantity": 1}))


@pytest.mark.stomp_broker(profile="rabbitmq", users={"shop": "secret"})
def test_the_shop_logs_in_to_a_rabbitmq_like_broker(stomp_broker: Any, connection: Any) -> None:
    orders = stomp_broker.destination("/queue/orders")
    Shop(connection, orders).place("plum", 1)
    stomp_broker.assert_sent(orders, headers={"priority": "4"})


def test_the_session_broker_is_clean_for_each_test(stomp_broker_session: Any) -> None:
    broker = stomp_broker_session
    conn = connect(broker.address, broker.login, broker.passcode, broker.vhost)
    try:
        orders = broker.destination("/queue/orders")
        broker.assert_nothing_sent(orders, within=0)
        Shop(conn, orders).place("kiwi", 5)
        broker.assert_sent(orders, json.dumps({"item": "kiwi", "quantity": 5}))
    finally:
        conn.disconnect()


test_the_session_broker_is_clean_again = test_the_session_broker_is_clean_for_each_test
