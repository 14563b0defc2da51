"""The real brokers the differential tests compare the fake profiles with, found and skipped as the scenarios do."""

from __future__ import annotations

import os

import pytest

from tests.scenarios.conftest import REAL_ENV, _reachable

REAL_BROKERS = {"rabbitmq": 61613, "activemq": 61614, "artemis": 61615}  # profile -> STOMP port on 127.0.0.1


@pytest.fixture(params=[pytest.param(name, marks=pytest.mark.real) for name in REAL_BROKERS])
def real_broker(request: pytest.FixtureRequest) -> tuple[str, int]:
    """(profile, port) of a running real broker; skips with the reason when there is none."""
    profile: str = request.param
    if os.environ.get(REAL_ENV) != "1":
        pytest.skip(f"real-{profile}: differential tests need real brokers; set {REAL_ENV}=1 (as .ci/run does)")
    problem = _reachable(REAL_BROKERS[profile])
    if problem is not None:
        pytest.skip(f"real-{profile}: {problem}")
    return profile, REAL_BROKERS[profile]
