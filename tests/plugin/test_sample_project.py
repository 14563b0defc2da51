"""The sample stomp.py application's suite, run by pytester: fake brokers, xdist, gevent, external brokers."""

from __future__ import annotations

import pytest

from stomptest.broker import Broker

from .helpers import real_broker, write_sample

SAMPLE_TESTS = 7  # tests in sample_project/test_orders.py
FAKE_ONLY = 1  # of which marked stomp_fake_only
USERS_MARKED = 1  # and marked stomp_broker(users=...): skipped under --stomp-url (a real broker has its own logins)


def test_the_sample_project_passes_on_fake_brokers(pytester: pytest.Pytester) -> None:
    write_sample(pytester)
    result = pytester.runpytest_inprocess("-p", "no:xdist")
    result.assert_outcomes(passed=SAMPLE_TESTS)
    result.stdout.fnmatch_lines(["stomptest: fake brokers, profile strict, versions 1.0,1.1,1.2"])


@pytest.mark.parametrize("profile", ["activemq", "rabbitmq", "artemis"])
def test_the_sample_project_passes_with_each_profile(pytester: pytest.Pytester, profile: str) -> None:
    write_sample(pytester)
    result = pytester.runpytest_inprocess("-p", "no:xdist", f"--stomp-profile={profile}")
    result.assert_outcomes(passed=SAMPLE_TESTS)


def test_the_sample_project_passes_under_xdist(pytester: pytest.Pytester) -> None:
    write_sample(pytester)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=SAMPLE_TESTS)


def test_the_sample_project_passes_when_gevent_monkey_patched(pytester: pytest.Pytester) -> None:
    write_sample(pytester)
    pytester.makeconftest(
        """
        from gevent import monkey
        monkey.patch_all()

        def pytest_report_header():
            return "patched: " + str(monkey.is_module_patched("socket"))
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:xdist", "-p", "no:hypothesispytest")
    result.stdout.fnmatch_lines(["patched: True"])
    result.assert_outcomes(passed=SAMPLE_TESTS)


def test_the_sample_project_runs_against_an_external_broker_given_by_url(pytester: pytest.Pytester) -> None:
    """--stomp-url pointed at a broker this test runs: the external path without a real broker installed."""
    write_sample(pytester)
    with Broker(profile="activemq") as broker:
        result = pytester.runpytest_inprocess("-p", "no:xdist", f"--stomp-url={broker.url}", "-rs")
        leftover = broker.destinations()
    result.assert_outcomes(passed=SAMPLE_TESTS - FAKE_ONLY - USERS_MARKED, skipped=FAKE_ONLY + USERS_MARKED)
    result.stdout.fnmatch_lines(
        [
            f"SKIPPED ?1? test_orders.py:*: needs the fake broker (stomp_fake_only); running against {broker.url}",
            "SKIPPED ?1? test_orders.py:*: @pytest.mark.stomp_broker(profile='rabbitmq', users=...) needs a rabbitmq "
            f"broker; --stomp-url {broker.url} is ActiveMQ/5.17.2 (STOMP 1.2)",
        ],
        consecutive=False,
    )
    names = [name for name in leftover if name.startswith("/queue/orders")]
    assert names and all(name.startswith("/queue/orders-st") for name in names), names
    assert len(set(names)) == len(names)


@pytest.mark.real
@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("RabbitMQ", "tcp://guest:guest@127.0.0.1:61613?host=/"),
        ("ActiveMQ", "tcp://127.0.0.1:61614"),
        ("Artemis", "tcp://guest:guest@127.0.0.1:61615"),
    ],
)
def test_the_sample_project_passes_against_a_real_broker(pytester: pytest.Pytester, name: str, url: str) -> None:
    real_broker(int(url.rsplit(":", 1)[1].split("?")[0]), name)
    write_sample(pytester)
    result = pytester.runpytest_inprocess("-p", "no:xdist", f"--stomp-url={url}", "-rs")
    result.assert_outcomes(passed=SAMPLE_TESTS - FAKE_ONLY - USERS_MARKED, skipped=FAKE_ONLY + USERS_MARKED)
    shown = url.replace("guest:guest@", "guest:***@")  # passcodes are not printed
    result.stdout.fnmatch_lines([f"stomptest: external broker {shown}: *{name}*/* (STOMP 1.2), versions 1.0,1.1,1.2"])
    assert "guest:guest" not in result.stdout.str()
