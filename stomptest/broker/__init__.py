"""The fake STOMP broker: an engine driven by frames, broker profiles, a gevent host and a test-side API.

``from stomptest.broker import Broker`` imports no gevent; the host loads when a broker starts.
"""

from __future__ import annotations

import warnings
from typing import Any

from stomptest.broker import snapshot as _snapshot_module
from stomptest.broker.broker import Broker, BrokerFailure, WaitTimeout
from stomptest.broker.connection import Connection
from stomptest.broker.engine import Engine
from stomptest.broker.error_kinds import ERROR_KINDS, ErrorKind
from stomptest.broker.limits import Limits
from stomptest.broker.profiles import PROFILES, Profile, get_profile
from stomptest.broker.snapshot import (
    ConnectionInfo,
    DeliveryInfo,
    DestinationInfo,
    DurableInfo,
    MessageSnapshot,
    Snapshot,
    SubscriptionInfo,
    TranscriptEntry,
)

__all__ = [
    "ERROR_KINDS",
    "PROFILES",
    "Broker",
    "BrokerFailure",
    "Connection",
    "ConnectionInfo",
    "DeliveryInfo",
    "DestinationInfo",
    "DurableInfo",
    "Engine",
    "ErrorKind",
    "Limits",
    "MessageSnapshot",
    "Profile",
    "Snapshot",
    "SubscriptionInfo",
    "TranscriptEntry",
    "WaitTimeout",
    "get_profile",
]

# Old names, importable for one more release: (what it is now, what to write instead).
_RENAMED: dict[str, tuple[Any, str]] = {
    "MessageInfo": (MessageSnapshot, "stomptest.broker.MessageSnapshot"),
    "inspect": (_snapshot_module, "stomptest.broker.snapshot"),
}


def __getattr__(name: str) -> Any:
    if name in _RENAMED:
        value, instead = _RENAMED[name]
        warnings.warn(
            f"stomptest.broker.{name} is renamed {instead}; the old name goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
