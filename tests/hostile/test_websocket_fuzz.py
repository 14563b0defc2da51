"""Hypothesis fuzzing of the WebSocket layer: mutated handshakes and mutated WebSocket frames.

Properties: the adapter raises nothing whatever the bytes; before the handshake it answers only
HTTP (or nothing); after it, the STOMP bytes it hands on are fed to a broker connection of every
profile, which records no internal error. Over sockets, garbage after `GET ` on one connection
leaves the broker serving WebSocket and TCP clients, with no internal error for Broker.check().
"""

from __future__ import annotations

import socket

from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, BytesMessage, Request, TextMessage

from stomptest.broker import PROFILES, Broker
from stomptest.broker.connection import Connection
from stomptest.broker.engine import Engine
from stomptest.broker.websocket import WebSocketAdapter
from tests.wsclient import CONNECT, WSClient

from .mutations import client_streams, mutated

_HANDSHAKE = (
    b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Protocol: v12.stomp, v10.stomp\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
)
profiles = st.sampled_from(sorted(PROFILES))


@settings(max_examples=300, deadline=None)
@given(profiles, st.data())
def test_mutated_handshakes_get_http_or_nothing(name: str, data: st.DataObject) -> None:
    profile = PROFILES[name]
    adapter = WebSocketAdapter(profile.websocket, profile.frame_eol, now=0.0)
    request = data.draw(mutated(_HANDSHAKE))
    for start in range(0, len(request), 37):
        assert adapter.receive_data(request[start : start + 37]) == b""  # no STOMP before an upgrade
    adapter.handshake_timed_out()
    answer = adapter.data_to_send()
    assert answer == b"" or answer.startswith(b"HTTP/1.1 ")


@settings(max_examples=300, deadline=None)
@given(profiles, client_streams(), st.data())
def test_mutated_websocket_frames_reach_the_connection_safely(
    name: str, case: tuple[str, bytes], data: st.DataObject
) -> None:
    profile = PROFILES[name]
    _, stream = case
    client = WSConnection(ConnectionType.CLIENT)
    adapter = WebSocketAdapter(profile.websocket, profile.frame_eol, now=0.0)
    adapter.receive_data(client.send(Request(host="x", target="/ws", subprotocols=["v12.stomp"])))
    client.receive_data(adapter.data_to_send())
    assert any(isinstance(event, AcceptConnection) for event in client.events())
    wire = b""
    for start in range(0, len(stream), 50):
        piece = stream[start : start + 50]
        try:
            wire += client.send(TextMessage(data=piece.decode("utf-8")))
        except UnicodeDecodeError:
            wire += client.send(BytesMessage(data=piece))
    wire = data.draw(mutated(wire)) if data.draw(st.booleans()) else wire
    engine = Engine(profile, seed=0)
    connection = Connection(engine, "127.0.0.1:1", 1.0)
    for start in range(0, len(wire), 61):
        stomp = adapter.receive_data(wire[start : start + 61])
        if stomp:
            connection.receive_data(stomp, 1.0)
        if connection.closing:
            adapter.stomp_closed(connection.data_to_send(), connection.close_reason or "")
        else:
            adapter.send_stomp(connection.data_to_send())
        adapter.data_to_send()
    connection.connection_lost(2.0)
    assert engine.internal_errors == []


def test_garbage_after_get_leaves_the_broker_serving() -> None:
    garbage = [
        b"GET \x00\x01\x02\xff" * 50,
        b"GET /ws HTTP/1.1\r\n" + b"X" * 70_000 + b"\r\n\r\n",
        _HANDSHAKE + b"\x81\xff" + b"\xff" * 20,  # a frame claiming 2**63 bytes
        _HANDSHAKE + b"\x8f\x80abcd",  # an unknown opcode
        _HANDSHAKE + b"\x01\x80abcd" + b"\x82\x80abcd",  # a new message inside a fragmented one
    ]
    for name in sorted(PROFILES):
        with Broker(profile=name) as broker:
            for data in garbage:
                with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as sock:
                    sock.sendall(data)
                    sock.settimeout(0.3)
                    try:
                        while sock.recv(65536):
                            pass
                    except OSError:
                        pass
            client = WSClient(broker.port)
            assert client.connect().startswith(b"CONNECTED")
            client.close()
            with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as sock:
                sock.sendall(CONNECT)
                assert sock.recv(4096).startswith(b"CONNECTED")
            broker.check()
