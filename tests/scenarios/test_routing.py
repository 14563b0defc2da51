"""Routing scenarios in raw frames (issue 15, docs/routing.md), for every target: request/reply through temporary
queues, RabbitMQ's exchanges and queue arguments, ActiveMQ's composite destinations and virtual topics.

Each expectation is read from the target's profile (`target.facts`: `temporary_destinations`,
`exchanges`, `queue_arguments`, `composite_destinations`, `virtual_topics`), so the fake broker
and the real broker it models must answer alike; where a profile does not have the feature,
the scenario checks that the name is an ordinary one there (it fails where the broker routes
it after all). "Nothing else arrived" is read up to a marker, never waited for.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from stomptest.protocol import Frame

from .conftest import Target
from .test_raw_frames import Raw

MARKER = "-- marker --"


class Peer(Raw):
    """A raw connection with the few steps these scenarios repeat."""

    def frame(self, command: str, headers: dict[str, str], body: str = "") -> None:
        self.sock.sendall(Frame(command, headers, body.encode()).encode("1.2"))

    def subscribe(self, destination: str, id: str = "s", **headers: str) -> Frame:
        """SUBSCRIBE and its first answer (the RECEIPT where all went well)."""
        self.frame("SUBSCRIBE", {"id": id, "destination": destination, "receipt": f"sub-{id}", **headers})
        return self.next()

    def subscribed(self, destination: str, id: str = "s", **headers: str) -> None:
        reply = self.subscribe(destination, id, **headers)
        assert reply.command == "RECEIPT", reply

    def sent(self, destination: str, body: str, **headers: str) -> Frame:
        """SEND with a receipt, and the first answer to it (RECEIPT, or an ERROR)."""
        receipt = f"send-{uuid.uuid4().hex[:8]}"
        self.frame("SEND", {"destination": destination, "receipt": receipt, **headers}, body)
        while True:
            frame = self.next()
            if frame.command != "MESSAGE":
                return frame

    def take(self, count: int) -> list[Frame]:
        """The next `count` MESSAGEs (an AssertionError if another frame comes first)."""
        got = [self.next() for _ in range(count)]
        assert all(frame.command == "MESSAGE" for frame in got), got
        return got

    def upto_marker(self, producer: Peer, destination: str) -> list[Frame]:
        """The MESSAGEs this connection gets before the marker `producer` sends to `destination`."""
        assert producer.sent(destination, MARKER).command == "RECEIPT"
        got: list[Frame] = []
        while True:
            frame = self.next()
            assert frame.command == "MESSAGE", frame
            if frame.body == MARKER.encode():
                return got
            got.append(frame)


# (scenario, target) -> what differs, as conftest.py's KNOWN_DIFFERENCES: strict xfails until modelled
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {}


@pytest.fixture
def peers(target: Target, request: pytest.FixtureRequest) -> Iterator[list[Peer]]:
    reason = KNOWN_DIFFERENCES.get((request.node.originalname, target.name))
    if reason is not None:
        request.node.add_marker(pytest.mark.xfail(strict=True, reason=reason))
    opened: list[Peer] = []
    yield opened
    for peer in opened:
        peer.close()


def _connected(target: Target, peers: list[Peer]) -> tuple[Peer, Frame]:
    peer = Peer(target)
    peers.append(peer)
    return peer, peer.connect()


def _peer(target: Target, peers: list[Peer]) -> Peer:
    return _connected(target, peers)[0]


def _unique() -> str:
    return f"stomptest-{uuid.uuid4().hex[:12]}"


def _bodies(frames: list[Frame]) -> list[bytes]:
    return [frame.body for frame in frames]


# --- temporary queues and reply-to -----------------------------------------------------------------------------


def _request(target: Target, peers: list[Peer]) -> tuple[Peer, Frame, Peer, str, str]:
    """A request with reply-to:/temp-queue/NAME: (requester, its CONNECTED, service, NAME, the reply-to it got)."""
    facts = target.facts
    requester, connected = _connected(target, peers)
    service = _peer(target, peers)
    queue = target.queue()
    service.subscribed(queue)
    temporary = f"/temp-queue/{_unique()}"
    if facts.temporary_destinations != "reply-queue":  # RabbitMQ takes /temp-queue/ only in reply-to
        requester.subscribed(temporary, id="replies")
    assert requester.sent(queue, "question", **{"reply-to": temporary}).command == "RECEIPT"
    request = service.next()
    assert request.command == "MESSAGE" and request.body == b"question", request
    return requester, connected, service, temporary, request.headers["reply-to"]


def test_request_reply_through_a_temporary_queue(target: Target, peers: list[Peer]) -> None:
    """The reply-to each broker writes, and the answer sent there reaching the requester (measured, issue 15)."""
    facts = target.facts
    requester, connected, service, temporary, reply_to = _request(target, peers)
    style = facts.temporary_destinations
    if style == "connection":  # ActiveMQ: the connection's session, then the temporary queue's number
        assert reply_to == f"/remote-temp-queue/{connected.headers['session']}:1"
    elif style == "reply-queue":  # RabbitMQ: a queue of its own with a server-made name
        assert reply_to.startswith("/reply-queue/amq.gen-") and len(reply_to) == len("/reply-queue/amq.gen-") + 22
    else:  # Artemis, strict: the name as sent
        assert reply_to == temporary
    assert service.sent(reply_to, "answer").command == "RECEIPT"
    answer = requester.next()
    assert answer.command == "MESSAGE" and answer.body == b"answer", answer
    expected = "/queue/" + reply_to[len("/reply-queue/") :] if style == "reply-queue" else temporary
    assert answer.headers["destination"] == expected
    assert answer.headers["subscription"] == (temporary if style == "reply-queue" else "replies")


def test_another_connection_reading_a_temporary_queue(target: Target, peers: list[Peer]) -> None:
    """ActiveMQ: it competes for the messages; RabbitMQ: resource_locked; Artemis: a copy of its own."""
    facts = target.facts
    requester, _, service, temporary, reply_to = _request(target, peers)
    other = _peer(target, peers)
    style = facts.temporary_destinations
    reply = other.subscribe(reply_to, id="other")
    if style == "reply-queue":
        assert (reply.command, reply.headers["message"]) == ("ERROR", "resource_locked"), reply
        assert other.next().command == "RECEIPT"
        with pytest.raises(AssertionError, match="closed"):
            other.next()
        return
    assert reply.command == "RECEIPT", reply
    for index in range(4):
        assert service.sent(reply_to, f"m{index}").command == "RECEIPT"
    if style == "unprefixed":  # Artemis: an address like any other, and each subscriber gets a copy
        assert temporary == reply_to
        assert _bodies(requester.upto_marker(service, reply_to)) == [b"m0", b"m1", b"m2", b"m3"]
        assert _bodies(other.upto_marker(service, reply_to)) == [b"m0", b"m1", b"m2", b"m3"]
        return
    # competing consumers (ActiveMQ; strict, where it is an ordinary queue): two markers, one to each
    assert service.sent(reply_to, MARKER).command == "RECEIPT"
    assert service.sent(reply_to, MARKER).command == "RECEIPT"
    got: dict[str, list[Frame]] = {}
    for name, reader in (("mine", requester), ("theirs", other)):
        got[name] = []
        while (frame := reader.next()).body != MARKER.encode():
            got[name].append(frame)
    assert sorted(_bodies(got["mine"]) + _bodies(got["theirs"])) == [b"m0", b"m1", b"m2", b"m3"]
    assert len(got["mine"]) == len(got["theirs"]) == 2  # round robin
    assert {frame.headers["destination"] for frame in got["theirs"]} == {reply_to}
    assert {frame.headers["destination"] for frame in got["mine"]} == {temporary}


def test_a_temporary_queue_after_its_connection_closed(target: Target, peers: list[Peer]) -> None:
    """ActiveMQ: ERROR, the connection lives on; RabbitMQ: dropped, a SUBSCRIBE is not_found; Artemis: lives on."""
    facts = target.facts
    requester, _, service, _, reply_to = _request(target, peers)
    style = facts.temporary_destinations
    listener = None
    if style in ("unprefixed", "shared"):
        listener = _peer(target, peers)
        listener.subscribed(reply_to)
    requester.frame("DISCONNECT", {"receipt": "bye"})
    assert requester.next().command == "RECEIPT"
    reply = service.sent(reply_to, "late")
    if style == "connection":
        assert reply.command == "ERROR", reply
        assert reply.headers["message"] == "temp-queue://" + reply_to.split("/", 2)[2]
        assert reply.body.decode().startswith("org.apache.activemq.DestinationDoesNotExistException: The destination")
        assert service.sent(target.queue(), "still open").command == "RECEIPT"
        return
    assert reply.command == "RECEIPT", reply
    if style == "reply-queue":
        late = _peer(target, peers)
        error = late.subscribe(reply_to)
        assert error.command == "ERROR" and error.headers["message"] == "not_found", error
        assert error.body.decode() == f"NOT_FOUND - no queue '{reply_to[len('/reply-queue/') :]}' in vhost '/'"
        return
    assert listener is not None
    assert _bodies(listener.upto_marker(service, reply_to)) == [b"late"]


def test_a_temporary_topic_in_reply_to(target: Target, peers: list[Peer]) -> None:
    """RabbitMQ refuses it ('Processing error', the connection lives on); ActiveMQ makes it a remote temporary topic."""
    facts = target.facts
    requester, connected = _connected(target, peers)
    service = _peer(target, peers)
    queue = target.queue()
    service.subscribed(queue)
    temporary = f"/temp-topic/{_unique()}"
    reply = requester.sent(queue, "question", **{"reply-to": temporary})
    if facts.temporary_destinations == "reply-queue":
        assert (reply.command, reply.headers["message"], reply.body) == (
            "ERROR",
            "Processing error",
            b"Processing error",
        )
        assert _bodies(service.upto_marker(requester, queue)) == []
        return
    assert reply.command == "RECEIPT", reply
    [request] = service.upto_marker(requester, queue)
    expected = temporary
    if facts.temporary_destinations == "connection":
        expected = f"/remote-temp-topic/{connected.headers['session']}:1"
    assert request.headers["reply-to"] == expected


# --- RabbitMQ: exchanges, /amq/queue/, queue arguments ---------------------------------------------------------


def _needs(target: Target, setting: str) -> None:
    if not getattr(target.facts, setting):
        pytest.skip(f"{target.name}: {setting} is off in its profile (test_exchange_names_elsewhere)")


def test_exchange_routing(target: Target, peers: list[Peer]) -> None:
    """direct, fanout and topic exchanges, and the destination each MESSAGE names (RabbitMQ, measured)."""
    _needs(target, "exchanges")
    key = _unique()
    direct, star, hash_, fanout = (_peer(target, peers) for _ in range(4))
    direct.subscribed(f"/exchange/amq.direct/{key}")
    star.subscribed(f"/exchange/amq.topic/{key}.*")
    hash_.subscribed(f"/topic/{key}.#")
    fanout.subscribed(f"/exchange/amq.fanout/{key}")
    producer = _peer(target, peers)
    for destination, body in [
        (f"/exchange/amq.direct/{key}", "direct"),
        (f"/exchange/amq.direct/{key}.x", "missed"),
        (f"/topic/{key}.a", "one word"),
        (f"/topic/{key}.a.b", "two words"),
        (f"/topic/{key}", "no word"),
        (f"/exchange/amq.topic/{key}.q", "via exchange"),
    ]:
        assert producer.sent(destination, body).command == "RECEIPT"
    got = direct.upto_marker(producer, f"/exchange/amq.direct/{key}")
    assert [(m.body, m.headers["destination"]) for m in got] == [(b"direct", f"/exchange/amq.direct/{key}")]
    got = star.upto_marker(producer, f"/topic/{key}.end")
    assert [(m.body, m.headers["destination"]) for m in got] == [
        (b"one word", f"/topic/{key}.a"),
        (b"via exchange", f"/topic/{key}.q"),
    ]
    assert _bodies(hash_.upto_marker(producer, f"/topic/{key}.end")) == [
        b"one word",
        b"two words",
        b"no word",
        b"via exchange",
    ]
    # fanout: every binding, whatever the key; on a real broker others may use amq.fanout, so look for ours
    assert producer.sent(f"/exchange/amq.fanout/{key}.other", "fan").command == "RECEIPT"
    got = [m for m in fanout.upto_marker(producer, f"/exchange/amq.fanout/{key}") if key in m.headers["destination"]]
    assert [(m.body, m.headers["destination"]) for m in got] == [(b"fan", f"/exchange/amq.fanout/{key}.other")]


def test_exchange_names_elsewhere(target: Target, peers: list[Peer]) -> None:
    """Without exchanges an /exchange/ name is a name like any other: a fanout is no fanout.

    (No '*' in these names: ActiveMQ's queues and Artemis' addresses take it as a wildcard, test_wildcard_topics.)
    """
    if target.facts.exchanges or target.facts.destination_names == "rabbitmq":
        pytest.skip(f"{target.name} routes /exchange/ names (test_exchange_routing)")
    key = _unique()
    reader = _peer(target, peers)
    reader.subscribed(f"/exchange/amq.fanout/{key}.1")
    producer = _peer(target, peers)
    assert producer.sent(f"/exchange/amq.fanout/{key}.2", "not for 1").command == "RECEIPT"
    assert producer.sent(f"/exchange/amq.fanout/{key}.1", "for 1").command == "RECEIPT"
    [got] = reader.upto_marker(producer, f"/exchange/amq.fanout/{key}.1")
    named = f"/queue//exchange/amq.fanout/{key}.1" if target.facts.destination_names == "activemq" else None
    assert (got.body, got.headers["destination"]) == (b"for 1", named or f"/exchange/amq.fanout/{key}.1")


# pattern -> what it gets of the keys a, a.b, a.b.c, x.b, by the word that matches any number of words
# (measured on /topic/UNIQUE.PATTERN, issue 15: RabbitMQ's amq.topic and Artemis '#', ActiveMQ '>', strict none)
_WILDCARDS = {
    "#": {
        "*": [b"a"],
        "#": [b"a", b"a.b", b"a.b.c", b"x.b"],
        ">": [],
        "a.*": [b"a.b"],
        "a.#": [b"a", b"a.b", b"a.b.c"],
    },
    ">": {
        "*": [b"a"],
        "#": [],
        ">": [b"a", b"a.b", b"a.b.c", b"x.b"],
        "a.*": [b"a.b"],
        "a.>": [b"a", b"a.b", b"a.b.c"],
    },
    "": {"*": [], "#": [], ">": [], "*.b": [], "a.b": [b"a.b"]},
}


def test_wildcard_topics(target: Target, peers: list[Peer]) -> None:
    """`*` one word and `#` (RabbitMQ, Artemis) or `>` (ActiveMQ) any number, on /topic/ subscriptions."""
    facts = target.facts
    many = "#" if facts.exchanges or facts.topic_wildcards == "artemis" else ""
    many = ">" if facts.topic_wildcards == "activemq" else many
    base = f"/topic/{_unique()}"
    table = _WILDCARDS[many]
    readers = {}
    for pattern in table:
        readers[pattern] = _peer(target, peers)
        readers[pattern].subscribed(f"{base}.{pattern}")
    producer = _peer(target, peers)
    for key in ("a", "a.b", "a.b.c", "x.b"):
        assert producer.sent(f"{base}.{key}", key).command == "RECEIPT"
    for pattern, expected in table.items():
        got = readers[pattern].upto_marker(producer, f"{base}.{pattern}")
        assert _bodies(got) == expected, pattern
        assert [m.headers["destination"] for m in got] == [f"{base}.{key.decode()}" for key in expected]


def test_exchange_names_rabbitmq_refuses(target: Target, peers: list[Peer]) -> None:
    _needs(target, "exchanges")
    peer = _peer(target, peers)
    error = peer.subscribe("/exchange/amq.direct/a/b")
    assert (error.command, error.headers["message"]) == ("ERROR", "Invalid destination"), error
    assert error.body == b"'/amq.direct/a/b' is not a valid exchange destination\n"


def test_amq_queue_must_exist(target: Target, peers: list[Peer]) -> None:
    """SEND to a missing one: RECEIPT and dropped; SUBSCRIBE: not_found, RECEIPT, close (RabbitMQ, measured)."""
    _needs(target, "exchanges")
    name = _unique()
    producer = _peer(target, peers)
    assert producer.sent(f"/amq/queue/{name}", "lost").command == "RECEIPT"
    reader = _peer(target, peers)
    error = reader.subscribe(f"/amq/queue/{name}")
    assert error.command == "ERROR" and error.body.decode() == f"NOT_FOUND - no queue '{name}' in vhost '/'", error
    assert reader.next().command == "RECEIPT"
    with pytest.raises(AssertionError, match="closed"):
        reader.next()
    assert producer.sent(f"/queue/{name}", "declared").command == "RECEIPT"
    reader = _peer(target, peers)
    reader.subscribed(f"/amq/queue/{name}")
    got = reader.upto_marker(producer, f"/amq/queue/{name}")
    assert [(m.body, m.headers["destination"]) for m in got] == [(b"declared", f"/queue/{name}")]


def test_max_length_drops_the_oldest_ready_messages(target: Target, peers: list[Peer]) -> None:
    """x-max-length and x-max-length-bytes; x-overflow:reject-publish changes nothing (RabbitMQ 3.10.8, measured)."""
    _needs(target, "queue_arguments")
    producer = _peer(target, peers)
    for arguments, bodies, kept in [
        ({"x-max-length": "2"}, ["m0", "m1", "m2", "m3"], [b"m2", b"m3"]),
        ({"x-max-length": "2", "x-overflow": "reject-publish"}, ["r0", "r1", "r2"], [b"r1", b"r2"]),
        ({"x-max-length-bytes": "5"}, ["abc", "de", "fgh"], [b"de", b"fgh"]),
    ]:
        name = f"/queue/{_unique()}"
        reader = _peer(target, peers)
        reader.subscribed(name, **arguments)
        reader.frame("UNSUBSCRIBE", {"id": "s", "receipt": "gone"})
        assert reader.next().command == "RECEIPT"
        for body in bodies:
            assert producer.sent(name, body, **arguments).command == "RECEIPT"
        reader.subscribed(name, id="again", **arguments)
        got = []
        for _ in kept:
            got.append(reader.next().body)
        assert got == kept
        reader.frame("UNSUBSCRIBE", {"id": "again", "receipt": "gone-again"})
        assert reader.next().command == "RECEIPT"  # nothing more was waiting: the RECEIPT came next


def test_a_queue_declared_again_otherwise(target: Target, peers: list[Peer]) -> None:
    """precondition_failed for other arguments (SEND: no RECEIPT; SUBSCRIBE: then its RECEIPT), then the close."""
    _needs(target, "queue_arguments")
    name = _unique()
    owner = _peer(target, peers)
    owner.subscribed(f"/queue/{name}", **{"x-max-length": "2"})
    sender = _peer(target, peers)
    error = sender.sent(f"/queue/{name}", "no arguments")
    assert error.command == "ERROR" and error.headers["message"] == "precondition_failed", error
    assert error.body.decode() == (
        f"PRECONDITION_FAILED - inequivalent arg 'x-max-length' for queue '{name}' in vhost '/': "
        "received none but current is the value '2' of type 'long'"
    )
    with pytest.raises(AssertionError, match="closed"):
        sender.next()
    other = _peer(target, peers)
    error = other.subscribe(f"/queue/{name}", **{"x-max-length": "3"})
    assert error.command == "ERROR" and error.body.decode().endswith("received '3' but current is '2'"), error
    assert other.next().command == "RECEIPT"


def test_an_exclusive_queue(target: Target, peers: list[Peer]) -> None:
    _needs(target, "queue_arguments")
    name = f"/queue/{_unique()}"
    owner = _peer(target, peers)
    owner.subscribed(name, exclusive="true")
    other = _peer(target, peers)
    error = other.subscribe(name)
    assert error.command == "ERROR" and error.headers["message"] == "resource_locked", error
    assert other.next().command == "RECEIPT"


# --- ActiveMQ: composite destinations and virtual topics; elsewhere plain names ----------------------------------


def test_composite_send(target: Target, peers: list[Peer]) -> None:
    """ActiveMQ: each part gets a copy naming the whole list; elsewhere the list is one name of its own."""
    if target.facts.destination_names == "rabbitmq":
        pytest.skip(f"{target.name}: a queue name with '/' is an invalid destination (test_destination_names)")
    first, second, topic = _unique(), _unique(), _unique()
    a, b, t = _peer(target, peers), _peer(target, peers), _peer(target, peers)
    a.subscribed(f"/queue/{first}")
    b.subscribed(f"/queue/{second}")
    t.subscribed(f"/topic/{topic}")
    producer = _peer(target, peers)
    for destination, body in [
        (f"/queue/{first},/queue/{second}", "qq"),
        (f"/queue/{first},/topic/{topic}", "q/t"),
        (f"/queue/{first},topic://{topic}", "qt"),
    ]:
        assert producer.sent(destination, body).command == "RECEIPT"
    got_a = a.upto_marker(producer, f"/queue/{first}")
    got_b = b.upto_marker(producer, f"/queue/{second}")
    got_t = t.upto_marker(producer, f"/topic/{topic}")
    if not target.facts.composite_destinations:
        assert got_a == got_b == got_t == []
        literal = f"/queue/{_unique()},/queue/{_unique()}"
        reader = _peer(target, peers)
        reader.subscribed(literal)
        assert producer.sent(literal, "literal").command == "RECEIPT"
        assert [m.body for m in reader.upto_marker(producer, literal)] == [b"literal"]
        return
    assert [(m.body, m.headers["original-destination"]) for m in got_a] == [
        (b"qq", f"/queue/{first},queue://{second}"),
        (b"q/t", f"/queue/{first},topic://{topic}"),
        (b"qt", f"/queue/{first},queue://topic://{topic}"),  # topic://T in a list is a queue of that name
    ]
    assert {m.headers["destination"] for m in got_a} == {f"/queue/{first}"}
    assert _bodies(got_b) == [b"qq"]
    assert _bodies(got_t) == [b"q/t"]


def test_composite_subscribe(target: Target, peers: list[Peer]) -> None:
    """ActiveMQ: a SUBSCRIBE to a list reads every part, each MESSAGE naming its part; elsewhere one plain name."""
    if target.facts.destination_names == "rabbitmq":
        pytest.skip(f"{target.name}: a queue name with '/' is an invalid destination (test_destination_names)")
    first, second = f"/queue/{_unique()}", f"/queue/{_unique()}"
    reader, producer = _peer(target, peers), _peer(target, peers)
    reader.subscribed(f"{first},{second}")
    assert producer.sent(first, "to first").command == "RECEIPT"
    assert producer.sent(second, "to second").command == "RECEIPT"
    if not target.facts.composite_destinations:
        assert reader.upto_marker(producer, f"{first},{second}") == []
        return
    # ActiveMQ's parts deliver on their own: across parts the order is not kept (more in test_spanning.py)
    got = sorted((m.body, m.headers["destination"], m.headers["subscription"]) for m in reader.take(2))
    assert got == [(b"to first", first, "s"), (b"to second", second, "s")]


def test_virtual_topic(target: Target, peers: list[Peer]) -> None:
    """ActiveMQ: consumer groups that exist get a copy each, shared among their subscribers; elsewhere plain names."""
    topic = f"VirtualTopic.{_unique()}"
    producer = _peer(target, peers)
    assert producer.sent(f"/topic/{topic}", "before").command == "RECEIPT"
    one_a, one_b, two = _peer(target, peers), _peer(target, peers), _peer(target, peers)
    one_a.subscribed(f"/queue/Consumer.one.{topic}")
    one_b.subscribed(f"/queue/Consumer.one.{topic}")
    two.subscribed(f"/queue/Consumer.two.{topic}")
    for index in range(4):
        assert producer.sent(f"/topic/{topic}", f"v{index}").command == "RECEIPT"
    got_two = two.upto_marker(producer, f"/queue/Consumer.two.{topic}")
    if not target.facts.virtual_topics:
        assert got_two == []
        return
    assert _bodies(got_two) == [b"v0", b"v1", b"v2", b"v3"]
    assert {m.headers["original-destination"] for m in got_two} == {f"/topic/{topic}"}
    assert {m.headers["destination"] for m in got_two} == {f"/queue/Consumer.two.{topic}"}
    # group one: the four shared by its two subscribers; the marker goes to one of them
    shared: list[bytes] = []
    assert producer.sent(f"/queue/Consumer.one.{topic}", MARKER).command == "RECEIPT"
    assert producer.sent(f"/queue/Consumer.one.{topic}", MARKER).command == "RECEIPT"
    for reader in (one_a, one_b):
        while (frame := reader.next()).body != MARKER.encode():
            shared.append(frame.body)
    assert sorted(shared) == [b"v0", b"v1", b"v2", b"v3"]


def test_the_queue_behind_a_topic_subscription(target: Target, peers: list[Peer]) -> None:
    """x-queue-name: one queue its subscribers share, reachable as /amq/queue/, gone with the last of them;
    durable:true with auto-delete:false keeps what came while away (RabbitMQ, measured)."""
    _needs(target, "exchanges")
    topic, named = f"/topic/{_unique()}", _unique()
    first, second, producer = _peer(target, peers), _peer(target, peers), _peer(target, peers)
    first.subscribed(topic, **{"x-queue-name": named})
    second.subscribed(topic, **{"x-queue-name": named})
    for body in ("t0", "t1"):
        assert producer.sent(topic, body).command == "RECEIPT"
    assert producer.sent(f"/amq/queue/{named}", "direct").command == "RECEIPT"
    got = [first.next(), second.next(), first.next()]
    assert sorted((m.body, m.headers["destination"]) for m in got) == [
        (b"direct", f"/queue/{named}"),
        (b"t0", topic),
        (b"t1", topic),
    ]
    for peer in (first, second):
        peer.frame("UNSUBSCRIBE", {"id": "s", "receipt": "gone"})
        assert peer.next().command == "RECEIPT"
    late = _peer(target, peers)
    error = late.subscribe(f"/amq/queue/{named}")
    assert error.command == "ERROR" and error.headers["message"] == "not_found", error
    durable = {"durable": "true", "auto-delete": "false"}
    subscription = f"dur-{_unique()}"
    away = _peer(target, peers)
    away.subscribed(topic, id=subscription, **durable)
    away.frame("DISCONNECT", {"receipt": "bye"})
    assert away.next().command == "RECEIPT"
    assert producer.sent(topic, "while away").command == "RECEIPT"
    back = _peer(target, peers)
    back.subscribed(topic, id=subscription, **durable)
    message = back.next()
    assert (message.body, message.headers["destination"]) == (b"while away", topic)
    back.frame("UNSUBSCRIBE", {"id": subscription, "durable": "true", "receipt": "done"})  # and its queue
    assert back.next().command == "RECEIPT"
