"""ACK and NACK: a client's answer to a MESSAGE it received in a client ack mode.

1.2 names the delivery by the MESSAGE's `ack` header; 1.0 and 1.1 by `message-id` (1.1
with its `subscription`, which a profile may not check: `ack_checks_subscription`). In
ack mode `client` an ACK covers every earlier delivery of its subscription (a NACK too
where the profile says so: `cumulative_nack`). What a NACK does to the message is the
profile's `nack` setting: delivered again, dead-lettered, or dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stomptest.broker.engine import Delivery, Message
from stomptest.broker.output import receipt
from stomptest.broker.transactions import hold
from stomptest.protocol.frame import Frame

if TYPE_CHECKING:
    from stomptest.broker.connection import Connection


def on_ack(connection: Connection, frame: Frame, *, committing: bool = False) -> None:
    if not committing and connection.profile.transactional_ack and hold(connection, frame):
        return
    delivery = _find_delivery(connection, frame)
    if delivery is None:
        return
    subscription = delivery.subscription
    _take(connection, delivery, subscription.ack == "client")
    if not committing:
        receipt(connection, frame)
    connection.engine.dispatch_subscription(subscription, connection.now)


def on_nack(connection: Connection, frame: Frame, *, committing: bool = False) -> None:
    profile = connection.profile
    if not committing and profile.transactional_ack and hold(connection, frame):
        return
    delivery = _find_delivery(connection, frame)
    if delivery is None:
        return
    subscription = delivery.subscription
    messages = _take(connection, delivery, subscription.ack == "client" and profile.cumulative_nack)
    policy = profile.nack
    if policy == "requeue" and profile.nack_requeue_header and frame.headers.get("requeue") == "false":
        policy = "discard"
    engine = connection.engine
    if policy == "requeue":
        engine.requeue(subscription, messages, connection.now)
    elif policy == "dead-letter":
        for message in messages:
            engine.dead_letter(message, connection.now)
    if not committing:
        receipt(connection, frame)
    engine.dispatch_subscription(subscription, connection.now)


def _find_delivery(connection: Connection, frame: Frame) -> Delivery | None:
    headers = frame.headers
    if connection.version == "1.2":
        key = headers["id"]
        delivery = connection.unacked.get(key)
        if delivery is None:
            connection.fail("unknown-ack", frame, ack=key)
        return delivery
    message_id = headers["message-id"]
    candidates = list(connection.subscriptions.values())
    if connection.version == "1.1":
        subscription = connection.subscriptions.get(headers["subscription"])
        if subscription is not None:
            candidates = [subscription]
        elif connection.profile.ack_checks_subscription:
            connection.fail("unknown-ack", frame, ack=message_id, id=headers["subscription"])
            return None
    for candidate in candidates:
        found = candidate.unacked_by_message_id.get(message_id)
        if found is not None:
            return candidate.unacked[found]
    connection.fail("unknown-ack", frame, ack=message_id)
    return None


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
        subscription.unacked_bytes -= len(item.message.body)
        connection.unacked.pop(key, None)
        taken.append(item.message)
    return taken
