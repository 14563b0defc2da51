"""Broker(tls=True): a throwaway CA and certificate, and a client context that trusts exactly that CA."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

pytest.importorskip("trustme")

from stomptest.broker import Broker
from stomptest.broker.tls import ThrowawayTLS
from stomptest.client import Client
from stomptest.protocol.errors import ConfigurationError, ConnectTimeout


def test_a_tls_broker_serves_ssl_that_its_client_context_trusts() -> None:
    with Broker(tls=True) as broker:
        assert broker.tls is not None
        assert broker.url.startswith("ssl://127.0.0.1:") and broker.ws_url.startswith("wss://")
        for url in (broker.url, broker.url.replace("127.0.0.1", "localhost")):  # both names are on the certificate
            with Client(url, ssl_context=broker.tls.client_context()) as client:
                client.send("/queue/a", b"secret", receipt=True)
        assert [m.body for m in broker.wait_for_messages("/queue/a", 2)] == [b"secret", b"secret"]


def test_the_default_context_does_not_trust_a_throwaway_ca() -> None:
    with Broker(tls=True) as broker, pytest.raises(ConnectTimeout, match="CERTIFICATE_VERIFY_FAILED"):
        Client(broker.url, connect_timeout=2).connect()


def test_another_brokers_ca_is_not_trusted() -> None:
    with Broker(tls=True) as broker, pytest.raises(ConnectTimeout, match="CERTIFICATE_VERIFY_FAILED"):
        Client(broker.url, ssl_context=ThrowawayTLS.make().client_context(), connect_timeout=2).connect()


def test_the_ca_written_to_a_file_serves_other_clients(tmp_path: Path) -> None:
    with Broker(tls=True) as broker:
        assert broker.tls is not None
        path = broker.tls.write_ca(tmp_path / "ca.pem")
        assert path.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
        with Client(broker.url, ssl_context=ssl.create_default_context(cafile=str(path))) as client:
            client.send("/queue/a", b"x", receipt=True)


def test_the_certificate_names_the_listen_address_and_the_loopback_names() -> None:
    assert ThrowawayTLS.make("broker.test").names == ("broker.test", "localhost", "127.0.0.1", "::1")
    assert ThrowawayTLS.make("0.0.0.0").names == ("localhost", "127.0.0.1", "::1")


def test_tls_and_a_context_of_ones_own_are_one_or_the_other() -> None:
    with pytest.raises(ConfigurationError, match=r"tls=True .* or ssl_context, not both"):
        Broker(tls=True, ssl_context=ssl.create_default_context(ssl.Purpose.CLIENT_AUTH))
    with pytest.raises(ConfigurationError, match="cannot make a certificate for 'a b'"):
        ThrowawayTLS.make("a b")
