"""One client connection as the broker sees it: bytes in, frames handled, bytes out.

Theory of operation. The host feeds received bytes to `receive_data(data, now)` and
sends whatever `data_to_send()` returns; `tick(now)` runs heart-beats and delayed
frames, and `next_deadline()` says when it is next needed. Nothing here blocks or
raises: bad input of any kind becomes an ERROR frame, and the profile says whether the
connection is then closed. A closing connection has already returned its messages to
the engine; the host flushes the last bytes (the ERROR, the DISCONNECT receipt), closes
the socket and calls `connection_lost()`.

This module owns the connection's state (as the table in states.py says) and hands each
frame to what the table names for it; reading.py turns bytes into frames, output.py
writes frames and ERRORs. What each command does lives with its family, found by the
command's name in `_HANDLERS`: connecting.py (CONNECT, DISCONNECT, heart-beats),
sending.py (SEND and the MESSAGEs it becomes), subscribing.py (SUBSCRIBE, UNSUBSCRIBE),
acknowledging.py (ACK, NACK), transactions.py (BEGIN, COMMIT, ABORT). Those are
functions of the connection, kept apart by family as fakeredis keeps its commands.
"""

from __future__ import annotations

import traceback
from collections import deque
from collections.abc import Callable
from typing import Final, cast

from stomptest.broker import acknowledging, connecting, output, reading, sending, subscribing, transactions, wire
from stomptest.broker.engine import Delivery, Engine, Message, Subscription
from stomptest.broker.error_kinds import ErrorKind
from stomptest.broker.output import Direction, PendingFrame
from stomptest.broker.states import READING, STATES, TRANSITIONS, Handling, State
from stomptest.protocol import spec
from stomptest.protocol.frame import Frame, Heartbeat
from stomptest.protocol.parser import Parser

__all__ = ["STATES", "Connection", "PendingFrame", "State", "TranscriptEntry"]

TranscriptEntry = tuple[float, Direction, "Frame | Heartbeat | PendingFrame"]

# Required headers come from the spec, with one exception: 1.0's UNSUBSCRIBE takes `id` or
# `destination` (the spec lists `destination`), which its handler checks.
_REQUIRED: Final = {
    version: {**table, "UNSUBSCRIBE": ()} if version == "1.0" else table
    for version, table in spec.REQUIRED_HEADERS.items()
}
# The table's row for a state, with each command's required headers in the version agreed (None: a
# command the version does not have), so that handling a frame takes one lookup: {input: (handling, required)}.
Steps = dict[str, tuple[Handling, "tuple[str, ...] | None"]]
_STEPS: Final[dict[tuple[State, str | None], Steps]] = {
    (state, version): {
        item: (handling, _REQUIRED[version or "1.0"].get(item))
        for (where, item), (handling, _) in TRANSITIONS.items()
        if where == state
    }
    for state in STATES
    for version in (None, *spec.VERSIONS)
}

# What the broker does on each command a client may send, by the command's name.
_HANDLERS: dict[str, Callable[[Connection, Frame], None]] = {
    "SEND": sending.on_send,
    "SUBSCRIBE": subscribing.on_subscribe,
    "UNSUBSCRIBE": subscribing.on_unsubscribe,
    "ACK": acknowledging.on_ack,
    "NACK": acknowledging.on_nack,
    "BEGIN": transactions.on_begin,
    "COMMIT": transactions.on_commit,
    "ABORT": transactions.on_abort,
    "CONNECT": connecting.on_connect,
    "STOMP": connecting.on_connect,
    "DISCONNECT": connecting.on_disconnect,
}

# What COMMIT does with each frame its transaction held: that command's handler, committing.
_COMMITTED: dict[str, Callable[..., None]] = {
    "SEND": sending.on_send,
    "ACK": acknowledging.on_ack,
    "NACK": acknowledging.on_nack,
}


class Connection:
    """The protocol state of one client: version, subscriptions, unacknowledged messages, transactions."""

    __slots__ = (
        "_fed",
        "_parser",
        "_skipping",
        "_steps",
        "_unparsed",
        "_unparsed_start",
        "anonymous",
        "beat_check",
        "beat_mark",
        "client_heartbeat",
        "close_reason",
        "deaf",
        "decode_1_0",
        "engine",
        "eol_before_connect",
        "fixed_version",
        "frames_received",
        "frames_sent",
        "heartbeats_from",
        "heartbeats_paused",
        "held",
        "hold_commands",
        "hold_until",
        "host",
        "id",
        "last_received",
        "last_sent",
        "limits",
        "login",
        "next_delivery",
        "now",
        "on_schedule",
        "opened_at",
        "orphans",
        "out",
        "out_bytes",
        "peer",
        "profile",
        "receive_timeout",
        "send_interval",
        "session",
        "state",
        "subscriptions",
        "transactions",
        "transcript",
        "transcript_beats",
        "transcript_bytes",
        "trim_1_0",
        "unacked",
        "version",
        "wire_out",
        "withheld",
    )

    # what others call, written in the family modules (a function as a method costs nothing more)
    send = output.send
    fail = output.fail
    release = output.release
    deliver = sending.deliver
    send_message = sending.send_message

    def __init__(self, engine: Engine, peer: str, now: float) -> None:
        """A new client connection of `engine`, opened at `now` by `peer` (an address, for logs)."""
        self.engine = engine
        self.profile = engine.profile
        self.limits = engine.limits
        self.id = engine.new_connection_id()
        self.peer = peer
        self.opened_at = now
        self.state: State = "new"
        self.version: str | None = None
        self._steps = _STEPS["new", None]  # the table's row for this state and version
        self.wire_out = "1.0"  # the escaping used on output (a profile may differ from the version)
        self.decode_1_0 = False  # ActiveMQ: 1.0 input escapes are decoded, leniently
        self.trim_1_0: str | None = None  # 1.0 with a profile that trims header values: "leading" or "both"
        self.deaf = False  # Artemis, after a frame before CONNECT: all input ignored (Profile.frame_before_connect)
        self.eol_before_connect = False  # an EOL came before CONNECT (Profile.eol_before_connect)
        self.fixed_version: str | None = None  # Artemis: 1.0 after a STOMP that asked for it (Profile.stomp_in_1_0)
        self.session: str | None = None
        self.login: str | None = None
        self.host: str | None = None
        self.close_reason: str | None = None
        self.client_heartbeat = (0, 0)
        self.subscriptions: dict[str, Subscription] = {}
        self.anonymous: set[str] = set()  # ids of the subscriptions made without `id` (subscribing.py)
        # ActiveMQ (duplicate_subscription="add", measured): older subscriptions whose id a newer one took;
        # they deliver until the connection ends, reached only by UNSUBSCRIBE with `destination` and by ACKs
        # that do not name a subscription
        self.orphans: list[Subscription] = []
        # RabbitMQ (unsubscribe_unacked="hold", measured): the unacknowledged messages of ended subscriptions,
        # given back when the connection ends
        self.withheld: list[tuple[Subscription, list[Message]]] = []
        self.unacked: dict[str, Delivery] = {}
        self.transactions: dict[str, list[Frame]] = {}
        self.transcript: deque[TranscriptEntry] = deque()
        self.transcript_bytes = 0  # body bytes held by the transcript
        self.transcript_beats = 0  # heart-beats held by the transcript
        self.frames_received = 0
        self.frames_sent = 0
        # heart-beats, in seconds; 0 means none
        self.send_interval = 0.0
        self.receive_timeout = 0.0
        self.last_received = now
        self.last_sent = now
        # faults
        self.heartbeats_paused = False
        self.heartbeats_from = now  # CONNECTED's time: where the heart-beat grids start (connecting.py)
        self.beat_check = 1  # the next whole send period at which heartbeat_send="grid" looks
        self.beat_mark = 0  # frames_sent at the last such look
        self.hold_commands: frozenset[str] | None = None
        self.hold_until: float | None = None  # None with hold_commands set: until release()
        self.held: list[Frame] = []
        self._parser = Parser(
            "1.2",
            max_frame_bytes=self.limits.max_frame_bytes,
            max_headers=self.limits.max_headers,
            max_header_bytes=self.limits.max_header_bytes,
        )
        # the reading stage (reading.py)
        self._unparsed: list[bytes] = []  # bytes fed since the parser last stood between frames
        self._unparsed_start = 0  # stream offset of _unparsed[0]
        self._fed = 0  # bytes fed to the current parser
        self._skipping = False  # discarding a bad frame up to its NUL
        self.out: list[bytes] = []  # bytes for the client, taken by data_to_send()
        self.out_bytes = 0
        self.next_delivery = 0  # MESSAGEs sent so far, for ids
        self.now = now  # the time of the input being handled
        self.on_schedule: Callable[[Connection], None] = _ignore  # deadline may have moved earlier
        engine.admit(self)  # last: over max_connections it answers ERROR at once

    # -- what the host asks

    @property
    def closing(self) -> bool:
        """True once the connection must be closed after its output is flushed."""
        return self.state in ("closing", "closed")

    @property
    def closed(self) -> bool:
        return self.state == "closed"

    @property
    def writable(self) -> bool:
        """Whether more MESSAGEs may be queued to this connection (flow control)."""
        return self.state == "connected" and self.out_bytes < self.limits.max_output_bytes

    @property
    def output_size(self) -> int:
        """Bytes queued for the client and not yet taken by `data_to_send`."""
        return self.out_bytes

    def data_to_send(self) -> bytes:
        """Everything queued for the client since the last call."""
        out = self.out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        was_full = self.out_bytes >= self.limits.max_output_bytes
        self.out_bytes = 0
        if was_full and self.state == "connected":
            for subscription in (*self.subscriptions.values(), *self.orphans):
                self.engine.dispatch_subscription(subscription, self.now)
        return data

    def receive_data(self, data: bytes, now: float) -> None:
        """Handle bytes from the client; never raises."""
        if self.state not in READING or self.deaf:
            return
        self.now = now
        self.last_received = now
        try:
            reading.receive(self, data)
        except Exception:  # a bug in stomptest must not take the broker down: report it and close
            self.internal_error()

    def tick(self, now: float) -> None:
        """Heart-beats both ways, delayed frames, the CONNECT timeout; call at `next_deadline()`."""
        handling = TRANSITIONS[self.state, "tick"][0]
        if handling == "ignore":
            return
        self.now = now
        try:
            if handling == "connect-timeout":
                connecting.check_connect_timeout(self, now)
            else:
                connecting.heartbeats(self, now)
        except Exception:
            self.internal_error()

    def next_deadline(self) -> float | None:
        """When `tick` next has work to do, or None."""
        handling = TRANSITIONS[self.state, "tick"][0]
        if handling == "connect-timeout":
            return connecting.connect_deadline(self)
        if handling == "heart-beats":
            return connecting.heartbeat_deadline(self)
        return None

    def connection_lost(self, now: float) -> None:
        """The socket is gone (EOF, reset, or closed by us): clean up if not done yet."""
        self.now = now
        handling, after = TRANSITIONS[self.state, "connection_lost"]
        if handling == "close":
            self.close("connection lost")
        self._enter(after)
        self.out.clear()
        self.out_bytes = 0
        self.held.clear()
        self.on_schedule = _ignore  # kept in the engine's recent history: hold no host
        self.engine.forget(self)

    def close(self, reason: str) -> None:
        """Stop the session: abort transactions and give unacknowledged messages back."""
        handling, after = TRANSITIONS[self.state, "close"]
        if handling == "ignore":
            return
        self._enter(after)
        self.close_reason = reason
        self.transactions.clear()
        subscriptions = [*self.subscriptions.values(), *self.orphans]
        self.subscriptions.clear()
        self.orphans.clear()
        self.unacked.clear()
        for subscription in subscriptions:
            self.engine.unsubscribe(subscription, self.now)
        for subscription, messages in self.withheld:
            self.engine.requeue(subscription, messages, self.now)
            self.engine.dispatch(subscription.destination, self.now)
        self.withheld.clear()
        self.engine.drop_temporary(self)
        self.engine.on_output(self)  # wakes the host, which flushes and closes

    def connect_accepted(self, frame: Frame) -> None:
        """CONNECT (or STOMP) was accepted: the state the table names for it."""
        self._enter(TRANSITIONS[self.state, frame.command][1])

    def _enter(self, state: State) -> None:
        self.state = state
        self._steps = _STEPS[state, self.version]

    def commit_held(self, frame: Frame) -> None:
        """Apply a SEND, ACK or NACK its transaction held, now that it is committed."""
        _COMMITTED[frame.command](self, frame, committing=True)

    # -- frames

    def handle_frame(self, frame: Frame) -> None:
        """What the table says for this frame in this state: its command's handler, or an ERROR."""
        command = frame.command
        handling, required = self._steps[command]
        version = self.version
        if version is None:  # before CONNECT: a CONNECT's headers are read by its own rules
            if handling == "handle":
                _HANDLERS[command](self, frame)
            elif not connecting.out_of_turn(self, cast(ErrorKind, handling), frame):
                self.fail(cast(ErrorKind, handling), frame)
            return
        if self.trim_1_0 is not None:  # a 1.0 connection whose broker trims blanks (Profile.trim_1_0_values)
            frame = wire.trim_values(frame, self.trim_1_0)
        if self.decode_1_0 and any("\\" in value for _, value in frame.raw_headers):
            frame = Frame(command, [(n, wire.lenient_unescape(v)) for n, v in frame.raw_headers], frame.body)
        elif (
            self.profile.repeated_headers == "last-before-1.2"
            and version != "1.2"
            and len(frame.headers) < len(frame.raw_headers)
        ):
            last = dict(frame.raw_headers)  # keeps the first position, takes the last value
            frame = Frame(command, list(last.items()), frame.body)
        if handling != "handle":
            if handling == "unknown-command":
                self.fail("unknown-command", frame, reason=f"a client may not send {command}")
            elif not connecting.out_of_turn(self, cast(ErrorKind, handling), frame):
                self.fail(cast(ErrorKind, handling), frame)
            return
        if required is None:
            if command == "NACK" and self.profile.nack_in_1_0 != "unknown-command":
                acknowledging.on_nack_1_0(self, frame)
                return
            self.fail("unknown-command", frame, reason=f"{command} does not exist in STOMP {version}")
            return
        headers = frame.headers
        for name in required:
            if name not in headers and not subscribing.optional(self, command, name):
                self.fail("missing-header", frame, reason=name, header=name)
                return
        _HANDLERS[command](self, frame)

    def internal_error(self, frame: Frame | None = None) -> None:
        """A bug of stomptest's: record it for `Broker.check()`, answer ERROR, close this connection only."""
        text = traceback.format_exc()
        self.engine.record_internal_error(text)
        if self.state in READING:
            last = text.strip().splitlines()[-1]
            self.fail("internal", frame, reason=f"stomptest broker bug: {last}")
        self.close("internal error")


def _ignore(connection: Connection) -> None:
    pass
