"""A slow consumer: past `max_unconsumed` messages the clients stop reading, and nothing is lost.

The bound is checked by counting, never by the clock: the inbox never holds more than
the bound, every message arrives once and in order, and a pause longer than the
broker's heart-beat interval is not taken for a dead broker. Against the fake broker
and, with STOMPTEST_REAL_BROKERS=1, RabbitMQ and ActiveMQ.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Iterator

import pytest

from stomptest.broker import Broker
from stomptest.client import AsyncClient, Client
from stomptest.protocol import ConfigurationError

BOUND = 20
COUNT = 400
BODY = b"x" * 1000  # 400 KB in all: more than the socket buffers hold, so the broker must feel the pause

REAL = {"rabbitmq": 61613, "activemq": 61614}


@pytest.fixture(params=["fake", "rabbitmq", "activemq"])
def url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "fake":
        with Broker(profile="strict") as broker:
            yield broker.url
            broker.check()
        return
    if os.environ.get("STOMPTEST_REAL_BROKERS") != "1":
        pytest.skip(f"{request.param}: set STOMPTEST_REAL_BROKERS=1 to test against the real broker")
    port = REAL[request.param]
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError as exc:
        pytest.skip(f"{request.param} is not reachable on 127.0.0.1:{port}: {exc}")
    yield f"tcp://127.0.0.1:{port}"


def _wait(condition: object, what: str) -> None:
    """Poll `condition` (a callable) for up to 10 s; a failure names what never happened."""
    for _ in range(2000):
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.005)
    raise AssertionError(f"{what} never happened")


def test_the_blocking_client_stops_reading_at_the_bound_and_loses_nothing(url: str) -> None:
    queue = f"/queue/bounded-{uuid.uuid4().hex[:8]}"
    options = {"login": "guest", "passcode": "guest", "heartbeat": (0, 200), "heartbeat_grace": 1.5}
    with Client(url, max_unconsumed=BOUND, **options) as consumer, Client(url, **options) as producer:  # type: ignore[arg-type]
        consumer.subscribe(queue, receipt=True)
        for number in range(COUNT):
            producer.send(queue, b"%d:" % number + BODY)
        producer.send(queue, b"end", receipt=True)
        _wait(lambda: consumer.connection.reading_paused, "the consumer's inbox filling up")
        assert consumer.connection.unconsumed == BOUND
        time.sleep(0.6)  # three of the broker's heart-beat intervals in which we read nothing
        assert consumer.connection.unconsumed == BOUND  # still: nobody read meanwhile
        # A call waiting for its answer reads past the bound (the RECEIPT is behind the messages) ...
        consumer.send(f"{queue}-other", b"", receipt=True)
        high = consumer.connection.unconsumed
        bodies = []
        for _ in range(COUNT + 1):
            message = consumer.receive(timeout=10)
            assert message is not None
            assert consumer.connection.unconsumed <= max(BOUND, high)  # ... and from then on it never grows
            high = min(high, consumer.connection.unconsumed)
            bodies.append(message.body.split(b":")[0])
        assert bodies == [b"%d" % n for n in range(COUNT)] + [b"end"]
        assert consumer.reconnects == 0 and consumer.lost is None  # the pause was not taken for a dead broker


def test_the_asyncio_client_pauses_the_transport_at_the_bound_and_loses_nothing(url: str) -> None:
    async def scenario() -> None:
        queue = f"/queue/bounded-{uuid.uuid4().hex[:8]}"
        options = {"login": "guest", "passcode": "guest", "heartbeat": (0, 200), "heartbeat_grace": 1.5}
        async with AsyncClient(url, max_unconsumed=BOUND, **options) as consumer:  # type: ignore[arg-type]
            async with AsyncClient(url, **options) as producer:  # type: ignore[arg-type]
                await consumer.subscribe(queue, receipt=True)
                for number in range(COUNT):
                    await producer.send(queue, b"%d:" % number + BODY)
                await producer.send(queue, b"end", receipt=True)
            for _ in range(2000):
                if consumer.connection.reading_paused:
                    break
                await asyncio.sleep(0.005)
            assert consumer.connection.reading_paused and consumer.connection.unconsumed == BOUND
            await asyncio.sleep(0.6)
            assert consumer.connection.unconsumed == BOUND
            await consumer.send(f"{queue}-other", b"", receipt=True)  # reads past the bound, as above
            high = consumer.connection.unconsumed
            bodies = []
            for _ in range(COUNT + 1):
                message = await consumer.receive(timeout=10)
                assert message is not None
                assert consumer.connection.unconsumed <= max(BOUND, high)
                high = min(high, consumer.connection.unconsumed)
                bodies.append(message.body.split(b":")[0])
            assert bodies == [b"%d" % n for n in range(COUNT)] + [b"end"]
            assert consumer.reconnects == 0 and consumer.lost is None

    asyncio.run(scenario())


@pytest.mark.parametrize("bad", [0, -5, 2.5, "100", True])
def test_the_bound_is_checked_with_a_clear_error(bad: object) -> None:
    for client_type in (Client, AsyncClient):
        with pytest.raises(ConfigurationError, match="max_unconsumed must be an int >= 1"):
            client_type("tcp://127.0.0.1:1", max_unconsumed=bad)  # type: ignore[arg-type]
