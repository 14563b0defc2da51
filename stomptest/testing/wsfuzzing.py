"""What one WebSocket fuzz input means: arbitrary bytes into the broker's WebSocket adapter, before or after
the handshake, and on through a broker connection (fuzz/websocket_fuzz.py, tests/hostile).

Decoded like the inputs of fuzzing.py, so a crasher replays byte for byte: byte 0 picks the profile,
byte 1 whether a valid handshake (offering v12.stomp and permessage-deflate) and a STOMP CONNECT
come first, byte 2 how many of the next bytes give chunk sizes; the rest is the stream. Properties:
the adapter raises nothing; while the handshake is not done it hands on no STOMP bytes and answers
only HTTP; its held request stays bounded; after a valid handshake the CONNECT behind it reaches the
connection whole, however the bytes are cut; the connection behind it records no internal error.
"""

from __future__ import annotations

import struct

from stomptest.broker.connection import Connection
from stomptest.broker.engine import Engine
from stomptest.broker.profiles import PROFILES
from stomptest.broker.websocket import WebSocketAdapter
from stomptest.testing.fuzzing import PROFILE_NAMES, Violation, cut

HANDSHAKE = (
    b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Protocol: v12.stomp\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
)
_HEAD_LIMIT = 64 * 1024  # the adapter holds at most this much of a request head (plus one chunk)


def client_message(payload: bytes, opcode: int = 0x1) -> bytes:
    """One masked client WebSocket message (text by default), as a browser would send it."""
    mask = b"\x01\x02\x03\x04"
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


CONNECT_FRAME = b"CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:guest\n\n\x00"
CONNECT = client_message(CONNECT_FRAME)


def run_websocket(data: bytes) -> WebSocketAdapter:
    """Feed `data` to one broker WebSocket adapter and the connection behind it (raises `Violation`)."""
    data = data.ljust(3, b"\x00")
    profile = PROFILES[PROFILE_NAMES[data[0] % len(PROFILE_NAMES)]]
    opened = bool(data[1] & 1)
    sizes = data[3 : 3 + data[2] % 8]
    stream = data[3 + data[2] % 8 :]
    if opened:
        stream = HANDSHAKE + CONNECT + stream
    engine = Engine(profile, seed=0)
    now = 1_000_000.0
    adapter = WebSocketAdapter(profile.websocket, profile.frame_eol, now)
    connection = Connection(engine, "127.0.0.1:1", now)
    handed_on = b""  # the STOMP bytes the adapter handed on, up to the length of CONNECT
    for chunk in cut(stream, [size + 1 for size in sizes]):
        now += 0.01
        was_open = adapter.open
        stomp = adapter.receive_data(chunk)
        if stomp and not adapter.open:
            raise Violation("STOMP bytes handed on before the handshake was done")
        if not was_open:
            answer = adapter.data_to_send()
            if answer and not answer.startswith(b"HTTP/1.1 "):
                raise Violation(f"answered a request with {answer[:40]!r}, not HTTP")
        held = adapter._head  # the request head held until whole
        if held is not None and len(held) > _HEAD_LIMIT + len(chunk):
            raise Violation(f"the adapter holds {len(held)} bytes of a request head")
        if stomp:
            handed_on += stomp[: len(CONNECT_FRAME) - len(handed_on)]
            connection.receive_data(stomp, now)
        connection.tick(now)
        if connection.closing:
            adapter.stomp_closed(connection.data_to_send(), connection.close_reason or "")
        else:
            adapter.send_stomp(connection.data_to_send())
        adapter.data_to_send()
        if adapter.finished:
            break
    if opened and not adapter.open:
        raise Violation("a valid handshake was not taken")
    if opened and handed_on != CONNECT_FRAME:
        raise Violation(f"the CONNECT behind a valid handshake came out as {handed_on!r}")
    adapter.handshake_timed_out()
    adapter.data_to_send()
    connection.connection_lost(now + 1)
    if engine.internal_errors:
        raise Violation("the broker recorded an internal error:\n" + engine.internal_errors[0])
    return adapter
