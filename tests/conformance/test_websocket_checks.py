"""Conformance over WebSocket: the probe's upgrade, the WebSocket checks, deviations limited to one transport."""

from __future__ import annotations

import pytest

from stomptest.broker import Broker
from stomptest.conformance import Target, Verdict, run_checks
from stomptest.conformance.deviations import is_expected
from stomptest.conformance.model import Finding
from stomptest.conformance.probe import Probe, ProbeClosed
from stomptest.conformance.runner import select_checks, verdict_for
from stomptest.protocol.frame import Frame

WS_CHECKS = [c.name for c in select_checks(None) if c.area == "websocket"]


def test_a_ws_url_is_a_websocket_target() -> None:
    target = Target.from_url("ws://guest:guest@127.0.0.1:15674/ws")
    assert target.websocket and target.path == "/ws" and target.url == "ws://127.0.0.1:15674/ws"
    assert Target.from_url("wss://h/").tls and Target.from_url("wss://h/").port == 443
    assert not Target.from_url("tcp://h").websocket


def test_the_websocket_checks_are_na_over_tcp() -> None:
    with Broker(profile="strict") as broker:
        report = run_checks(Target.from_url(broker.url), profile="strict", checks=select_checks(WS_CHECKS))
    assert WS_CHECKS and {o.verdict for o in report.outcomes.values()} == {Verdict.NA}


def test_deviations_can_be_limited_to_websocket() -> None:
    finding = Finding("no-disconnect-receipt", "-", "DISCONNECT receipt got nothing")
    assert is_expected("rabbitmq", "disconnect-receipt", "1.2", "no-disconnect-receipt", "ws")
    assert not is_expected("rabbitmq", "disconnect-receipt", "1.2", "no-disconnect-receipt", "tcp")
    assert verdict_for("disconnect-receipt", "1.2", [finding], "rabbitmq", "ws") is Verdict.DEVIATES
    assert verdict_for("disconnect-receipt", "1.2", [finding], "rabbitmq") is Verdict.FAIL


def test_the_probe_upgrades_keeps_messages_and_sees_the_close_code() -> None:
    with Broker(profile="rabbitmq", users={"guest": "guest"}) as broker:
        probe = Probe(broker.host, broker.port, websocket_path="/ws", timeout=3)
        probe.send(Frame("CONNECT", {"accept-version": "1.2", "host": "/", "login": "guest", "passcode": "guest"}))
        assert probe.next_frame().command == "CONNECTED"
        assert probe.websocket is not None and probe.websocket.messages == [("text", probe.websocket.messages[0][1])]
        probe.send_raw(b"SEND\ndestination /queue/x\n\nabc\x00")  # a header line without a colon
        assert probe.wait_closed(3) and probe.close_code == 1007
        with pytest.raises(ProbeClosed, match="refused the WebSocket upgrade of /nope with HTTP 404"):
            Probe(broker.host, broker.port, websocket_path="/nope", timeout=3)


def test_the_command_line_tests_a_ws_url(capsys: pytest.CaptureFixture[str]) -> None:
    from stomptest.conformance import cli

    with Broker(profile="strict") as broker:
        code = cli.main([broker.ws_url, "--checks", "ws-frames-joined,framing-split", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"ws://127.0.0.1:{broker.port}/ws" in out and "6 pass, 0 fail" in out
