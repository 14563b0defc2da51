"""Load and faults: memory, time and loss of the fake broker under the long forms of issue 8.

  idle       N concurrent idle connections with heart-beats (default 10,000 at 5,000 ms both ways),
             held for a while: the broker's RSS growth (target < 150 MB), connections lost (must be 0),
             heart-beats received.
  queued     N 100-byte messages SENT to one queue with nobody subscribed (default 1,000,000), then
             drained by one consumer: the broker's RSS growth while they are queued (target < 400 MB),
             send and drain rates, messages lost or duplicated (must be 0).
  slow       a slow consumer with prefetch (client-individual ack, activemq.prefetchSize) under a fast
             producer: the most unacknowledged deliveries seen (must not pass the prefetch), messages
             lost or duplicated (must be 0), the broker's RSS growth.
  restarts   N restarts of the broker (default 1,000) under a failover `Client` consuming with
             ack:client-individual: time per restart, messages lost or acknowledged twice (must be 0);
             restarts-async: the same with an `AsyncClient`.

The broker runs in a subprocess of its own (`load.py serve`), so its RSS is its own and its
file descriptors do not count against ours; for `restarts` it runs in this process (a restart
keeps the queued messages only within one process). Everything is on 127.0.0.1, bounded in
count and time, and stops by itself. Results go to docs/benchmarks/load.json (for
benchmarks/plots.py) and are printed as a Markdown table.

Run: .venv/bin/python benchmarks/load.py [--quick] [--only idle,queued,slow,restarts]
     [--connections N] [--messages N] [--restarts N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "benchmarks" / "load.json"
BODY_SIZE = 100


def raise_fd_limit() -> int:
    """Raise RLIMIT_NOFILE to the hard limit (allowed without privileges); return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def rss_kb(pid: int | None = None) -> int:
    """Resident set size in KiB from /proc (Linux)."""
    path = f"/proc/{pid or 'self'}/status"
    with open(path) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS in {path}")


# -- the broker in a subprocess


def serve(argv: list[str]) -> None:
    """`load.py serve [limit=value ...]`: run a broker, print its port, answer commands on stdin."""
    raise_fd_limit()
    from stomptest.broker import Broker

    settings = dict(item.split("=", 1) for item in argv)
    profile = settings.pop("profile", "strict")
    limits: dict[str, Any] = {name: int(value) for name, value in settings.items()}
    broker = Broker(profile=profile, **limits).start()
    engine = broker.engine
    inside = broker._call  # counts straight from the engine, in its thread: a snapshot of 1e6 messages costs
    print(broker.port, flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "rss":
            answer: object = rss_kb()
        elif command == "connections":
            answer = len([c for c in broker.connections() if c.state == "connected"])
        elif command == "queued":
            answer = inside(lambda: {name: len(d.messages) for name, d in engine.destinations.items()})
        elif command == "unacked":
            answer = inside(lambda: sum(len(c.unacked) for c in engine.connections.values()))
        elif command == "closed":  # why the last (up to 100) closed connections were closed
            answer = inside(lambda: dict(Counter(str(c.close_reason) for c in engine.finished)))
        elif command == "check":
            try:
                broker.check()
                answer = "ok"
            except Exception as exc:
                answer = str(exc)
        elif command == "quit":
            break
        else:
            answer = f"unknown command {command!r}"
        print(json.dumps(answer), flush=True)
    broker.stop()


class BrokerProcess:
    """A broker in a subprocess (`serve`), asked for its RSS, connection count and health by line."""

    def __init__(self, profile: str = "strict", **limits: int) -> None:
        args = [f"profile={profile}", *(f"{name}={value}" for name, value in limits.items())]
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "serve", *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def ask(self, command: str) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def rss_kb(self) -> int:
        return rss_kb(self.process.pid)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.ask("quit")
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def broker_process(profile: str = "strict", **limits: int) -> Iterator[BrokerProcess]:
    broker = BrokerProcess(profile, **limits)
    try:
        yield broker
    finally:
        broker.close()


# -- idle connections with heart-beats


def idle_connections(count: int, heartbeat_ms: int, hold: float) -> dict[str, Any]:
    """Open `count` connections that only exchange heart-beats for `hold` seconds; nothing may be lost."""
    raise_fd_limit()
    connect = f"CONNECT\naccept-version:1.2\nhost:/\nheart-beat:{heartbeat_ms},{heartbeat_ms}\n\n\x00".encode()
    with broker_process(max_connections=count + 100) as broker:
        time.sleep(0.2)
        base = broker.rss_kb()
        selector = selectors.DefaultSelector()
        sockets: list[socket.socket] = []
        pending: dict[socket.socket, bytes] = {}
        beats: Counter[socket.socket] = Counter()
        lost: list[str] = []
        started = time.monotonic()

        def read_ready(timeout: float) -> None:
            for key, _ in selector.select(timeout):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data = sock.recv(4096)
                except OSError as exc:
                    data = b""
                    lost.append(repr(exc))
                if not data:
                    lost.append("closed by the broker")
                    selector.unregister(sock)
                    continue
                if sock in pending:
                    got = pending[sock] + data
                    if b"\x00" not in got:
                        pending[sock] = got
                        continue
                    del pending[sock]
                    data = got[got.index(b"\x00") + 1 :]
                beats[sock] += data.count(b"\n")

        period = heartbeat_ms / 1000 / 2  # we beat at half the promised interval
        next_beat = time.monotonic() + period

        def beat_if_due() -> None:
            nonlocal next_beat
            if time.monotonic() < next_beat:
                return
            for sock in sockets:
                if sock not in pending:
                    with contextlib.suppress(OSError):  # a full buffer or a closed socket: seen by the reader
                        sock.send(b"\n")
            next_beat = time.monotonic() + period

        for index in range(count):
            sock = socket.create_connection(("127.0.0.1", broker.port), timeout=10)
            sock.setblocking(False)
            sock.send(connect)
            pending[sock] = b""
            selector.register(sock, selectors.EVENT_READ)
            sockets.append(sock)
            if index % 100 == 99:
                read_ready(0)
                beat_if_due()  # connections opened first must not time out while the last ones open
        deadline = time.monotonic() + 60
        while pending and time.monotonic() < deadline:
            read_ready(0.05)
            beat_if_due()
        connect_seconds = time.monotonic() - started
        connected = broker.ask("connections")
        after_connect = broker.rss_kb()
        beats.clear()  # count the heart-beats of the hold only
        hold_until = time.monotonic() + hold
        while time.monotonic() < hold_until:
            beat_if_due()
            read_ready(min(0.05, max(0.0, next_beat - time.monotonic())))
        after_hold = broker.rss_kb()
        still = broker.ask("connections")
        closed = broker.ask("closed")
        health = broker.ask("check")
        for sock in sockets:
            sock.close()
        selector.close()
    return {
        "connections": count,
        "heartbeat_ms": heartbeat_ms,
        "hold_s": hold,
        "connected": connected,
        "still_connected_after_hold": still,
        "lost": len(lost),
        "closed_by_broker_because": closed,
        "not_connected": len(pending),
        "connect_s": round(connect_seconds, 2),
        "broker_rss_base_mb": round(base / 1024, 1),
        "broker_rss_growth_mb": round((after_connect - base) / 1024, 1),
        "broker_rss_growth_after_hold_mb": round((after_hold - base) / 1024, 1),
        "kb_per_connection": round((after_hold - base) / count, 2),
        "heartbeats_received": sum(beats.values()),
        "connections_never_beaten": sum(1 for sock in sockets if not beats[sock]),
        "target_mb": 150,
        "check": health,
    }


# -- queued messages


def _frames(start: int, stop: int, destination: bytes) -> bytes:
    out = []
    for number in range(start, stop):
        body = b"%010d" % number
        body += b"." * (BODY_SIZE - len(body))
        out.append(b"SEND\ndestination:" + destination + b"\n\n" + body + b"\x00")
    return b"".join(out)


def _send_all(sock: socket.socket, count: int, destination: bytes, batch: int = 2000) -> None:
    for start in range(0, count, batch):
        sock.sendall(_frames(start, min(start + batch, count), destination))


class _Reader:
    """Reads frames from a raw socket (the stomptest parser), counting MESSAGE bodies."""

    def __init__(self, sock: socket.socket) -> None:
        from stomptest.protocol import Frame, Parser

        self.sock = sock
        self.parser = Parser("1.2")
        self.frame_type = Frame

    def frames(self, timeout: float) -> list[Any]:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1 << 20)
        except TimeoutError:
            return []
        if not data:
            raise ConnectionError("the broker closed the connection")
        return [item for item in self.parser.feed(data) if isinstance(item, self.frame_type)]

    def until(self, command: str, timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for frame in self.frames(1):
                if frame.command == command:
                    return frame
                if frame.command == "ERROR":
                    raise RuntimeError(f"ERROR from the broker: {frame.headers.get('message')}")
        raise TimeoutError(f"no {command} within {timeout} s")


def _raw_connect(port: int) -> tuple[socket.socket, _Reader]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = _Reader(sock)
    sock.sendall(b"CONNECT\naccept-version:1.2\nhost:/\n\n\x00")
    reader.until("CONNECTED")
    return sock, reader


def queued_messages(count: int) -> dict[str, Any]:
    """SEND `count` 100-byte messages to a queue nobody reads, measure, then drain and check every one."""
    with broker_process(max_queued=count + 10) as broker:
        time.sleep(0.2)
        base = broker.rss_kb()
        producer, reader = _raw_connect(broker.port)
        started = time.monotonic()
        _send_all(producer, count, b"/queue/big")
        producer.sendall(b"SEND\ndestination:/queue/other\nreceipt:done\n\n\x00")  # all handled before it
        reader.until("RECEIPT", timeout=600)
        send_seconds = time.monotonic() - started
        queued = broker.ask("queued").get("/queue/big", 0)
        loaded = broker.rss_kb()
        producer.close()
        consumer, reader = _raw_connect(broker.port)
        consumer.sendall(b"SUBSCRIBE\nid:0\ndestination:/queue/big\nack:auto\n\n\x00")
        seen = bytearray(count)
        duplicates = 0
        received = 0
        started = time.monotonic()
        deadline = started + 600
        while received < count and time.monotonic() < deadline:
            for frame in reader.frames(5):
                if frame.command != "MESSAGE":
                    continue
                number = int(frame.body[:10])
                if seen[number]:
                    duplicates += 1
                seen[number] = 1
                received += 1
        drain_seconds = time.monotonic() - started
        consumer.close()
        health = broker.ask("check")
    return {
        "messages": count,
        "body_bytes": BODY_SIZE,
        "queued": queued,
        "broker_rss_base_mb": round(base / 1024, 1),
        "broker_rss_growth_mb": round((loaded - base) / 1024, 1),
        "bytes_per_message": round((loaded - base) * 1024 / count),
        "send_s": round(send_seconds, 2),
        "send_msgs_per_s": round(count / send_seconds),
        "drain_s": round(drain_seconds, 2),
        "drain_msgs_per_s": round(received / drain_seconds) if drain_seconds else 0,
        "received": received,
        "lost": count - sum(seen),
        "duplicates": duplicates,
        "target_mb": 400,
        "check": health,
    }


# -- slow consumer with prefetch


def slow_consumer(count: int, prefetch: int, delay: float) -> dict[str, Any]:
    """A consumer acknowledging one message every `delay` s while a producer sends `count` at once.

    The broker must keep at most `prefetch` unacknowledged deliveries, queue the rest, lose nothing.
    """
    from stomptest.client import Client

    with broker_process("activemq") as broker:  # a profile with a prefetch header
        time.sleep(0.2)
        base = broker.rss_kb()
        url = f"tcp://127.0.0.1:{broker.port}"
        received: Counter[bytes] = Counter()
        most_unacked = 0
        samples = 0
        started = time.monotonic()
        with Client(url) as consumer, Client(url) as producer:
            subscription = consumer.subscribe(
                "/queue/slow", ack="client-individual", headers={"activemq.prefetchSize": str(prefetch)}
            )
            sender = threading.Thread(
                target=lambda: [producer.send("/queue/slow", b"%08d" % n + b"." * 92) for n in range(count)],
                daemon=True,
            )
            sender.start()
            peak_rss = base
            for number in range(count * 2):
                message = subscription.receive(timeout=30)
                if message is None:
                    break
                received[message.body] += 1
                if number % max(1, count // 50) == 0:
                    most_unacked = max(most_unacked, broker.ask("unacked"))
                    peak_rss = max(peak_rss, broker.rss_kb())
                    samples += 1
                time.sleep(delay)
                consumer.ack(message)
                if sum(received.values()) >= count:
                    break
            sender.join(60)
            producer.send("/queue/none", b"", receipt=True)
        seconds = time.monotonic() - started
        health = broker.ask("check")
        left = broker.ask("queued").get("/queue/slow", 0)
    return {
        "messages": count,
        "prefetch": prefetch,
        "ack_delay_ms": delay * 1000,
        "received": sum(received.values()),
        "lost": count - len(received),
        "duplicates": sum(c - 1 for c in received.values() if c > 1),
        "left_queued": left,
        "most_unacked_seen": most_unacked,
        "samples": samples,
        "broker_rss_growth_mb": round((peak_rss - base) / 1024, 1),
        "seconds": round(seconds, 2),
        "check": health,
    }


# -- restarts under a failover client


def restarts(count: int, every: int = 3) -> dict[str, Any]:
    """Restart the broker `count` times under a failover client consuming with client-individual ack.

    `count * every` seeded messages; a restart after every `every` acknowledged messages. Every
    message must be acknowledged exactly once, and the queue must end empty.
    """
    from stomptest.broker import Broker
    from stomptest.client import Client
    from stomptest.protocol import ConnectionLost

    total = count * every + every
    base = rss_kb()
    with Broker(profile="activemq") as broker:
        for number in range(total):
            broker.seed("/queue/work", b"m-%06d" % number, {"persistent": "true"})  # restart() keeps these
        url = (
            f"failover:(tcp://127.0.0.1:{broker.port})?initialReconnectDelay=5&maxReconnectDelay=20"
            "&maxReconnectAttempts=500&randomize=false"
        )
        lost_events: list[object] = []
        client = Client(url, on_connection_lost=lambda lost, cause: lost_events.append(lost))
        client.connect()
        subscription = client.subscribe("/queue/work", ack="client-individual", headers={"activemq.prefetchSize": "5"})
        acked: Counter[bytes] = Counter()
        done = 0
        refused_acks = 0
        restart_seconds = 0.0
        started = time.monotonic()
        for _ in range(total * 20):
            if len(acked) >= total:
                break
            message = subscription.receive(timeout=30)
            if message is None:
                break
            try:
                client.ack(message, receipt=True)
            except ConnectionLost:
                refused_acks += 1  # delivered on a connection that is gone: it comes again
                continue
            acked[message.body] += 1
            if len(acked) % every == 0 and done < count:
                begin = time.monotonic()
                broker.restart()
                restart_seconds += time.monotonic() - begin
                done += 1
        seconds = time.monotonic() - started
        client.disconnect()
        left = len(broker.messages("/queue/work")) + len(broker.unacked("/queue/work"))
        broker.check()
        grown = rss_kb() - base
    return {
        "restarts": done,
        "messages": total,
        "acked": len(acked),
        "lost": total - len(acked),
        "acked_twice": sum(c - 1 for c in acked.values() if c > 1),
        "left_on_broker": left,
        "acks_refused_after_loss": refused_acks,
        "connection_losses_reported": len(lost_events),
        "client_reconnects": client.reconnects,
        "seconds": round(seconds, 2),
        "ms_per_restart_cycle": round(seconds * 1000 / max(done, 1), 1),
        "ms_per_broker_restart": round(restart_seconds * 1000 / max(done, 1), 1),
        "process_rss_growth_mb": round(grown / 1024, 1),
    }


def restarts_async(count: int, every: int = 3) -> dict[str, Any]:
    """`restarts` with an `AsyncClient`: the restarts run in an executor thread, the client in the loop."""
    import asyncio

    from stomptest.broker import Broker
    from stomptest.client import AsyncClient
    from stomptest.protocol import ConnectionLost

    total = count * every + every

    async def consume(broker: Broker) -> dict[str, Any]:
        url = (
            f"failover:(tcp://127.0.0.1:{broker.port})?initialReconnectDelay=5&maxReconnectDelay=20"
            "&maxReconnectAttempts=500&randomize=false"
        )
        client = AsyncClient(url)
        await client.connect()
        subscription = await client.subscribe(
            "/queue/work", ack="client-individual", headers={"activemq.prefetchSize": "5"}
        )
        acked: Counter[bytes] = Counter()
        done = refused = 0
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        for _ in range(total * 20):
            if len(acked) >= total:
                break
            message = await subscription.receive(timeout=30)
            if message is None:
                break
            try:
                await client.ack(message, receipt=True)
            except ConnectionLost:
                refused += 1
                continue
            acked[message.body] += 1
            if len(acked) % every == 0 and done < count:
                await loop.run_in_executor(None, broker.restart)
                done += 1
        seconds = time.monotonic() - started
        await client.disconnect()
        return {
            "restarts": done,
            "messages": total,
            "acked": len(acked),
            "lost": total - len(acked),
            "acked_twice": sum(c - 1 for c in acked.values() if c > 1),
            "acks_refused_after_loss": refused,
            "client_reconnects": client.reconnects,
            "seconds": round(seconds, 2),
            "ms_per_restart_cycle": round(seconds * 1000 / max(done, 1), 1),
        }

    with Broker(profile="activemq") as broker:
        for number in range(total):
            broker.seed("/queue/work", b"m-%06d" % number, {"persistent": "true"})  # restart() keeps these
        result = asyncio.run(consume(broker))
        result["left_on_broker"] = len(broker.messages("/queue/work")) + len(broker.unacked("/queue/work"))
        broker.check()
    return result


SCENARIOS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "idle": lambda a: idle_connections(a.connections, a.heartbeat, a.hold),
    "queued": lambda a: queued_messages(a.messages),
    "slow": lambda a: slow_consumer(a.slow_messages, a.prefetch, a.ack_delay),
    "restarts": lambda a: restarts(a.restarts),
    "restarts-async": lambda a: restarts_async(a.restarts),
}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke test, not a measure")
    parser.add_argument("--only", default="idle,queued,slow,restarts,restarts-async")
    parser.add_argument("--connections", type=int, default=None, help="idle connections (10,000)")
    parser.add_argument("--heartbeat", type=int, default=5000, help="heart-beat interval in ms, both ways")
    parser.add_argument("--hold", type=float, default=None, help="seconds the idle connections are held (30)")
    parser.add_argument("--messages", type=int, default=None, help="queued messages (1,000,000)")
    parser.add_argument("--slow-messages", type=int, default=None, help="messages for the slow consumer (2,000)")
    parser.add_argument("--prefetch", type=int, default=10)
    parser.add_argument("--ack-delay", type=float, default=0.002, help="seconds the slow consumer takes per message")
    parser.add_argument("--restarts", type=int, default=None, help="broker restarts (1,000)")
    parser.add_argument("--no-save", action="store_true", help=f"do not write {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()
    quick = args.quick
    args.connections = args.connections or (300 if quick else 10_000)
    args.hold = args.hold if args.hold is not None else (1.0 if quick else 30.0)
    args.messages = args.messages or (20_000 if quick else 1_000_000)
    args.slow_messages = args.slow_messages or (200 if quick else 2_000)
    args.restarts = args.restarts or (10 if quick else 1_000)
    results: dict[str, Any] = {}
    for name in args.only.split(","):
        print(f"# {name} ...", file=sys.stderr, flush=True)
        results[name] = SCENARIOS[name](args)
        print(f"# {name}: {json.dumps(results[name])}", file=sys.stderr, flush=True)
    report(results)
    if not args.no_save and not quick:
        saved: dict[str, Any] = {}
        if RESULTS.exists():
            saved = json.loads(RESULTS.read_text())
        saved.update(results)
        saved["_machine"] = f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores"
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")


def report(results: dict[str, Any]) -> None:
    print("\n| scenario | figure | value |\n|---|---|---:|")
    for name, figures in results.items():
        for key, value in figures.items():
            shown = f"{value:,}" if isinstance(value, (int, float)) and not isinstance(value, bool) else value
            print(f"| {name} | {key} | {shown} |")


if __name__ == "__main__":
    main()
