"""Every conformance check, in the order reports list them."""

from stomptest.conformance.checks import (  # noqa: F401  (importing registers the checks)
    acks,
    connecting,
    errors_receipts,
    framing,
    headers,
    heartbeats,
    messaging,
    transactions,
    websocket,
)
from stomptest.conformance.checks._registry import CHECKS, check

__all__ = ["CHECKS", "check"]
