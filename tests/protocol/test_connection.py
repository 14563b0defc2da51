"""The client connection on its own, without sockets: examples, every (state, input) pair, a model-based test."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from stomptest.protocol.connection import ClientConnection, check_max_unconsumed
from stomptest.protocol.errors import BrokerError, ConfigurationError, ProtocolError, RemoteProtocolError
from stomptest.protocol.events import Answer, Broken, Connected, Error, Message, Notice, Unsolicited
from stomptest.protocol.frame import Frame
from stomptest.protocol.session import Session

CONNECT = {"host": "/", "login": None, "passcode": None, "heartbeat": (0, 0), "headers": ()}
CONNECTED = Frame("CONNECTED", {"version": "1.2", "heart-beat": "0,0"}).encode()


def message(number: int, subscription: str = "s1") -> bytes:
    headers = {"destination": "/queue/a", "message-id": f"m{number}", "subscription": subscription, "ack": f"a{number}"}
    return Frame("MESSAGE", headers, f"body {number}").encode()


def receipt(receipt_id: str) -> bytes:
    return Frame("RECEIPT", {"receipt-id": receipt_id}).encode()


def connected(bound: int = 1000, heartbeat: tuple[int, int] = (0, 0), server: str = "0,0") -> ClientConnection:
    connection = ClientConnection(Session("1.2"), {**CONNECT, "heartbeat": heartbeat}, max_unconsumed=bound)
    assert connection.open(0.0).startswith(b"CONNECT\n")
    answer = Frame("CONNECTED", {"version": "1.2", "heart-beat": server}).encode()
    [notice] = connection.receive_data(answer, 0.0)
    assert isinstance(notice, Connected)
    return connection


def subscribe(connection: ClientConnection, id: str = "s1", ack: str = "auto") -> None:
    connection.send_frame(lambda s: s.subscribe("/queue/a", id=id, ack=ack)[0])
    connection.data_to_send(0.0)


# --- examples --------------------------------------------------------------------------------------------------


def test_connect_replays_subscriptions_and_the_handshake_answers_with_connected() -> None:
    connection = connected()
    subscribe(connection)
    assert connection.connection_lost()[0].transactions == ()
    connect = connection.open(1.0)
    assert connect.startswith(b"CONNECT\n") and b"accept-version:1.0,1.1,1.2" in connect
    [notice] = connection.receive_data(CONNECTED, 1.0)
    assert isinstance(notice, Connected) and connection.connected is notice
    replay = connection.data_to_send(1.0)
    assert replay.startswith(b"SUBSCRIBE\n") and b"id:s1" in replay


def test_a_refused_connect_is_the_error_event() -> None:
    connection = ClientConnection(Session("1.2"), CONNECT)
    connection.open(0.0)
    [notice] = connection.receive_data(Frame("ERROR", {"message": "bad passcode"}).encode(), 0.0)
    assert isinstance(notice, Error) and "bad passcode" in str(notice.exception)
    assert connection.session.state.name == "DISCONNECTED"


def test_frames_are_coalesced_and_a_waiting_call_is_urgent() -> None:
    connection = connected()
    _, receipt_id, urgent = connection.send_frame(lambda s: s.send("/queue/a", b"1"))
    assert (receipt_id, urgent) == (None, False)
    frame, receipt_id, urgent = connection.send_frame(lambda s: s.send("/queue/a", b"2", receipt=True), wait=True)
    assert receipt_id == frame.headers["receipt"] and urgent
    data = connection.data_to_send(5.0)
    assert data.count(b"SEND\n") == 2 and connection.last_sent == 5.0
    assert connection.data_to_send(6.0) == b"" and connection.last_sent == 5.0


def test_a_receipt_answers_the_call_waiting_for_it_once() -> None:
    connection = connected()
    _, receipt_id, _ = connection.send_frame(lambda s: s.send("/queue/a", receipt=True), wait=True)
    assert receipt_id is not None
    [answer] = connection.receive_data(receipt(receipt_id), 1.0)
    assert isinstance(answer, Answer) and answer.receipt is not None and answer.error is None
    [again] = connection.receive_data(receipt(receipt_id), 1.0)
    assert isinstance(again, Unsolicited) and isinstance(again.error, RemoteProtocolError)


def test_a_receipt_nobody_waits_for_any_more_is_no_answer() -> None:
    connection = connected()
    _, receipt_id, _ = connection.send_frame(lambda s: s.send("/queue/a", receipt=True), wait=True)
    assert receipt_id is not None
    connection.forget(receipt_id)  # the call timed out
    assert connection.receive_data(receipt(receipt_id), 1.0) == []


def test_errors_answer_the_named_call_or_every_call_unless_a_handler_takes_them() -> None:
    connection = connected()
    ids = [connection.send_frame(lambda s: s.send("/queue/a", receipt=True), wait=True)[1] for _ in range(3)]
    named = Frame("ERROR", {"message": "no", "receipt-id": str(ids[1])}).encode()
    [answer] = connection.receive_data(named, 1.0)
    assert isinstance(answer, Answer) and answer.receipt_id == ids[1] and isinstance(answer.error, BrokerError)
    connection.errors_have_handler = True
    [unsolicited] = connection.receive_data(Frame("ERROR", {"message": "who?"}).encode(), 1.0)
    assert isinstance(unsolicited, Unsolicited)
    connection.errors_have_handler = False
    answers = connection.receive_data(Frame("ERROR", {"message": "all"}).encode(), 1.0)
    assert [a.receipt_id for a in answers if isinstance(a, Answer)] == [ids[0], ids[2]]


def test_bytes_that_are_not_stomp_break_the_connection_after_the_good_frames() -> None:
    connection = connected()
    subscribe(connection)
    notices = connection.receive_data(message(1) + b"NOT A FRAME\n\n\x00", 1.0)
    assert [type(n) for n in notices] == [Broken]
    assert connection.take() is not None  # the good frame before the bad bytes was kept


def test_messages_arrive_in_any_slices_and_are_taken_in_order_or_by_subscription() -> None:
    connection = connected()
    subscribe(connection, "s1")
    subscribe(connection, "s2")
    wire = message(1, "s1") + message(2, "s2") + message(3, "s1") + b"\n"
    for index in range(len(wire)):
        assert connection.receive_data(wire[index : index + 1], 1.0) == []
    assert connection.heartbeats_received == 1
    taken = connection.take("s2")
    assert taken is not None and taken.message_id == "m2"
    assert [m.message_id for m in (connection.take(), connection.take())] == ["m1", "m3"]  # type: ignore[union-attr]
    assert connection.take() is None and not connection.has_message()


def test_a_lost_connection_drops_the_messages_the_broker_redelivers_and_fails_the_waiting_calls() -> None:
    connection = connected()
    subscribe(connection, "auto", ack="auto")
    subscribe(connection, "acked", ack="client-individual")
    connection.receive_data(message(1, "auto") + message(2, "acked"), 1.0)
    _, receipt_id, _ = connection.send_frame(lambda s: s.send("/queue/a", receipt=True), wait=True)
    lost, waiting = connection.connection_lost()
    assert waiting == [receipt_id]
    assert [m.message_id for m in lost.unacknowledged] == ["m2"]
    assert [m.message_id for m in (connection.take(), connection.take()) if m is not None] == ["m1"]
    assert not connection.has_data_to_send


def test_the_inbox_never_holds_more_than_the_bound_and_nothing_is_lost() -> None:
    connection = connected(bound=3)
    subscribe(connection)
    wire = b"".join(message(n) for n in range(10))
    assert connection.receive_data(wire, 1.0) == []
    assert connection.unconsumed == 3 and connection.reading_paused and connection.has_backlog
    received = []
    while connection.unconsumed:
        taken = connection.take()
        assert taken is not None
        received.append(taken.message_id)
        if connection.room_made:
            connection.room_made = False
            connection.receive_data(b"", 2.0)
        assert connection.unconsumed <= 3
    assert received == [f"m{n}" for n in range(10)]
    assert not connection.reading_paused and not connection.has_backlog


def test_a_call_waiting_for_an_answer_lifts_the_bound() -> None:
    connection = connected(bound=2)
    subscribe(connection)
    _, receipt_id, _ = connection.send_frame(lambda s: s.send("/queue/a", receipt=True), wait=True)
    assert receipt_id is not None
    notices = connection.receive_data(message(1) + message(2) + message(3) + receipt(receipt_id), 1.0)
    assert [type(n) for n in notices] == [Answer]  # the answer behind the messages is not held back
    assert connection.unconsumed == 3 and connection.reading_paused


def test_the_heartbeat_check_excuses_the_silence_while_reading_is_paused() -> None:
    connection = connected(bound=1, heartbeat=(0, 1000), server="1000,0")
    subscribe(connection)
    connection.receive_data(message(1) + message(2), 0.0)
    assert connection.reading_paused
    assert connection.heartbeat_due(10.0).silent_for is None  # ten seconds of our own not reading
    assert connection.take() is not None
    connection.receive_data(b"", 10.5)  # the backlog moves on: full again
    assert connection.take() is not None and not connection.reading_paused
    assert connection.heartbeat_due(11.0).silent_for is None  # the silence is counted from the resumption
    assert connection.heartbeat_due(13.5).silent_for is not None  # and then it counts


def test_heartbeats_are_counted_and_beats_queued_only_when_connected() -> None:
    connection = connected(heartbeat=(1000, 0), server="0,1000")
    assert connection.heartbeat_due(1.0).beat
    assert connection.beat() and connection.heartbeats_sent == 1
    assert connection.data_to_send(1.0) == b"\n"
    connection.connection_lost()
    assert not connection.beat()


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "10", None])
def test_the_bound_is_checked(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="max_unconsumed"):
        check_max_unconsumed(bad)  # type: ignore[arg-type]


def test_message_headers_are_the_frames_read_only() -> None:
    connection = connected()
    subscribe(connection)
    connection.receive_data(message(7), 1.0)
    taken = connection.take()
    assert isinstance(taken, Message)
    assert taken.headers["message-id"] == "m7" and taken.headers is taken.frame.headers
    with pytest.raises(TypeError):
        taken.headers["x"] = "y"  # type: ignore[index]


# --- every (state, input) pair ---------------------------------------------------------------------------------

# States of the connection as a shell sees them: the session's, with CONNECTED split by whether reading is
# paused (the inbox is full), and DISCONNECTED by whether subscriptions wait to be replayed (LOST) or not (NEW).
STATES = ("NEW", "CONNECTING", "CONNECTED", "PAUSED", "DISCONNECTING", "LOST")
BOUND = 2


def _state_of(connection: ClientConnection) -> str:
    name = connection.session.state.name
    if name == "DISCONNECTED":
        return "LOST" if connection.session.subscriptions else "NEW"
    if name == "CONNECTED" and connection.reading_paused:
        return "PAUSED"
    return name


def _connection_in(state: str) -> tuple[ClientConnection, str | None]:
    """A connection in `state`, and the receipt id of a call waiting in it (None in PAUSED: a wait lifts the bound)."""
    connection = ClientConnection(Session("1.2"), CONNECT, max_unconsumed=BOUND)
    if state == "NEW":
        return connection, None
    connection.open(0.0)
    if state == "CONNECTING":
        return connection, None
    connection.receive_data(CONNECTED, 0.0)
    subscribe(connection)
    connection.receive_data(message(1) + (message(2) if state == "PAUSED" else b""), 0.0)
    frame, receipt_id, _ = connection.send_frame(lambda s: s.send("/queue/a", receipt=True), wait=state != "PAUSED")
    receipt_id = frame.headers["receipt"]
    if state == "DISCONNECTING":
        connection.send_frame(lambda s: s.disconnect())
    if state == "LOST":
        connection.connection_lost()
    assert _state_of(connection) == state
    return connection, receipt_id


INPUTS: dict[str, Callable[[ClientConnection, str | None], object]] = {
    "open": lambda c, r: c.open(1.0),
    "send": lambda c, r: c.send_frame(lambda s: s.send("/queue/b")),
    "send, waiting": lambda c, r: c.send_frame(lambda s: s.send("/queue/b", receipt=True), wait=True),
    "beat": lambda c, r: c.beat(),
    "data_to_send": lambda c, r: c.data_to_send(1.0),
    "take": lambda c, r: c.take(),
    "heartbeat_due": lambda c, r: c.heartbeat_due(1.0),
    "connection_lost": lambda c, r: c.connection_lost(),
    "close": lambda c, r: c.close(),
    "receive CONNECTED": lambda c, r: c.receive_data(CONNECTED, 1.0),
    "receive MESSAGE": lambda c, r: c.receive_data(message(9), 1.0),
    "receive RECEIPT": lambda c, r: c.receive_data(receipt(str(r)), 1.0),
    "receive ERROR": lambda c, r: c.receive_data(Frame("ERROR", {"message": "x"}).encode(), 1.0),
    "receive heart-beat": lambda c, r: c.receive_data(b"\n", 1.0),
    "receive garbage": lambda c, r: c.receive_data(b"NOT STOMP\n\n\x00", 1.0),
}

LOCAL = "ProtocolError raised, nothing changed"
REMOTE = "RemoteProtocolError reported"
OURS = "ProtocolError reported (bytes after the end)"
SAME = {s: s for s in STATES}
NOTICE_FREE = "no notice"

# input -> state -> the state after, or what goes wrong; the notices expected are checked below.
EXPECTED: dict[str, dict[str, str]] = {
    "open": {"NEW": "CONNECTING", "LOST": "CONNECTING", **dict.fromkeys(STATES[1:5], LOCAL)},
    "send": {**dict.fromkeys(STATES, LOCAL), "CONNECTED": "CONNECTED", "PAUSED": "PAUSED"},
    "send, waiting": {**dict.fromkeys(STATES, LOCAL), "CONNECTED": "CONNECTED", "PAUSED": "CONNECTED"},
    "beat": SAME,
    "data_to_send": SAME,
    "take": {**SAME, "PAUSED": "CONNECTED"},
    "heartbeat_due": SAME,
    "connection_lost": {"NEW": "NEW", "CONNECTING": "NEW", "CONNECTED": "LOST", "PAUSED": "LOST"}
    | {"DISCONNECTING": "NEW", "LOST": "LOST"},
    "close": {"NEW": "NEW", "CONNECTING": "NEW", "CONNECTED": "LOST", "PAUSED": "LOST"}
    | {"DISCONNECTING": "NEW", "LOST": "LOST"},
    "receive CONNECTED": {"NEW": OURS, "CONNECTING": "CONNECTED", "CONNECTED": REMOTE, "PAUSED": REMOTE}
    | {"DISCONNECTING": REMOTE, "LOST": OURS},
    "receive MESSAGE": {"NEW": OURS, "CONNECTING": REMOTE, "CONNECTED": "CONNECTED", "PAUSED": "PAUSED"}
    | {"DISCONNECTING": "DISCONNECTING", "LOST": OURS},
    "receive RECEIPT": {"NEW": OURS, "CONNECTING": REMOTE, "CONNECTED": "CONNECTED", "PAUSED": "PAUSED"}
    | {"DISCONNECTING": "DISCONNECTING", "LOST": OURS},
    "receive ERROR": {"NEW": OURS, "CONNECTING": "NEW", "CONNECTED": "CONNECTED", "PAUSED": "PAUSED"}
    | {"DISCONNECTING": "DISCONNECTING", "LOST": OURS},
    "receive heart-beat": SAME,
    "receive garbage": SAME,
}

# (input, state) -> the notice types receive_data returns when the input is legal
NOTICES: dict[tuple[str, str], list[type]] = {
    ("receive CONNECTED", "CONNECTING"): [Connected],
    ("receive RECEIPT", "CONNECTED"): [Answer],  # the waiting call's
    ("receive RECEIPT", "DISCONNECTING"): [Answer],
    ("receive ERROR", "CONNECTING"): [Error],  # CONNECT refused
    ("receive ERROR", "CONNECTED"): [Answer],  # no receipt named: it answers the call waiting
    ("receive ERROR", "DISCONNECTING"): [Answer],
    ("receive ERROR", "PAUSED"): [Unsolicited],  # nobody waits: reported
    **{("receive garbage", state): [Broken] for state in STATES},
}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", sorted(INPUTS))
def test_every_state_and_input(state: str, action: str) -> None:
    connection, receipt_id = _connection_in(state)
    expected = EXPECTED[action][state]
    if expected == LOCAL:
        with pytest.raises(ProtocolError) as info:
            INPUTS[action](connection, receipt_id)
        assert not isinstance(info.value, RemoteProtocolError)
        assert _state_of(connection) == state
        return
    result = INPUTS[action](connection, receipt_id)
    if expected in (REMOTE, OURS):
        assert isinstance(result, list) and len(result) == 1
        [notice] = result
        assert isinstance(notice, Unsolicited) and isinstance(notice.error, ProtocolError)
        assert isinstance(notice.error, RemoteProtocolError) == (expected == REMOTE)
        assert _state_of(connection) == state
        return
    assert _state_of(connection) == expected
    if action.startswith("receive"):
        assert isinstance(result, list)
        assert [type(n) for n in result] == NOTICES.get((action, state), [])


def test_the_table_covers_every_pair() -> None:
    assert set(EXPECTED) == set(INPUTS)
    assert all(set(row) == set(STATES) for row in EXPECTED.values())


# --- the model-based test --------------------------------------------------------------------------------------


class ConnectionMachine(RuleBasedStateMachine):
    """The broker sends messages, receipts and heart-beats in arbitrary slices; calls wait, give up, take messages.

    Checked all along: the inbox never holds more than the bound unless a call waits, every
    message arrives once and in order, each waiting call gets its answer once (or none if it
    gave up), heart-beats are all counted.
    """

    @initialize(bound=st.integers(1, 6))
    def start(self, bound: int) -> None:
        self.bound = bound
        self.connection = connected(bound=bound)
        subscribe(self.connection)
        self.wire = b""  # what the broker wrote and we have not fed yet
        self.sent_messages = 0
        self.taken: list[str] = []
        self.waiting: set[str] = set()
        self.gave_up: set[str] = set()
        self.outstanding: list[str] = []  # receipts the broker still owes, in order
        self.answered: list[str] = []
        self.beats = 0

    def feed(self, notices: list[Notice]) -> None:
        for notice in notices:
            assert isinstance(notice, Answer), notice
            assert notice.receipt_id in self.waiting
            self.waiting.discard(notice.receipt_id)
            self.answered.append(notice.receipt_id)

    @rule(count=st.integers(1, 5))
    def broker_sends_messages(self, count: int) -> None:
        for _ in range(count):
            self.wire += message(self.sent_messages)
            self.sent_messages += 1

    @rule()
    def broker_beats(self) -> None:
        self.wire += b"\n"
        self.beats += 1

    @rule()
    def call_waits(self) -> None:
        _, receipt_id, _ = self.connection.send_frame(lambda s: s.send("/queue/a", receipt=True), wait=True)
        assert receipt_id is not None
        self.waiting.add(receipt_id)
        self.outstanding.append(receipt_id)

    @precondition(lambda self: self.waiting)
    @rule(data=st.data())
    def call_gives_up(self, data: st.DataObject) -> None:
        receipt_id = data.draw(st.sampled_from(sorted(self.waiting)))
        self.connection.forget(receipt_id)
        self.waiting.discard(receipt_id)
        self.gave_up.add(receipt_id)

    @precondition(lambda self: self.outstanding)
    @rule()
    def broker_answers(self) -> None:
        self.wire += receipt(self.outstanding.pop(0))

    @precondition(lambda self: self.wire)
    @rule(size=st.integers(1, 400))
    def socket_delivers(self, size: int) -> None:
        if self.connection.reading_paused:
            return  # a shell does not read now
        chunk, self.wire = self.wire[:size], self.wire[size:]
        self.feed(self.connection.receive_data(chunk, 1.0))

    @rule()
    def receive(self) -> None:
        taken = self.connection.take()
        if taken is not None:
            self.taken.append(taken.message_id)
        if self.connection.room_made:
            self.connection.room_made = False
            self.feed(self.connection.receive_data(b"", 1.0))

    @invariant()
    def bounded(self) -> None:
        if not self.waiting:
            assert self.connection.unconsumed <= self.bound or not self.connection.has_backlog

    @invariant()
    def in_order_and_once(self) -> None:
        assert self.taken == [f"m{n}" for n in range(len(self.taken))]
        assert len(self.answered) == len(set(self.answered)) and not set(self.answered) & self.gave_up

    def teardown(self) -> None:
        if not hasattr(self, "connection"):
            return
        # Drain everything: every message arrives, every heart-beat is counted.
        while self.outstanding:
            self.broker_answers()
        for _ in range(10 * (len(self.wire) + self.sent_messages + 1)):  # bounded: a bug must not hang the test
            if not (self.wire or self.connection.unconsumed or self.connection.has_backlog):
                break
            if self.wire and not self.connection.reading_paused:
                self.socket_delivers(4096)
            self.receive()
        assert self.taken == [f"m{n}" for n in range(self.sent_messages)]
        assert self.connection.heartbeats_received == self.beats
        assert not self.waiting


TestConnectionMachine = ConnectionMachine.TestCase
TestConnectionMachine.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)


def _awaiting(kind: str) -> tuple[ClientConnection, str]:
    """A connection with a call waiting for a receipt: a SEND's, or a DISCONNECT's."""
    connection = connected()
    build: Callable[[Session], Frame]
    if kind == "disconnect":
        build = lambda s: s.disconnect(receipt=True)  # noqa: E731
    else:
        build = lambda s: s.send("/queue/a", receipt=True)  # noqa: E731
    _, receipt_id, _ = connection.send_frame(build, wait=True)
    assert receipt_id is not None
    connection.data_to_send(0.5)
    return connection, receipt_id


def _seen(connection: ClientConnection, notices: list[Notice]) -> tuple[object, ...]:
    said = [
        (type(n).__name__, getattr(n, "receipt_id", None), type(getattr(n, "error", None)).__name__) for n in notices
    ]
    return said, connection.session.state, connection.heartbeats_received, connection.last_received


@pytest.mark.parametrize("kind", ["send", "disconnect"])
@pytest.mark.parametrize("tail", [b"", b"\n"])
@pytest.mark.parametrize("which", ["awaited", "another"])
def test_a_whole_receipt_read_at_once_is_what_it_is_read_in_pieces(kind: str, tail: bytes, which: str) -> None:
    """The read that is exactly one RECEIPT takes a shorter path (Parser.whole_receipt): the same outcome."""
    whole, receipt_id = _awaiting(kind)
    pieces, _ = _awaiting(kind)
    answered = receipt_id if which == "awaited" else "not-asked-for"
    data = receipt(answered) + tail
    at_once = whole.receive_data(data, 1.0)
    in_pieces = pieces.receive_data(data[:5], 1.0) + pieces.receive_data(data[5:], 1.0)
    assert _seen(whole, at_once) == _seen(pieces, in_pieces)
    assert at_once  # an answer, or the broker's protocol error
