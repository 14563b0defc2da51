"""What one fuzz input means, shared by the atheris harnesses (fuzz/), the hostile tests and any fuzzer of yours.

An input is decoded the same way everywhere, so a crasher saved by a harness replays
byte for byte in tests/hostile/test_corpus.py: the first bytes choose the settings
(version, profile, opening, chunk sizes), the rest is the stream.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from stomptest.broker.connection import Connection
from stomptest.broker.engine import Engine
from stomptest.broker.profiles import PROFILES
from stomptest.protocol import parser as parser_module
from stomptest.protocol import spec
from stomptest.protocol.errors import FrameError
from stomptest.protocol.frame import Frame, Heartbeat
from stomptest.protocol.parser import Parser

PROFILE_NAMES = tuple(sorted(PROFILES))
# small limits, so that the fuzzer reaches them
MAX_FRAME_BYTES = 4096
MAX_HEADERS = 16
MAX_HEADER_BYTES = 256
MAX_OUTPUT_BYTES = 8192
# valid openings, so that mutated frames reach the connected state's handlers
PREFIXES = (
    b"",
    b"CONNECT\naccept-version:1.2\nhost:/\n\n\x00",
    b"CONNECT\naccept-version:1.1\nhost:/\nheart-beat:100,100\n\n\x00",
    b"CONNECT\naccept-version:1.0\n\n\x00",
    b"STOMP\naccept-version:1.0,1.1,1.2\nhost:/\nlogin:a\npasscode:b\n\n\x00"
    b"SUBSCRIBE\nid:0\ndestination:/queue/a\nack:client\n\n\x00",
)


class Violation(AssertionError):
    """A property of the harness failed: not a documented error, or memory past a limit."""


def cut(data: bytes, sizes: list[int]) -> list[bytes]:
    """`data` in chunks of the given sizes, cycling; the whole of it when `sizes` is empty."""
    if not sizes:
        return [data] if data else []
    out = []
    at = 0
    index = 0
    while at < len(data):
        size = sizes[index % len(sizes)]
        out.append(data[at : at + size])
        at += size
        index += 1
    return out


def _chunks(settings: bytes, data: bytes) -> list[bytes]:
    """Cut `data` into chunks whose sizes cycle through the settings bytes (1 to 256 bytes each)."""
    return cut(data, [b + 1 for b in settings])


def run_parser(data: bytes) -> None:
    """Feed `data` to a Parser in chunks; only FrameError may come out, and buffering stays bounded."""
    if len(data) < 2:
        return
    version = spec.VERSIONS[data[0] % 3]
    chunking = data[1 : 1 + (data[1] % 8)]
    stream = data[1 + (data[1] % 8) :]
    chunks = _chunks(chunking, stream)
    drive_parser(version, chunks)
    if parser_module.SPEEDUPS:
        limits = {"max_frame_bytes": MAX_FRAME_BYTES, "max_headers": MAX_HEADERS, "max_header_bytes": MAX_HEADER_BYTES}
        if parse_outcome(version, chunks, fast=True, **limits) != parse_outcome(version, chunks, fast=False, **limits):
            raise Violation("the C fast path and the Python parser disagree on this stream")


def parse_outcome(version: str, chunks: Sequence[bytes], *, fast: bool, **limits: int) -> Outcome:
    """Everything a parser made of `chunks`: the items, with a marker where each feed returned; the error
    (kind, message, offset, the frames on it) if any; and what stayed buffered. With `fast` False the
    C fast path is off, so the two paths can be compared."""
    parser = Parser(version, **limits)
    if not fast:
        parser._fast = None
    items: list[object] = []
    try:
        for chunk in chunks:
            items += parser.feed(chunk)
            items.append("end of feed")
    except FrameError as exc:
        return items, (exc.kind, str(exc), exc.offset, list(exc.frames)), parser.buffered
    return items, None, parser.buffered


Outcome = tuple[list[object], tuple[str, str, int | None, list[Frame | Heartbeat]] | None, int]


def drive_parser(version: str, chunks: list[bytes]) -> None:
    """The parser properties over one chunked stream (raises `Violation`)."""
    parser = Parser(
        version, max_frame_bytes=MAX_FRAME_BYTES, max_headers=MAX_HEADERS, max_header_bytes=MAX_HEADER_BYTES
    )
    for chunk in chunks:
        try:
            items = parser.feed(chunk)
        except FrameError as exc:
            items = list(exc.frames)
            _check_items(items, version)
            try:
                parser.feed(b"x")
            except FrameError:
                return
            raise Violation("the parser accepted input after a FrameError") from None
        _check_items(items, version)
        if parser.buffered > MAX_FRAME_BYTES + len(chunk):
            raise Violation(f"parser buffers {parser.buffered} bytes, past max_frame_bytes + one chunk")


def _check_items(items: list[Frame | Heartbeat], version: str) -> None:
    for item in items:
        if isinstance(item, Heartbeat):
            continue
        if not isinstance(item, Frame):
            raise Violation(f"the parser returned {item!r}")
        if len(item.body) > MAX_FRAME_BYTES:
            raise Violation(f"a {len(item.body)}-byte body passed max_frame_bytes={MAX_FRAME_BYTES}")
        if len(item.raw_headers) > MAX_HEADERS:
            raise Violation(f"{len(item.raw_headers)} headers passed max_headers={MAX_HEADERS}")


def run_engine(data: bytes) -> Engine:
    """Feed `data` to one broker connection (the engine's feed path), draining output now and then.

    The connection must never record an internal error, its buffers must stay within the
    limits, and closing it must give every message back. Returns the engine for more checks.
    """
    if len(data) < 3:
        data = data + b"\x00" * (3 - len(data))
    profile = PROFILES[PROFILE_NAMES[data[0] % len(PROFILE_NAMES)]]
    prefix = PREFIXES[data[1] % len(PREFIXES)]
    drain_every = 1 + data[2] % 4
    chunking = data[3 : 3 + (data[2] % 8)]
    stream = prefix + data[3 + (data[2] % 8) :]
    return drive_engine(profile.name, _chunks(chunking, stream), drain_every)


def drive_engine(profile_name: str, chunks: list[bytes], drain_every: int = 1) -> Engine:
    """The engine properties over one chunked stream on one connection (raises `Violation`)."""
    profile = PROFILES[profile_name]
    limits = profile.limits.replace(
        max_frame_bytes=MAX_FRAME_BYTES,
        max_headers=MAX_HEADERS,
        max_header_bytes=MAX_HEADER_BYTES,
        max_output_bytes=MAX_OUTPUT_BYTES,
        max_unacknowledged=50,
        max_queued=200,
        max_pending=200,
        max_subscriptions=20,
        max_transactions=5,
        max_transaction_frames=50,
        max_transcript=100,
    )
    engine = Engine(profile, limits=limits, seed=0)
    now = 1_000_000.0
    for index in range(5):
        engine.seed("/queue/a", b"seed%d" % index, (), now)
    connection = Connection(engine, "127.0.0.1:1", now)
    for index, chunk in enumerate(chunks):
        now += 0.01
        connection.receive_data(chunk, now)
        connection.tick(now)
        if index % drain_every == 0:
            connection.data_to_send()
        _check_connection(engine, connection, len(chunk))
        if connection.closing:
            break
    connection.data_to_send()
    connection.connection_lost(now + 1)
    if engine.internal_errors:
        raise Violation("the broker recorded an internal error:\n" + engine.internal_errors[0])
    if engine.connections:
        raise Violation("a lost connection is still registered")
    for destination in engine.destinations.values():
        for subscription in destination.subscriptions:
            if subscription.connection is connection:
                raise Violation(f"subscription {subscription.id} outlived its connection")
    return engine


def _check_connection(engine: Engine, connection: object, chunk: int) -> None:
    assert isinstance(connection, Connection)
    if engine.internal_errors:
        raise Violation("the broker recorded an internal error:\n" + engine.internal_errors[0])
    buffered = connection._parser.buffered
    if buffered > MAX_FRAME_BYTES + chunk:
        raise Violation(f"the connection's parser buffers {buffered} bytes")
    unparsed = sum(len(part) for part in connection._unparsed)
    if unparsed > MAX_FRAME_BYTES + 2 * chunk + 512:
        raise Violation(f"the connection keeps {unparsed} unparsed bytes")
    if len(connection.transcript) > engine.limits.max_transcript:
        raise Violation("the transcript passed max_transcript")


# -- mutated frames for the socket storms (plain random, so threads can draw them)

CLIENT_FRAMES = (
    b"SEND\ndestination:/queue/junk\nreceipt:r1\n\nhello\x00",
    b"SEND\ndestination:/topic/junk\ncontent-length:5\n\nab\x00cd\x00",
    b"SUBSCRIBE\nid:s1\ndestination:/queue/junk\nack:client-individual\n\n\x00",
    b"UNSUBSCRIBE\nid:s1\n\n\x00",
    b"ACK\nid:nothing\n\n\x00",
    b"NACK\nid:nothing\n\n\x00",
    b"BEGIN\ntransaction:t1\n\n\x00",
    b"COMMIT\ntransaction:t1\n\n\x00",
    b"ABORT\ntransaction:t2\n\n\x00",
    b"SEND\ndestination:/queue/junk\nweird\\cname:va\\\\lue\n\n\x00",
    b"\n\r\n",
)
_SPECIAL = (b"\x00", b"\n", b"\r", b":", b"\\", b"\\q", b"\n\n", b"content-length:9999999\n", b"\xff\xfe", b"x" * 300)


def mutate(rng: random.Random, data: bytes, edits: int = 3) -> bytes:
    """`data` with 1 to `edits` random edits (flips, special bytes, deletions, copies)."""
    buffer = bytearray(data)
    for _ in range(rng.randint(1, edits)):
        at = rng.randint(0, len(buffer))
        kind = rng.randrange(4)
        if kind == 0 and buffer:
            buffer[min(at, len(buffer) - 1)] ^= rng.randint(1, 255)
        elif kind == 1:
            buffer[at:at] = rng.choice(_SPECIAL)
        elif kind == 2:
            del buffer[at : at + rng.randint(1, 8)]
        elif buffer:
            start = rng.randrange(len(buffer))
            buffer[at:at] = buffer[start : start + rng.randint(1, 40)]
    return bytes(buffer)


def hostile_session(rng: random.Random) -> bytes:
    """A CONNECT (mutated one time in five), then a few frames, most of them mutated."""
    connect = b"CONNECT\naccept-version:1.0,1.1,1.2\nhost:/\n\n\x00"
    if rng.randrange(5) == 0:
        connect = mutate(rng, connect, 2)
    frames = [rng.choice(CLIENT_FRAMES) for _ in range(rng.randint(1, 6))]
    return connect + b"".join(mutate(rng, frame) if rng.randrange(3) else frame for frame in frames)
