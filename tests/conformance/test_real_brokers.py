"""The checks against the real brokers, and the fake broker's fidelity to them.

tests/conformance/measured_verdicts.json holds the verdicts measured on RabbitMQ 3.10.8 and
ActiveMQ 5.17.2 (written by scripts/conformance-matrix.py from a run, never by hand; the
matrix is in docs/conformance-matrix.md). The `real` tests check that the live brokers
still give those verdicts; the fidelity tests check that the fake broker in the matching
profile gives the same verdict on every check and version, so fake == measured == real, and
makes the same choices where the spec leaves one (the checks' "observations").
"""

from __future__ import annotations

import functools
import json
import os
import socket
from pathlib import Path

import pytest

from stomptest.conformance import Report, Target, Verdict, run_checks

MEASURED = json.loads((Path(__file__).with_name("measured_verdicts.json")).read_text(encoding="utf-8"))
REAL = {
    "RabbitMQ": ("stomp://guest:guest@127.0.0.1:61613", "rabbitmq"),
    "ActiveMQ": ("stomp://127.0.0.1:61614", "activemq"),
}


def _require_reachable(url: str) -> None:
    target = Target.from_url(url)
    try:
        socket.create_connection((target.host, target.port), timeout=1).close()
    except OSError as exc:
        reason = f"no broker at {url} ({exc}); start one with scripts/real-brokers.sh start"
        if os.environ.get("STOMPTEST_REAL_BROKERS") == "1":
            pytest.fail(f"STOMPTEST_REAL_BROKERS=1 but {reason}")
        pytest.skip(reason)


def _compare_observations(report: Report, expected: dict[str, dict[str, dict[str, str]]], what: str) -> None:
    got = report.observations()
    lines = []
    for check in sorted(set(got) | set(expected)):
        for version in sorted(set(got.get(check, {})) | set(expected.get(check, {}))):
            mine, measured = got.get(check, {}).get(version, {}), expected.get(check, {}).get(version, {})
            for name in sorted(set(mine) | set(measured)):
                if mine.get(name) != measured.get(name):
                    lines.append(f"{check} [{version}] {name}: {mine.get(name)!r}, measured {measured.get(name)!r}")
    assert not lines, f"{what} differs on {len(lines)} observation(s):\n" + "\n".join(lines)


def _compare(report: Report, expected: dict[str, dict[str, str]], what: str) -> None:
    got = report.verdicts()
    assert set(got) == set(expected), f"{what}: the set of checks changed; rerun scripts/conformance-matrix.py"
    lines = []
    for check, versions in expected.items():
        for version, verdict in versions.items():
            if got[check][version] != verdict:
                outcome = report.outcome(check, version)
                found = "; ".join(f"{f.code}: {f.message}" for f in outcome.findings) or "no findings"
                lines.append(f"{check} [{version}]: {got[check][version]}, measured {verdict} ({found})")
    assert not lines, f"{what} differs on {len(lines)} cell(s):\n" + "\n".join(lines)


@pytest.mark.real
@pytest.mark.parametrize("broker", sorted(REAL))
def test_real_broker_gives_the_measured_verdicts(broker: str) -> None:
    url, profile = REAL[broker]
    _require_reachable(url)
    report = run_checks(Target.from_url(url), profile=profile)
    assert report.server == MEASURED[broker]["server"], "another broker version: remeasure"
    _compare(report, MEASURED[broker]["verdicts"], f"{broker} ({report.server})")
    assert not report.failed
    _compare_observations(report, MEASURED[broker]["observations"], f"{broker} ({report.server})")


@functools.cache  # the verdict and the observation tests share one run per profile (per xdist worker)
def _run_fake(profile: str) -> Report:
    broker_module = pytest.importorskip("stomptest.broker")
    users = {"guest": "guest"} if profile == "rabbitmq" else None
    with broker_module.Broker(profile=profile, users=users) as broker:
        login = "guest" if users else None
        return run_checks(Target.from_url(broker.url, login=login, passcode=login), profile=profile)


@pytest.mark.parametrize(("profile", "broker"), [("rabbitmq", "RabbitMQ"), ("activemq", "ActiveMQ")])
def test_fake_broker_profile_matches_the_real_broker(profile: str, broker: str) -> None:
    _compare(_run_fake(profile), MEASURED[broker]["verdicts"], f"the fake broker in profile {profile} vs {broker}")


@pytest.mark.parametrize(("profile", "broker"), [("rabbitmq", "RabbitMQ"), ("activemq", "ActiveMQ")])
def test_fake_broker_profile_makes_the_real_brokers_choices(profile: str, broker: str) -> None:
    """Where the spec leaves a choice (NACK policy, headers added, closing after ERROR...), the fake copies it."""
    report = _run_fake(profile)
    _compare_observations(report, MEASURED[broker]["observations"], f"the fake broker in profile {profile} vs {broker}")


def test_fake_broker_strict_profile_follows_the_spec() -> None:
    report = _run_fake("strict")
    wrong = {key: o for key, o in report.outcomes.items() if o.verdict not in (Verdict.PASS, Verdict.NA)}
    assert not wrong, "\n".join(
        f"{c} [{v}] {o.verdict}: {[f.message for f in o.findings]}" for (c, v), o in wrong.items()
    )
