"""Several connections on one engine, driven by hypothesis in interleaved steps, some frames mutated.

Clients subscribe, send, acknowledge what they were really sent (read back from the
broker's output), nack, use transactions, unsubscribe and vanish in any order, while a
share of their frames are mutated. Whatever happens: no internal error, nothing left
behind by closed connections, no message queued twice, and no seeded message gone
without having been delivered to someone.
"""

from __future__ import annotations

import random

from hypothesis import event, given
from hypothesis import strategies as st

from stomptest.broker import PROFILES
from stomptest.broker.connection import Connection
from stomptest.broker.engine import Engine
from stomptest.protocol import Frame, FrameError, Heartbeat, Parser
from stomptest.testing.fuzzing import mutate

DESTINATIONS = ("/queue/a", "/queue/b", "/topic/t")
SEEDS = 6
CONNECTIONS = 3


class Client:
    """One scripted client: its connection and what the broker sent it."""

    def __init__(self, engine: Engine, number: int, now: float) -> None:
        self.connection = Connection(engine, f"127.0.0.1:{1000 + number}", now)
        self.parser = Parser("1.2")
        self.acks: list[tuple[str, str]] = []  # (ack header value, message-id) of MESSAGEs received
        self.delivered: list[bytes] = []
        self.broken = False

    def read(self) -> None:
        data = self.connection.data_to_send()
        if not data or self.broken:
            return
        try:
            items: list[Frame | Heartbeat] = self.parser.feed(data)
        except FrameError:
            self.broken = True  # the broker's answers to garbage need not parse as 1.2; stop reading them
            return
        for item in items:
            if isinstance(item, Frame) and item.command == "MESSAGE":
                headers = item.headers
                self.acks.append((headers.get("ack", headers.get("message-id", "")), headers.get("message-id", "")))
                self.delivered.append(item.body)


def frame(draw: st.DrawFn, client: Client) -> bytes:
    kinds = ["SUBSCRIBE", "SUBSCRIBE", "SEND", "SEND", "UNSUBSCRIBE", "TX"]
    if client.acks:
        kinds += ["ACK", "ACK", "ACK", "NACK"]
    kind = draw(st.sampled_from([*kinds, "DISCONNECT"] if draw(st.integers(0, 19)) == 0 else kinds))
    destination = draw(st.sampled_from(DESTINATIONS))
    sub = f"s{draw(st.integers(0, 2))}"
    if kind == "SUBSCRIBE":
        ack = draw(st.sampled_from(["auto", "client", "client-individual"]))
        window = draw(st.sampled_from(["", "1", "3"]))
        headers = [("id", sub), ("destination", destination), ("ack", ack)]
        if window:
            headers += [("activemq.prefetchSize", window), ("prefetch-count", window), ("consumer-window-size", window)]
        built = Frame("SUBSCRIBE", headers)
    elif kind == "SEND":
        body = f"sent-{draw(st.integers(0, 99))}".encode()
        built = Frame("SEND", [("destination", destination), ("receipt", "r")], body)
    elif kind in ("ACK", "NACK"):
        if client.acks:
            ack, message_id = client.acks[draw(st.integers(0, len(client.acks) - 1))]
        else:
            ack, message_id = "none", "none"
        built = Frame(kind, [("id", ack), ("message-id", message_id), ("subscription", sub)])
    elif kind == "UNSUBSCRIBE":
        built = Frame("UNSUBSCRIBE", [("id", sub)])
    elif kind == "TX":
        command = draw(st.sampled_from(["BEGIN", "COMMIT", "ABORT"]))
        built = Frame(command, [("transaction", "t1")])
    else:
        built = Frame("DISCONNECT", [("receipt", "bye")])
    data = built.encode("1.2")
    if draw(st.integers(0, 9)) == 0:
        data = mutate(random.Random(draw(st.integers(0, 2**32 - 1))), data, 2)
    return data


def frames_for(client: Client) -> st.SearchStrategy[bytes]:
    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        return frame(draw, client)

    return build()


@given(st.sampled_from(sorted(PROFILES)), st.data())
def test_interleaved_connections_keep_the_books(profile_name: str, data: st.DataObject) -> None:
    profile = PROFILES[profile_name]
    limits = profile.limits.replace(max_unacknowledged=20, max_queued=500, max_output_bytes=4096)
    engine = Engine(profile, limits=limits, seed=0)
    now = 1_000_000.0
    seeds = {b"seed-%d" % n for n in range(SEEDS)}
    for body in sorted(seeds):
        engine.seed("/queue/a", body, (), now)
    clients = [Client(engine, n, now) for n in range(CONNECTIONS)]
    for client in clients:
        client.connection.receive_data(b"CONNECT\naccept-version:1.2\nhost:/\n\n\x00", now)
        client.read()
    for _ in range(data.draw(st.integers(1, 40), label="steps")):
        client = clients[data.draw(st.integers(0, CONNECTIONS - 1), label="client")]
        now += 0.01
        if client.connection.closing:
            continue
        client.connection.receive_data(data.draw(frames_for(client), label="frame"), now)
        client.connection.tick(now)
        if data.draw(st.booleans(), label="read"):
            client.read()
    for client in clients:
        client.read()
    event(f"seeded messages delivered: {any(seeds & set(c.delivered) for c in clients)}")
    event(f"acknowledgements possible: {any(c.acks for c in clients)}")
    event(f"connections closed before the end: {sum(c.connection.closing for c in clients)}")
    order = data.draw(st.permutations(range(CONNECTIONS)), label="closing order")
    for index in order:
        clients[index].connection.connection_lost(now + 1)

    assert not engine.internal_errors, engine.internal_errors[0]
    assert not engine.connections
    queued = [message for destination in engine.destinations.values() for message in destination.messages]
    assert len({id(message) for message in queued}) == len(queued), "a message is queued twice"
    for destination in engine.destinations.values():
        assert not destination.subscriptions, f"{destination.name} keeps subscriptions of closed connections"
    left = {message.body for message in queued}
    delivered = {body for client in clients for body in client.delivered}
    unread = [client for client in clients if client.broken]
    if not unread:
        lost = seeds - left - delivered
        assert not lost, f"seeded messages gone without being delivered: {sorted(lost)}"
