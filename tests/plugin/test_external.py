"""The --stomp-url handle: looks over STOMP without taking messages away, and fails with what it saw."""

from __future__ import annotations

import pytest

from stomptest.broker import Broker

TESTS = """
import queue

import stomp


def connect(broker):
    connection = stomp.Connection12([broker.address], vhost=broker.vhost)
    connection.connect(broker.login, broker.passcode, wait=True)
    return connection


def test_looking_puts_the_messages_back(stomp_broker):
    jobs = stomp_broker.destination("/queue/jobs")
    stomp_broker.seed(jobs, "job 1", headers={"kind": "job"}, count=2)
    assert [m.body for m in stomp_broker.assert_sent(jobs, "job 1", headers={"kind": "job"}, count=2)] == [b"job 1"] * 2
    received = queue.Queue()
    connection = connect(stomp_broker)
    connection.set_listener("l", type("L", (stomp.ConnectionListener,), {"on_message": lambda s, f: received.put(f)})())
    connection.subscribe(jobs, id="1")
    assert [received.get(timeout=5).body, received.get(timeout=5).body] == ["job 1", "job 1"]
    connection.disconnect()


def test_wrong_body(stomp_broker):
    jobs = stomp_broker.destination("/queue/jobs")
    stomp_broker.seed(jobs, "job 1")
    stomp_broker.assert_sent(jobs, "job 2", timeout=0.3)


def test_something_waiting(stomp_broker):
    jobs = stomp_broker.destination("/queue/jobs")
    stomp_broker.seed(jobs, "surprise")
    stomp_broker.assert_nothing_sent(jobs)
"""


def test_the_external_handle_over_stomp(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    with Broker(profile="activemq", users={"app": "pw"}) as broker:
        url = f"tcp://app:pw@{broker.host}:{broker.port}?timeout=3"
        result = pytester.runpytest_inprocess("-p", "no:xdist", f"--stomp-url={url}")
    result.assert_outcomes(passed=1, failed=2)
    assert "app:pw" not in result.stdout.str()
    url = url.replace("app:pw@", "app:***@")
    result.stdout.fnmatch_lines(
        [
            f"E*expected a message on /queue/jobs-st* body=b'job 2' within 0.3 s at {url}",
            "E*closest of 1:",
            "E*/queue/jobs-st* body=b'job 1'",
            "E*(another body)",
        ]
    )
    result.stdout.fnmatch_lines(
        [f"E*expected nothing sent to /queue/jobs-st* at {url}, but found:", "E*/queue/jobs-st* body=b'surprise'"]
    )
