"""stomp_tls_broker and stomp_tls_client_context: a TLS test as short as a plain one."""

from __future__ import annotations

import pytest

from stomptest.broker import Broker

pytest.importorskip("trustme")

TESTS = """
import ssl

import pytest

from stomptest.client import Client


def test_tls(stomp_tls_broker, stomp_tls_client_context):
    assert stomp_tls_broker.url.startswith("ssl://")
    with Client(stomp_tls_broker.url, ssl_context=stomp_tls_client_context) as client:
        client.send("/queue/secure", "over TLS", receipt=True)
    stomp_tls_broker.assert_sent("/queue/secure", "over TLS")


@pytest.mark.stomp_broker(profile="rabbitmq", users={"app": "pw"})
def test_the_marker_configures_it(stomp_tls_broker, stomp_tls_client_context):
    with Client(stomp_tls_broker.url, ssl_context=stomp_tls_client_context, login="app", passcode="pw") as client:
        assert client.connected.frame.headers["server"].startswith("RabbitMQ/")


def test_the_ca_for_other_clients(stomp_tls_broker, stomp_tls_ca, tmp_path):
    context = ssl.create_default_context(cafile=str(stomp_tls_ca.write_ca(tmp_path / "ca.pem")))
    with Client(stomp_tls_broker.url, ssl_context=context) as client:
        client.send("/queue/a", "x", receipt=True)


def test_without_the_context_the_certificate_is_refused(stomp_tls_broker):
    with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
        Client(stomp_tls_broker.url, connect_timeout=2).connect()
"""


def test_the_tls_fixtures_serve_and_trust_a_throwaway_certificate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TESTS)
    result = pytester.runpytest_inprocess("-p", "no:xdist", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)


def test_under_stomp_url_the_tls_broker_is_skipped_at_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_tls=TESTS)
    with Broker() as broker:
        result = pytester.runpytest_inprocess(
            "-p", "no:xdist", "-p", "no:cacheprovider", "-rs", f"--stomp-url={broker.url}"
        )
    result.assert_outcomes(skipped=4)
    result.stdout.fnmatch_lines(
        ["SKIPPED ?1? test_tls.py:*: stomp_tls_broker is a fake broker with a throwaway certificate*"]
    )
