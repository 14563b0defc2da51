"""Socket plumbing shared by the blocking and asyncio clients: options, TLS, addresses, wire bytes.

Every client socket gets `TCP_NODELAY` (STOMP frames are small and a client often
waits for an answer, so Nagle's delay would only add latency), and an `ssl://` or
`wss://` broker without an explicit context gets `ssl.create_default_context()`, which
verifies the certificate and host name: a TLS URL never falls back to plaintext.
A `ws://`/`wss://` endpoint gets a `WebSocketClient` (`websocket()`), which the
connection puts between the socket and STOMP; the shells stay the same.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections.abc import Iterable
from typing import TYPE_CHECKING

from stomptest.client.failover import Endpoint, FailoverUri
from stomptest.protocol.encoder import Encoder as Encoder  # moved to the protocol layer; the old name stays
from stomptest.protocol.errors import ConfigurationError, ConnectTimeout

if TYPE_CHECKING:
    from stomptest.protocol.websocket_client import WebSocketClient

DEFAULT_CONNECT_TIMEOUT = 10.0


def parse_url(url: str | FailoverUri) -> FailoverUri:
    """The failover policy for `url` (a plain `tcp://`/`ssl://` URL means one endpoint and no retries)."""
    return url if isinstance(url, FailoverUri) else FailoverUri(url)


def tls_context(endpoint: Endpoint, ssl_context: ssl.SSLContext | None) -> ssl.SSLContext | None:
    """The context to wrap a connection to `endpoint` with, or None for plain TCP."""
    if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
        raise ConfigurationError(f"ssl_context must be an ssl.SSLContext, not {type(ssl_context).__name__}")
    if endpoint.tls:
        return ssl_context if ssl_context is not None else ssl.create_default_context()
    return None


def verifying_context(ca: str | None, insecure: bool) -> ssl.SSLContext | None:
    """The context for the `--ca`/`--insecure` options of the command line and conformance.

    None leaves the client's default (the system's CAs, verified); `ca` names a PEM file of
    CA certificates; `insecure` turns verification off, and only when asked for.
    """
    if ca is None and not insecure:
        return None
    try:
        context = ssl.create_default_context(cafile=ca)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"--ca {ca}: cannot load CA certificates ({exc}): give a PEM file") from None
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def websocket(endpoint: Endpoint, versions: Iterable[str] = ("1.0", "1.1", "1.2")) -> WebSocketClient | None:
    """The WebSocket layer for a ws:// or wss:// endpoint (None for tcp:// and ssl://).

    It offers the subprotocols of the STOMP `versions` the client offers, highest first
    (v12.stomp, v11.stomp, v10.stomp), as stompjs does. The Host header names the port
    unless it is the scheme's default, as browsers write it.
    """
    if not endpoint.websocket:
        return None
    from stomptest.protocol.websocket_client import WebSocketClient  # wsproto: only when a URL asks for it

    host = f"[{endpoint.host}]" if ":" in endpoint.host else endpoint.host
    if endpoint.port != (443 if endpoint.tls else 80):
        host = f"{host}:{endpoint.port}"
    offered = sorted(set(versions), reverse=True)
    return WebSocketClient(host, endpoint.target, tuple(f"v{version.replace('.', '')}.stomp" for version in offered))


def set_options(sock: socket.socket) -> None:
    """Options every client socket gets (TCP_NODELAY; the family check skips Unix sockets in tests)."""
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def open_socket(broker: Endpoint, ssl_context: ssl.SSLContext | None, timeout: float) -> socket.socket:
    """A connected (and, for ssl://, handshaken) blocking socket; nothing is left open on failure.

    Raises `OSError` (including `ssl.SSLError`) when the broker cannot be reached in time.
    """
    context = tls_context(broker, ssl_context)
    sock = socket.create_connection((broker.host, broker.port), timeout=timeout)  # closes its socket on failure
    try:
        set_options(sock)
        if context is not None:
            wrapped = context.wrap_socket(sock, server_hostname=broker.host)  # handshake under `timeout`
            sock = wrapped
        return sock
    except BaseException:
        with contextlib.suppress(OSError):
            sock.close()
        raise


def gave_up(error: ConnectTimeout, last: BaseException | None) -> ConnectTimeout:
    """The policy's `ConnectTimeout`, naming the last failure so the reason is not lost."""
    if last is None:
        return error
    return ConnectTimeout(f"{error}; last failure: {type(last).__name__}: {last}")
