"""SUBSCRIBE/UNSUBSCRIBE and ids, MESSAGE headers, queue and topic delivery."""

from __future__ import annotations

from stomptest.conformance.checks._registry import check
from stomptest.conformance.context import Context

AREA = "messaging"


@check("subscribe-ids", "Each subscription gets its own MESSAGE; UNSUBSCRIBE by id stops it", area=AREA)
def subscribe_ids(ctx: Context) -> None:
    probe = ctx.connect()
    topic = ctx.destination("topic")
    ctx.subscribe(probe, topic, "sub-a")
    ctx.subscribe(probe, topic, "sub-b")
    ctx.send(probe, topic, b"one")
    first = ctx.messages(probe, 2)
    section = "SUBSCRIBE" if ctx.version == "1.0" else "SUBSCRIBE id Header"
    ids = sorted(m.headers.get("subscription", "(none)") for m in first)
    ctx.expect(ids == ["sub-a", "sub-b"], "wrong-subscription", section, f"subscription headers {ids}")
    ctx.request(probe, "UNSUBSCRIBE", {"id": "sub-a"})
    ctx.send(probe, topic, b"two")
    later = ctx.gather(probe, 1, extra=0.5)
    got = [(m.body, m.headers.get("subscription")) for m in later]
    ctx.expect(
        got == [(b"two", "sub-b")],
        "unsubscribe-ignored",
        "UNSUBSCRIBE",
        f"after UNSUBSCRIBE id:sub-a the next message arrived as {got}, expected only via sub-b",
    )
    ctx.disconnect(probe)


@check("message-headers", "MESSAGE carries destination, message-id, subscription and user headers", area=AREA)
def message_headers(ctx: Context) -> None:
    probe = ctx.connect()
    destination = ctx.destination()
    ctx.subscribe(probe, destination, "sub-1")
    ctx.send(probe, destination, b"payload", {"content-type": "text/plain", "x-user": "kept"})
    [message] = ctx.messages(probe, 1)
    headers = message.headers
    section = "MESSAGE"
    sent = {"destination", "message-id", "subscription", "content-type", "x-user", "ack"}
    ctx.observe("added headers", " ".join(sorted(set(headers) - sent)) or "none")
    ctx.expect(
        headers.get("destination") == destination,
        "wrong-destination",
        section,
        f"destination:{headers.get('destination')!r}, sent to {destination!r}",
    )
    ctx.expect(bool(headers.get("message-id")), "no-message-id", section, "no message-id header")
    ctx.expect(
        headers.get("subscription") == "sub-1",
        "wrong-subscription",
        section,
        f"subscription:{headers.get('subscription')!r}, subscribed with id:sub-1",
    )
    ctx.expect(headers.get("x-user") == "kept", "user-header-lost", section, f"x-user:{headers.get('x-user')!r}")
    if ctx.version != "1.0":
        ctx.expect(
            headers.get("content-type") == "text/plain",
            "content-type-lost",
            "Header content-type",
            f"content-type:{headers.get('content-type')!r}, sent text/plain",
        )
    if ctx.version == "1.2":
        ctx.expect(
            "ack" not in headers,
            "ack-header-in-auto-mode",
            section,
            f"an ack:{headers.get('ack')!r} header in auto mode",
        )
    ctx.expect(message.body == b"payload", "body-altered", section, f"body {message.body!r}")
    ctx.disconnect(probe)


@check("queue-delivery", "A queue keeps messages for later and gives each to one consumer", area=AREA)
def queue_delivery(ctx: Context) -> None:
    producer = ctx.connect("producer")
    queue = ctx.destination()
    for body in (b"early-1", b"early-2"):
        ctx.send(producer, queue, body)
    first = ctx.connect("consumer1")
    ctx.subscribe(first, queue)
    early = [m.body for m in ctx.messages(first, 2)]
    section = "SEND"
    ctx.expect(early == [b"early-1", b"early-2"], "queue-lost", section, f"sent before subscribing, got {early}")
    second = ctx.connect("consumer2")
    ctx.subscribe(second, queue)
    bodies = [f"later-{i}".encode() for i in range(6)]
    for body in bodies:
        ctx.send(producer, queue, body)
    got = [f.body for f in ctx.gather([first, second], len(bodies), extra=0.5)]
    ctx.expect(
        sorted(got) == sorted(bodies),
        "queue-not-exclusive",
        section,
        f"6 messages with two consumers: they received {sorted(got)}",
    )
    for probe in (producer, first, second):
        ctx.disconnect(probe)


@check("topic-delivery", "A topic gives each message to every subscriber", area=AREA)
def topic_delivery(ctx: Context) -> None:
    topic = ctx.destination("topic")
    one, two = ctx.connect("sub1"), ctx.connect("sub2")
    ctx.subscribe(one, topic)
    ctx.subscribe(two, topic)
    producer = ctx.connect("producer")
    ctx.send(producer, topic, b"fan-out")
    for probe in (one, two):
        [message] = ctx.messages(probe, 1)
        ctx.expect(message.body == b"fan-out", "body-altered", "MESSAGE", f"body {message.body!r}")
    for probe in (producer, one, two):
        ctx.disconnect(probe)
