"""Facts of the STOMP 1.0, 1.1 and 1.2 specifications, kept as data.

Everything version-dependent that the codec, the commands and the broker look up lives
here, so a rule is stated once.
"""

from __future__ import annotations

from typing import Final, Literal

from stomptest.protocol.errors import ConfigurationError

Version = Literal["1.0", "1.1", "1.2"]
VERSIONS: Final[tuple[Version, ...]] = ("1.0", "1.1", "1.2")

CLIENT_COMMANDS: Final = frozenset(
    {
        "CONNECT",
        "STOMP",
        "SEND",
        "SUBSCRIBE",
        "UNSUBSCRIBE",
        "ACK",
        "NACK",
        "BEGIN",
        "COMMIT",
        "ABORT",
        "DISCONNECT",
    }
)
SERVER_COMMANDS: Final = frozenset({"CONNECTED", "MESSAGE", "RECEIPT", "ERROR"})
COMMANDS: Final = CLIENT_COMMANDS | SERVER_COMMANDS

# Commands that only exist from 1.1 on.
COMMANDS_SINCE_1_1: Final = frozenset({"STOMP", "NACK"})

# 1.1+: only these may carry a body (1.0 says nothing, so any frame may).
BODY_COMMANDS: Final = frozenset({"SEND", "MESSAGE", "ERROR"})

# 1.1+: these are never escaped, for 1.0 compatibility. STOMP is CONNECT by another
# name, so it follows the same rule.
UNESCAPED_COMMANDS: Final = frozenset({"CONNECT", "STOMP", "CONNECTED"})

# Escape sequences: the character after the backslash -> the decoded character.
UNESCAPES: Final[dict[str, dict[str, str]]] = {
    "1.0": {},
    "1.1": {"n": "\n", "c": ":", "\\": "\\"},
    "1.2": {"n": "\n", "c": ":", "\\": "\\", "r": "\r"},
}
ESCAPES: Final[dict[str, dict[int, str]]] = {
    version: {ord(decoded): "\\" + code for code, decoded in table.items()} for version, table in UNESCAPES.items()
}

# Headers each frame must carry, per version (1.0 L73-160; 1.1 and 1.2 "Client Frames" and
# "Server Frames"). 1.0's UNSUBSCRIBE takes `destination` or `id`; `destination` is listed.
_REQUIRED_1_1: Final[dict[str, tuple[str, ...]]] = {
    "CONNECT": ("accept-version", "host"),
    "STOMP": ("accept-version", "host"),
    "CONNECTED": ("version",),
    "SEND": ("destination",),
    "SUBSCRIBE": ("destination", "id"),
    "UNSUBSCRIBE": ("id",),
    "ACK": ("message-id", "subscription"),
    "NACK": ("message-id", "subscription"),
    "BEGIN": ("transaction",),
    "COMMIT": ("transaction",),
    "ABORT": ("transaction",),
    "DISCONNECT": (),
    "MESSAGE": ("destination", "message-id", "subscription"),
    "RECEIPT": ("receipt-id",),
    "ERROR": (),
}
REQUIRED_HEADERS: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "1.0": {
        "CONNECT": (),
        "CONNECTED": (),
        "SEND": ("destination",),
        "SUBSCRIBE": ("destination",),
        "UNSUBSCRIBE": ("destination",),
        "ACK": ("message-id",),
        "BEGIN": ("transaction",),
        "COMMIT": ("transaction",),
        "ABORT": ("transaction",),
        "DISCONNECT": (),
        "MESSAGE": ("destination", "message-id"),
        "RECEIPT": ("receipt-id",),
        "ERROR": (),
    },
    "1.1": _REQUIRED_1_1,
    "1.2": {**_REQUIRED_1_1, "ACK": ("id",), "NACK": ("id",)},
}

DEFAULT_MAX_FRAME_BYTES: Final = 100 * 1024 * 1024  # ActiveMQ and RabbitMQ's body cap
DEFAULT_MAX_HEADERS: Final = 1000  # ActiveMQ
DEFAULT_MAX_HEADER_BYTES: Final = 100 * 1024  # RabbitMQ's header cap


def check_version(version: str) -> Version:
    """Return `version` as a `Version`, or say which ones exist."""
    if version not in VERSIONS:
        raise ConfigurationError(f"unknown STOMP version {version!r}: use one of {', '.join(VERSIONS)}")
    return version
