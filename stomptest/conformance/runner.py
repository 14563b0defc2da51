"""Runs checks against a target, concurrently, and turns findings into verdicts with the profile's expectations."""

from __future__ import annotations

import contextlib
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from stomptest.conformance.context import CheckAborted, Context
from stomptest.conformance.deviations import expected_deviations, is_expected
from stomptest.conformance.model import Check, Finding, NotApplicable, Outcome, Report, Target, Verdict
from stomptest.conformance.probe import Probe, ProbeClosed, ProbeTimeout
from stomptest.protocol.frame import Frame
from stomptest.protocol.spec import VERSIONS

Progress = Callable[[Outcome], None]

DEFAULT_WORKERS = 8


def all_checks() -> list[Check]:
    from stomptest.conformance.checks import CHECKS
    from stomptest.conformance.checks._registry import AREAS

    order = {area: index for index, area in enumerate(AREAS)}
    return sorted(CHECKS, key=lambda c: order.get(c.area, len(order)))


def select_checks(names: Iterable[str] | None) -> list[Check]:
    checks = all_checks()
    if names is None:
        return checks
    wanted = list(names)
    known = {c.name for c in checks}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        from stomptest.protocol.errors import ConfigurationError

        raise ConfigurationError(f"unknown check(s) {', '.join(unknown)}: see `stomptest conformance --list`")
    return [c for c in checks if c.name in wanted]


def verdict_for(check: str, version: str, findings: list[Finding], profile: str, transport: str = "tcp") -> Verdict:
    """pass without findings; deviates when the profile expects every finding (over `transport`); fail otherwise."""
    if not findings:
        return Verdict.PASS
    if all(is_expected(profile, check, version, f.code, transport) for f in findings):
        return Verdict.DEVIATES
    return Verdict.FAIL


def run_one(check: Check, version: str, target: Target, profile: str, run_id: str) -> Outcome:
    """One check in one version; never raises."""
    if version not in check.versions:
        return Outcome(check.name, version, Verdict.NA, notes=[f"{check.name} does not apply to STOMP {version}"])
    ctx = Context(target, check.name, version, run_id)
    start = time.monotonic()
    try:
        check.function(ctx)
    except NotApplicable as exc:
        ctx.close_all()
        return Outcome(check.name, version, Verdict.NA, [], [*ctx.notes, str(exc)], ctx.transcript.lines)
    except CheckAborted:
        pass
    except (ProbeTimeout, ProbeClosed, OSError) as exc:
        ctx.findings.append(Finding("unexpected-" + type(exc).__name__.lower(), ctx.clause("Frames"), str(exc)))
    except Exception as exc:  # a bug in the check or a frame we cannot handle: report it, do not crash the run
        where = traceback.format_exception(exc)[-2].strip() if exc.__traceback__ else ""
        ctx.findings.append(Finding("check-crashed", "-", f"{type(exc).__name__}: {exc} {where}"))
    finally:
        ctx.close_all()
    seconds = time.monotonic() - start
    verdict = verdict_for(check.name, version, ctx.findings, profile, "ws" if target.websocket else "tcp")
    return Outcome(
        check.name, version, verdict, ctx.findings, ctx.notes, ctx.transcript.lines, seconds, ctx.observations
    )


def first_reachable(targets: Sequence[Target]) -> Target:
    """The first target that accepts a connection (and a TLS handshake, for ssl://), in the order given.

    A failover URL names several brokers; a conformance run tests one, the first that answers.
    Raises OSError naming each failure when none does.
    """
    if len(targets) == 1:
        return targets[0]  # its own connection failure says enough, later
    failures = []
    for target in targets:
        try:
            Probe(
                target.host,
                target.port,
                timeout=target.timeout,
                ssl_context=target.tls_context(),
                websocket_path=target.path,
            ).close()
        except (OSError, ProbeClosed) as exc:
            failures.append(f"{target.url}: {exc}")
        else:
            return target
    raise OSError(f"no broker of the failover URL is reachable ({'; '.join(failures)})")


def detect_server(target: Target) -> tuple[str, str]:
    """The CONNECTED `server` header ('' when absent) and the highest version the target speaks.

    Raises OSError when the target is unreachable or refuses a plain CONNECT.
    """
    try:
        probe = Probe(
            target.host,
            target.port,
            timeout=target.timeout,
            ssl_context=target.tls_context(),
            websocket_path=target.path,
        )
    except ProbeClosed as exc:
        raise OSError(f"{target.url}: {exc}") from None
    try:
        headers = [("accept-version", "1.0,1.1,1.2"), ("host", target.vhost)]
        if target.login is not None:
            headers.append(("login", target.login))
        if target.passcode is not None:
            headers.append(("passcode", target.passcode))
        probe.send(Frame("CONNECT", headers))
        try:
            answer = probe.next_frame()
        except (ProbeTimeout, ProbeClosed) as exc:
            raise OSError(f"{target.url} did not answer CONNECT: {exc}") from None
        if answer.command != "CONNECTED":
            message = answer.headers.get("message", "")
            raise OSError(
                f"{target.url} refused CONNECT: {answer.command} {message!r} (check --login/--passcode/--vhost)"
            )
        with contextlib.suppress(ProbeClosed):
            probe.send(Frame("DISCONNECT"))
        return answer.headers.get("server", ""), answer.headers.get("version", "1.0")
    finally:
        probe.close()


def profile_for_server(server: str) -> str:
    """The profile whose expectations fit a CONNECTED `server` header."""
    name = server.lower()
    if name.startswith("rabbitmq"):
        return "rabbitmq"
    if "artemis" in name:
        return "artemis"
    if name.startswith("activemq"):
        return "activemq"
    return "strict"


def run_checks(
    target: Target,
    *,
    profile: str = "auto",
    versions: Iterable[str] = VERSIONS,
    checks: list[Check] | None = None,
    workers: int = DEFAULT_WORKERS,
    progress: Progress | None = None,
) -> Report:
    """Run `checks` (all by default) in each of `versions` against `target` and collect a `Report`.

    With ``profile="auto"`` the expected deviations are chosen from the CONNECTED `server` header.
    """
    versions = tuple(versions)
    checks = checks if checks is not None else all_checks()
    start = time.monotonic()
    server, spoken = detect_server(target)
    if profile == "auto":
        profile = profile_for_server(server)
    expected_deviations(profile)  # validates the name before any check runs
    run_id = uuid.uuid4().hex[:8]
    unspoken = [v for v in versions if v not in VERSIONS or v > spoken]
    jobs = [(check, version) for check in checks for version in versions if version not in unspoken]
    # the slow heart-beat checks first, so they overlap with everything else
    jobs.sort(key=lambda job: not job[0].name.startswith("heartbeat"))
    outcomes: dict[tuple[str, str], Outcome] = {}
    for version in unspoken:
        note = f"the broker answers version {spoken} to accept-version:1.0,1.1,1.2: it does not speak {version}"
        for check in checks:
            outcomes[(check.name, version)] = Outcome(check.name, version, Verdict.NA, notes=[note])
            if progress is not None:
                progress(outcomes[(check.name, version)])
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="conformance") as pool:
        futures = [pool.submit(run_one, check, version, target, profile, run_id) for check, version in jobs]
        for future in futures:
            outcome = future.result()
            outcomes[(outcome.check, outcome.version)] = outcome
            if progress is not None:
                progress(outcome)
    ordered = {(c.name, v): outcomes[(c.name, v)] for c in checks for v in versions}
    return Report(target.url, profile, server, versions, checks, ordered, time.monotonic() - start)
