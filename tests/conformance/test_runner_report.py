"""The runner, verdicts and reports, with made-up checks and a scripted server (no broker needed)."""

from __future__ import annotations

import json
import pathlib
import shutil
import socket
import ssl
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest

from stomptest.conformance import PROFILE_DEVIATIONS, Check, NotApplicable, Target, Verdict, all_checks, run_checks
from stomptest.conformance.cli import main
from stomptest.conformance.context import Context
from stomptest.conformance.deviations import expected_deviations, is_expected
from stomptest.conformance.model import Finding, Outcome
from stomptest.conformance.options import parse_versions, split_query
from stomptest.conformance.report import render_table, to_html, to_json, to_junit_xml
from stomptest.conformance.runner import profile_for_server, run_one, select_checks, verdict_for
from stomptest.protocol.errors import ConfigurationError
from tests.conformance.conftest import Handler, ScriptedServer, connected_then, read_frame


def _passes(ctx: Context) -> None:
    probe = ctx.open()
    probe.send_raw(b"CONNECT\n\n\x00")
    probe.next_frame()
    ctx.note("talked")


def _fails(ctx: Context) -> None:
    probe = ctx.open()
    probe.send_raw(b"CONNECT\n\n\x00")
    probe.next_frame()
    ctx.expect(False, "stays-open-after-error", "ERROR", "stayed <open>")


def _not_applicable(ctx: Context) -> None:
    raise NotApplicable("no authentication")


def _crashes(ctx: Context) -> None:
    raise KeyError("bug")


def _aborts(ctx: Context) -> None:
    ctx.fatal("no-receipt", "RECEIPT", "nothing came")


FAKE_CHECKS = [
    Check("fake-pass", "passes", _passes),
    Check("fake-fail", "fails", _fails),
    Check("fake-na", "not applicable", _not_applicable),
    Check("fake-crash", "crashes", _crashes),
    Check("fake-abort", "aborts", _aborts, versions=("1.1", "1.2")),
]


@pytest.fixture
def server(scripted: Callable[[Handler], ScriptedServer]) -> ScriptedServer:
    return scripted(connected_then())


def test_verdicts_follow_findings_and_profile_expectations() -> None:
    finding = Finding("stays-open-after-error", 'STOMP 1.2 "ERROR"', "open")
    assert verdict_for("error-unknown-command", "1.2", [], "strict") is Verdict.PASS
    assert verdict_for("error-unknown-command", "1.2", [finding], "strict") is Verdict.FAIL
    assert verdict_for("error-unknown-command", "1.2", [finding], "rabbitmq") is Verdict.DEVIATES
    assert verdict_for("error-unknown-command", "1.2", [finding], "activemq") is Verdict.FAIL
    other = Finding("no-error", "x", "y")
    assert verdict_for("error-unknown-command", "1.2", [finding, other], "rabbitmq") is Verdict.FAIL


def test_version_scoped_expectations() -> None:
    assert is_expected("activemq", "escape-roundtrip", "1.0", "value-altered")
    assert not is_expected("activemq", "escape-roundtrip", "1.2", "value-altered")


def test_unknown_profile_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="unknown profile 'nope'"):
        expected_deviations("nope")


def test_profile_data_names_existing_checks() -> None:
    names = {check.name for check in all_checks()}
    for profile, table in PROFILE_DEVIATIONS.items():
        assert set(table) <= names, profile
        assert all(codes for codes in table.values()), profile


def test_check_names_are_unique_and_every_version_is_known() -> None:
    checks = all_checks()
    assert len({c.name for c in checks}) == len(checks)
    assert all(set(c.versions) <= {"1.0", "1.1", "1.2"} and c.versions for c in checks)


@pytest.mark.parametrize(
    ("server", "profile"),
    [
        ("RabbitMQ/3.10.8", "rabbitmq"),
        ("ActiveMQ/5.17.2", "activemq"),
        ("ActiveMQ-Artemis/2.31.0", "artemis"),
        ("", "strict"),
    ],
)
def test_profile_from_server_header(server: str, profile: str) -> None:
    assert profile_for_server(server) == profile


def test_run_one_turns_every_ending_into_a_verdict(server: ScriptedServer) -> None:
    target = Target(port=server.port, timeout=1)
    outcomes = {c.name: run_one(c, "1.2", target, "strict", "t") for c in FAKE_CHECKS}
    assert outcomes["fake-pass"].verdict is Verdict.PASS
    assert outcomes["fake-pass"].notes == ["talked"]
    assert outcomes["fake-fail"].verdict is Verdict.FAIL
    assert outcomes["fake-na"].verdict is Verdict.NA
    assert outcomes["fake-crash"].verdict is Verdict.FAIL
    assert outcomes["fake-crash"].findings[0].code == "check-crashed"
    assert outcomes["fake-abort"].findings[0].code == "no-receipt"
    assert run_one(FAKE_CHECKS[4], "1.0", target, "strict", "t").verdict is Verdict.NA
    assert any("CONNECTED" in line for line in outcomes["fake-fail"].transcript)


def test_run_checks_detects_the_profile_and_reports_progress(server: ScriptedServer) -> None:
    seen: list[Outcome] = []
    report = run_checks(Target(port=server.port, timeout=1), checks=FAKE_CHECKS, progress=seen.append, workers=3)
    assert report.server == "Scripted/1"
    assert report.profile == "strict"
    assert len(seen) == len(FAKE_CHECKS) * 3
    assert list(report.outcomes) == [(c.name, v) for c in FAKE_CHECKS for v in ("1.0", "1.1", "1.2")]
    assert report.verdicts()["fake-abort"] == {"1.0": "n/a", "1.1": "fail", "1.2": "fail"}
    assert report.counts() == {"pass": 3, "fail": 8, "deviates": 0, "n/a": 4}


def test_rabbitmq_profile_turns_an_expected_finding_into_deviates(server: ScriptedServer) -> None:
    checks = [Check("error-unknown-command", "renamed fake", _fails)]
    report = run_checks(Target(port=server.port, timeout=1), profile="rabbitmq", checks=checks, versions=("1.2",))
    assert report.outcome("error-unknown-command", "1.2").verdict is Verdict.DEVIATES
    assert not report.failed


def test_reports_show_failures_with_traffic_and_clause(server: ScriptedServer) -> None:
    report = run_checks(Target(port=server.port, timeout=1), checks=FAKE_CHECKS, versions=("1.1", "1.2"))
    table = render_table(report)
    assert table.splitlines()[0].split() == ["check", "1.1", "1.2"]
    assert "fake-fail" in table and "FAIL fake-fail in STOMP 1.2:" in table
    assert 'rests on STOMP 1.2 "ERROR"' in table
    assert "> b'CONNECT" in table

    data = json.loads(to_json(report))
    assert data["counts"]["fail"] == report.counts()["fail"]
    assert data["checks"][1]["versions"]["1.2"]["findings"][0]["code"] == "stays-open-after-error"

    suite = ET.fromstring(to_junit_xml(report))
    assert suite.get("tests") == str(len(FAKE_CHECKS) * 2)
    assert suite.get("failures") == str(report.counts()["fail"])
    assert len(suite.findall("testcase/failure")) == report.counts()["fail"]
    assert len(suite.findall("testcase/skipped")) == report.counts()["n/a"]

    page = to_html(report)
    assert "<table>" in page and "fake-crash" in page
    assert "stayed &lt;open&gt;" in page  # escaped


def test_cli_lists_checks(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list"]) == 0
    out = capsys.readouterr().out
    assert all(check.name in out for check in all_checks())


def test_cli_unreachable_broker_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main([f"stomp://127.0.0.1:{port}", "-q"]) == 2
    assert "cannot test" in capsys.readouterr().err


def test_cli_bad_versions_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stomp://127.0.0.1:1", "--versions", "1.3"]) == 2
    assert "versions '1.3'" in capsys.readouterr().err


def test_settings_from_url() -> None:
    target = Target.from_url("stomp://guest:pa%40ss@broker:61614", vhost="/v")
    assert (target.host, target.port, target.login, target.passcode, target.vhost) == (
        "broker",
        61614,
        "guest",
        "pa@ss",
        "/v",
    )
    assert Target.from_url("localhost").port == 61613
    url, query = split_query("stomp://h:1?profile=rabbitmq&versions=1.2")
    assert url == "tcp://h:1" and query == {"profile": "rabbitmq", "versions": "1.2"}
    with pytest.raises(ConfigurationError, match="unknown option 'colour'; the settings and failover options are"):
        split_query("stomp://h:1?colour=red")
    with pytest.raises(ConfigurationError, match="'ssl://h' names no port"):
        Target.from_url("ssl://h")
    with pytest.raises(ConfigurationError, match="scheme"):
        Target.from_url("http://h:1")
    assert parse_versions("1.2, 1.0") == ("1.0", "1.2")


class _Config:
    """Just enough of pytest.Config for settings_from_config."""

    def __init__(self, options: dict[str, str], ini: dict[str, str]) -> None:
        self.options, self.ini = options, ini

    def getoption(self, name: str, default: object = None) -> object:
        return self.options.get(name, default)

    def getini(self, name: str) -> str:
        if name not in self.ini:
            raise ValueError(name)
        return self.ini[name]


def test_pytest_settings_come_from_options_then_url_query_then_plugin_options() -> None:
    from stomptest.conformance.options import settings_from_config

    config = _Config(
        {"--stomp-url": "tcp://h:1?profile=rabbitmq&host=/v", "--stomp-versions": "1.2", "--stomp-profile": "activemq"},
        {},
    )
    settings = settings_from_config(config)  # type: ignore[arg-type]
    assert (settings.url, settings.profile, settings.versions, settings.vhost) == (
        "tcp://h:1",
        "rabbitmq",
        ("1.2",),
        "/v",
    )
    config = _Config({"--conformance-profile": "strict", "--conformance-versions": "1.0"}, {"stomp_url": "tcp://i:2"})
    settings = settings_from_config(config)  # type: ignore[arg-type]
    assert (settings.url, settings.profile, settings.versions) == ("tcp://i:2", "strict", ("1.0",))
    settings = settings_from_config(_Config({}, {}))  # type: ignore[arg-type]
    assert (settings.url, settings.profile, settings.versions) == (None, None, ("1.0", "1.1", "1.2"))


def test_checks_fail_against_a_broker_that_ignores_everything(scripted: Callable[[Handler], ScriptedServer]) -> None:
    """A broker that answers CONNECT and then nothing: the checks must say so, not pass."""
    server = scripted(connected_then())
    names = ["framing-body", "error-unknown-command", "disconnect-receipt", "connect-no-common-version"]
    report = run_checks(Target(port=server.port, timeout=0.3), checks=select_checks(names), versions=("1.2",))
    codes = {name: [f.code for f in report.outcome(name, "1.2").findings] for name in names}
    assert all(report.outcome(name, "1.2").verdict is Verdict.FAIL for name in names), codes
    assert codes["framing-body"] == ["no-receipt"]
    assert codes["error-unknown-command"] == ["no-error"]
    assert codes["disconnect-receipt"] == ["no-disconnect-receipt"]
    assert codes["connect-no-common-version"] == ["no-error"]


def test_versions_the_broker_does_not_speak_are_not_applicable(scripted: Callable[[Handler], ScriptedServer]) -> None:
    def only_1_0(conn: socket.socket) -> None:
        read_frame(conn)
        conn.sendall(b"CONNECTED\nsession:1\n\n\x00")  # a 1.0 broker: no version header
        while conn.recv(1024):
            pass

    server = scripted(only_1_0)
    report = run_checks(Target(port=server.port, timeout=1), checks=FAKE_CHECKS[:1])
    assert report.verdicts()["fake-pass"] == {"1.0": "pass", "1.1": "n/a", "1.2": "n/a"}
    assert "does not speak 1.1" in report.outcome("fake-pass", "1.1").notes[0]


def test_ssl_and_failover_urls_make_targets() -> None:
    (secure,) = Target.candidates("ssl://u:p@h:61612")
    assert secure.tls and (secure.host, secure.port, secure.login, secure.passcode) == ("h", 61612, "u", "p")
    assert secure.url == "ssl://h:61612" and secure.tls_context() is not None
    members = Target.candidates("failover:(tcp://a,ssl://b:2)?randomize=false", login="x")
    assert [(t.url, t.login) for t in members] == [("tcp://a:61613", "x"), ("ssl://b:2", "x")]
    assert Target.from_url("failover:(tcp://a,ssl://b:2)").url == "tcp://a:61613"


def test_failover_runs_test_the_first_reachable_member(capsys: pytest.CaptureFixture[str]) -> None:
    from stomptest.broker import Broker

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    with Broker() as broker:
        url = f"failover:(tcp://127.0.0.1:{dead},tcp://127.0.0.1:{broker.port})?randomize=false"
        assert main([url, "--checks", "connect-version", "--versions", "1.2", "-q"]) == 0
    assert f"tcp://127.0.0.1:{broker.port}" in capsys.readouterr().out
    assert main([f"failover:(tcp://u:secret@127.0.0.1:{dead})", "-q"]) == 2
    err = capsys.readouterr().err
    assert "cannot test" in err and "u:***@" in err and "secret" not in err


def test_cli_tls_needs_a_ca_or_insecure_and_takes_either(
    capsys: pytest.CaptureFixture[str], tmp_path: pathlib.Path
) -> None:
    from stomptest.broker import Broker

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed, so no certificate can be made")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    with Broker(ssl_context=server) as broker:
        url = f"ssl://127.0.0.1:{broker.port}"
        run = [url, "--checks", "connect-version", "--versions", "1.2", "-q"]
        assert main(run) == 2
        assert "CERTIFICATE_VERIFY_FAILED" in capsys.readouterr().err
        assert main([*run, "--ca", str(cert)]) == 0
        assert main([*run, "--insecure"]) == 0
    assert main([url, "--ca", str(tmp_path / "missing.pem")]) == 2
    assert "cannot load CA certificates" in capsys.readouterr().err
