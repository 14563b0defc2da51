"""Scenarios in raw frames, for every target: what a broker does where a client library would not go.

A frame before CONNECT, a second CONNECT, a SEND carrying the broker's own headers, the
ERRORs and whether the connection outlives them. Each expectation is read from the
target's profile (`target.facts`), so the fake broker and the real one it models must
give the same answer. As in test_scenarios.py, "nothing else" is read up to a marker,
never waited for; the one exception is a broker that answers nothing at all (Artemis,
after a frame before CONNECT), where a CONNECTED that never comes is waited for briefly.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from stomptest.protocol import Frame, Parser

from . import expect
from .conftest import Target
from .test_scenarios import END, must_receive, upto_marker

LOGIN = "login:guest\npasscode:guest\n"

# Found by these scenarios on 2026-12-06 (issue 16), and not about the artemis profile: where RabbitMQ
# 3.10.8 and ActiveMQ 5.17.2 do otherwise than their profiles say. Strict xfails, as conftest.py's
# KNOWN_DIFFERENCES: (scenario, target name or test id) -> what the real broker does.
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    ("test_a_second_connect", "real-rabbitmq"): "RabbitMQ closes at a second CONNECT without an ERROR",
    ("test_a_second_connect", "real-activemq"): "ActiveMQ answers a second CONNECT with an ERROR and stays open",
    **{
        ("test_what_follows_an_unknown_unsubscribe", f"real-rabbitmq-{v}"): (
            "RabbitMQ's message is 'No subscription found', not the profile's 'Bad UNSUBSCRIBE'"
        )
        for v in ("1.0", "1.1", "1.2")
    },
    **{
        ("test_a_duplicate_subscription", f"real-rabbitmq-{v}"): "RabbitMQ answers a duplicate subscription id "
        "with the RECEIPT (the profile: ERROR and close)"
        for v in ("1.1", "1.2")
    },
    ("test_transaction_errors", "real-rabbitmq-BEGIN"): "RabbitMQ answers BEGIN of an open transaction with RECEIPT",
    ("test_subscribe_without_id", "real-rabbitmq-1.2"): "RabbitMQ accepts SUBSCRIBE without id in 1.2",
}


class Raw:
    """One socket to the target: bytes out, the broker's frames in, as it wrote them."""

    def __init__(self, target: Target, version: str = "1.2") -> None:
        port = int(target.url.rsplit(":", 1)[1])
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.parser = Parser(version)
        self.frames: list[Frame] = []
        self.closed = False

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode())

    def connect(self, version: str = "1.2", extra: str = "") -> Frame:
        accept = "" if version == "1.0" else f"accept-version:{version}\nhost:/\n"
        self.send(f"CONNECT\n{accept}{LOGIN}{extra}\n\x00")
        connected = self.next()
        assert connected.command == "CONNECTED", connected
        return connected

    def next(self, timeout: float = 10) -> Frame:
        """The next frame (heart-beats skipped); AssertionError if the broker closes first."""
        self.sock.settimeout(timeout)
        while not self.frames:
            data = self.sock.recv(65536)
            if not data:
                self.closed = True
                raise AssertionError("the broker closed the connection")
            self.frames += [item for item in self.parser.feed(data) if isinstance(item, Frame)]
        return self.frames.pop(0)

    def closes(self) -> bool:
        """After an ERROR: True if the broker closes; else a SEND's RECEIPT proves the connection is alive."""
        self.send("SEND\ndestination:/queue/stomptest-raw-alive\nreceipt:alive\n\nx\x00")
        try:
            frame = self.next()
        except (AssertionError, ConnectionError):
            return True
        assert frame.command == "RECEIPT" and frame.headers["receipt-id"] == "alive", frame
        return False

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw(target: Target, request: pytest.FixtureRequest) -> Iterator[list[Raw]]:
    node = request.node
    function = getattr(node, "originalname", node.name)
    reason = KNOWN_DIFFERENCES.get((function, target.name)) or KNOWN_DIFFERENCES.get((function, node.callspec.id))
    if reason is not None:
        node.add_marker(pytest.mark.xfail(strict=True, reason=reason))
    opened: list[Raw] = []
    yield opened
    for connection in opened:
        connection.close()


def _open(target: Target, raw: list[Raw], version: str = "1.2") -> Raw:
    connection = Raw(target, version)
    raw.append(connection)
    return connection


def _error_text(target: Target, kind: str, command: str, **fields: str) -> str | None:
    """The message the profile's ERROR carries, or None where it holds a reason of the fake's own."""
    texts = target.facts.error_texts
    template = (texts.get(f"{kind} {command}") or texts[kind])[0]
    if "{reason}" in template:
        return None
    return template.format(**{"command": command, **fields})


# --- before and after CONNECT ----------------------------------------------------------------------------------


def test_a_frame_before_connect(target: Target, raw: list[Raw]) -> None:
    connection = _open(target, raw)
    connection.send("SEND\ndestination:/queue/stomptest-raw-early\nreceipt:early\n\nx\x00")
    if target.facts.frame_before_connect == "ignore-all":  # Artemis: no answer, not even to a CONNECT after it
        connection.send(f"CONNECT\naccept-version:1.2\nhost:/\n{LOGIN}\n\x00")
        with pytest.raises(socket.timeout):
            connection.next(timeout=3)  # a CONNECTED comes within milliseconds where it comes at all
        return
    error = connection.next()
    assert error.command == "ERROR", error


def test_a_second_connect(target: Target, raw: list[Raw]) -> None:
    connection = _open(target, raw, "1.1")
    first = connection.connect("1.1")
    queue = target.queue()
    connection.send(f"SUBSCRIBE\nid:1\ndestination:{queue}\nreceipt:r1\n\n\x00")
    assert connection.next().command == "RECEIPT"
    connection.send(f"CONNECT\naccept-version:1.2\nhost:/\n{LOGIN}heart-beat:0,0\nreceipt:again\n\n\x00")
    reply = connection.next()
    if target.facts.second_connect == "connected":  # Artemis: the same session goes on
        assert reply.command == "CONNECTED", reply
        assert reply.headers["session"] == first.headers["session"]
        assert reply.headers["version"] == "1.1"  # the first CONNECT's, though this one asked for 1.2
        if target.facts.connected_headers == "as-asked":  # and the other headers answer the second CONNECT
            assert "heart-beat" in reply.headers and "heart-beat" not in first.headers
        if target.facts.echo_connect_receipt:
            assert reply.headers["receipt-id"] == "again"
        connection.send(f"SEND\ndestination:{queue}\n\nstill subscribed\x00")
        assert connection.next().body == b"still subscribed"
        return
    assert reply.command == "ERROR", reply
    assert connection.closes() == expect.closes_after(target.facts, "already-connected")


def test_connect_with_a_receipt(target: Target, raw: list[Raw]) -> None:
    connection = _open(target, raw)
    connected = connection.connect(extra="receipt:rc\n")
    facts = target.facts
    assert connected.headers.get("receipt-id") == ("rc" if facts.echo_connect_receipt else None)
    echoes_response_id = facts.echo_connect_receipt and facts.connect_receipt_response_id
    assert connected.headers.get("response-id") == ("rc" if echoes_response_id else None)


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_connected_headers(target: Target, raw: list[Raw], version: str) -> None:
    if version not in expect.versions(target.facts):
        pytest.skip(f"{target.name} does not speak STOMP {version}")
    plain = _open(target, raw, version).connect(version)
    beats = _open(target, raw, version).connect(version, "heart-beat:0,0\n")
    for connected, asked_beats in ((plain, False), (beats, True)):
        names = set(connected.headers)
        assert "session" in names
        if target.facts.connected_headers == "all":
            assert {"version", "server", "heart-beat"} <= names
        else:  # Artemis: only what CONNECT asked about
            assert ("version" in names) == (version != "1.0")
            assert ("server" in names) == (version != "1.0")
            assert ("heart-beat" in names) == (asked_beats and version != "1.0")


def test_a_silent_client_is_closed(target: Target, raw: list[Raw]) -> None:
    """heart-beat:1000,0 promises a beat a second; none comes, and the broker gives up (after 2 to 3 s)."""
    connection = _open(target, raw)
    connection.connect(extra="heart-beat:1000,0\n")
    message = target.facts.heartbeat_timeout_error
    if message is None:
        with pytest.raises(AssertionError, match="closed"):
            connection.next()
        return
    error = connection.next()
    assert error.command == "ERROR", error
    prefix, _, rest = message.partition("{peer}")
    ttl = round(1000 * target.facts.heartbeat_grace)
    assert error.headers["message"].startswith(prefix)
    assert error.headers["message"].endswith(rest.format(ttl_ms=ttl))
    with pytest.raises(AssertionError, match="closed"):
        connection.next()


# --- ERRORs and what follows them ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_what_follows_an_unknown_unsubscribe(target: Target, raw: list[Raw], version: str) -> None:
    connection = _open(target, raw, version)
    connection.connect(version)
    connection.send("UNSUBSCRIBE\nid:nope\nreceipt:r-uns\n\n\x00")
    error = connection.next()
    assert error.command == "ERROR", error
    assert error.headers.get("receipt-id") == ("r-uns" if target.facts.error_receipt_id else None)
    text = _error_text(target, "unknown-subscription", "UNSUBSCRIBE", id="nope")
    if text is not None:
        assert error.headers["message"] == text
    assert connection.closes() == expect.closes_after(target.facts, "unknown-subscription", version)


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_a_duplicate_subscription(target: Target, raw: list[Raw], version: str) -> None:
    connection = _open(target, raw, version)
    connection.connect(version)
    queue = target.queue()
    connection.send(f"SUBSCRIBE\nid:1\ndestination:{queue}\nreceipt:r1\n\n\x00")
    assert connection.next().command == "RECEIPT"
    connection.send(f"SUBSCRIBE\nid:1\ndestination:{queue}\nreceipt:r-dup\n\n\x00")
    reply = connection.next()
    facts = target.facts
    if facts.duplicate_subscription == "ignore":
        assert reply.command == "RECEIPT", reply
        return
    assert reply.command == "ERROR", reply
    with_receipt_id = facts.error_receipt_id and "duplicate-subscription" not in facts.errors_without_receipt_id
    assert reply.headers.get("receipt-id") == ("r-dup" if with_receipt_id else None)
    assert connection.closes() == expect.closes_after(facts, "duplicate-subscription", version)


@pytest.mark.parametrize("command", ["BEGIN", "COMMIT", "ABORT"])
def test_transaction_errors(target: Target, raw: list[Raw], command: str) -> None:
    """BEGIN of an open transaction, COMMIT and ABORT of an unknown one: each its own text on Artemis."""
    connection = _open(target, raw, "1.1")
    connection.connect("1.1")
    if command == "BEGIN":
        connection.send("BEGIN\ntransaction:t1\nreceipt:b1\n\n\x00")
        assert connection.next().command == "RECEIPT"
    name = "t1" if command == "BEGIN" else "nope"
    connection.send(f"{command}\ntransaction:{name}\nreceipt:r-tx\n\n\x00")
    error = connection.next()
    assert error.command == "ERROR", error
    text = _error_text(target, "bad-transaction", command, transaction=name)
    if text is not None:
        assert error.headers["message"] == text
    assert connection.closes() == expect.closes_after(target.facts, "bad-transaction", "1.1")


# --- SEND and SUBSCRIBE off the beaten track -------------------------------------------------------------------


def test_send_in_an_unknown_transaction(target: Target, raw: list[Raw]) -> None:
    connection = _open(target, raw)
    connection.connect()
    queue = target.queue()
    connection.send(f"SEND\ndestination:{queue}\ntransaction:nope\nreceipt:r1\n\nlost\x00")
    reply = connection.next()
    if target.facts.send_unknown_transaction == "error":
        assert reply.command == "ERROR", reply
        return
    assert reply.command == "RECEIPT", reply  # Artemis: acknowledged, and never delivered
    connection.send(f"SUBSCRIBE\nid:1\ndestination:{queue}\n\n\x00SEND\ndestination:{queue}\n\nmarker\x00")
    assert connection.next().body == b"marker"


@pytest.mark.parametrize("version", ["1.0", "1.2"])
def test_subscribe_without_id(target: Target, raw: list[Raw], version: str) -> None:
    if version not in expect.versions(target.facts):
        pytest.skip(f"{target.name} does not speak STOMP {version}")
    connection = _open(target, raw, version)
    connection.connect(version)
    queue = target.queue()
    connection.send(f"SUBSCRIBE\ndestination:{queue}\nreceipt:r-sub\n\n\x00")
    reply = connection.next()
    template = target.facts.anonymous_subscription_id
    if template is None and version != "1.0":
        assert reply.command == "ERROR", reply
        return
    assert reply.command == "RECEIPT", reply
    if template is None:
        return  # 1.0: what the MESSAGE says then differs by broker and is not in the profile
    connection.send(f"SEND\ndestination:{queue}\n\nhi\x00")
    message = connection.next()
    assert message.headers["subscription"] == template.format(address=queue.removeprefix("/queue/"))


def test_send_with_the_brokers_own_headers(target: Target, raw: list[Raw]) -> None:
    connection = _open(target, raw)
    connection.connect()
    queue = target.queue()
    connection.send(f"SUBSCRIBE\nid:1\ndestination:{queue}\nack:client-individual\nreceipt:r1\n\n\x00")
    assert connection.next().command == "RECEIPT"
    connection.send(f"SEND\ndestination:{queue}\nmessage-id:mine\nsubscription:other\nack:zzz\n\nx\x00")
    reply = connection.next()
    reserved = target.facts.reserved_send_headers
    if reserved == "error":
        assert reply.command == "ERROR", reply
        return
    assert reply.command == "MESSAGE", reply
    pairs = reply.raw_headers
    values = {name: [v for n, v in pairs if n == name] for name in ("message-id", "subscription", "ack")}
    if reserved == "keep":  # Artemis: the broker's own first, the client's after them; but the client's ack first
        assert values["message-id"][1:] == ["mine"] and values["subscription"] == ["1", "other"]
        assert values["ack"][0] == "zzz" and len(values["ack"]) == 2
        return
    assert "mine" not in values["message-id"] and "other" not in values["subscription"]
    assert "zzz" not in values["ack"]


# --- dead letters ------------------------------------------------------------------------------------------------


def test_dead_letter_after_the_last_delivery(target: Target) -> None:
    """Delivered max_deliveries times without an ACK, a message goes to the dead-letter queue, saying whence."""
    facts = target.facts
    if facts.max_deliveries is None:
        pytest.skip(f"{target.name}: no delivery limit in the profile (max_deliveries=None)")
    queue = target.queue()
    body = f"dead on {queue}".encode()
    target.client().send(queue, body, receipt=True)
    for delivery in range(1, facts.max_deliveries + 1):
        client = target.client()
        message = must_receive(client.subscribe(queue, ack="client-individual"))
        assert message.body == body and message.frame.headers["redelivered"] == ("true" if delivery > 1 else "false")
        client.disconnect()  # unacknowledged: back to the queue, delivered once more
    client = target.client()  # first: gone from the queue (the move to the dead-letter queue is done by then)
    assert upto_marker(client, queue, client.subscribe(queue, receipt=True)) == []
    with target.alone_on(facts.dead_letter_queue):
        client = target.client()
        dead = client.subscribe(facts.dead_letter_queue, ack="client-individual", receipt=True)
        client.send(facts.dead_letter_queue, END)
        ours = []
        while (message := must_receive(dead)).body != END:
            client.ack(message)
            if message.body == body:
                ours.append(message)
        client.ack(message)
    assert len(ours) == 1, ours
    address = queue.removeprefix("/queue/")
    if facts.dead_letter_headers == "artemis":
        expected = {"_AMQ_ORIG_QUEUE": address, "_AMQ_ORIG_ADDRESS": address, "_AMQ_ORIG_ROUTING_TYPE": "1"}
        assert {name: ours[0].frame.headers.get(name) for name in expected} == expected
        assert ours[0].frame.headers["_AMQ_ORIG_MESSAGE_ID"].isdigit()
    else:
        assert ours[0].frame.headers["original-destination"] == queue
