"""The code under test: a shop that sends each order to a STOMP queue."""

from __future__ import annotations

import json

from stomptest.client import Client


def place(client: Client, queue: str, item: str, quantity: int) -> None:
    client.send(queue, json.dumps({"item": item, "quantity": quantity}), headers={"kind": "order"}, receipt=True)
