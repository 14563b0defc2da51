"""Real STOMP-over-WebSocket clients from other ecosystems against the fake broker and the real ones.

stompjs 7 under Node and in headless Chromium, and stomp.py's WSStompConnection, each run the steps
of the ecosystem scenario (connect, subscribe, send and receive with headers, a binary body, a
100 KB body, client-individual ACK and NACK, transactions, topic fan-out, unsubscribe, heart-beats
at 1 s through 3 s of silence, an ERROR). Against a fake profile the records must keep the spec's
promises and what the profile's facts imply; against a real broker they must equal, step by step,
the records of the fake in the profile that models it.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import PROFILES, REALS, Real, real_skip_reason
from .expectations import check_fake, differences
from .runners import RUNNERS, Results


@pytest.fixture(scope="package", params=sorted(RUNNERS))
def outcomes(request: pytest.FixtureRequest, targets: list[dict[str, str]]) -> tuple[str, Results]:
    """(client, {target: {step: outcome}}): one run of the client against every target."""
    runner = RUNNERS[request.param]
    reason = runner.skip_reason()
    if reason is not None:
        pytest.skip(f"{request.param}: {reason}")
    return request.param, runner.run(targets)


def _no_failures(client: str, target: str, record: dict[str, Any]) -> None:
    broken = {step: r for step, r in record.items() if "failed" in r or "timeout" in r}
    # stomp.py in binary mode cannot connect to a broker that ignores binary messages: a record, not a failure
    assert not broken, f"{client} against {target}: {broken}"


@pytest.mark.parametrize("profile", PROFILES)
def test_fake_profile_keeps_its_promises(outcomes: tuple[str, Results], profile: str) -> None:
    client, results = outcomes
    record = results[f"fake-{profile}"]
    _no_failures(client, f"fake-{profile}", record)
    assert check_fake(profile, record) == []


@pytest.mark.real
@pytest.mark.parametrize("real", REALS, ids=[r.name for r in REALS])
def test_real_broker_agrees_with_its_profile(outcomes: tuple[str, Results], real: Real) -> None:
    reason = real_skip_reason(real)
    if reason is not None:
        pytest.skip(reason)
    client, results = outcomes
    assert differences(results[real.name], results[f"fake-{real.profile}"], real.profile) == [], client


def test_only_a_known_race_of_the_named_profile_is_let_through() -> None:
    fake = {"unsubscribe": {"before": "one", "after_unsubscribe": None, "resubscribed": "two"}}
    raced = {"unsubscribe": {"before": "one", "after_unsubscribe": None, "resubscribed": "one"}}
    assert differences(raced, fake, "artemis") == []  # R4
    assert differences(raced, fake, "rabbitmq") != []  # not a race of RabbitMQ
    other = {"unsubscribe": {"before": "one", "after_unsubscribe": "two", "resubscribed": "one"}}
    assert differences(other, fake, "artemis") != []  # the race excuses its own key only
