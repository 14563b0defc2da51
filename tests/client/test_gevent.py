"""Both clients, unchanged, in a process that monkey-patched everything with gevent first."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
from gevent import monkey; monkey.patch_all()
import asyncio, threading
from stomptest.broker import Broker
from stomptest.client import AsyncClient, Client

assert "gevent" in type(threading.Lock()).__module__ or threading.Lock.__module__.startswith("gevent")
with Broker() as broker:
    url = f"failover:(tcp://127.0.0.1:{broker.port})?initialReconnectDelay=10&maxReconnectAttempts=100"
    reconnected = threading.Event()
    with Client(url, heartbeat=(50, 50), on_reconnect=lambda c: reconnected.set(),
                on_connection_lost=lambda lost, cause: None) as client:
        sub = client.subscribe("/queue/g", ack="client-individual", receipt=True)
        for i in range(100):
            client.send("/queue/g", str(i))
        bodies = []
        while len(bodies) < 100:
            message = sub.receive(timeout=5)
            assert message is not None
            client.ack(message)
            bodies.append(message.body)
        broker.drop_connections()
        assert reconnected.wait(5)
        client.send("/queue/g", b"after", receipt=True)
        while True:  # acks written just before the drop may be lost: those messages come again first
            message = sub.receive(timeout=5)
            assert message is not None
            client.ack(message)
            if message.body == b"after":
                break
        while client.heartbeats_received < 2:
            client.receive(timeout=0.05)
    print("sync ok", len(bodies))

    async def main():
        async with AsyncClient(broker.url, heartbeat=(50, 50)) as client:
            sub = await client.subscribe("/queue/h", receipt=True)
            await client.send("/queue/h", b"x", receipt=True)
            message = await sub.receive(timeout=5)
            assert message is not None and message.body == b"x"
            while client.heartbeats_received < 2:
                await asyncio.sleep(0.02)
        print("async ok")

    asyncio.run(main())
    broker.check()
"""


def test_clients_work_in_a_monkey_patched_process() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-4000:]
    assert out.stdout.split("\n")[:2] == ["sync ok 100", "async ok"]
