"""Lost connections with the fake broker's faults: replayed subscriptions, reported and redelivered messages.

The consumers here acknowledge with `ack="client-individual"` and must end up with
every message exactly once acknowledged, whatever fault hits them in the middle.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from stomptest.broker import Broker
from stomptest.client import Client
from stomptest.protocol import BrokerError, ConnectionLost, Lost

from .conftest import failover

COUNT = 60


def consume_through(broker: Broker, fault: Callable[[Broker], object], ack: str = "client-individual") -> Client:
    """Consume COUNT seeded messages, injecting `fault` after a third of them; return the (closed) client."""
    bodies = {f"m-{i}".encode() for i in range(COUNT)}
    for body in sorted(bodies):
        broker.seed("/queue/work", body)
    losses: list[Lost] = []
    client = Client(failover(broker), on_connection_lost=lambda lost, cause: losses.append(lost))
    client.connect()
    subscription = client.subscribe("/queue/work", ack=ack, headers={"activemq.prefetchSize": "5"})
    acked: set[bytes] = set()
    faulted = False
    while acked != bodies:
        message = subscription.receive(timeout=10)
        assert message is not None, f"stalled with {len(acked)} of {COUNT} acknowledged"
        if len(acked) == COUNT // 3 and not faulted:
            faulted = True
            fault(broker)
        try:
            client.ack(message, receipt=True)
        except ConnectionLost:
            continue  # delivered on the lost connection: the broker redelivers it
        acked.add(message.body)
    client.disconnect()
    assert faulted and client.reconnects >= 1 and losses
    assert broker.messages("/queue/work") == ()
    assert broker.unacked() == ()
    return client


def test_restart_on_the_same_port_loses_nothing(broker: Broker) -> None:
    consume_through(broker, lambda b: b.restart(down_for=0.2))


def test_dropped_connections_lose_nothing(broker: Broker) -> None:
    consume_through(broker, lambda b: b.drop_connections())


def test_refusing_broker_is_retried_until_it_accepts(broker: Broker) -> None:
    def refuse_then_drop(b: Broker) -> None:
        b.refuse_connections(0.3)
        b.drop_connections()

    client = consume_through(broker, refuse_then_drop)
    assert client.reconnects >= 1


def test_ack_client_mode_loses_nothing(broker: Broker) -> None:
    consume_through(broker, lambda b: b.drop_connections(), ack="client")


def test_subscriptions_are_replayed_with_their_ids_and_headers(broker: Broker) -> None:
    reconnected = threading.Event()
    with Client(failover(broker), on_reconnect=lambda c: reconnected.set()) as client:
        first = client.subscribe("/queue/a", id="mine", ack="client", headers={"x-extra": "1"}, receipt=True)
        client.subscribe("/topic/b", receipt=True)
        broker.drop_connections()
        assert reconnected.wait(5)
        subscriptions = broker.wait_for(lambda s: s.subscriptions if len(s.subscriptions) == 2 else ())
        assert {(s.destination, s.id) for s in subscriptions} == {("/queue/a", "mine"), ("/topic/b", "sub-2")}
        replayed = broker.transcript(command="SUBSCRIBE", direction="in")[-2:]
        assert replayed[0].frame.headers["x-extra"] == "1"  # type: ignore[union-attr]
        broker.seed("/queue/a", b"after")
        message = first.receive(timeout=5)
        assert message is not None and message.body == b"after"
        client.ack(message)


def test_lost_connection_reports_unacknowledged_messages_then_they_come_again(broker: Broker) -> None:
    losses: list[Lost] = []
    reconnected = threading.Event()
    client = Client(
        failover(broker), on_connection_lost=lambda lost, cause: losses.append(lost), on_reconnect=lambda c: None
    )
    client.on_reconnect = lambda connected: reconnected.set()
    with client:
        subscription = client.subscribe("/queue/r", ack="client-individual")
        for body in (b"1", b"2", b"3"):
            client.send("/queue/r", body)
        first = [subscription.receive(timeout=5) for _ in range(3)]
        assert all(m is not None for m in first)
        broker.drop_connections()
        assert reconnected.wait(5)
        assert [m.body for m in losses[0].unacknowledged] == [b"1", b"2", b"3"]
        assert client.lost is losses[0]
        with pytest.raises(ConnectionLost, match="redelivers"):
            client.ack(first[0])  # type: ignore[arg-type]
        again = [subscription.receive(timeout=5) for _ in range(3)]
        assert sorted(m.body for m in again if m is not None) == [b"1", b"2", b"3"]
        for message in again:
            client.ack(message)  # type: ignore[arg-type]


def test_queued_messages_of_a_lost_connection_are_not_handed_out(broker: Broker) -> None:
    reconnected = threading.Event()
    with Client(failover(broker), on_reconnect=lambda c: reconnected.set()) as client:
        client.on_connection_lost = lambda lost, cause: None
        client.subscribe("/queue/q", ack="client-individual", receipt=True)
        client.send("/queue/q", b"only", receipt=True)
        broker.wait_for_unacked(1)
        broker.drop_connections()
        assert reconnected.wait(5)
        message = client.receive(timeout=5)  # the redelivery, never the stale copy
        assert message is not None and message.body == b"only"
        client.ack(message, receipt=True)


def test_transaction_open_at_the_loss_cannot_be_committed(broker: Broker) -> None:
    reconnected = threading.Event()
    with Client(failover(broker), on_reconnect=lambda c: reconnected.set()) as client:
        client.on_connection_lost = lambda lost, cause: None
        tx = client.begin(receipt=True)
        client.send("/queue/tx", b"lost", transaction=tx, receipt=True)
        broker.drop_connections()
        assert reconnected.wait(5)
        with pytest.raises(ConnectionLost, match="aborted"):
            client.commit(tx)
        assert broker.messages("/queue/tx") == ()


def test_disconnect_while_reconnecting_stops_the_attempts(broker: Broker) -> None:
    lost = threading.Event()
    client = Client(failover(broker, initialReconnectDelay=200, maxReconnectDelay=200))
    client.on_connection_lost = lambda _lost, _cause: lost.set()
    client.connect()
    broker.stop()
    assert lost.wait(5)
    client.disconnect()
    assert client.status == "closed"


def test_error_then_close_is_raised_and_the_client_reconnects(broker: Broker) -> None:
    reconnected = threading.Event()
    with Client(failover(broker), on_reconnect=lambda c: reconnected.set()) as client:
        client.on_connection_lost = lambda lost, cause: None
        subscription = client.subscribe("/queue/e", receipt=True)
        broker.send_error(message="going away", close=True)
        assert reconnected.wait(5)
        with pytest.raises(BrokerError, match="going away"):
            client.send("/queue/e", b"")
        client.send("/queue/e", b"after", receipt=True)
        message = subscription.receive(timeout=5)
        assert message is not None and message.body == b"after"
