"""SEND, and the MESSAGEs it becomes: the broker's hot path.

A SEND is resolved to a destination, its frame headers dropped (those the profile keeps
aside: `echo_receipt_in_message`, `reserved_send_headers`, and at COMMIT
`message_transaction_header`), the rest put in the order the profile's broker writes them
(`message_header_order`), and handed to the engine,
which calls `deliver` on each connection that gets a copy. `deliver` builds the
MESSAGE's headers the way the profile's broker writes them (`id_style`, `ack_id`,
`redelivered_header`, `jms_headers`, `persistent_header`, `destination_type_header`,
`content_length` and `content_length_1_0`, and for a subscription made without `id`,
`subscription_header_without_id`) and
`send_message` encodes it. One SEND to one subscriber costs about 56,000 machine
instructions (docs/benchmarks.md, "Broker"), so the small steps are written out here
rather than called.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from stomptest.broker import groups, lifecycle_arguments, lifecycle_headers, wire
from stomptest.broker.engine import Delivery, Message, Subscription
from stomptest.broker.output import PendingFrame, receipt, write
from stomptest.broker.subscribing import owner, refuse_destination, temporary_reply_to
from stomptest.broker.transactions import hold
from stomptest.broker.windows import window_bytes
from stomptest.protocol import spec
from stomptest.protocol.frame import Frame, encode_parts

if TYPE_CHECKING:
    from stomptest.broker.connection import Connection

# headers of a SEND that are about the frame, not the message
_FRAME_HEADERS = frozenset({"destination", "transaction", "content-length", "receipt"})
# headers the broker sets on MESSAGE; a client's own are dropped or refused (profile)
_RESERVED_HEADERS = frozenset({"message-id", "subscription", "redelivered", "ack"})
# what a SEND's headers lose on the way to MESSAGE, without and with a profile's receipt echo
_NOT_COPIED = _RESERVED_HEADERS | _FRAME_HEADERS
_NOT_COPIED_ECHO = _NOT_COPIED - {"receipt"}
# ...where the profile keeps the client's reserved headers (reserved_send_headers="keep"), by echo_receipt_in_message
_NOT_COPIED_KEEP = {False: _FRAME_HEADERS, True: _FRAME_HEADERS - {"receipt"}}
_SPECIAL = re.compile("[\\\\\n\r:\x00]")  # characters a header may need escaped (or cannot carry)


def on_send(connection: Connection, frame: Frame, *, committing: bool = False) -> None:
    """SEND: a new message on its destination, or held in its transaction until COMMIT."""
    profile = connection.profile
    engine = connection.engine
    headers = frame.headers
    name = headers["destination"]
    resolved = engine.resolve(name, connection)
    if resolved is None:
        refuse_destination(connection, frame, name)
        return
    if profile.exclusive_consumers == "rabbitmq" and groups.refuse_locked(connection, frame, name, resolved[1]):
        return
    reserved = profile.reserved_send_headers
    if reserved == "error" and "message-id" in headers:
        connection.fail("invalid-header", frame, reason="'message-id' is not allowed on 'SEND'.")  # measured
        return
    if profile.bad_lifecycle_headers != "ignore" and (  # issue 15: priority, expires, expiration it cannot read
        "priority" in headers or "expires" in headers or "expiration" in headers
    ):
        verdict = lifecycle_headers.check_send(connection, frame)
        if verdict != "ok":
            if verdict == "lost":
                receipt(connection, frame)
            return
    if not committing and "transaction" in headers and hold(connection, frame):
        return
    # issue 15 (routing.py): exchanges, composite destinations, queues that must exist
    routes = engine.routes
    existed = resolved[1] in engine.destinations  # before routing.py may make it (RabbitMQ's queue arguments)
    destination = routes.send_target(connection, frame, headers, resolved) if name not in routes.plain else None
    if destination is False:
        return
    if destination is None:
        destination = engine.destinations.get(resolved[1])
    if destination is None:
        made_by = owner(connection, name) if name.startswith("/temp-") else None
        destination = engine.destination(*resolved, owner=made_by)
    # RabbitMQ: a SEND declares its queue too, once per connection (issue 15)
    if (
        profile.queue_arguments
        and destination.name == resolved[1]  # a queue, not a carrier of routing.py
        and (destination.lifecycle is not None or destination.name not in engine.declared.get(connection.id, ()))
    ):
        declared = lifecycle_arguments.declare(connection, frame, destination, existed)
        if declared is None:
            return
        destination = declared
    if not engine.room_for(destination):
        connection.fail("limit", frame, reason=f"{name} holds max_queued={connection.limits.max_queued} messages")
        return
    raw = frame.raw_headers
    drop = _NOT_COPIED_ECHO if profile.echo_receipt_in_message else _NOT_COPIED
    if reserved == "keep":
        drop = _NOT_COPIED_KEEP[profile.echo_receipt_in_message]
    if committing and profile.message_transaction_header:
        drop = drop - {"transaction"}  # kept, and written after the SEND's other headers (RabbitMQ, Artemis)
    if len(raw) == len(headers):  # no repeated names, the usual case
        kept = [pair for pair in raw if pair[0] not in drop]
    else:
        seen: set[str] = set()
        kept = []
        for pair in raw:
            if pair[0] not in seen:
                seen.add(pair[0])
                if pair[0] not in drop:
                    kept.append(pair)
    if profile.message_header_order == "rabbitmq":
        kept = _rabbitmq_order(kept)
    elif committing and profile.message_transaction_header:
        kept = [pair for pair in kept if pair[0] != "transaction"] + [("transaction", headers["transaction"])]
    reply_to = headers.get("reply-to")
    if reply_to is not None and reply_to.startswith(("/temp-queue/", "/temp-topic/")):
        rewritten = temporary_reply_to(connection, reply_to)
        if rewritten is None:  # RabbitMQ: /temp-topic/ (measured, issue 15)
            connection.fail("invalid-header", frame, reason=f"reply-to:{reply_to} is not usable", header="reply-to")
            return
        index = [name for name, _ in kept].index("reply-to")
        kept[index] = ("reply-to", rewritten)
    now = connection.now
    message = engine.new_message(destination, tuple(kept), frame.body, now, connection.id, "content-length" in headers)
    if committing or "receipt" not in headers:
        engine.publish(destination, message, now)
    elif profile.receipt_before_dispatch:
        receipt(connection, frame)
        engine.publish(destination, message, now)
    else:
        engine.publish(destination, message, now)
        receipt(connection, frame)


# RabbitMQ keeps these as message properties and writes them after the SEND's other headers, in this order
_RABBITMQ_PROPERTIES = ("reply-to", "priority", "persistent", "content-type")


def _rabbitmq_order(kept: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The SEND's own headers as RabbitMQ writes them on MESSAGE (measured, issue 18).

    Its headers table comes back in the reverse of the order sent (`receipt` and `transaction`
    among them); the four it keeps as message properties follow, in their own order. `persistent`
    is a delivery mode: written back only as `persistent:true` (`TRUE`, `yes`, `false`: none; issue 16).
    """
    own = [pair for pair in reversed(kept) if pair[0] not in _RABBITMQ_PROPERTIES]
    properties = [(n, v) for n, v in kept if n in _RABBITMQ_PROPERTIES and (n != "persistent" or v == "true")]
    return own + sorted(properties, key=lambda pair: _RABBITMQ_PROPERTIES.index(pair[0]))


def _own_temporary_name(connection: Connection, destination: str) -> str:
    """A temporary destination as the connection that made it named it (`/temp-queue/X`), others' as they are.

    Other connections reach it as `/remote-temp-queue/SESSION:N` (routing.py); its owner reads MESSAGEs
    from it under the name it subscribed with (ActiveMQ 5.17, measured with raw frames, issue 18: D5).
    """
    return connection.engine.routes.own_name(connection, destination)


def deliver(connection: Connection, subscription: Subscription, message: Message) -> None:
    """Send `message` as a MESSAGE for `subscription` (called by the engine's dispatch)."""
    profile = connection.profile
    message.deliveries += 1
    connection.next_delivery += 1
    number = connection.next_delivery
    style = profile.id_style
    if style == "rabbitmq":
        message_id = f"T_{subscription.id}@@{connection.session}@@{number}"
    elif style == "artemis":
        message_id = f"{subscription.serial},{message.message_id}"
    elif profile.new_message_id_per_delivery:
        message_id = f"{message.message_id}.{message.deliveries}"
    else:
        message_id = message.message_id
    destination = message.destination
    if destination.startswith("/remote-temp-"):
        destination = _own_temporary_name(connection, destination)
    anonymous = connection.anonymous  # empty unless a SUBSCRIBE had no id: then see _without_id
    if anonymous and subscription.id in anonymous and not profile.subscription_header_without_id:
        message_id, headers = _without_id(connection, destination, message_id)
    else:
        headers = [
            ("subscription", subscription.id),
            ("destination", destination),
            ("message-id", message_id),
        ]
    redelivered = profile.redelivered_header
    if redelivered == "always":
        headers.append(("redelivered", "true" if message.deliveries > 1 else "false"))
    elif redelivered == "when-true" and message.deliveries > 1:
        headers.append(("redelivered", "true"))
    tracked = subscription.ack != "auto"
    journal = connection.engine.journal
    if journal is not None:
        if not tracked:
            connection.engine.release(message)  # delivered in ack mode auto: out of the broker's care (store.py)
        elif profile.restart_keeps_deliveries and message.persistent == "true" and hasattr(message, "held_in"):
            journal.append(("put", message))  # its delivery count, kept as RabbitMQ keeps it (store.py)
    ack = ""
    if tracked:
        if profile.ack_id == "message-id":
            ack = message_id
        elif style == "activemq":
            ack = f"ID:stomptest-{connection.engine.port}-{connection.id}:{number}"
        else:
            ack = f"{connection.id}.{number}"
        if connection.version == "1.2" and profile.reserved_send_headers != "keep":
            headers.append(("ack", ack))
    if profile.jms_headers == "always":
        headers += [
            ("expires", str(message.expires)),
            ("priority", str(message.priority)),
            ("timestamp", str(message.timestamp)),
        ]
    persistent = profile.persistent_header
    if persistent == "always":  # Artemis: Boolean.parseBoolean, so TRUE is true and yes is false (measured)
        headers.append(("persistent", "true" if (message.persistent or "").lower() == "true" else "false"))
    elif persistent == "as-sent" and message.persistent == "true":  # ActiveMQ: TRUE, yes, false: none (measured)
        headers.append(("persistent", "true"))
    if profile.destination_type_header and message.destination.startswith(("/queue/", "/topic/")):
        headers.append(("destination-type", "MULTICAST" if message.destination.startswith("/topic/") else "ANYCAST"))
    headers += message.out_headers
    if message.out_headers and connection.version == "1.0" and profile.one_value_per_header_1_0:
        headers = _one_value_per_name(headers)
    if tracked and connection.version == "1.2" and profile.reserved_send_headers == "keep":
        headers.append(("ack", ack))  # after the SEND's own `ack`, which a 1.2 client reads first (Artemis)
    body = message.body
    length = (
        profile.content_length if connection.version != "1.0" else profile.content_length_1_0 or profile.content_length
    )
    if length == "always":
        headers.append(("content-length", str(len(body))))
    elif length == "non-empty":  # RabbitMQ: on a body, whatever the SEND said
        if body:
            headers.append(("content-length", str(len(body))))
    elif message.had_content_length or b"\x00" in body:
        headers.append(("content-length", str(len(body))))
    send_message(connection, headers, body)
    if tracked:
        delivery = Delivery(message, subscription, message_id, ack)
        subscription.unacked[ack] = delivery
        subscription.unacked_by_message_id[message_id] = ack
        subscription.unacked_bytes += window_bytes(message, connection.profile.window_message_overhead)
        connection.unacked[ack] = delivery


def _one_value_per_name(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each name once, where it came first, with the value it had last (Artemis' 1.0 MESSAGE, measured)."""
    last = dict(headers)
    if len(last) == len(headers):
        return headers
    return list(last.items())  # a dict keeps each key where it was first put, with the last value put


def _without_id(connection: Connection, destination: str, message_id: str) -> tuple[str, list[tuple[str, str]]]:
    """A MESSAGE of a subscription made without `id`, where the broker writes no `subscription` header.

    Measured (issue 18) on ActiveMQ 5.17.2 and RabbitMQ 3.10.8; RabbitMQ's message-id then starts
    with Q_ and the destination instead of T_ and the subscription id (which is the destination).
    """
    if connection.profile.id_style == "rabbitmq":
        message_id = "Q_" + message_id[2:]
    return message_id, [("destination", destination), ("message-id", message_id)]


def send_message(connection: Connection, headers: list[tuple[str, str]], body: bytes) -> None:
    """Queue a MESSAGE, encoded here rather than by `Frame.encode`: this is the broker's hot path."""
    hold_commands = connection.hold_commands
    if hold_commands is not None and (not hold_commands or "MESSAGE" in hold_commands):
        connection.held.append(Frame("MESSAGE", headers, body))
        return
    version = connection.wire_out
    data = encode_parts("MESSAGE", headers, body, version)  # in C, when it is built
    if data is not None:
        write(connection, data, PendingFrame("MESSAGE", headers, body))
        return
    lines = ["MESSAGE"]
    if _SPECIAL.search("".join([name + value for name, value in headers])) is None:
        lines += [name + ":" + value for name, value in headers]
    elif version == "1.0":  # no escaping: ':' in a value is fine, what 1.0 cannot carry takes the careful path
        for name, value in headers:
            if not wire.encodable(name, value):
                connection.send(Frame("MESSAGE", headers, body))
                return
            lines.append(name + ":" + value)
    else:
        table = spec.ESCAPES[version]
        for name, value in headers:
            if "\x00" in name or "\x00" in value or not name:
                connection.send(Frame("MESSAGE", headers, body))
                return
            lines.append(name.translate(table) + ":" + value.translate(table))
    lines.append("\n")
    try:
        head = "\n".join(lines).encode("utf-8", "surrogateescape" if version == "1.0" else "strict")
    except UnicodeEncodeError:  # 1.0 bytes that are not UTF-8, for a 1.1+ client: the careful path
        connection.send(Frame("MESSAGE", headers, body))
        return
    write(connection, head + body + b"\x00", PendingFrame("MESSAGE", headers, body))
