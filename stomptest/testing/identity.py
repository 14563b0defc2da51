"""Which broker answers at --stomp-url: asked once per session, before the first test.

The plugin connects once at session start and keeps what the CONNECTED frame says: the
`server` header (``RabbitMQ/3.10.8``, ``ActiveMQ/5.17.2``, ``ActiveMQ-Artemis/2.40.0 ...``)
and the version agreed. That gives the pytest header line, the family a test's
``@pytest.mark.stomp_broker(profile=...)`` is compared with, and one clear message when the
URL does not answer, instead of each test failing on its own connect error.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from stomptest.testing.settings import Target

# The marker's arguments a broker that is not ours can honour: none but the profile, when it names this broker.
_HELD_ELSEWHERE = frozenset({"profile"})


@dataclass(frozen=True)
class BrokerIdentity:
    """What a broker said about itself in its CONNECTED frame."""

    server: str  # the `server` header; "" when the broker sent none (STOMP 1.0 brokers may not)
    version: str  # the STOMP version agreed

    @property
    def family(self) -> str | None:
        """The profile modelling this broker (activemq, artemis, rabbitmq, strict for stomptest's own), or None."""
        name = self.server.lower()
        if name.startswith("rabbitmq"):
            return "rabbitmq"
        if "artemis" in name:
            return "artemis"
        if name.startswith("activemq"):
            return "activemq"
        if name.startswith("stomptest"):
            return "strict"
        return None

    @property
    def shown(self) -> str:
        if not self.version:
            return "a broker not identified (its TLS certificate is trusted only by the tests' context)"
        return f"{self.server or 'a broker without a server header'} (STOMP {self.version})"


def identify(target: Target, versions: Sequence[str], ssl_context: ssl.SSLContext | None = None) -> BrokerIdentity:
    """Connect once and read the CONNECTED frame; OSError or StompError (BrokerError for a refusal) when it fails."""
    from stomptest.testing.external import _Line

    vhost = target.vhost if target.vhost is not None else "/"
    line = _Line(target, versions, vhost, ssl_context)
    try:
        headers = line.connected.headers
        return BrokerIdentity(headers.get("server", ""), headers.get("version", "1.0"))
    finally:
        line.close()


def marker_call(args: Sequence[Any], kwargs: Mapping[str, Any]) -> str:
    """The marker as the test wrote it, for messages (users' passcodes left out)."""
    parts = [repr(a) for a in args]
    parts += [f"{name}=..." if name == "users" else f"{name}={value!r}" for name, value in kwargs.items()]
    return f"@pytest.mark.stomp_broker({', '.join(parts)})"


def cannot_hold(args: Sequence[Any], kwargs: Mapping[str, Any], identity: BrokerIdentity, shown: str) -> str | None:
    """Why the marker's settings cannot hold on the external broker (a skip reason), or None when they can.

    A profile holds when it names the family of the broker that answered. Users, limits and
    anything else configure the fake broker; a broker of one's own has its own and is not asked.
    """
    call = marker_call(args, kwargs)
    profile = args[0] if args else kwargs.get("profile")
    where = f"--stomp-url {shown} is {identity.shown}"
    if profile is not None and profile != identity.family:
        return f"{call} needs {'an' if str(profile)[:1] in 'aeiou' else 'a'} {profile} broker; {where}"
    others = sorted(set(kwargs) - _HELD_ELSEWHERE)
    if others:
        what = "is a setting" if len(others) == 1 else "are settings"
        return f"{call}: {', '.join(others)} {what} of the fake broker, which an external one cannot take; {where}"
    return None
