"""BEGIN, COMMIT and ABORT: frames held in a transaction until it ends.

SEND, ACK and NACK that name a transaction are held (ACK and NACK only where the
profile's broker holds them: `transactional_ack`) and applied in order at COMMIT, or
dropped at ABORT and when the connection ends. A SEND naming no open transaction is an
ERROR, or acknowledged and dropped (`send_unknown_transaction`). A held SEND's RECEIPT is written when it
is held or at COMMIT, as the profile's broker does (`transaction_receipts`). BEGIN of a transaction
that is open already is an ERROR, or answered with its RECEIPT alone (`duplicate_begin`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stomptest.broker.output import receipt
from stomptest.protocol.frame import Frame

if TYPE_CHECKING:
    from stomptest.broker.connection import Connection


def hold(connection: Connection, frame: Frame) -> bool:
    """Hold `frame` in its transaction; True when it was held (or refused)."""
    transaction = frame.headers.get("transaction")
    if transaction is None:
        return False
    held = connection.transactions.get(transaction)
    if held is None:
        if frame.command == "SEND" and connection.profile.send_unknown_transaction == "drop":
            receipt(connection, frame)  # Artemis: acknowledged, and the message is never delivered
            return True
        connection.fail("bad-transaction", frame, transaction=transaction, reason=f"unknown transaction {transaction}")
        return True
    if len(held) >= connection.limits.max_transaction_frames:
        connection.fail("limit", frame, reason=f"transaction {transaction} holds max_transaction_frames frames already")
        return True
    held.append(frame)
    if frame.command != "SEND" or connection.profile.transaction_receipts == "immediate":
        receipt(connection, frame)
    return True


def on_begin(connection: Connection, frame: Frame) -> None:
    transaction = frame.headers["transaction"]
    if transaction in connection.transactions:
        if connection.profile.duplicate_begin == "ignore":  # RabbitMQ (measured, issue 18): the RECEIPT only
            receipt(connection, frame)
            return
        connection.fail(
            "bad-transaction", frame, transaction=transaction, reason=f"transaction {transaction} already started"
        )
        return
    limit = connection.limits.max_transactions
    if len(connection.transactions) >= limit:
        connection.fail("limit", frame, reason=f"more than max_transactions={limit} open")
        return
    connection.transactions[transaction] = []
    receipt(connection, frame)


def on_commit(connection: Connection, frame: Frame) -> None:
    """COMMIT: apply the held frames in order (`Connection.commit_held` runs each one's handler).

    RabbitMQ, ActiveMQ and Artemis (measured, issue 18) all write the COMMIT's RECEIPT first,
    then the MESSAGEs the transaction sends, then (RabbitMQ, `transaction_receipts`) the
    RECEIPTs held for its SENDs, in SEND order; RabbitMQ and Artemis keep the SEND's
    `transaction` header on the MESSAGE (`message_transaction_header`, sending.py).
    """
    transaction = frame.headers["transaction"]
    held = connection.transactions.pop(transaction, None)
    if held is None:
        connection.fail("bad-transaction", frame, transaction=transaction, reason=f"unknown transaction {transaction}")
        return
    receipt(connection, frame)
    for item in held:
        if connection.state != "connected":
            return
        connection.commit_held(item)
    if connection.profile.transaction_receipts == "at-commit":
        for item in held:
            if item.command == "SEND" and connection.state == "connected":
                receipt(connection, item)


def on_abort(connection: Connection, frame: Frame) -> None:
    transaction = frame.headers["transaction"]
    if connection.transactions.pop(transaction, None) is None:
        connection.fail("bad-transaction", frame, transaction=transaction, reason=f"unknown transaction {transaction}")
        return
    receipt(connection, frame)
