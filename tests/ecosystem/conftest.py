"""Targets for the ecosystem tests: the fake broker in every profile, and the real WebSocket brokers.

One fake broker per profile serves the whole module (each step uses fresh destinations); the real
targets (RabbitMQ's web-stomp, Artemis' acceptor) join when STOMPTEST_REAL_BROKERS=1, each beside
the profile that models it. Missing tools skip with the reason and the command that installs them.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stomptest.broker import Broker

NODE_DIR = Path(__file__).parent / "node"
INSTALL = "run scripts/ecosystem.sh (as root: chromium from apt, npm ci in tests/ecosystem/node)"
PROFILES = ("strict", "activemq", "rabbitmq", "artemis")


@dataclass(frozen=True)
class Real:
    """A real broker's WebSocket endpoint and the profile that models it."""

    name: str
    profile: str
    port: int
    path: str = "/ws"

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}{self.path}"


# ActiveMQ Classic 5.18.3's WebSocket transport (scripts/real-brokers.sh on main starts it: Debian's 5.17 lacks it)
REALS = (
    Real("real-rabbitmq", "rabbitmq", 15674),
    Real("real-activemq", "activemq", 61623, "/"),
    Real("real-artemis", "artemis", 61615),
)


def real_skip_reason(real: Real) -> str | None:
    """Why a real target cannot run here, or None."""
    if os.environ.get("STOMPTEST_REAL_BROKERS") != "1":
        return "real brokers are off: set STOMPTEST_REAL_BROKERS=1 after scripts/real-brokers.sh start"
    try:
        socket.create_connection(("127.0.0.1", real.port), timeout=2).close()
    except OSError as exc:
        return f"{real.name} does not answer on 127.0.0.1:{real.port} ({exc}): scripts/real-brokers.sh start"
    return None


def node_skip_reason() -> str | None:
    if shutil.which("node") is None:
        return f"node is not installed: {INSTALL}"
    if (
        not (NODE_DIR / "node_modules" / "@stomp" / "stompjs").is_dir()
        or not (NODE_DIR / "node_modules" / "ws").is_dir()
    ):
        return f"the npm packages are not installed: {INSTALL}"
    return None


@pytest.fixture(scope="package")
def targets() -> Iterator[list[dict[str, str]]]:
    """[{"name", "url", "profile"}]: the four fake brokers, then the real brokers that can run."""
    with (
        Broker(profile="strict") as strict,
        Broker(profile="activemq") as activemq,
        Broker(profile="rabbitmq") as rabbitmq,
        Broker(profile="artemis") as artemis,
    ):
        fakes = {"strict": strict, "activemq": activemq, "rabbitmq": rabbitmq, "artemis": artemis}
        found = [{"name": f"fake-{p}", "url": b.ws_url, "profile": p} for p, b in fakes.items()]
        found += [{"name": r.name, "url": r.url, "profile": r.profile} for r in REALS if real_skip_reason(r) is None]
        yield found
        for broker in fakes.values():
            broker.check()  # no internal error in any profile
