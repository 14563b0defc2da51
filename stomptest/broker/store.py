"""Durable messages on disk: what a broker started with a data folder keeps across processes.

The engine stays sans-IO: it only appends `("put", message)` and `("drop", message)` to its
`journal` (persistent messages on queues: kept from their SEND until acknowledged,
auto-delivered, expired or dead-lettered, whose copy is a new put). The host hands the
journal to a `Store` before it writes any byte to a socket (`Host._take`), so a RECEIPT
never leaves before the message it acknowledges is on disk; a stopped broker's test-side
calls are written at once.

SQLite, not an append-only log of our own: it ships with Python, a commit in WAL mode with
`synchronous=FULL` is on disk (fsync) when it returns, and a crash mid-write leaves the
last committed state (its write-ahead log is checksummed and replayed or discarded at the
next open), so recovery, torn writes and compaction are its job, tested for decades, not
ours. One transaction per flush: many SENDs read in one turn cost one fsync.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from stomptest.broker import priority
from stomptest.broker.destinations import Destination, Message
from stomptest.protocol.errors import ConfigurationError

if TYPE_CHECKING:
    from stomptest.broker.engine import Engine

Operation = tuple[Literal["put", "drop"], Message]


@dataclass(frozen=True)
class StoredMessage:
    """One message as read back from a store."""

    sequence: int
    queue: str  # the queue that holds it (a composite SEND's copies share a sequence, one per queue)
    destination: str  # what its MESSAGE says (a topic's name for a durable subscription's copy)
    message_id: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    timestamp: int
    expires: int
    priority: int
    persistent: str | None
    had_content_length: bool
    deliveries: int  # how often it was delivered (restored where the profile keeps it: restart_keeps_deliveries)
    # the queue's arguments when it was written (RabbitMQ: {"arguments": {...}, "lifecycle": {...}}; {} for none)
    queue_arguments: dict[str, dict[str, str | int]]


class Store(Protocol):
    """Where a broker keeps its durable messages (the host drives it; the engine never calls it)."""

    def write(self, operations: Iterable[Operation]) -> None:
        """Apply the operations durably: when this returns, they survive a crash."""

    def load(self) -> Iterator[StoredMessage]:
        """The messages kept, in sequence order."""

    def close(self) -> None: ...


# one row per held copy: (sequence, queue); `messages` of the first version was keyed by sequence alone,
# so of the copies one message has in several queues (composite SEND, virtual topics, exchanges) it kept one
_SCHEMA = """
CREATE TABLE IF NOT EXISTS held (
    sequence INTEGER NOT NULL,
    queue TEXT NOT NULL,
    destination TEXT NOT NULL,
    message_id TEXT NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    timestamp INTEGER NOT NULL,
    expires INTEGER NOT NULL,
    priority INTEGER NOT NULL,
    persistent TEXT,
    had_content_length INTEGER NOT NULL,
    deliveries INTEGER NOT NULL,
    queue_arguments TEXT NOT NULL,
    PRIMARY KEY (sequence, queue)
)
"""
_MIGRATE = """
INSERT OR IGNORE INTO held SELECT sequence, destination, destination, message_id, headers, body, timestamp, expires,
    priority, persistent, had_content_length, 0, '{}' FROM messages;
DROP TABLE messages;
"""


class SqliteStore:
    """A `Store` in `DIR/stomptest.sqlite3` (made if missing)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        path = Path(folder)
        try:
            path.mkdir(parents=True, exist_ok=True)
            # one broker thread uses it at a time (the host's, or the caller's while stopped)
            self._db = sqlite3.connect(path / "stomptest.sqlite3", check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
            tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "messages" in tables:  # a folder of the first version: its rows are each held by their destination
                self._db.executescript("BEGIN;" + _MIGRATE + "COMMIT;")
        except (OSError, sqlite3.Error) as exc:
            raise ConfigurationError(f"cannot use {str(path)!r} as the broker's data folder: {exc}") from None

    def write(self, operations: Iterable[Operation]) -> None:
        db = self._db
        db.execute("BEGIN")
        try:
            for kind, message in operations:
                if kind == "put":
                    db.execute(
                        "INSERT OR REPLACE INTO held VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            message.sequence,
                            message.held_in.name,
                            message.destination,
                            message.message_id,
                            json.dumps(message.headers),
                            message.body,
                            message.timestamp,
                            message.expires,
                            message.priority,
                            message.persistent,
                            int(message.had_content_length),
                            message.deliveries,
                            _queue_arguments(message.held_in),
                        ),
                    )
                else:
                    held = getattr(message, "held_in", None)  # set by Engine.keep
                    queue = message.destination if held is None else held.name
                    db.execute("DELETE FROM held WHERE sequence = ? AND queue = ?", (message.sequence, queue))
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def load(self) -> Iterator[StoredMessage]:
        rows = self._db.execute("SELECT * FROM held ORDER BY sequence, queue").fetchall()
        for row in rows:
            (
                sequence,
                queue,
                destination,
                message_id,
                headers,
                body,
                timestamp,
                expires,
                priority,
                persistent,
                length,
                deliveries,
                arguments,
            ) = row
            yield StoredMessage(
                sequence,
                queue,
                destination,
                message_id,
                tuple((str(n), str(v)) for n, v in json.loads(headers)),
                bytes(body),
                timestamp,
                expires,
                priority,
                persistent,
                bool(length),
                deliveries,
                json.loads(arguments),
            )

    def close(self) -> None:
        self._db.close()


def _queue_arguments(queue: Destination) -> str:
    """The arguments a queue was declared with, as the store keeps them with each message it holds."""
    settings = queue.lifecycle
    if not queue.arguments and settings is None:
        return "{}"
    kept: dict[str, dict[str, str | int]] = {"arguments": dict(queue.arguments)}
    if settings is not None:
        kept["lifecycle"] = settings.arguments
    return json.dumps(kept)


def restore(engine: Engine, store: Store, now: float = 0.0) -> int:
    """Put the store's messages back on their queues (a broker starting on a data folder); returns how many.

    Each is made again by `Engine.new_message` (so what the profile derives from a SEND's headers is
    derived again), then given back its own number, id, time, deadline, priority and persistence.
    """
    count = 0
    last = 0
    for stored in store.load():
        destination = engine.destination("queue", stored.queue)
        message = engine.new_message(destination, stored.headers, stored.body, now)
        message.destination = stored.destination
        message.held_in = destination
        if stored.queue_arguments and not destination.arguments and destination.lifecycle is None:
            engine.routes.redeclare(destination, stored.queue_arguments, now)  # RabbitMQ: a durable queue's arguments
        message.sequence = stored.sequence
        message.message_id_given = stored.message_id
        message.timestamp = stored.timestamp
        message.expires = stored.expires
        message.priority = stored.priority
        message.persistent = stored.persistent
        message.had_content_length = stored.had_content_length
        if engine.profile.restart_keeps_deliveries:
            message.deliveries = stored.deliveries
        priority.enqueue(destination.messages, message, priority.ranking(engine.profile, destination))
        last = max(last, stored.sequence)
        count += 1
    engine.continue_sequence(last)
    return count


def forget_deliveries(engine: Engine) -> None:
    """After `Broker.restart()`: where the profile's broker keeps no delivery count, every message starts at 0."""
    if engine.profile.restart_keeps_deliveries:
        return
    for destination in engine.destinations.values():
        for message in destination.messages:
            message.deliveries = 0
