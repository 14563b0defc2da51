"""Many pytest-xdist workers against one broker, the way a suite spreads over workers and hosts: each
test has destinations and durable names of its own, so no worker sees another's messages."""

from __future__ import annotations

import pytest

from stomptest.broker import Broker

TESTS = """
import pytest

from stomptest.client import Client


@pytest.mark.parametrize("n", range(8))
def test_each_test_has_its_own_queue(stomp_broker, stomp_client, n):
    queue = stomp_broker.destination("/queue/shared")
    stomp_client.send(queue, f"from test {n}", receipt=True)
    [only] = stomp_broker.assert_sent(queue, count=1)  # a neighbour's message would make two
    assert only.body == f"from test {n}".encode()


@pytest.mark.parametrize("n", range(4))
def test_each_test_has_its_own_durable_names(stomp_broker, n):
    topic = stomp_broker.destination("/topic/news")
    name = stomp_broker.destination("news-reader")  # a durable subscription name, or a client-id
    with Client(stomp_broker.url, headers={"client-id": name}) as client:
        subscription = client.subscribe(topic, headers={"activemq.subscriptionName": name}, receipt=True)
        client.send(topic, f"news {n}", receipt=True)
        message = subscription.receive(timeout=5)
        assert message is not None and message.body == f"news {n}".encode()
"""


def test_workers_share_one_broker_through_a_failover_url_without_seeing_each_other(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    with Broker(profile="activemq") as broker:
        url = f"failover:(tcp://127.0.0.1:1,{broker.url})?randomize=false&initialReconnectDelay=10"
        result = pytester.runpytest_subprocess("-n", "2", "-p", "no:hypothesispytest", f"--stomp-url={url}")
        queues = [name for name in broker.destinations() if name.startswith("/queue/shared")]
    result.assert_outcomes(passed=12)
    assert len(queues) == 8, queues  # one queue per test, none shared between workers


def test_under_xdist_an_unreachable_url_still_stops_the_session_with_one_message(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it(stomp_broker):\n    pass\n")
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:hypothesispytest", "--stomp-url=tcp://127.0.0.1:1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "passed" not in result.stdout.str() and "failed" not in result.stdout.str()
    result.stderr.fnmatch_lines(["ERROR: stomptest: --stomp-url tcp://127.0.0.1:1: no STOMP broker answers (*"])
    assert result.stderr.str().count("no STOMP broker answers") == 1, result.stderr.str()
