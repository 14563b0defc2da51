"""The fake broker's costs, side by side with real RabbitMQ and ActiveMQ in the same run (issue 4).

  start+stop    Broker().start() then stop(), repeated; median and 90th percentile in ms. The first
                start of the process (which imports gevent) is reported apart.
  round trip    sequential SENDs each waiting for its RECEIPT; median in microseconds, measured with a
                raw socket client (TCP_NODELAY) and with stomp.py (which leaves Nagle on, so the
                broker's TCP_QUICKACK matters).
  end to end    20,000 100-byte messages with stomp.py 9: a producer connection (in a thread) SENDs
                to a fresh queue, a consumer connection subscribed with ack:auto receives; timed
                from the first SEND to the last MESSAGE; messages per second.

Brokers: the fake broker in a subprocess of its own (`stomptest broker`, profile strict: like a
real broker it does not share the client's GIL), the fake broker in this process (how tests use
it), and RabbitMQ (127.0.0.1:61613) and ActiveMQ (127.0.0.1:61614) when they answer a CONNECT.
Heart-beats off, STOMP 1.2. End to end is measured in --repeat rounds (default 3) in which the
brokers take turns, and each keeps its best; the CPU time this process spent per message comes
with it: user time, spent in Python code holding the GIL (stomp.py's own, plus the broker's for
the in-process fake), while time in system calls runs without it.

Run: .venv/bin/python benchmarks/broker.py [--quick] [--brokers fake-process,fake,rabbitmq,activemq]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import stomp

from stomptest.broker import Broker
from stomptest.protocol import Frame, Parser

BODY = "x" * 100
REAL = {"rabbitmq": 61613, "activemq": 61614}


def answers(port: int) -> bool:
    """Whether a STOMP broker answers CONNECT on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            sock.sendall(Frame("CONNECT", {"accept-version": "1.2", "host": "/"}).encode())
            sock.settimeout(5)
            return sock.recv(4096).startswith(b"CONNECTED")
    except OSError:
        return False


@contextmanager
def fake_in_process() -> Iterator[int]:
    with Broker(profile="strict") as broker:
        yield broker.port


@contextmanager
def fake_in_subprocess() -> Iterator[int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "stomptest.cli", "broker", "--port", "0", "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        yield int(line.rsplit(":", 1)[1])
    finally:
        process.terminate()
        process.wait(30)


@contextmanager
def real(port: int) -> Iterator[int]:
    yield port


# -- start + stop


def start_stop(repeat: int) -> tuple[float, float, float]:
    """(first start+stop, median, 90th percentile) in ms."""
    began = time.perf_counter()
    Broker().start().stop()
    first = (time.perf_counter() - began) * 1000
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        broker = Broker().start()
        broker.stop()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return first, statistics.median(times), times[int(len(times) * 0.9)]


# -- round trips


def raw_round_trip(port: int, count: int) -> float:
    """Median SEND->RECEIPT time in microseconds over a TCP_NODELAY socket."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        parser = Parser()
        sock.sendall(Frame("CONNECT", {"accept-version": "1.2", "host": "/"}).encode())
        _read_until(sock, parser, "CONNECTED")
        destination = f"/topic/bench-{uuid.uuid4().hex}"
        times = []
        for n in range(count):
            frame = Frame("SEND", {"destination": destination, "receipt": str(n)}, BODY).encode()
            began = time.perf_counter()
            sock.sendall(frame)
            _read_until(sock, parser, "RECEIPT")
            times.append((time.perf_counter() - began) * 1e6)
        return statistics.median(times)


def _read_until(sock: socket.socket, parser: Parser, command: str) -> None:
    while True:
        for item in parser.feed(sock.recv(65536)):
            if isinstance(item, Frame) and item.command == command:
                return


class _Receipts(stomp.ConnectionListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.event = threading.Event()

    def on_receipt(self, frame: Any) -> None:
        self.event.set()


def stomp_round_trip(port: int, count: int) -> float:
    """Median SEND->RECEIPT time in microseconds with stomp.py (Nagle left on, a receiver thread)."""
    connection = stomp.Connection12([("127.0.0.1", port)], vhost="/")
    listener = _Receipts()
    connection.set_listener("r", listener)
    connection.connect(wait=True)
    destination = f"/topic/bench-{uuid.uuid4().hex}"
    times = []
    for n in range(count):
        listener.event.clear()
        began = time.perf_counter()
        connection.send(destination, BODY, receipt=str(n))
        if not listener.event.wait(30):
            raise RuntimeError("no RECEIPT within 30 s")
        times.append((time.perf_counter() - began) * 1e6)
    connection.disconnect()
    return statistics.median(times)


# -- end to end


class _Counter(stomp.ConnectionListener):  # type: ignore[misc]
    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.count = 0
        self.done = threading.Event()
        self.last = 0.0

    def on_message(self, frame: Any) -> None:
        self.count += 1
        if self.count == self.expected:
            self.last = time.perf_counter()
            self.done.set()


def end_to_end(port: int, count: int) -> float:
    """Messages per second from the first SEND to the last MESSAGE, with stomp.py on both sides."""
    destination = f"/queue/bench-{uuid.uuid4().hex}"
    consumer = stomp.Connection12([("127.0.0.1", port)], vhost="/")
    counter = _Counter(count)
    consumer.set_listener("c", counter)
    consumer.connect(wait=True)
    consumer.subscribe(destination, id="1", ack="auto", receipt="subscribed")
    time.sleep(0.2)  # let the subscription settle (stomp.py gives no simple wait on a receipt)
    producer = stomp.Connection12([("127.0.0.1", port)], vhost="/")
    producer.connect(wait=True)
    started = [0.0]

    def produce() -> None:
        started[0] = time.perf_counter()
        for _ in range(count):
            producer.send(destination, BODY)

    thread = threading.Thread(target=produce)
    thread.start()
    if not counter.done.wait(600):
        raise RuntimeError(f"only {counter.count} of {count} messages arrived")
    thread.join()
    rate = count / (counter.last - started[0])
    producer.disconnect()
    consumer.disconnect()
    return rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke test)")
    parser.add_argument("--brokers", default="fake-process,fake,rabbitmq,activemq")
    parser.add_argument("--repeat", type=int, default=3, help="end-to-end rounds, brokers alternating (default 3)")
    args = parser.parse_args(argv)
    messages = 2000 if args.quick else 20_000
    trips = 100 if args.quick else 2000
    repeat = 30 if args.quick else 300

    first, median, p90 = start_stop(repeat)
    print(f"start+stop: median {median:.2f} ms, p90 {p90:.2f} ms over {repeat} (first in the process {first:.1f} ms)")

    targets = {"fake-process": fake_in_subprocess, "fake": fake_in_process}
    wanted = args.brokers.split(",")
    rounds = 1 if args.quick else args.repeat
    rtts: dict[str, tuple[float, float]] = {}
    rates: dict[str, float] = {}
    cpus: dict[str, float] = {}
    with ExitStack() as stack:
        ports: dict[str, int] = {}
        for name in wanted:
            if name in REAL:
                if not answers(REAL[name]):
                    print(f"{name}: not answering on 127.0.0.1:{REAL[name]}, skipped (scripts/real-brokers.sh start)")
                    continue
                ports[name] = stack.enter_context(real(REAL[name]))
            else:
                ports[name] = stack.enter_context(targets[name]())
        for name, port in ports.items():
            rtts[name] = (raw_round_trip(port, trips), stomp_round_trip(port, trips // 2))
        for _ in range(rounds):  # brokers take turns, so a disturbance hits all of them alike
            for name, port in ports.items():
                cpu_before = os.times().user  # user time: the Python code, which holds the GIL (syscalls do not)
                rate = end_to_end(port, messages)
                cpu = (os.times().user - cpu_before) / messages * 1e6
                if rate > rates.get(name, 0.0):
                    rates[name], cpus[name] = rate, cpu

    print(f"\nend to end: best of {rounds} alternating rounds; 'CPU here' is this process's user CPU per message")
    print("(stomp.py's producer and consumer; for 'fake', the broker's thread too: they share one GIL)\n")
    print(f"{'broker':<14}{'RTT raw µs':>12}{'RTT stomp.py µs':>17}{'stomp.py e2e msgs/s':>21}{'CPU here µs':>13}")
    for name, rate in rates.items():
        raw, with_stomp_py = rtts[name]
        print(f"{name:<14}{raw:>12.0f}{with_stomp_py:>17.0f}{rate:>21,.0f}{cpus[name]:>13.1f}")
    reals = {name: rate for name, rate in rates.items() if name in REAL}
    if reals:
        best = max(reals, key=lambda name: reals[name])
        print(f"\nratios to the best real broker here ({best}, {reals[best]:,.0f} msgs/s):")
        for name, rate in rates.items():
            print(f"  {name:<14} throughput x{rate / reals[best]:.2f}")
        print(
            f"\nstomp.py alone needed {cpus[best]:.1f} µs of user CPU per message with {best}: sharing its GIL, no "
            f"broker in this process can pass {1e6 / cpus[best]:,.0f} msgs/s, whatever its own cost"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
