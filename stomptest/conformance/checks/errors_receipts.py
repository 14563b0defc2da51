"""Receipts on every command, ERROR content and closing, DISCONNECT with receipt, size limits."""

from __future__ import annotations

import contextlib

from stomptest.conformance.checks._registry import check
from stomptest.conformance.context import Context
from stomptest.conformance.probe import Probe, ProbeClosed
from stomptest.protocol.frame import Frame

AREA = "errors"


@check("receipts", "Every client command with a receipt header gets its RECEIPT", area="receipts")
def receipts(ctx: Context) -> None:
    queue = ctx.destination()
    probe = ctx.connect()
    mode = "client" if ctx.version == "1.0" else "client-individual"
    ctx.request(probe, "SUBSCRIBE", {"destination": queue, "id": "s1", "ack": mode})
    ctx.request(probe, "SEND", {"destination": queue}, b"one")
    ctx.request(probe, "SEND", {"destination": queue}, b"two")
    one, two = ctx.messages(probe, 2)
    ctx.request(probe, "ACK", ctx.ack_headers(one, "s1"))
    ctx.request(probe, "BEGIN", {"transaction": "tx1"})
    ctx.request(probe, "COMMIT", {"transaction": "tx1"})
    ctx.request(probe, "BEGIN", {"transaction": "tx2"})
    ctx.request(probe, "ABORT", {"transaction": "tx2"})
    if ctx.version != "1.0":
        ctx.request(probe, "NACK", ctx.ack_headers(two, "s1"))
        # a requeueing broker delivers it again: settle that before UNSUBSCRIBE
        for again in [f for f in ctx.quiet(probe, 0.5) if f.command == "MESSAGE"]:
            ctx.request(probe, "ACK", ctx.ack_headers(again, "s1"))
    else:
        ctx.request(probe, "ACK", ctx.ack_headers(two, "s1"))
    ctx.request(probe, "UNSUBSCRIBE", {"id": "s1"})
    ctx.request(probe, "DISCONNECT")
    probe.close()
    ctx.drain(queue)


def _error_then_close(ctx: Context, probe: Probe, receipt: str | None, close_required: bool, what: str) -> None:
    answer = probe.maybe(lambda f: f.command in ("ERROR", "RECEIPT"), ctx.target.timeout)
    section = "ERROR"
    if answer is None or answer.command != "ERROR":
        got = "nothing" if answer is None else answer.command
        ctx.expect(False, "no-error", section, f"{what} got {got}, expected ERROR")
        probe.close()
        return
    ctx.observe("ERROR headers", " ".join(sorted(answer.headers)))
    ctx.expect(bool(answer.headers.get("message")), "error-without-message", section, "ERROR has no message header")
    if receipt is not None and ctx.version != "1.0":
        ctx.expect(
            answer.headers.get("receipt-id") == receipt,
            "error-without-receipt-id",
            section,
            f"the frame had receipt:{receipt}; the ERROR's receipt-id is {answer.headers.get('receipt-id')!r}",
        )
    closed = probe.wait_closed(1.0)
    ctx.observe("after the ERROR", "closed" if closed else "open")
    if close_required:
        ctx.expect(closed, "stays-open-after-error", section, f"the connection stayed open after the ERROR for {what}")
    probe.close()


@check("error-unknown-command", "An unknown command gets ERROR (then close in 1.2)", area=AREA)
def unknown_command(ctx: Context) -> None:
    probe = ctx.connect()
    probe.send_raw(b"FOO\nreceipt:r-foo\n\n\x00")
    _error_then_close(ctx, probe, "r-foo", ctx.version == "1.2", "an unknown command FOO")


@check("error-send-no-destination", "SEND without destination gets ERROR, then close (1.1+)", area=AREA)
def send_without_destination(ctx: Context) -> None:
    probe = ctx.connect()
    probe.send_raw(b"SEND\nreceipt:r-send\n\nlost\x00")
    _error_then_close(ctx, probe, "r-send", ctx.version != "1.0", "SEND without destination")


@check("error-subscribe-no-destination", "SUBSCRIBE without destination gets ERROR, then close (1.1+)", area=AREA)
def subscribe_without_destination(ctx: Context) -> None:
    probe = ctx.connect()
    probe.send_raw(b"SUBSCRIBE\nid:s1\nreceipt:r-sub\n\n\x00")
    _error_then_close(ctx, probe, "r-sub", ctx.version != "1.0", "SUBSCRIBE without destination")


@check("disconnect-receipt", "DISCONNECT with receipt gets the RECEIPT, then the connection ends", area="disconnect")
def disconnect_receipt(ctx: Context) -> None:
    probe = ctx.connect()
    probe.send(Frame("DISCONNECT", {"receipt": "bye-77"}))
    answer = probe.maybe(lambda f: True, ctx.target.timeout)
    ctx.expect(
        answer is not None and answer.command == "RECEIPT" and answer.headers.get("receipt-id") == "bye-77",
        "no-disconnect-receipt",
        "DISCONNECT",
        f"DISCONNECT receipt:bye-77 got {answer.command if answer else 'nothing'}",
    )
    ctx.observe("after the RECEIPT", "closed" if probe.wait_closed(1.0) else "open")
    probe.close()


def _limit(ctx: Context, frame: Frame, what: str) -> None:
    """Over a limit the server SHOULD send ERROR and close; under it, the frame is just processed."""
    probe = ctx.connect()
    receipt = frame.headers["receipt"]
    with contextlib.suppress(ProbeClosed):  # a broker may refuse before it has read it all
        probe.send(frame)
    answer = probe.maybe(
        lambda f: (f.command == "RECEIPT" and f.headers.get("receipt-id") == receipt) or f.command == "ERROR",
        ctx.target.timeout + 2,
    )
    section = "Frames" if ctx.version == "1.0" else "Size Limits"
    if answer is not None and answer.command == "RECEIPT":
        ctx.observe("outcome", "accepted")
        ctx.disconnect(probe)
        return
    if answer is None:
        ctx.observe("outcome", "no RECEIPT, no ERROR")
        ctx.expect(False, "closed-without-error", section, f"{what}: no RECEIPT and no ERROR ({probe.close_reason})")
        probe.close()
        return
    ctx.observe("outcome", "refused with ERROR")
    ctx.note(f"{what}: ERROR {answer.headers.get('message', '')!r}")
    if ctx.version != "1.0":
        ctx.expect(probe.wait_closed(1.0), "stays-open-after-error", section, f"{what}: ERROR but no close")
    probe.close()


@check("limits-header-size", "A 200 KiB header is processed, or refused with ERROR and close", area="limits")
def limit_header_size(ctx: Context) -> None:
    topic = ctx.destination("topic")
    _limit(ctx, Frame("SEND", {"destination": topic, "receipt": "r-big", "x-big": "h" * 200_000}), "200 KiB header")


@check("limits-header-count", "2000 headers are processed, or refused with ERROR and close", area="limits")
def limit_header_count(ctx: Context) -> None:
    topic = ctx.destination("topic")
    headers = [("destination", topic), ("receipt", "r-many"), *((f"x-{i}", "v") for i in range(2000))]
    _limit(ctx, Frame("SEND", headers), "2000 headers")


@check("limits-body-size", "An 8 MiB body is processed, or refused with ERROR and close", area="limits")
def limit_body_size(ctx: Context) -> None:
    topic = ctx.destination("topic")
    _limit(ctx, Frame("SEND", {"destination": topic, "receipt": "r-body"}, b"b" * (8 << 20)), "8 MiB body")
