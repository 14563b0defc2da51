"""STOMP over WebSocket: stompjs's throughput against the fake broker and RabbitMQ, and the broker's CPU per
message over WebSocket against TCP (issue 13, item 8). Everything side by side in one run.

  stompjs       @stomp/stompjs 7 under Node (tests/ecosystem/node/bench.js, the `ws` package) sends and
                receives 20,000 100-byte messages through a fresh queue: a consumer connection subscribed
                with ack:auto, a producer sending in windows of 500 (a RECEIPT closes each window); timed
                from the first SEND to the last MESSAGE. Against the fake broker in a process of its own
                (`stomptest broker --profile rabbitmq`) and RabbitMQ's web-stomp (ws://127.0.0.1:15674/ws).
                Messages per second, best of --repeat rounds in which the brokers take turns; the ratio
                fake / RabbitMQ. The fake broker's CPU time per message in that run comes with it.
  broker CPU    the same workload from a raw-socket Python client (pre-built frames, so the client costs
                little and the same over both transports), over TCP and over WebSocket, each against a
                fresh fake broker in its own process (profile rabbitmq, which answers in text messages),
                with a window's 500 frames in one write and with one write per frame, 0.2 ms apart (as
                stompjs writes, so that the broker wakes for each frame);
                the broker process's user+system CPU time (/proc/PID/stat) per message, best of --repeat,
                and the ratio WebSocket / TCP (the target: at most 1.5).

Every round's figures are printed too, with the ratio of the rounds paired (each fake run against the
RabbitMQ run right after it) and Node's CPU per run: on a shared machine the best of a few runs flips.
--before CHECKOUT runs the fake broker of another checkout as well, taking turns (before/after a change).

Run: .venv/bin/python benchmarks/websocket.py [--messages 20000] [--repeat 3] [--before DIR] [--stompjs-only]
Needs node and the npm packages of tests/ecosystem/node (scripts/ecosystem.sh) for the stompjs rows, and
Linux's /proc for the CPU rows.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NODE_DIR = Path(__file__).resolve().parent.parent / "tests/ecosystem/node"
RABBITMQ_WS = 15674
BODY = b"x" * 100
WINDOW = 500
PACE = 0.0002  # seconds between the writes of the one-frame-per-write workload


@contextmanager
def fake_broker(profile: str = "rabbitmq", checkout: str | None = None) -> Iterator[tuple[int, int]]:
    """(port, pid) of `stomptest broker --profile PROFILE` on a free port, in a process of its own.

    `checkout`: run the stomptest of that directory instead (--before: an earlier state, same run).
    """
    env = None if checkout is None else {**os.environ, "PYTHONPATH": checkout}
    process = subprocess.Popen(
        [sys.executable, "-m", "stomptest.cli", "broker", "--profile", profile, "--port", "0", "--quiet"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # "... listening on tcp://127.0.0.1:PORT"
        yield int(line.rsplit(":", 1)[1]), process.pid
    finally:
        process.terminate()
        process.wait(30)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


# -- stompjs under Node


def stompjs(url: str, messages: int) -> tuple[float, float]:
    """Messages per second of bench.js against `url`, and Node's CPU seconds (user+system) for the run."""
    before = os.times()
    done = subprocess.run(
        ["node", str(NODE_DIR / "bench.js"), url, str(messages)], capture_output=True, text=True, timeout=600
    )
    after = os.times()
    if done.returncode != 0:
        raise RuntimeError(f"bench.js against {url} failed: {done.stderr.strip()}")
    node_cpu = after.children_user + after.children_system - before.children_user - before.children_system
    return float(json.loads(done.stdout)["rate"]), node_cpu


def wait_seconds(pid: int) -> float:
    """Seconds the threads of process `pid` have spent runnable but waiting for a CPU (Linux schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


# -- the raw client, over TCP or WebSocket


def _masked(payload: bytes) -> bytes:
    """A client's text message (masked, as RFC 6455 requires of clients)."""
    mask = b"\x00\x00\x00\x00"  # a zero mask: the payload as is, still a valid masked frame
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x81, 0x80 | size)
    elif size < 65536:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, size)
    return head + mask + payload


class RawClient:
    """A STOMP 1.2 connection over TCP or WebSocket with pre-built frames; reads count frames by command."""

    def __init__(self, port: int, websocket: bool) -> None:
        self.websocket = websocket
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.tail = b""
        if websocket:
            key = base64.b64encode(os.urandom(16))
            self.sock.sendall(
                b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n"
                b"Sec-WebSocket-Protocol: v12.stomp\r\n\r\n"
            )
            answer = b""
            while b"\r\n\r\n" not in answer:
                answer += self.sock.recv(4096)
            assert answer.startswith(b"HTTP/1.1 101"), answer
            self.tail = answer.split(b"\r\n\r\n", 1)[1]
        self.send(b"CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:guest\n\n\x00")
        self.count(b"CONNECTED\n", 1)

    def frame(self, data: bytes) -> bytes:
        return _masked(data) if self.websocket else data

    def send(self, data: bytes) -> None:
        self.sock.sendall(self.frame(data))

    def count(self, token: bytes, wanted: int) -> None:
        """Read until `token` (a command line) was seen `wanted` times."""
        seen = 0
        keep = len(token) - 1
        data = self.tail
        while True:
            seen += data.count(token)
            if seen >= wanted:
                self.tail = b""
                return
            data = data[-keep:] + self.sock.recv(1 << 20)

    def close(self) -> None:
        self.sock.close()


def raw_workload(port: int, pid: int, websocket: bool, messages: int, coalesced: bool = True) -> float:
    """The broker process's CPU seconds per message for `messages` sent and received over one transport.

    `coalesced`: a window's frames go in one write (the broker reads many per recv); else one write per
    frame, paced by PACE, as stompjs writes (the broker reads one per recv and waits between them).
    """
    queue = f"/queue/bench-{uuid.uuid4().hex}".encode()
    consumer = RawClient(port, websocket)
    producer = RawClient(port, websocket)
    consumer.send(b"SUBSCRIBE\nid:0\ndestination:" + queue + b"\nack:auto\nreceipt:s\n\n\x00")
    consumer.count(b"RECEIPT\n", 1)
    one = producer.frame(b"SEND\ndestination:" + queue + b"\ncontent-length:100\n\n" + BODY + b"\x00")
    last = producer.frame(b"SEND\ndestination:" + queue + b"\ncontent-length:100\nreceipt:w\n\n" + BODY + b"\x00")
    received = threading.Thread(target=consumer.count, args=(b"MESSAGE\n", messages))
    before = cpu_seconds(pid)
    received.start()
    for sent in range(0, messages, WINDOW):
        size = min(WINDOW, messages - sent)
        if coalesced:
            producer.sock.sendall(one * (size - 1) + last)
        else:
            for _ in range(size - 1):  # paced, so that the broker reads one frame per recv, as from stompjs
                producer.sock.sendall(one)
                time.sleep(PACE)
            producer.sock.sendall(last)
        producer.count(b"RECEIPT\n", 1)
    received.join()
    used = cpu_seconds(pid) - before
    consumer.close()
    producer.close()
    return used / messages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--before",
        metavar="CHECKOUT",
        help="also run the fake broker of this checkout (an earlier state), taking turns",
    )
    parser.add_argument("--stompjs-only", action="store_true", help="skip the raw-client CPU workloads")
    args = parser.parse_args()
    n = args.messages

    node = shutil.which("node") and (NODE_DIR / "node_modules/@stomp/stompjs").is_dir()
    rabbit = listening(RABBITMQ_WS)
    fakes = {"fake": None} if args.before is None else {"fake": None, "before": args.before}
    runs: dict[str, list[tuple[float, float, float, float]]] = {name: [] for name in [*fakes, "rabbitmq"]}
    cpu: dict[tuple[bool, bool], list[float]] = {(ws, co): [] for ws in (False, True) for co in (True, False)}
    for round_ in range(args.repeat):  # the brokers and transports take turns; every run gets a fresh fake broker
        if node:
            turns = list(fakes.items()) if round_ % 2 == 0 else list(reversed(fakes.items()))
            for name, checkout in turns:
                with fake_broker(checkout=checkout) as (port, pid):
                    before, waited = cpu_seconds(pid), wait_seconds(pid)
                    rate, node_cpu = stompjs(f"ws://127.0.0.1:{port}/ws", n)
                    runs[name].append((rate, node_cpu, (cpu_seconds(pid) - before) / n, wait_seconds(pid) - waited))
            if rabbit:
                rate, node_cpu = stompjs(f"ws://127.0.0.1:{RABBITMQ_WS}/ws", n)
                runs["rabbitmq"].append((rate, node_cpu, 0.0, 0.0))
        if args.stompjs_only:
            continue
        order = list(cpu) if round_ % 2 == 0 else list(reversed(cpu))
        for websocket, coalesced in order:
            with fake_broker() as (port, pid):
                cpu[websocket, coalesced].append(raw_workload(port, pid, websocket, n, coalesced))

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"STOMP over WebSocket, {n:,} messages of {len(BODY)} bytes, best of {args.repeat}; load average {load}")
    if not node:
        print("stompjs: skipped (node or tests/ecosystem/node/node_modules missing: scripts/ecosystem.sh)")
    else:
        labels = {"fake": "fake broker (own process, rabbitmq profile)", "before": f"fake broker of {args.before}"}
        for name in fakes:
            fake = max(rate for rate, *_ in runs[name])
            print(f"stompjs 7 (Node) -> {labels[name]}: {fake:10,.0f} msg/s")
            least = min(r[2] for r in runs[name]) * 1e6
            print(f"    the fake broker's CPU per message in that run:               {least:10.1f} us")
        if runs["rabbitmq"]:
            real = max(rate for rate, *_ in runs["rabbitmq"])
            print(f"stompjs 7 (Node) -> RabbitMQ web-stomp:                          {real:10,.0f} msg/s")
            for name in fakes:
                best = max(rate for rate, *_ in runs[name]) / real
                paired = [mine[0] / theirs[0] for mine, theirs in zip(runs[name], runs["rabbitmq"], strict=True)]
                print(
                    f"    {name} / RabbitMQ: best {best:.2f}x; per round {' '.join(f'{r:.2f}' for r in paired)}"
                    f" (median {statistics.median(paired):.2f}x)"
                )
        else:
            print(f"RabbitMQ web-stomp: skipped (nothing listens on 127.0.0.1:{RABBITMQ_WS})")
        print("    per round: msg/s, Node's CPU s (user+system), the fake broker's CPU us/msg and s waiting for a CPU")
        for name, rows in runs.items():
            for rate, node_cpu, broker_cpu, waited in rows:
                broker = (
                    f"  broker {broker_cpu * 1e6:6.1f} us/msg, waited {waited:5.2f} s" if name != "rabbitmq" else ""
                )
                print(f"      {name:9} {rate:8,.0f} msg/s  Node {node_cpu:5.2f} s{broker}")
    if args.stompjs_only:
        return
    print("the fake broker's CPU per message (user+system), raw client:")
    for coalesced, how in ((True, "500 frames per write"), (False, "one frame per write, paced")):
        tcp, ws = min(cpu[False, coalesced]), min(cpu[True, coalesced])
        print(f"    {how:29}  TCP {tcp * 1e6:6.1f} us  WebSocket {ws * 1e6:6.1f} us  WS/TCP {ws / tcp:5.2f}x")
    print("    (target: WS/TCP <= 1.5x)")


if __name__ == "__main__":
    main()
