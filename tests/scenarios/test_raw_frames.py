"""Scenarios in raw frames, for every target: what a broker does where a client library would not go.

A frame before CONNECT, a second CONNECT, a SEND carrying the broker's own headers, the
ERRORs and whether the connection outlives them. Each expectation is read from the
target's profile (`target.facts`), so the fake broker and the real one it models must
give the same answer. As in test_scenarios.py, "nothing else" is read up to a marker,
never waited for; the one exception is a broker that answers nothing at all (Artemis,
after a frame before CONNECT), where a CONNECTED that never comes is waited for briefly (SILENCE).
"""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator

import pytest

from stomptest.protocol import Frame, Parser

from . import expect
from .conftest import Target
from .test_scenarios import END, must_receive, upto_marker

LOGIN = "login:guest\npasscode:guest\n"

# Where a broker answers at all, its CONNECTED, RECEIPT or ERROR comes within milliseconds (measured on
# 2026-12-06 over 20 fresh connections each: CONNECTED within 2.6 ms on RabbitMQ, 1.1 ms on ActiveMQ, 4.5 ms on
# Artemis; a BEGIN's RECEIPT within 0.3 ms). So one second without a frame shows that none comes (SILENCE), and
# an answer that must come is given ANSWER s, not Raw.next's 10 s, where its absence is an expected outcome.
SILENCE = 1.0
ANSWER = 2.0

# Found by these scenarios on 2026-12-06 (issue 16), and not about the artemis profile: where RabbitMQ
# 3.10.8 and ActiveMQ 5.17.2 do otherwise than their profiles say. Strict xfails, as conftest.py's
# KNOWN_DIFFERENCES: (scenario, target name or test id) -> what the real broker does.
# The six found then (second CONNECT, unknown UNSUBSCRIBE's text, duplicate subscription id, BEGIN of an
# open transaction, SUBSCRIBE without id in 1.2) were fixed in the profiles for issue 18; found for issue 18:
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    ("test_crlf_line_ends_before_1_2", "real-artemis-1.0"): "Artemis answers a 1.0 frame with CR LF line ends "
    "with nothing, and the next frame with 'AMQ339032 Need a transaction id to begin' (it reads the two as one); "
    "the profile refuses the CR LF frame (crlf_before_1_2='error')",
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


def _error_body(target: Target, kind: str, command: str, **fields: str) -> str | None:
    """The body of the profile's ERROR up to a stack trace (ActiveMQ's differs by command), or None."""
    texts = target.facts.error_texts
    template = (texts.get(f"{kind} {command}") or texts[kind])[1]
    if "{reason}" in template:
        return None
    return template.format(**{"command": command, **fields}).split("\n\tat ")[0]


# Artemis' SUBSCRIBE without destination is a Java NullPointerException's text; once the JVM has thrown it often
# enough to compile the path, HotSpot throws a preallocated one without a text (OmitStackTraceInFastThrow), and
# Artemis' error path fails on that: measured on 61615 after a day of scenario runs (issue 18)
_ARTEMIS_FAST_THROW = (
    'Cannot invoke "String.replace(java.lang.CharSequence, java.lang.CharSequence)" because "msg" is null'
)


def _assert_measured_text(target: Target, text: str | None) -> None:
    """A real broker's text is known (not the fake's own reason); only strict may say what it likes."""
    assert text is not None or target.facts.name == "strict", "the profile holds no text for this ERROR"


def _error_text(target: Target, kind: str, command: str, variant: str | None = None, **fields: str) -> str | None:
    """The message the profile's ERROR carries, or None where it holds a reason of the fake's own."""
    texts = target.facts.error_texts
    template = (texts.get(f"{kind} {variant}") or texts.get(f"{kind} {command}") or texts[kind])[0]
    if "{reason}" in template:
        return None
    return template.format(**{"command": command, **fields})


# --- before and after CONNECT ----------------------------------------------------------------------------------


@pytest.mark.parametrize("eol", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_an_eol_before_connect(target: Target, raw: list[Raw], eol: str) -> None:
    """A heart-beat before CONNECT (issue 18): RabbitMQ and ActiveMQ ignore it, Artemis answers nothing after it."""
    connection = _open(target, raw)
    connection.send(eol)
    connection.send(f"CONNECT\naccept-version:1.2\nhost:/\n{LOGIN}\n\x00")
    if target.facts.eol_before_connect == "deafens":
        with pytest.raises(socket.timeout):
            connection.next(timeout=SILENCE)  # a CONNECTED comes within milliseconds where it comes at all
        connection.send(f"CONNECT\naccept-version:1.2\nhost:/\n{LOGIN}\n\x00")  # not even a second one
        with pytest.raises(socket.timeout):
            connection.next(timeout=SILENCE)
        return
    connected = connection.next()
    assert connected.command == "CONNECTED", connected


def test_a_frame_before_connect(target: Target, raw: list[Raw]) -> None:
    connection = _open(target, raw)
    connection.send("SEND\ndestination:/queue/stomptest-raw-early\nreceipt:early\n\nx\x00")
    if target.facts.frame_before_connect == "ignore-all":  # Artemis: no answer, not even to a CONNECT after it
        connection.send(f"CONNECT\naccept-version:1.2\nhost:/\n{LOGIN}\n\x00")
        with pytest.raises(socket.timeout):
            connection.next(timeout=SILENCE)  # a CONNECTED comes within milliseconds where it comes at all
        return
    error = connection.next()
    assert error.command == "ERROR", error
    if expect.closes_after(target.facts, "not-connected"):
        with pytest.raises(AssertionError, match="closed"):
            connection.next()
        return
    connection.connect()  # measured (issue 18): ActiveMQ and RabbitMQ read on, and a CONNECT then works


def test_a_second_connect(target: Target, raw: list[Raw]) -> None:
    connection = _open(target, raw, "1.1")
    first = connection.connect("1.1")
    queue = target.queue()
    connection.send(f"SUBSCRIBE\nid:1\ndestination:{queue}\nreceipt:r1\n\n\x00")
    assert connection.next().command == "RECEIPT"
    connection.send(f"CONNECT\naccept-version:1.2\nhost:/\n{LOGIN}heart-beat:0,0\nreceipt:again\n\n\x00")
    try:
        reply = connection.next()
    except AssertionError:
        reply = None
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
    if target.facts.second_connect == "close":  # RabbitMQ: closed without a frame
        assert connection.closed, reply
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
    text = _error_text(target, "unknown-subscription", "UNSUBSCRIBE", id="nope", header="id")
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
    if facts.duplicate_subscription != "error":  # ActiveMQ: a second subscription (test_subscription_ids.py)
        assert reply.command == "RECEIPT", reply
        return
    assert reply.command == "ERROR", reply
    with_receipt_id = facts.error_receipt_id and "duplicate-subscription" not in facts.errors_without_receipt_id
    assert reply.headers.get("receipt-id") == ("r-dup" if with_receipt_id else None)
    expected = _error_body(target, "duplicate-subscription", "SUBSCRIBE", id="1")
    assert expected is None or reply.body.decode().split("\n\tat ")[0] == expected
    if "duplicate-subscription" in facts.receipt_after_error:  # RabbitMQ: the refused SUBSCRIBE's RECEIPT too
        after = connection.next()
        assert after.command == "RECEIPT" and after.headers["receipt-id"] == "r-dup", after
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
    if command == "BEGIN" and target.facts.duplicate_begin == "ignore":  # RabbitMQ: the RECEIPT, nothing else
        assert error.command == "RECEIPT" and error.headers["receipt-id"] == "r-tx", error
        assert not connection.closes()
        return
    assert error.command == "ERROR", error
    text = _error_text(target, "bad-transaction", command, transaction=name)
    if text is not None:
        assert error.headers["message"] == text
    body = _error_body(target, "bad-transaction", command, transaction=name)
    _assert_measured_text(target, body)  # issue 18: RabbitMQ 'Invalid transaction identifier: "nope"' and a LF
    if body is not None:
        assert error.body.decode().split("\n\tat ")[0] == body
    assert connection.closes() == expect.closes_after(target.facts, "bad-transaction", "1.1")


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_ack_in_an_unknown_transaction(target: Target, raw: list[Raw], version: str) -> None:
    """Which check comes first (issue 18): RabbitMQ refuses the made-up id, ActiveMQ the transaction."""
    connection = _open(target, raw, version)
    connection.connect(version)
    header = "id" if version == "1.2" else "message-id"
    connection.send(f"ACK\n{header}:none\nsubscription:1\ntransaction:nope\nreceipt:r-ack\n\n\x00")
    error = connection.next()
    assert error.command == "ERROR", error
    facts = target.facts
    if facts.ack_id_before_transaction or not facts.transactional_ack:
        message_id = "null" if version == "1.2" else "none"
        text = _error_text(target, "unknown-ack", "ACK", ack="none", header=header, message_id=message_id, id="1")
    else:
        text = _error_text(target, "bad-transaction", "ACK", transaction="nope")
    _assert_measured_text(target, text)
    assert error.headers["message"] == text


def test_order_of_the_sends_own_headers(target: Target, raw: list[Raw]) -> None:
    """RabbitMQ writes them reversed, its message properties last (issue 18, found by the differential tests)."""
    if target.facts.name in ("activemq", "artemis"):  # aa, bb, cc came back as bb, aa, cc from Artemis
        pytest.skip(f"{target.name} writes them as a Java hash map iterates them (docs/broker.md, 'Differential')")
    connection = _open(target, raw)
    connection.connect()
    queue = target.queue()
    connection.send(f"SUBSCRIBE\nid:1\ndestination:{queue}\nreceipt:r-sub\n\n\x00")
    assert connection.next().command == "RECEIPT"
    sent = ["aa", "content-type", "bb", "persistent", "reply-to", "cc", "priority"]
    values = {"content-type": "text/plain", "persistent": "true", "reply-to": "/queue/x", "priority": "7"}
    headers = "".join(f"{name}:{values.get(name, '1')}\n" for name in sent)
    connection.send(f"SEND\ndestination:{queue}\n{headers}\nx\x00")
    message = connection.next()
    assert message.command == "MESSAGE", message
    order = [name for name, _ in message.raw_headers if name in ("aa", "bb", "cc")]
    expected = ["aa", "bb", "cc"]
    if target.facts.message_header_order == "rabbitmq":
        order = [name for name, _ in message.raw_headers if name in sent]
        expected = ["cc", "bb", "aa", "reply-to", "priority", "persistent", "content-type"]
    assert order == expected, message.raw_headers


@pytest.mark.parametrize("kind", ["queue", "temp-queue"])
def test_destination_type_header(target: Target, raw: list[Raw], kind: str) -> None:
    """Artemis names the routing type of /queue/ and /topic/ only (issue 18, found by the differential tests)."""
    if kind == "temp-queue" and target.facts.temporary_destinations == "reply-queue":
        pytest.skip(f"{target.name} takes /temp-queue/ only in reply-to (L10)")
    connection = _open(target, raw)
    connection.connect()
    name = f"/{kind}/stomptest-{uuid.uuid4().hex[:12]}"
    connection.send(f"SUBSCRIBE\nid:1\ndestination:{name}\nreceipt:r-sub\n\n\x00")
    assert connection.next().command == "RECEIPT"
    connection.send(f"SEND\ndestination:{name}\n\nx\x00")
    message = connection.next()
    assert message.command == "MESSAGE", message
    expected = "ANYCAST" if target.facts.destination_type_header and kind == "queue" else None
    assert message.headers.get("destination-type") == expected, message
    # the connection that made a temporary queue reads it under the name it gave (ActiveMQ: D5, differential)
    assert message.headers["destination"] == name, message


def test_a_temporary_queue_before_anyone_subscribes(target: Target, raw: list[Raw]) -> None:
    """Artemis (its acceptor knows /queue/ and /topic/ only) takes /temp-queue/X as an address: sent early, dropped."""
    if target.facts.temporary_destinations == "reply-queue":
        pytest.skip(f"{target.name} takes /temp-queue/ only in reply-to (L10)")
    connection = _open(target, raw)
    connection.connect()
    name = f"/temp-queue/stomptest-{uuid.uuid4().hex[:12]}"
    connection.send(f"SEND\ndestination:{name}\nreceipt:r-early\n\nearly\x00")
    assert connection.next().command == "RECEIPT"
    connection.send(f"SUBSCRIBE\nid:1\ndestination:{name}\nreceipt:r-sub\n\n\x00")
    assert connection.next().command == "RECEIPT"
    connection.send(f"SEND\ndestination:{name}\n\nmarker\x00")
    unprefixed = target.facts.temporary_destinations == "unprefixed" and target.facts.unknown_destinations == "topic"
    expected = [b"marker"] if unprefixed else [b"early", b"marker"]
    assert [connection.next().body for _ in expected] == expected


def test_a_body_longer_than_its_content_length(target: Target, raw: list[Raw]) -> None:
    """No NUL after content-length bytes: where the ERROR's message is the reason alone, it is the broker's own."""
    connection = _open(target, raw)
    connection.connect()
    if target.facts.missing_nul == "artemis":  # A20: the frame ends where its content-length says, byte 'y' dropped
        queue = target.queue()
        connection.send(f"SUBSCRIBE\nid:1\ndestination:{queue}\nreceipt:s\n\n\x00")
        assert connection.next().command == "RECEIPT"
        connection.send(f"SEND\ndestination:{queue}\ncontent-length:1\nreceipt:r\n\nxy\x00")
        receipt, message = connection.next(), connection.next()
        assert receipt.headers.get("receipt-id") == "r" and message.body == b"x", (receipt, message)
        assert not connection.closes()
        return
    connection.send(f"SEND\ndestination:{target.queue()}\ncontent-length:1\nreceipt:r\n\nxy\x00")
    try:
        error = connection.next(timeout=3)
    except AssertionError:  # closed without an ERROR
        assert not target.facts.malformed_error
        return
    assert error.command == "ERROR", error
    if target.facts.error_texts["malformed"][0] == "{reason}":  # ActiveMQ (issue 18, found by the differential tests)
        assert error.headers["message"] == target.facts.decoder_texts.get("missing-nul")
    with pytest.raises(AssertionError, match="closed"):
        connection.next()


# --- SEND and SUBSCRIBE off the beaten track -------------------------------------------------------------------


def test_send_in_an_unknown_transaction(target: Target, raw: list[Raw]) -> None:
    connection = _open(target, raw)
    connection.connect()
    queue = target.queue()
    connection.send(f"SEND\ndestination:{queue}\ntransaction:nope\nreceipt:r1\n\nlost\x00")
    reply = connection.next()
    if target.facts.send_unknown_transaction == "error":
        assert reply.command == "ERROR", reply
        assert reply.headers["message"] == _error_text(target, "bad-transaction", "SEND", transaction="nope")
        body = _error_body(target, "bad-transaction", "SEND", transaction="nope")
        _assert_measured_text(target, body)  # issue 18: ActiveMQ 'Invalid transaction id: nope'
        if body is not None:
            assert reply.body.decode().split("\n\tat ")[0] == body
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
    facts = target.facts
    template = facts.anonymous_subscription_id
    if template is None and version != "1.0" and facts.subscribe_without_id != "always":
        assert reply.command == "ERROR", reply
        return
    assert reply.command == "RECEIPT", reply
    connection.send(f"SEND\ndestination:{queue}\n\nhi\x00")
    message = connection.next()
    if template is not None:
        assert message.headers["subscription"] == template.format(address=queue.removeprefix("/queue/"))
    elif facts.subscription_header_without_id:
        assert message.headers["subscription"] == queue
    else:  # measured (issue 18): ActiveMQ and RabbitMQ write no subscription header
        assert "subscription" not in message.headers, message
        if facts.id_style == "rabbitmq":
            assert message.headers["message-id"].startswith(f"Q_{queue}@@"), message


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


_DEAD_LETTER_ROUNDS = 50  # markers, 0.1 s apart, through a real broker's dead-letter queue before giving up


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
    client = target.client()
    assert upto_marker(client, queue, client.subscribe(queue, receipt=True)) == []
    ours = []
    with target.alone_on(facts.dead_letter_queue):
        client = target.client()
        dead = client.subscribe(facts.dead_letter_queue, ack="client-individual", receipt=True)
        # Artemis moves the message when it has closed the last consumer's session, which may come after
        # the DISCONNECT's RECEIPT and the check above: drain the queue up to a marker until it is there.
        for _ in range(_DEAD_LETTER_ROUNDS if target.real else 1):
            client.send(facts.dead_letter_queue, END)
            while (message := must_receive(dead)).body != END:
                client.ack(message)
                if message.body == body:
                    ours.append(message)
            client.ack(message)
            if ours:
                break
            time.sleep(0.1)
    assert len(ours) == 1, ours
    address = queue.removeprefix("/queue/")
    if facts.dead_letter_headers == "artemis":
        expected = {"_AMQ_ORIG_QUEUE": address, "_AMQ_ORIG_ADDRESS": address, "_AMQ_ORIG_ROUTING_TYPE": "1"}
        assert {name: ours[0].frame.headers.get(name) for name in expected} == expected
        assert ours[0].frame.headers["_AMQ_ORIG_MESSAGE_ID"].isdigit()
    else:
        assert ours[0].frame.headers["original-destination"] == queue


# --- leniency and what answers an odd frame (issue 18, measured on RabbitMQ 3.10.8 and ActiveMQ 5.17.2) ---------


def _subscribed(target: Target, raw: list[Raw], version: str, ack: str) -> tuple[Raw, str, Frame]:
    """A connection subscribed (id s1, with `ack`) to a fresh queue holding one delivered message."""
    connection = _open(target, raw, version)
    connection.connect(version)
    queue = target.queue()
    connection.send(f"SUBSCRIBE\nid:s1\ndestination:{queue}\nack:{ack}\nreceipt:r-sub\n\n\x00")
    assert connection.next().command == "RECEIPT"
    connection.send(f"SEND\ndestination:{queue}\n\nfirst\x00")
    message = connection.next()
    assert message.command == "MESSAGE" and message.body == b"first", message
    return connection, queue, message


def _reply_past_a_repeat(target: Target, connection: Raw, message: Frame) -> Frame:
    """The next frame, past a repeat of `message`: real ActiveMQ, now and then, delivers a message sent right
    after SUBSCRIBE twice (docs/broker.md, R1)."""
    reply = connection.next()
    while target.real and reply.command == "MESSAGE" and reply.headers["message-id"] == message.headers["message-id"]:
        reply = connection.next()
    return reply


def _marker(connection: Raw, queue: str) -> list[Frame]:
    """Every frame up to a marker MESSAGE sent now to `queue` (which the connection is subscribed to)."""
    connection.send(f"SEND\ndestination:{queue}\n\nmarker\x00")
    frames = []
    while (frame := connection.next()).body != b"marker":
        frames.append(frame)
    return frames


@pytest.mark.parametrize("version", ["1.0", "1.2"])
def test_bodies_on_frames_without_one(target: Target, raw: list[Raw], version: str) -> None:
    """CONNECT, SUBSCRIBE and BEGIN with a body: read as if they had none, or refused (bodyless_frame_bodies)."""
    if version not in expect.versions(target.facts):
        pytest.skip(f"{target.name} does not speak STOMP {version}")
    connection = _open(target, raw, version)
    accept = "" if version == "1.0" else "accept-version:1.2\nhost:/\n"
    connection.send(f"CONNECT\n{accept}{LOGIN}\n\n\n\x00")  # the body: two EOLs
    if target.facts.bodyless_frame_bodies == "error":
        with pytest.raises(AssertionError, match="closed"):  # CONNECT is read by 1.2's rules: ERROR or not, closed
            while connection.next().command == "ERROR":
                pass
        return
    connected = connection.next()
    assert connected.command == "CONNECTED" and connected.headers.get("version", "1.0") == version, connected
    queue = target.queue()
    connection.send(f"SUBSCRIBE\nid:1\ndestination:{queue}\nreceipt:r1\n\nbody\x00")
    assert connection.next().headers.get("receipt-id") == "r1"
    connection.send("BEGIN\ntransaction:t1\nreceipt:r2\n\nbody\x00")
    assert connection.next().headers.get("receipt-id") == "r2"
    assert _marker(connection, queue) == []


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_nack_in_1_0_and_ack_without_subscription_in_1_1(target: Target, raw: list[Raw], version: str) -> None:
    """1.0 has no NACK (nack_in_1_0); a 1.1 NACK needs `subscription` (ack_requires_subscription_1_1)."""
    if version not in expect.versions(target.facts):
        pytest.skip(f"{target.name} does not speak STOMP {version}")
    facts = target.facts
    connection, queue, message = _subscribed(target, raw, version, "client-individual")
    connection.send(f"NACK\nmessage-id:{message.headers['message-id']}\nreceipt:r-nack\n\n\x00")
    reply = _reply_past_a_repeat(target, connection, message)
    accepted = facts.nack_in_1_0 == "accept" if version == "1.0" else not facts.ack_requires_subscription_1_1
    if not accepted:
        assert reply.command == "ERROR", reply
        if version == "1.0" and facts.nack_in_1_0 == "error":
            assert reply.headers["message"] == _error_text(target, "invalid-header", "NACK")
        kind = "unknown-command" if version == "1.0" and facts.nack_in_1_0 == "unknown-command" else "missing-header"
        if version == "1.0" and facts.nack_in_1_0 == "error":
            kind = "invalid-header"
        assert connection.closes() == expect.closes_after(facts, kind, version)
        return
    assert reply.command == "RECEIPT" and reply.headers["receipt-id"] == "r-nack", reply
    frames = _marker(connection, queue)
    if expect.nack_outcome(facts, persistent=False) == "requeue":
        assert [frame.body for frame in frames] == [b"first"]
    else:
        assert frames == []


@pytest.mark.parametrize("value", ["false", "False", "FALSE"])
def test_nack_requeue_header(target: Target, raw: list[Raw], value: str) -> None:
    """requeue:false and requeue:False drop a NACKed message where the broker reads the header; FALSE does not."""
    facts = target.facts
    if not facts.nack_requeue_header:
        pytest.skip(f"{target.name}: the profile reads no requeue header (nack_requeue_header=False)")
    connection, queue, message = _subscribed(target, raw, "1.2", "client-individual")
    connection.send(f"NACK\nid:{message.headers['ack']}\nrequeue:{value}\nreceipt:r-nack\n\n\x00")
    assert connection.next().headers.get("receipt-id") == "r-nack"
    redelivered = [frame.body for frame in _marker(connection, queue)]
    assert redelivered == ([] if value in ("false", "False") else [b"first"])


def test_blanks_around_1_0_header_values(target: Target, raw: list[Raw]) -> None:
    """`destination: /queue/x`, `id: X`, `foo:  bar  ` in 1.0: kept, or trimmed as trim_1_0_values says."""
    if "1.0" not in expect.versions(target.facts):
        pytest.skip(f"{target.name} does not speak STOMP 1.0")
    trim = target.facts.trim_1_0_values
    connection = _open(target, raw, "1.0")
    connection.connect("1.0")
    queue = target.queue()
    connection.send(f"SUBSCRIBE\ndestination: {queue}\nid: X\nreceipt: r1\n\n\x00")
    reply = connection.next()
    if trim == "none":  # the blank is part of the name: a destination the broker refuses or another queue
        assert reply.headers.get("receipt-id") == " r1" or reply.command == "ERROR", reply
        return
    assert reply.command == "RECEIPT" and reply.headers["receipt-id"] == "r1", reply
    connection.send(f"SEND\ndestination:{queue}\nfoo:  bar  \n\nhi\x00")
    message = connection.next()
    assert message.headers["subscription"] == "X", message
    assert message.headers["foo"] == ("bar  " if trim == "leading" else "bar")


def test_content_length_of_an_empty_message(target: Target, raw: list[Raw]) -> None:
    connection = _open(target, raw)
    connection.connect()
    queue = target.queue()
    connection.send(f"SUBSCRIBE\nid:1\ndestination:{queue}\nreceipt:r1\n\n\x00")
    assert connection.next().command == "RECEIPT"
    connection.send(f"SEND\ndestination:{queue}\n\n\x00SEND\ndestination:{queue}\n\nx\x00")
    empty, full = connection.next(), connection.next()
    rule = target.facts.content_length
    assert ("content-length" in empty.headers) == (rule == "always"), empty
    assert ("content-length" in full.headers) == (rule != "as-sent"), full


@pytest.mark.parametrize("named", ["delivered", "made-up"])
@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_ack_of_nothing_to_acknowledge(target: Target, raw: list[Raw], version: str, named: str) -> None:
    """ACK of a message delivered in ack mode auto, or of a made-up id: unknown-ack, or what the broker does instead."""
    if version not in expect.versions(target.facts):
        pytest.skip(f"{target.name} does not speak STOMP {version}")
    facts = target.facts
    connection, _, message = _subscribed(target, raw, version, "auto")
    key = message.headers["message-id"] if named == "delivered" else "none"
    names = {"1.0": "message-id:{m}\n", "1.1": "message-id:{m}\nsubscription:s1\n", "1.2": "id:{m}\n"}
    connection.send("ACK\n" + names[version].format(m=key) + "receipt:r-ack\n\n\x00")
    if named == "made-up" and version in facts.unparsable_ack_closes_in:  # ActiveMQ: closed without a frame
        with pytest.raises(AssertionError, match="closed"):
            connection.next()
        return
    reply = _reply_past_a_repeat(target, connection, message)
    if named == "delivered" and facts.unknown_delivery_ack == "precondition-failed":  # RabbitMQ: RECEIPT, ERROR
        assert reply.command == "RECEIPT" and reply.headers["receipt-id"] == "r-ack", reply
        error = connection.next()
        assert error.headers["message"] == _error_text(target, "precondition-failed", "ACK"), error
        assert error.body.decode().startswith("PRECONDITION_FAILED - unknown delivery tag ")
        assert connection.closes()
        return
    assert reply.command == "ERROR", reply
    header, message_id = ("id", "null") if version == "1.2" else ("message-id", key)
    own_format = named == "delivered" and facts.unknown_delivery_ack == "own-format-text"  # Artemis' AMQ339025
    variant = "own-format" if own_format else None
    text = _error_text(target, "unknown-ack", "ACK", variant, ack=key, header=header, message_id=message_id)
    if text is not None:
        assert reply.headers["message"] == text
    assert connection.closes() == expect.closes_after(facts, "unknown-ack", version)


def test_unsubscribe_by_destination(target: Target, raw: list[Raw]) -> None:
    """1.0 UNSUBSCRIBE by destination: of a subscription with an id too, or only of one without (RabbitMQ)."""
    if "1.0" not in expect.versions(target.facts):
        pytest.skip(f"{target.name} does not speak STOMP 1.0")
    connection = _open(target, raw, "1.0")
    connection.connect("1.0")
    queue = target.queue()
    connection.send(f"SUBSCRIBE\nid:s3\ndestination:{queue}\nreceipt:r1\n\n\x00")
    assert connection.next().command == "RECEIPT"
    connection.send(f"UNSUBSCRIBE\ndestination:{queue}\nreceipt:r-uns\n\n\x00")
    reply = connection.next()
    if target.facts.unsubscribe_by_destination == "any":
        assert reply.command == "RECEIPT", reply
        return
    assert reply.command == "ERROR", reply
    template = target.facts.anonymous_subscription_id  # Artemis: the id a SUBSCRIBE without one would have
    id = queue if template is None else template.format(address=queue.removeprefix("/queue/"))
    fields = {"id": id, "header": "destination"}
    assert reply.headers["message"] == _error_text(target, "unknown-subscription", "UNSUBSCRIBE", **fields)
    assert reply.body.decode() == _error_body(target, "unknown-subscription", "UNSUBSCRIBE", **fields)
    assert [frame.body for frame in _marker(connection, queue)] == []  # s3 still subscribed: the marker came


# What SEND and SUBSCRIBE to odd names get, by `destination_names` (measured, issue 18): "ok NAME" (accepted, and
# the MESSAGE says NAME), "close" (no frame), or the ERROR's message and body; "then close" after an ERROR (and
# "with receipt": the refused frame's RECEIPT before the close). {U} stands for a fresh name.
_DESTINATIONS: dict[str, dict[str, str]] = {
    "rabbitmq": {
        "/queue/a/{U}": "Invalid destination|'/a/{U}' is not a valid queue destination\n",
        "/queue/": "Invalid destination|'/' is not a valid queue destination\n",
        "/exchange//{U}": "Invalid destination|'//{U}' is not a valid exchange destination\n",
        "/exchange/{U}": "not_found|NOT_FOUND - no exchange '{U}' in vhost '/'|then close",
        "/foo/{U}": "Unknown destination|'/foo/{U}' is not a valid destination.\nValid destination types are: "
        "/temp-queue, /exchange, /topic, /queue, /amq/queue, /reply-queue/.\n",
        "{U}": "ok /queue/{U}",
    },
    "activemq": {
        "/queue/a/{U}": "ok /queue/a/{U}",
        "/queue/": "close",
        "/topic/": "close",
        "/foo/{U}": "ok /queue//foo/{U}",
        "/exchange/{U}": "ok /queue//exchange/{U}",
        "{U}": "ok /queue/{U}",
    },
    "as-given": {"/queue/a/{U}": "ok /queue/a/{U}"},
}


@pytest.mark.parametrize("command", ["SEND", "SUBSCRIBE"])
@pytest.mark.parametrize("case", range(6))
def test_destination_names(target: Target, raw: list[Raw], command: str, case: int) -> None:
    cases = list(_DESTINATIONS[target.facts.destination_names].items())
    if case >= len(cases):
        pytest.skip(
            f"{target.name}: {len(cases)} measured names for destination_names={target.facts.destination_names}"
        )
    pattern, outcome = cases[case]
    unique = f"stomptest-{uuid.uuid4().hex[:12]}"
    name = pattern.replace("{U}", unique)
    connection = _open(target, raw)
    connection.connect()
    if outcome.startswith("ok "):
        connection.send(f"SUBSCRIBE\nid:1\ndestination:{name}\nreceipt:r-sub\n\n\x00")
        assert connection.next().headers.get("receipt-id") == "r-sub"
        connection.send(f"SEND\ndestination:{name}\n\nx\x00")
        message = connection.next()
        assert message.command == "MESSAGE", message
        assert message.headers["destination"] == outcome[3:].replace("{U}", unique)
        return
    if command == "SEND":
        connection.send(f"SEND\ndestination:{name}\nreceipt:r\n\nx\x00")
    else:
        connection.send(f"SUBSCRIBE\nid:1\ndestination:{name}\nreceipt:r\n\n\x00")
    if outcome == "close":
        with pytest.raises(AssertionError, match="closed"):
            connection.next()
        return
    message, body, *after = outcome.split("|")
    error = connection.next()
    assert error.command == "ERROR", error
    assert (error.headers["message"], error.body.decode()) == (message, body.replace("{U}", unique))
    if after and command == "SUBSCRIBE" and f"not-found {command}" in target.facts.receipt_after_error:
        assert connection.next().headers.get("receipt-id") == "r"
    assert connection.closes() == bool(after)


@pytest.mark.parametrize(
    ("version", "command", "headers", "missing"),
    [
        ("1.2", "SUBSCRIBE", "id:1\n", "destination"),
        ("1.2", "ACK", "message-id:x\n", "id"),
        ("1.1", "ACK", "subscription:1\n", "message-id"),
        ("1.1", "NACK", "message-id:x\n", "subscription"),  # Artemis: AMQ339037 (found by the differential tests)
        ("1.2", "UNSUBSCRIBE", "", "id"),
        ("1.2", "BEGIN", "", "transaction"),
        ("1.0", "SEND", "", "destination"),  # ActiveMQ: 'a Destination' (found by the differential tests)
    ],
)
def test_missing_header_texts(
    target: Target, raw: list[Raw], version: str, command: str, headers: str, missing: str
) -> None:
    """A frame without a header it needs: the ERROR's message and body, by command and header (issue 18)."""
    if missing == "subscription" and not target.facts.ack_requires_subscription_1_1:
        pytest.skip(f"{target.name} does not need it (L6)")
    connection = _open(target, raw, version)
    connection.connect(version)
    connection.send(f"{command}\n{headers}receipt:r\n\n\x00")
    error = connection.next()
    assert error.command == "ERROR", error
    texts = target.facts.error_texts
    message, body = (
        texts.get(f"missing-header {command} {missing}")
        or texts.get(f"missing-header {command}")
        or texts["missing-header"]
    )
    fields = {"command": command, "reason": missing, "header": missing}
    if target.name == "real-artemis" and error.headers["message"] == _ARTEMIS_FAST_THROW:
        assert command == "SUBSCRIBE" and not error.body  # the JVM's warmed-up answer (docs/broker.md)
        return
    assert error.headers["message"] == message.format(**fields)
    assert error.body.decode().split("\n\tat ")[0] == body.format(**fields).split("\n\tat ")[0]


@pytest.mark.parametrize("version", ["1.0", "1.2"])
def test_a_header_line_without_colon(target: Target, raw: list[Raw], version: str) -> None:
    if version not in expect.versions(target.facts):
        pytest.skip(f"{target.name} does not speak STOMP {version}")
    connection = _open(target, raw, version)
    connection.connect(version)
    connection.send("BEGIN\ntransaction:t1\nnocolon\nreceipt:r-begin\n\n\x00")
    if target.facts.header_without_colon == "ignore":  # ActiveMQ: the line is skipped
        assert connection.next().headers.get("receipt-id") == "r-begin"
        assert not connection.closes()
        return
    with pytest.raises(AssertionError, match="closed"):  # malformed: closed, after an ERROR or not
        while connection.next().command == "ERROR":
            pass


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_crlf_line_ends_before_1_2(target: Target, raw: list[Raw], version: str) -> None:
    if version not in expect.versions(target.facts):
        pytest.skip(f"{target.name} does not speak STOMP {version}")
    facts = target.facts
    connection = _open(target, raw, version)
    connection.connect(version)
    connection.send("BEGIN\r\ntransaction:t1\r\nreceipt:r-begin\r\n\r\n\x00")
    reply = connection.next(timeout=ANSWER)  # real Artemis in 1.0 answers nothing (KNOWN_DIFFERENCES): not 10 s
    read_as_1_2 = version == "1.0" and facts.escape_1_0 == "as-1.2"  # RabbitMQ reads 1.0 by 1.2's rules
    if facts.crlf_before_1_2 == "error" and not read_as_1_2:
        assert reply.command == "ERROR", reply
        return
    kept = facts.crlf_before_1_2 == "activemq" and version == "1.1"  # ActiveMQ 1.1: the CR stays in the value
    assert reply.command == "RECEIPT" and reply.headers["receipt-id"] == ("r-begin\r" if kept else "r-begin"), reply
    assert not connection.closes()


# --- JMS headers given on SEND (issue 16, N16; measured on RabbitMQ 3.10.8, ActiveMQ 5.17.2, Artemis 2.40.0) ------


@pytest.mark.parametrize("persistent", ["true", "TRUE", "yes", "false"])
def test_jms_headers_given_on_send_are_written_once(target: Target, raw: list[Raw], persistent: str) -> None:
    """ActiveMQ and Artemis write their JMS headers once, with the SEND's values (Artemis' timestamp: twice)."""
    facts = target.facts
    connection = _open(target, raw)
    connection.connect()
    queue = target.queue()
    connection.send(f"SUBSCRIBE\nid:1\ndestination:{queue}\nreceipt:r-sub\n\n\x00")
    assert connection.next().command == "RECEIPT"
    sent = {"priority": "9", "expires": "0", "timestamp": "123", "persistent": persistent}
    connection.send(f"SEND\ndestination:{queue}\n" + "".join(f"{k}:{v}\n" for k, v in sent.items()) + "\nx\x00")
    message = connection.next()
    assert message.command == "MESSAGE", message
    written = {name: [v for n, v in message.raw_headers if n == name] for name in sent}
    assert written["priority"] == ["9"] and written["expires"] == ["0"], message.raw_headers
    timestamps = written["timestamp"]
    if facts.jms_headers == "always" and "timestamp" not in facts.jms_headers_from_send:  # Artemis: its own, then ours
        assert len(timestamps) == 2 and timestamps[0].isdigit() and timestamps[1] == "123", message.raw_headers
    else:
        assert timestamps == ["123"], message.raw_headers
    if facts.persistent_header == "always":  # Artemis: Boolean.parseBoolean
        expected = ["true" if persistent.lower() == "true" else "false"]
    elif facts.persistent_header == "as-sent" or facts.message_header_order == "rabbitmq":  # a delivery mode
        expected = ["true"] if persistent == "true" else []
    else:
        expected = [persistent]  # strict: the SEND's header, as it came
    assert written["persistent"] == expected, message.raw_headers
