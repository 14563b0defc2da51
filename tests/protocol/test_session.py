"""The Session state machine: worked examples, then a model-based test per STOMP version."""

from __future__ import annotations

import copy
import os
import socket
import uuid
from dataclasses import FrozenInstanceError, dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from stomptest.protocol import commands
from stomptest.protocol.errors import ConfigurationError, ProtocolError, RemoteProtocolError
from stomptest.protocol.frame import HEARTBEAT, Frame
from stomptest.protocol.heartbeat import HeartbeatIntervals
from stomptest.protocol.parser import Parser
from stomptest.protocol.session import (
    Connected,
    Error,
    Message,
    Receipt,
    Session,
    State,
)
from stomptest.protocol.spec import VERSIONS


def connected_session(version: str = "1.2", heartbeat: tuple[int, int] | None = None, server: str = "0,0") -> Session:
    session = Session(version)
    session.connect(host="/", heartbeat=heartbeat)
    headers = {"version": version, "heart-beat": server} if version != "1.0" else {}
    event = session.receive(Frame("CONNECTED", headers))
    assert isinstance(event, Connected)
    return session


def message(sub: str | None, message_id: str, destination: str = "/queue/a", ack: str | None = None) -> Frame:
    headers = {"destination": destination, "message-id": message_id}
    if sub is not None:
        headers["subscription"] = sub
    if ack is not None:
        headers["ack"] = ack
    return Frame("MESSAGE", headers, b"body")


# --- examples --------------------------------------------------------------------------------------------------


def test_connect_negotiates_version_and_heartbeat() -> None:
    session = Session("1.2")
    assert session.state is State.DISCONNECTED
    frame = session.connect(host="/", heartbeat=(1000, 2000))
    assert frame.headers["accept-version"] == "1.0,1.1,1.2"
    assert session.state is State.CONNECTING
    event = session.receive(Frame("CONNECTED", {"version": "1.1", "heart-beat": "500,3000"}))
    assert isinstance(event, Connected)
    assert event.version == session.version == "1.1"
    assert session.connected_info == event.info
    assert session.state is State.CONNECTED
    assert session.heartbeat == event.heartbeat == HeartbeatIntervals(send=3000, receive=2000)
    assert session.seconds_until_beat(last_sent=10.0, now=11.0) == pytest.approx(2.0)
    assert session.seconds_until_beat(last_sent=10.0, now=20.0) == 0.0
    assert not session.server_overdue(last_received=10.0, now=13.9)
    assert session.server_overdue(last_received=10.0, now=14.1)
    assert session.server_overdue(last_received=10.0, now=12.5, grace=1.2)
    assert session.beat() == b"\n"


def test_1_0_has_no_heartbeats() -> None:
    session = connected_session("1.0")
    assert session.heartbeat == HeartbeatIntervals(0, 0)
    assert session.seconds_until_beat(0.0, 100.0) is None
    assert not session.server_overdue(0.0, 1e9)
    with pytest.raises(ProtocolError, match="no heart-beats"):
        session.beat()


def test_error_refusing_connect_lists_both_sides_versions() -> None:
    session = Session("1.2", versions=["1.1", "1.2"])
    session.connect(host="/")
    refusal = Frame("ERROR", {"version": "1.0", "message": "Supported protocol versions are 1.0"})
    event = session.receive(refusal)
    assert isinstance(event, Error)
    assert event.frame is refusal and event.exception.frame is refusal
    assert "we offered 1.1,1.2" in str(event.exception) and "supports 1.0" in str(event.exception)
    assert session.state is State.DISCONNECTED


def test_calls_in_the_wrong_state_name_the_state() -> None:
    session = Session()
    for call in (lambda: session.send("/q"), lambda: session.disconnect(), session.replay, session.begin):
        with pytest.raises(ProtocolError, match="DISCONNECTED"):
            call()
    session.connect(host="/")
    with pytest.raises(ProtocolError, match="CONNECTING"):
        session.subscribe("/q")
    with pytest.raises(ProtocolError, match="CONNECTING"):
        session.connect(host="/")
    with pytest.raises(RemoteProtocolError, match="MESSAGE while the session is CONNECTING"):
        session.receive(message("s", "m"))
    session.receive(Frame("CONNECTED", {"version": "1.2"}))
    with pytest.raises(RemoteProtocolError, match="CONNECTED while the session is CONNECTED"):
        session.receive(Frame("CONNECTED", {"version": "1.2"}))
    with pytest.raises(RemoteProtocolError, match="not a server frame"):
        session.receive(Frame("SEND", {"destination": "/q"}))


def test_receipts_record_what_they_were_for() -> None:
    session = connected_session()
    sent = session.send("/queue/a", "hi", receipt=True)
    receipt_id = sent.headers["receipt"]
    assert session.receipts == {receipt_id: sent}
    named = session.begin(receipt="mine")
    with pytest.raises(ProtocolError, match="outstanding already"):
        session.send("/queue/a", receipt="mine")
    event = session.receive(Frame("RECEIPT", {"receipt-id": receipt_id}))
    assert isinstance(event, Receipt) and event.request is sent
    with pytest.raises(RemoteProtocolError, match="second time"):
        session.receive(Frame("RECEIPT", {"receipt-id": receipt_id}))
    with pytest.raises(RemoteProtocolError, match=r"not asked for.*'mine'"):
        session.receive(Frame("RECEIPT", {"receipt-id": "other"}))
    error = session.receive(Frame("ERROR", {"receipt-id": "mine", "message": "no"}))
    assert isinstance(error, Error) and error.request is named
    assert session.receipts == {}
    assert session.state is State.CONNECTED


def test_transactions_get_ids_and_are_checked() -> None:
    session = connected_session()
    frame = session.begin()
    tx = frame.headers["transaction"]
    assert tx and tx != "None"
    assert session.begin().headers["transaction"] != tx
    with pytest.raises(ProtocolError, match="open already"):
        session.begin(tx)
    with pytest.raises(ProtocolError, match="unknown transaction 'nope'"):
        session.send("/q", transaction="nope")
    with pytest.raises(ProtocolError, match="unknown transaction"):
        session.abort("nope")
    assert session.commit(tx).raw_headers == (("transaction", tx),)
    with pytest.raises(ProtocolError, match="unknown transaction"):
        session.commit(tx)
    session.disconnect()
    assert session.transactions == ()


def test_forced_disconnect_keeps_subscriptions_for_replay_in_order() -> None:
    session = connected_session()
    first, _ = session.subscribe("/queue/a", ack="client", headers={"selector": "x > 1"}, receipt=True)
    second, sub = session.subscribe("/topic/b", id="mine")
    session.unsubscribe(sub)
    third, _ = session.subscribe("/topic/c")
    tx = session.begin().headers["transaction"]
    pending = session.receive(message(first.headers["id"], "m1", ack="a1"))
    lost = session.connection_lost()
    assert lost.transactions == (tx,)
    assert lost.receipts == (first,)
    assert lost.unacknowledged == (pending,)
    assert session.unacknowledged() == (pending,)
    assert session.state is State.DISCONNECTED and session.transactions == ()
    session.connect(host="/")
    session.receive(Frame("CONNECTED", {"version": "1.2"}))
    assert session.unacknowledged() == ()
    assert session.replay() == [first, third]
    assert session.receipts == {first.headers["receipt"]: first}
    assert session.replay() == []
    with pytest.raises(ProtocolError, match="not awaiting acknowledgement"):
        session.ack(pending)
    assert second not in [s.frame for s in session.subscriptions]


def test_clean_disconnect_forgets_subscriptions() -> None:
    session = connected_session()
    session.subscribe("/queue/a")
    frame = session.disconnect(receipt=True)
    assert session.state is State.DISCONNECTING
    session.receive(message("sub-1", "late"))  # in flight before the broker read DISCONNECT
    event = session.receive(Frame("RECEIPT", {"receipt-id": frame.headers["receipt"]}))
    assert isinstance(event, Receipt) and event.request is frame
    assert session.state is State.DISCONNECTED
    assert session.subscriptions == ()
    session.connect(host="/")
    session.receive(Frame("CONNECTED", {"version": "1.2"}))
    assert session.replay() == []


def test_close_after_disconnect_without_receipt() -> None:
    session = connected_session("1.1")
    session.subscribe("/queue/a")
    with pytest.raises(ProtocolError, match="CONNECTED"):
        session.close()
    session.disconnect()
    session.close()
    assert session.state is State.DISCONNECTED and session.subscriptions == ()


@pytest.mark.parametrize("version", VERSIONS)
def test_ack_ids_per_version_and_cumulative_client_mode(version: str) -> None:
    session = connected_session(version)
    _, sub = session.subscribe("/queue/a", id="s1", ack="client")
    ack = (lambda n: f"a{n}") if version == "1.2" else (lambda n: None)
    events = [session.receive(message("s1", f"m{n}", ack=ack(n))) for n in range(3)]
    assert all(isinstance(e, Message) and e.needs_ack and e.subscription == sub for e in events)
    assert [m.message_id for m in session.unacknowledged("s1")] == ["m0", "m1", "m2"]
    acked = session.ack(events[1])
    expected = {
        "1.0": (("message-id", "m1"),),
        "1.1": (("message-id", "m1"), ("subscription", "s1")),
        "1.2": (("id", "a1"),),
    }[version]
    assert acked.raw_headers == expected
    assert [m.message_id for m in session.unacknowledged()] == ["m2"]  # client mode is cumulative
    with pytest.raises(ProtocolError, match="not awaiting"):
        session.ack(events[0])
    assert session.ack(events[2].frame).command == "ACK"  # the frame works as well as the event


def test_client_individual_acks_one_message() -> None:
    session = connected_session("1.2")
    session.subscribe("/queue/a", id="s1", ack="client-individual")
    events = [session.receive(message("s1", f"m{n}", ack=f"a{n}")) for n in range(3)]
    assert session.nack(events[1]).raw_headers == (("id", "a1"),)
    assert [m.message_id for m in session.unacknowledged()] == ["m0", "m2"]


def _ids(messages: tuple[Message, ...]) -> list[str]:
    return [m.message_id for m in messages]


def test_transacted_ack_takes_effect_at_commit() -> None:
    session = connected_session("1.2")
    session.subscribe("/queue/a", id="s1", ack="client-individual")
    events = [session.receive(message("s1", f"m{n}", ack=f"a{n}")) for n in range(3)]
    tx = session.begin().headers["transaction"]
    assert session.ack(events[1], transaction=tx).raw_headers == (("id", "a1"), ("transaction", tx))
    assert session.nack(events[2], transaction=tx).command == "NACK"
    assert _ids(session.unacknowledged()) == ["m0", "m1", "m2"]  # nothing applies before COMMIT
    with pytest.raises(ProtocolError, match=rf"m1.*open transaction '{tx}'.*abort\(\)"):
        session.ack(events[1])  # a second acknowledgement would race the COMMIT
    session.commit(tx)
    assert _ids(session.unacknowledged()) == ["m0"]
    with pytest.raises(ProtocolError, match="not awaiting"):
        session.ack(events[1])


def test_abort_leaves_transacted_acks_unacknowledged() -> None:
    session = connected_session("1.1")
    session.subscribe("/queue/a", id="s1", ack="client-individual")
    events = [session.receive(message("s1", f"m{n}")) for n in range(2)]
    session.begin("t1")
    session.ack(events[0], transaction="t1")
    session.abort("t1")
    assert _ids(session.unacknowledged()) == ["m0", "m1"]  # the spec: an aborted transaction's ACKs do not apply
    session.ack(events[0])  # and the message can be acknowledged again
    assert _ids(session.unacknowledged()) == ["m1"]


def test_transacted_cumulative_ack_covers_what_was_delivered_before_it() -> None:
    session = connected_session("1.2")
    session.subscribe("/queue/a", id="s1", ack="client")
    events = [session.receive(message("s1", f"m{n}", ack=f"a{n}")) for n in range(3)]
    session.begin("t1")
    session.ack(events[1], transaction="t1")  # covers m0 and m1
    later = session.receive(message("s1", "m3", ack="a3"))
    with pytest.raises(ProtocolError, match="open transaction 't1'"):
        session.ack(events[0])  # covered by t1 already
    session.commit("t1")
    assert _ids(session.unacknowledged()) == ["m2", "m3"]
    assert later in session.unacknowledged()


def test_disconnect_and_lost_connection_abort_transacted_acks() -> None:
    session = connected_session("1.2")
    session.subscribe("/queue/a", id="s1", ack="client-individual")
    event = session.receive(message("s1", "m0", ack="a0"))
    session.begin("t1")
    session.ack(event, transaction="t1")
    lost = session.connection_lost()
    assert lost.transactions == ("t1",) and _ids(lost.unacknowledged) == ["m0"]  # the broker redelivers it
    assert _ids(session.unacknowledged()) == ["m0"]

    session = connected_session("1.2")
    session.subscribe("/queue/a", id="s1", ack="client-individual")
    event = session.receive(message("s1", "m0", ack="a0"))
    session.begin("t1")
    session.ack(event, transaction="t1")
    session.disconnect(receipt="bye")
    assert session.transactions == () and _ids(session.unacknowledged()) == ["m0"]


def test_unsubscribe_drops_a_transactions_claims_on_its_messages() -> None:
    session = connected_session("1.2")
    session.subscribe("/queue/a", id="s1", ack="client-individual")
    session.begin("t1")
    session.ack(session.receive(message("s1", "m0", ack="a0")), transaction="t1")
    session.unsubscribe("s1")
    session.subscribe("/queue/a", id="s1", ack="client-individual")
    again = session.receive(message("s1", "m0", ack="a0"))  # same ack id on the new subscription
    session.commit("t1")
    assert session.unacknowledged() == (again,)  # t1's ACK was for the old subscription


def test_auto_ack_messages_cannot_be_acked_and_say_why() -> None:
    session = connected_session("1.2")
    session.subscribe("/queue/a", id="s1")
    event = session.receive(message("s1", "m1"))
    assert isinstance(event, Message) and not event.needs_ack
    with pytest.raises(ProtocolError, match="ack:auto"):
        session.ack(event)
    assert session.unacknowledged() == ()


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_auto_ack_message_fast_path_matches_the_full_interpretation(version: str) -> None:
    """receive() handles an ack:auto MESSAGE in CONNECTED in one step; the event is the same as the full path's."""
    session = connected_session(version)
    _, sub = session.subscribe("/queue/a", id="s1")
    frame = Frame("MESSAGE", {"destination": "/queue/a", "message-id": "m1", "subscription": "s1", "ack": "a1"}, b"x")
    event = session.receive(frame)
    assert isinstance(event, Message)
    expected = Message(frame, commands.message(frame, version), sub, False)
    assert event == expected and hash(event) == hash(expected) and repr(event) == repr(expected)
    assert event.info.ack == ("a1" if version == "1.2" else None)
    assert (event.destination, event.message_id, event.body) == ("/queue/a", "m1", b"x")
    assert copy.copy(event) == event
    with pytest.raises(FrozenInstanceError):
        event.needs_ack = True  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        del event.frame  # type: ignore[misc]


@pytest.mark.parametrize("missing", ["destination", "message-id"])
def test_auto_ack_message_without_required_headers_is_refused(missing: str) -> None:
    session = connected_session("1.2")
    session.subscribe("/queue/a", id="s1")
    headers = {"destination": "/queue/a", "message-id": "m1", "subscription": "s1"}
    del headers[missing]
    with pytest.raises(RemoteProtocolError, match=f"MESSAGE without {missing}"):
        session.receive(Frame("MESSAGE", headers))


def test_messages_for_unknown_subscriptions() -> None:
    session = connected_session("1.1")
    session.subscribe("/queue/a", id="s1")
    with pytest.raises(RemoteProtocolError, match="never made"):
        session.receive(message("s9", "m1"))
    session.unsubscribe("s1")
    late = session.receive(message("s1", "m2"))  # in flight while we unsubscribed
    assert isinstance(late, Message) and late.subscription is None


def test_1_0_subscriptions_keyed_by_destination() -> None:
    session = connected_session("1.0")
    frame, sub = session.subscribe("/queue/a", ack="client")
    assert frame.raw_headers == (("destination", "/queue/a"), ("ack", "client"))
    assert sub.id is None and sub.key == "/queue/a"
    with pytest.raises(ProtocolError, match="without an id exists already"):
        session.subscribe("/queue/a")
    event = session.receive(message(None, "m1"))
    assert isinstance(event, Message) and event.subscription == sub
    assert session.ack(event).raw_headers == (("message-id", "m1"),)
    assert session.unsubscribe(destination="/queue/a").raw_headers == (("destination", "/queue/a"),)


def test_replay_refuses_what_the_new_version_cannot_carry() -> None:
    session = connected_session("1.2")
    session.subscribe("/queue/a", id="s", ack="client-individual")
    session.connection_lost()
    session.connect(host="/")
    session.receive(Frame("CONNECTED", {}))  # the broker speaks 1.0 this time
    with pytest.raises(ProtocolError, match="client-individual"):
        session.replay()


def test_connection_lost_while_disconnecting_is_a_clean_end() -> None:
    session = connected_session()
    session.subscribe("/queue/a")
    session.disconnect(receipt=True)
    lost = session.connection_lost()
    assert len(lost.receipts) == 1
    assert session.subscriptions == ()


def test_heartbeats_are_events() -> None:
    session = Session()
    session.connect(host="/")
    assert session.receive(HEARTBEAT) is HEARTBEAT
    session.connection_lost()
    # EOLs that trail the last frame (RECEIPT...\0\n) are read after the session ended: harmless.
    assert session.receive(HEARTBEAT) is HEARTBEAT
    with pytest.raises(ProtocolError, match="DISCONNECTED"):
        session.receive(Frame("RECEIPT", {"receipt-id": "late"}))


def test_session_arguments_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        Session("2.0")
    with pytest.raises(ProtocolError, match="highest"):
        Session("1.2", versions=["1.0"])
    session = connected_session()
    with pytest.raises(ProtocolError, match="receipt="):
        session.send("/q", receipt="")  # type: ignore[arg-type]


# --- every (state, input) pair, h2 style -----------------------------------------------------------------------

# What the spec allows, written out independently of the session's own table:
# input -> {state it is legal in: state after}.
_IN_SESSION = {"CONNECTED": "CONNECTED"}
_RECEIVED = {"CONNECTED": "CONNECTED", "DISCONNECTING": "DISCONNECTING"}
EXPECTED = {
    "connect": {"DISCONNECTED": "CONNECTING"},
    "disconnect": {"CONNECTED": "DISCONNECTING"},
    "close": {"DISCONNECTED": "DISCONNECTED", "DISCONNECTING": "DISCONNECTED"},
    "connection_lost": {s.name: "DISCONNECTED" for s in State},
    **{name: _IN_SESSION for name in ("send", "subscribe", "unsubscribe", "ack", "nack", "begin", "commit")},
    **{name: _IN_SESSION for name in ("abort", "replay", "beat")},
    "receive CONNECTED": {"CONNECTING": "CONNECTED"},
    "receive ERROR": {"CONNECTING": "DISCONNECTED", **_RECEIVED},
    "receive MESSAGE": _RECEIVED,
    "receive RECEIPT": _RECEIVED,
    "receive RECEIPT for DISCONNECT": {"DISCONNECTING": "DISCONNECTED"},
    "receive HEARTBEAT": {s.name: s.name for s in State},
}


def _session_in(state: State) -> tuple[Session, dict[str, object]]:
    """A 1.2 session in `state` with something of everything: a subscription, a pending message, a transaction."""
    session = Session("1.2")
    held: dict[str, object] = {}
    if state is State.DISCONNECTED:
        return session, held
    session.connect(host="/")
    if state is State.CONNECTING:
        return session, held
    session.receive(Frame("CONNECTED", {"version": "1.2"}))
    _, held["subscription"] = session.subscribe("/queue/a", id="s1", ack="client-individual")
    held["message"] = session.receive(message("s1", "m1", ack="a1"))
    held["transaction"] = session.begin().headers["transaction"]
    held["receipt"] = session.send("/queue/a", receipt=True).headers["receipt"]
    if state is State.DISCONNECTING:
        held["disconnect"] = session.disconnect(receipt=True).headers["receipt"]
    return session, held


def _apply(session: Session, held: dict[str, object], action: str) -> object:
    stray = message("s1", "m0", ack="a0")  # something to acknowledge before any MESSAGE arrived
    calls = {
        "connect": lambda: session.connect(host="/"),
        "disconnect": lambda: session.disconnect(),
        "close": session.close,
        "connection_lost": session.connection_lost,
        "send": lambda: session.send("/queue/b"),
        "subscribe": lambda: session.subscribe("/queue/b"),
        "unsubscribe": lambda: session.unsubscribe("s1"),
        "ack": lambda: session.ack(held.get("message", stray)),  # type: ignore[arg-type]
        "nack": lambda: session.nack(held.get("message", stray)),  # type: ignore[arg-type]
        "begin": lambda: session.begin(),
        "commit": lambda: session.commit(str(held.get("transaction", "t"))),
        "abort": lambda: session.abort(str(held.get("transaction", "t"))),
        "replay": session.replay,
        "beat": session.beat,
        "receive CONNECTED": lambda: session.receive(Frame("CONNECTED", {"version": "1.2"})),
        "receive ERROR": lambda: session.receive(Frame("ERROR", {"message": "x"})),
        "receive MESSAGE": lambda: session.receive(message("s1", "m2", ack="a2")),
        "receive RECEIPT": lambda: session.receive(Frame("RECEIPT", {"receipt-id": str(held.get("receipt"))})),
        "receive RECEIPT for DISCONNECT": lambda: session.receive(
            Frame("RECEIPT", {"receipt-id": str(held.get("disconnect"))})
        ),
        "receive HEARTBEAT": lambda: session.receive(HEARTBEAT),
    }
    return calls[action]()


@pytest.mark.parametrize("state", list(State), ids=lambda s: s.name)
@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_every_state_and_input(state: State, action: str) -> None:
    session, held = _session_in(state)
    legal = EXPECTED[action]
    if state.name in legal:
        _apply(session, held, action)
        assert session.state.name == legal[state.name]
    else:
        with pytest.raises(ProtocolError) as info:
            _apply(session, held, action)
        assert session.state is state  # refused without changing anything
        if action.startswith("receive") and state is not State.DISCONNECTED:
            assert isinstance(info.value, RemoteProtocolError)  # the broker's fault
        else:
            assert not isinstance(info.value, RemoteProtocolError)  # ours
            assert state.name in str(info.value)


# --- the model-based test --------------------------------------------------------------------------------------


@dataclass
class ModelSubscription:
    key: str
    sub_id: str | None
    destination: str
    ack: str
    frame: Frame
    receipt: str | None
    active: bool = True


@dataclass
class Model:
    """What the session should hold, written from the spec rather than from the implementation."""

    state: str = "DISCONNECTED"
    receipts: dict[str, str] = field(default_factory=dict)  # id -> command it was for
    completed: set[str] = field(default_factory=set)
    disconnect_receipt: str | None = None
    transactions: list[str] = field(default_factory=list)
    subscriptions: list[ModelSubscription] = field(default_factory=list)
    unsubscribed: set[str] = field(default_factory=set)
    unacked: list[tuple[str, str]] = field(default_factory=list)  # (subscription key, message-id), delivery order
    # open transaction -> the (subscription key, message-id) its ACKs/NACKs cover; applied at COMMIT only
    claims: dict[str, set[tuple[str, str]]] = field(default_factory=dict)

    def claimed(self, item: tuple[str, str]) -> bool:
        return any(item in covered for covered in self.claims.values())

    def sub(self, key: str) -> ModelSubscription | None:
        return next((s for s in self.subscriptions if s.key == key), None)

    def end_connection(self, *, clean: bool) -> None:
        self.receipts.clear()
        self.completed.clear()
        self.disconnect_receipt = None
        self.transactions.clear()
        self.claims.clear()
        self.unsubscribed.clear()
        self.unacked.clear()
        for sub in self.subscriptions:
            sub.active = False
        if clean:
            self.subscriptions.clear()


DESTINATIONS = st.sampled_from(["/queue/a", "/queue/b", "/topic/c"])
USER_IDS = st.sampled_from(["x", "y", "z"])
RECEIPT_ARGS = st.sampled_from([None, True, "r1", "r2"])
PICK = st.integers(0, 1_000)
TX_CHOICES = st.sampled_from(["none", "none", "open", "open", "unknown"])  # "open" is "none" while none is open


class SessionMachine(RuleBasedStateMachine):
    """Random legal and illegal calls on a Session, each checked against `Model`."""

    version = "1.2"

    def __init__(self) -> None:
        super().__init__()
        self.session = Session(self.version)
        self.model = Model()
        self.delivered: list[tuple[str, str, Message]] = []  # (subscription key, message-id, event)
        self.message_count = 0

    # helpers

    def expect_local_error(self, call: object) -> None:
        with pytest.raises(ProtocolError) as info:
            call()  # type: ignore[operator]
        assert not isinstance(info.value, RemoteProtocolError), info.value

    def check_frame(self, frame: Frame) -> None:
        parsed = Parser(self.version).feed(frame.encode(self.version))
        assert len(parsed) == 1 and isinstance(parsed[0], Frame) and parsed[0].command == frame.command

    def take_receipt(self, frame: Frame, asked: bool | str | None) -> None:
        got = frame.headers.get("receipt")
        if asked is None:
            assert got is None
            return
        assert got is not None and got not in self.model.receipts
        if isinstance(asked, str):
            assert got == asked
        self.model.receipts[got] = frame.command

    def receipt_usable(self, asked: bool | str | None) -> bool:
        return not (isinstance(asked, str) and asked in self.model.receipts)

    # connecting and disconnecting: one rule each way, so that most steps happen while connected

    @initialize()
    def start_connected(self) -> None:
        self.connect()
        self.broker_answers_connect(accept=True)

    def connect(self) -> None:
        if self.model.state != "DISCONNECTED":
            self.expect_local_error(lambda: self.session.connect(host="/"))
            return
        frame = self.session.connect(host="/")
        self.check_frame(frame)
        self.model.state = "CONNECTING"
        self.model.end_connection(clean=False)

    def broker_answers_connect(self, *, accept: bool) -> None:
        headers = {"version": self.version} if self.version != "1.0" else {}
        frame = Frame("CONNECTED", headers) if accept else Frame("ERROR", {"message": "bad login"})
        if self.model.state == "DISCONNECTED":
            self.expect_local_error(lambda: self.session.receive(frame))
        elif self.model.state != "CONNECTING":
            if accept:
                with pytest.raises(RemoteProtocolError):
                    self.session.receive(frame)
        elif accept:
            event = self.session.receive(frame)
            assert isinstance(event, Connected) and event.version == self.version
            self.model.state = "CONNECTED"
        else:
            event = self.session.receive(frame)
            assert isinstance(event, Error)
            self.model.state = "DISCONNECTED"
            self.model.end_connection(clean=False)

    @rule(how=st.sampled_from(["connect", "connect+accept", "connect+refuse", "accept", "refuse"]))
    def open_connection(self, how: str) -> None:
        if how.startswith("connect"):
            self.connect()
        if how.endswith("accept"):
            self.broker_answers_connect(accept=True)
        elif how.endswith("refuse"):
            self.broker_answers_connect(accept=False)

    @rule(how=st.sampled_from(["disconnect", "close", "lost"]), asked=RECEIPT_ARGS)
    def end_connection(self, how: str, asked: bool | str | None) -> None:
        if how == "disconnect":
            self.disconnect(asked)
        elif how == "close":
            self.close()
        else:
            self.connection_lost()

    def disconnect(self, asked: bool | str | None) -> None:
        if self.model.state != "CONNECTED" or not self.receipt_usable(asked):
            self.expect_local_error(lambda: self.session.disconnect(receipt=asked))
            return
        frame = self.session.disconnect(receipt=asked)
        self.check_frame(frame)
        self.take_receipt(frame, asked)
        self.model.disconnect_receipt = frame.headers.get("receipt")
        self.model.transactions.clear()
        self.model.claims.clear()  # DISCONNECT aborts: those acknowledgements never apply
        self.model.state = "DISCONNECTING"

    def close(self) -> None:
        if self.model.state not in ("DISCONNECTING", "DISCONNECTED"):
            self.expect_local_error(self.session.close)
            return
        self.session.close()
        self.model.state = "DISCONNECTED"
        self.model.end_connection(clean=True)

    def connection_lost(self) -> None:
        expected_tx = tuple(self.model.transactions)
        expected_receipts = sorted(self.model.receipts)
        expected_unacked = list(self.model.unacked)
        lost = self.session.connection_lost()
        assert lost.transactions == expected_tx
        assert sorted(f.headers["receipt"] for f in lost.receipts) == expected_receipts
        assert [(m.subscription.key if m.subscription else None, m.message_id) for m in lost.unacknowledged] == (
            expected_unacked
        )
        self.model.end_connection(clean=self.model.state == "DISCONNECTING")
        self.model.state = "DISCONNECTED"

    @rule()
    def reconnect_and_replay(self) -> None:
        """The client's recovery path in one step: lose the connection, connect again, resubscribe."""
        self.connection_lost()
        self.connect()
        self.broker_answers_connect(accept=True)
        self.replay()

    @rule()
    def replay(self) -> None:
        if self.model.state != "CONNECTED":
            self.expect_local_error(self.session.replay)
            return
        pending = [s for s in self.model.subscriptions if not s.active]
        if any(s.receipt is not None and s.receipt in self.model.receipts for s in pending):
            self.expect_local_error(self.session.replay)
            return
        frames = self.session.replay()
        assert frames == [s.frame for s in pending]
        for sub in pending:
            sub.active = True
            if sub.receipt is not None:
                self.model.receipts[sub.receipt] = "SUBSCRIBE"

    # client frames

    @rule(destination=DESTINATIONS, id_choice=st.sampled_from(["none", "user"]), user_id=USER_IDS,
          ack=st.sampled_from(["auto", "client", "client-individual"]), asked=RECEIPT_ARGS)  # fmt: skip
    def subscribe(self, destination: str, id_choice: str, user_id: str, ack: str, asked: bool | str | None) -> None:
        sub_id = None if id_choice == "none" else user_id
        key = sub_id if sub_id is not None else (destination if self.version == "1.0" else None)
        legal = (
            self.model.state == "CONNECTED"
            and (key is None or self.model.sub(key) is None)
            and not (ack == "client-individual" and self.version == "1.0")
            and self.receipt_usable(asked)
        )
        if not legal:
            self.expect_local_error(lambda: self.session.subscribe(destination, id=sub_id, ack=ack, receipt=asked))
            return
        frame, sub = self.session.subscribe(destination, id=sub_id, ack=ack, receipt=asked)
        self.check_frame(frame)
        if key is None:  # generated
            key = frame.headers["id"]
            assert key and self.model.sub(key) is None and key != "None"
        assert sub.key == key and sub.frame is frame
        self.take_receipt(frame, asked)
        self.model.subscriptions.append(
            ModelSubscription(key, frame.headers.get("id"), destination, ack, frame, frame.headers.get("receipt"))
        )
        self.model.unsubscribed.discard(key)

    @rule(pick=PICK, known=st.booleans(), asked=RECEIPT_ARGS)
    def unsubscribe(self, pick: int, known: bool, asked: bool | str | None) -> None:
        subs = self.model.subscriptions
        key = subs[pick % len(subs)].key if known and subs else "unknown"
        if self.model.state != "CONNECTED" or self.model.sub(key) is None or not self.receipt_usable(asked):
            self.expect_local_error(lambda: self.session.unsubscribe(key, receipt=asked))
            return
        frame = self.session.unsubscribe(key, receipt=asked)
        self.check_frame(frame)
        self.take_receipt(frame, asked)
        self.model.subscriptions = [s for s in subs if s.key != key]
        self.model.unacked = [u for u in self.model.unacked if u[0] != key]
        for covered in self.model.claims.values():
            covered.difference_update({u for u in covered if u[0] == key})
        self.model.unsubscribed.add(key)

    @rule(destination=DESTINATIONS, tx_choice=st.sampled_from(["none", "open", "unknown"]), pick=PICK,
          asked=RECEIPT_ARGS)  # fmt: skip
    def send(self, destination: str, tx_choice: str, pick: int, asked: bool | str | None) -> None:
        open_ = self.model.transactions
        tx = {"none": None, "unknown": "no-such-tx"}.get(tx_choice, open_[pick % len(open_)] if open_ else "no-such-tx")
        legal = self.model.state == "CONNECTED" and (tx is None or tx in open_) and self.receipt_usable(asked)
        if not legal:
            self.expect_local_error(lambda: self.session.send(destination, b"x", transaction=tx, receipt=asked))
            return
        frame = self.session.send(destination, b"x", transaction=tx, receipt=asked)
        self.check_frame(frame)
        self.take_receipt(frame, asked)

    @rule(choice=st.sampled_from(["generated", "user"]), user_id=USER_IDS, asked=RECEIPT_ARGS)
    def begin(self, choice: str, user_id: str, asked: bool | str | None) -> None:
        tx = None if choice == "generated" else user_id
        legal = (
            self.model.state == "CONNECTED"
            and (tx is None or tx not in self.model.transactions)
            and self.receipt_usable(asked)
        )
        if not legal:
            self.expect_local_error(lambda: self.session.begin(tx, receipt=asked))
            return
        frame = self.session.begin(tx, receipt=asked)
        self.check_frame(frame)
        made = frame.headers["transaction"]
        assert made != "None" and made not in self.model.transactions
        if tx is not None:
            assert made == tx
        self.take_receipt(frame, asked)
        self.model.transactions.append(made)
        self.model.claims[made] = set()

    @rule(commit=st.booleans(), known=st.booleans(), pick=PICK, asked=RECEIPT_ARGS)
    def end_transaction(self, commit: bool, known: bool, pick: int, asked: bool | str | None) -> None:
        open_ = self.model.transactions
        tx = open_[pick % len(open_)] if known and open_ else "no-such-tx"
        call = self.session.commit if commit else self.session.abort
        if self.model.state != "CONNECTED" or tx not in open_ or not self.receipt_usable(asked):
            self.expect_local_error(lambda: call(tx, receipt=asked))
            return
        frame = call(tx, receipt=asked)
        self.check_frame(frame)
        assert frame.command == ("COMMIT" if commit else "ABORT")
        self.take_receipt(frame, asked)
        open_.remove(tx)
        covered = self.model.claims.pop(tx)
        if commit:  # the spec: acknowledgements in a transaction apply at COMMIT, never after ABORT
            self.model.unacked = [u for u in self.model.unacked if u not in covered]

    @rule(pick=PICK, pending_only=st.booleans(), nack=st.booleans(), asked=RECEIPT_ARGS, tx_choice=TX_CHOICES)
    def acknowledge(self, pick: int, pending_only: bool, nack: bool, asked: bool | str | None, tx_choice: str) -> None:
        open_ = self.model.transactions
        tx = {"none": None, "unknown": "no-such-tx"}.get(tx_choice, open_[pick % len(open_)] if open_ else None)
        self.acknowledge_in(pick, pending_only, nack, asked, tx)

    def acknowledge_in(
        self, pick: int, pending_only: bool, nack: bool, asked: bool | str | None, tx: str | None
    ) -> None:
        candidates = [d for d in self.delivered if (d[0], d[1]) in self.model.unacked] if pending_only else []
        candidates = candidates or self.delivered
        if not candidates:
            return
        key, message_id, event = candidates[pick % len(candidates)]
        open_ = self.model.transactions
        call = self.session.nack if nack else self.session.ack
        pending = (key, message_id) in self.model.unacked
        legal = (
            self.model.state == "CONNECTED"
            and pending
            and not self.model.claimed((key, message_id))  # settled at a COMMIT already on its way
            and (tx is None or tx in open_)
            and not (nack and self.version == "1.0")
            and self.receipt_usable(asked)
        )
        if not legal:
            self.expect_local_error(lambda: call(event, transaction=tx, receipt=asked))
            return
        frame = call(event, transaction=tx, receipt=asked)
        self.check_frame(frame)
        assert frame.headers.get("transaction") == tx
        self.take_receipt(frame, asked)
        sub = self.model.sub(key)
        assert sub is not None
        position = self.model.unacked.index((key, message_id))
        if sub.ack == "client":  # cumulative: everything before it on the same subscription goes too
            covered = {u for i, u in enumerate(self.model.unacked) if u[0] == key and i <= position}
        else:
            covered = {(key, message_id)}
        if tx is None:
            self.model.unacked = [u for u in self.model.unacked if u not in covered]
        else:
            self.model.claims[tx] |= covered  # still unacknowledged until COMMIT

    @rule(pick=PICK, count=st.integers(1, 3), nack=st.booleans(), asked=RECEIPT_ARGS, tx_choice=TX_CHOICES)
    def deliver_then_acknowledge(
        self, pick: int, count: int, nack: bool, asked: bool | str | None, tx_choice: str
    ) -> None:
        """A consumer's usual step, so that acknowledgements get exercised as often as the rest."""
        self.broker_delivers(pick=pick, count=count, to="held")
        self.acknowledge(pick=pick, pending_only=True, nack=nack, asked=asked, tx_choice=tx_choice)

    @rule(pick=PICK, count=st.integers(1, 3), nack=st.booleans(), acks=st.integers(1, 3),
          finish=st.sampled_from(["commit", "abort", "leave open"]))  # fmt: skip
    def transacted_acknowledge(self, pick: int, count: int, nack: bool, acks: int, finish: str) -> None:
        """A transactional consumer: BEGIN, ACK or NACK deliveries in it, then COMMIT or ABORT (or not yet)."""
        if self.model.state != "CONNECTED":
            return
        frame = self.session.begin()
        tx = frame.headers["transaction"]
        assert tx not in self.model.transactions
        self.model.transactions.append(tx)
        self.model.claims[tx] = set()
        self.broker_delivers(pick=pick, count=count, to="held")
        for step in range(acks):
            self.acknowledge_in(pick + step, pending_only=True, nack=nack, asked=None, tx=tx)
        if finish != "leave open":
            self.end_transaction(
                commit=finish == "commit", known=True, pick=self.model.transactions.index(tx), asked=None
            )

    # broker frames

    @rule(pick=PICK, count=st.integers(1, 3), to=st.sampled_from(["held", "held", "unsubscribed", "unknown"]))
    def broker_delivers(self, pick: int, count: int, to: str) -> None:
        if self.model.state not in ("CONNECTED", "DISCONNECTING"):
            return
        self.message_count += 1
        message_id = f"m{self.message_count}"
        active = [s for s in self.model.subscriptions if s.active]
        if to == "held" and active:
            sub = active[pick % len(active)]
            for _ in range(count):
                self.message_count += 1
                message_id = f"m{self.message_count}"
                ack = f"ack-{self.message_count}" if self.version == "1.2" and sub.ack != "auto" else None
                event = self.session.receive(message(sub.sub_id, message_id, sub.destination, ack))
                assert isinstance(event, Message)
                expected = sub
                if sub.sub_id is None:  # 1.0 without an id: the first subscription to that destination
                    expected = next(s for s in self.model.subscriptions if s.destination == sub.destination)
                assert event.subscription is not None and event.subscription.key == expected.key
                assert event.needs_ack == (expected.ack != "auto")
                if event.needs_ack:
                    self.model.unacked.append((expected.key, message_id))
                self.delivered.append((expected.key, message_id, event))
        elif to == "unsubscribed" and self.model.unsubscribed:
            gone = sorted(self.model.unsubscribed)[pick % len(self.model.unsubscribed)]
            if self.version == "1.0":
                return  # 1.0 falls back to destinations, which the model does not track for old subscriptions
            event = self.session.receive(message(gone, message_id))
            assert isinstance(event, Message) and event.subscription is None
        elif to == "unknown" and self.version != "1.0":
            with pytest.raises(RemoteProtocolError):
                self.session.receive(message("never-made", message_id))

    @rule(choice=st.sampled_from(["outstanding", "outstanding", "completed", "bogus"]), pick=PICK)
    def broker_receipt(self, choice: str, pick: int) -> None:
        if self.model.state == "DISCONNECTED":
            self.expect_local_error(lambda: self.session.receive(Frame("RECEIPT", {"receipt-id": "any"})))
            return
        outstanding = list(self.model.receipts)
        if choice == "outstanding" and outstanding:
            receipt_id = outstanding[pick % len(outstanding)]
            event = self.session.receive(Frame("RECEIPT", {"receipt-id": receipt_id}))
            assert isinstance(event, Receipt) and event.request.command == self.model.receipts[receipt_id]
            del self.model.receipts[receipt_id]
            self.model.completed.add(receipt_id)
            if receipt_id == self.model.disconnect_receipt:
                self.model.state = "DISCONNECTED"
                self.model.end_connection(clean=True)
        elif choice == "completed" and self.model.completed - set(outstanding):
            receipt_id = sorted(self.model.completed - set(outstanding))[
                pick % len(self.model.completed - set(outstanding))
            ]
            with pytest.raises(RemoteProtocolError, match="second time"):
                self.session.receive(Frame("RECEIPT", {"receipt-id": receipt_id}))
        elif choice == "bogus":
            with pytest.raises(RemoteProtocolError, match="not asked for"):
                self.session.receive(Frame("RECEIPT", {"receipt-id": "never-asked"}))

    @rule()
    def broker_error(self) -> None:
        if self.model.state not in ("CONNECTED", "DISCONNECTING"):
            return
        event = self.session.receive(Frame("ERROR", {"message": "something"}))
        assert isinstance(event, Error) and event.request is None

    @rule()
    def broker_heartbeat(self) -> None:
        assert self.session.receive(HEARTBEAT) is HEARTBEAT  # legal in every state, changes nothing

    # invariants

    @invariant()
    def matches_model(self) -> None:
        session, model = self.session, self.model
        assert session.state.name == model.state
        assert list(session.receipts) == list(model.receipts)
        assert {k: f.command for k, f in session.receipts.items()} == model.receipts
        assert list(session.transactions) == model.transactions
        assert [s.key for s in session.subscriptions] == [s.key for s in model.subscriptions]
        assert [s.frame for s in session.subscriptions] == [s.frame for s in model.subscriptions]
        if model.state != "DISCONNECTED":
            got = [(m.subscription.key if m.subscription else None, m.message_id) for m in session.unacknowledged()]
            assert sorted(got) == sorted(model.unacked)
            for key in {k for k, _ in model.unacked}:
                assert [m.message_id for m in session.unacknowledged(key)] == [i for k, i in model.unacked if k == key]


class SessionMachine10(SessionMachine):
    version = "1.0"


class SessionMachine11(SessionMachine):
    version = "1.1"


class SessionMachine12(SessionMachine):
    version = "1.2"


# A run is up to 50 steps, each a whole example's worth of work elsewhere: a third of the
# profile's examples keeps the dev run to a second or two per version and ci thorough.
_MACHINE_SETTINGS = settings(max_examples=max(30, settings.default.max_examples // 3))
TestSession10 = SessionMachine10.TestCase
TestSession11 = SessionMachine11.TestCase
TestSession12 = SessionMachine12.TestCase
TestSession10.settings = TestSession11.settings = TestSession12.settings = _MACHINE_SETTINGS


# --- against the real brokers ----------------------------------------------------------------------------------

REAL_BROKERS = {
    "RabbitMQ": (61613, "guest", "guest"),
    "ActiveMQ": (61614, "stomptest", "stomptest"),
    "Artemis": (61615, "guest", "guest"),
}


def _open(port: int) -> socket.socket:
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    except OSError as exc:
        reason = f"no broker on 127.0.0.1:{port} ({exc}); start them with scripts/real-brokers.sh start"
        if os.environ.get("STOMPTEST_REAL_BROKERS") == "1":
            pytest.fail(f"STOMPTEST_REAL_BROKERS=1 but {reason}")
        pytest.skip(reason)
    sock.settimeout(10)
    return sock


class _Wire:
    """Just enough I/O to drive a Session by hand: write frames, read events."""

    def __init__(self, sock: socket.socket, session: Session) -> None:
        self.sock, self.session, self.parser = sock, session, Parser(session.version)
        self.events: list[object] = []

    def send(self, frame: Frame) -> None:
        self.sock.sendall(frame.encode(self.session.version))

    def next_event(self) -> object:
        while not self.events:
            data = self.sock.recv(65536)
            assert data, "the broker closed the connection"
            for item in self.parser.feed(data):
                event = self.session.receive(item)
                if isinstance(event, Connected):
                    self.parser.version = event.version
                if event is not HEARTBEAT:
                    self.events.append(event)
        return self.events.pop(0)


@pytest.mark.real
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("broker", sorted(REAL_BROKERS))
def test_session_frames_work_against_the_real_broker(broker: str, version: str) -> None:
    port, login, passcode = REAL_BROKERS[broker]
    sock = _open(port)
    try:
        session = Session(version)
        wire = _Wire(sock, session)
        wire.send(session.connect(host="/" if version != "1.0" else None, login=login, passcode=passcode))
        connected = wire.next_event()
        assert isinstance(connected, Connected) and connected.version == version
        destination = f"/topic/stomptest.session.{uuid.uuid4().hex}"
        mode = "client" if version == "1.0" else "client-individual"
        subscribe, subscription = session.subscribe(destination, id="s-1", ack=mode, receipt=True)
        wire.send(subscribe)
        receipt = wire.next_event()
        assert isinstance(receipt, Receipt) and receipt.request is subscribe
        for n in range(2):
            wire.send(session.send(destination, f"hello {n}"))
        first, second = wire.next_event(), wire.next_event()
        assert isinstance(first, Message) and isinstance(second, Message)
        assert first.subscription == subscription and first.needs_ack and first.body == b"hello 0"
        assert session.unacknowledged() == (first, second)
        # The broker takes our ACK (and NACK) ids: it answers the receipts, not with ERROR.
        settle = session.ack(second if version != "1.0" else first, receipt=True)
        wire.send(settle)
        assert isinstance(wire.next_event(), Receipt)
        if version != "1.0":
            nack = session.nack(first, receipt=True, headers={"requeue": "false"})  # RabbitMQ would redeliver it
            wire.send(nack)
            assert isinstance(wire.next_event(), Receipt)
        assert session.unacknowledged() == ((second,) if version == "1.0" else ())
        tx = session.begin()
        wire.send(tx)
        wire.send(session.send(destination, "in a transaction", transaction=tx.headers["transaction"]))
        wire.send(session.commit(tx.headers["transaction"], receipt=True))
        events = [wire.next_event(), wire.next_event()]
        assert {type(e) for e in events} == {Receipt, Message}
        bye = session.disconnect(receipt=True)
        wire.send(bye)
        while session.state is State.DISCONNECTING:
            wire.next_event()
        assert session.state is State.DISCONNECTED and session.subscriptions == ()
    finally:
        sock.close()
