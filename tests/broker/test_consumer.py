"""The engine needs of a connection only its `Consumer` protocol: any object with those members can subscribe."""

from __future__ import annotations

from stomptest.broker.engine import Consumer, Engine, Message, Subscription
from stomptest.broker.error_kinds import ErrorKind
from stomptest.broker.profiles import PROFILES
from stomptest.protocol import Frame


class Recorder:
    """A consumer that writes nothing: it keeps what the engine hands it."""

    def __init__(self, id: int, writable: bool = True) -> None:
        self.id = id
        self.session: str | None = f"session-{id}"
        self.writable = writable
        self.closed = False
        self.delivered: list[tuple[str, bytes]] = []
        self.errors: list[ErrorKind] = []

    def deliver(self, subscription: Subscription, message: Message) -> None:
        self.delivered.append((subscription.id, message.body))

    def fail(self, kind: ErrorKind, frame: Frame | None, **fields: str) -> None:
        self.errors.append(kind)


def subscribe(engine: Engine, consumer: Consumer, name: str, id: str = "s") -> Subscription:
    resolved = engine.resolve(name, consumer)
    assert resolved is not None
    subscription = Subscription(
        consumer, id, engine.destination(*resolved), "auto", None, "messages", engine.new_subscription_serial(), {}
    )
    engine.subscribe(subscription)
    return subscription


def test_a_queue_hands_its_messages_round_robin_to_consumers_that_have_room() -> None:
    engine = Engine(PROFILES["strict"])
    first, second, full = Recorder(1), Recorder(2), Recorder(3, writable=False)
    for consumer in (first, second, full):
        subscribe(engine, consumer, "/queue/a")
    for body in (b"1", b"2", b"3", b"4"):
        engine.seed("/queue/a", body, (), 1000.0)
    assert first.delivered == [("s", b"1"), ("s", b"3")]
    assert second.delivered == [("s", b"2"), ("s", b"4")]
    assert full.delivered == []


def test_a_topic_copies_to_every_consumer_and_a_slow_one_is_failed_past_max_pending() -> None:
    profile = PROFILES["strict"]
    engine = Engine(profile, limits=profile.limits.replace(max_pending=2))
    reader, stuck = Recorder(1), Recorder(2, writable=False)
    subscribe(engine, reader, "/topic/t")
    subscribe(engine, stuck, "/topic/t")
    for body in (b"1", b"2", b"3"):
        engine.seed("/topic/t", body, (), 1000.0)
    assert [body for _, body in reader.delivered] == [b"1", b"2", b"3"]
    assert stuck.delivered == []
    assert stuck.errors == ["limit"]
