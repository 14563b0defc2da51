"""mypy tells a test that needs the fake broker from one that runs on any broker."""

from __future__ import annotations

from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")

SOURCE = """
from stomptest.testing import BrokerHandle, ExternalBroker, FakeBroker


def anywhere(stomp_broker: BrokerHandle) -> None:
    stomp_broker.assert_sent(stomp_broker.destination("/queue/a"), "x", headers={"k": "v"}, timeout=1)
    stomp_broker.seed("/queue/a", "x", count=2)
    stomp_broker.restart()
    stomp_broker.wait_for_unacked()


def fake_only(stomp_broker: FakeBroker, external: ExternalBroker) -> None:
    anywhere(stomp_broker)
    anywhere(external)
    stomp_broker.restart()
    stomp_broker.wait_for_unacked()
    external.restart()
"""


def test_fake_only_calls_are_type_errors_on_any_broker_and_fine_on_the_fake(tmp_path: Path) -> None:
    path = tmp_path / "test_typed.py"
    path.write_text(SOURCE)
    out, _, status = api.run(["--strict", "--cache-dir", str(tmp_path / "cache"), str(path)])
    errors = sorted(line.split(": error: ")[1] for line in out.splitlines() if ": error: " in line)
    assert errors == [
        '"BrokerHandle" has no attribute "restart"  [attr-defined]',
        '"BrokerHandle" has no attribute "wait_for_unacked"  [attr-defined]',
        '"ExternalBroker" has no attribute "restart"  [attr-defined]',
    ], out
    assert status == 1
