"""What the pytest plugin's fixtures hand to tests: broker handles, their logs and assertion helpers.

`FakeBroker` (a `stomptest.broker.Broker` with assertion helpers) and `ExternalBroker`
(the handle under --stomp-url) load on first use, so importing this package stays cheap.
`stomptest.testing.fuzzing` turns fuzz inputs into parser and broker-engine runs with their
safety properties checked (the atheris harnesses in fuzz/ and the hostile tests use it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stomptest.testing.external import ExternalBroker
    from stomptest.testing.fake import FakeBroker
    from stomptest.testing.handle import BrokerHandle
    from stomptest.testing.matching import Delivery, SentMessage
    from stomptest.testing.settings import Settings, Target

_WHERE = {
    "BrokerHandle": "stomptest.testing.handle",
    "ExternalBroker": "stomptest.testing.external",
    "FakeBroker": "stomptest.testing.fake",
    "Delivery": "stomptest.testing.matching",
    "SentMessage": "stomptest.testing.matching",
    "Settings": "stomptest.testing.settings",
    "Target": "stomptest.testing.settings",
}

__all__ = ["BrokerHandle", "Delivery", "ExternalBroker", "FakeBroker", "SentMessage", "Settings", "Target"]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'stomptest.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
