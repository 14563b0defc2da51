"""The client session's state machine as data: every (state, input) pair that is legal, and its next state.

Two rules, as in h11's `_state.py`: everything that moves the session from one state to
another is in `TRANSITIONS` and nowhere else, and `next_state` is the one place that
turns an illegal pair into an error saying whose fault it is (`ProtocolError` for a call
of ours, `RemoteProtocolError` for a frame of the broker's). Inputs in lower case are our
calls, in upper case what the broker sent; "RECEIPT-DISCONNECT" is the receipt for our
DISCONNECT, "HEARTBEAT" an EOL between frames.
"""

from __future__ import annotations

import enum
from typing import Final

from stomptest.protocol.errors import ProtocolError, RemoteProtocolError


class State(enum.Enum):
    """Where the session is in its life."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTING = "disconnecting"


DISCONNECTED: Final = State.DISCONNECTED
CONNECTING: Final = State.CONNECTING
CONNECTED: Final = State.CONNECTED
DISCONNECTING: Final = State.DISCONNECTING

# Every transition of the session, and nothing else. Inputs in lower case are our
# calls, in upper case what the broker sent; "RECEIPT-DISCONNECT" is the receipt for
# our DISCONNECT, "HEARTBEAT" an EOL between frames. A pair missing here is illegal.
CLIENT_FRAMES: Final = ("send", "subscribe", "unsubscribe", "ack", "nack", "begin", "commit", "abort")
TRANSITIONS: Final[dict[tuple[State, str], State]] = {
    (DISCONNECTED, "connect"): CONNECTING,
    (DISCONNECTED, "close"): DISCONNECTED,
    (DISCONNECTED, "connection_lost"): DISCONNECTED,
    (DISCONNECTED, "HEARTBEAT"): DISCONNECTED,  # EOLs after the last frame (RECEIPT\0\n) arrive after the end
    (CONNECTING, "CONNECTED"): CONNECTED,
    (CONNECTING, "ERROR"): DISCONNECTED,
    (CONNECTING, "HEARTBEAT"): CONNECTING,
    (CONNECTING, "connection_lost"): DISCONNECTED,
    **{(CONNECTED, name): CONNECTED for name in CLIENT_FRAMES},
    (CONNECTED, "replay"): CONNECTED,
    (CONNECTED, "beat"): CONNECTED,
    (CONNECTED, "disconnect"): DISCONNECTING,
    (CONNECTED, "MESSAGE"): CONNECTED,
    (CONNECTED, "RECEIPT"): CONNECTED,
    (CONNECTED, "ERROR"): CONNECTED,  # most brokers keep the connection open after ERROR; the transport says if not
    (CONNECTED, "HEARTBEAT"): CONNECTED,
    (CONNECTED, "connection_lost"): DISCONNECTED,
    (DISCONNECTING, "MESSAGE"): DISCONNECTING,  # already in flight when the broker read DISCONNECT
    (DISCONNECTING, "RECEIPT"): DISCONNECTING,
    (DISCONNECTING, "RECEIPT-DISCONNECT"): DISCONNECTED,
    (DISCONNECTING, "ERROR"): DISCONNECTING,
    (DISCONNECTING, "HEARTBEAT"): DISCONNECTING,
    (DISCONNECTING, "close"): DISCONNECTED,
    (DISCONNECTING, "connection_lost"): DISCONNECTED,
}

HINTS: Final[dict[State, str]] = {
    DISCONNECTED: "call connect() and feed the broker's CONNECTED to receive() first",
    CONNECTING: "wait until receive() has returned Connected",
    CONNECTED: "the session is connected already",
    DISCONNECTING: "DISCONNECT has been sent; close() or wait for its receipt, then connect() again",
}


def next_state(state: State, action: str) -> State:
    """The state after `action` in `state`, or the error saying why it cannot happen now."""
    after = TRANSITIONS.get((state, action))
    if after is not None:
        return after
    if action.isupper():
        raise RemoteProtocolError(f"the broker sent {action.split('-')[0]} while the session is {state.name}")
    raise ProtocolError(f"cannot {action}() while the session is {state.name}: {HINTS[state]}")


__all__ = [
    "CLIENT_FRAMES",
    "CONNECTED",
    "CONNECTING",
    "DISCONNECTED",
    "DISCONNECTING",
    "TRANSITIONS",
    "State",
    "next_state",
]
