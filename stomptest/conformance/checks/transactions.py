"""Transactions: SEND and ACK inside BEGIN/COMMIT/ABORT, and the implicit abort on DISCONNECT."""

from __future__ import annotations

from stomptest.conformance.checks._registry import check
from stomptest.conformance.context import Context
from stomptest.conformance.probe import Probe
from stomptest.protocol.frame import Frame

AREA = "transactions"


def _send_in_transaction(ctx: Context, probe: Probe, queue: str, body: bytes, transaction: str) -> str:
    """SEND inside a transaction; its RECEIPT is due now, not at COMMIT (it only says the frame was processed)."""
    receipt = ctx.unique("tx-send-")
    probe.send(Frame("SEND", {"destination": queue, "transaction": transaction, "receipt": receipt}, body))
    answer = probe.maybe(
        lambda f: f.command == "ERROR" or (f.command == "RECEIPT" and f.headers.get("receipt-id") == receipt), 1.0
    )
    if answer is not None and answer.command == "ERROR":
        ctx.fatal("unexpected-error", "SEND", f"a transactional SEND got ERROR {answer.headers.get('message', '')!r}")
    if answer is None and not any(f.code == "receipt-held-until-commit" for f in ctx.findings):
        ctx.expect(
            False,
            "receipt-held-until-commit",
            "RECEIPT",
            f"SEND receipt:{receipt} in transaction {transaction} got no RECEIPT before the transaction ended",
        )
    return receipt


@check("transaction-send", "Transactional SENDs are delivered on COMMIT and dropped on ABORT", area=AREA)
def transaction_send(ctx: Context) -> None:
    queue = ctx.destination()
    consumer = ctx.connect("consumer")
    ctx.subscribe(consumer, queue)
    producer = ctx.connect("producer")
    ctx.request(producer, "BEGIN", {"transaction": "tx1"})
    _send_in_transaction(ctx, producer, queue, b"committed", "tx1")
    early = [f.body for f in ctx.quiet(consumer, 0.5) if f.command == "MESSAGE"]
    ctx.expect(not early, "delivered-before-commit", "BEGIN", f"delivered before COMMIT: {early}")
    ctx.request(producer, "COMMIT", {"transaction": "tx1"})
    if not early:
        [message] = ctx.messages(consumer, 1)
        ctx.expect(message.body == b"committed", "body-altered", "COMMIT", f"body {message.body!r}")
    ctx.request(producer, "BEGIN", {"transaction": "tx2"})
    _send_in_transaction(ctx, producer, queue, b"aborted", "tx2")
    ctx.request(producer, "ABORT", {"transaction": "tx2"})
    late = [f.body for f in ctx.quiet(consumer, 0.5) if f.command == "MESSAGE"]
    ctx.expect(not late, "delivered-after-abort", "ABORT", f"delivered after ABORT: {late}")
    ctx.disconnect(producer)
    ctx.disconnect(consumer)


@check("transaction-ack", "A transactional ACK takes effect on COMMIT only", area=AREA)
def transaction_ack(ctx: Context) -> None:
    queue = ctx.destination()
    mode = "client" if ctx.version == "1.0" else "client-individual"
    producer = ctx.connect("producer")
    ctx.send(producer, queue, b"tx-ack")
    ctx.disconnect(producer)
    # ABORT: the ACK is undone, so the message comes back after reconnecting
    probe = ctx.connect("abort")
    ctx.subscribe(probe, queue, "s1", mode)
    [message] = ctx.messages(probe, 1)
    ctx.request(probe, "BEGIN", {"transaction": "tx1"})
    ctx.request(probe, "ACK", [*ctx.ack_headers(message, "s1"), ("transaction", "tx1")])
    ctx.request(probe, "ABORT", {"transaction": "tx1"})
    ctx.disconnect(probe)
    probe = ctx.connect("commit")
    ctx.subscribe(probe, queue, "s1", mode)
    again = ctx.gather(probe, 1, extra=0.5)
    if not ctx.expect(
        len(again) == 1,
        "ack-survives-abort",
        "ABORT",
        f"after ABORT of a transaction holding the ACK, a new subscriber got {len(again)} message(s), expected 1",
    ):
        ctx.disconnect(probe)
        return
    # COMMIT: the ACK holds, so nothing comes back
    ctx.request(probe, "BEGIN", {"transaction": "tx2"})
    ctx.request(probe, "ACK", [*ctx.ack_headers(again[0], "s1"), ("transaction", "tx2")])
    ctx.request(probe, "COMMIT", {"transaction": "tx2"})
    ctx.disconnect(probe)
    probe = ctx.connect("after")
    ctx.subscribe(probe, queue, "s1")
    left = [f for f in ctx.quiet(probe, 0.6) if f.command == "MESSAGE"]
    ctx.expect(not left, "ack-lost-on-commit", "COMMIT", f"after COMMIT of the ACK the message came back {len(left)}x")
    ctx.disconnect(probe)


@check("transaction-disconnect", "DISCONNECT aborts an open transaction", area=AREA)
def transaction_disconnect(ctx: Context) -> None:
    queue = ctx.destination()
    consumer = ctx.connect("consumer")
    ctx.subscribe(consumer, queue)
    producer = ctx.connect("producer")
    ctx.request(producer, "BEGIN", {"transaction": "tx1"})
    _send_in_transaction(ctx, producer, queue, b"never", "tx1")
    ctx.disconnect(producer)
    got = [f.body for f in ctx.quiet(consumer, 0.6) if f.command == "MESSAGE"]
    ctx.expect(not got, "commits-on-disconnect", "BEGIN", f"the uncommitted SEND was delivered: {got}")
    ctx.disconnect(consumer)
