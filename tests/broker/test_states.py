"""The broker connection's state table (stomptest/broker/states.py), walked pair by pair.

Every (state, input) pair is driven through a real `Connection` under every profile, and
what happened is checked against what the table says: the handler ran (no ERROR), the
named ERROR was sent, a heart-beat was noted, or nothing at all; and the state after it
is the table's, or "closing" where the profile closes on that ERROR.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from stomptest.broker.connection import _HANDLERS, Connection
from stomptest.broker.engine import Engine
from stomptest.broker.error_kinds import ERROR_KINDS
from stomptest.broker.profiles import PROFILES
from stomptest.broker.states import INPUTS, STATES, TRANSITIONS
from stomptest.protocol import Frame, Heartbeat, Parser, spec

NOW = 1000.0
Handler = Callable[[Connection, Frame], None]
NOT_ERRORS = {"handle", "record", "connect-timeout", "heart-beats", "close", "clean-up", "ignore"}


def test_the_table_has_one_entry_for_every_state_and_input() -> None:
    assert set(TRANSITIONS) == {(state, item) for state in STATES for item in INPUTS}
    for handling, after in TRANSITIONS.values():
        assert handling in NOT_ERRORS or handling in ERROR_KINDS
        assert after in STATES


def test_only_commands_a_client_may_send_have_handlers_and_each_is_found_by_its_name() -> None:
    assert set(_HANDLERS) == spec.CLIENT_COMMANDS
    for command, handler in _HANDLERS.items():
        assert handler.__name__ == "on_" + command.lower() or command == "STOMP"


class Setup:
    """A connection brought to `state`, with a subscription, an unacknowledged message and a transaction."""

    def __init__(self, profile: str, state: str) -> None:
        self.profile = PROFILES[profile]
        self.engine = Engine(self.profile, seed=0)
        self.connection: Connection = Connection(self.engine, "test:1", NOW)
        self.ack = ""
        if state != "new":
            self.feed(Frame("CONNECT", {"accept-version": "1.2", "host": "/", "heart-beat": "0,1000"}))
            assert self.connection.state == "connected", self.take()
            self.feed(Frame("SUBSCRIBE", {"destination": "/queue/q", "id": "s", "ack": "client-individual"}))
            self.engine.seed("/queue/q", b"m", (), NOW)
            self.feed(Frame("BEGIN", {"transaction": "t"}))
            [message] = [f for f in self.take() if isinstance(f, Frame) and f.command == "MESSAGE"]
            self.ack = message.headers["ack"]
        if state in ("closing", "closed"):
            self.connection.close("test")
        if state == "closed":
            self.connection.connection_lost(NOW)
        self.take()
        assert self.connection.state == state

    def feed(self, frame: Frame) -> None:
        self.connection.receive_data(frame.encode("1.2"), NOW)

    def take(self) -> list[Frame | Heartbeat]:
        return Parser("1.2").feed(self.connection.data_to_send())

    def frame_for(self, command: str) -> Frame:
        """A frame that `command`'s handler takes without complaint in this setup."""
        headers = {
            "CONNECT": {"accept-version": "1.2", "host": "/"},
            "STOMP": {"accept-version": "1.2", "host": "/"},
            "SEND": {"destination": "/queue/other"},
            "SUBSCRIBE": {"destination": "/queue/other", "id": "s2"},
            "UNSUBSCRIBE": {"id": "s"},
            "ACK": {"id": self.ack},
            "NACK": {"id": self.ack},
            "BEGIN": {"transaction": "t2"},
            "COMMIT": {"transaction": "t"},
            "ABORT": {"transaction": "t"},
            "DISCONNECT": {},
            "CONNECTED": {"version": "1.2"},
            "MESSAGE": {"destination": "/queue/q", "message-id": "m", "subscription": "s"},
            "RECEIPT": {"receipt-id": "r"},
            "ERROR": {},
        }[command]
        return Frame(command, headers)

    def apply(self, item: str) -> None:
        connection = self.connection
        if item == "HEARTBEAT":
            connection.receive_data(b"\n", NOW)
        elif item == "tick":
            deadline = connection.next_deadline()
            connection.tick(deadline if deadline is not None else NOW + 1)
        elif item == "close":
            connection.close("closed by the test")
        elif item == "connection_lost":
            connection.connection_lost(NOW)
        else:
            self.feed(self.frame_for(item))


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize(("state", "item"), sorted(TRANSITIONS))
def test_each_state_and_input_does_what_the_table_says(
    monkeypatch: pytest.MonkeyPatch, profile: str, state: str, item: str
) -> None:
    setup = Setup(profile, state)
    handled: list[str] = []
    for command, handler in list(_HANDLERS.items()):

        def recording(connection: Connection, frame: Frame, handler: Handler = handler) -> None:
            handled.append(frame.command)
            handler(connection, frame)

        monkeypatch.setitem(_HANDLERS, command, recording)
    connection = setup.connection
    handling, after = TRANSITIONS[state, item]  # type: ignore[index]
    reason_before = connection.close_reason
    transcript_before = len(connection.transcript)
    if handling == "connect-timeout":  # before the deadline nothing changes; at it, the connection closes
        deadline = connection.next_deadline()
        assert deadline is not None
        connection.tick(deadline - 0.5)
        assert connection.state == after
        connection.tick(deadline)
        assert connection.state == "closing"
        assert connection.close_reason is not None and "CONNECT" in connection.close_reason
        return
    setup.apply(item)
    sent = setup.take()
    errors = [f for f in sent if isinstance(f, Frame) and f.command == "ERROR"]
    profile = setup.profile
    if handling == "already-connected" and profile.second_connect == "connected":  # Artemis: CONNECTED again
        assert not errors, errors
        assert [f.command for f in sent if isinstance(f, Frame)] == ["CONNECTED"]  # connecting.out_of_turn
        assert connection.state == after
        return
    if handling == "already-connected" and profile.second_connect == "close":  # RabbitMQ: closed, no frame
        assert sent == [] and handled == []
        assert connection.state == "closing"
        return
    if handling == "not-connected" and profile.frame_before_connect == "ignore-all":  # Artemis: deaf from now on
        assert sent == [] and handled == []
        assert connection.state == after and connection.next_deadline() is None
        setup.feed(setup.frame_for("CONNECT"))
        assert setup.take() == [] and handled == []
        return
    if handling in ERROR_KINDS:
        assert len(errors) == 1, sent
        assert handled == []
        closes = handling in profile.closing_errors or connection.version in profile.every_error_closes_in
        assert connection.state == ("closing" if closes else after)
        return
    assert not errors, errors
    assert connection.state == after
    assert handled == ([item] if handling == "handle" else [])
    if handling == "ignore":
        assert sent == []
        assert connection.close_reason == reason_before
    elif handling == "record":
        assert len(connection.transcript) == transcript_before + 1
        assert isinstance(connection.transcript[-1][2], Heartbeat)
    elif handling == "heart-beats":
        assert not [f for f in sent if isinstance(f, Frame)], sent  # at most the beat the client asked for
    elif handling == "close":
        assert connection.close_reason is not None
        assert not connection.subscriptions and not connection.transactions
    elif handling == "clean-up":
        assert connection.id not in setup.engine.connections
    if item == "connection_lost":
        assert connection.id not in setup.engine.connections
