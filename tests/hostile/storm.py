"""A storm over sockets: hostile clients send mutated frames while well-behaved clients exchange messages.

Used by the short test in the default suite and by its --soak form (and benchmarks/load.py).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from stomptest.broker import Broker
from stomptest.client import Client
from stomptest.protocol import ConnectionLost
from stomptest.testing.fuzzing import hostile_session

from .sockets import Outcome, exchange

QUEUE = "/queue/good"


@dataclass
class StormResult:
    outcomes: list[Outcome] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)
    acked: Counter[bytes] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    resent: set[bytes] = field(default_factory=set)  # a SEND whose receipt was lost: sent again, may be twice
    drops: int = 0


def storm(
    broker: Broker,
    *,
    seconds: float,
    hostile: int = 16,
    producers: int = 2,
    consumers: int = 2,
    max_messages: int = 400,
    seed: int = 0,
    drop_every: float | None = None,
) -> StormResult:
    """Run the storm for about `seconds`; every thread stops by itself (bounded in count and time).

    With `drop_every`, the broker drops every connection that often; the well-behaved clients then
    use failover URLs, send again when a receipt is lost, and acknowledge redeliveries.
    """
    url = broker.url
    if drop_every is not None:
        url = (
            f"failover:(tcp://127.0.0.1:{broker.port})?initialReconnectDelay=5&maxReconnectDelay=50"
            "&maxReconnectAttempts=200&randomize=false"
        )
    result = StormResult()
    lock = threading.Lock()
    stop = threading.Event()
    deadline = time.monotonic() + seconds

    def attacker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        for _ in range(10_000):
            if time.monotonic() >= deadline:
                return
            try:
                outcome = exchange(broker.port, hostile_session(rng), timeout=5.0)
            except OSError as exc:
                outcome = Outcome(reset=True, unreadable=f"connect failed: {exc}")
            with lock:
                result.outcomes.append(outcome)

    def producer(index: int) -> None:
        try:
            with Client(url) as client:
                for number in range(max_messages):
                    if time.monotonic() >= deadline:
                        break
                    body = f"p{index}-{number}".encode()
                    for attempt in range(100):
                        try:
                            client.send(QUEUE, body, receipt=True)
                            break
                        except ConnectionLost:
                            if drop_every is None or attempt == 99:
                                raise
                            with lock:
                                result.resent.add(body)
                            time.sleep(0.01)
                    with lock:
                        result.sent.append(body)
        except Exception as exc:  # reported, and the test fails on it
            with lock:
                result.failures.append(f"producer {index}: {exc!r}")

    def consumer(index: int) -> None:
        try:
            with Client(url) as client:
                subscription = client.subscribe(
                    QUEUE, ack="client-individual" if index % 2 else "client", headers={"activemq.prefetchSize": "10"}
                )
                quiet_since = None
                for _ in range(1_000_000):
                    message = subscription.receive(timeout=0.2)
                    if message is None:
                        if stop.is_set():
                            quiet_since = quiet_since or time.monotonic()
                            if time.monotonic() - quiet_since > 0.5:
                                return
                        continue
                    quiet_since = None
                    try:
                        client.ack(message, receipt=True)
                    except ConnectionLost:
                        if drop_every is None:
                            raise
                        continue  # delivered on a dropped connection: it comes again
                    with lock:
                        result.acked[message.body] += 1
        except ConnectionLost as exc:
            with lock:
                result.failures.append(f"consumer {index} lost its connection: {exc!r}")
        except Exception as exc:
            with lock:
                result.failures.append(f"consumer {index}: {exc!r}")

    def dropper() -> None:
        assert drop_every is not None
        for _ in range(10_000):
            time.sleep(drop_every)
            if time.monotonic() >= deadline:
                return
            broker.drop_connections()
            with lock:
                result.drops += 1

    threads = [threading.Thread(target=attacker, args=(i,), daemon=True) for i in range(hostile)]
    if drop_every is not None:
        threads.append(threading.Thread(target=dropper, daemon=True))
    threads += [threading.Thread(target=producer, args=(i,), daemon=True) for i in range(producers)]
    readers = [threading.Thread(target=consumer, args=(i,), daemon=True) for i in range(consumers)]
    for thread in threads + readers:
        thread.start()
    for thread in threads:
        thread.join(seconds + 30)
    stop.set()  # producers are done: consumers drain the queue, then stop when it stays quiet
    for thread in readers:
        thread.join(60)
    alive = [thread.name for thread in threads + readers if thread.is_alive()]
    if alive:
        result.failures.append(f"threads still running: {alive}")
    return result
