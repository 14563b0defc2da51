"""The fake STOMP broker: an engine driven by frames, broker profiles, a gevent host and a test-side API.

``from stomptest.broker import Broker`` imports no gevent; the host loads when a broker starts.
"""

from stomptest.broker.broker import Broker, BrokerFailure, WaitTimeout
from stomptest.broker.connection import Connection
from stomptest.broker.engine import Engine
from stomptest.broker.inspect import (
    ConnectionInfo,
    DeliveryInfo,
    DestinationInfo,
    MessageInfo,
    Snapshot,
    SubscriptionInfo,
    TranscriptEntry,
)
from stomptest.broker.profiles import ERROR_KINDS, PROFILES, ErrorKind, Limits, Profile, get_profile

__all__ = [
    "ERROR_KINDS",
    "PROFILES",
    "Broker",
    "BrokerFailure",
    "Connection",
    "ConnectionInfo",
    "DeliveryInfo",
    "DestinationInfo",
    "Engine",
    "ErrorKind",
    "Limits",
    "MessageInfo",
    "Profile",
    "Snapshot",
    "SubscriptionInfo",
    "TranscriptEntry",
    "WaitTimeout",
    "get_profile",
]
