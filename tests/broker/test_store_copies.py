"""The store keeps each queue's copy of a message (issue 15, store.py): copies share one sequence.

A composite SEND, a virtual topic and an exchange bound to several queues give one message a copy
in each queue, under one sequence and message-id; the store's rows are keyed by (sequence, queue).
The first version keyed them by sequence alone and kept one copy of each message.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from stomptest.broker import Broker
from stomptest.broker.store import SqliteStore
from stomptest.client import Client
from stomptest.protocol import BrokerError


def test_a_composite_sends_copies_all_outlive_the_broker(tmp_path: Path) -> None:
    with Broker(profile="activemq", data_dir=tmp_path) as broker:
        broker.seed("/queue/A,/queue/B", b"both", {"persistent": "true"})
        [original] = broker.messages("/queue/A")
    with Broker(profile="activemq", data_dir=tmp_path) as again:
        [a], [b] = again.messages("/queue/A"), again.messages("/queue/B")
        assert (a.body, a.destination, a.message_id) == (b"both", "/queue/A", original.message_id)
        assert (b.body, b.destination, b.message_id) == (b"both", "/queue/B", original.message_id)


def test_copies_that_name_one_destination_are_kept_by_their_queue(tmp_path: Path) -> None:
    """RabbitMQ: a topic message reaches two x-queue-name queues; both copies say /topic/k."""
    with Broker(profile="rabbitmq", data_dir=tmp_path) as broker:
        client = Client(broker.url, receipt_timeout=10.0)
        client.connect()
        for queue in ("q1", "q2"):
            client.subscribe("/topic/k", ack="client", headers={"x-queue-name": queue}, receipt=True)
        client.send("/topic/k", b"fanned", headers={"persistent": "true"}, receipt=True)
        rows = sorted((m.queue, m.destination, m.body) for m in SqliteStore(tmp_path).load())
        assert rows == [("/queue/q1", "/topic/k", b"fanned"), ("/queue/q2", "/topic/k", b"fanned")]
        client.disconnect()  # the queues go with their last subscriber (auto-delete), and their messages with them
        assert list(SqliteStore(tmp_path).load()) == []


def test_a_folder_of_the_first_version_is_read(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "stomptest.sqlite3")
    db.execute(
        "CREATE TABLE messages (sequence INTEGER PRIMARY KEY, destination TEXT NOT NULL, message_id TEXT NOT NULL,"
        " headers TEXT NOT NULL, body BLOB NOT NULL, timestamp INTEGER NOT NULL, expires INTEGER NOT NULL,"
        " priority INTEGER NOT NULL, persistent TEXT, had_content_length INTEGER NOT NULL)"
    )
    db.execute(
        "INSERT INTO messages VALUES (7, '/queue/old', 'ID:old-7', ?, x'6f6c64', 1, 0, 4, 'true', 0)",
        (json.dumps([["persistent", "true"]]),),
    )
    db.commit()
    db.close()
    with Broker(profile="activemq", data_dir=tmp_path) as broker:
        [message] = broker.messages("/queue/old")
        assert (message.body, message.message_id, message.sequence) == (b"old", "ID:old-7", 7)
        broker.seed("/queue/old", b"new", {"persistent": "true"})
        assert [m.sequence for m in broker.messages("/queue/old")] == [7, 8]


def test_a_bounded_queue_keeps_what_it_holds(tmp_path: Path) -> None:
    """RabbitMQ's x-max-length queue: its messages are kept, and those it drops leave the store."""
    with Broker(profile="rabbitmq", data_dir=tmp_path) as broker:
        client = Client(broker.url, receipt_timeout=10.0)
        client.connect()
        for body in (b"m1", b"m2", b"m3"):
            client.send("/queue/b", body, headers={"persistent": "true", "x-max-length": "2"}, receipt=True)
        assert sorted(m.body for m in SqliteStore(tmp_path).load()) == [b"m2", b"m3"]
        client.disconnect()


def test_a_queue_that_holds_kept_messages_keeps_its_arguments(tmp_path: Path) -> None:
    """RabbitMQ keeps a durable queue's arguments across a restart; the folder keeps them with its messages."""
    with Broker(profile="rabbitmq", data_dir=tmp_path) as broker:
        client = Client(broker.url, receipt_timeout=10.0)
        client.connect()
        arguments = {"persistent": "true", "x-max-length": "2", "x-message-ttl": "60000"}
        client.send("/queue/b", b"m1", headers=arguments, receipt=True)
        client.disconnect()
    with Broker(profile="rabbitmq", data_dir=tmp_path) as again:
        client = Client(again.url, receipt_timeout=10.0)
        client.connect()
        with pytest.raises(BrokerError, match="inequivalent arg 'x-max-length'"):
            client.send("/queue/b", b"without", headers={"persistent": "true"}, receipt=True)
        client = Client(again.url, receipt_timeout=10.0)
        client.connect()
        for body in (b"m2", b"m3"):
            client.send("/queue/b", body, headers=arguments, receipt=True)
        assert [m.body for m in again.messages("/queue/b")] == [b"m2", b"m3"]  # still bounded
        again.advance(61)
        assert again.messages("/queue/b") == ()  # and its messages still expire
        client.disconnect()


@pytest.mark.parametrize(("profile", "after"), [("rabbitmq", "true"), ("activemq", None)])
@pytest.mark.parametrize("how", ["data folder", "restart()"])
def test_what_a_broker_says_of_a_message_delivered_before_a_restart(
    tmp_path: Path, profile: str, after: str | None, how: str
) -> None:
    """RabbitMQ records deliveries (redelivered:true after); ActiveMQ keeps no count by default (documented)."""
    broker = Broker(profile=profile, data_dir=tmp_path).start()
    try:
        client = Client(broker.url, receipt_timeout=10.0)
        client.connect()
        subscription = client.subscribe("/queue/r", ack="client", receipt=True)
        client.send("/queue/r", b"once", headers={"persistent": "true"}, receipt=True)
        first = subscription.receive(timeout=10)
        assert first is not None and first.frame.headers.get("redelivered") in (None, "false")
        if how == "restart()":
            broker.restart()
        else:
            broker.stop()
            broker = Broker(profile=profile, data_dir=tmp_path).start()
        client = Client(broker.url, receipt_timeout=10.0)
        client.connect()
        again = client.subscribe("/queue/r", receipt=True).receive(timeout=10)
        assert again is not None and again.body == b"once"
        assert again.frame.headers.get("redelivered") == after
    finally:
        broker.stop()


def test_a_queue_that_goes_with_its_connection_leaves_nothing_in_the_folder(tmp_path: Path) -> None:
    with Broker(profile="rabbitmq", data_dir=tmp_path) as broker:
        client = Client(broker.url, receipt_timeout=10.0)
        client.connect()
        client.subscribe("/queue/mine", ack="client", headers={"exclusive": "true"}, receipt=True)
        client.send("/queue/mine", b"private", headers={"persistent": "true"}, receipt=True)
        assert [m.body for m in SqliteStore(tmp_path).load()] == [b"private"]
        client.disconnect()
        broker.wait_for(lambda state: "/queue/mine" not in state.destinations, what="the exclusive queue gone")
        broker.messages("/queue/other")  # a call into the broker: written when it returns
        assert list(SqliteStore(tmp_path).load()) == []
