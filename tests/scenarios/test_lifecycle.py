"""A message's life on every target (issue 15): expiry, priority, dead letters, bad lifecycle headers.

Each expectation comes from the target's profile (`target.facts`): `expiry_header`,
`expiry_queue`, `expiry_headers`, `priority_order`, `queue_arguments`, `bad_lifecycle_headers`.
Time passes by the broker's clock: the fake broker's is advanced (`Broker.advance`), so no
fake-broker test sleeps; a real broker's TTL needs real time, so there the scenario waits.
Measured figures: docs/lifecycle.md.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from stomptest.client import Client, ClientSubscription

from .conftest import Target
from .test_raw_frames import Raw
from .test_scenarios import END, must_receive, upto_marker

_TTL_MS = 300


@pytest.fixture
def raw() -> Iterator[list[Raw]]:
    """Raw connections a scenario opens, closed at its end."""
    opened: list[Raw] = []
    yield opened
    for connection in opened:
        connection.close()


def _pass(target: Target, seconds: float) -> None:
    """Let `seconds` pass on the target's clock."""
    if target.broker is not None:
        target.broker.advance(seconds)
    else:
        time.sleep(seconds)


def _ttl(target: Target, header: str | None = None) -> dict[str, str]:
    """The headers that make a message expire in _TTL_MS, in the profile's own header (or `header`)."""
    header = header or target.facts.expiry_header
    if header == "expiration":
        return {"expiration": str(_TTL_MS)}
    clock = target.broker.clock if target.broker is not None else time.time()
    return {"expires": str(int(clock * 1000) + _TTL_MS)}


def _drain(target: Target, client: Client, queue: str, body: bytes) -> list[dict[str, str]]:
    """The headers of each message with `body` on a shared queue (a DLQ), acknowledging all up to a marker.

    The caller holds `target.alone_on(queue)` from before its message can get there: another
    worker draining the queue meanwhile would take it.
    """
    found = []
    subscription = client.subscribe(queue, ack="client-individual", receipt=True)
    for _ in range(20 if target.real else 1):
        client.send(queue, END)
        while (message := must_receive(subscription)).body != END:
            client.ack(message)
            if message.body == body:
                found.append(dict(message.frame.headers))
        client.ack(message)
        if found or not target.real:
            break
        time.sleep(0.1)
    client.unsubscribe(subscription)
    return found


# -- expiry


def test_an_expired_message_is_never_delivered(target: Target) -> None:
    queue = target.queue()
    client = target.client()
    other = "expiration" if target.facts.expiry_header == "expires" else "expires"
    client.send(queue, b"expires", headers=_ttl(target), receipt=True)
    client.send(queue, b"the other header is an ordinary one", headers=_ttl(target, other), receipt=True)
    _pass(target, 1.0)
    subscription = client.subscribe(queue, receipt=True)
    assert upto_marker(client, queue, subscription) == [b"the other header is an ordinary one"]
    if target.broker is not None:
        assert [m.body for m in target.broker.expired(queue)] == [b"expires"]


@pytest.mark.parametrize("persistent", [True, False])
def test_where_an_expired_message_goes(target: Target, persistent: bool) -> None:
    facts = target.facts
    if facts.expiry_queue is None:
        pytest.skip(f"{target.name}: expired messages are dropped (expiry_queue=None)")
    queue = target.queue()
    body = f"expired on {queue}".encode()
    client = target.client()
    headers = {**_ttl(target), **({"persistent": "true"} if persistent else {})}
    with target.alone_on(facts.expiry_queue):
        client.send(queue, body, headers=headers, receipt=True)
        _pass(target, 1.0)
        assert upto_marker(client, queue, client.subscribe(queue, receipt=True)) == []  # found expired here
        found = _drain(target, client, facts.expiry_queue, body)
    if not persistent and not facts.dead_letter_non_persistent:
        assert found == []
        return
    [headers_there] = found
    assert headers_there["expires"] == "0"
    address = queue.removeprefix("/queue/")
    if facts.expiry_headers == "artemis":
        assert headers_there["_AMQ_ORIG_ADDRESS"] == address and headers_there["_AMQ_ORIG_QUEUE"] == address
        assert int(headers_there["_AMQ_ACTUAL_EXPIRY"]) > 0
    elif facts.expiry_headers == "activemq":
        assert headers_there["original-destination"] == queue
        expires = headers_there["originalExpiration"]
        assert headers_there["dlqDeliveryFailureCause"] == f"java.lang.Throwable: Message Expired. Expiration:{expires}"


# -- priority


_SENT = [("1", b"a"), ("9", b"b"), ("4", b"c"), ("4", b"d"), (None, b"e"), ("0", b"f"), ("7", b"g")]


def _backlog(client: Client, queue: str, subscription: ClientSubscription) -> list[bytes]:
    """The bodies before a marker of the lowest priority, which comes last however the queue orders.

    (A marker of the default priority overtakes a backlog's lower levels still queued: seen on Artemis.)
    """
    client.send(queue, END, headers={"priority": "0"})
    bodies = []
    while (message := must_receive(subscription)).body != END:
        bodies.append(message.body)
    return bodies


def test_priority_order_of_a_backlog(target: Target) -> None:
    queue = target.queue()
    client = target.client()
    for priority, body in _SENT:
        client.send(queue, body, headers={"priority": priority} if priority else None, receipt=True)
    got = _backlog(client, queue, client.subscribe(queue, receipt=True))
    if target.facts.priority_order == "priority":
        assert got == [b"b", b"g", b"c", b"d", b"e", b"a", b"f"]  # highest first, ties (4 = none) in arrival order
    else:
        assert got == [body for _, body in _SENT]


def test_persistent_messages_of_a_backlog_first(target: Target) -> None:
    """Measured: ActiveMQ's store drains a queue's persistent messages before the others; elsewhere arrival order."""
    queue = target.queue()
    client = target.client()
    sent = [(b"np1", False), (b"p1", True), (b"np2", False), (b"p2", True), (b"np3", False), (b"p3", True)]
    for body, persistent in sent:
        client.send(queue, body, headers={"persistent": "true"} if persistent else None, receipt=True)
    got = _backlog(client, queue, client.subscribe(queue, receipt=True))
    if target.facts.priority_order == "persistent-first":
        assert got == [b"p1", b"p2", b"p3", b"np1", b"np2", b"np3"]
    else:
        assert got == [body for body, _ in sent]


def test_rabbitmq_x_max_priority(target: Target) -> None:
    if not target.facts.queue_arguments:
        pytest.skip(f"{target.name}: no queue arguments on SUBSCRIBE")
    queue = target.queue()
    client = target.client()
    arguments = {"x-max-priority": "5"}
    client.unsubscribe(client.subscribe(queue, headers=arguments, receipt=True), receipt=True)
    for priority, body in _SENT:
        client.send(queue, body, headers={"priority": priority} if priority else None, receipt=True)
    got = _backlog(client, queue, client.subscribe(queue, headers=arguments, receipt=True))
    assert got == [b"b", b"g", b"c", b"d", b"a", b"e", b"f"]  # 9 and 7 are 5; none is 0


# -- RabbitMQ's queue arguments and dead-letter exchanges


def _dead_lettering(target: Target, client: Client, **more: str) -> tuple[str, str, dict[str, str]]:
    queue, dead = target.queue(), target.queue()
    arguments = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead.removeprefix("/queue/"), **more}
    client.unsubscribe(client.subscribe(dead, receipt=True), receipt=True)  # the dead-letter queue must exist
    return queue, dead, arguments


def test_rabbitmq_dead_letters_expired_and_rejected_messages(target: Target) -> None:
    if not target.facts.queue_arguments:
        pytest.skip(f"{target.name}: no queue arguments on SUBSCRIBE")
    client = target.client()
    queue, dead, arguments = _dead_lettering(target, client)
    client.unsubscribe(client.subscribe(queue, headers=arguments, receipt=True), receipt=True)
    client.send(queue, b"expired", headers={"expiration": "200", "foo": "bar"}, receipt=True)
    _pass(target, 1.0)
    subscription = client.subscribe(queue, ack="client-individual", headers=arguments, receipt=True)
    client.send(queue, b"rejected", receipt=True)
    rejected = must_receive(subscription)
    client.nack(rejected, headers={"requeue": "false"}, receipt=True)
    dead_subscription = client.subscribe(dead, receipt=True)
    first, second = must_receive(dead_subscription), must_receive(dead_subscription)
    assert (first.body, second.body) == (b"expired", b"rejected")
    address = queue.removeprefix("/queue/")
    for message, reason in ((first, "expired"), (second, "rejected")):
        headers = message.frame.headers
        assert headers["x-first-death-queue"] == address and headers["x-first-death-reason"] == reason
        assert headers["x-first-death-exchange"] == "" and headers["redelivered"] == "false"
        assert "expiration" not in headers and "x-death" not in headers
    names = [name for name, _ in first.frame.raw_headers]
    assert names.index("foo") < names.index("x-first-death-exchange")  # the headers table comes sorted


def test_rabbitmq_queue_arguments_must_match(target: Target, raw: list[Raw]) -> None:
    if not target.facts.queue_arguments:
        pytest.skip(f"{target.name}: no queue arguments on SUBSCRIBE")
    queue = target.queue()
    first = Raw(target)
    raw.append(first)
    first.connect()
    first.send(f"SUBSCRIBE\nid:1\ndestination:{queue}\nx-message-ttl:60000\nreceipt:s\n\n\x00")
    assert first.next().command == "RECEIPT"
    second = Raw(target)
    raw.append(second)
    second.connect()
    second.send(f"SEND\ndestination:{queue}\nreceipt:r\n\nx\x00")
    error = second.next()
    assert error.command == "ERROR" and error.headers["message"] == "precondition_failed"
    assert error.body.decode() == (
        f"PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue '{queue[7:]}' in vhost '/': "
        "received none but current is the value '60000' of type 'long'"
    )
    assert second.closes()


@pytest.mark.parametrize(
    ("argument", "problem"),
    [("x-message-ttl:-1", "{value_negative,-1}"), ("x-expires:0", "{value_zero,0}"),
     ("x-max-priority:300", "{max_value_exceeded,300}")],
)  # fmt: skip
def test_rabbitmq_queue_argument_out_of_range(target: Target, raw: list[Raw], argument: str, problem: str) -> None:
    if not target.facts.queue_arguments:
        pytest.skip(f"{target.name}: no queue arguments on SUBSCRIBE")
    queue = target.queue()
    connection = Raw(target)
    raw.append(connection)
    connection.connect()
    connection.send(f"SUBSCRIBE\nid:1\ndestination:{queue}\n{argument}\nreceipt:s\n\n\x00")
    error = connection.next()
    name = argument.split(":")[0]
    assert error.body.decode() == (
        f"PRECONDITION_FAILED - invalid arg '{name}' for queue '{queue[7:]}' in vhost '/': {problem}"
    )
    assert connection.next().command == "RECEIPT"
    assert connection.closes()


# -- priority and expiry values the broker cannot read (measured, lifecycle_headers.py)

_BAD = ["priority:abc", "priority:-1", "priority:300", "expires:abc", "expires:-5", "expiration:abc", "expiration:-5"]


def _outcome(target: Target, header: str) -> str:
    """What the profile says a SEND with `header` gets: delivered, lost, error (and open), error-close, close."""
    style = target.facts.bad_lifecycle_headers
    name, _, value = header.partition(":")
    number = int(value) if value.lstrip("-").isdigit() else None
    if style == "activemq":
        if name in ("priority", "expires") and number is None:
            return "close"
        return "delivered"
    if style == "rabbitmq":
        if name == "priority" and number is None:
            return "error"
        if name == "expiration":
            return "error-close"
        return "delivered"
    if style == "artemis":
        if (name == "priority" and (number is None or not -128 <= number <= 127)) or (
            name == "expires" and number is None
        ):
            return "error-close"
        if name == "priority" and not 0 <= (number or 0) <= 9:
            return "lost"
        if name == "expires" and number is not None and number < 0:
            return "lost"  # passed already: expired on arrival
        return "delivered"
    if name == "expires" and number is not None and number < 0:
        return "lost"
    return "delivered"


@pytest.mark.parametrize("header", _BAD)
def test_a_priority_or_expiry_it_cannot_read(target: Target, raw: list[Raw], header: str) -> None:
    queue = f"/queue/stomptest-bad-{uuid.uuid4().hex[:12]}"
    connection = Raw(target)
    raw.append(connection)
    connection.connect()
    connection.send(f"SUBSCRIBE\nid:1\ndestination:{queue}\nreceipt:s\n\n\x00")
    assert connection.next().command == "RECEIPT"
    connection.send(f"SEND\ndestination:{queue}\n{header}\nreceipt:r\n\nbad\x00")
    connection.send(f"SEND\ndestination:{queue}\nreceipt:m\n\nmarker\x00")
    expected = _outcome(target, header)
    frames = []
    closed = stalled = False
    try:
        while not (frames and frames[-1].command == "MESSAGE" and frames[-1].body == b"marker"):
            frames.append(connection.next(timeout=5))
    except (AssertionError, ConnectionError):
        closed = True  # the broker closed before the marker came
    except TimeoutError:
        stalled = True
    commands = [(f.command, f.body if f.command == "MESSAGE" else None) for f in frames]
    if stalled:
        # Real Artemis after a priority outside 0-9 (measured: 1 run in 6): the message is lost and the
        # consumer gets nothing more, the marker included; a bug of the broker's, not modelled (lifecycle.md)
        assert target.real and expected == "lost" and target.facts.bad_lifecycle_headers == "artemis", commands
        assert ("RECEIPT", None) in commands and b"bad" not in [body for _, body in commands]
        return
    if expected == "close":
        assert commands == [] and closed
    elif expected in ("error", "error-close"):
        assert commands[0][0] == "ERROR", commands
        assert b"bad" not in [body for _, body in commands]
        assert closed == (expected == "error-close"), commands
    else:
        bodies = [body for command, body in commands if command == "MESSAGE"]
        assert bodies == ([b"bad", b"marker"] if expected == "delivered" else [b"marker"]), commands


def test_rabbitmq_dead_letter_cycles(target: Target) -> None:
    """Expiring into a queue it expired on before drops a message; a cycle with a rejection in it goes on."""
    if not target.facts.queue_arguments:
        pytest.skip(f"{target.name}: no queue arguments on SUBSCRIBE")
    client = target.client()
    loop = target.queue()
    arguments = {"x-dead-letter-exchange": "", "x-message-ttl": "300"}  # to itself: the default routing key
    client.unsubscribe(client.subscribe(loop, headers=arguments, receipt=True), receipt=True)
    client.send(loop, b"round", receipt=True)
    _pass(target, 1.0)
    assert upto_marker(client, loop, client.subscribe(loop, headers=arguments, receipt=True)) == []
    a, b = target.queue(), target.queue()
    to_b = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": b.removeprefix("/queue/")}
    to_a = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": a.removeprefix("/queue/")}
    on_a = client.subscribe(a, ack="client-individual", headers=to_b, receipt=True)
    on_b = client.subscribe(b, ack="client-individual", headers=to_a, receipt=True)
    client.send(a, b"ping", receipt=True)
    for subscription in (on_a, on_b, on_a, on_b):
        message = must_receive(subscription)
        assert message.body == b"ping"
        client.nack(message, headers={"requeue": "false"}, receipt=True)


def test_a_nacked_message_that_would_expire_never_expires_as_a_dead_letter(target: Target) -> None:
    facts = target.facts
    if facts.nack != "dead-letter":
        pytest.skip(f"{target.name}: a NACK does not dead-letter (nack={facts.nack!r})")
    queue = target.queue()
    body = f"nacked on {queue}".encode()
    client = target.client()
    subscription = client.subscribe(queue, ack="client-individual", receipt=True)
    expires = str(int(time.time() * 1000) + 600_000)
    with target.alone_on(facts.dead_letter_queue):
        client.send(queue, body, headers={"persistent": "true", "expires": expires}, receipt=True)
        client.nack(must_receive(subscription), receipt=True)
        [headers] = _drain(target, client, facts.dead_letter_queue, body)
    assert headers["original-destination"] == queue
    if facts.expiry_headers == "activemq":
        assert (headers["expires"], headers["originalExpiration"]) == ("0", expires)


def test_a_topic_message_that_expires_waiting_for_its_subscriber(target: Target) -> None:
    """Measured: ActiveMQ and Artemis move it where expired queue messages go (with a one-message window)."""
    facts = target.facts
    if facts.expiry_queue is None or not facts.prefetch_headers:
        pytest.skip(f"{target.name}: expired messages are dropped, or no window to hold one back")
    topic = target.topic()
    body = f"expired on {topic}".encode()
    client = target.client()
    window = "0" if facts.prefetch_unit == "bytes" else "1"  # one message at a time
    subscription = client.subscribe(
        topic, ack="client-individual", headers={name: window for name in facts.prefetch_headers}, receipt=True
    )
    with target.alone_on(facts.expiry_queue):
        client.send(topic, b"first", headers={"persistent": "true"}, receipt=True)
        client.send(topic, body, headers={"persistent": "true", **_ttl(target)}, receipt=True)
        first = must_receive(subscription)
        _pass(target, 1.0)
        client.ack(first, receipt=True)
        assert upto_marker(client, topic, subscription, ack=True) == []
        [headers] = _drain(target, client, facts.expiry_queue, body)
    assert headers["expires"] == "0"
