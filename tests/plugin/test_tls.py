"""TLS through the overridable context fixtures, as pytest-httpserver does it."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import make_certificate

TESTS = """
def test_fake_brokers_serve_tls(stomp_broker, stomp_client, stomp_broker_factory):
    assert stomp_broker.url.startswith("ssl://")
    stomp_client.send("/queue/secure", "over TLS", receipt=True)
    stomp_broker.assert_sent("/queue/secure", "over TLS")
    assert stomp_broker_factory().url.startswith("ssl://")


def test_the_session_broker_too(stomp_broker_session, stomp_client):
    assert stomp_broker_session.url.startswith("ssl://")
    stomp_client.send("/queue/secure", "session over TLS", receipt=True)
    stomp_broker_session.assert_sent("/queue/secure", "session over TLS")
"""

CONFTEST = """
import ssl

import pytest

@pytest.fixture(scope="session")
def stomp_broker_ssl_context():
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain({cert!r}, {key!r})
    return context

@pytest.fixture(scope="session")
def stomp_client_ssl_context():
    return ssl.create_default_context(cafile={cert!r})
"""


def test_overriding_the_context_fixtures_serves_and_trusts_tls(pytester: pytest.Pytester, tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    pytester.makeconftest(CONFTEST.format(cert=cert, key=key))
    pytester.makepyfile(TESTS)
    pytester.runpytest_inprocess("-p", "no:xdist").assert_outcomes(passed=2)


def test_the_external_handle_uses_the_client_context_for_ssl_urls(pytester: pytest.Pytester, tmp_path: Path) -> None:
    import ssl

    from stomptest.broker import Broker

    cert, key = make_certificate(tmp_path)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    pytester.makeconftest(CONFTEST.format(cert=cert, key=key))
    pytester.makepyfile(
        """
        def test_it(stomp_broker, stomp_client):
            queue = stomp_broker.destination("/queue/secure")
            stomp_client.send(queue, "external over TLS", receipt=True)
            stomp_broker.assert_sent(queue, "external over TLS")
        """
    )
    with Broker(ssl_context=server) as broker:
        result = pytester.runpytest_inprocess("-p", "no:xdist", f"--stomp-url={broker.url}")
    result.assert_outcomes(passed=1)
