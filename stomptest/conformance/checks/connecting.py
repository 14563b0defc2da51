"""CONNECT/STOMP, version negotiation, `host` and login refusal."""

from __future__ import annotations

from stomptest.conformance.checks._registry import check
from stomptest.conformance.context import Context
from stomptest.conformance.model import NotApplicable
from stomptest.conformance.probe import Probe
from stomptest.protocol.frame import Frame

AREA = "connect"


def _section(version: str) -> str:
    return "CONNECT" if version == "1.0" else "Protocol Negotiation"


def _answer(ctx: Context, probe: Probe) -> Frame | None:
    return probe.maybe(lambda f: True, ctx.target.timeout)


def _describe(answer: Frame | None) -> str:
    if answer is None:
        return "nothing (no frame, or the connection closed)"
    return f"{answer.command} {answer.headers.get('message', '')!r}".strip()


@check("connect-version", "CONNECT negotiates the highest common version", area=AREA)
def version(ctx: Context) -> None:
    probe = ctx.open()
    if ctx.version == "1.0":
        offered = "(no accept-version)"
        headers = ctx.connect_headers()
    else:
        offered = ",".join(v for v in ("1.0", "1.1", "1.2") if v <= ctx.version)
        headers = [("accept-version", offered), *ctx.connect_headers()[1:]]
    probe.send_raw(Frame("CONNECT", headers).encode("1.2"))
    answer = _answer(ctx, probe)
    if answer is None or answer.command != "CONNECTED":
        ctx.fatal("connect-refused", _section(ctx.version), f"CONNECT got {_describe(answer)}")
    ctx.observe("CONNECTED headers", " ".join(sorted(answer.headers)))
    got = answer.headers.get("version", "1.0" if ctx.version == "1.0" else None)
    ctx.expect(
        got == ctx.version,
        "wrong-version",
        _section(ctx.version),
        f"accept-version {offered} got CONNECTED version:{got}, expected {ctx.version}",
    )
    ctx.disconnect(probe)


@check("connect-stomp-frame", "STOMP is accepted in place of CONNECT", versions=("1.1", "1.2"), area=AREA)
def stomp_frame(ctx: Context) -> None:
    probe = ctx.open()
    probe.send_raw(Frame("STOMP", ctx.connect_headers()).encode(ctx.version))
    answer = _answer(ctx, probe)
    ctx.expect(
        answer is not None and answer.command == "CONNECTED",
        "stomp-frame-refused",
        "CONNECT or STOMP Frame",
        f"STOMP got {_describe(answer)}",
    )
    ctx.disconnect(probe)


@check("connect-no-common-version", "No common version: ERROR listing versions, then close", versions=("1.1", "1.2"))
def no_common_version(ctx: Context) -> None:
    probe = ctx.open()
    headers = [("accept-version", "9.8,9.9"), *ctx.connect_headers()[1:]]
    probe.send_raw(Frame("CONNECT", headers).encode(ctx.version))
    answer = _answer(ctx, probe)
    section = "Protocol Negotiation"
    if not ctx.expect(
        answer is not None and answer.command == "ERROR",
        "no-error",
        section,
        f"accept-version:9.8,9.9 got {_describe(answer)}, expected ERROR",
    ):
        probe.close()
        return
    assert answer is not None
    listed = answer.headers.get("version", "")
    ctx.expect(
        bool(listed) and all(v.strip() in ("1.0", "1.1", "1.2") for v in listed.split(",")),
        "error-without-versions",
        section,
        f"the ERROR's version header is {listed!r}, expected the supported versions",
    )
    ctx.expect(probe.wait_closed(1.0), "stays-open-after-error", section, "the connection stayed open after the ERROR")
    probe.close()


@check("connect-host", "host: the socket's host name or an unknown vhost", versions=("1.1", "1.2"), area=AREA)
def host(ctx: Context) -> None:
    section = "CONNECT or STOMP Frame"
    probe = ctx.open("recommended")
    probe.send_raw(Frame("CONNECT", ctx.connect_headers(host=ctx.target.host)).encode(ctx.version))
    answer = _answer(ctx, probe)
    ctx.expect(
        answer is not None and answer.command == "CONNECTED",
        "refuses-socket-hostname",
        section,
        f"host:{ctx.target.host} (the name the socket connected to, as the spec recommends) got {_describe(answer)}",
    )
    if answer is not None and answer.command == "CONNECTED":
        ctx.disconnect(probe)
    probe.close()
    probe = ctx.open("unknown")
    probe.send_raw(Frame("CONNECT", ctx.connect_headers(host="stomptest-no-such-vhost.invalid")).encode(ctx.version))
    answer = _answer(ctx, probe)
    if answer is not None and answer.command == "CONNECTED":
        ctx.observe("unknown host", "accepted")
        ctx.disconnect(probe)
        return
    ctx.observe("unknown host", "refused with ERROR" if answer is not None else "refused without ERROR")
    ctx.expect(
        answer is not None and answer.command == "ERROR", "closed-without-error", section, "refused without ERROR"
    )
    if ctx.version == "1.2":
        ctx.expect(probe.wait_closed(1.0), "stays-open-after-error", "ERROR", "the connection stayed open after ERROR")
    probe.close()


@check("connect-login-refused", "Wrong credentials get ERROR and the connection closes", area=AREA)
def login_refused(ctx: Context) -> None:
    probe = ctx.open()
    headers = [h for h in ctx.connect_headers() if h[0] not in ("login", "passcode")]
    headers += [("login", ctx.target.login or "guest"), ("passcode", "stomptest-wrong-passcode")]
    probe.send_raw(Frame("CONNECT", headers).encode("1.2"))
    answer = _answer(ctx, probe)
    section = "CONNECT" if ctx.version == "1.0" else "CONNECT or STOMP Frame"
    if answer is not None and answer.command == "CONNECTED":
        ctx.disconnect(probe)
        raise NotApplicable("the broker accepts any credentials (no authentication configured)")
    ctx.expect(
        answer is not None and answer.command == "ERROR",
        "closed-without-error",
        section,
        f"a wrong passcode got {_describe(answer)}, expected ERROR",
    )
    if ctx.version == "1.2":
        ctx.expect(probe.wait_closed(1.0), "stays-open-after-error", "ERROR", "the connection stayed open after ERROR")
    probe.close()
