"""Client throughput: stomptest's `Client` against stomp.py 9 and stompest 2.3's sync client, in one run.

Same broker, same workload, each client in turn (issue 5):
  send rate     N SENDs of a 100-byte body to a topic nobody subscribes to, then one SEND with a
                receipt so that everything was processed; messages per second.
  end to end    N 100-byte messages from a producer connection (in a thread) to a consumer connection
                subscribed with ack:auto (in the main thread), timed from the first SEND to the last
                MESSAGE received; messages per second.
  round trip    R sequential SENDs each waiting for its RECEIPT; the median in microseconds. The
                clients take turns every 50 round trips, each turn on a fresh connection, so
                all of them are measured in the same stretches of time and with the same
                draws of where the broker's thread runs (see round_trips).

N is 20,000 and R 2,000 (--quick: 2,000 and 100). Brokers: the fake broker (profile strict, in a
subprocess of its own so it does not share our GIL), and real RabbitMQ (127.0.0.1:61613) and
ActiveMQ (127.0.0.1:61614) when they answer. Heart-beats are off everywhere; STOMP 1.2.
Each measurement is repeated (--repeat, default 3; 1 with --quick), the clients taking turns
in every round, and the best result of each is kept: on a shared machine the best run is the
one least disturbed by other work.

--round-trips measures only the round trips, in a process that has done nothing else: after the
throughput runs, the round trips of every client (the raw socket's too) were up to 2.5x slower
and flipped between two levels from one run to the next (two cores: where the scheduler puts the
client and the broker's thread); --repeat rounds, each client's median over them.

--cpu measures instead our client's own CPU per message, without sockets or a broker: MESSAGE
frames as ActiveMQ sends them, pre-encoded, fed through the client connection (parser, session,
inbox) and taken by receive(); and send() down to the encoded bytes.

Run: .venv/bin/python benchmarks/client.py [--quick] [--repeat N] [--brokers fake,rabbitmq,activemq]
     [--clients stomptest,stomp.py,stompest] [--cpu]
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import stomp
from stompest.config import StompConfig
from stompest.protocol import StompSpec
from stompest.sync import Stomp

from stomptest.client import Client
from stomptest.protocol import Frame, Parser

BODY = b"x" * 100
TIMEOUT = 120.0


class Adapter(Protocol):
    """What the benchmark needs from a client library."""

    def send(self, destination: str, body: bytes) -> None: ...
    def send_confirmed(self, destination: str, body: bytes) -> None: ...
    def subscribe(self, destination: str) -> None: ...
    def consume(self, count: int) -> None: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


class Ours:
    name = "stomptest"

    def __init__(self, port: int) -> None:
        self.client = Client(f"tcp://127.0.0.1:{port}", login="guest", passcode="guest", receipt_timeout=TIMEOUT)
        self.client.connect()

    def send(self, destination: str, body: bytes) -> None:
        self.client.send(destination, body)

    def send_confirmed(self, destination: str, body: bytes) -> None:
        self.client.send(destination, body, receipt=True)

    def subscribe(self, destination: str) -> None:
        self.client.subscribe(destination, receipt=True)

    def consume(self, count: int) -> None:
        receive = self.client.receive
        for _ in range(count):
            if receive(TIMEOUT) is None:
                raise RuntimeError("stomptest: a message did not arrive")

    def flush(self) -> None:
        pass  # writes on its own (stomptest's client flushes in the background)

    def close(self) -> None:
        self.client.disconnect()


class _StompPyListener(stomp.ConnectionListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.done = threading.Event()
        self.receipts: dict[str, threading.Event] = {}

    def on_message(self, frame: Any) -> None:
        self.count += 1
        if self.count == self.target:
            self.done.set()

    def on_receipt(self, frame: Any) -> None:
        event = self.receipts.pop(frame.headers["receipt-id"], None)
        if event is not None:
            event.set()


class StompPy:
    name = "stomp.py"

    def __init__(self, port: int) -> None:
        self.connection = stomp.Connection12([("127.0.0.1", port)], vhost="/", heartbeats=(0, 0))
        self.listener = _StompPyListener()
        self.connection.set_listener("bench", self.listener)
        self.connection.connect("guest", "guest", wait=True)
        self.counter = 0

    def send(self, destination: str, body: bytes) -> None:
        self.connection.send(destination, body)

    def _confirmed(self, action: Callable[[str], None]) -> None:
        self.counter += 1
        receipt = f"r-{self.counter}"
        event = self.listener.receipts[receipt] = threading.Event()
        action(receipt)
        if not event.wait(TIMEOUT):
            raise RuntimeError("stomp.py: no receipt")

    def send_confirmed(self, destination: str, body: bytes) -> None:
        self._confirmed(lambda r: self.connection.send(destination, body, headers={"receipt": r}))

    def subscribe(self, destination: str) -> None:
        self._confirmed(lambda r: self.connection.subscribe(destination, id="1", ack="auto", headers={"receipt": r}))

    def consume(self, count: int) -> None:
        self.listener.target += count
        if self.listener.count < self.listener.target and not self.listener.done.wait(TIMEOUT):
            raise RuntimeError("stomp.py: messages did not arrive")

    def flush(self) -> None:
        pass  # writes on its own (stomptest's client flushes in the background)

    def close(self) -> None:
        self.connection.disconnect()


class Stompest:
    name = "stompest"

    def __init__(self, port: int) -> None:
        config = StompConfig(f"tcp://127.0.0.1:{port}", login="guest", passcode="guest", version=StompSpec.VERSION_1_2)
        self.client = Stomp(config)
        self.client.connect(host="/", connectedTimeout=TIMEOUT)
        self.counter = 0

    def send(self, destination: str, body: bytes) -> None:
        self.client.send(destination, body)

    def _wait_receipt(self, receipt: str) -> None:
        while True:
            frame = self.client.receiveFrame()
            if frame.command == StompSpec.RECEIPT and frame.headers.get(StompSpec.RECEIPT_ID_HEADER) == receipt:
                return

    def send_confirmed(self, destination: str, body: bytes) -> None:
        self.counter += 1
        receipt = f"r-{self.counter}"
        self.client.send(destination, body, receipt=receipt)
        self._wait_receipt(receipt)

    def subscribe(self, destination: str) -> None:
        headers = {StompSpec.ID_HEADER: "1", StompSpec.ACK_HEADER: StompSpec.ACK_AUTO}
        self.client.subscribe(destination, headers, receipt="sub")
        self._wait_receipt("sub")

    def consume(self, count: int) -> None:
        received = 0
        while received < count:
            if not self.client.canRead(TIMEOUT):
                raise RuntimeError("stompest: messages did not arrive")
            if self.client.receiveFrame().command == StompSpec.MESSAGE:
                received += 1

    def flush(self) -> None:
        pass  # writes on its own (stomptest's client flushes in the background)

    def close(self) -> None:
        self.client.disconnect()
        self.client.close()


class RawSocket:
    """No client library at all: the broker's ceiling for this workload, from the same machine and run.

    SENDs are pre-encoded and written in 64 KiB batches; MESSAGEs are only counted, with our
    parser's C fast path. Whatever a client library does costs more than this.
    """

    name = "raw socket"

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.parser = Parser("1.2")
        self.buffer = memoryview(bytearray(262144))
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.messages = 0  # MESSAGE frames read
        self.taken = 0  # of which consume() has handed out
        self.receipts: set[str] = set()
        self.counter = 0
        self.frames: dict[str, bytes] = {}
        connect = {"accept-version": "1.2", "host": "/", "login": "guest", "passcode": "guest"}
        self.sock.sendall(Frame("CONNECT", connect).encode())
        while not self.connected():
            pass

    def connected(self) -> bool:
        return any(isinstance(item, Frame) and item.command == "CONNECTED" for item in self.parser.feed(self._recv()))

    def _recv(self) -> bytes:
        # Into one buffer: a fresh recv(256 KiB) has the allocator map and unmap 256 KiB on many reads
        # (measured: 20 µs more per round trip on the project machine), which no tuned client pays.
        view = self.buffer
        data = bytes(view[: self.sock.recv_into(view)])
        if not data:
            raise RuntimeError("raw socket: the broker closed the connection")
        return data

    def _read(self) -> None:
        for item in self.parser.feed(self._recv()):
            if isinstance(item, Frame):
                if item.command == "MESSAGE":
                    self.messages += 1
                elif item.command == "RECEIPT":
                    self.receipts.add(item.headers["receipt-id"])
                elif item.command == "ERROR":
                    raise RuntimeError(f"raw socket: ERROR {item.headers.get('message')}")

    def flush(self) -> None:
        self._flush()

    def _flush(self) -> None:
        if self.pending:
            self.sock.sendall(b"".join(self.pending))
            self.pending.clear()
            self.pending_bytes = 0

    def send(self, destination: str, body: bytes) -> None:
        frame = self.frames.get(destination)
        if frame is None:
            frame = self.frames[destination] = Frame("SEND", {"destination": destination}, body).encode()
        self.pending.append(frame)
        self.pending_bytes += len(frame)
        if self.pending_bytes >= 65536:
            self._flush()

    def _confirmed(self, command: str, headers: dict[str, str], body: bytes = b"") -> None:
        self.counter += 1
        receipt = f"r-{self.counter}"
        self.pending.append(Frame(command, {**headers, "receipt": receipt}, body).encode())
        self._flush()
        while receipt not in self.receipts:
            self._read()

    def send_confirmed(self, destination: str, body: bytes) -> None:
        self._confirmed("SEND", {"destination": destination}, body)

    def subscribe(self, destination: str) -> None:
        self._confirmed("SUBSCRIBE", {"destination": destination, "id": "1", "ack": "auto"})

    def consume(self, count: int) -> None:
        self.taken += count  # messages read past `count` count towards the next call
        while self.messages < self.taken:
            self._read()

    def close(self) -> None:
        self._flush()
        self.sock.close()


CLIENTS: dict[str, Callable[[int], Adapter]] = {
    "stomptest": Ours,
    "stomp.py": StompPy,
    "stompest": Stompest,
    "raw": RawSocket,
}
REAL = {"rabbitmq": 61613, "activemq": 61614}


def send_rate(factory: Callable[[int], Adapter], port: int, count: int) -> float:
    client = factory(port)
    topic = f"/topic/bench-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    for _ in range(count):
        client.send(topic, BODY)
    client.send_confirmed(topic, BODY)
    elapsed = time.perf_counter() - started
    client.close()
    return count / elapsed


def end_to_end(factory: Callable[[int], Adapter], port: int, count: int) -> float:
    queue = f"/queue/bench-{uuid.uuid4().hex[:8]}"
    consumer = factory(port)
    consumer.subscribe(queue)
    producer = factory(port)
    failure: list[BaseException] = []

    def produce() -> None:
        try:
            for _ in range(count):
                producer.send(queue, BODY)
            producer.flush()
        except BaseException as exc:
            failure.append(exc)

    started = time.perf_counter()
    thread = threading.Thread(target=produce)
    thread.start()
    consumer.consume(count)
    elapsed = time.perf_counter() - started
    thread.join()
    if failure:
        raise failure[0]
    producer.close()
    consumer.close()
    return count / elapsed


def round_trips(
    factories: dict[str, Callable[[int], Adapter]], port: int, count: int, turn: int = 50, warm_up: int = 5
) -> dict[str, float]:
    """The median SEND->RECEIPT time of each client, in microseconds, the clients taking turns every `turn` trips.

    Taking turns puts every client in the same stretches of time. Measured one after the
    other, a client's median carried whatever else the machine did in its stretch alone:
    on this shared two-core machine that moved one client's median by up to 2x between
    runs, more than the differences between clients.

    Each turn is on a fresh connection (its first `warm_up` trips not counted). ActiveMQ
    serves each connection with a thread of its own, and where the scheduler keeps that
    thread decides the round trip: on the client's CPU about 30 µs, on the other CPU of
    this two-core virtual machine about 70 µs (a cross-CPU wake-up each way), and a
    thread stays where it is for many turns (docs/benchmarks.md). On one connection per
    run, one client could draw the slow CPU and another the quick one; fresh connections
    give every client the same draws.
    """
    topic = f"/topic/bench-{uuid.uuid4().hex[:8]}"
    samples: dict[str, list[float]] = {name: [] for name in factories}
    done = 0
    while done < count:
        trips = min(turn, count - done)
        for name, factory in factories.items():
            client = factory(port)
            try:
                for _ in range(warm_up):  # connection set-up, caches, the reading hand-off
                    client.send_confirmed(topic, BODY)
                times = samples[name]
                for _ in range(trips):
                    started = time.perf_counter()
                    client.send_confirmed(topic, BODY)
                    times.append(time.perf_counter() - started)
            finally:
                client.close()
        done += trips
    return {name: statistics.median(times) * 1e6 for name, times in samples.items()}


@contextmanager
def fake_broker() -> Iterator[int]:
    """The fake broker in a child process; it stops when its stdin closes."""
    code = (
        "import sys; from stomptest.broker import Broker; b = Broker(profile='strict').start(); "
        "print(b.port, flush=True); sys.stdin.read(); b.stop()"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        yield int(child.stdout.readline())
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(30)


def reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def listener_pid(port: int) -> int | None:
    """The process listening on 127.0.0.1:`port`, found through /proc (Linux; None elsewhere or without rights)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                return int(proc.name)
        except OSError:
            continue
    return None


def process_cpu(pid: int | None) -> float | None:
    """User plus system CPU seconds of process `pid` (all its threads) so far."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(brokers: list[str], clients: list[str], count: int, trips: int, repeat: int = 1) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for broker in brokers:
        with _broker_port(broker) as port:
            if port is None:
                print(f"# {broker}: not reachable on 127.0.0.1, skipped")
                continue
            best: dict[str, dict[str, Any]] = {}
            pid = listener_pid(port)
            for _ in range(repeat):
                for name in clients:
                    factory = CLIENTS[name]
                    row = best.setdefault(name, {"broker": broker, "client": name, "send": 0.0, "e2e": 0.0})
                    row["send"] = max(row["send"], send_rate(factory, port, count))
                    ours, theirs = time.process_time(), process_cpu(pid)
                    rate = end_to_end(factory, port, count)
                    if rate > row["e2e"]:  # the CPU that the best run cost, both sides, per message
                        after = process_cpu(pid)
                        row["e2e"] = rate
                        row["client_cpu"] = (time.process_time() - ours) / count * 1e6
                        row["broker_cpu"] = None if after is None or theirs is None else (after - theirs) / count * 1e6
                medians = round_trips({name: CLIENTS[name] for name in clients}, port, trips)
                for name, median in medians.items():
                    best[name]["rtt"] = min(best[name].get("rtt", float("inf")), median)
            for name in clients:
                row = best[name]
                rows.append(row)
                broker_cpu = "?" if row["broker_cpu"] is None else f"{row['broker_cpu']:.0f}"
                print(
                    f"{broker:9} {name:10} send {row['send']:9.0f} msg/s   end-to-end {row['e2e']:9.0f} msg/s "
                    f"(CPU per message: client {row['client_cpu']:4.1f} us, broker {broker_cpu:>3} us)   "
                    f"SEND->RECEIPT median {row['rtt']:7.0f} us",
                    flush=True,
                )
    return rows


@contextmanager
def _broker_port(broker: str) -> Iterator[int | None]:
    if broker == "fake":
        with fake_broker() as port:
            yield port
    else:
        port = REAL[broker]
        yield port if reachable(port) else None


def ratios(rows: list[dict[str, Any]]) -> None:
    print("\nratios (stomptest / other; round trip: other / stomptest, so > 1 means stomptest is faster)")
    for broker in dict.fromkeys(r["broker"] for r in rows):
        ours = next((r for r in rows if r["broker"] == broker and r["client"] == "stomptest"), None)
        if ours is None:
            continue
        for other in (r for r in rows if r["broker"] == broker and r["client"] != "stomptest"):
            print(
                f"{broker:9} vs {other['client']:9} send x{ours['send'] / other['send']:.2f}   "
                f"end-to-end x{ours['e2e'] / other['e2e']:.2f}   round trip x{other['rtt'] / ours['rtt']:.2f}"
            )


def client_cpu(count: int, repeat: int) -> None:
    """Microseconds of CPU per message in our client alone (best of `repeat`), by stage; reaches into privates."""
    from stomptest.protocol.frame import Frame
    from stomptest.protocol.parser import Parser

    class NullSocket:
        def sendall(self, data: bytes) -> None:
            pass

    client = Client("tcp://127.0.0.1:1")
    connection = client.connection
    connection.open(0.0)
    connection.receive_data(Frame("CONNECTED", {"version": "1.2"}).encode(), 0.0)
    client._status = "connected"
    client._sock = NullSocket()  # type: ignore[assignment]
    connection.send_frame(lambda session: session.subscribe("/queue/a", id="1")[0])
    connection.data_to_send(0.0)
    headers = [
        ("destination", "/queue/a"),
        ("message-id", "ID:host-40000-1764180000000-1:1:1:1:1"),
        ("subscription", "1"),
        ("content-length", "100"),
        ("expires", "0"),
        ("priority", "4"),
        ("timestamp", "1764180000000"),
    ]
    batch = 200  # frames per socket read
    chunk = Frame("MESSAGE", headers, BODY).encode() * batch

    def parse() -> None:
        parser = Parser("1.2")
        for _ in range(count // batch):
            parser.feed(chunk)

    def receive() -> None:
        for _ in range(count // batch):
            connection.receive_data(chunk, 0.0)
            for _ in range(batch):
                client.receive(1.0)

    def send() -> None:
        for _ in range(count):
            client.send("/queue/a", BODY)
        client.flush()

    results = {}
    for name, stage in (("parse", parse), ("parse+receive", receive), ("send", send)):
        best = float("inf")
        for _ in range(repeat):
            started = time.process_time()
            stage()
            best = min(best, time.process_time() - started)
        results[name] = best / count * 1e6
    print(
        f"stomptest CPU per message: parser {results['parse']:.2f} us, receive path after the parser "
        f"{results['parse+receive'] - results['parse']:.2f} us (total {results['parse+receive']:.2f}), "
        f"send {results['send']:.2f} us"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 messages and 100 round trips")
    parser.add_argument("--repeat", type=int, default=None, help="rounds per measurement (default 3, --quick 1)")
    parser.add_argument("--brokers", default="fake,activemq,rabbitmq", help="comma-separated: fake, activemq, rabbitmq")
    parser.add_argument(
        "--clients", default="stomptest,stomp.py,stompest,raw", help="comma-separated: stomptest,stomp.py,stompest,raw"
    )
    parser.add_argument("--cpu", action="store_true", help="our client's CPU per message, no sockets (see above)")
    parser.add_argument(
        "--round-trips",
        action="store_true",
        help="only the round trips, in a process that did nothing else first (see above)",
    )
    options = parser.parse_args(argv)
    brokers = [b for b in options.brokers.split(",") if b]
    clients = [c for c in options.clients.split(",") if c]
    unknown = [b for b in brokers if b != "fake" and b not in REAL] + [c for c in clients if c not in CLIENTS]
    if unknown:
        parser.error(f"unknown broker or client: {', '.join(unknown)}")
    count, trips = (2_000, 100) if options.quick else (20_000, 2_000)
    repeat = options.repeat if options.repeat is not None else (1 if options.quick else 3)
    if repeat < 1:
        parser.error("--repeat must be at least 1")
    if options.cpu:
        client_cpu(count, max(repeat, 3))
        return 0
    print(
        f"# {count} messages of {len(BODY)} bytes, {trips} round trips, best of {repeat}; "
        f"python {sys.version.split()[0]}"
    )
    if options.round_trips:
        round_trips_only(brokers, clients, trips, repeat)
        return 0
    rows = run(brokers, clients, count, trips, repeat)
    ratios(rows)
    return 0


def round_trips_only(brokers: list[str], clients: list[str], trips: int, repeat: int) -> None:
    """Each round's medians and the median over rounds, per client; ratios to stomptest's."""
    for broker in brokers:
        with _broker_port(broker) as port:
            if port is None:
                print(f"# {broker}: not reachable on 127.0.0.1, skipped")
                continue
            rounds = [round_trips({name: CLIENTS[name] for name in clients}, port, trips) for _ in range(repeat)]
            overall = {name: statistics.median(r[name] for r in rounds) for name in clients}
            for name in clients:
                each = " ".join(f"{r[name]:.0f}" for r in rounds)
                print(f"{broker:9} {name:10} SEND->RECEIPT median of {repeat} rounds {overall[name]:6.0f} us  ({each})")
            if "stomptest" in overall:
                for name in clients:
                    if name != "stomptest":
                        print(f"{broker:9} {name:10} / stomptest: x{overall[name] / overall['stomptest']:.2f}")


if __name__ == "__main__":
    sys.exit(main())
