"""The sans-IO core: bytes in, frames out; frames in, bytes out. No sockets, threads or clocks.

The codec loads with the package; the layers above it (commands, heart-beat arithmetic,
the session) load on first use, so that `import stomptest` stays cheap for the pytest
plugin, which is imported in every pytest run where stomptest is installed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from stomptest.protocol import commands, heartbeat
    from stomptest.protocol.commands import ConnectedInfo, MessageInfo
    from stomptest.protocol.connection import ClientConnection
    from stomptest.protocol.events import Connected, Error, Lost, Message, Receipt, Subscription
    from stomptest.protocol.heartbeat import HeartbeatIntervals
    from stomptest.protocol.session import Session
    from stomptest.protocol.state import State

# name -> the module that defines it, for the layers loaded on first use
_LAZY = {
    "commands": "stomptest.protocol.commands",
    "heartbeat": "stomptest.protocol.heartbeat",
    "ConnectedInfo": "stomptest.protocol.commands",
    "MessageInfo": "stomptest.protocol.commands",
    "HeartbeatIntervals": "stomptest.protocol.heartbeat",
    "ClientConnection": "stomptest.protocol.connection",
    **dict.fromkeys(("Connected", "Error", "Lost", "Message", "Receipt", "Subscription"), "stomptest.protocol.events"),
    "Session": "stomptest.protocol.session",
    "State": "stomptest.protocol.state",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'stomptest.protocol' has no attribute {name!r}")
    module = importlib.import_module(module_name)
    value = module if module_name.rsplit(".", 1)[1] == name else getattr(module, name)
    globals()[name] = value
    return value


__all__ = [
    "HEARTBEAT",
    "VERSIONS",
    "BrokerError",
    "ClientConnection",
    "ConfigurationError",
    "ConnectTimeout",
    "Connected",
    "ConnectedInfo",
    "ConnectionLost",
    "Error",
    "Frame",
    "FrameError",
    "Heartbeat",
    "HeartbeatIntervals",
    "Lost",
    "Message",
    "MessageInfo",
    "Parser",
    "ProtocolError",
    "Receipt",
    "RemoteProtocolError",
    "Session",
    "State",
    "StompError",
    "Subscription",
    "Version",
    "commands",
    "heartbeat",
]
