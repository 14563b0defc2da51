"""The command and the pytest suite end to end, against the embedded fake broker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stomptest.conformance.cli import main

pytest.importorskip("stomptest.broker")


def test_command_without_url_tests_the_fake_broker_and_writes_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = {kind: tmp_path / f"report.{kind}" for kind in ("json", "xml", "html")}
    status = main(
        [
            "--checks",
            "framing-body,connect-version,error-unknown-command",
            "--versions",
            "1.1,1.2",
            "--json",
            str(files["json"]),
            "--junit-xml",
            str(files["xml"]),
            "--html",
            str(files["html"]),
        ]
    )
    out, err = capsys.readouterr()
    assert status == 0, out
    assert "started the fake broker (profile strict)" in err
    assert "pass     framing-body [1.2]" in err  # progress
    assert out.splitlines()[0].split() == ["check", "1.1", "1.2"]
    data = json.loads(files["json"].read_text())
    assert data["profile"] == "strict" and data["checks"][0]["name"] == "framing-body"
    assert "<testsuite" in files["xml"].read_text()
    assert "error-unknown-command" in files["html"].read_text()


def test_pytest_suite_runs_the_checks_as_tests(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        "--pyargs", "stomptest.conformance", "-p", "stomptest.conformance.options", "--conformance-versions", "1.2"
    )
    # skipped (n/a): connect-login-refused, as the fake broker without users accepts any login, and the six
    # checks of STOMP over WebSocket, as this run goes over TCP
    result.assert_outcomes(passed=38, skipped=7)
    result.stdout.fnmatch_lines(["*test_conformance.py*", "*38 passed, 7 skipped*"])
