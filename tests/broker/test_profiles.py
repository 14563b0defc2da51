"""Each named profile setting, shown by the difference it makes (engine level, no sockets).

The expected values are the measured ones from ../shared/reference/measured-brokers.md.
"""

from __future__ import annotations

import dataclasses

import pytest

from stomptest.broker import ERROR_KINDS, PROFILES, Limits, Profile, get_profile
from stomptest.broker.engine import Engine
from stomptest.broker.error_kinds import ERROR_TEXT_VARIANTS
from stomptest.protocol import ConfigurationError, Frame, spec

from .harness import Peer, connected, engine


def messages(frames: list[Frame]) -> list[Frame]:
    return [f for f in frames if f.command == "MESSAGE"]


def subscribe_and_send(
    eng: Engine, ack: str = "auto", body: bytes = b"x", version: str = "1.2", **send_headers: str
) -> tuple[Peer, Frame]:
    consumer = connected(eng, version)
    consumer.send("SUBSCRIBE", {"id": "s1", "destination": "/queue/p", "ack": ack})
    connected(eng, version).send("SEND", {"destination": "/queue/p", **send_headers}, body)
    [message] = messages(consumer.frames())
    return consumer, message


# -- building profiles


def test_profiles_are_named_and_complete() -> None:
    assert set(PROFILES) == {"strict", "activemq", "rabbitmq", "artemis"}
    for name, profile in PROFILES.items():
        assert profile.name == name
        assert set(ERROR_KINDS) <= set(profile.error_texts)
        for key in set(profile.error_texts) - set(ERROR_KINDS):  # a command's (and a header's) own text for a kind
            kind, _, command = key.partition(" ")
            command = command.partition(" ")[0]
            assert kind in ERROR_KINDS
            assert command in spec.CLIENT_COMMANDS or command in ERROR_TEXT_VARIANTS


def test_error_texts_for_an_unknown_kind_or_command_are_refused() -> None:
    for key in ("missing-header FOO", "no-such-kind SEND", "missing-header  SEND", "unknown-ack own-formats"):
        texts = {**PROFILES["strict"].error_texts, key: ("x", "")}
        with pytest.raises(ConfigurationError, match=key):
            dataclasses.replace(PROFILES["strict"], error_texts=texts)


def test_a_user_profile_is_a_replace_away() -> None:
    custom = dataclasses.replace(PROFILES["activemq"], nack="requeue", name="mine")
    consumer, message = subscribe_and_send(Engine(custom), ack="client-individual")
    again = messages(consumer.send("NACK", {"id": message.headers["ack"]}))
    assert again[0].body == b"x"


def test_inconsistent_profiles_and_unknown_names_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="unique per delivery"):
        dataclasses.replace(PROFILES["strict"], ack_id="message-id")
    with pytest.raises(ConfigurationError, match="unknown broker profile"):
        get_profile("qpid")
    with pytest.raises(ConfigurationError, match="max_headers"):
        Limits(max_headers=0)
    with pytest.raises(ConfigurationError, match="unknown limit"):
        Limits().replace(max_bananas=3)
    assert isinstance(get_profile("strict"), Profile)


# -- errors: which close, and what they say


def test_send_without_destination_closes_under_strict_and_artemis_1_2() -> None:
    # (Artemis closes in 1.2 after every ERROR: measured, below)
    for name, closes in (("strict", True), ("activemq", False), ("rabbitmq", False), ("artemis", True)):
        peer = connected(engine(name))
        reply = peer.send("SEND", {"receipt": "r"}, b"x")
        assert reply[0].command == "ERROR", name
        assert peer.connection.closed is closes, name


def test_artemis_closes_after_every_error_in_1_2_only() -> None:
    # Measured on Artemis 2.40.0 (A2): an unknown UNSUBSCRIBE id closes a 1.2 connection, not a 1.0/1.1 one
    for version, closes in (("1.0", False), ("1.1", False), ("1.2", True)):
        peer = connected(engine("artemis"), version)
        [error] = peer.send("UNSUBSCRIBE", {"id": "nope", "receipt": "r"})
        assert error.headers["message"] == "Cannot unsubscribe as no subscription exists for id: nope"
        assert error.headers["receipt-id"] == "r"
        assert peer.connection.closed is closes, version


def test_activemq_texts_and_receipt_id() -> None:
    peer = connected(engine("activemq"))
    [error] = peer.send("SEND", {"receipt": "r"}, b"x")
    assert error.headers["message"] == "SEND received without a Destination specified!"  # measured (issue 18)
    assert error.headers["receipt-id"] == "r"
    assert error.body.startswith(b"org.apache.activemq.transport.stomp.ProtocolException")


def test_unknown_command_closes_activemq_but_not_rabbitmq() -> None:
    amq = connected(engine("activemq"))
    [error] = [f for f in amq.raw(b"FOO\nreceipt:r\n\n\x00") if isinstance(f, Frame)]
    assert error.headers["message"] == "Unknown STOMP action: FOO"
    assert error.headers["receipt-id"] == "r"
    assert amq.connection.closed
    rabbit = connected(engine("rabbitmq"))
    items = rabbit.raw(b"FOO\nreceipt:r\n\n\x00SEND\ndestination:/queue/q\nreceipt:after\n\nx\x00")
    frames = [f for f in items if isinstance(f, Frame)]
    assert [f.command for f in frames] == ["ERROR", "RECEIPT"]  # the frame after the bad one still works
    assert frames[0].headers["message"] == "Bad command"
    assert frames[0].body == b'Could not interpret command "FOO"\n'
    assert frames[0].headers["version"] == "1.0,1.1,1.2"  # on every RabbitMQ ERROR
    assert "receipt-id" not in frames[0].headers


def test_version_mismatch_per_profile() -> None:
    rabbit = Peer(engine("rabbitmq"))
    [error] = rabbit.send("CONNECT", {"accept-version": "2.0"})
    assert error.headers["message"] == "Version mismatch"
    assert error.body == b"Supported versions are 1.0,1.1,1.2\n"
    assert not rabbit.connection.closing  # measured: stays open
    amq = Peer(engine("activemq"))
    [error] = amq.send("CONNECT", {"accept-version": "2.0"})
    assert "version" not in error.headers
    assert amq.connection.closed


# -- CONNECT


def test_host_handling() -> None:
    rabbit = Peer(engine("rabbitmq"))
    [error] = rabbit.send("CONNECT", {"accept-version": "1.2", "host": "localhost"})
    assert error.headers["message"] == "Bad CONNECT"
    assert error.body == b"Virtual host 'localhost' access denied"
    assert Peer(engine("rabbitmq")).send("CONNECT", {"accept-version": "1.2"})[0].command == "CONNECTED"
    for name in ("activemq", "artemis"):
        reply = Peer(engine(name)).send("CONNECT", {"accept-version": "1.2", "host": "anything"})
        assert reply[0].command == "CONNECTED"
    assert Peer(engine("strict")).send("CONNECT", {"accept-version": "1.2"})[0].command == "ERROR"


def test_rabbitmq_default_login_is_guest_and_refusal_names_it() -> None:
    eng = engine("rabbitmq", users={"guest": "guest"})
    assert Peer(eng).send("CONNECT", {"accept-version": "1.2"})[0].command == "CONNECTED"
    [error] = Peer(eng).send("CONNECT", {"accept-version": "1.2", "login": "guest", "passcode": "bad"})
    assert error.body == b"Access refused for user 'guest'\n"  # measured again (issue 18): with LF


def test_activemq_echoes_a_connect_receipt_in_connected() -> None:
    [reply] = Peer(engine("activemq")).send("CONNECT", {"accept-version": "1.2", "receipt": "c1"})
    assert reply.headers["receipt-id"] == "c1"
    [reply] = Peer(engine("strict")).send("CONNECT", {"accept-version": "1.2", "host": "h", "receipt": "c1"})
    assert "receipt-id" not in reply.headers


# -- heart-beats


def test_rabbitmq_rounds_heartbeats_to_whole_seconds_and_beats_twice_per_interval() -> None:
    peer = Peer(engine("rabbitmq"), now=0.0)
    [reply] = peer.send("CONNECT", {"accept-version": "1.2", "heart-beat": "1500,300"})
    assert reply.headers["heart-beat"] == "1000,1000"
    assert peer.connection.next_deadline() == pytest.approx(0.5)


@pytest.mark.parametrize(("name", "grace"), [("strict", 2.0), ("activemq", 3.0), ("rabbitmq", 3.0), ("artemis", 2.0)])
def test_silent_client_is_closed_after_interval_times_grace(name: str, grace: float) -> None:
    peer = Peer(engine(name), now=0.0)
    peer.send("CONNECT", {"accept-version": "1.2", "host": "/", "heart-beat": "1000,0"})
    peer.tick(grace * 1.0 - 0.01)
    assert not peer.connection.closing
    peer.tick(grace * 1.0 + 0.01)
    assert peer.connection.closed


def test_artemis_never_beats_faster_than_500_ms() -> None:
    peer = Peer(engine("artemis"), now=0.0)
    [reply] = peer.send("CONNECT", {"accept-version": "1.2", "heart-beat": "0,100"})
    assert reply.headers["heart-beat"] == "500,30000"  # 30000: no beats offered, asked for every 30 s


# -- destinations and SEND


def test_unknown_destination_names() -> None:
    # Measured: ActiveMQ 5.17.2 takes a name without a known prefix as a queue (RECEIPT, then delivered);
    # RabbitMQ refuses /plain/x with an ERROR, and takes a bare name as /queue/NAME (issue 18).
    [reply] = connected(engine("rabbitmq")).send("SEND", {"destination": "/plain/x"}, b"x")
    assert reply.command == "ERROR"
    for name in ("strict", "activemq", "rabbitmq"):
        [reply] = connected(engine(name)).send("SEND", {"destination": "plain", "receipt": "r"}, b"x")
        assert reply.command == "RECEIPT", name


def test_rabbitmq_destination_aliases() -> None:
    eng = engine("rabbitmq")
    consumer = connected(eng)
    consumer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/q"})
    connected(eng).send("SEND", {"destination": "/amq/queue/q"}, b"x")
    [message] = messages(consumer.frames())
    assert message.headers["destination"] == "/queue/q"


def test_client_message_id_on_send() -> None:
    [error] = connected(engine("rabbitmq")).send("SEND", {"destination": "/queue/q", "message-id": "mine"}, b"x")
    assert error.headers["message"] == "Invalid header"
    _, message = subscribe_and_send(engine("activemq"), **{"message-id": "mine", "redelivered": "true"})
    assert message.headers["message-id"] != "mine"
    assert "redelivered" not in message.headers


def test_rabbitmq_echoes_the_send_receipt_and_delivers_before_receipting() -> None:
    for name, order in (("rabbitmq", ["MESSAGE", "RECEIPT"]), ("activemq", ["RECEIPT", "MESSAGE"])):
        peer = connected(engine(name))
        peer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/own"})
        frames = peer.send("SEND", {"destination": "/queue/own", "receipt": "r7"}, b"x")
        assert [f.command for f in frames] == order, name
        message = messages(frames)[0]
        assert (message.headers.get("receipt") == "r7") is (name == "rabbitmq")


# -- MESSAGE headers and ids


def test_message_ids_and_ack_ids() -> None:
    _, rabbit = subscribe_and_send(engine("rabbitmq"), ack="client")
    assert rabbit.headers["message-id"].startswith("T_s1@@session-")
    assert rabbit.headers["ack"] == rabbit.headers["message-id"]
    _, amq = subscribe_and_send(engine("activemq"), ack="client")
    assert amq.headers["message-id"].startswith("ID:")
    assert amq.headers["ack"] != amq.headers["message-id"]
    _, artemis = subscribe_and_send(engine("artemis"), ack="client")
    consumer_id, _, number = artemis.headers["message-id"].partition(",")
    assert consumer_id.isdigit() and number.isdigit()
    assert artemis.headers["ack"] == artemis.headers["message-id"]


def redelivery(name: str) -> tuple[Frame, Frame]:
    eng = engine(name)
    consumer, first = subscribe_and_send(eng, ack="client")
    consumer.send("DISCONNECT")
    again = connected(eng)
    [second] = messages(again.send("SUBSCRIBE", {"id": "s1", "destination": "/queue/p", "ack": "client"}))
    return first, second


def test_redelivered_header_per_profile() -> None:
    first, second = redelivery("rabbitmq")
    assert (first.headers["redelivered"], second.headers["redelivered"]) == ("false", "true")
    assert first.headers["message-id"] != second.headers["message-id"]  # a new id per delivery
    first, second = redelivery("activemq")
    assert "redelivered" not in first.headers
    assert second.headers["redelivered"] == "true"
    assert first.headers["message-id"] == second.headers["message-id"]  # same id, new ack
    assert first.headers["ack"] != second.headers["ack"]
    first, second = redelivery("artemis")
    assert (first.headers["redelivered"], second.headers["redelivered"]) == ("false", "true")
    first, second = redelivery("strict")
    assert "redelivered" not in first.headers and "redelivered" not in second.headers


def test_jms_headers_and_persistent() -> None:
    _, amq = subscribe_and_send(engine("activemq"))
    assert amq.headers["priority"] == "4"
    assert amq.headers["expires"] == "0"
    assert amq.headers["timestamp"].isdigit()
    assert "persistent" not in amq.headers
    _, amq = subscribe_and_send(engine("activemq"), persistent="true", priority="7")
    assert amq.headers["persistent"] == "true"
    assert amq.headers["priority"] == "7"
    _, artemis = subscribe_and_send(engine("artemis"))
    assert artemis.headers["persistent"] == "false"
    _, rabbit = subscribe_and_send(engine("rabbitmq"))
    assert "priority" not in rabbit.headers


def test_expired_messages_are_not_delivered() -> None:
    eng = engine("activemq")
    producer = connected(eng)
    producer.send("SEND", {"destination": "/queue/e", "expires": "1"}, b"old")  # 1 ms after the epoch
    producer.send("SEND", {"destination": "/queue/e"}, b"fresh")
    consumer = connected(eng)
    got = messages(consumer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/e"}))
    assert [m.body for m in got] == [b"fresh"]


def test_content_length_on_message() -> None:
    _, rabbit = subscribe_and_send(engine("rabbitmq"))
    assert rabbit.headers["content-length"] == "1"
    _, amq = subscribe_and_send(engine("activemq"))
    assert "content-length" not in amq.headers
    _, amq = subscribe_and_send(engine("activemq"), **{"content-length": "1"})
    assert amq.headers["content-length"] == "1"


# -- SUBSCRIBE, flow control, ACK


def test_duplicate_subscription_id() -> None:
    rabbit = connected(engine("rabbitmq"))
    rabbit.send("SUBSCRIBE", {"id": "d", "destination": "/queue/a"})
    [error] = rabbit.send("SUBSCRIBE", {"id": "d", "destination": "/queue/b"})
    assert error.headers["message"] == "Duplicated subscription identifier"
    assert rabbit.connection.closed
    amq = connected(engine("activemq"))
    amq.send("SUBSCRIBE", {"id": "d", "destination": "/queue/a"})
    assert amq.send("SUBSCRIBE", {"id": "d", "destination": "/queue/b", "receipt": "r"})[0].command == "RECEIPT"


@pytest.mark.parametrize(
    ("name", "header", "value", "in_flight"),
    [
        ("activemq", "activemq.prefetchSize", "2", 2),
        ("rabbitmq", "prefetch-count", "3", 3),
        ("artemis", "consumer-window-size", "0", 1),  # bytes: 0 is one message at a time
        # 10-byte bodies count 231 bytes each (measured, issue 14): 3 fit before 463 bytes are reached
        ("artemis", "consumer-window-size", "463", 3),
        ("artemis", "consumer-window-size", "462", 2),
        ("activemq", "activemq.prefetchSize", "0", 0),  # measured (issue 14): nothing is pushed
        ("rabbitmq", "prefetch-count", "0", 6),  # measured (issue 14): no window
        ("rabbitmq", "prefetch-count", "-1", 0),  # measured (issue 14): nothing is pushed
        ("activemq", "activemq.prefetchSize", "abc", 6),  # measured (issue 14): ignored, the default (1000) holds
    ],
)
def test_prefetch_windows(name: str, header: str, value: str, in_flight: int) -> None:
    eng = engine(name)
    consumer = connected(eng)
    consumer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/w", "ack": "client-individual", header: value})
    producer = connected(eng)
    for n in range(6):
        producer.send("SEND", {"destination": "/queue/w"}, b"%010d" % n)
    got = messages(consumer.frames())
    assert len(got) == in_flight
    if 0 < in_flight < 6:
        more = messages(consumer.send("ACK", {"id": got[0].headers["ack"]}))
        assert len(more) == 1


def test_activemq_default_prefetch_applies_to_client_acks() -> None:
    assert PROFILES["activemq"].default_prefetch == 1000
    assert PROFILES["activemq"].default_topic_prefetch == 32767


def test_ack_naming_an_unknown_subscription_in_1_1() -> None:
    for name, accepted in (("activemq", False), ("rabbitmq", True)):
        consumer, message = subscribe_and_send(engine(name), ack="client", version="1.1")
        reply = consumer.send("ACK", {"message-id": message.headers["message-id"], "subscription": "other"})
        assert (reply == []) is accepted, name


# -- NACK and redelivery limits


def nacked(
    name: str, ack: str = "client-individual", *, persistent: bool = False, **nack_headers: str
) -> tuple[Engine, Peer, list[Frame]]:
    eng = engine(name)
    consumer = connected(eng)
    consumer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/n", "ack": ack})
    producer = connected(eng)
    for n in range(2):
        producer.send("SEND", {"destination": "/queue/n", **({"persistent": "true"} if persistent else {})}, str(n))
    got = messages(consumer.frames())
    after = messages(consumer.send("NACK", {"id": got[1].headers["ack"], **nack_headers}))
    return eng, consumer, after


def test_activemq_nack_sends_one_persistent_message_to_the_dlq() -> None:
    eng, consumer, after = nacked("activemq", ack="client", persistent=True)
    assert after == []
    [dead] = eng.destinations["/queue/ActiveMQ.DLQ"].messages
    assert dead.body == b"1"
    assert ("original-destination", "/queue/n") in dead.headers
    assert len(consumer.connection.unacked) == 1  # not cumulative even in client mode


def test_activemq_nack_drops_a_non_persistent_message() -> None:
    eng, consumer, after = nacked("activemq", ack="client")
    assert after == []
    assert "/queue/ActiveMQ.DLQ" not in eng.destinations or not eng.destinations["/queue/ActiveMQ.DLQ"].messages
    assert not eng.destinations["/queue/n"].messages
    assert len(consumer.connection.unacked) == 1  # the other one, still unacknowledged


def test_rabbitmq_nack_requeues_unless_requeue_false() -> None:
    _, _, after = nacked("rabbitmq")
    assert [m.body for m in after] == [b"1"]
    eng, _, after = nacked("rabbitmq", requeue="false")
    assert after == []
    assert not eng.destinations["/queue/n"].messages


def test_artemis_nack_discards() -> None:
    eng, _, after = nacked("artemis")
    assert after == []
    assert not eng.destinations["/queue/n"].messages
    assert "/queue/DLQ" not in eng.destinations


def test_artemis_dead_letters_after_ten_deliveries() -> None:
    eng = engine("artemis")
    connected(eng).send("SEND", {"destination": "/queue/poison"}, b"p")
    for _ in range(10):
        consumer = connected(eng)
        assert messages(consumer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/poison", "ack": "client"}))
        consumer.connection.connection_lost(0)
    assert [m.body for m in eng.destinations["/queue/DLQ"].messages] == [b"p"]
    assert not eng.destinations["/queue/poison"].messages


# -- transactions


def test_artemis_ignores_the_transaction_of_an_ack() -> None:
    consumer, message = subscribe_and_send(engine("artemis"), ack="client-individual")
    consumer.send("BEGIN", {"transaction": "t"})
    consumer.send("ACK", {"id": message.headers["ack"], "transaction": "t"})
    assert not consumer.connection.unacked
    consumer.send("ABORT", {"transaction": "t"})
    assert not consumer.connection.unacked


def test_rabbitmq_answers_transactional_send_receipts_at_commit() -> None:
    peer = connected(engine("rabbitmq"))
    peer.send("BEGIN", {"transaction": "t"})
    assert peer.send("SEND", {"destination": "/queue/t", "transaction": "t", "receipt": "s"}, b"x") == []
    reply = peer.send("COMMIT", {"transaction": "t", "receipt": "c"})
    assert [f.headers["receipt-id"] for f in reply] == ["c", "s"]  # measured (issue 18): the COMMIT's first


# -- escaping and repeated headers


def test_escapes_in_a_1_0_session() -> None:
    wire = b"SEND\ndestination:/queue/p\nx-v:a:b\\c\n\nx\x00"
    results = {}
    for name in ("strict", "activemq"):
        eng = engine(name)
        consumer = connected(eng, "1.0")
        consumer.send("SUBSCRIBE", {"destination": "/queue/p"})
        connected(eng, "1.0").raw(wire)
        results[name] = messages(consumer.frames())[0].headers["x-v"]
    assert results == {"strict": "a:b\\c", "activemq": "a:b:"}
    eng = engine("rabbitmq")
    consumer = connected(eng, "1.0")
    consumer.send("SUBSCRIBE", {"destination": "/queue/p"})
    connected(eng, "1.0").raw(wire)
    [message] = messages(consumer.frames())
    assert message.headers["x-v"] == "a\\cb\\c"  # measured: RabbitMQ reads and writes 1.2 escapes in 1.0


def test_rabbitmq_unescapes_connect() -> None:
    rabbit = Peer(engine("rabbitmq"))
    reply = rabbit.raw(b"CONNECT\naccept-version:1.2\nx-probe:a\\tb\n\n\x00")
    assert [f for f in reply if isinstance(f, Frame)] == []  # a bad escape: closed, as for any frame
    assert rabbit.connection.closed
    reply = Peer(engine("activemq")).raw(b"CONNECT\naccept-version:1.2\nx-probe:a\\tb\n\n\x00")
    assert [f.command for f in reply if isinstance(f, Frame)] == ["CONNECTED"]


def test_artemis_last_repeated_header_wins_before_1_2() -> None:
    for version, expected in (("1.1", "second"), ("1.2", "first")):
        eng = engine("artemis")
        consumer = connected(eng, version)
        consumer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/r"})
        connected(eng, version).send("SEND", [("destination", "/queue/r"), ("x", "first"), ("x", "second")], b"b")  # type: ignore[arg-type]
        assert messages(consumer.frames())[0].headers["x"] == expected


def test_header_count_limits_measured() -> None:
    headers = {f"h{n}": "v" for n in range(2000)}
    rabbit = connected(engine("rabbitmq"))
    assert rabbit.send("SEND", {"destination": "/queue/l", "receipt": "r", **headers}, b"x")[0].command == "RECEIPT"
    amq = connected(engine("activemq"))
    assert amq.send("SEND", {"destination": "/queue/l", **headers}, b"x")[0].command == "ERROR"
    assert amq.connection.closed


def test_rabbitmq_closes_on_malformed_frames_without_error() -> None:
    peer = connected(engine("rabbitmq"))
    assert peer.raw(b"SEND\ndestination:/queue/q\nx:a\\tb\n\nx\x00") == []
    assert peer.connection.closed


# -- temporary destinations


def test_activemq_temp_queue_is_private_to_its_connection_and_reachable_by_reply_to() -> None:
    eng = engine("activemq")
    requester = connected(eng)
    requester.send("SUBSCRIBE", {"id": "replies", "destination": "/temp-queue/r"})
    other = connected(eng)
    other.send("SUBSCRIBE", {"id": "mine", "destination": "/temp-queue/r"})  # a different queue
    service = connected(eng)
    service.send("SUBSCRIBE", {"id": "svc", "destination": "/queue/svc"})
    requester.send("SEND", {"destination": "/queue/svc", "reply-to": "/temp-queue/r"}, b"question")
    [request] = messages(service.frames())
    reply_to = request.headers["reply-to"]
    assert reply_to.startswith("/remote-temp-queue/")
    service.send("SEND", {"destination": reply_to}, b"answer")
    assert [m.body for m in messages(requester.frames())] == [b"answer"]
    assert messages(other.frames()) == []
    requester.send("DISCONNECT")
    assert reply_to not in eng.destinations  # gone with its connection


def test_rabbitmq_temp_queue_in_reply_to_becomes_a_reply_queue() -> None:
    eng = engine("rabbitmq")
    requester = connected(eng)
    service = connected(eng)
    service.send("SUBSCRIBE", {"id": "svc", "destination": "/queue/svc"})
    requester.send("SEND", {"destination": "/queue/svc", "reply-to": "/temp-queue/r"}, b"question")
    [request] = messages(service.frames())
    reply_to = request.headers["reply-to"]
    assert reply_to.startswith("/reply-queue/amq.gen-")
    service.send("SEND", {"destination": reply_to}, b"answer")
    [answer] = messages(requester.frames())
    assert (answer.body, answer.headers["subscription"]) == (b"answer", "/temp-queue/r")
    [error] = requester.send("SUBSCRIBE", {"id": "x", "destination": "/temp-queue/r"})
    assert error.command == "ERROR"  # only usable in reply-to


def test_strict_temp_queue_is_an_ordinary_name() -> None:
    eng = engine("strict")
    first, second = connected(eng), connected(eng)
    first.send("SUBSCRIBE", {"id": "1", "destination": "/temp-queue/t"})
    second.send("SEND", {"destination": "/temp-queue/t"}, b"shared")
    assert [m.body for m in messages(first.frames())] == [b"shared"]


def test_activemq_keeps_undefined_escapes_others_refuse_them() -> None:
    wire = b"SEND\ndestination:/queue/u\nx-bad:a\\tb\nreceipt:r\n\nx\x00SEND\ndestination:/queue/u\nreceipt:r2\n\ny\x00"
    eng = engine("activemq")
    consumer = connected(eng)
    consumer.send("SUBSCRIBE", {"id": "1", "destination": "/queue/u"})
    producer = connected(eng)
    replies = [f for f in producer.raw(wire) if isinstance(f, Frame)]
    assert [(f.command, f.headers.get("receipt-id")) for f in replies] == [("RECEIPT", "r"), ("RECEIPT", "r2")]
    got = messages(consumer.frames())
    assert [m.body for m in got] == [b"x", b"y"]
    assert got[0].headers["x-bad"] == "a\\tb"
    strict = connected(engine("strict"))
    assert [f.command for f in strict.raw(wire) if isinstance(f, Frame)] == ["ERROR"]


@pytest.mark.parametrize(
    ("name", "timeout"), [("rabbitmq", 10.0), ("activemq", 30.0), ("artemis", 10.0), ("strict", 30.0)]
)
def test_a_connection_that_never_connects_is_closed(name: str, timeout: float) -> None:
    peer = Peer(engine(name), now=0.0)
    peer.raw(b"CONNECT\naccept-")
    assert peer.connection.next_deadline() == timeout
    peer.tick(timeout - 0.01)
    assert not peer.connection.closing
    peer.tick(timeout)
    assert peer.connection.closed
    assert peer.read() == []  # closed without an ERROR
