"""stomp_client and stomp_async_client: connected (or ready to connect) to the test's broker."""

from __future__ import annotations

import pytest

from stomptest.broker import Broker

from .helpers import real_broker

CLIENT_TESTS = """
import asyncio

import pytest


def test_send_and_receive(stomp_client, stomp_broker):
    queue = stomp_broker.destination("/queue/jobs")
    stomp_client.send(queue, "job 1", headers={"kind": "job"}, receipt=True)
    stomp_broker.assert_sent(queue, "job 1", headers={"kind": "job"})  # before a consumer takes it (external)
    subscription = stomp_client.subscribe(queue)
    message = subscription.receive(timeout=5)
    assert message is not None and message.body == b"job 1"


def test_versions(stomp_client, stomp_version):
    assert stomp_client.version == stomp_version


def test_session_broker(stomp_client, stomp_broker_session):
    queue = stomp_broker_session.destination("/queue/jobs")
    stomp_client.send(queue, "to the session broker", receipt=True)
    stomp_broker_session.assert_sent(queue, "to the session broker")


@pytest.mark.stomp_broker(profile="rabbitmq", users={"app": "s3cret"})
def test_marker_users_log_the_client_in(stomp_client, stomp_broker):
    stomp_broker.wait_for_connections(1)
    assert [c.login for c in stomp_broker.connections()] == ["app"]


def test_async(stomp_async_client, stomp_broker):
    queue = stomp_broker.destination("/queue/jobs")

    async def main():
        async with stomp_async_client as client:
            await client.send(queue, "async job", receipt=True)
            stomp_broker.assert_sent(queue, "async job")
            subscription = await client.subscribe(queue)
            message = await subscription.receive(timeout=5)
            return message.body

    assert asyncio.run(main()) == b"async job"
"""


def test_client_fixtures_on_fake_brokers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(CLIENT_TESTS)
    result = pytester.runpytest_inprocess("-p", "no:xdist", "--stomp-versions=1.1,1.2", "-v")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*test_versions?stomp1.1? PASSED*", "*test_versions?stomp1.2? PASSED*"])


def test_client_fixtures_against_an_external_broker_given_by_url(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(CLIENT_TESTS)
    with Broker(profile="rabbitmq") as broker:
        result = pytester.runpytest_inprocess("-p", "no:xdist", f"--stomp-url={broker.url}", "-rs")
    result.assert_outcomes(passed=6, skipped=1)
    # the marker's users cannot be set on a broker of one's own: skipped at the test, naming its marker
    result.stdout.fnmatch_lines(
        [
            "SKIPPED ?1? test_client_fixtures_*.py:*: @pytest.mark.stomp_broker(profile='rabbitmq', users=...): "
            "users is a setting of the fake broker, which an external one cannot take; "
            f"--stomp-url {broker.url} is RabbitMQ/3.10.8 (STOMP 1.2)"
        ]
    )


@pytest.mark.real
@pytest.mark.parametrize(
    ("name", "port", "url"),
    [
        ("RabbitMQ", 61613, "tcp://guest:guest@127.0.0.1:61613?host=/"),
        ("ActiveMQ", 61614, "tcp://127.0.0.1:61614"),
        ("Artemis", 61615, "tcp://guest:guest@127.0.0.1:61615"),
    ],
)
def test_client_fixtures_against_a_real_broker(pytester: pytest.Pytester, name: str, port: int, url: str) -> None:
    real_broker(port, name)
    pytester.makepyfile(CLIENT_TESTS)
    result = pytester.runpytest_inprocess("-p", "no:xdist", f"--stomp-url={url}", "-rs")
    result.assert_outcomes(passed=6, skipped=1)
