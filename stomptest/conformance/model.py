"""The vocabulary of a conformance run: targets, checks, findings, verdicts and results."""

from __future__ import annotations

import enum
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stomptest import urls
from stomptest.protocol.spec import VERSIONS

if TYPE_CHECKING:
    from stomptest.conformance.context import Context


class Verdict(str, enum.Enum):
    """How a broker did on one check in one STOMP version."""

    PASS = "pass"
    FAIL = "fail"
    DEVIATES = "deviates"  # differs from the spec exactly as the chosen profile is known to
    NA = "n/a"  # the check does not apply to this version (or to this broker's setup)

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Target:
    """Where the broker under test listens and how to log in to it.

    `tls` wraps every connection in TLS with `ssl_context` (None: the default context, which
    verifies the certificate against the system's CAs and the host name).
    """

    host: str = "127.0.0.1"
    port: int = 61613
    login: str | None = None
    passcode: str | None = None
    vhost: str = "/"  # the CONNECT `host` header; RabbitMQ only accepts its vhost names here
    timeout: float = 3.0  # how long a check waits for an answer that must come
    tls: bool = False
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False, repr=False)
    path: str | None = None  # STOMP over WebSocket: the upgrade's request path (None: STOMP over TCP)

    @property
    def websocket(self) -> bool:
        return self.path is not None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        login: str | None = None,
        passcode: str | None = None,
        vhost: str | None = None,
        timeout: float = 3.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> Target:
        """The target of a broker URL (a failover URL's first member; `candidates` gives them all)."""
        return cls.candidates(
            url, login=login, passcode=passcode, vhost=vhost, timeout=timeout, ssl_context=ssl_context
        )[0]

    @classmethod
    def candidates(
        cls,
        url: str,
        *,
        login: str | None = None,
        passcode: str | None = None,
        vhost: str | None = None,
        timeout: float = 3.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> tuple[Target, ...]:
        """One target per endpoint of `url` (stomptest.urls' grammar), in the order written.

        Credentials given as arguments win over those in the URL; the URL's options are
        not read here (see `options.split_query`).
        """
        parsed = urls.parse(url)
        return tuple(
            cls(
                host=endpoint.host,
                port=endpoint.port,
                login=login if login is not None else parsed.login,
                passcode=passcode if passcode is not None else parsed.passcode,
                vhost=vhost if vhost is not None else "/",
                timeout=timeout,
                tls=endpoint.tls,
                ssl_context=ssl_context if endpoint.tls else None,
                path=endpoint.target if endpoint.websocket else None,
            )
            for endpoint in parsed.endpoints
        )

    @property
    def url(self) -> str:
        if self.path is not None:
            return str(urls.Endpoint("wss" if self.tls else "ws", self.host, self.port, self.path))
        return str(urls.Endpoint("ssl" if self.tls else "tcp", self.host, self.port))

    def tls_context(self) -> ssl.SSLContext | None:
        """The context to wrap each connection in, or None for plain TCP."""
        if not self.tls:
            return None
        return self.ssl_context if self.ssl_context is not None else ssl.create_default_context()


@dataclass(frozen=True)
class Finding:
    """One way the broker's behaviour differed from the spec.

    `code` names the kind of difference so that profiles can list the ones they expect;
    `clause` is the spec version and section the expectation rests on.
    """

    code: str
    clause: str
    message: str


class NotApplicable(Exception):
    """Raised by a check when it cannot apply (the version is not spoken, no authentication...)."""


CheckFunction = Callable[["Context"], None]


@dataclass(frozen=True)
class Check:
    """A named conformance check, run once per STOMP version it applies to."""

    name: str
    title: str
    function: CheckFunction
    versions: tuple[str, ...] = VERSIONS
    area: str = ""


@dataclass
class Outcome:
    """The result of one check in one version."""

    check: str
    version: str
    verdict: Verdict
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    transcript: list[str] = field(default_factory=list)
    seconds: float = 0.0
    observations: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "check": self.check,
            "version": self.version,
            "verdict": self.verdict.value,
            "findings": [{"code": f.code, "clause": f.clause, "message": f.message} for f in self.findings],
            "notes": list(self.notes),
            "observations": dict(self.observations),
            "transcript": list(self.transcript),
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Report:
    """Every outcome of a run, with what it ran against."""

    target: str
    profile: str
    server: str
    versions: tuple[str, ...]
    checks: list[Check]
    outcomes: dict[tuple[str, str], Outcome]
    seconds: float = 0.0

    def outcome(self, check: str, version: str) -> Outcome:
        return self.outcomes[(check, version)]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes.values() if o.verdict is Verdict.FAIL]

    def verdicts(self) -> dict[str, dict[str, str]]:
        """check name -> version -> verdict string, for comparing runs."""
        table: dict[str, dict[str, str]] = {}
        for (check, version), outcome in self.outcomes.items():
            table.setdefault(check, {})[version] = outcome.verdict.value
        return table

    def observations(self) -> dict[str, dict[str, dict[str, str]]]:
        """check name -> version -> what the broker did where the spec leaves a choice (only non-empty)."""
        table: dict[str, dict[str, dict[str, str]]] = {}
        for (check, version), outcome in self.outcomes.items():
            if outcome.observations:
                table.setdefault(check, {})[version] = dict(outcome.observations)
        return table

    def counts(self) -> dict[str, int]:
        counts = {verdict.value: 0 for verdict in Verdict}
        for outcome in self.outcomes.values():
            counts[outcome.verdict.value] += 1
        return counts
