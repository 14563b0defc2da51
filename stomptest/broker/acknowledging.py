"""ACK and NACK: a client's answer to a MESSAGE it received in a client ack mode.

1.2 names the delivery by the MESSAGE's `ack` header; 1.0 and 1.1 by `message-id` (1.1
with its `subscription`, which a profile may not check, `ack_checks_subscription`, or
not need, `ack_requires_subscription_1_1`; a 1.0 NACK is as `nack_in_1_0` says). In
ack mode `client` an ACK covers every earlier delivery of its subscription (a NACK too
where the profile says so: `cumulative_nack`). What a NACK does to the message is the
profile's `nack` setting: delivered again, dead-lettered, or dropped.

An ACK or NACK that finds nothing is an ERROR unknown-ack, except where the profile's broker
does more (measured, issue 18): RabbitMQ answers an id of its own format that names no
pending delivery with the RECEIPT and a closing precondition_failed (`unknown_delivery_ack`);
ActiveMQ closes a 1.0 or 1.1 connection that has a subscription without a word when the
message-id is not of its format (`unparsable_ack_closes_in`). RabbitMQ refuses an id not of
its format, or whose subscription is gone, before it looks at the `transaction`
(`ack_id_before_transaction`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from stomptest.broker.engine import Delivery, Message
from stomptest.broker.output import receipt
from stomptest.broker.transactions import hold
from stomptest.broker.windows import window_bytes
from stomptest.protocol.frame import Frame

if TYPE_CHECKING:
    from stomptest.broker.connection import Connection

# message-id (and ack) of id_style "rabbitmq": T_<subscription>@@<session>@@<tag>; the subscription id may hold
# "@@" itself, so the greedy first group leaves the last two parts to the others
_RABBITMQ_DELIVERY = re.compile(r"[TQ]_(.*)@@(.+)@@([0-9]+)")
# what ActiveMQ can read as a message id (measured, issue 18: `ID:...:1:9` gets the ERROR, `none` the close)
_ACTIVEMQ_MESSAGE_ID = re.compile(r".*:-?[0-9]+")


def on_ack(connection: Connection, frame: Frame, *, committing: bool = False) -> None:
    if not committing and _refused_before_transaction(connection, frame):
        return
    if not committing and connection.profile.transactional_ack and hold(connection, frame):
        return
    delivery = _find_delivery(connection, frame)
    if delivery is None:
        return
    subscription = delivery.subscription
    engine = connection.engine
    for message in _take(connection, delivery, subscription.ack == "client"):
        engine.release(message)  # acknowledged: the store forgets it (store.py)
    if not committing:
        receipt(connection, frame)
    connection.engine.dispatch_subscription(subscription, connection.now)


def on_nack(connection: Connection, frame: Frame, *, committing: bool = False) -> None:
    profile = connection.profile
    if not committing and _refused_before_transaction(connection, frame):
        return
    if not committing and profile.transactional_ack and hold(connection, frame):
        return
    delivery = _find_delivery(connection, frame)
    if delivery is None:
        return
    subscription = delivery.subscription
    messages = _take(connection, delivery, subscription.ack == "client" and profile.cumulative_nack)
    policy = profile.nack
    if policy == "requeue" and profile.nack_requeue_header and frame.headers.get("requeue") in ("false", "False"):
        policy = "discard"
    engine = connection.engine
    if policy == "requeue":
        engine.requeue(subscription, messages, connection.now)
    elif policy == "dead-letter":
        for message in messages:
            engine.dead_letter(message, connection.now)
    else:  # discarded: RabbitMQ's queue may name a dead-letter exchange (issue 15, redelivery.py)
        for message in messages:
            engine.reject(message, connection.now)
    if not committing:
        receipt(connection, frame)
    engine.dispatch_subscription(subscription, connection.now)


def on_nack_1_0(connection: Connection, frame: Frame) -> None:
    """NACK on a 1.0 connection, which 1.0 does not have, where the profile's broker answers it (`nack_in_1_0`)."""
    if connection.profile.nack_in_1_0 == "error":  # ActiveMQ: an ERROR that says so, and the connection stays
        connection.fail("invalid-header", frame, reason="NACK received but connection is in v1.0 mode.")
    elif "message-id" not in frame.headers:
        connection.fail("missing-header", frame, reason="message-id", header="message-id")
    else:  # RabbitMQ: as in 1.1
        on_nack(connection, frame)


def _refused_before_transaction(connection: Connection, frame: Frame) -> bool:
    """RabbitMQ (measured, issue 18): the id is read before the transaction is looked up.

    An id not of its format, or one whose subscription is gone, is refused as without a
    transaction; only an id naming a subscription it holds gets as far as the transaction.
    """
    if not connection.profile.ack_id_before_transaction or "transaction" not in frame.headers:
        return False
    header = "id" if connection.version == "1.2" else "message-id"
    key = frame.headers[header]
    own = _RABBITMQ_DELIVERY.fullmatch(key)
    if own is not None and own.group(1) in connection.subscriptions:
        return False
    _not_found(connection, frame, key, header)
    return True


def _find_delivery(connection: Connection, frame: Frame) -> Delivery | None:
    headers = frame.headers
    if connection.version == "1.2":
        key = headers["id"]
        delivery = connection.unacked.get(key)
        if delivery is None:
            _not_found(connection, frame, key, "id")
        return delivery
    message_id = headers["message-id"]
    candidates = [*connection.subscriptions.values(), *connection.orphans]
    named = headers.get("subscription") if connection.version == "1.1" else None  # optional: see optional()
    if named is not None:
        subscription = connection.subscriptions.get(named)
        if subscription is not None:
            candidates = [subscription]
        elif connection.profile.ack_checks_subscription:
            connection.fail("unknown-ack", frame, ack=message_id, id=named, header="message-id", message_id=message_id)
            return None
    for candidate in candidates:
        found = candidate.unacked_by_message_id.get(message_id)
        if found is not None:
            return candidate.unacked[found]
    _not_found(connection, frame, message_id, "message-id")
    return None


def _not_found(connection: Connection, frame: Frame, key: str, header: str) -> None:
    """An ACK or NACK that names nothing to acknowledge: ERROR, or what the profile's broker does instead."""
    profile = connection.profile
    if profile.unknown_delivery_ack == "precondition-failed":
        own = _RABBITMQ_DELIVERY.fullmatch(key)
        if own is not None and own.group(1) not in connection.subscriptions:
            # RabbitMQ (measured, issue 18): the subscription the id names is gone (or never was)
            connection.fail("unknown-ack", frame, variant="no-subscription", ack=key, header=header, message_id=key)
            return
        if own is not None and own.group(2) == connection.session:  # RabbitMQ: a delivery that awaits no ACK
            receipt(connection, frame)
            connection.fail("precondition-failed", frame, reason=f"unknown delivery tag {own.group(3)}")
            return
    closes = connection.version in profile.unparsable_ack_closes_in and connection.subscriptions
    if closes and _ACTIVEMQ_MESSAGE_ID.fullmatch(key) is None:
        connection.close(f"{frame.command} of message-id {key}, not the broker's format (closed without ERROR)")
        return
    message_id = "null" if header == "id" else key  # ActiveMQ's text: the 1.2 id is no message-id
    if profile.unknown_delivery_ack == "own-format-text" and _artemis_message_id(key):
        connection.fail("unknown-ack", frame, ack=key, header=header, message_id=message_id, variant="own-format")
        return
    connection.fail("unknown-ack", frame, ack=key, header=header, message_id=message_id)


_JAVA_LONG = range(-(2**63), 2**63)


def _artemis_message_id(key: str) -> bool:
    """Whether Artemis reads `key` as its CONSUMER,MESSAGE id: two parts, each a Java `Long.parseLong`.

    Measured (issue 16): `+1,2` and a Unicode digit pass; `1,2,3`, `1,2,`, `,1,2` and ` 1,2` do not.
    """
    parts = key.split(",")
    return len(parts) == 2 and all(_java_long(part) for part in parts)


def _java_long(text: str) -> bool:
    digits = text[1:] if text[:1] in ("+", "-") else text
    return digits.isdecimal() and int(text) in _JAVA_LONG


def _take(connection: Connection, delivery: Delivery, cumulative: bool) -> list[Message]:
    """Remove `delivery` (and, when cumulative, the earlier ones of its subscription) from the unacked."""
    subscription = delivery.subscription
    unacked = subscription.unacked
    if cumulative:
        keys = []
        for key in unacked:
            keys.append(key)
            if key == delivery.ack:
                break
    else:
        keys = [delivery.ack]
    taken = []
    for key in keys:
        item = unacked.pop(key)
        subscription.unacked_by_message_id.pop(item.message_id, None)
        subscription.unacked_bytes -= window_bytes(item.message, connection.profile.window_message_overhead)
        connection.unacked.pop(key, None)
        taken.append(item.message)
    return taken
