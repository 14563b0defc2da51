"""ssl:// URLs: a default verifying context when none is given, never a silent fall-back to plaintext."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from stomptest.broker import Broker
from stomptest.client import AsyncClient, Client
from stomptest.client.transport import tls_context
from stomptest.protocol import ConnectTimeout
from stomptest.urls import Endpoint as Address


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed, so no certificate can be made for the TLS tests")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return folder


@pytest.fixture
def tls_broker(certificate: Path) -> Iterator[Broker]:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(certificate / "cert.pem", certificate / "key.pem")
    with Broker(ssl_context=server) as broker:
        yield broker


def test_ssl_url_without_context_verifies_and_refuses_an_unknown_certificate(tls_broker: Broker) -> None:
    assert tls_broker.url.startswith("ssl://")
    with pytest.raises(ConnectTimeout, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
        Client(tls_broker.url, connect_timeout=5).connect()
    assert tls_broker.transcript(command="CONNECT") == []  # not one byte of STOMP went out in clear


def test_ssl_url_with_a_trusting_context_connects(tls_broker: Broker, certificate: Path) -> None:
    context = ssl.create_default_context(cafile=str(certificate / "cert.pem"))
    with Client(tls_broker.url, ssl_context=context) as client:
        client.send("/queue/tls", b"secret", receipt=True)
    assert [m.body for m in tls_broker.messages("/queue/tls")] == [b"secret"]

    async def main() -> None:
        async with AsyncClient(tls_broker.url, ssl_context=context) as client:
            await client.send("/queue/tls", b"async", receipt=True)

    asyncio.run(main())
    assert len(tls_broker.messages("/queue/tls")) == 2


def test_default_context_is_the_verifying_one() -> None:
    context = tls_context(Address("ssl", "example.org", 61614), None)
    assert context is not None
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert tls_context(Address("tcp", "example.org", 61613), None) is None
