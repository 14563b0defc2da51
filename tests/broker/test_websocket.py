"""The WebSocket adapter and the shared mapping without sockets: bytes in, STOMP bytes and messages out.

A wsproto client plays the other end in memory. The host's part (telling TCP from WebSocket on one
port, the handshake timeout, serving others after bad input) is tested over sockets at the end.
"""

from __future__ import annotations

import dataclasses
import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    RejectConnection,
    Request,
    TextMessage,
)

from stomptest import strategies as stomp
from stomptest.broker import PROFILES, Broker
from stomptest.broker.websocket import WebSocketAdapter, looks_like_websocket
from stomptest.broker.websocket_profiles import WebSocketSettings
from stomptest.protocol.parser import Parser
from stomptest.protocol.websocket import FrameSplitter, choose_subprotocol, payload
from tests.wsclient import CONNECT, WSClient, raw_http

RABBITMQ = PROFILES["rabbitmq"].websocket
ARTEMIS = PROFILES["artemis"].websocket
ACTIVEMQ = PROFILES["activemq"].websocket
STRICT = PROFILES["strict"].websocket


class Pair:
    """A wsproto client and an adapter wired together in memory."""

    def __init__(
        self, ws: WebSocketSettings, frame_eol: bool = False, path: str = "/ws", subprotocols: tuple[str, ...] = ()
    ) -> None:
        self.adapter = WebSocketAdapter(ws, frame_eol, now=0.0)
        self.client = WSConnection(ConnectionType.CLIENT)
        self.stomp = self.adapter.receive_data(
            self.client.send(Request(host="x", target=path, subprotocols=list(subprotocols)))
        )
        self.events: list[Event] = []
        self.pull()

    def pull(self) -> list[Event]:
        data = self.adapter.data_to_send()
        if data:
            self.client.receive_data(data)
        new = list(self.client.events())
        self.events.extend(new)
        return new

    def send(self, event: Event) -> bytes:
        return self.adapter.receive_data(self.client.send(event))

    def messages(self) -> list[tuple[str, bytes]]:
        out = []
        for event in self.pull():
            if isinstance(event, TextMessage):
                out.append(("text", event.data.encode("utf-8")))
            elif isinstance(event, BytesMessage):
                out.append(("binary", bytes(event.data)))
        return out


def test_first_bytes_tell_http_from_stomp() -> None:
    assert looks_like_websocket(b"G") is None
    assert looks_like_websocket(b"GE") is None
    assert looks_like_websocket(b"GET /ws HTTP/1.1\r\n") is True
    assert looks_like_websocket(b"GEX") is False
    assert looks_like_websocket(b"CONNECT\n") is False
    assert looks_like_websocket(b"\n") is False  # a heart-beat before CONNECT


def test_subprotocol_choice() -> None:
    known = ("v12.stomp", "v11.stomp", "v10.stomp")
    assert choose_subprotocol(["v10.stomp", "v12.stomp"], known, "preferred") == "v12.stomp"
    assert choose_subprotocol(["v10.stomp", "v12.stomp"], known, "first-offered") == "v10.stomp"
    assert choose_subprotocol(["foo"], known, "preferred") is None
    assert choose_subprotocol([], known, "first-offered") is None


def test_handshake_then_stomp_bytes_in_order() -> None:
    pair = Pair(STRICT, subprotocols=("v11.stomp", "v12.stomp"))
    accepted = [event for event in pair.events if isinstance(event, AcceptConnection)]
    assert accepted and accepted[0].subprotocol == "v12.stomp"
    two = CONNECT + b"SEND\ndestination:/queue/a\n\nx\x00"
    assert pair.send(TextMessage(data=two.decode())) == two
    assert pair.send(BytesMessage(data=b"SEND\ndestination:/q")) == b"SEND\ndestination:/q"
    assert pair.send(TextMessage(data="ueue/a\n\n", message_finished=False)) == b"ueue/a\n\n"
    assert pair.send(TextMessage(data="y\x00", message_finished=True)) == b"y\x00"


def test_wrong_path_is_refused_with_the_profiles_status() -> None:
    pair = Pair(RABBITMQ, path="/stomp")
    rejected = [event for event in pair.events if isinstance(event, RejectConnection)]
    assert rejected and rejected[0].status_code == 404
    assert pair.adapter.finished and pair.adapter.close_kind == "wrong-path"
    assert not Pair(ARTEMIS, path="/anything/at/all").adapter.finished


@pytest.mark.parametrize(
    ("ws", "answer"),
    [(STRICT, b"HTTP/1.1 426 "), (RABBITMQ, b"HTTP/1.1 426 "), (ACTIVEMQ, b"HTTP/1.1 200 "), (ARTEMIS, b"")],
)
def test_get_without_upgrade(ws: WebSocketSettings, answer: bytes) -> None:
    adapter = WebSocketAdapter(ws, False, now=0.0)
    assert adapter.receive_data(b"GET /ws HTTP/1.1\r\nHost: x\r\n\r\n") == b""
    assert adapter.data_to_send().startswith(answer)
    assert adapter.finished == bool(answer)  # Artemis: no answer, the handshake timeout closes it


def test_missing_key_and_handshake_timeout() -> None:
    request = (
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    rabbit = WebSocketAdapter(RABBITMQ, True, now=0.0)
    rabbit.receive_data(request)
    assert rabbit.data_to_send().startswith(b"HTTP/1.1 400 ")
    artemis = WebSocketAdapter(ARTEMIS, True, now=0.0)
    artemis.receive_data(request)
    assert artemis.data_to_send() == b"" and artemis.finished
    half = WebSocketAdapter(RABBITMQ, True, now=100.0)
    assert half.handshake_deadline == 105.0
    half.receive_data(b"GET /ws HTTP/1.1\r\n")
    half.handshake_timed_out()
    assert half.data_to_send().startswith(b"HTTP/1.1 408 ") and half.finished
    silent = WebSocketAdapter(RABBITMQ, True, now=0.0)
    silent.handshake_timed_out()  # nothing was sent: closed without an answer
    assert silent.data_to_send() == b"" and silent.finished


@pytest.mark.parametrize(
    ("ws", "version", "answer"),
    [
        (RABBITMQ, b"8", b"HTTP/1.1 101 "),
        (RABBITMQ, b"7", b"HTTP/1.1 101 "),
        (RABBITMQ, b"12", b"HTTP/1.1 400 "),
        (ARTEMIS, b"8", b"HTTP/1.1 101 "),
        (ARTEMIS, b"12", b"HTTP/1.1 426 "),
        (STRICT, b"8", b"HTTP/1.1 426 "),
    ],
)
def test_handshake_versions(ws: WebSocketSettings, version: bytes, answer: bytes) -> None:
    adapter = WebSocketAdapter(ws, False, now=0.0)
    request = (
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: " + version + b"\r\n\r\n"
    )
    for start in range(0, len(request), 10):  # the head comes in pieces
        adapter.receive_data(request[start : start + 10])
    sent = adapter.data_to_send()
    assert sent.startswith(answer)
    assert (b"Sec-WebSocket-Version: 13" in sent) == answer.startswith(b"HTTP/1.1 426")


def test_output_one_message_per_frame_and_heartbeat() -> None:
    stream = b"CONNECTED\nversion:1.2\n\n\x00\n\nMESSAGE\ncontent-length:3\n\na\x00b\x00\n"
    rabbit = Pair(RABBITMQ, frame_eol=True)
    rabbit.adapter.send_stomp(stream)
    assert rabbit.messages() == [
        ("text", b"CONNECTED\nversion:1.2\n\n\x00\n"),
        ("text", b"\n"),
        ("text", b"MESSAGE\ncontent-length:3\n\na\x00b\x00\n"),
    ]
    activemq = Pair(ACTIVEMQ, frame_eol=True)  # the TCP profile writes the LF; its WebSocket does not
    activemq.adapter.send_stomp(stream)
    assert [data for _, data in activemq.messages()] == [
        b"CONNECTED\nversion:1.2\n\n\x00",
        b"\n",
        b"MESSAGE\ncontent-length:3\n\na\x00b\x00",
    ]
    artemis = Pair(ARTEMIS, frame_eol=True)
    artemis.adapter.send_stomp(stream[:30])  # a partial frame waits for the rest
    artemis.adapter.send_stomp(stream[30:])
    assert [kind for kind, _ in artemis.messages()] == ["binary", "binary", "binary"]


def test_message_types_for_a_body_that_is_not_utf8() -> None:
    frame = b"MESSAGE\ncontent-length:2\n\n\xff\xfe\x00"
    assert payload(frame, "binary") == ("binary", frame)
    assert payload(frame, "text-or-binary") == ("binary", frame)
    assert payload(b"MESSAGE\n\nok\x00", "text-or-binary") == ("text", b"MESSAGE\n\nok\x00")
    assert payload(frame, "text-replaced") == ("text", "MESSAGE\ncontent-length:2\n\n\ufffd\ufffd\x00".encode())
    rabbit = Pair(RABBITMQ)
    rabbit.adapter.send_stomp(frame)
    closes = [event for event in rabbit.pull() if isinstance(event, CloseConnection)]
    assert closes and closes[0].code == 1007  # RabbitMQ's text message is invalid: the client fails it


def test_activemq_reads_one_frame_per_text_message() -> None:
    pair = Pair(ACTIVEMQ)
    two = CONNECT + b"SEND\ndestination:/queue/a\n\nx\x00"
    assert pair.send(TextMessage(data=two.decode())) == CONNECT  # the rest of the message is never read
    assert pair.send(BytesMessage(data=CONNECT)) == b""  # binary messages are ignored
    assert pair.send(TextMessage(data="\n")) == b"\n"  # a heart-beat
    assert pair.send(TextMessage(data="SEND\n", message_finished=False)) == b""
    assert pair.send(TextMessage(data="destination:/q\n\n\x00")) == b"SEND\ndestination:/q\n\n\x00"
    assert pair.send(TextMessage(data="SEND\ndestination:/q\n\nno nul")) == b""
    assert pair.adapter.finished and pair.adapter.close_kind == "malformed"
    assert [event.code for event in pair.pull() if isinstance(event, CloseConnection)] == [1000]


def test_size_limit_per_frame_or_per_message() -> None:
    small = "x" * 40_000
    artemis = Pair(ARTEMIS)  # 65,536 bytes per WebSocket frame: two 40,000-byte fragments pass
    assert len(artemis.send(TextMessage(data=small, message_finished=False))) == 40_000
    assert len(artemis.send(TextMessage(data=small, message_finished=True))) == 40_000
    assert artemis.send(TextMessage(data="x" * 65_537)) == b""
    assert artemis.adapter.finished and artemis.adapter.close_kind == "too-big"
    assert artemis.adapter.data_to_send() == b""  # no close frame: the connection just ends
    activemq = Pair(ACTIVEMQ)  # 65,536 bytes per message
    activemq.send(TextMessage(data=small, message_finished=False))
    activemq.send(TextMessage(data=small, message_finished=True))
    assert activemq.adapter.finished
    assert [event.code for event in activemq.pull() if isinstance(event, CloseConnection)] == [1009]


def test_disconnect_drops_the_last_output_on_rabbitmq() -> None:
    receipt = b"RECEIPT\nreceipt-id:d\n\n\x00\n"
    rabbit = Pair(RABBITMQ, frame_eol=True)
    rabbit.adapter.stomp_closed(receipt, "DISCONNECT")
    events = rabbit.pull()
    assert [type(event) for event in events] == [CloseConnection] and events[0].code == 1000  # type: ignore[attr-defined]
    strict = Pair(STRICT, frame_eol=True)
    strict.adapter.stomp_closed(receipt, "DISCONNECT")
    assert [type(event) for event in strict.pull()] == [TextMessage, CloseConnection]
    artemis = Pair(ARTEMIS, frame_eol=True)
    artemis.adapter.stomp_closed(b"ERROR\nmessage:x\n\n\x00\n", "ERROR (malformed): x")
    assert [type(event) for event in artemis.pull()] == [BytesMessage]  # and no close frame


def test_close_codes_when_the_stomp_connection_closes() -> None:
    for ws, kind, code in ((RABBITMQ, "malformed", 1007), (RABBITMQ, "closed", 1000), (ARTEMIS, "closed", None)):
        pair = Pair(ws)
        pair.adapter.close(kind)
        codes = [event.code for event in pair.pull() if isinstance(event, CloseConnection)]
        assert codes == ([] if code is None else [code])


@settings(max_examples=150, deadline=None)
@given(stomp.streams("1.2"), st.data())
def test_any_split_into_messages_gives_the_same_frames(stream: stomp.Stream, data: st.DataObject) -> None:
    """However the STOMP bytes are cut into WebSocket messages, text or binary, the connection gets the same items."""
    pair = Pair(STRICT)
    received = b""
    for chunk in stream.chunks:
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and data.draw(st.booleans()):
            received += pair.send(TextMessage(data=text))
        else:
            received += pair.send(BytesMessage(data=chunk))
    assert received == stream.data
    assert tuple(Parser("1.2").feed(received)) == stream.items


@settings(max_examples=150, deadline=None)
@given(stomp.streams("1.2", stomp.frames("1.2", side="server")))
def test_any_split_of_the_output_gives_the_same_messages(stream: stomp.Stream) -> None:
    """The broker's output, however it comes, goes out as one message per frame or heart-beat."""
    splitter = FrameSplitter()
    chunks: list[bytes] = []
    for piece in stream.chunks:
        chunks.extend(splitter.feed(piece))
    assert splitter.pending == b""
    assert b"".join(chunks) == stream.data
    items = [item for chunk in chunks for item in Parser("1.2").feed(chunk)]
    assert tuple(items) == stream.items
    assert all(len(Parser("1.2").feed(chunk)) == 1 for chunk in chunks)


# -- over sockets: the host


def test_one_port_serves_tcp_and_websocket() -> None:
    with Broker() as broker:
        assert broker.ws_url == f"ws://127.0.0.1:{broker.port}/ws"
        client = WSClient(broker.port)
        assert client.connect().startswith(b"CONNECTED")
        with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as sock:
            sock.sendall(b"\n" + CONNECT)  # a heart-beat first: still STOMP
            assert sock.recv(4096).startswith(b"CONNECTED")
        client.text(b"SEND\ndestination:/queue/a\nreceipt:r\n\nx\x00")
        assert client.wait_for(b"RECEIPT") is not None
        client.close()
        broker.check()


def test_handshake_never_completed_is_closed_and_others_are_served() -> None:
    ws = dataclasses.replace(RABBITMQ, handshake_timeout=0.3)
    profile = dataclasses.replace(PROFILES["rabbitmq"], websocket=ws)
    with Broker(profile=profile) as broker:
        status, closed = raw_http(broker.port, b"GET /ws HTTP/1.1\r\nHost: x\r\n", timeout=3.0)
        assert (status, closed) == (408, True)
        client = WSClient(broker.port)
        assert client.connect().startswith(b"CONNECTED")
        client.close()
        broker.check()


def test_wss_on_a_tls_port(tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed, so no certificate can be made for the TLS test")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"]
    subprocess.run([*command, "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    with Broker(ssl_context=server) as broker:
        assert broker.ws_url == f"wss://127.0.0.1:{broker.port}/ws"
        client = WSClient(broker.port, tls=context)
        assert client.connect().startswith(b"CONNECTED")
        client.text(b"SEND\ndestination:/queue/a\nreceipt:r\n\nx\x00")
        assert client.wait_for(b"RECEIPT") is not None
        client.close()
