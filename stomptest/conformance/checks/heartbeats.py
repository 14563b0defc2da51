"""Heart-beat negotiation (1.1+) and what each side must do with the negotiated intervals.

Intervals are kept small (the client offers 400 ms) so the checks take a few seconds;
a broker that rounds up to whole seconds takes longer, never more than about 5 s.
"""

from __future__ import annotations

import itertools
import time

from stomptest.conformance.checks._registry import check
from stomptest.conformance.context import Context
from stomptest.conformance.probe import Probe
from stomptest.protocol.frame import Frame

AREA = "heart-beat"
SECTION = "Heart-beating"
ASKED = 400  # ms: below a second, so that rounding to whole seconds shows
ENFORCEMENT_ASKED = 1000  # ms: long enough that a starved machine does not miss a beat of ours
MAX_WATCH = 4.5  # seconds


def _server_values(ctx: Context, connected_header: str | None) -> tuple[int, int] | None:
    if connected_header is None:
        return (0, 0)
    try:
        sx, sy = (int(part) for part in connected_header.split(","))
    except ValueError:
        ctx.expect(False, "malformed-heart-beat", SECTION, f"CONNECTED heart-beat:{connected_header!r} is not 'sx,sy'")
        return None
    ctx.expect(sx >= 0 and sy >= 0, "malformed-heart-beat", SECTION, f"negative value in {connected_header!r}")
    return sx, sy


@check("heartbeat-negotiation", "CONNECTED answers heart-beat with well-formed intervals", versions=("1.1", "1.2"))
def negotiation(ctx: Context) -> None:
    for offered in ("0,0", f"{ASKED},{ASKED}"):
        probe = ctx.open(f"hb{offered}")
        probe.send_raw(Frame("CONNECT", ctx.connect_headers(heartbeat=offered)).encode(ctx.version))
        answer = probe.maybe(lambda f: True, ctx.target.timeout)
        if answer is None or answer.command != "CONNECTED":
            ctx.fatal("connect-refused", SECTION, f"CONNECT heart-beat:{offered} got no CONNECTED")
        values = _server_values(ctx, answer.headers.get("heart-beat"))
        if values is not None:
            ctx.observe(f"answer to heart-beat:{offered}", answer.headers.get("heart-beat", "(absent)"))
            if offered == "0,0" and values != (0, 0):
                ctx.note("the server offers heart-beats even though the client can neither send nor wants them")
        ctx.disconnect(probe)


def _connected_values(ctx: Context, offered: str, label: str) -> tuple[Probe, tuple[int, int]]:
    probe = ctx.open(label)
    probe.send_raw(Frame("CONNECT", ctx.connect_headers(heartbeat=offered)).encode(ctx.version))
    answer = probe.maybe(lambda f: True, ctx.target.timeout)
    if answer is None or answer.command != "CONNECTED":
        ctx.fatal("connect-refused", SECTION, f"CONNECT heart-beat:{offered} got no CONNECTED")
    probe.version = ctx.version
    values = _server_values(ctx, answer.headers.get("heart-beat"))
    if values is None:
        ctx.fatal("malformed-heart-beat", SECTION, "cannot go on without the server's intervals")
    return probe, values


@check("heartbeat-server-sends", "The server sends heart-beats at the negotiated interval", versions=("1.1", "1.2"))
def server_sends(ctx: Context) -> None:
    probe, (sx, _sy) = _connected_values(ctx, f"0,{ASKED}", "c1")
    if sx == 0:
        ctx.note("the server offers no heart-beats (sx=0): nothing to check")
        ctx.disconnect(probe)
        return
    interval = max(sx, ASKED) / 1000
    start = time.monotonic()
    watch = min(MAX_WATCH, 3 * interval + 0.2)
    probe.poll(watch)
    if probe.closed:
        ctx.fatal("closed", SECTION, f"the connection closed while watching heart-beats ({probe.close_reason})")
    times = [start, *(t for t in probe.heartbeats if t >= start), time.monotonic()]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    worst = max(gaps)
    ctx.note(f"negotiated {interval * 1000:.0f} ms; {len(times) - 2} heart-beats in {watch:.1f}s")
    ctx.expect(
        worst <= interval * 2 + 0.3,  # the margin the spec asks receivers to allow; 2x keeps loaded CI hosts honest
        "late-heart-beats",
        SECTION,
        f"a gap of {worst:.2f}s without data; the negotiated server interval is {interval:.2f}s",
    )
    ctx.disconnect(probe)


@check(
    "heartbeat-enforcement", "A beating client stays connected; a silent one may be dropped", versions=("1.1", "1.2")
)
def enforcement(ctx: Context) -> None:
    live, (_sx, sy) = _connected_values(ctx, f"{ENFORCEMENT_ASKED},0", "live")
    silent, _ = _connected_values(ctx, f"{ENFORCEMENT_ASKED},0", "silent")
    if sy == 0:
        ctx.note("the server wants no heart-beats (sy=0): nothing to enforce")
        ctx.disconnect(live)
        ctx.disconnect(silent)
        return
    interval = max(ENFORCEMENT_ASKED, sy) / 1000
    start = time.monotonic()
    deadline = start + min(MAX_WATCH, 4 * interval + 0.5)
    silent_closed_at: float | None = None
    while time.monotonic() < deadline:
        live.send_raw(b"\n")
        live.poll(min(0.1, interval / 4))
        silent.poll(min(0.1, interval / 4))
        if silent.closed and silent_closed_at is None:
            silent_closed_at = time.monotonic() - start
        if live.closed:
            break
    ctx.expect(
        not live.closed,
        "drops-live-client",
        SECTION,
        f"a client sending an EOL every ~{min(0.2, interval / 2):.2f}s was disconnected ({live.close_reason})",
    )
    ctx.observe("silent client", "kept" if silent_closed_at is None else "dropped")
    if silent_closed_at is None:
        ctx.note(f"a silent client was still connected after {deadline - start:.1f}s (the spec allows this)")
    else:
        ctx.note(f"a silent client was dropped after {silent_closed_at:.1f}s (negotiated {interval:.2f}s)")
    ctx.disconnect(live)
    silent.close()
