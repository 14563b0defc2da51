"""`FakeBroker`: the fake broker with the plugin's assertion helpers, read from its transcripts.

Every helper waits (polling snapshots, never sleeping blindly) because a client's SEND
or ACK reaches the broker some time after the client's call returns. On failure the
message lists the closest things the broker did see, so a wrong destination, header or
body is visible at a glance.
"""

from __future__ import annotations

import ssl
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal, TypeVar

from stomptest.broker.broker import Broker, BrokerFailure, WaitTimeout
from stomptest.broker.profiles import Profile
from stomptest.broker.snapshot import TranscriptEntry, transcript
from stomptest.protocol.frame import Frame
from stomptest.testing.matching import (
    BodyArg,
    Delivery,
    HeadersArg,
    SentMessage,
    as_bytes,
    describe_wanted,
    matches,
    report,
)

T = TypeVar("T")

DEFAULT_TIMEOUT = 2.0


class FakeBroker(Broker):
    """A `Broker` with assertion helpers; what the `stomp_broker` fixtures give when no --stomp-url is set.

    All of `Broker` is here too: snapshots, `wait_for...`, `seed`, `purge`, `reset` and the faults.
    """

    external = False

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        profile: str | Profile = "strict",
        users: Mapping[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        *,
        tls: bool = False,
        **limits: int,
    ) -> None:
        super().__init__(host, port, profile, users, ssl_context, tls=tls, data_dir=None, **limits)
        self._baseline = 0  # connections up to this id belong to earlier tests (session broker)
        self._errors_before = 0  # internal errors reported to earlier tests
        self._users = dict(users or {})

    # -- what a client needs to reach it

    @property
    def login(self) -> str | None:
        """A login the broker accepts (the first of `users`), or None when it accepts anyone."""
        return next(iter(self._users), None)

    @property
    def passcode(self) -> str | None:
        login = self.login
        return self._users[login] if login is not None else None

    @property
    def vhost(self) -> str:
        """The CONNECT host header to send: "/" (the strict profile wants one; RabbitMQ's default vhost)."""
        return "/"

    def destination(self, name: str) -> str:
        """The destination to use for `name`: unchanged on a fake broker (an external one adds a per-test suffix)."""
        return name

    def clear(self) -> None:
        """Drop connections, messages and the record of what was sent: the next test starts clean.

        `check()` then reports only failures that happen after the clear.
        """
        self.reset()
        self._baseline = self._call(self._last_connection_id)
        self._errors_before = self._call(lambda: len(self.engine.internal_errors))

    def check(self) -> None:
        """Raise `BrokerFailure` if the broker hit a bug of its own (since the last `clear()`)."""
        __tracebackhide__ = True  # a failure shows the test's line, not this one
        errors = self._call(lambda: list(self.engine.internal_errors))[self._errors_before :]
        if errors:
            raise BrokerFailure(f"the broker failed {len(errors)} time(s); first:\n{errors[0]}")

    def _last_connection_id(self) -> int:
        engine = self.engine
        return max((c.id for c in [*engine.finished, *engine.connections.values()]), default=0)

    # -- logs

    def _entries(self) -> list[TranscriptEntry]:
        """Frames of the connections opened since the last `clear()`, in time order (collected in the hub)."""
        baseline = self._baseline

        def collect() -> list[TranscriptEntry]:
            engine = self.engine
            entries: list[TranscriptEntry] = []
            for connection in [*engine.finished, *engine.connections.values()]:
                if connection.id > baseline:
                    entries += transcript(connection)
            entries.sort(key=lambda e: e.time)
            return entries

        return self._call(collect)

    def sent(self, destination: str | None = None) -> list[SentMessage]:
        """Every SEND received (since the last `clear()`), in order, with its transaction's state."""
        found: list[SentMessage] = []
        outcome: dict[tuple[int, str], Literal["sent", "aborted"]] = {}
        for entry in self._entries():
            frame = entry.frame
            if entry.direction != "in" or not isinstance(frame, Frame):
                continue
            headers = frame.headers
            if frame.command in ("COMMIT", "ABORT") and "transaction" in headers:
                outcome[(entry.connection, headers["transaction"])] = "sent" if frame.command == "COMMIT" else "aborted"
            elif frame.command == "SEND" and (destination is None or headers.get("destination") == destination):
                found.append(
                    SentMessage(
                        entry.connection,
                        headers.get("destination", ""),
                        MappingProxyType(dict(headers)),
                        frame.body,
                        headers.get("transaction"),
                    )
                )
        return [
            replace(m, state=outcome.get((m.connection, m.transaction), "pending")) if m.transaction else m
            for m in found
        ]

    def deliveries(self, destination: str | None = None) -> list[Delivery]:
        """Every MESSAGE delivered (since the last `clear()`), with whether it was acknowledged."""
        found = _Deliveries().walk(self._entries())
        return [d for d in found if destination is None or d.destination == destination]

    # -- assertions

    def assert_sent(
        self,
        destination: str,
        body: BodyArg = None,
        headers: HeadersArg = None,
        *,
        count: int | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> list[SentMessage]:
        """Assert a message matching `body` (bytes or str) and `headers` (a subset) was sent to `destination`.

        Waits up to `timeout` seconds for it; with `count`, for exactly that many. SENDs in
        transactions count once committed. Returns the matching messages.
        """
        __tracebackhide__ = True  # a failure shows the test's line, not this one
        wanted = as_bytes(body)

        def attempt() -> list[SentMessage] | None:
            found = [m for m in self.sent() if m.state == "sent" and matches(m, destination, wanted, headers)]
            return found if (len(found) >= (count or 1)) else None

        found = self._poll(attempt, timeout)
        if found is not None and (count is None or len(found) == count):
            return found
        everything = self.sent()
        what = describe_wanted(destination, wanted, headers)
        if found is not None:
            title = f"expected {count} message(s) sent to {what}, found {len(found)}:"
            raise self._with_errors("\n".join([title, *(f"  {m}" for m in found)]))
        hits = [m for m in everything if matches(m, destination, wanted, headers)]
        if hits:  # matching, but in a transaction that is not committed
            title = f"no committed message sent to {what} within {timeout:g} s; matching but not committed:"
            raise self._with_errors("\n".join([title, *(f"  {m}" for m in hits)]))
        expected = f"{count} " if count else "a "
        raise self._with_errors(
            report(
                f"expected {expected}message sent to {what} within {timeout:g} s",
                everything,
                destination,
                wanted,
                headers,
                "nothing was sent to any destination",
            )
        )

    def assert_nothing_sent(self, destination: str | None = None, *, within: float = 0.1) -> None:
        """Assert no message was sent to `destination` (or anywhere), watching for `within` seconds."""
        __tracebackhide__ = True  # a failure shows the test's line, not this one
        self.check()
        deadline = time.monotonic() + within
        while True:
            found = [m for m in self.sent(destination) if m.state != "aborted"]
            if found:
                where = destination or "any destination"
                lines = [f"expected nothing sent to {where}, but {len(found)} message(s) were:"]
                lines += [f"  {m}" for m in found[:10]]
                raise self._with_errors("\n".join(lines))
            if time.monotonic() >= deadline:
                return
            time.sleep(min(0.01, max(0.0, deadline - time.monotonic())))

    def assert_acknowledged(
        self,
        destination: str | None = None,
        body: BodyArg = None,
        headers: HeadersArg = None,
        *,
        message_id: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> list[Delivery]:
        """Assert a delivered message matching the arguments was acknowledged (ACK, committed if transacted).

        A client-mode ACK acknowledges the earlier messages of its subscription too. Messages
        of auto-ack subscriptions need no ACK and do not count. Returns the acknowledged deliveries.
        """
        __tracebackhide__ = True  # a failure shows the test's line, not this one
        wanted = as_bytes(body)

        def matching(deliveries: list[Delivery]) -> list[Delivery]:
            return [
                d
                for d in deliveries
                if matches(d, destination, wanted, headers) and (message_id is None or d.message_id == message_id)
            ]

        def attempt() -> list[Delivery] | None:
            acked = [d for d in matching(self.deliveries()) if d.status == "acked"]
            return acked or None

        found = self._poll(attempt, timeout)
        if found is not None:
            return found
        everything = self.deliveries()
        what = describe_wanted(destination, wanted, headers) + (f" message-id:{message_id}" if message_id else "")
        hits = matching(everything)
        if hits:
            title = f"no acknowledgement within {timeout:g} s for a message to {what}; its deliveries:"
            note = [
                "  (auto-ack subscriptions need no ACK: subscribe with ack=client or client-individual)"
                if any(d.status == "auto" for d in hits)
                else ""
            ]
            raise self._with_errors("\n".join([title, *(f"  {d}" for d in hits), *filter(None, note)]))
        raise self._with_errors(
            report(
                f"expected an acknowledged message to {what} within {timeout:g} s; no such message was delivered",
                everything,
                destination,
                wanted,
                headers,
                "no message was delivered at all",
            )
        )

    def errors_sent(self) -> list[TranscriptEntry]:
        """The ERROR frames the broker sent (since the last `clear()`): often why an assertion failed."""
        return [e for e in self._entries() if e.direction == "out" and e.command == "ERROR"]

    def _with_errors(self, text: str) -> AssertionError:
        errors = self.errors_sent()
        if errors:
            text += f"\nthe broker sent {len(errors)} ERROR frame(s):\n" + "\n".join(
                f"  {e} {_error_text(e)}" for e in errors[:5]
            )
        return AssertionError(text)

    def _poll(self, attempt: Callable[[], T | None], timeout: float) -> T | None:
        """Call `attempt` until it returns something or `timeout` passes; raise broker failures first."""
        __tracebackhide__ = True  # a failure shows the test's line, not this one
        self.check()
        deadline = time.monotonic() + timeout
        pause = 0.0005
        while True:
            result = attempt()
            if result is not None or time.monotonic() >= deadline:
                self.check()
                return result
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 0.02)


def _error_text(entry: TranscriptEntry) -> str:
    frame = entry.frame
    if isinstance(frame, Frame) and frame.body:
        return repr(frame.body.decode("utf-8", "replace").strip()[:200])
    return ""


@dataclass
class _Sub:
    ack: str
    delivered: list[Delivery]


class _Deliveries:
    """Replays transcripts to learn each delivery's fate (ack modes, cumulative ACKs, transactions)."""

    def __init__(self) -> None:
        self.subs: dict[tuple[int, str], _Sub] = {}
        self.by_destination: dict[tuple[int, str], _Sub] = {}
        self.order: list[tuple[_Sub, int]] = []
        self.by_ack: dict[tuple[int, str], tuple[_Sub, int]] = {}
        self.held: defaultdict[tuple[int, str], list[tuple[str, int, Mapping[str, str]]]] = defaultdict(list)

    def walk(self, entries: list[TranscriptEntry]) -> list[Delivery]:
        for entry in entries:
            frame = entry.frame
            if not isinstance(frame, Frame):
                continue
            connection, headers = entry.connection, frame.headers
            if entry.direction == "out":
                if frame.command == "MESSAGE":
                    self._delivered(connection, frame)
                continue
            command = frame.command
            if command == "SUBSCRIBE":
                sub = _Sub(headers.get("ack", "auto"), [])
                key = headers.get("id", headers.get("destination", ""))
                self.subs[(connection, key)] = sub
                self.by_destination[(connection, headers.get("destination", ""))] = sub
            elif command in ("ACK", "NACK"):
                transaction = headers.get("transaction")
                if transaction is not None:
                    self.held[(connection, transaction)].append((command, connection, headers))
                else:
                    self._settle(command, connection, headers)
            elif command == "COMMIT":
                for held in self.held.pop((connection, headers.get("transaction", "")), []):
                    self._settle(*held)
            elif command == "ABORT":
                self.held.pop((connection, headers.get("transaction", "")), None)
        return [sub.delivered[index] for sub, index in self.order]

    def _delivered(self, connection: int, frame: Frame) -> None:
        headers = frame.headers
        destination = headers.get("destination", "")
        sub = self.subs.get((connection, headers.get("subscription", ""))) or self.by_destination.get(
            (connection, destination)
        )
        if sub is None:  # a MESSAGE the test injected, or a subscription we did not see
            sub = _Sub("auto", [])
        ack_id = headers.get("ack", headers.get("message-id", ""))
        delivery = Delivery(
            connection,
            headers.get("subscription", ""),
            destination,
            headers.get("message-id", ""),
            MappingProxyType(dict(headers)),
            frame.body,
            sub.ack,
            "auto" if sub.ack == "auto" else "unacked",
            ack_id,
        )
        sub.delivered.append(delivery)
        place = (sub, len(sub.delivered) - 1)
        self.order.append(place)
        self.by_ack[(connection, ack_id)] = place
        self.by_ack[(connection, "message-id:" + delivery.message_id)] = place

    def _settle(self, command: str, connection: int, headers: Mapping[str, str]) -> None:
        place = None
        if "id" in headers:
            place = self.by_ack.get((connection, headers["id"]))
        if place is None and "message-id" in headers:
            place = self.by_ack.get((connection, "message-id:" + headers["message-id"]))
        if place is None:
            return
        sub, index = place
        status: Literal["acked", "nacked"] = "acked" if command == "ACK" else "nacked"
        first = 0 if (command == "ACK" and sub.ack == "client") else index
        for i in range(first, index + 1):
            if i == index or sub.delivered[i].status == "unacked":
                sub.delivered[i] = replace(sub.delivered[i], status=status)


__all__ = ["DEFAULT_TIMEOUT", "FakeBroker", "WaitTimeout"]
