"""The sans-IO core: bytes in, frames out; frames in, bytes out. No sockets, threads or clocks."""

from stomptest.protocol.errors import (
    BrokerError,
    ConfigurationError,
    ConnectionLost,
    ConnectTimeout,
    FrameError,
    ProtocolError,
    RemoteProtocolError,
    StompError,
)
from stomptest.protocol.frame import HEARTBEAT, Frame, Heartbeat
from stomptest.protocol.parser import Parser
from stomptest.protocol.spec import VERSIONS, Version

__all__ = [
    "HEARTBEAT",
    "VERSIONS",
    "BrokerError",
    "ConfigurationError",
    "ConnectTimeout",
    "ConnectionLost",
    "Frame",
    "FrameError",
    "Heartbeat",
    "Parser",
    "ProtocolError",
    "RemoteProtocolError",
    "StompError",
    "Version",
]

# The layers above the codec: stateless commands, heart-beat arithmetic, the client session.
from stomptest.protocol import commands, heartbeat
from stomptest.protocol.commands import ConnectedInfo, MessageInfo
from stomptest.protocol.heartbeat import HeartbeatIntervals
from stomptest.protocol.session import (
    Connected,
    Error,
    Lost,
    Message,
    Receipt,
    Session,
    State,
    Subscription,
)

__all__ += [
    "Connected",
    "ConnectedInfo",
    "Error",
    "HeartbeatIntervals",
    "Lost",
    "Message",
    "MessageInfo",
    "Receipt",
    "Session",
    "State",
    "Subscription",
    "commands",
    "heartbeat",
]
