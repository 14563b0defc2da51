"""The engine's cost per SEND with one ack:auto consumer, per profile, to a queue or a topic (issue 15).

Routing (broker/routing.py) adds work to every SEND of the profiles that route; this counts it.
Wall-clock time on a shared machine is noise, so count instructions with callgrind, two runs of
different lengths per tree, and take the difference (the start-up cost cancels out):

    valgrind --tool=callgrind --callgrind-out-file=/dev/null python benchmarks/routing.py rabbitmq queue 1
    valgrind --tool=callgrind --callgrind-out-file=/dev/null python benchmarks/routing.py rabbitmq queue 3

(Ir of the second minus Ir of the first) / 2000 is the cost of one SEND and its MESSAGE. Without
valgrind the script prints microseconds per SEND, good only for a rough look.
"""

from __future__ import annotations

import argparse
import time

from stomptest.broker.connection import Connection
from stomptest.broker.engine import Engine
from stomptest.broker.profiles import PROFILES
from stomptest.protocol import Frame


def _connected(engine: Engine) -> Connection:
    connection = Connection(engine, "bench", 0.0)
    connect = Frame("CONNECT", {"accept-version": "1.2", "host": "/", "login": "guest", "passcode": "guest"})
    connection.receive_data(connect.encode("1.2"), 0.0)
    connection.data_to_send()
    return connection


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", choices=sorted(PROFILES))
    parser.add_argument("kind", choices=["queue", "topic"])
    parser.add_argument("rounds", type=int, help="rounds of 1,000 SENDs")
    args = parser.parse_args(argv)
    engine = Engine(PROFILES[args.profile])
    consumer, producer = _connected(engine), _connected(engine)
    destination = f"/{args.kind}/bench"
    consumer.receive_data(Frame("SUBSCRIBE", {"id": "s", "destination": destination}).encode("1.2"), 0.0)
    batch = Frame("SEND", {"destination": destination}, b"x" * 100).encode("1.2") * 1000
    start = time.perf_counter()
    for _ in range(args.rounds):
        producer.receive_data(batch, 0.0)
        consumer.data_to_send()
    elapsed = time.perf_counter() - start
    print(f"{args.profile} {args.kind}: {elapsed / args.rounds / 1000 * 1e6:.2f} us per SEND")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
