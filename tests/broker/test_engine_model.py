"""A hypothesis state machine: the engine against a reference model of queue semantics.

Clients connect, subscribe in every ack mode, send (also inside transactions), ACK,
NACK, unsubscribe and disconnect, gracefully or not, in any order. After every step the
model checks what the broker delivered and what it still holds:
- no acknowledged (or auto-delivered) message is delivered again;
- no unacknowledged message is lost: queued plus unacknowledged is exactly what the model expects;
- the queue keeps enqueue order, and each subscriber gets new messages in that order;
- redelivery marking follows the profile, and dispatch never stalls while a subscriber has room.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from stomptest.broker import PROFILES, Limits
from stomptest.broker.engine import Engine
from stomptest.protocol import Frame

from .harness import Peer

QUEUE = "/queue/q"
WINDOW = 3
CLIENTS = 4


@dataclass
class Client:
    peer: Peer
    version: str
    ack: str | None = None  # None: not subscribed
    subscription: int = 0  # bumps on each SUBSCRIBE, so ids are fresh
    outstanding: list[tuple[int, Frame]] = field(default_factory=list)  # (sequence, MESSAGE) in delivery order
    transaction: list[int] | None = None
    last_first_delivery: int = 0
    withheld: list[int] = field(default_factory=list)  # unacknowledged at UNSUBSCRIBE, kept till the end (RabbitMQ)


class QueueModel(RuleBasedStateMachine):
    @initialize(profile=st.sampled_from(sorted(PROFILES)))
    def setup(self, profile: str) -> None:
        self.profile = PROFILES[profile]
        self.engine = Engine(self.profile, limits=self.profile.limits.replace(max_unacknowledged=WINDOW))
        self.clients: dict[int, Client] = {}
        self.next_sequence = 1
        self.queued: set[int] = set()  # in the queue, waiting
        self.settled: set[int] = set()  # acknowledged, auto-delivered, discarded or dead-lettered
        self.deliveries: dict[int, int] = {}
        self.rank: dict[int, int] = {}  # message -> position in enqueue order (a transaction enqueues at COMMIT)
        self.delivered_before: set[int] = set()  # delivered at least once, whatever the count says now

    # -- helpers

    def client(self, index: int) -> Client | None:
        return self.clients.get(index)

    def observe(self) -> None:
        """Read every client's output and check each MESSAGE against the model."""
        for client in list(self.clients.values()):
            for frame in client.peer.frames():
                if frame.command == "ERROR":
                    raise AssertionError(f"unexpected ERROR: {frame}")
                if frame.command != "MESSAGE":
                    continue
                sequence = int(frame.body)
                assert sequence in self.queued, f"message {sequence} delivered while not queued (settled or out)"
                assert client.ack is not None
                count = self.deliveries.get(sequence, 0)
                marking = self.profile.redelivered_header
                expected = {
                    "always": "true" if count else "false",
                    "when-true": "true" if count else None,
                    "never": None,
                }[marking]
                assert frame.headers.get("redelivered") == expected
                if sequence not in self.delivered_before:  # not one given back uncounted (Artemis' UNSUBSCRIBE)
                    rank = self.rank[sequence]
                    assert rank > client.last_first_delivery, "a subscriber gets new messages in enqueue order"
                    client.last_first_delivery = rank
                    self.delivered_before.add(sequence)
                self.deliveries[sequence] = count + 1
                self.queued.discard(sequence)
                if client.ack == "auto":
                    self.settled.add(sequence)
                else:
                    client.outstanding.append((sequence, frame))

    def enqueue(self, sequence: int) -> None:
        self.rank[sequence] = len(self.rank) + 1
        self.queued.add(sequence)

    def give_back(self, client: Client) -> None:
        for sequence, _ in client.outstanding:
            self.requeue_or_dead_letter(sequence)
        client.outstanding.clear()

    def requeue_or_dead_letter(self, sequence: int) -> None:
        limit = self.profile.max_deliveries
        if limit is not None and self.deliveries[sequence] >= limit:
            self.settled.add(sequence)
        else:
            self.queued.add(sequence)

    def send_frame(self, client: Client, command: str, headers: dict[str, str], body: bytes = b"") -> None:
        """Feed a frame to the broker; what it answers is read by `observe`, for every client."""
        client.peer.connection.receive_data(Frame(command, headers, body).encode(client.version), client.peer.now)

    # -- rules

    @rule(index=st.integers(0, CLIENTS - 1), version=st.sampled_from(["1.1", "1.2"]))
    def connect(self, index: int, version: str) -> None:
        if index in self.clients:
            return
        peer = Peer(self.engine)
        peer.connect(version)
        self.clients[index] = Client(peer, version)

    @rule(index=st.integers(0, CLIENTS - 1), ack=st.sampled_from(["auto", "client", "client-individual"]))
    def subscribe(self, index: int, ack: str) -> None:
        client = self.client(index)
        if client is None or client.ack is not None:
            return
        client.subscription += 1
        client.ack = ack
        client.last_first_delivery = 0
        self.send_frame(client, "SUBSCRIBE", {"id": f"s{client.subscription}", "destination": QUEUE, "ack": ack})
        self.observe()

    @rule(index=st.integers(0, CLIENTS - 1), count=st.integers(1, 3))
    def send(self, index: int, count: int) -> None:
        client = self.client(index)
        if client is None:
            return
        for _ in range(count):
            sequence = self.next_sequence
            self.next_sequence += 1
            headers = {"destination": QUEUE}
            if client.transaction is not None:
                headers["transaction"] = "t"
                client.transaction.append(sequence)
            else:
                self.enqueue(sequence)
            self.send_frame(client, "SEND", headers, str(sequence).encode())
            self.observe()

    @rule(index=st.integers(0, CLIENTS - 1))
    def begin(self, index: int) -> None:
        client = self.client(index)
        if client is None or client.transaction is not None:
            return
        client.transaction = []
        self.send_frame(client, "BEGIN", {"transaction": "t"})

    @rule(index=st.integers(0, CLIENTS - 1), commit=st.booleans())
    def finish(self, index: int, commit: bool) -> None:
        client = self.client(index)
        if client is None or client.transaction is None:
            return
        if commit:
            for sequence in client.transaction:
                self.enqueue(sequence)
        client.transaction = None
        self.send_frame(client, "COMMIT" if commit else "ABORT", {"transaction": "t"})
        self.observe()

    def ack_headers(self, client: Client, frame: Frame) -> dict[str, str]:
        if client.version == "1.2":
            return {"id": frame.headers["ack"]}
        return {"message-id": frame.headers["message-id"], "subscription": frame.headers["subscription"]}

    @rule(index=st.integers(0, CLIENTS - 1), pick=st.integers(0, WINDOW - 1))
    def ack(self, index: int, pick: int) -> None:
        client = self.client(index)
        if client is None or not client.outstanding:
            return
        pick = min(pick, len(client.outstanding) - 1)
        _, frame = client.outstanding[pick]
        done = client.outstanding[: pick + 1] if client.ack == "client" else [client.outstanding[pick]]
        for item in done:
            client.outstanding.remove(item)
            self.settled.add(item[0])
        self.send_frame(client, "ACK", self.ack_headers(client, frame))
        self.observe()

    @rule(index=st.integers(0, CLIENTS - 1), pick=st.integers(0, WINDOW - 1))
    def nack(self, index: int, pick: int) -> None:
        client = self.client(index)
        if client is None or not client.outstanding:
            return
        pick = min(pick, len(client.outstanding) - 1)
        _, frame = client.outstanding[pick]
        cumulative = client.ack == "client" and self.profile.cumulative_nack
        done = client.outstanding[: pick + 1] if cumulative else [client.outstanding[pick]]
        for item in done:
            client.outstanding.remove(item)
            if self.profile.nack == "requeue":
                self.requeue_or_dead_letter(item[0])
            else:
                self.settled.add(item[0])
        self.send_frame(client, "NACK", self.ack_headers(client, frame))
        self.observe()

    @rule(index=st.integers(0, CLIENTS - 1))
    def unsubscribe(self, index: int) -> None:
        client = self.client(index)
        if client is None or client.ack is None:
            return
        policy = self.profile.unsubscribe_unacked
        if policy == "hold":
            client.withheld += [sequence for sequence, _ in client.outstanding]
            client.outstanding.clear()
        else:
            if policy == "requeue-uncounted":  # as if never delivered
                for sequence, _ in client.outstanding:
                    self.deliveries[sequence] -= 1
            self.give_back(client)
        client.ack = None
        self.send_frame(client, "UNSUBSCRIBE", {"id": f"s{client.subscription}"})
        self.observe()

    @rule(index=st.integers(0, CLIENTS - 1), graceful=st.booleans())
    def disconnect(self, index: int, graceful: bool) -> None:
        client = self.clients.pop(index, None)
        if client is None:
            return
        self.give_back(client)
        for sequence in client.withheld:
            self.requeue_or_dead_letter(sequence)
        connection = client.peer.connection
        if graceful:
            self.send_frame(client, "DISCONNECT", {})
            assert connection.closing  # the host closes the socket once the output is flushed
        connection.connection_lost(client.peer.now)
        self.observe()

    # -- invariants

    @invariant()
    def broker_holds_what_the_model_expects(self) -> None:
        if not hasattr(self, "engine"):
            return
        self.observe()
        destination = self.engine.destinations.get(QUEUE)
        in_queue = [int(m.body) for m in destination.messages] if destination else []
        ranks = [self.rank[sequence] for sequence in in_queue]
        assert ranks == sorted(ranks), "the queue keeps enqueue order"
        assert set(in_queue) == self.queued, (sorted(in_queue), sorted(self.queued))
        for client in self.clients.values():
            held = [int(d.message.body) for d in client.peer.connection.unacked.values()]
            assert sorted(held) == sorted(sequence for sequence, _ in client.outstanding)
        assert not self.queued & self.settled
        assert not self.engine.internal_errors

    @invariant()
    def dispatch_never_stalls(self) -> None:
        if not hasattr(self, "engine") or not self.queued:
            return
        for client in self.clients.values():
            if client.ack == "auto" or (client.ack is not None and len(client.outstanding) < WINDOW):
                raise AssertionError(f"messages {sorted(self.queued)} wait while a subscriber has room")


TestQueueModel = QueueModel.TestCase


def test_limits_used_by_the_model_are_valid() -> None:
    assert Limits().replace(max_unacknowledged=WINDOW).max_unacknowledged == WINDOW
