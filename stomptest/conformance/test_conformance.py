"""The conformance checks as pytest tests: one test per check and STOMP version.

``pytest --pyargs stomptest.conformance --stomp-url tcp://host:port`` tests that broker;
without --stomp-url it tests the embedded fake broker. All checks run once, concurrently,
when the first test needs them; each test then reports its own cell: `fail` fails with
what was sent, what came back and the spec clause; `n/a` skips; `deviates` passes (the
profile expects it) and says so in the test's report properties.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import pytest

from stomptest.conformance.cli import embedded_broker
from stomptest.conformance.model import Report, Target, Verdict
from stomptest.conformance.options import settings_from_config
from stomptest.conformance.report import describe_failure, headline
from stomptest.conformance.runner import all_checks, first_reachable, run_checks


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "conformance_cell" in metafunc.fixturenames:
        versions = settings_from_config(metafunc.config).versions
        cells = [(check.name, version) for check in all_checks() for version in versions]
        metafunc.parametrize("conformance_cell", cells, ids=[f"{name}[{version}]" for name, version in cells])


@pytest.fixture(scope="session")
def conformance_report(pytestconfig: pytest.Config) -> Iterator[Report]:
    settings = settings_from_config(pytestconfig)
    profile = settings.profile
    with contextlib.ExitStack() as stack:
        url = settings.url
        if url is None:
            profile = profile if profile not in (None, "auto") else "strict"
            url = stack.enter_context(embedded_broker(profile))
        candidates = Target.candidates(
            url, login=settings.login, passcode=settings.passcode, vhost=settings.vhost, timeout=settings.timeout
        )
        try:
            target = first_reachable(candidates)
            report = run_checks(target, profile=profile or "auto", versions=settings.versions)
        except OSError as exc:
            pytest.fail(f"cannot run the conformance checks against {url}: {exc}", pytrace=False)
        yield report


def test_conformance(
    conformance_report: Report, conformance_cell: tuple[str, str], record_property: Callable[[str, object], None]
) -> None:
    name, version = conformance_cell
    outcome = conformance_report.outcome(name, version)
    record_property("verdict", outcome.verdict.value)
    if outcome.verdict is Verdict.NA:
        pytest.skip("; ".join(outcome.notes) or "not applicable")
    if outcome.verdict is Verdict.DEVIATES:
        record_property("deviations", "; ".join(f"{f.code}: {f.message}" for f in outcome.findings))
    if outcome.verdict is Verdict.FAIL:
        pytest.fail("\n".join([headline(conformance_report), *describe_failure(outcome)]), pytrace=False)
