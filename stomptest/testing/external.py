"""`ExternalBroker`: the broker handle under --stomp-url, doing over STOMP what it can.

A real broker cannot be inspected, so the assertion helpers subscribe and look: they
take messages with client acknowledgement and never acknowledge them, so when the
look-up disconnects the broker puts them back (marked redelivered). Each test gets its
own destination names (`destination()`), so parallel or repeated runs never collide.
Anything that needs the fake broker's inspection or faults skips the test, with the reason.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from collections.abc import Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from stomptest.client.transport import websocket
from stomptest.protocol.errors import BrokerError, ConnectionLost, StompError
from stomptest.protocol.frame import Frame
from stomptest.protocol.parser import Parser
from stomptest.testing.matching import BodyArg, HeadersArg, SentMessage, as_bytes, describe_wanted, matches, report
from stomptest.testing.settings import Target
from stomptest.urls import Endpoint

DEFAULT_TIMEOUT = 2.0
_FAKE_ATTRIBUTES = frozenset({"engine", "limits", "profile"})  # set per instance on a FakeBroker


class ExternalBroker:
    """The handle the broker fixtures give under --stomp-url: its address, credentials, and STOMP-level helpers."""

    external = True

    def __init__(
        self,
        target: Target,
        *,
        token: str,
        versions: Sequence[str] = ("1.0", "1.1", "1.2"),
        profile: str = "auto",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.target = target
        self.token = token
        self.versions = tuple(versions)
        self.profile_name = profile
        self.ssl_context = ssl_context
        self._names: dict[str, str] = {}

    @property
    def url(self) -> str:
        """What a stomptest `Client` takes (tcp://, ssl://, ws://, wss://, failover:(...)); no credentials."""
        return self.target.client_url

    @property
    def ws_url(self) -> str:
        """The WebSocket URL, when --stomp-url names one (ws:// or wss://); otherwise the test is skipped.

        A real broker's WebSocket endpoint has a port and path of its own (RabbitMQ: 15674/ws), which a
        tcp:// URL does not tell.
        """
        if self.target.scheme in ("ws", "wss"):
            return self.target.client_url
        pytest.skip(
            f"stomp_broker.ws_url: --stomp-url {self.target.shown} is not a WebSocket URL, and a real broker's "
            "WebSocket endpoint cannot be guessed from it; run with --stomp-url ws://HOST:PORT/PATH"
        )

    @property
    def address(self) -> tuple[str, int]:
        return self.target.address

    @property
    def host(self) -> str:
        return self.target.host

    @property
    def port(self) -> int:
        return self.target.port

    @property
    def login(self) -> str | None:
        return self.target.login

    @property
    def passcode(self) -> str | None:
        return self.target.passcode

    @property
    def vhost(self) -> str:
        return self.target.vhost if self.target.vhost is not None else "/"

    running = True

    def __repr__(self) -> str:
        return f"<ExternalBroker {self.target.shown} token={self.token}>"

    def destination(self, name: str) -> str:
        """`name` with this test's suffix (``/queue/orders`` -> ``/queue/orders-st<token>``): no run collides."""
        if name not in self._names:
            self._names[name] = f"{name}-st{self.token}"
        return self._names[name]

    def check(self) -> None:
        """Nothing to check: a real broker's own failures reach the client as ERROR frames."""

    def clear(self) -> None:
        """Nothing to clear: each test has its own destinations."""

    def seed(self, destination: str, body: bytes | str = b"", headers: HeadersArg = None, count: int = 1) -> list[str]:
        """Send `count` messages to `destination` over STOMP (with a receipt); returns no message ids (unknown)."""
        __tracebackhide__ = True  # a failure shows the test's line, not this one
        line = self._line()
        try:
            frame = Frame("SEND", {**(headers or {}), "destination": destination}, body)
            for _ in range(count - 1):
                line.send(frame)
            line.send_and_wait(frame)
        finally:
            line.close()
        return []

    def assert_sent(
        self,
        destination: str,
        body: BodyArg = None,
        headers: HeadersArg = None,
        *,
        count: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> list[SentMessage]:
        """Assert a matching message is waiting on the queue `destination` (looked at, then put back).

        Topics keep nothing for late subscribers, so on an external broker this works for queues.
        """
        __tracebackhide__ = True  # a failure shows the test's line, not this one
        wanted = as_bytes(body)
        seen = self._look(destination, timeout, stop=lambda found: _count(found, destination, wanted, headers, count))
        found = [m for m in seen if matches(m, destination, wanted, headers)]
        if found and (count is None or len(found) == count):
            return found
        what = describe_wanted(destination, wanted, headers)
        if found:
            title = f"expected {count} message(s) on {what} at {self.target.shown}, found {len(found)}:"
            raise AssertionError("\n".join([title, *(f"  {m}" for m in found)]))
        raise AssertionError(
            report(
                f"expected a message on {what} within {timeout:g} s at {self.target.shown}",
                seen,
                destination,
                wanted,
                headers,
                f"nothing was waiting on {destination} (an external broker is looked at over STOMP: queues only)",
            )
        )

    def assert_nothing_sent(self, destination: str | None = None, *, within: float = 0.1) -> None:
        """Assert nothing waits on the queue `destination`, watching for `within` seconds."""
        __tracebackhide__ = True  # a failure shows the test's line, not this one
        if destination is None:
            self._fake_only("assert_nothing_sent() without a destination")
        seen = self._look(destination, within, stop=bool)
        if seen:
            lines = [f"expected nothing sent to {destination} at {self.target.shown}, but found:"]
            raise AssertionError("\n".join(lines + [f"  {m}" for m in seen[:10]]))

    def _look(self, destination: str, timeout: float, stop: Any) -> list[SentMessage]:
        __tracebackhide__ = True  # a failure shows the test's line, not this one
        seen: list[SentMessage] = []
        line = self._line()
        try:
            ack = "client" if line.version == "1.0" else "client-individual"
            line.send(Frame("SUBSCRIBE", {"destination": destination, "id": "look", "ack": ack}))
            deadline = time.monotonic() + timeout
            while not stop(seen):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                frame = line.receive(left)
                if frame is not None and frame.command == "MESSAGE":
                    headers = frame.headers
                    seen.append(
                        SentMessage(
                            0, headers.get("destination", destination), MappingProxyType(dict(headers)), frame.body
                        )
                    )
        finally:
            line.close()
        return seen

    def _line(self) -> _Line:
        """A new connection; the caller closes it (no context manager: its frames would show in failures)."""
        __tracebackhide__ = True  # a failure shows the test's line, not this one
        return _Line(self.target, self.versions, self.vhost, self.ssl_context)

    def _fake_only(self, what: str) -> NoReturn:
        __tracebackhide__ = True  # a failure shows the test's line, not this one
        pytest.skip(
            f"{what} needs the fake broker's inspection or faults; running against {self.target.shown} "
            "(mark the test @pytest.mark.stomp_fake_only)"
        )

    if not TYPE_CHECKING:  # hidden from mypy, so a fake-only call on this handle is a type error

        def __getattr__(self, name: str) -> Any:
            """A fake broker's method or attribute: skip the test, saying it needs the fake broker."""
            __tracebackhide__ = True  # a failure shows the test's line, not this one
            from stomptest.testing.fake import FakeBroker

            if not name.startswith("_") and (hasattr(FakeBroker, name) or name in _FAKE_ATTRIBUTES):
                self._fake_only(f"stomp_broker.{name}")
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def _count(
    found: list[SentMessage], destination: str, body: bytes | None, headers: HeadersArg, count: int | None
) -> bool:
    hits = sum(matches(m, destination, body, headers) for m in found)
    return hits >= (count or 1)


class _Line:
    """A bare blocking STOMP connection for the handle's look-ups (the codec over a socket, no threads)."""

    def __init__(self, target: Target, versions: Sequence[str], vhost: str, ssl_context: ssl.SSLContext | None) -> None:
        __tracebackhide__ = True  # a failure shows the test's line, not this one
        self.timeout = target.timeout
        sock = socket.create_connection(target.address, timeout=self.timeout)
        if target.scheme in ("ssl", "wss"):
            context = ssl_context or ssl.create_default_context()
            sock = context.wrap_socket(sock, server_hostname=target.host)
        self.sock = sock
        self.parser = Parser("1.2")
        self.pending: list[Frame] = []
        self.websocket = websocket(Endpoint(target.scheme, target.host, target.port, target.path))
        if self.websocket is not None:
            self._upgrade(target)
        headers = {"host": vhost, "heart-beat": "0,0"}
        if tuple(versions) != ("1.0",):
            headers["accept-version"] = ",".join(versions)
        if target.login is not None:
            headers["login"] = target.login
        if target.passcode is not None:
            headers["passcode"] = target.passcode
        self.version = "1.2"
        self.send(Frame("CONNECT", headers))
        answer = self.receive(self.timeout)
        if answer is None:
            self.close()
            raise ConnectionLost(f"no CONNECTED from {target.shown} within {self.timeout:g} s")
        if answer.command != "CONNECTED":
            self.close()
            raise BrokerError(answer, f"connecting to {target.shown}")
        self.connected = answer
        """The CONNECTED frame: who answered (`server`) and in which version."""
        self.version = answer.headers.get("version", "1.0")
        self.parser.version = self.version

    def _upgrade(self, target: Target) -> None:
        """The WebSocket's opening handshake, before CONNECT."""
        ws = self.websocket
        assert ws is not None
        self.sock.sendall(ws.data_to_send())
        end = time.monotonic() + self.timeout
        while not ws.opened:
            self.sock.settimeout(max(0.001, end - time.monotonic()))
            data = self.sock.recv(65536)
            if not data or time.monotonic() > end:
                self.close()
                raise ConnectionLost(
                    f"no answer to the WebSocket upgrade from {target.shown} within {self.timeout:g} s"
                )
            self.pending += [item for item in self.parser.feed(ws.receive_data(data)) if isinstance(item, Frame)]
            if ws.closed is not None:
                self.close()
                raise ws.closed

    def send(self, frame: Frame) -> None:
        data = frame.encode(self.version)
        self.sock.sendall(data if self.websocket is None else self.websocket.send([data]))

    def send_and_wait(self, frame: Frame) -> None:
        """Send with a receipt and wait for it, so everything sent before has been processed."""
        __tracebackhide__ = True  # a failure shows the test's line, not this one
        self.send(Frame(frame.command, [*frame.raw_headers, ("receipt", "sync")], frame.body))
        end = time.monotonic() + self.timeout
        while (answer := self.receive(end - time.monotonic())) is not None:
            if answer.command == "RECEIPT":
                return
        raise ConnectionLost(f"no RECEIPT for {frame.command} within {self.timeout:g} s")

    def receive(self, timeout: float) -> Frame | None:
        __tracebackhide__ = True  # a failure shows the test's line, not this one
        deadline = time.monotonic() + timeout
        while not self.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                return None
            if not data:
                raise ConnectionLost("the broker closed the connection")
            ws = self.websocket
            if ws is not None:
                data = ws.receive_data(data)
                if ws.has_data_to_send:
                    self.sock.sendall(ws.data_to_send())
                if ws.closed is not None and not data:
                    raise ws.closed
            self.pending += [item for item in self.parser.feed(data) if isinstance(item, Frame)]
        frame = self.pending.pop(0)
        if frame.command == "ERROR":
            raise BrokerError(frame)
        return frame

    def close(self) -> None:
        with contextlib.suppress(OSError, StompError):
            self.sock.settimeout(self.timeout)
            self.send(Frame("DISCONNECT", {"receipt": "bye"}))
            end = time.monotonic() + self.timeout
            while time.monotonic() < end:
                frame = self.receive(end - time.monotonic())
                if frame is None or frame.command == "RECEIPT":
                    break
        with contextlib.suppress(OSError):
            self.sock.close()
