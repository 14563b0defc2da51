"""The list of checks, filled by the `check` decorator as the check modules load."""

from __future__ import annotations

from collections.abc import Callable

from stomptest.conformance.model import Check, CheckFunction
from stomptest.protocol.spec import VERSIONS

CHECKS: list[Check] = []

AREAS = (
    "framing",
    "headers",
    "connect",
    "heart-beat",
    "messaging",
    "ack",
    "transactions",
    "receipts",
    "errors",
    "websocket",
)


def check(
    name: str, title: str, *, versions: tuple[str, ...] = VERSIONS, area: str = ""
) -> Callable[[CheckFunction], CheckFunction]:
    """Register a check under a unique name; `versions` lists where it applies (n/a elsewhere)."""

    def register(function: CheckFunction) -> CheckFunction:
        if any(existing.name == name for existing in CHECKS):
            raise ValueError(f"two conformance checks are named {name!r}")
        CHECKS.append(Check(name, title, function, versions, area or str(function.__globals__.get("AREA", ""))))
        return function

    return register
