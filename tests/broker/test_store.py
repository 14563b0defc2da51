"""Durable messages across processes (issue 15): `Broker(data_dir=...)` and `stomptest broker --data-dir`.

What survives is what the profile's broker keeps over a restart (docs/lifecycle.md): queued
messages sent `persistent:true`, until acknowledged. The process test kills the broker with
SIGKILL right after the RECEIPT, so nothing but the write before that RECEIPT can save the message.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from stomptest.broker import Broker
from stomptest.broker.store import SqliteStore
from stomptest.client import Client
from stomptest.protocol import ConfigurationError


def _client(broker: Broker) -> Client:
    client = Client(broker.url, receipt_timeout=10.0)
    client.connect()
    return client


def test_persistent_messages_outlive_the_broker_object(tmp_path: Path) -> None:
    with Broker(profile="activemq", data_dir=tmp_path) as broker:
        client = _client(broker)
        client.send("/queue/d", b"kept", headers={"persistent": "true", "x": "y"}, receipt=True)
        client.send("/queue/d", b"not persistent", receipt=True)
        client.send("/topic/t", b"a topic keeps nothing", headers={"persistent": "true"}, receipt=True)
        [kept_id, _] = [m.message_id for m in broker.messages("/queue/d")]
        client.disconnect()
    with Broker(profile="activemq", data_dir=tmp_path) as again:
        [message] = again.messages("/queue/d")
        assert (message.body, message.message_id, message.header("x")) == (b"kept", kept_id, "y")
        client = _client(again)
        client.send("/queue/d", b"new", headers={"persistent": "true"}, receipt=True)
        subscription = client.subscribe("/queue/d", ack="client-individual")
        first, second = subscription.receive(timeout=10), subscription.receive(timeout=10)
        assert first is not None and second is not None
        assert (first.body, second.body) == (b"kept", b"new")
        assert first.frame.headers["message-id"] == kept_id
        client.ack(first, receipt=True)  # acknowledged: forgotten; `new` stays unacknowledged
        client.disconnect()
    with Broker(profile="activemq", data_dir=tmp_path) as third:
        assert [m.body for m in third.messages("/queue/d")] == [b"new"]


def test_messages_delivered_in_ack_mode_auto_or_expired_are_forgotten(tmp_path: Path) -> None:
    with Broker(profile="artemis", data_dir=tmp_path) as broker:
        client = _client(broker)
        client.subscribe("/queue/auto", receipt=True)
        client.send("/queue/auto", b"delivered", headers={"persistent": "true"}, receipt=True)
        expires = str(int(broker.clock * 1000) + 100)
        client.send("/queue/e", b"expires", headers={"persistent": "true", "expires": expires}, receipt=True)
        broker.advance(1)
        assert [m.body for m in broker.expired()] == [b"expires"]
        client.disconnect()
    with Broker(profile="artemis", data_dir=tmp_path) as again:
        assert again.messages("/queue/auto") == ()
        assert again.messages("/queue/e") == ()
        assert [m.body for m in again.messages("/queue/ExpiryQueue")] == [b"expires"]  # its copy is persistent


def test_seeding_a_stopped_broker_is_written_at_once(tmp_path: Path) -> None:
    Broker(profile="strict", data_dir=tmp_path).seed("/queue/s", b"seeded", {"persistent": "true"})
    assert [m.body for m in Broker(data_dir=tmp_path).messages("/queue/s")] == [b"seeded"]


def test_a_data_folder_that_cannot_be_made_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigurationError, match="data folder"):
        SqliteStore(blocker / "sub")


def _start(folder: Path) -> tuple[subprocess.Popen[str], int]:
    command = ["broker", "--port", "0", "--profile", "rabbitmq", "-q", "--data-dir", str(folder)]
    process = subprocess.Popen(
        [sys.executable, "-m", "stomptest.cli", *command],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    return process, int(line.rsplit(":", 1)[1])


def test_the_broker_process_keeps_what_it_acknowledged_through_a_kill(tmp_path: Path) -> None:
    process, port = _start(tmp_path)
    try:
        client = Client(f"tcp://127.0.0.1:{port}", host="/", receipt_timeout=10.0)
        client.connect()
        for number in range(20):
            client.send("/queue/crash", f"m{number}".encode(), headers={"persistent": "true"}, receipt=True)
        client.send("/queue/crash", b"transient", receipt=True)
        process.send_signal(signal.SIGKILL)  # a crash: no clean stop
        process.wait(30)
        client.close()
    finally:
        process.kill()
        process.wait()
    process, port = _start(tmp_path)
    try:
        client = Client(f"tcp://127.0.0.1:{port}", host="/", receipt_timeout=10.0)
        client.connect()
        subscription = client.subscribe("/queue/crash", receipt=True)
        got = []
        for _ in range(20):
            message = subscription.receive(timeout=10)
            assert message is not None, got
            got.append(message.body)
        assert got == [f"m{number}".encode() for number in range(20)]
        client.send("/queue/crash", b"end", receipt=True)
        last = subscription.receive(timeout=10)
        assert last is not None and last.body == b"end"  # the transient one did not come back
        client.disconnect()
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0
    finally:
        process.kill()
        process.wait()


def test_a_running_brokers_test_side_changes_are_written_when_the_call_returns(tmp_path: Path) -> None:
    with Broker(profile="artemis", data_dir=tmp_path) as broker:
        broker.seed("/queue/s", b"seeded while running", {"persistent": "true"})
        [stored] = SqliteStore(tmp_path).load()  # read by another connection while the broker runs
        assert stored.body == b"seeded while running"
        broker.purge()
        assert list(SqliteStore(tmp_path).load()) == []
