"""The states of a broker connection, and what each input does in each: one table.

The broker's side of what protocol/session.py is for the client: connection.py reads
this table for every frame it handles and for every change of its state, and
tests/broker/test_states.py drives each (state, input) pair through a real connection.
"""

from __future__ import annotations

from typing import Final, Literal

from stomptest.broker.error_kinds import ErrorKind
from stomptest.protocol import spec

State = Literal["new", "connected", "closing", "closed"]
STATES: Final[tuple[State, ...]] = ("new", "connected", "closing", "closed")

# The states of a connection and what each input does in each, as in protocol/session.py.
# Two rules: every change of `Connection.state` is read from this table (`TRANSITIONS`)
# and made nowhere else, and the table does not know profiles: the profile only decides
# the text of an ERROR named here and whether that ERROR closes (`Profile.closing_errors`;
# a closing ERROR is the input "close"), and, for "not-connected" and "already-connected",
# whether the broker answers otherwise (connecting.out_of_turn: Artemis).
# Inputs in capitals are frames from the client (any command the parser knows; HEARTBEAT
# is an EOL between frames); in lower case, what the host or the connection itself does:
# "tick" (a deadline came), "close" (DISCONNECT, a closing ERROR, a timeout, the test's
# drop), "connection_lost" (the socket is gone). Each pair gives (what happens, the state
# after it when nothing closes the connection). What happens is one of:
#   handle           the command's handler in connection.py's _HANDLERS (after its required headers)
#   an error kind    that ERROR (profiles.ErrorKind)
#   record           a heart-beat, noted in the transcript (1.1 and 1.2 only)
#   connect-timeout  close if no CONNECT came within the profile's connect_timeout
#   heart-beats      send a beat when due, close a silent client, end timed holds
#   close            return the messages, abort the transactions, drop subscriptions
#   clean-up         forget the output and leave the engine (after "close" if not done)
#   ignore           nothing
# A command the parser does not know never becomes a frame: reading.py answers it with the
# ERROR this table gives a server's command (not-connected before CONNECT, unknown-command after).
_AFTER_CONNECT: Final = tuple(sorted(spec.CLIENT_COMMANDS - {"CONNECT", "STOMP"}))
_FROM_SERVERS: Final = tuple(sorted(spec.SERVER_COMMANDS))
Handling = Literal["handle", "record", "connect-timeout", "heart-beats", "close", "clean-up", "ignore"] | ErrorKind
TRANSITIONS: Final[dict[tuple[State, str], tuple[Handling, State]]] = {
    ("new", "CONNECT"): ("handle", "connected"),  # a refused CONNECT stays "new" unless its ERROR closes
    ("new", "STOMP"): ("handle", "connected"),
    **{("new", command): ("not-connected", "new") for command in _AFTER_CONNECT + _FROM_SERVERS},
    ("new", "HEARTBEAT"): ("ignore", "new"),
    ("new", "tick"): ("connect-timeout", "new"),
    ("new", "close"): ("close", "closing"),
    ("new", "connection_lost"): ("close", "closed"),
    ("connected", "CONNECT"): ("already-connected", "connected"),
    ("connected", "STOMP"): ("already-connected", "connected"),
    **{("connected", command): ("handle", "connected") for command in _AFTER_CONNECT},
    ("connected", "DISCONNECT"): ("handle", "closing"),  # by way of "close"
    **{("connected", command): ("unknown-command", "connected") for command in _FROM_SERVERS},
    ("connected", "HEARTBEAT"): ("record", "connected"),
    ("connected", "tick"): ("heart-beats", "connected"),
    ("connected", "close"): ("close", "closing"),
    ("connected", "connection_lost"): ("close", "closed"),
    **{
        (state, item): ("ignore", state)
        for state in ("closing", "closed")
        for item in (*spec.COMMANDS, "HEARTBEAT", "tick", "close")
    },
    ("closing", "connection_lost"): ("clean-up", "closed"),
    ("closed", "connection_lost"): ("clean-up", "closed"),
}
INPUTS: Final = (*sorted(spec.COMMANDS), "HEARTBEAT", "tick", "close", "connection_lost")
READING: Final = frozenset(state for state in STATES if TRANSITIONS[state, "SEND"][0] != "ignore")
