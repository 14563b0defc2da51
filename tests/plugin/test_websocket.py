"""The plugin over WebSocket: `stomp_broker.ws_url` on the fake broker, and --stomp-url ws://... for a real one."""

from __future__ import annotations

import pytest

from stomptest.broker import Broker

from .helpers import real_broker

TESTS = """
from stomptest.client import Client


def test_the_clients_speak_websocket_to_the_handle(stomp_broker, stomp_client):
    jobs = stomp_broker.destination("/queue/jobs") if stomp_broker.external else "/queue/jobs"
    if stomp_broker.external:  # --stomp-url ws://...: the client and the handle's look-ups go over WebSocket
        assert stomp_client.connection.websocket is not None
    stomp_client.send(jobs, "job 1", headers={"kind": "job"}, receipt=True)
    assert [m.body for m in stomp_broker.assert_sent(jobs, "job 1", headers={"kind": "job"})] == [b"job 1"]
    stomp_broker.seed(jobs, "job 2")
    subscription = stomp_client.subscribe(jobs, ack="client-individual")
    bodies = sorted(subscription.receive(timeout=5).body for _ in range(2))
    assert bodies == [b"job 1", b"job 2"]


def test_ws_url(stomp_broker):
    assert stomp_broker.ws_url.startswith("ws://")
    options = {} if not stomp_broker.external else {
        "login": stomp_broker.login, "passcode": stomp_broker.passcode, "host": stomp_broker.vhost}
    with Client(stomp_broker.ws_url, **options) as client:
        assert client.connection.websocket is not None and client.connection.websocket.opened
"""


def test_ws_url_of_the_fake_broker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest_inprocess("-p", "no:xdist")
    result.assert_outcomes(passed=2)


def test_stomp_url_ws_runs_the_tests_over_websocket(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    with Broker(profile="rabbitmq", users={"app": "pw"}) as broker:
        url = broker.ws_url.replace("ws://", "ws://app:pw@") + "?timeout=3&host=/"
        result = pytester.runpytest_inprocess("-p", "no:xdist", f"--stomp-url={url}")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"stomptest: external broker {url.replace('app:pw@', 'app:***@')}*"])


def test_ws_url_under_a_tcp_stomp_url_skips_saying_why(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it(stomp_broker):\n    stomp_broker.ws_url\n")
    with Broker(profile="strict") as broker:
        result = pytester.runpytest_inprocess("-p", "no:xdist", f"--stomp-url={broker.url}", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*is not a WebSocket URL*run with --stomp-url ws://HOST:PORT/PATH*"])


@pytest.mark.real
@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("RabbitMQ web-stomp", "ws://guest:guest@127.0.0.1:15674/ws?host=/"),
        ("Artemis", "ws://guest:guest@127.0.0.1:61615/ws"),
    ],
)
def test_stomp_url_ws_against_a_real_broker(pytester: pytest.Pytester, name: str, url: str) -> None:
    real_broker(int(url.split(":")[3].split("/")[0]), name)
    pytester.makepyfile(TESTS)
    result = pytester.runpytest_inprocess("-p", "no:xdist", f"--stomp-url={url}", "-rs")
    result.assert_outcomes(passed=2)
    assert "guest:guest" not in result.stdout.str()
