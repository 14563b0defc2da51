"""The client scenario suite again, over STOMP over WebSocket: the fake broker in each profile, web-stomp, Artemis.

The scenarios of test_scenarios.py are written against `Client(target.url)`; here `target`
is the same broker reached at its WebSocket URL, so every scenario that goes through the
clients runs over both transports with nothing changed. The ones that write raw bytes to a
TCP socket stay in test_scenarios.py. A difference between a fake profile and its real
broker listed in conftest.KNOWN_DIFFERENCES holds over WebSocket too (same target names).

Real targets: RabbitMQ's web-stomp on ws://127.0.0.1:15674/ws and Artemis' STOMP acceptor,
which also upgrades, on ws://127.0.0.1:61615/ws (ActiveMQ Classic's WebSocket transport is
not in Debian's 5.17, so it has none).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from stomptest.broker import PROFILES, Broker
from stomptest.protocol import ConnectionLost

from . import test_scenarios
from .conftest import Spec, Target, _serve, _skip_unless_up, _ws_reachable

WS_CLIENT_SPECS = (
    Spec("fake-strict", "strict"),
    Spec("fake-activemq", "activemq"),
    Spec("fake-rabbitmq", "rabbitmq"),
    Spec("fake-artemis", "artemis"),
    Spec("real-rabbitmq", "rabbitmq", real_port=15674),
    Spec("real-artemis", "artemis", real_port=61615),
)
RAW_TCP = {"test_what_follows_the_nul_of_each_frame"}  # raw bytes on a TCP socket: TCP only
OWN = {"test_binary_body_with_nul_bytes"}  # written again below: over WebSocket the outcome is the profile's

globals().update(
    {
        name: value
        for name, value in vars(test_scenarios).items()
        if name.startswith("test_") and name not in RAW_TCP | OWN
    }
)


def _params() -> list[Any]:
    return [
        pytest.param(spec, id=f"{spec.name}-ws", marks=[pytest.mark.real] if spec.real_port else [])
        for spec in WS_CLIENT_SPECS
    ]


@pytest.fixture(params=_params())
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    spec: Spec = request.param
    facts = PROFILES[spec.profile]
    if spec.real_port is not None:
        _skip_unless_up(spec, _ws_reachable)
        yield from _serve(Target(spec.name, f"ws://127.0.0.1:{spec.real_port}/ws", facts, spec.checks_passcode))
        return
    with Broker(profile=spec.profile, users={"guest": "guest"}) as broker:
        yield from _serve(Target(spec.name, broker.ws_url, facts, spec.checks_passcode, broker=broker))
        broker.check()


def test_binary_body_with_nul_bytes(target: Target) -> None:
    """A body that is not UTF-8 goes out in a binary message; what comes back is the profile's message type.

    RabbitMQ takes the binary message but sends every frame as text, which no conforming
    client can read (ours fails the WebSocket with 1007, as a browser does); ActiveMQ
    Classic's transport ignores binary messages, so the SEND never arrives; Artemis and
    `strict` give the body back whole.
    """
    settings = target.facts.websocket
    client = target.client(receipt_timeout=3.0)
    queue = target.queue()
    subscription = client.subscribe(queue, receipt=True)
    body = bytes(range(256)) * 4
    if settings.input == "frame-per-text-message":
        with pytest.raises(ConnectionLost, match="no RECEIPT for SEND"):
            client.send(queue, body, receipt=True)
        return
    if settings.message_type == "text":
        with pytest.raises(ConnectionLost, match=r"closed with 1007 \(invalid frame payload data\)"):
            client.send(queue, body, receipt=True)  # the MESSAGE may come before the RECEIPT
            subscription.receive(timeout=10)
        return
    client.send(queue, body, receipt=True)
    message = subscription.receive(timeout=10)
    assert message is not None and message.body == body
