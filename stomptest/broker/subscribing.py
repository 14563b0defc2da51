"""SUBSCRIBE and UNSUBSCRIBE: subscriptions, their flow-control windows, and temporary destinations.

A subscription's window (how many unacknowledged messages it may hold) comes from the
profile's prefetch header and unit (`prefetch_headers`, `prefetch_unit`,
`default_prefetch`, `default_topic_prefetch`); the engine checks it on each delivery.
A SUBSCRIBE without `id` (in 1.0, or in every version: `subscribe_without_id`) is named as
`anonymous_subscription_id` says; its MESSAGEs carry that name as `subscription` or no such
header (`subscription_header_without_id`), and UNSUBSCRIBE by `destination` finds it, or any
subscription to the destination (`unsubscribe_by_destination`). A destination the engine does
not resolve is answered as the profile's broker answers it (`refuse_destination`:
`destination_names`, RabbitMQ's texts, ActiveMQ's silent close).
Temporary destinations (`/temp-queue/`, `/temp-topic/`) are named as the profile's
broker names them (`temporary_destinations`) and die with the connection that made them.
A `selector` is compiled here, once per SUBSCRIBE, as the profile's broker reads it (`selectors`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal, cast

from stomptest.broker import durable, groups, lifecycle_arguments
from stomptest.broker.engine import AckMode, Destination, Subscription
from stomptest.broker.output import receipt
from stomptest.broker.selectors import Selector, SelectorError, compile_selector
from stomptest.protocol.frame import Frame

if TYPE_CHECKING:
    from stomptest.broker.connection import Connection

_ACK_MODES: frozenset[str] = frozenset({"auto", "client", "client-individual"})
_TOKEN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def on_subscribe(connection: Connection, frame: Frame) -> None:
    """SUBSCRIBE: a new subscription, then whatever its destination holds for it."""
    profile = connection.profile
    engine = connection.engine
    headers = frame.headers
    name = headers["destination"]
    id = headers.get("id")
    anonymous = id is None
    if id is None:
        template = profile.anonymous_subscription_id
        id = name if template is None else _anonymous_id(template, name)
    ack = headers.get("ack", "auto")
    if ack not in _ACK_MODES:
        connection.fail("invalid-header", frame, reason=f"ack:{ack} is not auto, client or client-individual")
        return
    resolved = engine.resolve(name, connection)
    if resolved is None:
        refuse_destination(connection, frame, name)
        return
    if groups.refuse_locked(connection, frame, name, resolved[1]):  # issue 14: RabbitMQ's exclusive queues
        return
    if id in connection.subscriptions and profile.duplicate_subscription != "add":
        if profile.duplicate_subscription == "ignore":
            receipt(connection, frame)
        else:
            connection.fail("duplicate-subscription", frame, id=id)
        return
    if len(connection.subscriptions) + len(connection.orphans) >= connection.limits.max_subscriptions:
        connection.fail("limit", frame, reason=f"more than max_subscriptions={connection.limits.max_subscriptions}")
        return
    window = _window(connection, frame, resolved[0])
    if window == -2:
        return
    selector = _selector(connection, frame, resolved[0])
    if selector is False:
        return
    target: Destination | Literal[False] | None = durable.subscribe_target(connection, frame, *resolved)  # issue 14
    if target is False:
        return
    is_durable = target is not None
    existed = resolved[1] in engine.destinations  # before routing.py may make it (RabbitMQ's queue arguments)
    if target and resolved[0] == "topic":
        engine.durable.select(target, selector)
        engine.routes.bind_topic(resolved[1])  # RabbitMQ: the topic's messages reach its durable copies
    elif engine.routes.active:  # issue 15 (routing.py): exchange bindings, queues that must exist
        target = engine.routes.subscribe_target(connection, frame, name, *resolved)
        if target is False:
            return
    destination = target or engine.destination(*resolved, owner=owner(connection, name))
    if profile.queue_arguments and destination.name == resolved[1] and destination.kind == "queue":  # issue 15
        declared = lifecycle_arguments.declare(connection, frame, destination, existed)
        if declared is None:
            return
        destination = declared
    durable_default = profile.default_durable_prefetch if is_durable and ack != "auto" else None
    if durable_default is not None and not any(header in headers for header in profile.prefetch_headers):
        window = durable_default  # measured: 100 on ActiveMQ 5.17.2
    subscription = add_subscription(
        connection, id, destination, cast(AckMode, ack), None if window < 0 else window, headers, selector
    )
    if anonymous:  # read by sending.deliver and on_unsubscribe
        connection.anonymous.add(id)
    # the RECEIPT before the backlog it opens, in every profile: RabbitMQ, ActiveMQ and Artemis (issue 18)
    receipt(connection, frame)
    engine.dispatch_subscription(subscription, connection.now)


def optional(connection: Connection, command: str, header: str) -> bool:
    """Whether a header the spec requires may be left out (asked only when it is missing).

    SUBSCRIBE's `id` where the profile names one or takes none in any version, UNSUBSCRIBE's
    too (it goes by `destination` then), and 1.1 ACK's and NACK's `subscription` where the
    profile's broker finds the message without it (`ack_requires_subscription_1_1`).
    """
    profile = connection.profile
    if header == "id" and command in ("SUBSCRIBE", "UNSUBSCRIBE"):
        named = command == "SUBSCRIBE" and profile.anonymous_subscription_id is not None
        return named or profile.subscribe_without_id == "always"
    return header == "subscription" and command in ("ACK", "NACK") and not profile.ack_requires_subscription_1_1


def on_unsubscribe(connection: Connection, frame: Frame) -> None:
    """UNSUBSCRIBE: by `id` (1.0 also by `destination`); its unacknowledged messages go back."""
    headers = frame.headers
    if durable.before_unsubscribe(connection, frame, detach):  # issue 14: removal of a durable subscription
        return
    id = headers.get("id")
    subscription = None
    if id is not None:
        subscription = connection.subscriptions.get(id)
    elif "destination" in headers and connection.profile.anonymous_subscription_id is not None:
        # Artemis (measured, issue 18): the destination names the id a SUBSCRIBE without one would have had
        id = _anonymous_id(connection.profile.anonymous_subscription_id, headers["destination"])
        subscription = connection.subscriptions.get(id)
    elif "destination" in headers:
        name = headers["destination"]
        resolved = connection.engine.resolve(name, connection)
        canonical = resolved[1] if resolved else name
        id_less_only = connection.profile.unsubscribe_by_destination == "id-less-only"
        for candidate in (*connection.subscriptions.values(), *reversed(connection.orphans)):
            if candidate.destination.name == canonical and (not id_less_only or candidate.id in connection.anonymous):
                subscription = candidate
                break
    else:
        connection.fail("missing-header", frame, reason="id", header="id")
        return
    if subscription is None:
        header = "id" if "id" in headers else "destination"
        connection.fail("unknown-subscription", frame, id=id or headers[header], header=header)
        return
    detach(connection, subscription)
    durable.after_unsubscribe(connection, frame, subscription)
    receipt(connection, frame)


def detach(connection: Connection, subscription: Subscription) -> None:
    """End one subscription of `connection`; its unacknowledged messages go back."""
    if subscription in connection.orphans:
        connection.orphans.remove(subscription)  # the id (and whether it was id-less) stays with the newer one
    else:
        connection.anonymous.discard(subscription.id)
        del connection.subscriptions[subscription.id]
    for key in subscription.unacked:
        connection.unacked.pop(key, None)
    unacked = connection.profile.unsubscribe_unacked
    if unacked == "requeue-uncounted":  # Artemis: as if never delivered
        for delivery in subscription.unacked.values():
            delivery.message.deliveries -= 1
    elif unacked == "hold" and subscription.unacked:  # RabbitMQ: given back only when the connection ends
        connection.withheld.append((subscription, [delivery.message for delivery in subscription.unacked.values()]))
        subscription.unacked.clear()
        subscription.unacked_by_message_id.clear()
    connection.engine.unsubscribe(subscription, connection.now)


# RabbitMQ's known exchanges (measured, issue 18: any other is `not_found`)
_RABBITMQ_EXCHANGES = frozenset({"amq.direct", "amq.topic", "amq.fanout", "amq.headers", "amq.match"})


def refuse_destination(connection: Connection, frame: Frame, name: str) -> None:
    """The answer to a SEND or SUBSCRIBE whose destination the engine did not resolve (`destination_names`).

    Measured (issue 18): ActiveMQ closes without a frame on /queue/ and /topic/; RabbitMQ
    reports a forbidden message-id first, then tells the rule the name breaks.
    """
    profile = connection.profile
    names = profile.destination_names
    if names == "activemq" and name in ("/queue/", "/topic/"):
        connection.close(f"destination {name} has no name (closed without ERROR)")
        return
    if names != "rabbitmq":
        connection.fail("bad-destination", frame, destination=name)
        return
    if frame.command == "SEND" and profile.reserved_send_headers == "error" and "message-id" in frame.headers:
        connection.fail("invalid-header", frame, reason="'message-id' is not allowed on 'SEND'.")
        return
    exchanges = connection.engine.routes.exchanges  # issue 15: the exchanges a test declared too
    known = exchanges.types if exchanges is not None else _RABBITMQ_EXCHANGES
    for prefix in ("/queue", "/topic", "/exchange", "/reply-queue"):
        if name == prefix or name.startswith(prefix + "/"):
            rest = name[len(prefix) :]
            exchange = rest[1:].split("/", 1)[0]
            if prefix == "/exchange" and exchange and exchange not in known:
                host = connection.host or "/"
                connection.fail("not-found", frame, reason=f"no exchange '{exchange}' in vhost '{host}'")
                return
            if prefix != "/exchange" or not exchange or exchanges is not None:
                reason = f"'{rest}' is not a valid {prefix[1:].replace('-', '_')} destination"
                connection.fail("invalid-destination", frame, destination=name, reason=reason)
                return
    if name.startswith("/temp-queue/"):
        reason = f"'{name}' is not a valid destination for '{frame.command}'"
        connection.fail("invalid-destination", frame, destination=name, reason=reason)
        return
    connection.fail("bad-destination", frame, destination=name)


def _anonymous_id(template: str, name: str) -> str:
    """The id of a SUBSCRIBE to `name` without one, by the profile's `anonymous_subscription_id`."""
    address = name.split("/", 2)[2] if name.startswith(("/queue/", "/topic/")) else name
    return template.format_map({"address": address})


def _selector(connection: Connection, frame: Frame, kind: str) -> Selector | Literal[False] | None:
    """SUBSCRIBE's `selector` compiled as the profile's broker reads it; False once refused with its ERROR.

    Measured (issue 14): ActiveMQ answers an invalid one with ERROR and reads on, Artemis with
    ERROR and no receipt-id (and closes in 1.2, as after every ERROR), RabbitMQ ignores the header.
    """
    text = frame.headers.get("selector")
    dialect = connection.profile.selectors
    if text is None or dialect == "none":
        return None
    try:
        return compile_selector(text, dialect)
    except SelectorError as error:
        fields = {
            "selector": text,
            "actual": error.text,
            "reason": error.reason,
            "line": str(error.line),
            "column": str(error.column),
            "cause": "org.apache.activemq.selector.ParseException" if error.syntax else "java.lang.RuntimeException",
        }
        if dialect == "artemis" and error.reason == "Selector cannot be empty":
            fields["header"] = "empty"
        elif kind == "topic":
            fields["header"] = "topic"
        connection.fail("invalid-selector", frame, **fields)
        return False


def add_subscription(
    connection: Connection,
    id: str,
    destination: Destination,
    ack: AckMode,
    window: int | None,
    headers: Mapping[str, str],
    selector: Selector | None = None,
) -> Subscription:
    subscription = Subscription(
        connection,
        id,
        destination,
        ack,
        window,
        connection.profile.prefetch_unit,
        connection.engine.new_subscription_serial(),
        headers,
    )
    subscription.selector = selector
    replaced = connection.subscriptions.get(id)
    if replaced is not None:  # duplicate_subscription="add": the older one delivers on, out of reach of its id
        connection.orphans.append(replaced)
    connection.subscriptions[id] = subscription
    connection.engine.subscribe(subscription)
    return subscription


def owner(connection: Connection, name: str) -> int | None:
    """The owner of a destination created under `name`: this connection for its temporary ones."""
    # Artemis' unprefixed /temp-queue/X is an address like any other: it outlives its maker (measured, issue 15)
    if connection.profile.temporary_destinations == "connection" and name.startswith(("/temp-queue/", "/temp-topic/")):
        return connection.id
    return None


def temporary_reply_to(connection: Connection, name: str) -> str | None:
    """The name others must use to reply to this connection's temporary destination `name` (None: refused)."""
    temporary = connection.profile.temporary_destinations
    engine = connection.engine
    if temporary == "connection":
        resolved = engine.resolve(name, connection)
        assert resolved is not None
        engine.destination(*resolved, owner=connection.id)
        return resolved[1]
    if temporary == "reply-queue":  # RabbitMQ: a private queue, subscribed to under the temp name
        if not name.startswith("/temp-queue/"):
            return None  # measured (issue 15): reply-to:/temp-topic/X is "Processing error"
        subscription = connection.subscriptions.get(name)
        if subscription is None:
            token = "".join(engine.random.choice(_TOKEN) for _ in range(22))
            # its MESSAGEs say /queue/amq.gen-...; others reach it as /reply-queue/amq.gen-... (measured, issue 15)
            queue = engine.destination("queue", f"/queue/amq.gen-{token}", owner=connection.id)
            subscription = add_subscription(connection, name, queue, "auto", None, {"destination": name})
        return "/reply-queue/" + subscription.destination.name[7:]
    return name


def _window(connection: Connection, frame: Frame, kind: str) -> int:
    """The subscription's flow-control window: -1 for none, -2 after an ERROR."""
    profile = connection.profile
    for name in profile.prefetch_headers:
        text = frame.headers.get(name)
        if text is None:
            continue
        try:
            value = int(text)
        except ValueError:
            if profile.bad_prefetch == "ignore":
                continue
            connection.fail("invalid-header", frame, reason=f"{name}:{text} is not an integer", header=name, value=text)
            return -2
        if value == 0 and profile.prefetch_zero != "one":  # issue 14, measured
            return 0 if profile.prefetch_zero == "none" else -1
        if value < 0 and profile.prefetch_negative == "none":
            return 0
        if profile.prefetch_unit == "bytes":
            return -1 if value < 0 else value
        return -1 if value < 0 else max(value, 1)
    default = profile.default_topic_prefetch if kind == "topic" else None
    default = default if default is not None else profile.default_prefetch
    return -1 if default is None else default
