"""`BrokerHandle`: what a test may call on any broker, fake or external; the type to annotate with.

``def test_x(stomp_broker: BrokerHandle)`` runs anywhere, and mypy refuses a fake-only call in
it (``stomp_broker.restart()``, ``wait_for_unacked()``, ``snapshot()``...). A test that needs
them annotates ``stomp_broker: FakeBroker`` and carries ``@pytest.mark.stomp_fake_only``, so
under --stomp-url it is skipped instead of failing. `FakeBroker` and `ExternalBroker` both
satisfy this protocol (tests/plugin/test_typing.py checks it with mypy).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from stomptest.testing.matching import BodyArg, SentMessage


class BrokerHandle(Protocol):
    """The broker of a test as the fixtures give it: where it is, how to log in, helpers that work over STOMP."""

    @property
    def url(self) -> str: ...
    @property
    def address(self) -> tuple[str, int]: ...
    @property
    def port(self) -> int: ...
    @property
    def login(self) -> str | None: ...
    @property
    def passcode(self) -> str | None: ...
    @property
    def vhost(self) -> str: ...

    def destination(self, name: str) -> str:
        """`name` for this test alone (the same name on a fake broker, suffixed on an external one)."""
        ...

    def check(self) -> None: ...
    def clear(self) -> None: ...

    def seed(
        self, destination: str, body: bytes | str = b"", headers: Mapping[str, str] | None = None, count: int = 1
    ) -> list[str]: ...

    def assert_sent(
        self,
        destination: str,
        body: BodyArg = None,
        headers: Mapping[str, str] | None = None,
        *,
        count: int | None = None,
        timeout: float = ...,
    ) -> list[SentMessage]: ...

    def assert_nothing_sent(self, destination: str | None = None, *, within: float = 0.1) -> None: ...
