"""What selectors cost at dispatch: messages per second through the engine, with and without them (issue 14).

One queue, N consumers (1, 10, 100), each its own connection, ack:auto; a producer connection
sends messages whose header `n` names one consumer, drawn at random (seeded). Peers in the same run:

  plain        no selectors: the queue's round robin hands each message to the next consumer
  equality     each consumer selects `n = '<its number>'`: the message goes to the consumer
               it names, found by trying the consumers' selectors in rotation order
  compound     `n = '<number>' AND (region IN ('eu', 'us') OR amount > 100) AND kind LIKE 'order-%'`
               (ActiveMQ's string-to-number conversion included)

Measured in the sans-IO engine (no sockets: `Connection.receive_data` with pre-encoded SENDs,
the MESSAGEs drained from every connection's output), profile activemq, so the figures are the
broker's own cost per message. Also: how many selectors compile per second (parse and closures).

Run: .venv/bin/python benchmarks/selector_dispatch.py [--quick] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import random
import time

from stomptest.broker.connection import Connection
from stomptest.broker.engine import Engine
from stomptest.broker.profiles import PROFILES
from stomptest.broker.selectors import compile_selector
from stomptest.protocol import Frame

NOW = 1_000.0
KINDS = ("plain", "equality", "compound")


def _connect(engine: Engine, name: str) -> Connection:
    connection = Connection(engine, name, NOW)
    connection.receive_data(Frame("CONNECT", {"accept-version": "1.2", "host": "/"}).encode("1.2"), NOW)
    connection.data_to_send()
    return connection


def _selector(kind: str, number: int) -> str | None:
    if kind == "plain":
        return None
    if kind == "equality":
        return f"n = '{number}'"
    return f"n = '{number}' AND (region IN ('eu', 'us') OR amount > 100) AND kind LIKE 'order-%'"


def dispatch_rate(kind: str, consumers: int, count: int) -> float:
    """Messages per second from the first SEND to the last MESSAGE written."""
    engine = Engine(PROFILES["activemq"])
    subscribers = [_connect(engine, f"consumer-{number}") for number in range(consumers)]
    for number, subscriber in enumerate(subscribers):
        headers = {"id": "1", "destination": "/queue/bench"}
        selector = _selector(kind, number)
        if selector is not None:
            headers["selector"] = selector
        subscriber.receive_data(Frame("SUBSCRIBE", headers).encode("1.2"), NOW)
    producer = _connect(engine, "producer")
    chosen = random.Random(7)  # consumers named at random: a cyclic order would line up with the rotation
    sends = [
        Frame(
            "SEND",
            {
                "destination": "/queue/bench",
                "n": str(chosen.randrange(consumers)),
                "region": "eu",
                "amount": "250",
                "kind": "order-x",
            },
            b"x" * 100,
        ).encode("1.2")
        for _ in range(count)
    ]
    batch = b"".join(sends)
    delivered = 0
    gc.collect()  # the garbage of the run before (its engine, transcripts) is not this run's cost
    started = time.perf_counter()
    for start in range(0, len(batch), 65536):
        producer.receive_data(batch[start : start + 65536], NOW)
        for subscriber in subscribers:
            delivered += subscriber.data_to_send().count(b"MESSAGE\n")
    elapsed = time.perf_counter() - started
    assert delivered == count, f"{delivered} of {count} messages delivered"
    return count / elapsed


def compile_rate(count: int) -> float:
    text = "n = '7' AND (region IN ('eu', 'us') OR amount > 100) AND kind LIKE 'order-%'"
    started = time.perf_counter()
    for _ in range(count):
        compile_selector(text, "activemq")
    return count / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer messages, for a smoke run")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; each figure is the best of them")
    options = parser.parse_args(argv)
    count = 5_000 if options.quick else 50_000
    best: dict[tuple[str, int], float] = {}
    dispatch_rate("plain", 10, count // 10)  # warm-up: first use of the codec and the engine
    for _ in range(options.repeat):
        for consumers in (1, 10, 100):
            for kind in KINDS:
                rate = dispatch_rate(kind, consumers, count)
                best[(kind, consumers)] = max(best.get((kind, consumers), 0.0), rate)
    print(
        f"dispatch, one queue, {count} messages of 100 bytes, profile activemq (messages/s, best of {options.repeat})"
    )
    print(f"{'consumers':>9}  {'plain':>9}  {'equality':>9}  {'compound':>9}  {'eq/plain':>8}  {'cmp/plain':>9}")
    for consumers in (1, 10, 100):
        plain, equality, compound = (best[(kind, consumers)] for kind in KINDS)
        print(
            f"{consumers:>9}  {plain:>9,.0f}  {equality:>9,.0f}  {compound:>9,.0f}  "
            f"{equality / plain:>8.2f}  {compound / plain:>9.2f}"
        )
    print(f"compile: {compile_rate(2_000 if options.quick else 20_000):,.0f} selectors/s (the compound one)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
