"""The asyncio client against the fake broker (each test runs its own event loop with asyncio.run)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from stomptest.broker import Broker
from stomptest.client import AsyncClient
from stomptest.protocol import BrokerError, ConnectionLost, ConnectTimeout, Lost, Message, ProtocolError

from .conftest import REFUSING_ACTIVEMQ, failover


def test_async_with_send_and_async_for(broker: Broker) -> None:
    async def main() -> list[bytes]:
        async with AsyncClient(broker.url) as client:
            subscription = await client.subscribe("/queue/a", ack="client-individual", receipt=True)
            for body in (b"1", b"2", b"3"):
                await client.send("/queue/a", body, receipt=True)
            got = []
            async for message in subscription:
                got.append(message.body)
                await client.ack(message)
                if len(got) == 3:
                    await subscription.unsubscribe(receipt=True)
            return got

    assert asyncio.run(main()) == [b"1", b"2", b"3"]
    assert broker.unacked() == ()


def test_receive_timeout_and_tcp_nodelay(broker: Broker) -> None:
    async def main() -> None:
        async with AsyncClient(broker.url) as client:
            protocol = client._protocol
            assert protocol is not None and protocol.transport is not None
            sock = protocol.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            await client.subscribe("/queue/none")
            assert await client.receive(timeout=0.05) is None

    asyncio.run(main())


def test_transaction_commit_and_abort(broker: Broker) -> None:
    async def main() -> None:
        async with AsyncClient(broker.url, version="1.1") as client:
            async with client.transaction() as tx:
                await client.send("/queue/t", b"kept", transaction=tx)
            with pytest.raises(KeyError):
                async with client.transaction() as tx:
                    await client.send("/queue/t", b"dropped", transaction=tx)
                    raise KeyError("abort")
            await client.send("/queue/sync", b"", receipt=True)

    asyncio.run(main())
    assert [m.body for m in broker.messages("/queue/t")] == [b"kept"]


def test_errors_answering_a_receipt_and_unsolicited_ones() -> None:
    with Broker(profile=REFUSING_ACTIVEMQ) as broker:

        async def main() -> None:
            async with AsyncClient(broker.url) as client:
                with pytest.raises(BrokerError):
                    await client.send("no-prefix", b"", receipt=True)
                broker.send_error(message="injected", close=False)
                with pytest.raises(BrokerError, match="injected"):
                    for _ in range(200):
                        await client.receive(timeout=0.05)
                await client.send("/queue/ok", b"", receipt=True)

        asyncio.run(main())


def test_refused_connect_and_calls_before_connect() -> None:
    with Broker(users={"u": "p"}) as broker:

        async def main() -> None:
            client = AsyncClient(broker.url, login="u", passcode="bad")
            with pytest.raises(ProtocolError, match="connect"):
                await client.send("/queue/a")
            with pytest.raises(BrokerError):
                await client.connect()

        asyncio.run(main())


def test_heartbeats_and_a_silent_broker(broker: Broker) -> None:
    async def main() -> None:
        lost: asyncio.Queue[BaseException] = asyncio.Queue()
        reconnected = asyncio.Event()
        client = AsyncClient(
            failover(broker),
            heartbeat=(30, 30),
            on_connection_lost=lambda _lost, cause: lost.put_nowait(cause),
            on_reconnect=lambda connected: reconnected.set(),
        )
        async with client:
            while client.heartbeats_received < 3 or client.heartbeats_sent < 3:
                await asyncio.sleep(0.01)
            await asyncio.to_thread(broker.pause_heartbeats)
            cause = await asyncio.wait_for(lost.get(), 5)
            assert "heart-beat" in str(cause)
            await asyncio.wait_for(reconnected.wait(), 5)
            await client.send("/queue/after", b"", receipt=True)

    asyncio.run(main())


def test_reconnect_replays_and_reports_unacknowledged(broker: Broker) -> None:
    async def main() -> None:
        losses: list[Lost] = []
        reconnected = asyncio.Event()

        async def on_reconnect(connected: object) -> None:  # coroutine callbacks are run as tasks
            reconnected.set()

        client = AsyncClient(
            failover(broker), on_connection_lost=lambda lost, cause: losses.append(lost), on_reconnect=on_reconnect
        )
        async with client:
            subscription = await client.subscribe("/queue/r", ack="client-individual", receipt=True)
            await client.send("/queue/r", b"x", receipt=True)
            first = await subscription.receive(timeout=5)
            assert first is not None
            await asyncio.to_thread(broker.drop_connections)
            await asyncio.wait_for(reconnected.wait(), 5)
            assert [m.body for m in losses[0].unacknowledged] == [b"x"]
            with pytest.raises(ConnectionLost, match="redelivers"):
                await client.ack(first)
            again = await subscription.receive(timeout=5)
            assert isinstance(again, Message) and again.body == b"x"
            await client.ack(again, receipt=True)

    asyncio.run(main())
    assert broker.unacked() == () and broker.messages("/queue/r") == ()


def test_restart_with_client_ack_loses_nothing(broker: Broker) -> None:
    count = 40
    for i in range(count):
        broker.seed("/queue/work", f"m-{i}".encode())

    async def main() -> int:
        client = AsyncClient(failover(broker), on_connection_lost=lambda lost, cause: None)
        acked: set[bytes] = set()
        async with client:
            subscription = await client.subscribe("/queue/work", ack="client-individual")
            while len(acked) < count:
                message = await subscription.receive(timeout=10)
                assert message is not None
                if len(acked) == count // 2 and client.reconnects == 0:
                    await asyncio.to_thread(broker.restart, 0.1)
                try:
                    await client.ack(message, receipt=True)
                except ConnectionLost:
                    continue
                acked.add(message.body)
        return client.reconnects

    assert asyncio.run(main()) >= 1
    assert broker.messages("/queue/work") == () and broker.unacked() == ()


def test_plain_url_fails_for_good(broker: Broker) -> None:
    async def main() -> None:
        client = AsyncClient(broker.url, on_connection_lost=lambda lost, cause: None)
        await client.connect()
        await asyncio.to_thread(broker.drop_connections)
        with pytest.raises(ConnectionLost, match="reconnecting failed"):
            await client.receive(timeout=5)
        assert client.status == "failed"
        await client.close()

    asyncio.run(main())


def test_connect_again_after_failure_replays_subscriptions(broker: Broker) -> None:
    async def main() -> bytes:
        client = AsyncClient(broker.url, heartbeat=(50, 50), on_connection_lost=lambda lost, cause: None)
        await client.connect()
        subscription = await client.subscribe("/queue/again", receipt=True)
        await asyncio.to_thread(broker.drop_connections)
        with pytest.raises(ConnectionLost):
            await client.receive(timeout=5)
        await client.connect()
        await asyncio.to_thread(broker.wait_for_subscriptions, "/queue/again")
        await asyncio.to_thread(broker.seed, "/queue/again", b"hello")
        message = await subscription.receive(timeout=5)
        assert message is not None
        await client.disconnect()
        return message.body

    assert asyncio.run(main()) == b"hello"


def test_silent_listener_times_out_and_the_socket_is_closed() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        with pytest.raises(ConnectTimeout, match="TimeoutError"):
            asyncio.run(AsyncClient(f"tcp://127.0.0.1:{port}", connect_timeout=0.2).connect())
        accepted, _ = server.accept()
        accepted.settimeout(5)
        assert accepted.recv(4096).startswith(b"CONNECT")
        assert accepted.recv(4096) == b""  # closed by the client: nothing leaked
        accepted.close()
    finally:
        server.close()
