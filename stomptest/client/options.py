"""The options both clients take, checked once: versions, CONNECT headers, timeouts, heart-beats, bounds."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stomptest.client import transport
from stomptest.client.failover import FailoverUri
from stomptest.protocol import heartbeat as _heartbeat
from stomptest.protocol.connection import DEFAULT_MAX_UNCONSUMED, ClientConnection, check_max_unconsumed
from stomptest.protocol.connection import calls_answered_by as calls_answered_by  # moved; the old name stays
from stomptest.protocol.errors import ConfigurationError, ConnectionLost, ProtocolError, StompError
from stomptest.protocol.events import Lost, Message
from stomptest.protocol.frame import HeadersArg
from stomptest.protocol.session import Session
from stomptest.protocol.spec import VERSIONS


@dataclass(frozen=True)
class ClientOptions:
    """What `Client` and `AsyncClient` were configured with (see docs/client.md for each)."""

    uri: FailoverUri
    highest: str
    versions: tuple[str, ...] | None
    connect: dict[str, Any]
    """Keyword arguments for `Session.connect()`."""
    ssl_context: ssl.SSLContext | None
    connect_timeout: float
    receipt_timeout: float
    heartbeat_grace: float
    max_unconsumed: int = DEFAULT_MAX_UNCONSUMED

    def new_session(self) -> Session:
        return Session(self.highest, versions=self.versions)

    def new_connection(self) -> ClientConnection:
        """The sans-IO connection a client shell drives: a new session, the CONNECT options, the bounds."""
        return ClientConnection(
            self.new_session(),
            self.connect,
            heartbeat_grace=self.heartbeat_grace,
            max_unconsumed=self.max_unconsumed,
        )


def client_options(
    url: str | FailoverUri,
    *,
    version: str | Sequence[str],
    login: str | None,
    passcode: str | None,
    host: str | None,
    heartbeat: tuple[int, int],
    headers: HeadersArg,
    ssl_context: ssl.SSLContext | None,
    connect_timeout: float,
    receipt_timeout: float,
    heartbeat_grace: float,
    max_unconsumed: int = DEFAULT_MAX_UNCONSUMED,
) -> ClientOptions:
    uri = transport.parse_url(url)
    highest, versions = offered_versions(version)
    if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
        raise ConfigurationError(f"ssl_context must be an ssl.SSLContext, not {type(ssl_context).__name__}")
    if isinstance(heartbeat_grace, bool) or not isinstance(heartbeat_grace, (int, float)) or heartbeat_grace < 1:
        raise ConfigurationError(f"heartbeat_grace must be a number >= 1, not {heartbeat_grace!r}")
    beats = _heartbeat.check(heartbeat)
    connect = {
        "host": host,
        # credentials written in the URL stand in for the arguments not given
        "login": login if login is not None else uri.url.login,
        "passcode": passcode if passcode is not None else uri.url.passcode,
        # 1.0 has no heart-beat header; a 1.1+ CONNECT always says what we want, 0,0 included
        "heartbeat": None if highest == "1.0" else beats,
        "headers": headers,
    }
    return ClientOptions(
        uri=uri,
        highest=highest,
        versions=tuple(versions) if versions is not None else None,
        connect=connect,
        ssl_context=ssl_context,
        connect_timeout=_seconds("connect_timeout", connect_timeout),
        receipt_timeout=_seconds("receipt_timeout", receipt_timeout),
        heartbeat_grace=float(heartbeat_grace),
        max_unconsumed=check_max_unconsumed(max_unconsumed),
    )


def offered_versions(version: str | Sequence[str]) -> tuple[str, list[str] | None]:
    """(highest, versions) for `Session` from the `version=` option: one version, or a list to offer."""
    if isinstance(version, str):
        if version not in VERSIONS:
            raise ConfigurationError(f"unknown STOMP version {version!r}: use one of {', '.join(VERSIONS)}")
        return version, None
    versions = list(version)
    if not versions or not all(isinstance(v, str) for v in versions):
        raise ConfigurationError(f"version= is a version string or a non-empty list of them, not {version!r}")
    bad = [v for v in versions if v not in VERSIONS]
    if bad:
        raise ConfigurationError(f"unknown STOMP version(s) {bad}: use {', '.join(VERSIONS)}")
    return max(versions, key=VERSIONS.index), versions


def check_wait(name: str, value: float | None) -> float | None:
    """A user's timeout argument: None (wait forever) or a number >= 0."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigurationError(f"{name} must be None or a number of seconds >= 0, not {value!r}")
    return float(value)


def _seconds(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigurationError(f"{name} must be a number of seconds > 0, not {value!r}")
    return float(value)


def stale_ack_error(lost: Lost | None, message: Message, action: str, error: ProtocolError) -> StompError:
    """`ConnectionLost` when `message` died with a lost connection, else the session's own error."""
    if lost is not None and any(m is message for m in lost.unacknowledged):
        return ConnectionLost(
            f"cannot {action}() message {message.message_id!r}: it was delivered on a connection that was lost, "
            "so the broker redelivers it; acknowledge the redelivery"
        )
    return error
