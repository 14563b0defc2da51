"""What a check works with: connections to the target, unique destinations, and a place for findings.

Everything a check needs to send is built here in the exact form its STOMP version
requires (CONNECT headers, ACK headers), so the checks themselves read as the spec does.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import NoReturn

from stomptest.conformance.model import Finding, NotApplicable, Target
from stomptest.conformance.probe import Probe, ProbeClosed, ProbeTimeout, Transcript
from stomptest.protocol.frame import Frame, HeadersArg


class CheckAborted(Exception):
    """A finding that makes the rest of the check meaningless; already recorded."""


def clause(version: str, section: str) -> str:
    """The spec clause a finding rests on, e.g. ``STOMP 1.2 "Value Encoding"``."""
    return f'STOMP {version} "{section}"'


class Context:
    """One run of one check in one version."""

    def __init__(self, target: Target, check: str, version: str, run_id: str | None = None) -> None:
        self.target = target
        self.check = check
        self.version = version
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.transcript = Transcript()
        self.findings: list[Finding] = []
        self.notes: list[str] = []
        self.observations: dict[str, str] = {}
        self.probes: list[Probe] = []
        self._counter = itertools.count(1)

    # -- bookkeeping

    def unique(self, prefix: str = "r") -> str:
        return f"{prefix}{next(self._counter)}"

    def destination(self, kind: str = "queue", tag: str = "") -> str:
        """A destination no other check, version or run uses."""
        suffix = f".{tag}" if tag else ""
        name = f"stomptest.{self.run_id}.{self.check}.v{self.version.replace('.', '')}{suffix}"
        return f"/{kind}/{name}"

    def clause(self, section: str, version: str | None = None) -> str:
        return clause(version or self.version, section)

    def expect(self, ok: bool, code: str, section: str, message: str) -> bool:
        """Record a finding unless `ok`; return `ok` so checks can branch on it."""
        if not ok:
            self.findings.append(Finding(code, self.clause(section), message))
        return ok

    def fatal(self, code: str, section: str, message: str) -> NoReturn:
        self.findings.append(Finding(code, self.clause(section), message))
        raise CheckAborted(message)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def observe(self, key: str, value: str) -> None:
        """Record what the broker did where the spec leaves a choice; fidelity tests compare these."""
        self.observations[key] = value
        self.notes.append(f"{key}: {value}")

    def close_all(self) -> None:
        for probe in self.probes:
            probe.close()

    # -- connections

    def open(self, label: str | None = None, version: str | None = None) -> Probe:
        """A connection (TCP, TLS for ssl://, WebSocket for ws:// and wss://) with no STOMP sent yet."""
        probe = Probe(
            self.target.host,
            self.target.port,
            version=version or self.version,
            timeout=self.target.timeout,
            label=label or f"c{len(self.probes) + 1}",
            transcript=self.transcript,
            ssl_context=self.target.tls_context(),
            websocket_path=self.target.path,
        )
        self.probes.append(probe)
        return probe

    def connect_headers(
        self, version: str | None = None, heartbeat: str | None = None, *, host: str | None = None
    ) -> list[tuple[str, str]]:
        """The CONNECT headers of a well-behaved client of `version` (1.0 sends no accept-version)."""
        version = version or self.version
        headers: list[tuple[str, str]] = []
        if version != "1.0":
            headers.append(("accept-version", version))
            headers.append(("host", self.target.vhost if host is None else host))
        if self.target.login is not None:
            headers.append(("login", self.target.login))
        if self.target.passcode is not None:
            headers.append(("passcode", self.target.passcode))
        if heartbeat is not None and version != "1.0":
            headers.append(("heart-beat", heartbeat))
        return headers

    def connect(
        self,
        label: str | None = None,
        *,
        heartbeat: str | None = None,
        command: str = "CONNECT",
        extra: Iterable[tuple[str, str]] = (),
    ) -> Probe:
        """Connect in this context's version; a refusal or another version aborts the check."""
        probe = self.open(label)
        headers = [*self.connect_headers(heartbeat=heartbeat), *extra]
        probe.send_raw(Frame(command, headers).encode("1.2" if self.version == "1.0" else self.version))
        try:
            answer = probe.next_frame()
        except (ProbeTimeout, ProbeClosed) as exc:
            self.fatal("connect-failed", "CONNECTED Frame", f"no CONNECTED for a plain {command}: {exc}")
        if answer.command != "CONNECTED":
            self.fatal(
                "connect-refused",
                "CONNECTED Frame",
                f"{command} got {answer.command} {answer.headers.get('message', '')!r} instead of CONNECTED",
            )
        spoken = answer.headers.get("version", "1.0")
        if spoken != self.version:
            raise NotApplicable(f"the broker answers {spoken} when asked for {self.version} only")
        probe.version = self.version
        return probe

    # -- frames of a well-behaved client

    def request(self, probe: Probe, command: str, headers: HeadersArg = (), body: bytes | str = b"") -> Frame:
        """Send a frame with a receipt and return the RECEIPT; an ERROR or silence aborts the check."""
        receipt = self.unique()
        items = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
        frame = Frame(command, [*items, ("receipt", receipt)], body)
        probe.send(frame)
        try:
            answer = probe.receipt(receipt)
        except (ProbeTimeout, ProbeClosed) as exc:
            self.fatal("no-receipt", "RECEIPT", f"{command} with receipt:{receipt} got no RECEIPT: {exc}")
        if answer.command == "ERROR":
            self.fatal(
                "unexpected-error", command, f"a valid {command} got ERROR {answer.headers.get('message', '')!r}"
            )
        return answer

    def receipts(self, probe: Probe, receipts: Iterable[str], section: str) -> None:
        """Wait for a RECEIPT per id, in any order; an ERROR or silence aborts the check."""
        for receipt in receipts:
            try:
                answer = probe.receipt(receipt)
            except (ProbeTimeout, ProbeClosed) as exc:
                self.fatal("frame-lost", section, f"no RECEIPT receipt-id:{receipt}: {exc}")
            if answer.command == "ERROR":
                self.fatal("frame-refused", section, f"ERROR {answer.headers.get('message', '')!r} instead of RECEIPT")

    def subscribe(
        self, probe: Probe, destination: str, sub_id: str = "s1", ack: str = "auto", extra: HeadersArg = ()
    ) -> None:
        headers: list[tuple[str, str | int]] = [("destination", destination), ("id", sub_id)]
        if ack != "auto":
            headers.append(("ack", ack))
        headers.extend(extra.items() if isinstance(extra, Mapping) else extra)
        self.request(probe, "SUBSCRIBE", headers)

    def send(self, probe: Probe, destination: str, body: bytes | str = b"", headers: HeadersArg = ()) -> None:
        items = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
        self.request(probe, "SEND", [("destination", destination), *items], body)

    def ack_headers(self, message: Frame, sub_id: str) -> list[tuple[str, str]]:
        """What ACK/NACK must carry in this version to name `message`."""
        if self.version == "1.2":
            return [("id", message.headers.get("ack", message.headers.get("message-id", "")))]
        headers = [("message-id", message.headers.get("message-id", ""))]
        if self.version == "1.1":
            headers.append(("subscription", message.headers.get("subscription", sub_id)))
        return headers

    def messages(self, probe: Probe, count: int, timeout: float | None = None) -> list[Frame]:
        """`count` MESSAGEs, or abort the check saying how many came."""
        got: list[Frame] = []
        try:
            for _ in range(count):
                got.append(probe.wait_for(lambda f: f.command in ("MESSAGE", "ERROR"), timeout, "MESSAGE"))
                if got[-1].command == "ERROR":
                    self.fatal("unexpected-error", "MESSAGE", f"ERROR {got[-1].headers.get('message', '')!r}")
        except (ProbeTimeout, ProbeClosed) as exc:
            self.fatal("missing-message", "MESSAGE", f"expected {count} MESSAGE(s), got {len(got)}: {exc}")
        return got

    def quiet(self, probe: Probe, seconds: float = 0.5) -> list[Frame]:
        """Frames (MESSAGEs mostly) that arrive within `seconds`, taken from the backlog."""
        probe.poll(seconds)
        frames = list(probe.backlog)
        probe.backlog.clear()
        return frames

    def gather(self, probes: Probe | list[Probe], expect: int, extra: float = 0.3) -> list[Frame]:
        """MESSAGEs from `probes`: wait (up to the target's timeout) until `expect` came, then `extra` s for more.

        Waiting for the expected count first keeps a slow broker from failing a check; the
        short wait after it is what catches a broker that delivers too much.
        """
        group = probes if isinstance(probes, list) else [probes]
        got: list[Frame] = []

        def take() -> None:
            for probe in group:
                got.extend(f for f in probe.backlog if f.command == "MESSAGE")
                probe.backlog[:] = [f for f in probe.backlog if f.command != "MESSAGE"]

        deadline = time.monotonic() + self.target.timeout
        take()
        while len(got) < expect and time.monotonic() < deadline and not all(p.closed for p in group):
            for probe in group:
                probe.poll(0.02)
            take()
        end = time.monotonic() + extra
        while time.monotonic() < end and not all(p.closed for p in group):
            for probe in group:
                probe.poll(0.02)
        take()
        return got

    def disconnect(self, probe: Probe) -> None:
        """DISCONNECT politely and wait for the receipt; the check does not depend on it."""
        if probe.closed:
            return
        receipt = self.unique()
        try:
            probe.send(Frame("DISCONNECT", {"receipt": receipt}))
            probe.receipt(receipt)
        except (ProbeTimeout, ProbeClosed):
            pass
        probe.close()

    def drain(self, destination: str, seconds: float = 0.3) -> int:
        """Consume whatever is left on a queue so the check leaves the broker as it found it."""
        probe = self.connect("drain")
        self.subscribe(probe, destination, "drain")
        count = len([f for f in self.quiet(probe, seconds) if f.command == "MESSAGE"])
        self.disconnect(probe)
        return count
