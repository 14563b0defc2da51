"""The artemis profile's logic, measured on Apache Artemis 2.40.0 (findings A2-A18 of docs/broker.md).

Engine-level, with the connection's clock in the test's hands (`Peer.now`, `Peer.tick`):
no sleeping. The same behaviours run against the real broker in tests/scenarios and
tests/conformance; these pin the details the wire tests cannot reach quickly (60 s timeouts).
"""

from __future__ import annotations

import pytest

from stomptest.protocol import Frame, Heartbeat

from .harness import Peer, connected, engine

TTL_TEXT = (
    "AMQ229014: Did not receive data from {peer} within the {ttl}ms connection TTL. The connection will now be closed."
)


# -- A5, A6: CONNECTED and heart-beats


@pytest.mark.parametrize(
    ("asked", "artemis", "strict"),
    [
        ("0,0", "0,30000", "0,0"),
        ("400,400", "500,500", "400,400"),
        ("0,1000", "1000,30000", "1000,0"),
        ("1000,0", "0,1000", "0,1000"),
        ("100000,100000", "100000,100000", "100000,100000"),
    ],
)
def test_heartbeat_negotiation(asked: str, artemis: str, strict: str) -> None:
    for profile, expected in (("artemis", artemis), ("strict", strict)):
        reply = Peer(engine(profile)).connect("1.2", heart_beat=asked)
        assert reply.headers["heart-beat"] == expected, profile


@pytest.mark.parametrize(
    ("version", "headers", "ttl"),
    [
        ("1.2", {"heart_beat": "0,0"}, 60_000),
        ("1.2", {}, 60_000),
        ("1.0", {}, 60_000),
        ("1.2", {"heart_beat": "1000,0"}, 2000),
    ],
)
def test_a_silent_client_gets_the_ttl_error_then_the_close(version: str, headers: dict[str, str], ttl: int) -> None:
    peer = Peer(engine("artemis"), now=0.0)
    peer.connect(version, **headers)
    assert peer.connection.next_deadline() == pytest.approx(ttl / 1000, abs=0.01)
    assert [f for f in peer.tick(ttl / 1000 - 0.01) if isinstance(f, Frame)] == []
    assert not peer.connection.closing
    [error] = [f for f in peer.tick(ttl / 1000 + 0.01) if isinstance(f, Frame)]
    assert error.command == "ERROR"
    assert error.headers["message"] == TTL_TEXT.format(peer=peer.connection.peer, ttl=ttl)
    assert "receipt-id" not in error.headers and error.body == b""
    assert peer.connection.closed


def test_a_beating_client_stays() -> None:
    peer = Peer(engine("artemis"), now=0.0)
    peer.connect("1.2", heart_beat="1000,0")
    for second in range(1, 10):
        peer.now = second - 0.5
        peer.raw(b"\n")
        peer.tick(second)
    assert not peer.connection.closing


def test_without_beats_strict_never_times_a_client_out() -> None:
    peer = Peer(engine("strict"), now=0.0)
    peer.connect("1.2", heart_beat="0,0")
    assert peer.connection.next_deadline() is None


@pytest.mark.parametrize(
    ("version", "headers", "expected"),
    [
        ("1.0", {}, ["session"]),
        ("1.1", {}, ["version", "session", "server"]),
        ("1.2", {"heart_beat": "0,0"}, ["version", "session", "server", "heart-beat"]),
        ("1.2", {"receipt": "rc"}, ["version", "session", "server", "receipt-id"]),
    ],
)
def test_connected_has_what_connect_asked_about(version: str, headers: dict[str, str], expected: list[str]) -> None:
    peer = Peer(engine("artemis"))
    if version == "1.0":  # no accept-version at all: then no version header either
        [reply] = peer.send("CONNECT", {"login": "guest"})
    else:
        reply = peer.connect(version, **headers)
    assert [name for name, _ in reply.raw_headers] == expected


# -- A10, A11: out of turn


def test_a_frame_before_connect_makes_the_connection_deaf() -> None:
    peer = Peer(engine("artemis"), now=0.0)
    assert peer.send("SEND", {"destination": "/queue/q", "receipt": "r1"}, b"x") == []
    assert peer.send("CONNECT", {"accept-version": "1.2", "host": "/"}) == []
    assert peer.connection.next_deadline() is None  # not even the connect timeout (measured: open after 120 s)
    assert not peer.connection.closing
    strict = Peer(engine("strict"))
    [error] = strict.send("SEND", {"destination": "/queue/q"}, b"x")
    assert error.command == "ERROR" and strict.connection.closed


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
def test_an_eol_before_connect_deafens_the_connection_to_what_follows(eol: bytes) -> None:
    peer = Peer(engine("artemis"), now=0.0)
    assert peer.raw(eol) == []
    assert peer.connection.next_deadline() == 10.0  # an EOL alone: the connect timeout runs (measured: closed at 10 s)
    assert peer.send("CONNECT", {"accept-version": "1.2", "host": "/"}) == []
    assert peer.connection.next_deadline() is None  # measured: still open 14 s later
    assert peer.send("CONNECT", {"accept-version": "1.2", "host": "/"}) == []
    rabbitmq = Peer(engine("rabbitmq"), now=0.0)
    assert rabbitmq.raw(eol) == []
    login = {"login": "guest", "passcode": "guest"}
    [connected] = rabbitmq.send("CONNECT", {"accept-version": "1.2", "host": "/", **login})
    assert connected.command == "CONNECTED"


def test_a_second_connect_answers_in_the_same_session() -> None:
    eng = engine("artemis")
    peer = connected(eng, "1.1")
    first = peer.connection.session
    peer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/q"})
    [again] = peer.send("CONNECT", {"accept-version": "1.2", "host": "/", "receipt": "again"})
    assert again.command == "CONNECTED"
    assert again.headers["session"] == first and again.headers["version"] == "1.1"
    assert again.headers["receipt-id"] == "again" and "response-id" not in again.headers
    [message] = peer.send("SEND", {"destination": "/queue/q"}, b"still")
    assert message.command == "MESSAGE" and message.body == b"still"


# -- A2, A3, A4, A16: ERRORs


@pytest.mark.parametrize(
    ("frame", "message", "receipt_id"),
    [
        (Frame("SEND", {"receipt": "r"}, b"x"), "AMQ339031 Error handling send", True),
        (Frame("BEGIN", {"receipt": "r"}), "AMQ339032 Need a transaction id to begin", True),
        (Frame("COMMIT", {"transaction": "nope", "receipt": "r"}), "AMQ339013 Error committing nope", True),
        (Frame("ABORT", {"transaction": "nope", "receipt": "r"}), "No transaction started: nope", True),
        (Frame("SUBSCRIBE", {"id": "1", "receipt": "r"}), 'Cannot invoke "org.apache.activemq.artemis', False),
    ],
)
def test_error_texts_and_receipt_ids_by_command(frame: Frame, message: str, receipt_id: bool) -> None:
    for version in ("1.0", "1.1", "1.2"):
        peer = connected(engine("artemis"), version)
        [error] = peer.send(frame.command, dict(frame.headers), frame.body)
        assert error.command == "ERROR"
        assert error.headers["message"].startswith(message)
        assert ("receipt-id" in error.headers) is receipt_id
        assert peer.connection.closed is (version == "1.2")


def test_subscribe_without_destination_has_the_text_as_body_too() -> None:
    peer = connected(engine("artemis"), "1.1")
    [error] = peer.send("SUBSCRIBE", {"id": "1"})
    assert error.body.decode() == error.headers["message"]
    assert error.headers["content-length"] == str(len(error.body))
    one_zero = connected(engine("artemis"), "1.0")
    [error] = one_zero.send("SUBSCRIBE", {"id": "1"})
    assert error.headers["content-type"] == "text/plain" and "content-length" not in error.headers  # A8


def test_begin_twice_and_a_duplicate_subscription() -> None:
    peer = connected(engine("artemis"), "1.1")
    peer.send("BEGIN", {"transaction": "t1"})
    [error] = peer.send("BEGIN", {"transaction": "t1", "receipt": "r"})
    assert error.headers["message"] == "Transaction already started: t1" and error.headers["receipt-id"] == "r"
    peer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/q"})
    [error] = peer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/q", "receipt": "r"})
    assert error.headers["message"].startswith("There already is a subscription for: 1.")
    assert "receipt-id" not in error.headers
    assert not peer.connection.closed


# -- A19: ACK or NACK of nothing pending: the text depends on the form of the id


@pytest.mark.parametrize(
    ("key", "own_format"),
    [
        ("7,9", True),  # measured: a made-up CONSUMER,MESSAGE pair
        ("+1,-2", True),  # Java's Long.parseLong takes a sign
        ("\u0663,2", True),  # ...and any Unicode decimal digit
        ("1,2,3", False),
        ("1,2,", False),
        (",1,2", False),
        (" 1,2", False),
        ("12345", False),
        ("none", False),
        ("1,99999999999999999999", False),  # past a Java long
    ],
)
def test_ack_of_nothing_pending_names_the_id_by_its_form(key: str, own_format: bool) -> None:
    for command in ("ACK", "NACK"):
        peer = connected(engine("artemis"), "1.2")
        [error] = peer.send(command, {"id": key, "receipt": "r"})
        expected = f"AMQ339025 failed to ack because no message with id {key}" if own_format else None
        assert error.headers["message"] == (expected or f"AMQ339018 Error acknowledging message {key}")


def test_ack_of_a_message_delivered_in_ack_mode_auto() -> None:
    for version, header in (("1.0", "message-id"), ("1.1", "message-id"), ("1.2", "id")):
        peer = connected(engine("artemis"), version)
        peer.send("SUBSCRIBE", {"id": "s1", "destination": "/queue/q", "ack": "auto"})
        [message] = peer.send("SEND", {"destination": "/queue/q"}, b"x")
        key = message.headers["message-id"]
        [error] = peer.send("ACK", {header: key, "subscription": "s1", "receipt": "r"})
        assert error.headers["message"] == f"AMQ339025 failed to ack because no message with id {key}", version


# -- A20: a body longer than its content-length


def _overrun(version: str, *chunks: bytes) -> list[Frame]:
    peer = connected(engine("artemis"), version)
    peer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/q"})
    head = b"SEND\ndestination:/queue/q\ncontent-length:3\nreceipt:r\n\n"
    frames: list[Frame] = []
    for index, chunk in enumerate(chunks):
        frames += [f for f in peer.raw((head if index == 0 else b"") + chunk) if isinstance(f, Frame)]
    return frames


NEXT = b"SEND\ndestination:/queue/q\nreceipt:r2\n\nnext\x00"


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_an_overrun_body_ends_at_its_length_and_the_rest_up_to_a_nul_is_dropped(version: str) -> None:
    receipt, message = _overrun(version, b"a\x00cyz" + NEXT)  # a NUL inside the body, as content-length allows
    assert (receipt.headers["receipt-id"], message.body) == ("r", b"a\x00c")  # the SEND in the same packet is lost
    assert [f.headers.get("receipt-id") for f in _overrun(version, b"a\x00cyz\x00" + NEXT)][::2] == ["r", "r2"]
    assert [f.headers.get("receipt-id") for f in _overrun(version, b"a\x00cyz", NEXT)][::2] == ["r", "r2"]


def test_an_overrun_body_in_1_0_drops_one_byte_and_reads_on() -> None:
    assert [f.headers.get("receipt-id") for f in _overrun("1.0", b"abcy" + NEXT)][::2] == ["r", "r2"]
    *_, error = _overrun("1.0", b"abcyGARB" + NEXT)
    assert error.command == "ERROR" and error.headers["message"].startswith("AMQ339023 Invalid STOMP frame")


def test_strict_refuses_an_overrun_body() -> None:
    peer = connected(engine("strict"))
    [error] = peer.raw(b"SEND\ndestination:/queue/q\ncontent-length:1\n\nxy\x00")
    assert isinstance(error, Frame) and error.command == "ERROR" and peer.connection.closed


def test_an_unknown_command_has_no_receipt_id() -> None:
    peer = connected(engine("artemis"))
    [error] = [f for f in peer.raw(b"FOO\nreceipt:r\n\n\x00") if isinstance(f, Frame)]
    assert "receipt-id" not in error.headers and peer.connection.closed


# -- A7, A8, A12, A13, A14: SEND, SUBSCRIBE, MESSAGE


def test_destination_type_on_every_message() -> None:
    peer = connected(engine("artemis"))
    peer.send("SUBSCRIBE", {"id": "q", "destination": "/queue/q"})
    peer.send("SUBSCRIBE", {"id": "t", "destination": "/topic/t"})
    [queued] = peer.send("SEND", {"destination": "/queue/q"}, b"x")
    [published] = peer.send("SEND", {"destination": "/topic/t"}, b"x")
    assert queued.headers["destination-type"] == "ANYCAST"
    assert published.headers["destination-type"] == "MULTICAST"
    strict = connected(engine("strict"))
    strict.send("SUBSCRIBE", {"id": "q", "destination": "/queue/q"})
    [message] = strict.send("SEND", {"destination": "/queue/q"}, b"x")
    assert "destination-type" not in message.headers


def test_content_length_in_1_0_only_when_sent() -> None:
    for version, sent, expected in (("1.0", False, False), ("1.0", True, True), ("1.1", False, True)):
        peer = connected(engine("artemis"), version)
        peer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/q"})
        headers = {"destination": "/queue/q", **({"content-length": "2"} if sent else {})}
        [message] = peer.send("SEND", headers, b"hi")
        assert ("content-length" in message.headers) is expected, (version, sent)


def test_subscribe_without_id() -> None:
    for version in ("1.0", "1.1", "1.2"):
        peer = connected(engine("artemis"), version)
        [receipt] = peer.send("SUBSCRIBE", {"destination": "/queue/name", "receipt": "r"})
        assert receipt.command == "RECEIPT"
        [message] = peer.send("SEND", {"destination": "/queue/name"}, b"x")
        assert message.headers["subscription"] == "subscription/name"
    [error] = connected(engine("strict")).send("SUBSCRIBE", {"destination": "/queue/name"})
    assert error.command == "ERROR"


def test_send_in_an_unknown_transaction_is_acknowledged_and_dropped() -> None:
    peer = connected(engine("artemis"))
    [receipt] = peer.send("SEND", {"destination": "/queue/q", "transaction": "nope", "receipt": "r"}, b"lost")
    assert receipt.command == "RECEIPT"
    peer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/q"})
    [message] = peer.send("SEND", {"destination": "/queue/q"}, b"marker")
    assert message.body == b"marker"


def test_the_sends_own_reserved_headers_are_kept_after_the_brokers() -> None:
    peer = connected(engine("artemis"))
    peer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/q", "ack": "client-individual"})
    sent = Frame("SEND", [("destination", "/queue/q"), ("message-id", "mine"), ("subscription", "s"), ("ack", "zzz")])
    [message] = [f for f in peer.raw(sent.encode("1.2")) if isinstance(f, Frame)]
    names = [name for name, _ in message.raw_headers]
    values = [value for _, value in message.raw_headers]
    assert names.count("message-id") == 2 and values[names.index("message-id", 3)] == "mine"
    assert message.headers["subscription"] == "1"  # the broker's first
    assert message.headers["ack"] == "zzz"  # the client's first: a 1.2 client ACKs what it sent (measured)
    assert [v for n, v in message.raw_headers if n == "ack"][1] == message.headers["message-id"]


def test_an_unprefixed_name_is_a_topic() -> None:
    peer = connected(engine("artemis"))
    peer.send("SEND", {"destination": "plain"}, b"dropped")
    peer.send("SUBSCRIBE", {"id": "1", "destination": "plain"})
    [message] = peer.send("SEND", {"destination": "plain"}, b"kept")
    assert message.body == b"kept" and "destination-type" not in message.headers  # measured (issue 18): no prefix, none


# -- A18: dead letters


def test_dead_letter_headers_after_ten_deliveries() -> None:
    eng = engine("artemis")
    connected(eng).send("SEND", {"destination": "/queue/redeliver"}, b"m")
    deliveries = []
    for _ in range(11):
        peer = connected(eng)
        got = peer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/redeliver", "ack": "client-individual"})
        peer.send("DISCONNECT")
        deliveries += got
    assert len(deliveries) == 10 and deliveries[-1].headers["redelivered"] == "true"
    peer = connected(eng)
    [dead] = peer.send("SUBSCRIBE", {"id": "d", "destination": "/queue/DLQ"})
    original = deliveries[0].headers["message-id"].split(",")[1]
    assert [(n, v) for n, v in dead.raw_headers if n.startswith("_AMQ_ORIG")] == [
        ("_AMQ_ORIG_QUEUE", "redeliver"),
        ("_AMQ_ORIG_ROUTING_TYPE", "1"),
        ("_AMQ_ORIG_ADDRESS", "redeliver"),
        ("_AMQ_ORIG_MESSAGE_ID", original),
    ]
    assert "original-destination" not in dead.headers


def test_heartbeats_are_not_frames() -> None:  # the helper above filters them: make sure a beat is a Heartbeat
    peer = Peer(engine("artemis"), now=0.0)
    peer.connect("1.2", heart_beat="0,1000")
    assert any(isinstance(item, Heartbeat) for item in peer.tick(1.0))


def test_after_a_refused_stomp_the_connection_ttl_applies_not_the_handshake_timeout() -> None:
    """Measured: STOMP asking for 1.0 is refused; the 10 s handshake timeout is then off, and 60 s of silence
    end the connection with the TTL ERROR (AMQ229014 at 60.2 s on Artemis 2.40.0)."""
    peer = Peer(engine("artemis"), now=0.0)
    peer.now = 5.0
    [refusal] = peer.send("STOMP", {"host": "/", "login": "guest", "passcode": "guest"})
    assert refusal.headers["message"] == "AMQ339029 Unsupported command STOMP"
    assert peer.connection.next_deadline() == pytest.approx(65.0)
    assert [f for f in peer.tick(64.9) if isinstance(f, Frame)] == []
    assert not peer.connection.closing  # the handshake timeout (10 s) no longer counts
    [error] = [f for f in peer.tick(65.1) if isinstance(f, Frame)]
    assert error.headers["message"] == TTL_TEXT.format(peer=peer.connection.peer, ttl=60000)
    assert peer.connection.closed
