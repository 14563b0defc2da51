"""The engine and per-connection protocol state under the strict profile, without sockets."""

from __future__ import annotations

import pytest

from stomptest.broker.limits import Limits
from stomptest.broker.profiles import PROFILES
from stomptest.protocol import Frame, Heartbeat

from .harness import Peer, connected, engine


def messages(frames: list[Frame]) -> list[Frame]:
    return [f for f in frames if f.command == "MESSAGE"]


# -- CONNECT


@pytest.mark.parametrize(
    ("accept", "expected"), [("1.0", "1.0"), ("1.1", "1.1"), ("1.2", "1.2"), ("1.0,1.1,1.2", "1.2"), ("1.1,1.0", "1.1")]
)
def test_version_negotiation_picks_the_highest_common_version(accept: str, expected: str) -> None:
    reply = Peer(engine()).send("CONNECT", {"accept-version": accept, "host": "h"})
    assert reply[0].command == "CONNECTED"
    assert reply[0].headers["version"] == expected
    assert reply[0].headers["server"].startswith("stomptest/")
    assert reply[0].headers["session"]


def test_connect_without_accept_version_speaks_1_0() -> None:
    reply = Peer(engine()).send("CONNECT")
    assert reply[0].headers["version"] == "1.0"


def test_stomp_frame_is_a_synonym_for_connect() -> None:
    reply = Peer(engine()).send("STOMP", {"accept-version": "1.2", "host": "h"})
    assert reply[0].command == "CONNECTED"


def test_no_common_version_gives_error_with_versions_and_closes() -> None:
    peer = Peer(engine())
    reply = peer.send("CONNECT", {"accept-version": "2.0", "host": "h"})
    assert reply[0].command == "ERROR"
    assert reply[0].headers["version"] == "1.0,1.1,1.2"
    assert peer.connection.closed


def test_strict_requires_host_from_1_1() -> None:
    peer = Peer(engine())
    reply = peer.send("CONNECT", {"accept-version": "1.1"})
    assert reply[0].command == "ERROR"
    assert "host" in reply[0].body.decode()
    assert peer.connection.closed


def test_frame_before_connect_is_an_error_and_closes() -> None:
    peer = Peer(engine())
    reply = peer.send("SEND", {"destination": "/queue/a"}, b"x")
    assert reply[0].command == "ERROR"
    assert peer.connection.closed


def test_second_connect_is_an_error() -> None:
    peer = connected(engine())
    reply = peer.send("CONNECT", {"accept-version": "1.2", "host": "h"})
    assert reply[0].command == "ERROR"


def test_users_are_checked() -> None:
    eng = engine(users={"alice": "secret"})
    assert (
        Peer(eng)
        .send("CONNECT", {"accept-version": "1.2", "host": "h", "login": "alice", "passcode": "secret"})[0]
        .command
        == "CONNECTED"
    )
    wrong = Peer(eng)
    assert (
        wrong.send("CONNECT", {"accept-version": "1.2", "host": "h", "login": "alice", "passcode": "no"})[0].command
        == "ERROR"
    )
    assert wrong.connection.closed
    assert Peer(eng).send("CONNECT", {"accept-version": "1.2", "host": "h"})[0].command == "ERROR"


def test_frames_pipelined_behind_connect_are_read_in_the_negotiated_version() -> None:
    # in 1.0 a backslash is just a character; read as 1.2 it would be a bad escape
    eng = engine()
    peer = Peer(eng)
    data = Frame("CONNECT", {"accept-version": "1.0"}).encode("1.0") + b"SEND\ndestination:/queue/a\nx:a\\b\n\nhi\x00"
    frames = peer.raw(data)
    assert [f.command for f in frames if isinstance(f, Frame)] == ["CONNECTED"]
    assert eng.destinations["/queue/a"].messages[0].headers == (("x", "a\\b"),)


# -- queues and topics


def test_queue_keeps_messages_for_a_later_subscriber() -> None:
    eng = engine()
    producer = connected(eng)
    producer.send("SEND", {"destination": "/queue/a"}, b"one")
    consumer = connected(eng)
    got = messages(consumer.send("SUBSCRIBE", {"id": "s", "destination": "/queue/a"}))
    assert [m.body for m in got] == [b"one"]
    assert got[0].headers["subscription"] == "s"
    assert got[0].headers["destination"] == "/queue/a"
    assert got[0].headers["message-id"]


def test_queue_spreads_round_robin_over_subscribers() -> None:
    eng = engine()
    first, second = connected(eng), connected(eng)
    first.send("SUBSCRIBE", {"id": "1", "destination": "/queue/a"})
    second.send("SUBSCRIBE", {"id": "2", "destination": "/queue/a"})
    producer = connected(eng)
    for n in range(6):
        producer.send("SEND", {"destination": "/queue/a"}, str(n))
    assert [m.body for m in messages(first.frames())] == [b"0", b"2", b"4"]
    assert [m.body for m in messages(second.frames())] == [b"1", b"3", b"5"]


def test_topic_fans_out_and_drops_without_subscribers() -> None:
    eng = engine()
    producer = connected(eng)
    producer.send("SEND", {"destination": "/topic/t"}, b"lost")
    first, second = connected(eng), connected(eng)
    first.send("SUBSCRIBE", {"id": "1", "destination": "/topic/t"})
    second.send("SUBSCRIBE", {"id": "2", "destination": "/topic/t"})
    producer.send("SEND", {"destination": "/topic/t"}, b"both")
    assert [m.body for m in messages(first.frames())] == [b"both"]
    assert [m.body for m in messages(second.frames())] == [b"both"]


def test_user_headers_pass_through_and_frame_headers_do_not() -> None:
    eng = engine()
    consumer = connected(eng)
    consumer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/a"})
    producer = connected(eng)
    producer.send("SEND", {"destination": "/queue/a", "x-a": "1:2\n3", "receipt": "r", "message-id": "forged"}, b"b")
    message = messages(consumer.frames())[0]
    assert message.headers["x-a"] == "1:2\n3"
    assert "receipt" not in message.headers
    assert message.headers["message-id"] != "forged"


def test_header_a_1_0_client_cannot_read_is_left_out_not_fatal() -> None:
    eng = engine()
    old = connected(eng, "1.0")
    old.send("SUBSCRIBE", {"destination": "/queue/a"})
    connected(eng).send("SEND", {"destination": "/queue/a", "x-a": "line\nbreak", "x-b": "ok"}, b"b")
    message = messages(old.frames())[0]
    assert "x-a" not in message.headers
    assert message.headers["x-b"] == "ok"


# -- acknowledgement


def test_auto_ack_messages_are_not_redelivered() -> None:
    eng = engine()
    consumer = connected(eng)
    consumer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/a"})
    connected(eng).send("SEND", {"destination": "/queue/a"}, b"x")
    assert len(messages(consumer.frames())) == 1
    consumer.send("DISCONNECT")
    again = connected(eng)
    assert messages(again.send("SUBSCRIBE", {"id": "1", "destination": "/queue/a"})) == []


def test_client_ack_is_cumulative() -> None:
    eng = engine()
    consumer = connected(eng)
    consumer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/a", "ack": "client"})
    producer = connected(eng)
    for n in range(3):
        producer.send("SEND", {"destination": "/queue/a"}, str(n))
    got = messages(consumer.frames())
    assert consumer.send("ACK", {"id": got[1].headers["ack"], "receipt": "r"})[0].command == "RECEIPT"
    assert len(consumer.connection.unacked) == 1
    consumer.send("DISCONNECT")
    again = connected(eng)
    redelivered = messages(again.send("SUBSCRIBE", {"id": "1", "destination": "/queue/a"}))
    assert [m.body for m in redelivered] == [b"2"]


def test_client_individual_ack_is_not_cumulative() -> None:
    eng = engine()
    consumer = connected(eng)
    consumer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/a", "ack": "client-individual"})
    producer = connected(eng)
    for n in range(3):
        producer.send("SEND", {"destination": "/queue/a"}, str(n))
    got = messages(consumer.frames())
    consumer.send("ACK", {"id": got[1].headers["ack"]})
    consumer.send("UNSUBSCRIBE", {"id": "1"})
    again = connected(eng)
    redelivered = messages(again.send("SUBSCRIBE", {"id": "2", "destination": "/queue/a"}))
    assert [m.body for m in redelivered] == [b"0", b"2"]


def test_ack_in_1_1_uses_message_id_and_subscription_and_1_0_message_id() -> None:
    eng = engine()
    for version, extra in (("1.1", {"subscription": "1"}), ("1.0", {})):
        consumer = connected(eng, version)
        consumer.send("SUBSCRIBE", {"id": "1", "destination": f"/queue/{version}", "ack": "client"})
        connected(eng).send("SEND", {"destination": f"/queue/{version}"}, b"x")
        message = messages(consumer.frames())[0]
        assert "ack" not in message.headers
        reply = consumer.send("ACK", {"message-id": message.headers["message-id"], "receipt": "r", **extra})
        assert [f.command for f in reply] == ["RECEIPT"]
        assert not consumer.connection.unacked


def test_unknown_ack_is_an_error_with_receipt_id() -> None:
    peer = connected(engine())
    reply = peer.send("ACK", {"id": "nope", "receipt": "r9"})
    assert reply[0].command == "ERROR"
    assert reply[0].headers["receipt-id"] == "r9"
    assert peer.connection.closed  # strict: ERROR always closes (1.2 MUST)


def test_nack_requeues_under_strict_and_marks_the_delivery_count() -> None:
    eng = engine()
    consumer = connected(eng)
    consumer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/a", "ack": "client-individual"})
    connected(eng).send("SEND", {"destination": "/queue/a"}, b"x")
    first = messages(consumer.frames())[0]
    again = messages(consumer.send("NACK", {"id": first.headers["ack"]}))
    assert [m.body for m in again] == [b"x"]
    assert eng.destinations["/queue/a"].subscriptions[0].unacked[again[0].headers["ack"]].message.deliveries == 2


def test_unacked_messages_return_in_order_on_disconnect() -> None:
    eng = engine()
    consumer = connected(eng)
    consumer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/a", "ack": "client"})
    producer = connected(eng)
    for n in range(3):
        producer.send("SEND", {"destination": "/queue/a"}, str(n))
    consumer.connection.connection_lost(0)  # abrupt close
    producer.send("SEND", {"destination": "/queue/a"}, b"3")
    again = connected(eng)
    got = messages(again.send("SUBSCRIBE", {"id": "1", "destination": "/queue/a"}))
    assert [m.body for m in got] == [b"0", b"1", b"2", b"3"]


def test_max_unacknowledged_is_flow_control() -> None:
    eng = engine(limits=Limits(max_unacknowledged=2))
    consumer = connected(eng)
    consumer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/a", "ack": "client-individual"})
    producer = connected(eng)
    for n in range(5):
        producer.send("SEND", {"destination": "/queue/a"}, str(n))
    got = messages(consumer.frames())
    assert [m.body for m in got] == [b"0", b"1"]
    more = messages(consumer.send("ACK", {"id": got[0].headers["ack"]}))
    assert [m.body for m in more] == [b"2"]


# -- transactions


def test_transaction_holds_sends_until_commit_and_drops_on_abort() -> None:
    eng = engine()
    consumer = connected(eng)
    consumer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/a"})
    producer = connected(eng)
    producer.send("BEGIN", {"transaction": "t1"})
    producer.send("SEND", {"destination": "/queue/a", "transaction": "t1"}, b"kept")
    assert messages(consumer.frames()) == []
    assert [f.command for f in producer.send("COMMIT", {"transaction": "t1", "receipt": "c"})] == ["RECEIPT"]
    assert [m.body for m in messages(consumer.frames())] == [b"kept"]
    producer.send("BEGIN", {"transaction": "t2"})
    producer.send("SEND", {"destination": "/queue/a", "transaction": "t2"}, b"dropped")
    producer.send("ABORT", {"transaction": "t2"})
    producer.send("BEGIN", {"transaction": "t3"})
    producer.send("SEND", {"destination": "/queue/a", "transaction": "t3"}, b"lost")
    producer.send("DISCONNECT")
    assert messages(consumer.frames()) == []


def test_transactional_ack_applies_on_commit() -> None:
    eng = engine()
    consumer = connected(eng)
    consumer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/a", "ack": "client-individual"})
    connected(eng).send("SEND", {"destination": "/queue/a"}, b"x")
    ack = messages(consumer.frames())[0].headers["ack"]
    consumer.send("BEGIN", {"transaction": "t"})
    consumer.send("ACK", {"id": ack, "transaction": "t"})
    assert consumer.connection.unacked
    consumer.send("COMMIT", {"transaction": "t"})
    assert not consumer.connection.unacked


@pytest.mark.parametrize("command", ["COMMIT", "ABORT"])
def test_unknown_transaction_is_an_error(command: str) -> None:
    reply = connected(engine()).send(command, {"transaction": "nope"})
    assert reply[0].command == "ERROR"


def test_duplicate_begin_is_an_error() -> None:
    peer = connected(engine())
    peer.send("BEGIN", {"transaction": "t"})
    assert peer.send("BEGIN", {"transaction": "t"})[0].command == "ERROR"


# -- receipts, errors, disconnect


def test_disconnect_receipt_then_close() -> None:
    peer = connected(engine())
    reply = peer.send("DISCONNECT", {"receipt": "bye"})
    assert [(f.command, f.headers.get("receipt-id")) for f in reply] == [("RECEIPT", "bye")]
    assert peer.connection.closed


def test_missing_header_error_names_it() -> None:
    peer = connected(engine())
    reply = peer.send("SUBSCRIBE", {"destination": "/queue/a"})
    assert reply[0].command == "ERROR"
    assert "id" in reply[0].body.decode()


@pytest.mark.parametrize(
    "data",
    [
        b"garbage\n\n\x00",
        b"SEND\nno colon here\n\n\x00",
        b"SEND\ndestination:/queue/a\nx:\\q\n\n\x00",
        b"\xff\xfe\n\n\x00",
    ],
)
def test_bad_bytes_end_in_error_and_close_without_touching_others(data: bytes) -> None:
    eng = engine()
    other = connected(eng)
    other.send("SUBSCRIBE", {"id": "1", "destination": "/queue/a"})
    bad = connected(eng)
    reply = [f for f in bad.raw(data) if isinstance(f, Frame)]
    assert reply[0].command == "ERROR"
    assert bad.connection.closed
    connected(eng).send("SEND", {"destination": "/queue/a"}, b"still fine")
    assert [m.body for m in messages(other.frames())] == [b"still fine"]
    assert not eng.internal_errors


def test_frame_larger_than_the_limit_is_refused() -> None:
    eng = engine(limits=Limits(max_frame_bytes=100))
    peer = connected(eng)
    reply = peer.send("SEND", {"destination": "/queue/a"}, b"x" * 200)
    assert reply[0].command == "ERROR"
    assert peer.connection.closed


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("content_length", [False, True])
@pytest.mark.parametrize("chunk", [0, 1, 7])
def test_max_frame_bytes_whatever_the_chunking(profile: str, content_length: bool, chunk: int) -> None:
    # the parser enforces the limit on a frame that arrives whole too (no check of its own in the broker)
    limit = 100
    eng = engine(profile, limits=Limits(max_frame_bytes=limit))
    consumer = connected(eng)
    consumer.send("SUBSCRIBE", {"destination": "/queue/a", "id": "0"})
    size = limit - len(Frame("SEND", {"destination": "/queue/a"}).encode(content_length=content_length))
    size -= content_length  # content-length:0 has one digit, the real one two
    fits = Frame("SEND", {"destination": "/queue/a"}, b"x" * size)
    assert len(fits.encode(content_length=content_length)) == limit
    for extra, ok in ((0, True), (1, False)):
        payload = Frame("SEND", {"destination": "/queue/a"}, b"x" * (size + extra)).encode(
            content_length=content_length
        )
        peer = connected(eng)
        pieces = [payload] if not chunk else [payload[i : i + chunk] for i in range(0, len(payload), chunk)]
        reply: list[Frame] = []
        for piece in pieces:
            reply += [f for f in peer.raw(piece) if isinstance(f, Frame)]
        if ok:
            assert reply == [] and not peer.connection.closing
            continue
        assert peer.connection.closed
        if PROFILES[profile].malformed_error:
            assert [f.command for f in reply] == ["ERROR"]
            assert f"max_frame_bytes={limit}" in reply[0].headers["message"] + reply[0].body.decode()
    assert [m.body for m in messages(consumer.frames())] == [fits.body]
    assert not eng.internal_errors


def test_max_connections() -> None:
    eng = engine(limits=Limits(max_connections=1))
    connected(eng)
    extra = Peer(eng)
    reply = extra.frames()
    assert reply[0].command == "ERROR"
    assert extra.connection.closed


def test_server_commands_from_a_client_are_refused() -> None:
    reply = connected(engine()).send("MESSAGE", {"destination": "/queue/a"})
    assert reply[0].command == "ERROR"


# -- heart-beats


def test_heartbeats_are_sent_and_a_silent_client_is_closed() -> None:
    eng = engine()
    peer = Peer(eng, now=0.0)
    reply = peer.send("CONNECT", {"accept-version": "1.2", "host": "h", "heart-beat": "1000,500"})
    assert reply[0].headers["heart-beat"] == "500,1000"
    connection = peer.connection
    assert connection.next_deadline() == pytest.approx(0.5)
    assert peer.tick(0.5) == [Heartbeat()]
    peer.now = 1.9
    peer.raw(b"\n")  # any data counts
    assert not connection.closing
    peer.tick(1.9 + 2.0)  # interval 1000 ms x grace 2.0
    assert not connection.closing
    peer.tick(1.9 + 2.01)
    assert connection.closed


def test_no_heartbeats_in_1_0_or_when_zero() -> None:
    peer = Peer(engine())
    peer.send("CONNECT", {"accept-version": "1.2", "host": "h", "heart-beat": "0,0"})
    assert peer.connection.next_deadline() is None


def test_malformed_heartbeat_header_is_fatal() -> None:
    peer = Peer(engine())
    reply = peer.send("CONNECT", {"accept-version": "1.2", "host": "h", "heart-beat": "soon"})
    assert reply[0].command == "ERROR"
    assert peer.connection.closed


def test_unsubscribe_by_destination_in_1_0() -> None:
    eng = engine()
    peer = connected(eng, "1.0")
    peer.send("SUBSCRIBE", {"destination": "/queue/a"})
    assert peer.send("UNSUBSCRIBE", {"destination": "/queue/a", "receipt": "r"})[0].command == "RECEIPT"
    assert not eng.destinations["/queue/a"].subscriptions


def test_transcript_is_bounded_by_frames_and_by_body_bytes() -> None:
    eng = engine(limits=Limits(max_transcript=5, max_transcript_bytes=1000))
    peer = connected(eng)
    for _ in range(10):
        peer.send("SEND", {"destination": "/queue/t"}, b"x")
    assert len(peer.connection.transcript) == 5
    for _ in range(3):
        peer.send("SEND", {"destination": "/queue/t"}, b"y" * 600)
    bodies = [item.body for _, _, item in peer.connection.transcript if isinstance(item, Frame)]
    assert bodies == [b"y" * 600]  # the newest frame is always kept, even over the byte budget


def test_transcript_keeps_only_the_latest_heartbeats() -> None:
    # an idle connection beats forever: its transcript must not grow with every beat
    eng = engine(limits=Limits(max_transcript_heartbeats=4, max_transcript=8))
    peer = Peer(eng, now=0.0)
    peer.connect("1.2", heart_beat="1000,1000")
    times = []
    for step in range(1, 41):
        peer.now = step * 0.5
        peer.raw(b"\n")
        peer.tick(peer.now)
        times.append(peer.now)
    assert not peer.connection.closing
    peer.send("SEND", {"destination": "/queue/t"}, b"x")
    transcript = list(peer.connection.transcript)
    beats = [(at, direction) for at, direction, item in transcript if isinstance(item, Heartbeat)]
    frames = [item.command for _, _, item in transcript if not isinstance(item, Heartbeat)]
    assert len(beats) == 4
    assert beats[-1][0] == times[-1]  # the newest are kept
    assert {"in", "out"} == {direction for _, direction in beats}
    assert frames == ["CONNECT", "CONNECTED", "SEND"]  # frames are not pushed out by beats
    assert len(transcript) <= 8
