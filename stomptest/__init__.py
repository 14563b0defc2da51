"""stomptest: a STOMP 1.0-1.2 toolkit for code that talks to ActiveMQ, Artemis or RabbitMQ.

Importing this package is cheap and starts nothing: the fake broker, the clients and
gevent load only when used.
"""

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
from stomptest.protocol.frame import Frame, Heartbeat

__version__ = "0.1.0"

__all__ = [
    "BrokerError",
    "ConfigurationError",
    "ConnectTimeout",
    "ConnectionLost",
    "Frame",
    "FrameError",
    "Heartbeat",
    "ProtocolError",
    "RemoteProtocolError",
    "StompError",
    "__version__",
]
