"""TLS without a certificate of one's own: a throwaway CA and a server certificate made on the spot.

`Broker(tls=True)` serves `ssl://` with a certificate for its listen address (and localhost,
127.0.0.1, ::1) from a CA made for that broker alone; `broker.tls.client_context()` trusts
that CA and nothing else, and `broker.tls.ca_pem` is its certificate for other clients
(write it to a file for stomp.py or `stomptest send --ca`). trustme makes them: it is the
library the Python TLS projects (urllib3, trio, httpx) test with, it keeps keys in memory,
and its ECDSA keys take milliseconds, so a test pays nothing for TLS. It is an optional
dependency (``pip install 'stomptest[tls]'``), loaded only when TLS is asked for.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stomptest.protocol.errors import ConfigurationError

DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1")


def _trustme() -> Any:
    try:
        import trustme
    except ImportError:
        raise ConfigurationError(
            "TLS with a throwaway certificate needs trustme: pip install 'stomptest[tls]' "
            "(or pass ssl_context= with a certificate of your own)"
        ) from None
    return trustme


@dataclass(frozen=True)
class ThrowawayTLS:
    """A CA made for one broker (or one test session) and a server certificate it signed."""

    ca: Any = field(repr=False)  # trustme.CA
    names: tuple[str, ...]

    @classmethod
    def make(cls, *names: str) -> ThrowawayTLS:
        """A new CA; the server certificate names `names` (default: localhost, 127.0.0.1 and ::1)."""
        return cls(_trustme().CA(organization_name="stomptest throwaway CA"), _names(names))

    @property
    def ca_pem(self) -> bytes:
        """The CA certificate in PEM: what a client outside this process is told to trust."""
        pem: bytes = self.ca.cert_pem.bytes()
        return pem

    def write_ca(self, path: str | Path) -> Path:
        """Write `ca_pem` to `path` (for `--ca FILE` options and other clients); returns the path."""
        target = Path(path)
        target.write_bytes(self.ca_pem)
        return target

    def server_context(self) -> ssl.SSLContext:
        """A server context with a certificate for `names`, signed by the CA."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert(*self.names).configure_cert(context)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that verifies the broker against this CA (host names checked), and trusts nothing else."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificate and host name; no system CAs
        context.load_verify_locations(cadata=self.ca_pem.decode("ascii"))
        return context


def _names(names: tuple[str, ...]) -> tuple[str, ...]:
    """The names a certificate must carry: the listen address (unless a wildcard) and the loopback names."""
    found: list[str] = []
    for name in (*names, *DEFAULT_NAMES):
        if name in found or name in ("", "0.0.0.0", "::"):
            continue
        try:
            ipaddress.ip_address(name)
        except ValueError:
            if not name.replace("-", "").replace(".", "").isalnum():
                error = f"cannot make a certificate for {name!r}: give a host name or an IP address"
                raise ConfigurationError(error) from None
        found.append(name)
    return tuple(found)
