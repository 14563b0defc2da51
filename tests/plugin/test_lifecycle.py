"""Brokers the fixtures start are stopped: after each test, and at the end of a session cut short."""

from __future__ import annotations

import json
import socket
import threading

import pytest

from stomptest.broker.broker import _running
from stomptest.pytest_plugin import _Registry
from stomptest.testing.fake import FakeBroker


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def broker_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("stomptest-broker-")]


def test_the_factory_makes_several_brokers_and_stops_them_all(pytester: pytest.Pytester) -> None:
    ports = pytester.path / "ports.json"
    pytester.makepyfile(
        f"""
        import json

        from stomptest.client import Client

        def test_pair(stomp_broker_factory, stomp_broker):
            primary = stomp_broker_factory("activemq")
            backup = stomp_broker_factory(profile="rabbitmq", users={{"guest": "guest"}})
            idle = stomp_broker_factory(start=False)
            assert (primary.profile.name, backup.profile.name) == ("activemq", "rabbitmq")
            assert primary.running and backup.running and not idle.running
            assert len({{primary.port, backup.port, stomp_broker.port}}) == 3
            url = f"failover:({{primary.url}},{{backup.url}})?randomize=false&initialReconnectDelay=10"
            with Client(url, login="guest", passcode="guest") as client:
                primary.wait_for_connections(1)
                primary.stop()  # the client fails over to the backup
                backup.wait_for_connections(1, timeout=10)
                client.send("/queue/after", "failed over", receipt=True)
            backup.assert_sent("/queue/after", "failed over")
            with open({str(ports)!r}, "w") as out:
                json.dump([primary.port, backup.port, stomp_broker.port], out)
        """
    )
    before = broker_threads()
    result = pytester.runpytest_inprocess("-p", "no:xdist")
    result.assert_outcomes(passed=1)
    assert all(refused(port) for port in json.loads(ports.read_text()))
    assert broker_threads() == before


def test_a_session_cut_short_mid_test_leaves_no_broker_running(pytester: pytest.Pytester) -> None:
    ports = pytester.path / "ports.json"
    pytester.makepyfile(
        f"""
        import json
        import pytest

        def test_crash(stomp_broker, stomp_broker_session, stomp_broker_factory):
            more = stomp_broker_factory()
            with open({str(ports)!r}, "w") as out:
                json.dump([stomp_broker.port, stomp_broker_session.port, more.port], out)
            pytest.exit("the test run is cut short")

        def test_never_runs():
            pass
        """
    )
    before = broker_threads()
    result = pytester.runpytest_inprocess("-p", "no:xdist")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert all(refused(port) for port in json.loads(ports.read_text()))
    assert broker_threads() == before


def test_the_registry_stops_what_a_test_left_running() -> None:
    registry = _Registry()
    left = registry.add(FakeBroker()).start()
    stopped = registry.add(FakeBroker())
    assert registry.stop_all() == 1
    assert not left.running and not stopped.running
    assert left not in _running
    assert registry.stop_all() == 0


def test_the_end_of_session_net_reports_what_it_stopped(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest
        from stomptest.pytest_plugin import _REGISTRY
        from stomptest.testing.fake import FakeBroker

        @pytest.fixture(scope="session")
        def forgotten(pytestconfig):
            return pytestconfig.stash[_REGISTRY].add(FakeBroker()).start()  # started, never stopped
        """
    )
    pytester.makepyfile("def test_it(forgotten):\n    assert forgotten.running\n")
    result = pytester.runpytest_inprocess("-p", "no:xdist")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["stomptest: stopped 1 fake broker(s) left running by tests"])
    assert broker_threads() == []


def test_the_session_broker_is_shared_and_cleared_between_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import stomp

        ports = set()

        def test_first(stomp_broker_session):
            ports.add(stomp_broker_session.port)
            c = stomp.Connection12([stomp_broker_session.address], vhost="/")
            c.connect(wait=True)
            c.send("/queue/left", "left behind")
            stomp_broker_session.assert_sent("/queue/left", "left behind")
            # no disconnect: the next test must not see this connection, its messages or its SENDs

        def test_second(stomp_broker_session):
            ports.add(stomp_broker_session.port)
            assert len(ports) == 1
            assert stomp_broker_session.connections() == ()
            assert stomp_broker_session.messages("/queue/left") == ()
            assert stomp_broker_session.sent() == []
        """
    )
    pytester.runpytest_inprocess("-p", "no:xdist").assert_outcomes(passed=2)
