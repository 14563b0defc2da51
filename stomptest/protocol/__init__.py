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
