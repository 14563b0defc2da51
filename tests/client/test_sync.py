"""The blocking client against the fake broker: operations, receipts, errors, heart-beats, clean ends."""

from __future__ import annotations

import socket
import threading

import pytest

from stomptest.broker import Broker
from stomptest.client import Client
from stomptest.client.threads import RECV_SLICE
from stomptest.protocol import BrokerError, ConfigurationError, ConnectionLost, ConnectTimeout, Frame, ProtocolError

from .conftest import REFUSING_ACTIVEMQ, failover


def test_send_subscribe_receive_ack(broker: Broker) -> None:
    with Client(broker.url) as client:
        assert client.version == "1.2"
        subscription = client.subscribe("/queue/a", ack="client-individual", receipt=True)
        client.send("/queue/a", b"one", headers={"x-key": "v"}, receipt=True)
        message = subscription.receive(timeout=5)
        assert message is not None
        assert (message.body, message.frame.headers["x-key"], message.needs_ack) == (b"one", "v", True)
        assert client.unacknowledged() == (message,)
        client.ack(message, receipt=True)
        assert client.unacknowledged() == ()
        assert broker.unacked() == ()


def test_receive_times_out_with_none(broker: Broker) -> None:
    with Client(broker.url) as client:
        client.subscribe("/queue/empty")
        assert client.receive(timeout=0.05) is None
        assert client.receive(timeout=0) is None


def test_version_list_is_offered_and_negotiated(broker: Broker) -> None:
    with Client(broker.url, version=["1.0", "1.1"]) as client:
        assert client.version == "1.1"
    entry = broker.wait_for_frame("CONNECT")
    assert isinstance(entry.frame, Frame)
    assert entry.frame.headers["accept-version"] == "1.0,1.1"


def test_bad_options_are_refused_before_any_connection() -> None:
    with pytest.raises(ConfigurationError, match="version"):
        Client("tcp://127.0.0.1:1", version="2.0")
    with pytest.raises(ConfigurationError, match="heartbeat"):
        Client("tcp://127.0.0.1:1", heartbeat=(-1, 0))
    with pytest.raises(ConfigurationError, match="connect_timeout"):
        Client("tcp://127.0.0.1:1", connect_timeout=0)
    with pytest.raises(ConfigurationError, match="scheme"):
        Client("http://127.0.0.1:1")


def test_tcp_nodelay_is_set(broker: Broker) -> None:
    with Client(broker.url) as client:
        sock = client._sock
        assert sock is not None
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_transaction_context_manager_commits_or_aborts(broker: Broker) -> None:
    with Client(broker.url) as client:
        with client.transaction() as tx:
            client.send("/queue/t", b"kept", transaction=tx)
            assert broker.messages("/queue/t") == ()
        with pytest.raises(RuntimeError), client.transaction() as tx:
            client.send("/queue/t", b"dropped", transaction=tx)
            raise RuntimeError("abort please")
        client.send("/queue/sync", b"", receipt=True)  # everything before it is processed
        assert [m.body for m in broker.messages("/queue/t")] == [b"kept"]
        assert client.session.transactions == ()


def test_receipt_answered_by_error_raises_broker_error() -> None:
    with Broker(profile=REFUSING_ACTIVEMQ) as broker, Client(broker.url) as client:
        with pytest.raises(BrokerError) as caught:
            client.send("no-prefix", b"x", receipt=True)
        assert caught.value.frame.command == "ERROR"
        client.send("/queue/still-open", b"x", receipt=True)  # bad-destination does not close in activemq


def test_unsolicited_error_is_raised_by_the_next_call(broker: Broker) -> None:
    with Client(broker.url) as client:
        client.subscribe("/queue/x", receipt=True)
        broker.send_error(message="injected", close=False)
        with pytest.raises(BrokerError, match="injected"):
            for _ in range(200):
                client.receive(timeout=0.05)
        client.send("/queue/x", b"after", receipt=True)  # raised once, then the client goes on


def test_unsolicited_error_goes_to_on_error_when_given(broker: Broker) -> None:
    seen: list[Exception] = []
    arrived = threading.Event()

    def on_error(error: Exception) -> None:
        seen.append(error)
        arrived.set()

    with Client(broker.url, on_error=on_error) as client:
        broker.wait_for_connections(1)
        broker.send_error(message="to the callback", close=False)
        assert arrived.wait(5)
        client.send("/queue/x", b"", receipt=True)
    assert isinstance(seen[0], BrokerError) and "to the callback" in str(seen[0])


def test_refused_connect_raises_broker_error_without_retrying() -> None:
    with Broker(users={"alice": "secret"}) as broker:
        with pytest.raises(BrokerError):
            Client(failover(broker), login="alice", passcode="wrong").connect()
        assert len(broker.transcript(command="CONNECT")) == 1


def test_unreachable_broker_gives_connect_timeout_naming_the_failure() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    with pytest.raises(ConnectTimeout, match=r"Connection refused|ConnectionRefused"):
        Client(f"tcp://127.0.0.1:{port}").connect()


def test_silent_listener_times_out_and_the_socket_is_closed() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        with pytest.raises(ConnectTimeout, match=r"timed out|CONNECTED"):
            Client(f"tcp://127.0.0.1:{port}", connect_timeout=0.2).connect()
        accepted, _ = server.accept()
        accepted.settimeout(5)
        data = accepted.recv(4096)
        assert data.startswith(b"CONNECT")
        assert accepted.recv(4096) == b""  # the client closed its socket: nothing leaked
        accepted.close()
    finally:
        server.close()


def test_calls_after_disconnect_are_refused(broker: Broker) -> None:
    client = Client(broker.url)
    with pytest.raises(ProtocolError, match="connect"):
        client.send("/queue/a", b"")
    client.connect()
    client.disconnect()
    assert client.status == "closed"
    with pytest.raises(ProtocolError):
        client.send("/queue/a", b"")
    broker.wait_for_connections(0, exactly=True)
    assert broker.transcript(command="DISCONNECT")


def test_subscription_iteration_stops_on_unsubscribe(broker: Broker) -> None:
    with Client(broker.url) as client:
        subscription = client.subscribe("/queue/it")
        for body in (b"1", b"2"):
            client.send("/queue/it", body)
        got = []
        for message in subscription:
            got.append(message.body)
            if len(got) == 2:
                subscription.unsubscribe(receipt=True)
        assert got == [b"1", b"2"]


def test_heartbeats_are_sent_and_received(broker: Broker) -> None:
    with Client(broker.url, heartbeat=(100, 100)) as client:
        assert client.connected is not None
        assert client.connected.heartbeat.send == 100
        broker.wait_for(lambda s: client.heartbeats_received >= 3 and client.heartbeats_sent >= 3, what="beats")
        assert client.is_connected


def test_silent_broker_is_a_lost_connection_and_reconnect_follows(broker: Broker) -> None:
    lost = threading.Event()
    reconnected = threading.Event()
    causes: list[BaseException] = []

    def on_lost(_lost: object, cause: BaseException) -> None:
        causes.append(cause)
        lost.set()

    with Client(failover(broker), heartbeat=(0, 50), on_connection_lost=on_lost) as client:
        client.on_reconnect = lambda connected: reconnected.set()
        broker.wait_for_connections(1)
        broker.pause_heartbeats()
        assert lost.wait(5)
        assert isinstance(causes[0], ConnectionLost) and "heart-beat" in str(causes[0])
        assert reconnected.wait(5)
        client.send("/queue/after", b"", receipt=True)


def test_plain_url_does_not_reconnect_and_calls_raise_connection_lost(broker: Broker) -> None:
    client = Client(broker.url)
    client.connect()
    client.subscribe("/queue/a", receipt=True)
    broker.drop_connections()
    with pytest.raises(ConnectionLost, match="reconnecting failed"):
        client.receive(timeout=5)
    assert client.status == "failed"
    with pytest.raises(ConnectionLost):
        client.send("/queue/a", b"")
    client.close()


def test_connect_again_after_failure_replays_subscriptions(broker: Broker) -> None:
    client = Client(broker.url)
    client.connect()
    subscription = client.subscribe("/queue/again", receipt=True)
    broker.drop_connections()
    with pytest.raises(ConnectionLost):
        client.receive(timeout=5)
    client.connect()
    broker.wait_for_subscriptions("/queue/again")
    broker.seed("/queue/again", b"hello")
    message = subscription.receive(timeout=5)
    assert message is not None and message.body == b"hello"
    client.disconnect()


def test_receipt_timeout_raises_connection_lost(broker: Broker) -> None:
    with Client(broker.url, receipt_timeout=0.1) as client:
        broker.wait_for_connections(1)
        broker.hold_frames(["RECEIPT"])
        with pytest.raises(ConnectionLost, match="no RECEIPT"):
            client.send("/queue/a", b"", receipt=True)
        broker.release_frames()


def test_a_send_without_receipt_goes_out_without_any_further_call(broker: Broker) -> None:
    with Client(broker.url) as client:
        client.send("/queue/flushed", b"on its own")
        assert [m.body for m in broker.wait_for_messages("/queue/flushed")] == [b"on its own"]


def test_threads_sending_at_once_keep_each_threads_order(broker: Broker) -> None:
    with Client(broker.url) as client:
        subscription = client.subscribe("/queue/many", receipt=True)

        def produce(name: str) -> None:
            for index in range(150):
                client.send("/queue/many", f"{name}:{index}")

        threads = [threading.Thread(target=produce, args=(f"t{n}",)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        bodies = []
        for _ in range(600):
            message = subscription.receive(timeout=5)
            assert message is not None
            bodies.append(message.body.decode())
        for name in ("t0", "t1", "t2", "t3"):
            assert [b for b in bodies if b.startswith(f"{name}:")] == [f"{name}:{i}" for i in range(150)]


def test_lost_connection_without_callback_is_logged(broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    reconnected = threading.Event()
    with Client(failover(broker), on_reconnect=lambda c: reconnected.set()) as client:
        client.subscribe("/queue/log", ack="client", receipt=True)
        client.send("/queue/log", b"pending", receipt=True)
        assert client.receive(timeout=5) is not None
        broker.drop_connections()
        assert reconnected.wait(5)
        message = client.receive(timeout=5)
        assert message is not None
        client.ack(message)
    assert "1 unacknowledged message(s) will be redelivered" in caplog.text


def test_pending_error_is_raised_by_disconnect_after_closing(broker: Broker) -> None:
    client = Client(broker.url)
    client.connect()
    broker.wait_for_connections(1)
    broker.send_error(message="unread", close=False)
    broker.wait_for(lambda _: len(client._errors) == 1, what="the client to have the ERROR queued")
    with pytest.raises(BrokerError, match="unread"):
        client.disconnect()
    assert client.status == "closed"
    broker.wait_for_connections(0, exactly=True)


class _RecordingSocket:
    """Wraps the client's socket to record which thread read each time."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.readers: list[str] = []
        self.slices_passed = 0  # blocking reads that returned empty-handed after RECV_SLICE

    def recv(self, size: int, *flags: int) -> bytes:
        self.readers.append(threading.current_thread().name)
        return self.sock.recv(size, *flags)

    def recv_into(self, buffer: memoryview, size: int, *flags: int) -> int:
        self.readers.append(threading.current_thread().name)
        try:
            return self.sock.recv_into(buffer, size, *flags)
        except BlockingIOError:
            self.slices_passed += 1
            raise

    def __getattr__(self, name: str) -> object:
        return getattr(self.sock, name)


def test_a_waiting_call_reads_its_answer_itself(broker: Broker) -> None:
    with Client(broker.url) as client:
        client._hand_back = 3600.0  # the reader thread leaves the socket to the calls throughout
        client.subscribe("/queue/own", receipt=True)  # by now the reader thread waits, not in recv()
        recording = _RecordingSocket(client._sock)  # type: ignore[arg-type]
        client._sock = recording  # type: ignore[assignment]
        for number in range(20):
            client.send("/queue/own", b"%d" % number, receipt=True)
        assert [client.receive(timeout=5) is not None for _ in range(20)] == [True] * 20
        client._sock = recording.sock
    assert recording.readers and set(recording.readers) == {threading.current_thread().name}


def test_a_late_receipt_is_read_by_the_waiting_call_through_its_sliced_recv(broker: Broker) -> None:
    # The waiting call reads with a blocking recv() bounded by SO_RCVTIMEO (no select()); a slice
    # that passes without data is neither an end of the connection nor a reason to hand over.
    with Client(broker.url) as client:
        if client._sliced is None:
            pytest.skip("recv() in slices is Linux-only")
        client._hand_back = 3600.0
        client.subscribe("/queue/late", receipt=True)
        recording = _RecordingSocket(client._sock)  # type: ignore[arg-type]
        client._sock = client._sliced = recording  # type: ignore[assignment]
        broker.hold_frames(["RECEIPT"], duration=RECV_SLICE * 5)
        client.send("/queue/late", b"late", receipt=True)
        client._sock = client._sliced = recording.sock
        assert client.status == "connected" and client.reconnects == 0
        assert client.receive(timeout=5) is not None
    assert recording.slices_passed >= 1
    assert set(recording.readers) == {threading.current_thread().name}


def test_the_reader_thread_reads_while_no_call_waits(broker: Broker) -> None:
    with Client(broker.url) as client, Client(broker.url) as producer:
        client.subscribe("/queue/idle", receipt=True)
        producer.send("/queue/idle", b"while nobody waits", receipt=True)
        broker.wait_for(lambda _: client.connection.unconsumed == 1, what="the reader thread to read the MESSAGE")
        message = client.receive(timeout=0)
        assert message is not None and message.headers["destination"] == "/queue/idle"
