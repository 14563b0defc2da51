"""The gevent host on real sockets, with stomp.py as an independent client, for every profile."""

from __future__ import annotations

import os
import queue
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stomp

from stomptest.broker import PROFILES, Broker, WaitTimeout
from stomptest.protocol import Frame, Heartbeat

from .rawclient import RawClient


class Listener(stomp.ConnectionListener):  # type: ignore[misc]
    """Collects what stomp.py hands to listeners, with timeouts instead of blocking forever."""

    def __init__(self) -> None:
        self.messages: queue.Queue[Any] = queue.Queue()
        self.errors: queue.Queue[Any] = queue.Queue()
        self.receipts: queue.Queue[str] = queue.Queue()

    def on_message(self, frame: Any) -> None:
        self.messages.put(frame)

    def on_error(self, frame: Any) -> None:
        self.errors.put(frame)

    def on_receipt(self, frame: Any) -> None:
        self.receipts.put(frame.headers["receipt-id"])

    def message(self, timeout: float = 5.0) -> Any:
        return self.messages.get(timeout=timeout)


def stomp_client(broker: Broker, version: str = "1.2", **options: Any) -> tuple[Any, Listener]:
    factory = {"1.0": stomp.Connection10, "1.1": stomp.Connection11, "1.2": stomp.Connection12}[version]
    if version != "1.0":
        options.setdefault("vhost", "/")  # RabbitMQ's default vhost; strict requires some host
    connection = factory([broker.address], **options)
    listener = Listener()
    connection.set_listener("test", listener)
    connection.connect(wait=True)
    return connection, listener


@pytest.fixture(params=sorted(PROFILES))
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    with Broker(profile=request.param) as running:
        yield running
    running.check()


def test_importing_the_broker_does_not_import_gevent() -> None:
    code = "import sys, stomptest.broker; from stomptest.broker import Broker; Broker(); print('gevent' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_start_gives_url_and_port_and_stop_closes_the_port() -> None:
    broker = Broker()
    assert not broker.running
    assert broker.start() is broker
    assert broker.port > 0
    assert broker.url == f"tcp://127.0.0.1:{broker.port}"
    socket.create_connection(broker.address, timeout=2).close()
    broker.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(broker.address, timeout=2)
    broker.stop()  # idempotent


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_stomp_py_send_subscribe_ack(broker: Broker, version: str) -> None:
    connection, listener = stomp_client(broker, version)
    ack = "client" if version == "1.0" else "client-individual"
    connection.subscribe("/queue/work", id="s1", ack=ack)
    connection.send("/queue/work", "hello", headers={"x-user": "kept"}, receipt="r1")
    assert listener.receipts.get(timeout=5) == "r1"
    message = listener.message()
    assert message.body == "hello"
    assert message.headers["x-user"] == "kept"
    assert broker.wait_for_unacked(1, "/queue/work")
    if version == "1.2":
        connection.ack(message.headers["ack"])
    elif version == "1.1":
        connection.ack(message.headers["message-id"], "s1")
    else:
        connection.ack(message.headers["message-id"])
    broker.wait_for(lambda s: not s.unacked, what="the ACK to be processed")
    connection.disconnect()
    broker.wait_for_connections(0, exactly=True)


def test_unacked_messages_are_redelivered_to_the_next_client(broker: Broker) -> None:
    first, listener = stomp_client(broker)
    first.subscribe("/queue/r", id="1", ack="client-individual")
    first.send("/queue/r", "again")
    listener.message()
    first.disconnect()
    second, listener2 = stomp_client(broker)
    second.subscribe("/queue/r", id="1", ack="auto")
    message = listener2.message()
    assert message.body == "again"
    expected = {"always": "true", "when-true": "true", "never": None}[broker.profile.redelivered_header]
    assert message.headers.get("redelivered") == expected
    second.disconnect()


def test_topic_fan_out_between_stomp_py_clients(broker: Broker) -> None:
    clients = [stomp_client(broker) for _ in range(3)]
    for connection, _ in clients:
        connection.subscribe("/topic/news", id="n")
    broker.wait_for_subscriptions("/topic/news", 3)
    clients[0][0].send("/topic/news", "flash")
    assert [listener.message().body for _, listener in clients] == ["flash"] * 3
    for connection, _ in clients:
        connection.disconnect()


def test_restart_on_the_same_port_keeps_queued_messages() -> None:
    broker = Broker(profile="activemq").start()
    port = broker.port
    connection, _ = stomp_client(broker)
    connection.send("/queue/kept", "lost", receipt="r0")  # ActiveMQ keeps persistent messages only (issue 15)
    connection.send("/queue/kept", "survives", headers={"persistent": "true"}, receipt="r")
    broker.wait_for_messages("/queue/kept", 2)
    broker.restart()
    assert broker.port == port
    assert [m.text for m in broker.messages("/queue/kept")] == ["survives"]
    again, listener = stomp_client(broker)
    again.subscribe("/queue/kept", id="1")
    assert listener.message().body == "survives"
    again.disconnect()
    broker.stop()


def test_a_new_broker_can_bind_the_port_of_a_stopped_one() -> None:
    with Broker() as first:
        client = RawClient(first.port)
        client.connect()
        port = first.port
    assert client.wait_closed()  # the client saw end of file
    with Broker(port=port) as second:
        RawClient(second.port).connect()


def test_stop_leaks_no_thread_and_no_socket() -> None:
    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    with Broker() as warm:  # load modules and the first hub outside the measurement
        RawClient(warm.port).connect()
    threads_before = set(threading.enumerate())
    fds_before = fds()
    for _ in range(20):
        with Broker() as broker:
            clients = [RawClient(broker.port) for _ in range(3)]
            for client in clients:
                client.connect()
        for client in clients:
            assert client.wait_closed()
            client.close()
    assert set(threading.enumerate()) - threads_before == set()
    assert fds() <= fds_before


def test_bad_bytes_get_error_and_close_and_leave_others_alone(broker: Broker) -> None:
    good, listener = stomp_client(broker)
    good.subscribe("/queue/safe", id="1")
    for garbage in (b"\x00\xff\xfe garbage\n\n\x00", b"SEND\n" + b"x" * 200_000 + b"\n\n\x00", b"\xc3\x28:\n\n\x00"):
        bad = RawClient(broker.port)
        bad.connect()
        bad.raw(garbage)
        reply = bad.next()
        if isinstance(reply, Frame):
            assert reply.command == "ERROR", reply
        else:  # RabbitMQ closes on bytes it cannot parse without an ERROR (measured)
            assert not broker.profile.malformed_error and bad.wait_closed()
        bad.close()
    good.send("/queue/safe", "intact")
    assert listener.message().body == "intact"
    good.disconnect()


def test_heartbeats_are_sent_over_the_socket() -> None:
    with Broker() as broker:
        client = RawClient(broker.port)
        connected = client.connect(**{"heart-beat": "0,20"})
        assert connected.headers["heart-beat"] == "20,0"
        assert client.next(5, heartbeats=True) == Heartbeat()
        assert any(e.command == "HEARTBEAT" for e in broker.transcript(direction="out"))


def test_silent_client_is_closed_after_the_heartbeat_interval() -> None:
    with Broker(profile="artemis") as broker:
        client = RawClient(broker.port)
        client.connect(**{"heart-beat": "20,0"})
        assert client.wait_closed(5)
        broker.wait_for_connections(0, exactly=True)
        closed = broker.transcript()
        assert closed  # the transcript of a closed connection is kept


def test_tls(tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed, so no certificate can be made for the TLS test")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"]
    subprocess.run(
        [*command, "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    with Broker(ssl_context=server) as broker:
        assert broker.url.startswith("ssl://")
        client_context = ssl.create_default_context(cafile=str(cert))
        client_context.check_hostname = False
        raw = socket.create_connection(broker.address, timeout=5)
        with client_context.wrap_socket(raw) as tls:
            tls.sendall(Frame("CONNECT", {"accept-version": "1.2", "host": "/"}).encode())
            data = tls.recv(4096)
        assert data.startswith(b"CONNECTED\n")


def test_monkey_patched_caller_runs_the_broker_in_its_own_hub() -> None:
    code = """
from gevent import monkey; monkey.patch_all()
import socket, threading
from stomptest.broker import Broker
from stomptest.protocol import Frame
with Broker() as broker:
    assert broker._host._inline and broker._host._thread is None
    s = socket.create_connection(broker.address)
    s.sendall(Frame("CONNECT", {"accept-version": "1.2", "host": "/"}).encode())
    print(s.recv(4096).split(b"\\n")[0].decode())
    s.close()
print(threading.active_count())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["CONNECTED", "1"]


def test_wait_for_timeout_shows_what_was_there() -> None:
    with Broker() as broker:
        broker.seed("/queue/other", "something else")
        with pytest.raises(WaitTimeout) as caught:
            broker.wait_for_messages("/queue/wanted", timeout=0.05)
        text = str(caught.value)
        assert "/queue/wanted" in text
        assert "/queue/other: 1 queued" in text
        assert "something else" in text


def test_wait_for_frame_timeout_lists_frames_seen() -> None:
    with Broker() as broker:
        client = RawClient(broker.port)
        client.connect()
        with pytest.raises(WaitTimeout) as caught:
            broker.wait_for_frame("SUBSCRIBE", timeout=0.05)
        assert "CONNECT" in str(caught.value)


def test_a_busy_producer_does_not_hold_deliveries_back() -> None:
    """MESSAGEs go out, and the test's calls are served, while the broker still reads a producer's backlog.

    The producer writes 40,000 SENDs (5 MB) in one go; when the consumer sees its first MESSAGE and asks
    the broker how much it has read, not all of them may have been read. A socket with data
    waiting never yields to the event loop, so before the fix both the MESSAGE and the answer
    waited for the last SEND (and so would every other connection and the heart-beat timers).
    """
    count = 40_000
    with Broker() as broker:
        consumer = RawClient(broker.port)
        consumer.connect()
        consumer.send("SUBSCRIBE", {"destination": "/queue/busy", "id": "1", "receipt": "r"})
        consumer.expect("RECEIPT")
        producer = RawClient(broker.port)
        producer.connect()
        backlog = Frame("SEND", {"destination": "/queue/busy"}, b"x" * 100).encode() * count
        writer = threading.Thread(target=producer.raw, args=(backlog,))
        writer.start()
        consumer.expect("MESSAGE", timeout=30)
        read = max(info.frames_received for info in broker.connections())
        writer.join(30)
        assert read < count, f"the broker had read all {count} SENDs before the first MESSAGE went out"
