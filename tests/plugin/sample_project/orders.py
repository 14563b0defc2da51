"""A small stomp.py application: a shop front that places orders and a worker that confirms them."""

from __future__ import annotations

import json
import threading
from typing import Any

import stomp


def connect(address: tuple[str, int], login: str | None, passcode: str | None, vhost: str) -> Any:
    connection = stomp.Connection12([address], vhost=vhost)
    connection.connect(login, passcode, wait=True)
    return connection


class Shop:
    """Places orders as JSON on the orders queue."""

    def __init__(self, connection: Any, orders: str) -> None:
        self.connection = connection
        self.orders = orders

    def place(self, item: str, quantity: int) -> None:
        if quantity <= 0:
            return  # nothing to order
        body = json.dumps({"item": item, "quantity": quantity})
        self.connection.send(self.orders, body, content_type="application/json", headers={"priority": "4"})


class Worker(stomp.ConnectionListener):  # type: ignore[misc]
    """Takes orders with client-individual acknowledgement, confirms each one, then acknowledges it."""

    def __init__(self, connection: Any, orders: str, confirmations: str) -> None:
        self.connection = connection
        self.confirmations = confirmations
        self.done = threading.Event()
        connection.set_listener("worker", self)
        connection.subscribe(orders, id="orders", ack="client-individual")

    def on_message(self, frame: Any) -> None:
        order = json.loads(frame.body)
        text = f"confirmed {order['quantity']} x {order['item']}"
        self.connection.send(self.confirmations, text, headers={"order-item": order["item"]})
        self.connection.ack(frame.headers["ack"])  # STOMP 1.2 acknowledges the MESSAGE's ack header
        self.done.set()
