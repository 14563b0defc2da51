"""The test-side API over sockets: snapshots, transcripts, seeding, waiting, and faults."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

import stomptest.broker.connection as connection_module
from stomptest.broker import Broker, BrokerFailure, ConnectionInfo, MessageSnapshot, Snapshot
from stomptest.broker.connection import Connection
from stomptest.protocol import ConfigurationError, Frame, Heartbeat

from .rawclient import RawClient


@pytest.fixture
def broker() -> Iterator[Broker]:
    with Broker(profile="activemq") as running:
        yield running


def subscriber(broker: Broker, destination: str = "/queue/a", ack: str = "auto") -> RawClient:
    client = RawClient(broker.port)
    client.connect()
    client.send("SUBSCRIBE", {"id": "1", "destination": destination, "ack": ack, "receipt": "sub"})
    client.expect("RECEIPT")
    return client


def test_snapshot_shows_destinations_subscriptions_unacked_and_connections(broker: Broker) -> None:
    client = subscriber(broker, ack="client")
    broker.seed("/queue/a", "one", {"x-k": "v"})
    broker.seed("/queue/b", b"two", count=2)
    client.expect("MESSAGE")
    state = broker.wait_for(lambda s: s if s.unacked else None)
    assert isinstance(state, Snapshot)
    assert [m.body for m in state.messages("/queue/b")] == [b"two", b"two"]
    [delivery] = state.unacked
    assert delivery.message.body == b"one"
    assert delivery.message.header("x-k") == "v"
    assert delivery.message.deliveries == 1
    assert delivery.subscription == "1"
    [subscription] = broker.subscriptions("/queue/a")
    assert (subscription.ack, subscription.unacked) == ("client", 1)
    [connection] = broker.connections()
    assert isinstance(connection, ConnectionInfo)
    assert (connection.state, connection.version, connection.subscriptions) == ("connected", "1.2", ("1",))
    assert broker.destinations()["/queue/a"].kind == "queue"
    assert broker.unacked("/queue/b") == ()


def test_transcript_per_connection_in_both_directions(broker: Broker) -> None:
    client = subscriber(broker)
    [info] = broker.connections()
    entries = broker.transcript(info.id)
    assert [(e.direction, e.command) for e in entries] == [
        ("in", "CONNECT"),
        ("out", "CONNECTED"),
        ("in", "SUBSCRIBE"),
        ("out", "RECEIPT"),
    ]
    assert broker.transcript(command="SUBSCRIBE")[0].frame.headers["destination"] == "/queue/a"
    assert broker.transcript(direction="out", command="RECEIPT")
    client.close()


def test_seed_reaches_a_subscriber_and_topics_drop_without_one(broker: Broker) -> None:
    client = subscriber(broker)
    [message_id] = broker.seed("/queue/a", "seeded", {"x-from": "test"})
    message = client.expect("MESSAGE")
    assert (message.body, message.headers["x-from"], message.headers["message-id"]) == (
        b"seeded",
        "test",
        message_id,
    )
    broker.seed("/topic/nobody", "lost")
    assert broker.messages("/topic/nobody") == ()


def test_seed_refuses_a_name_the_profile_cannot_route() -> None:
    with Broker(profile="rabbitmq") as rabbitmq, pytest.raises(ConfigurationError, match="cannot route"):
        rabbitmq.seed("/no/prefix", "x")  # measured (issue 18): a bare name is /queue/NAME on RabbitMQ


def test_wait_for_messages_returns_them(broker: Broker) -> None:
    broker.seed("/queue/w", "1")
    broker.seed("/queue/w", "2")
    found = broker.wait_for_messages("/queue/w", 2)
    assert all(isinstance(m, MessageSnapshot) for m in found)
    assert [m.text for m in found] == ["1", "2"]


def test_purge_and_reset(broker: Broker) -> None:
    broker.seed("/queue/p", "x", count=3)
    broker.purge()
    assert broker.messages("/queue/p") == ()
    client = subscriber(broker)
    broker.reset()
    assert client.wait_closed()
    broker.wait_for_connections(0, exactly=True)


def test_drop_connections_with_and_without_error_requeues_unacked(broker: Broker) -> None:
    quiet = subscriber(broker, ack="client")
    broker.seed("/queue/a", "pending")
    quiet.expect("MESSAGE")
    broker.wait_for_unacked(1)
    assert broker.drop_connections() == 1
    assert quiet.next() is None and quiet.wait_closed()
    [message] = broker.wait_for_messages("/queue/a")
    assert message.deliveries == 1  # back on the queue, to be delivered again
    loud = subscriber(broker)
    redelivered = loud.expect("MESSAGE")
    assert redelivered.headers["redelivered"] == "true"
    [info] = broker.connections()
    broker.drop_connections(info.id, error="going away")
    error = loud.expect("ERROR")
    assert error.headers["message"] == "going away"
    assert loud.wait_closed()
    with pytest.raises(ConfigurationError, match="no open connection"):
        broker.drop_connections(9999)


def test_send_error_with_and_without_close(broker: Broker) -> None:
    client = subscriber(broker)
    [info] = broker.connections()
    broker.send_error(info.id, "careful", "details", close=False)
    error = client.expect("ERROR")
    assert (error.headers["message"], error.body) == ("careful", b"details")
    client.send("SEND", {"destination": "/queue/z", "receipt": "still"})
    assert client.expect("RECEIPT").headers["receipt-id"] == "still"
    broker.send_error(info.id, "bye")
    client.expect("ERROR")
    assert client.wait_closed()


def test_send_frame_sends_anything(broker: Broker) -> None:
    client = subscriber(broker)
    [info] = broker.connections()
    broker.send_frame(info.id, Frame("RECEIPT", {"receipt-id": "unexpected"}))
    assert client.expect("RECEIPT").headers["receipt-id"] == "unexpected"


def test_refuse_connections_until_accepted_again(broker: Broker) -> None:
    kept = subscriber(broker)
    broker.refuse_connections()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(broker.address, timeout=2)
    kept.send("SEND", {"destination": "/queue/a", "receipt": "open"})
    assert kept.expect("RECEIPT").headers["receipt-id"] == "open"  # open connections are untouched
    broker.accept_connections()
    RawClient(broker.port).connect()


def test_refuse_connections_for_a_while(broker: Broker) -> None:
    broker.refuse_connections(0.05)
    for _ in range(1000):  # a functional wait, bounded at about 10 s: speed is not what is tested
        try:
            socket.create_connection(broker.address, timeout=2).close()
            return
        except ConnectionRefusedError:
            time.sleep(0.01)
    pytest.fail("the broker never listened again after refuse_connections(0.05)")


def test_hold_and_release_frames(broker: Broker) -> None:
    client = subscriber(broker)
    broker.hold_frames(["RECEIPT"])
    client.send("SEND", {"destination": "/queue/a", "receipt": "held"})
    message = client.expect("MESSAGE")  # MESSAGEs still flow
    assert message.command == "MESSAGE"
    assert client.next(0.05) is None
    broker.release_frames()
    assert client.expect("RECEIPT").headers["receipt-id"] == "held"


def test_delay_frames(broker: Broker) -> None:
    client = subscriber(broker)
    broker.hold_frames(duration=0.02)
    client.send("SEND", {"destination": "/queue/q", "receipt": "late"})
    assert client.expect("RECEIPT").headers["receipt-id"] == "late"


def test_pause_and_resume_heartbeats(broker: Broker) -> None:
    client = RawClient(broker.port)
    client.connect(**{"heart-beat": "0,10"})
    assert client.next(5, heartbeats=True) == Heartbeat()
    broker.pause_heartbeats()
    time.sleep(0.02)  # let a beat already on the wire arrive
    client.items.clear()
    assert client.next(0.1, heartbeats=True) is None
    broker.resume_heartbeats()
    assert client.next(5, heartbeats=True) == Heartbeat()


def test_tiny_segments(broker: Broker) -> None:
    client = subscriber(broker)
    broker.segment_size = 7
    broker.seed("/queue/a", "x" * 60)
    chunks = []
    client.sock.settimeout(5)
    while not any(isinstance(item, Frame) for item in client.items):  # the LF after the RECEIPT may be there
        data = client.sock.recv(65536)
        chunks.append(data)
        client.items += client.parser.feed(data)
    assert client.expect("MESSAGE").body == b"x" * 60
    assert len(chunks) > 1
    assert max(len(c) for c in chunks) <= 7 * 4  # a few segments may queue up while the client is away
    broker.segment_size = None
    with pytest.raises(ConfigurationError):
        broker.segment_size = 0


def test_a_broker_bug_becomes_an_error_frame_and_check_raises(monkeypatch: pytest.MonkeyPatch, broker: Broker) -> None:
    def explode(self: Connection, frame: Frame) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(connection_module._HANDLERS, "BEGIN", explode)
    other = subscriber(broker)
    victim = RawClient(broker.port)
    victim.connect()
    victim.send("BEGIN", {"transaction": "t"})
    error = victim.expect("ERROR")
    assert "boom" in error.body.decode()
    assert victim.wait_closed()
    with pytest.raises(BrokerFailure, match="boom"):
        broker.check()
    broker.seed("/queue/a", "others unaffected")
    assert other.expect("MESSAGE").body == b"others unaffected"


def test_the_api_works_on_a_stopped_broker_and_faults_say_what_to_do() -> None:
    broker = Broker()
    broker.seed("/queue/s", "before start")
    assert [m.text for m in broker.messages("/queue/s")] == ["before start"]
    with pytest.raises(ConfigurationError, match="start"):
        broker.refuse_connections()
    with broker:
        client = RawClient(broker.port)
        client.connect()
        client.send("SUBSCRIBE", {"id": "1", "destination": "/queue/s"})
        assert client.expect("MESSAGE").body == b"before start"


def test_bad_arguments() -> None:
    with pytest.raises(ConfigurationError):
        Broker(port=70000)
    with pytest.raises(ConfigurationError):
        Broker(profile="nope")
    with pytest.raises(ConfigurationError, match="unknown limit"):
        Broker(max_nothing=1)
    assert Broker(max_frame_bytes=10).limits.max_frame_bytes == 10
