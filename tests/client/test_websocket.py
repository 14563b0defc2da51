"""The clients over WebSocket: the sans-IO layer against a wsproto server in memory, then against the fake broker.

The whole client suite runs over WebSocket too (conftest.py's `broker` fixture); this file
holds what only a WebSocket has: the upgrade, messages against frames, text against
binary, ping, close codes, wss://, failover between a ws:// and a tcp:// member.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import ssl
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)

from stomptest.broker import Broker
from stomptest.broker.profiles import PROFILES
from stomptest.client import AsyncClient, Client
from stomptest.client.transport import websocket
from stomptest.protocol import ConnectionLost, ConnectTimeout
from stomptest.protocol.connection import ClientConnection
from stomptest.protocol.events import Broken, Connected
from stomptest.protocol.session import Session
from stomptest.protocol.websocket_client import FRAGMENT_BYTES, WebSocketClient, WebSocketClosed
from stomptest.urls import Endpoint

from .test_tls import certificate  # noqa: F401  (the module-scoped certificate fixture)

CONNECTED = b"CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\x00"


class Server:
    """A wsproto server end in memory, fed what the client wrote."""

    def __init__(self, subprotocol: str | None = "v12.stomp") -> None:
        self.ws = WSConnection(ConnectionType.SERVER)
        self.subprotocol = subprotocol
        self.request: Request | None = None
        self.messages: list[tuple[str, bytes, bool]] = []  # (text|binary, payload, message_finished)
        self.pongs: list[bytes] = []
        self.closes: list[int | None] = []

    def feed(self, data: bytes) -> bytes:
        """Take the client's bytes; return the server's answer (101 to a request)."""
        self.ws.receive_data(data)
        out = b""
        for event in self.ws.events():
            if isinstance(event, Request):
                self.request = event
                out += self.ws.send(AcceptConnection(subprotocol=self.subprotocol))
            elif isinstance(event, TextMessage):
                self.messages.append(("text", event.data.encode(), event.message_finished))
            elif isinstance(event, BytesMessage):
                self.messages.append(("binary", bytes(event.data), event.message_finished))
            elif isinstance(event, Pong):
                self.pongs.append(bytes(event.payload))
            elif isinstance(event, CloseConnection):
                self.closes.append(event.code)
        return out


def opened(server: Server) -> tuple[ClientConnection, bytes]:
    """A client connection whose WebSocket the server accepted; the CONNECT bytes it then wrote."""
    connection = ClientConnection(Session(), {"host": "/"})
    client = WebSocketClient("127.0.0.1:15674", "/ws")
    answer = server.feed(connection.open(0.0, client))
    assert server.messages == []  # nothing before the upgrade is accepted (RFC 6455 4.1)
    assert connection.receive_data(answer, 0.0) == [] and connection.write_due
    return connection, connection.data_to_send(0.0)


def test_upgrade_offers_the_stomp_subprotocols_and_connect_follows_the_101() -> None:
    server = Server()
    connection, data = opened(server)
    assert server.request is not None
    assert server.request.target == "/ws" and server.request.host == "127.0.0.1:15674"
    assert server.request.subprotocols == ["v12.stomp", "v11.stomp", "v10.stomp"]
    server.feed(data)
    assert [(kind, payload[:8]) for kind, payload, _ in server.messages] == [("text", b"CONNECT\n")]
    assert connection.websocket is not None and connection.websocket.subprotocol == "v12.stomp"


def test_a_broker_naming_no_subprotocol_still_speaks_stomp() -> None:
    server = Server(subprotocol=None)  # RabbitMQ and Artemis when offered none they know (measured)
    connection, _ = opened(server)
    notices = connection.receive_data(server.ws.send(TextMessage(data=CONNECTED.decode())), 0.0)
    assert [type(n) for n in notices] == [Connected]


def test_frames_joined_in_one_message_and_split_over_several_and_a_heartbeat_message() -> None:
    server = Server()
    connection, _ = opened(server)
    send = server.ws.send
    assert [type(n) for n in connection.receive_data(send(TextMessage(data=CONNECTED.decode())), 0.0)] == [Connected]
    frame, _, _ = connection.send_frame(lambda s: s.subscribe("/queue/a")[0])
    message = f"MESSAGE\ndestination:/queue/a\nmessage-id:1\nsubscription:{frame.headers['id']}\n\n".encode()
    data = send(TextMessage(data=(message + b"one\x00" + message).decode()))  # a frame and a half in one message
    data += send(BytesMessage(data=b"two\x00" + message + b"t"))  # the rest, and a frame split again, in binary
    data += send(TextMessage(data="hree\x00"))
    data += send(TextMessage(data="\n"))  # a heart-beat as a message of its own
    assert connection.receive_data(data, 1.0) == []
    assert [connection.take().body for _ in range(3)] == [b"one", b"two", b"three"]  # type: ignore[union-attr]
    assert connection.heartbeats_received == 1


def test_each_frame_goes_as_its_own_message_text_when_utf8_binary_otherwise() -> None:
    server = Server()
    connection, data = opened(server)
    server.feed(data)
    connection.receive_data(server.ws.send(TextMessage(data=CONNECTED.decode())), 0.0)
    for body in (b"caf\xc3\xa9", b"\xff\xfe"):
        connection.send_frame(lambda s, body=body: s.send("/queue/a", body))  # type: ignore[misc]
    assert connection.beat()
    server.feed(connection.data_to_send(1.0))
    kinds = [(kind, payload.endswith(b"\x00") or payload == b"\n") for kind, payload, _ in server.messages[1:]]
    assert kinds == [("text", True), ("binary", True), ("text", True)]
    assert server.messages[-1][1] == b"\n"


def test_a_frame_over_64_kib_goes_in_fragments_cut_between_characters() -> None:
    server = Server()
    connection, data = opened(server)
    server.feed(data)
    connection.receive_data(server.ws.send(TextMessage(data=CONNECTED.decode())), 0.0)
    body = "é" * FRAGMENT_BYTES  # 2 bytes each: the cut must not fall inside one
    connection.send_frame(lambda s: s.send("/queue/a", body.encode()))
    server.feed(connection.data_to_send(1.0))
    fragments = server.messages[1:]
    assert len(fragments) == 3 and [finished for *_, finished in fragments] == [False, False, True]
    assert all(kind == "text" for kind, _, _ in fragments)
    assert b"".join(payload for _, payload, _ in fragments).count("é".encode()) == FRAGMENT_BYTES


def test_ping_is_answered_with_pong_at_once() -> None:
    server = Server()
    connection, _ = opened(server)
    connection.receive_data(server.ws.send(Ping(payload=b"hi")), 0.0)
    assert connection.write_due
    server.feed(connection.data_to_send(0.0))
    assert server.pongs == [b"hi"]


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (1007, "the broker closed the WebSocket with 1007 (invalid frame payload data): STOMP died"),
        (1000, "the broker closed the WebSocket with 1000 (normal closure): STOMP died"),
        (4001, "with 4001 (private use)"),
    ],
)
def test_a_close_from_the_broker_is_answered_and_breaks_the_connection_naming_the_code(
    code: int, expected: str
) -> None:
    server = Server()
    connection, data = opened(server)
    server.feed(data)
    notices = connection.receive_data(server.ws.send(CloseConnection(code=code, reason="STOMP died")), 0.0)
    assert len(notices) == 1 and isinstance(notices[0], Broken)
    error = notices[0].error
    assert isinstance(error, WebSocketClosed) and isinstance(error, ConnectionLost) and error.code == code
    assert expected in str(error)
    server.feed(connection.data_to_send(0.0))
    assert server.closes == [code]  # the close answered, as RFC 6455 5.5.1 asks


def test_a_text_message_that_is_not_utf8_fails_the_websocket_with_1007() -> None:
    server = Server()
    connection, _ = opened(server)
    frame = server.ws.send(TextMessage(data="MESSAGE\n\nx\x00"))
    bad = frame.replace(b"x", b"\xff")  # the server end is unmasked: the payload is there as written
    notices = connection.receive_data(bad, 0.0)
    error = notices[-1].error  # type: ignore[union-attr]
    assert isinstance(error, WebSocketClosed) and error.code == 1007
    assert "RabbitMQ sends every frame as a text message" in str(error)


def test_a_refused_upgrade_and_an_answer_that_is_not_http_say_so() -> None:
    server = WSConnection(ConnectionType.SERVER)
    connection = ClientConnection(Session(), {"host": "/"})
    server.receive_data(connection.open(0.0, WebSocketClient("h:1", "/nope")))
    list(server.events())
    notices = connection.receive_data(server.send(RejectConnection(status_code=404)), 0.0)
    error = notices[-1].error  # type: ignore[union-attr]
    assert isinstance(error, WebSocketClosed) and error.status == 404
    assert "refused the WebSocket upgrade of /nope with HTTP 404 (RabbitMQ web-stomp serves /ws" in str(error)

    connection.connection_lost()
    connection.open(0.0, WebSocketClient("h:61613", "/ws"))
    notices = connection.receive_data(b"ERROR\nmessage:not a frame\n\n\x00", 0.0)
    assert "broke the WebSocket protocol in its answer to the upgrade" in str(notices[-1].error)  # type: ignore[union-attr]


def test_the_host_header_names_the_port_unless_it_is_the_default() -> None:
    client = websocket(Endpoint("ws", "::1", 15674, "/ws"))
    assert client is not None and client.host == "[::1]:15674"
    assert websocket(Endpoint("wss", "example.org", 443)).host == "example.org"  # type: ignore[union-attr]
    assert websocket(Endpoint("tcp", "example.org", 61613)) is None


# --- against the fake broker ------------------------------------------------------------------------------------


def test_a_body_rabbitmq_sends_as_invalid_text_surfaces_as_close_1007() -> None:
    with Broker(profile="rabbitmq") as broker:
        with Client(broker.ws_url) as producer:
            producer.send("/queue/bin", b"\xff\xfe", receipt=True)  # goes in as binary: RabbitMQ takes it
        client = Client(broker.ws_url)
        client.connect()
        try:
            subscription = client.subscribe("/queue/bin")
            with pytest.raises(ConnectionLost, match=r"closed with 1007 \(invalid frame payload data\)"):
                subscription.receive(timeout=5)
                client.send("/queue/other", b"x", receipt=True)
        finally:
            client.close()


def test_a_wrong_path_gives_up_naming_the_http_status() -> None:
    with Broker(profile="rabbitmq") as broker:
        url = broker.ws_url.replace("/ws", "/stomp")
        with pytest.raises(ConnectTimeout, match=r"refused the WebSocket upgrade of /stomp with HTTP 404"):
            Client(url, connect_timeout=5).connect()


def test_failover_from_a_websocket_member_to_a_tcp_one() -> None:
    with Broker(profile="strict") as first, Broker(profile="strict") as second:
        url = (
            f"failover:({first.ws_url},{second.url})?randomize=false&initialReconnectDelay=10"
            "&maxReconnectDelay=50&maxReconnectAttempts=100"
        )
        reconnected = threading.Event()
        with Client(url, on_reconnect=lambda connected: reconnected.set()) as client:
            assert client.broker is not None and client.broker.websocket
            subscription = client.subscribe("/queue/f")
            first.stop()
            assert reconnected.wait(30), f"no reconnection: {client.status}"
            assert client.broker is not None and client.broker.scheme == "tcp"
            client.send("/queue/f", b"after", receipt=True)
            assert client.connection.websocket is None
            message = subscription.receive(timeout=5)
            assert message is not None and message.body == b"after"  # the subscription was replayed over TCP


def test_wss_verifies_by_default_and_connects_with_a_trusting_context(certificate: Path) -> None:  # noqa: F811
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(certificate / "cert.pem", certificate / "key.pem")
    with Broker(ssl_context=server) as broker:
        assert broker.ws_url.startswith("wss://")
        with pytest.raises(ConnectTimeout, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            Client(broker.ws_url, connect_timeout=5).connect()
        assert broker.transcript(command="CONNECT") == []
        context = ssl.create_default_context(cafile=str(certificate / "cert.pem"))
        with Client(broker.ws_url, ssl_context=context) as client:
            client.send("/queue/wss", b"secret", receipt=True)

        async def main() -> None:
            async with AsyncClient(broker.ws_url, ssl_context=context) as client:
                await client.send("/queue/wss", b"async", receipt=True)

        asyncio.run(main())
        assert [m.body for m in broker.messages("/queue/wss")] == [b"secret", b"async"]


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_serves_the_clients_over_websocket(profile: str) -> None:
    settings = PROFILES[profile]
    with Broker(profile=dataclasses.replace(settings)) as broker:
        with Client(broker.ws_url) as client:
            subscription = client.subscribe("/queue/p", ack="client-individual")
            client.send("/queue/p", "héllo".encode(), receipt=True)
            message = subscription.receive(timeout=5)
            assert message is not None and message.body == "héllo".encode()
            client.ack(message)

        async def main() -> bytes | None:
            async with AsyncClient(broker.ws_url) as client:
                subscription = await client.subscribe("/queue/q")
                await client.send("/queue/q", b"async", receipt=True)
                message = await subscription.receive(timeout=5)
                return None if message is None else message.body

        assert asyncio.run(main()) == b"async"


def test_goodbye_is_a_close_frame_over_websocket_and_nothing_over_tcp() -> None:
    server = Server()
    connection, data = opened(server)
    server.feed(data + connection.goodbye())
    assert server.closes == [1000]
    assert connection.goodbye() == b""  # once
    tcp = ClientConnection(Session(), {"host": "/"})
    tcp.open(0.0)
    assert tcp.goodbye() == b""


@given(st.lists(st.binary(max_size=64), max_size=8))
@settings(max_examples=200, deadline=None)
def test_any_bytes_after_the_upgrade_give_notices_never_an_exception(chunks: list[bytes]) -> None:
    server = Server()
    connection, _ = opened(server)
    for chunk in chunks:
        notices = connection.receive_data(chunk, 0.0)
        for notice in notices:
            if isinstance(notice, Broken):
                assert isinstance(notice.error, ConnectionLost) and str(notice.error)
        connection.data_to_send(0.0)  # pongs and close replies, whatever came


@given(st.binary(max_size=300))
@settings(max_examples=200, deadline=None)
def test_any_answer_to_the_upgrade_opens_it_or_says_why(answer: bytes) -> None:
    connection = ClientConnection(Session(), {"host": "/"})
    connection.open(0.0, WebSocketClient("h:1", "/ws"))
    notices = connection.receive_data(answer, 0.0)
    websocket = connection.websocket
    assert websocket is not None
    if websocket.closed is not None:
        assert isinstance(notices[-1], Broken) and str(websocket.closed)


class PingingServer:
    """A one-connection WebSocket STOMP server on a thread: CONNECTED, later a ping; it notes the pong."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.pong = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        sock, _ = self.listener.accept()
        sock.settimeout(10)
        ws = WSConnection(ConnectionType.SERVER)
        with sock:
            while not self.pong.is_set():
                data = sock.recv(65536)
                if not data:
                    return
                ws.receive_data(data)
                for event in ws.events():
                    if isinstance(event, Request):
                        sock.sendall(ws.send(AcceptConnection(subprotocol="v12.stomp")))
                    elif isinstance(event, TextMessage) and event.data.startswith("CONNECT"):
                        sock.sendall(ws.send(TextMessage(data=CONNECTED.decode())))
                        time.sleep(0.3)  # the client is idle by now: its reader thread (or protocol) reads the ping
                        sock.sendall(ws.send(Ping(payload=b"?")))
                    elif isinstance(event, Pong):
                        self.pong.set()


@pytest.mark.parametrize("client", ["Client", "AsyncClient"])
def test_an_idle_client_answers_a_ping_at_once(client: str) -> None:
    server = PingingServer()
    url = f"ws://127.0.0.1:{server.port}/ws"
    if client == "Client":
        idle = Client(url)
        idle.connect()
        try:
            assert server.pong.wait(5), "no pong from an idle Client"
        finally:
            idle.close()
    else:

        async def main() -> None:
            idle = AsyncClient(url)
            await idle.connect()
            try:
                for _ in range(500):
                    if server.pong.is_set():
                        break
                    await asyncio.sleep(0.01)
                assert server.pong.is_set(), "no pong from an idle AsyncClient"
            finally:
                await idle.close()

        asyncio.run(main())
    server.listener.close()


def test_the_subprotocols_offered_follow_the_versions_offered() -> None:
    server = Server(subprotocol=None)
    client = websocket(Endpoint("ws", "h", 1, "/ws"), ("1.1", "1.0"))
    assert client is not None
    server.feed(client.data_to_send())
    assert server.request is not None and server.request.subprotocols == ["v11.stomp", "v10.stomp"]
    with Broker(profile="strict") as broker, Client(broker.ws_url, version=["1.0", "1.1"]) as connected:
        assert connected.connection.websocket is not None
        assert connected.connection.websocket.subprotocol == "v11.stomp" and connected.version == "1.1"
