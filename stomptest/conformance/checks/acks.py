"""Ack modes with ACK and NACK, and redelivery of what was not acknowledged."""

from __future__ import annotations

from stomptest.conformance.checks._registry import check
from stomptest.conformance.context import Context
from stomptest.conformance.probe import Probe
from stomptest.protocol.frame import Frame

AREA = "ack"


def _ack_section(version: str) -> str:
    return "ACK" if version == "1.0" else "SUBSCRIBE ack Header"


def _fill(ctx: Context, queue: str, count: int) -> list[bytes]:
    producer = ctx.connect("producer")
    bodies = [f"m{i}".encode() for i in range(1, count + 1)]
    for body in bodies:
        ctx.send(producer, queue, body)
    ctx.disconnect(producer)
    return bodies


def _receive(ctx: Context, queue: str, ack: str, count: int, label: str = "consumer") -> tuple[Probe, list[Frame]]:
    probe = ctx.connect(label)
    ctx.subscribe(probe, queue, "s1", ack)
    messages = ctx.messages(probe, count)
    if ctx.version == "1.2" and ack != "auto":
        for message in messages:
            ctx.expect(
                bool(message.headers.get("ack")),
                "no-ack-header",
                "MESSAGE",
                f"a MESSAGE in {ack} mode has no ack header",
            )
    return probe, messages


def _names(bodies: list[bytes]) -> str:
    return " ".join(body.decode() for body in bodies) or "none"


def _leftovers(ctx: Context, queue: str, expect: int) -> list[bytes]:
    """Bodies a fresh auto-ack subscriber gets: what the broker still holds (this also drains the queue)."""
    probe = ctx.connect("after")
    ctx.subscribe(probe, queue, "s-after")
    bodies = [f.body for f in ctx.gather(probe, expect, extra=0.5)]
    ctx.disconnect(probe)
    return bodies


@check("ack-auto", "ack:auto: a delivered message is consumed, even if the connection drops", area=AREA)
def ack_auto(ctx: Context) -> None:
    queue = ctx.destination()
    _fill(ctx, queue, 1)
    probe, [message] = _receive(ctx, queue, "auto", 1)
    if ctx.version == "1.2":
        ctx.expect("ack" not in message.headers, "ack-header-in-auto-mode", "MESSAGE", "an ack header in auto mode")
    probe.close()  # abrupt: nothing was acknowledged, nothing needs to be
    left = _leftovers(ctx, queue, 0)
    ctx.expect(
        not left,
        "auto-ack-redelivered",
        _ack_section(ctx.version),
        f"after an auto-ack delivery and a dropped connection, a new subscriber got {left}",
    )


@check("ack-client", "ack:client is cumulative: ACK of the 2nd acknowledges the 1st", area=AREA)
def ack_client(ctx: Context) -> None:
    queue = ctx.destination()
    _fill(ctx, queue, 3)
    probe, messages = _receive(ctx, queue, "client", 3)
    if ctx.version == "1.2":
        same = all(m.headers.get("ack") == m.headers.get("message-id") for m in messages)
        ctx.observe("ack header", "equals message-id" if same else "differs from message-id")
    ctx.request(probe, "ACK", ctx.ack_headers(messages[1], "s1"))
    ctx.disconnect(probe)
    left = _leftovers(ctx, queue, 1)
    ctx.expect(
        left == [b"m3"],
        "ack-not-cumulative" if b"m1" in left else "wrong-redelivery",
        _ack_section(ctx.version),
        f"after ACK of m2 in client mode and DISCONNECT, the queue still gave {left}, expected [b'm3']",
    )


@check(
    "ack-client-individual",
    "ack:client-individual acknowledges only the named message",
    versions=("1.1", "1.2"),
    area=AREA,
)
def ack_client_individual(ctx: Context) -> None:
    queue = ctx.destination()
    _fill(ctx, queue, 3)
    probe, messages = _receive(ctx, queue, "client-individual", 3)
    ctx.request(probe, "ACK", ctx.ack_headers(messages[1], "s1"))
    ctx.disconnect(probe)
    left = sorted(_leftovers(ctx, queue, 2))
    ctx.expect(
        left == [b"m1", b"m3"],
        "ack-cumulative" if not left or left == [b"m3"] else "wrong-redelivery",
        "SUBSCRIBE ack Header",
        f"after ACK of m2 only, the queue gave {left}, expected [b'm1', b'm3']",
    )


@check("nack", "NACK is accepted; what follows is the server's policy", versions=("1.1", "1.2"), area=AREA)
def nack(ctx: Context) -> None:
    queue = ctx.destination()
    _fill(ctx, queue, 1)
    probe, [message] = _receive(ctx, queue, "client-individual", 1)
    ctx.request(probe, "NACK", ctx.ack_headers(message, "s1"))
    again = [f for f in ctx.quiet(probe, 0.8) if f.command == "MESSAGE"]
    if again:
        ctx.observe("policy", "requeued to the same subscription")
        ctx.request(probe, "ACK", ctx.ack_headers(again[0], "s1"))
    ctx.disconnect(probe)
    left = _leftovers(ctx, queue, 0)
    if not again:
        ctx.observe("policy", "redelivered after reconnecting" if left else "gone (discarded or dead-lettered)")


@check(
    "nack-client-cumulative", "In ack:client a NACK covers all earlier unacknowledged messages", versions=("1.1", "1.2")
)
def nack_client(ctx: Context) -> None:
    queue = ctx.destination()
    _fill(ctx, queue, 3)
    probe, messages = _receive(ctx, queue, "client", 3)
    ctx.request(probe, "NACK", ctx.ack_headers(messages[1], "s1"))
    again = sorted(f.body for f in ctx.quiet(probe, 0.8) if f.command == "MESSAGE")
    section = "NACK"
    if again:  # requeue policy: what came back shows what the NACK covered
        ctx.observe("redelivered at once", _names(again))
        ctx.expect(
            again == [b"m1", b"m2"],
            "nack-not-cumulative",
            section,
            f"NACK of m2 in client mode requeued {again}, expected [b'm1', b'm2']",
        )
        ctx.disconnect(probe)
        _leftovers(ctx, queue, 1)
        return
    ctx.disconnect(probe)
    left = sorted(_leftovers(ctx, queue, 1))
    ctx.observe("redelivered at once", "none")
    ctx.observe("left for a new subscriber", _names(left))
    ctx.expect(
        left == [b"m3"],
        "nack-not-cumulative" if b"m1" in left else "wrong-redelivery",
        section,
        f"after NACK of m2 in client mode and DISCONNECT, the queue gave {left}, expected [b'm3'] (m1, m2 NACKed)",
    )


@check("redelivery", "Unacknowledged messages are redelivered after the connection drops", area=AREA)
def redelivery(ctx: Context) -> None:
    queue = ctx.destination()
    producer = ctx.connect("producer")
    ctx.send(producer, queue, b"again", {"x-user": "kept"})
    ctx.disconnect(producer)
    probe, [first] = _receive(ctx, queue, "client", 1, "first")
    probe.close()  # abrupt: no DISCONNECT, no ACK
    again, [second] = _receive(ctx, queue, "client", 1, "second")
    section = _ack_section(ctx.version)
    ctx.expect(second.body == b"again", "body-altered", section, f"redelivered body {second.body!r}")
    ctx.expect(second.headers.get("x-user") == "kept", "user-header-lost", section, "x-user lost on redelivery")
    ctx.observe(
        "redelivered header",
        f"{first.headers.get('redelivered', '(absent)')}, then {second.headers.get('redelivered', '(absent)')}",
    )
    ctx.request(again, "ACK", ctx.ack_headers(second, "s1"))
    ctx.disconnect(again)
