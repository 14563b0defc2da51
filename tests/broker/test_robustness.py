"""Bad input and misbehaving clients: the broker answers, closes, and keeps memory bounded."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from hypothesis import example, given
from hypothesis import strategies as st

from stomptest.broker import PROFILES, Broker
from stomptest.protocol import Frame, Parser

from .harness import Peer, connected, engine

VALID = [
    Frame("SEND", {"destination": "/queue/f", "receipt": "r"}, b"body").encode(),
    Frame("SUBSCRIBE", {"destination": "/queue/f", "id": "1", "ack": "client"}).encode(),
    Frame("ACK", {"id": "1.1"}).encode(),
    Frame("NACK", {"id": "1.1"}).encode(),
    Frame("BEGIN", {"transaction": "t"}).encode(),
    Frame("COMMIT", {"transaction": "t"}).encode(),
    Frame("UNSUBSCRIBE", {"id": "1"}).encode(),
    b"\n",
]


def mutate(data: bytes, position: int, replacement: bytes) -> bytes:
    position %= len(data) + 1
    return data[:position] + replacement + data[position + len(replacement) :]


streams = st.one_of(
    st.binary(max_size=300),
    st.lists(st.tuples(st.sampled_from(VALID), st.integers(0, 200), st.binary(max_size=4)), min_size=1, max_size=8).map(
        lambda parts: b"".join(mutate(frame, at, junk) for frame, at, junk in parts)
    ),
)


@example(profile="activemq", version="1.0", data=b"SUBSCRIBE\ndestination::i\nack:\x80\n\n\x00", cuts=[])
@given(
    profile=st.sampled_from(sorted(PROFILES)),
    version=st.sampled_from(["1.0", "1.1", "1.2"]),
    data=streams,
    cuts=st.lists(st.integers(1, 50), max_size=10),
)
def test_any_bytes_end_in_error_and_close_or_are_handled(
    profile: str, version: str, data: bytes, cuts: list[int]
) -> None:
    eng = engine(profile)
    bystander = connected(eng)
    bystander.send("SUBSCRIBE", {"id": "b", "destination": "/queue/bystander"})
    peer = connected(eng, version)
    out = Parser(version if profile != "rabbitmq" else "1.2")
    received: list[Frame] = []
    for size in [*cuts, len(data)]:
        chunk, data = data[:size], data[size:]
        peer.connection.receive_data(chunk, peer.now)
        received += [f for f in out.feed(peer.connection.data_to_send()) if isinstance(f, Frame)]
        if not data:
            break
    assert not eng.internal_errors, eng.internal_errors[0]
    if peer.connection.closing:
        last = received[-1] if received else None
        disconnected = (
            any(f.command == "RECEIPT" for f in received[-1:]) or peer.connection.close_reason == "DISCONNECT"
        )
        silent = not PROFILES[profile].malformed_error  # RabbitMQ: bytes it cannot parse close without an ERROR
        assert disconnected or silent or (last is not None and last.command == "ERROR"), received
    connected(eng).send("SEND", {"destination": "/queue/bystander"}, b"still delivered")
    assert [f.body for f in bystander.frames() if f.command == "MESSAGE"] == [b"still delivered"]


def test_a_client_that_never_reads_cannot_grow_the_broker_memory() -> None:
    with Broker(max_output_bytes=10_000) as broker:
        sock = socket.create_connection(broker.address)
        sock.sendall(Frame("CONNECT", {"accept-version": "1.2", "host": "/"}).encode())
        frame = Frame("SEND", {"destination": "/topic/void", "receipt": "a-long-receipt-id-" + "x" * 40}).encode()
        sock.setblocking(False)
        sent = 0
        unsent = b""  # a send() may take part of a batch: the rest goes first, or the stream breaks mid-frame
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            unsent = unsent or frame * 100
            try:
                taken = sock.send(unsent)
            except BlockingIOError:
                time.sleep(0.05)
                try:
                    taken = sock.send(unsent)
                except BlockingIOError:
                    break  # the broker stopped reading us: backpressure
            sent += taken
            unsent = unsent[taken:]
        else:
            raise AssertionError("the broker kept reading a client that never reads")
        assert [c.state for c in broker.connections()] == ["connected"], "closed instead of pushing back"

        def pending() -> int:
            return sum(c.output_size for c in broker.engine.connections.values())

        held = broker._call(pending)
        assert held < 2_000_000, held
        sock.close()


def test_exit_safety_net_stops_a_forgotten_broker() -> None:
    # atexit runs handlers last-in first-out: this check, registered before the broker's net, runs after it
    code = (
        "import atexit\n"
        "from stomptest.broker import Broker\n"
        "brokers = []\n"
        "atexit.register(lambda: print('running at exit:', brokers[0].running, flush=True))\n"
        "brokers.append(Broker().start())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "running at exit: False"


def test_engine_bystander_untouched_by_a_closing_peer() -> None:
    eng = engine("strict")
    keeper = connected(eng)
    keeper.send("SUBSCRIBE", {"id": "k", "destination": "/queue/k", "ack": "client"})
    rude = Peer(eng)
    rude.raw(b"\x00\x00garbage")
    assert rude.connection.closed
    connected(eng).send("SEND", {"destination": "/queue/k"}, b"m")
    assert [f.body for f in keeper.frames() if f.command == "MESSAGE"] == [b"m"]


def test_1_0_bytes_that_are_not_utf_8_do_not_reach_a_1_2_client_as_garbage() -> None:
    eng = engine("strict")
    consumer = connected(eng, "1.2")
    consumer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/u"})
    producer = connected(eng, "1.0")
    producer.raw(b"SEND\ndestination:/queue/u\nx-bin:\xff\xfe\nx-ok:fine\n\nbody\x00")
    [message] = [f for f in consumer.frames() if f.command == "MESSAGE"]
    assert message.headers["x-ok"] == "fine"
    assert "x-bin" not in message.headers
    assert not eng.internal_errors
