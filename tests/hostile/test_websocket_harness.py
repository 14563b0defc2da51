"""The atheris WebSocket harness's properties under hypothesis, its corpus replayed, and what it found.

`run_websocket` (stomptest/testing/wsfuzzing.py) is what fuzz/websocket_fuzz.py runs: arbitrary bytes
into the broker's WebSocket adapter before or after a valid handshake, on into a broker connection.
Here hypothesis drives it (random bytes, and mutations of the seed corpus), and every file in
fuzz/corpus/websocket and tests/hostile/corpus/websocket (crashers found by atheris) replays.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, BytesMessage, Request, TextMessage

from stomptest.broker import PROFILES, Broker
from stomptest.broker.websocket import WebSocketAdapter
from stomptest.testing.wsfuzzing import CONNECT, CONNECT_FRAME, HANDSHAKE, client_message, run_websocket

from .mutations import mutated

ROOT = Path(__file__).resolve().parent.parent.parent
CORPUS = sorted(
    path
    for folder in (ROOT / "fuzz/corpus/websocket", ROOT / "tests/hostile/corpus/websocket")
    if folder.is_dir()
    for path in folder.iterdir()
    if path.is_file()
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_before_or_after_the_handshake(data: bytes) -> None:
    run_websocket(data)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([p.read_bytes() for p in CORPUS] or [b"\x00\x01\x00"]), st.data())
def test_mutated_corpus_inputs(seed: bytes, data: st.DataObject) -> None:
    run_websocket(seed[:3] + data.draw(mutated(seed[3:])))


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus_replays(path: Path) -> None:
    run_websocket(path.read_bytes())


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("cut", [1, 2, 5, 17, len(HANDSHAKE) - 1, len(HANDSHAKE) + 3])
def test_a_connect_in_the_same_read_as_the_request_is_not_lost(profile: str, cut: int) -> None:
    # found by the harness: wsproto's server starts the accepted connection without the bytes that came with
    # the request, so a CONNECT sent without waiting for the 101 vanished when both arrived in one read
    settings_ = PROFILES[profile]
    adapter = WebSocketAdapter(settings_.websocket, settings_.frame_eol, now=0.0)
    wire = HANDSHAKE + CONNECT
    stomp = b"".join(adapter.receive_data(wire[at : at + cut]) for at in range(0, len(wire), cut))
    assert stomp == CONNECT_FRAME


def test_a_pipelined_connect_over_a_socket_gets_connected() -> None:
    with Broker(profile="strict") as broker:
        with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as sock:
            # one write: the broker reads both at once (no permessage-deflate: the answer is read as it comes)
            sock.sendall(HANDSHAKE.replace(b"Sec-WebSocket-Extensions: permessage-deflate\r\n", b"") + CONNECT)
            answer = b""
            while b"CONNECTED" not in answer:
                data = sock.recv(65536)
                assert data, f"closed after {answer!r}"
                answer += data
        broker.check()


KINDS = ["text", "binary", "ping", "close", "fragment", "bad-utf8", "raw", "big", "deflated", "bad-deflate"]


def _wire(client: WSConnection, parts: list[tuple[str, bytes, int]]) -> bytes:
    """A client's wire after the handshake: mostly simple frames, now and then another kind or a broken one."""
    wire = b""
    for kind, payload, big in parts:
        if kind == "text":
            wire += client_message(payload.decode("utf-8", "replace").encode())
        elif kind == "binary":
            wire += client_message(payload, 0x2)
        elif kind == "ping":
            wire += client_message(payload[:100], 0x9)
        elif kind == "close":
            wire += client_message(b"\x03\xe8", 0x8)
        elif kind == "fragment":
            first = client_message(payload[:10])
            wire += bytes([first[0] & 0x7F]) + first[1:] + client_message(payload[10:20], 0x0)
        elif kind == "bad-utf8":
            wire += client_message(b"\xff" + payload)
        elif kind == "big":
            wire += client_message(b"x" * big, 0x2)
        elif kind == "deflated":  # compressed by wsproto's client when deflate was agreed, else plain
            wire += client.send(TextMessage(data=payload.decode("utf-8", "replace")))
        elif kind == "bad-deflate":
            wire += bytes([0xC2]) + client_message(payload, 0x2)[1:]
        else:
            wire += payload
    return wire


@settings(max_examples=120, deadline=None)  # each example runs two adapters, some over 64 KiB frames
@given(
    st.sampled_from(sorted(PROFILES)),
    st.booleans(),
    st.lists(
        st.tuples(st.sampled_from(KINDS), st.binary(max_size=300), st.sampled_from([65535, 65536, 65537, 70000])),
        max_size=6,
    ),
    st.lists(st.integers(1, 400), min_size=1),
)
def test_the_fast_frame_path_answers_as_wsproto_does(
    profile: str, deflate: bool, parts: list[tuple[str, bytes, int]], cuts: list[int]
) -> None:
    # websocket_frames reads simple frames itself; an adapter made to use wsproto for everything must agree
    from wsproto.extensions import PerMessageDeflate

    settings_ = PROFILES[profile]
    client = WSConnection(ConnectionType.CLIENT)
    request = client.send(
        Request(host="x", target="/ws", subprotocols=["v12.stomp"], extensions=[PerMessageDeflate()] if deflate else [])
    )
    answers = []
    wire = b""
    for fast in (True, False):
        adapter = WebSocketAdapter(settings_.websocket, settings_.frame_eol, now=0.0)
        adapter.receive_data(request)
        if fast:
            client.receive_data(adapter.data_to_send())
            list(client.events())
            wire = _wire(client, parts)
        adapter.data_to_send()
        adapter._fast = fast
        stomp = b""
        at = index = 0
        while at < len(wire) and not adapter.finished:
            size = cuts[index % len(cuts)]
            stomp += adapter.receive_data(wire[at : at + size])
            at += size
            index += 1
        answers.append((stomp, adapter.data_to_send(), adapter.finished, adapter.close_kind, adapter.close_code))
    assert answers[0] == answers[1]


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["strict", "rabbitmq", "activemq"]),  # the profiles that take permessage-deflate
    st.booleans(),
    st.sampled_from([None, 9, 12, 15]),
    st.lists(st.text(max_size=200).map(str.encode), min_size=1, max_size=6),  # text: RabbitMQ's are text messages
    st.lists(st.booleans(), max_size=6),
)
def test_permessage_deflate_both_ways(
    profile: str, no_takeover: bool, bits: int | None, bodies: list[bytes], compress_in: list[bool]
) -> None:
    # the adapter deflates what it sends itself (zlib, with the window and context takeover agreed) and reads
    # the client's uncompressed frames on its fast path until a compressed one hands the rest to wsproto
    from wsproto.extensions import PerMessageDeflate

    settings_ = PROFILES[profile]
    adapter = WebSocketAdapter(settings_.websocket, settings_.frame_eol, now=0.0)
    offer = PerMessageDeflate(server_no_context_takeover=no_takeover, server_max_window_bits=bits)
    client = WSConnection(ConnectionType.CLIENT)
    adapter.receive_data(client.send(Request(host="x", target="/ws", subprotocols=["v12.stomp"], extensions=[offer])))
    client.receive_data(adapter.data_to_send())
    assert any(isinstance(e, AcceptConnection) for e in client.events())
    frames = [b"MESSAGE\nsubscription:0\ncontent-length:%d\n\n" % len(b) + b + b"\x00" for b in bodies]
    adapter.send_stomp(b"".join(frames))
    client.receive_data(adapter.data_to_send())
    received = [e.data for e in client.events() if isinstance(e, (TextMessage, BytesMessage))]
    assert [r.encode() if isinstance(r, str) else bytes(r) for r in received] == [
        f + (b"\n" if settings_.websocket.frame_eol else b"") for f in frames
    ]
    sent = b""
    stomp = b""
    for index, body in enumerate(bodies):
        frame = b"SEND\ndestination:/queue/a\ncontent-length:%d\n\n" % len(body) + body + b"\x00"
        if index < len(compress_in) and compress_in[index]:
            wire = client.send(BytesMessage(data=frame))  # wsproto's client compresses every message
        else:
            wire = bytes([0x82]) + client_message(frame, 0x2)[1:]  # the same, uncompressed (RSV1 clear)
        sent += frame
        stomp += adapter.receive_data(wire)
    if settings_.websocket.input == "stream":
        assert stomp == sent


def test_wsproto_takes_over_the_inflate_window_mid_connection() -> None:
    # a compressed message read on the fast path, a fragmented one (wsproto's from then on), then a compressed
    # one that refers back to the first: wsproto must inflate it with the window the fast path built
    from wsproto.extensions import PerMessageDeflate

    settings_ = PROFILES["strict"]
    client = WSConnection(ConnectionType.CLIENT)
    adapter = WebSocketAdapter(settings_.websocket, settings_.frame_eol, now=0.0)
    adapter.receive_data(client.send(Request(host="x", target="/ws", extensions=[PerMessageDeflate()])))
    client.receive_data(adapter.data_to_send())
    list(client.events())
    frame = b"SEND\ndestination:/queue/a-rather-long-name-to-refer-back-to\n\nsame body, same body\x00"
    first = client_message(frame[:10])
    fragmented = bytes([first[0] & 0x7F]) + first[1:] + client_message(frame[10:], 0x0)
    stomp = adapter.receive_data(client.send(TextMessage(data=frame.decode())))
    stomp += adapter.receive_data(fragmented)
    stomp += adapter.receive_data(client.send(TextMessage(data=frame.decode())))
    assert stomp == frame * 3
    assert not adapter.finished
