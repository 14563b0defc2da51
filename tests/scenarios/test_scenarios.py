"""One scenario suite for every target (see conftest.py): the fake broker in each profile and the real brokers.

"Nothing else arrived" is never checked by waiting: a scenario sends a marker after
the messages in question and reads up to it, so what came before the marker is all
the broker delivered.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from stomptest.client import AsyncClient, Client, ClientSubscription
from stomptest.protocol import BrokerError, Message

from . import expect
from .conftest import Target

END = b"-- end --"


def upto_marker(client: Client, destination: str, subscription: ClientSubscription, ack: bool = False) -> list[bytes]:
    """Send the marker to `destination` and return the bodies received on `subscription` before it."""
    client.send(destination, END)
    bodies: list[bytes] = []
    while True:
        message = subscription.receive(timeout=10)
        assert message is not None, f"the marker never arrived; got {bodies} before giving up"
        if ack and message.needs_ack:
            client.ack(message)
        if message.body == END:
            return bodies
        bodies.append(message.body)


def must_receive(subscription: ClientSubscription) -> Message:
    message = subscription.receive(timeout=10)
    assert message is not None, f"nothing arrived on {subscription.destination}"
    return message


# --- connecting ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_connect_negotiates_each_version(target: Target, version: str) -> None:
    if version not in expect.versions(target.facts):
        pytest.skip(f"{target.name} does not speak STOMP {version}")
    client = target.client(version=version)
    assert client.version == version
    assert client.connected is not None
    server = client.connected.info.server or ""
    if expect.server_header(target.facts, version):
        assert server.startswith(expect.server_name(target.facts))
    else:
        assert server == ""


@pytest.mark.parametrize("version", ["1.0", "1.2"])
def test_what_follows_the_nul_of_each_frame(target: Target, version: str) -> None:
    """Raw bytes: ActiveMQ, RabbitMQ and Artemis write a LF after every frame's NUL (a 1.1+ client reads a beat)."""
    if version not in expect.versions(target.facts):
        pytest.skip(f"{target.name} does not speak STOMP {version}")
    port = int(target.url.rsplit(":", 1)[1])
    queue = target.queue()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            f"CONNECT\naccept-version:{version}\nhost:/\nlogin:guest\npasscode:guest\n\n\x00"
            f"SUBSCRIBE\nid:1\ndestination:{queue}\nreceipt:sub\n\n\x00"
            f"SEND\ndestination:{queue}\nreceipt:sent\n\nhi\x00".encode()
        )
        data = b""
        while data.count(b"\x00") < 4:  # CONNECTED, two RECEIPTs and the MESSAGE
            chunk = sock.recv(65536)
            assert chunk, f"the broker closed the connection after {data!r}"
            data += chunk
        if expect.frame_eol(target.facts) and data.endswith(b"\x00"):
            data += sock.recv(1)  # the LF may come in a segment of its own
        sock.sendall(b"DISCONNECT\n\n\x00")
    follower = b"\n" if expect.frame_eol(target.facts) else b""
    frames = data.split(b"\x00")
    assert frames[0].startswith(b"CONNECTED\n") and frames[-1] == follower, frames
    for frame in frames[1:-1]:
        assert frame.startswith(follower) and frame[len(follower) :].startswith((b"RECEIPT\n", b"MESSAGE\n")), frames


def test_offering_several_versions_picks_the_highest(target: Target) -> None:
    client = target.client(version=["1.0", "1.1"])
    assert client.version == "1.1"


def test_wrong_passcode(target: Target) -> None:
    client = Client(target.url, host="/", login="guest", passcode="not-the-passcode")
    if target.checks_passcode:
        with pytest.raises(BrokerError):
            client.connect()
    else:
        client.connect()
        client.disconnect()


# --- sending and receiving -------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_send_and_receive_on_a_queue(target: Target, version: str) -> None:
    client = target.client(version=version)
    queue = target.queue()
    subscription = client.subscribe(queue, receipt=True)
    for index in range(3):
        client.send(queue, f"body {index}", headers={"x-index": str(index)})
    got = [must_receive(subscription) for _ in range(3)]
    assert [m.body for m in got] == [b"body 0", b"body 1", b"body 2"]
    assert [m.frame.headers["x-index"] for m in got] == ["0", "1", "2"]
    assert all(m.destination == queue for m in got)


def test_queue_keeps_messages_until_someone_subscribes(target: Target) -> None:
    queue = target.queue()
    producer = target.client()
    producer.send(queue, b"waiting", receipt=True)
    consumer = target.client()
    subscription = consumer.subscribe(queue)
    assert must_receive(subscription).body == b"waiting"


def test_binary_body_with_nul_bytes(target: Target) -> None:
    client = target.client()
    queue = target.queue()
    subscription = client.subscribe(queue, receipt=True)
    body = bytes(range(256)) * 4
    client.send(queue, body, receipt=True)
    assert must_receive(subscription).body == body


def test_topic_fans_out_and_keeps_nothing_for_absent_subscribers(target: Target) -> None:
    topic = target.topic()
    publisher = target.client()
    publisher.send(topic, b"nobody listens", receipt=True)
    subscribers = [target.client() for _ in range(3)]
    subscriptions = [subscriber.subscribe(topic, receipt=True) for subscriber in subscribers]
    publisher.send(topic, b"everyone", receipt=True)
    copies = [must_receive(s) for s in subscriptions]
    assert [copy.body for copy in copies] == [b"everyone"] * 3
    # every copy is a first delivery: a broker that sends the header says false or leaves it out
    assert [copy.frame.headers.get("redelivered", "false") for copy in copies] == ["false"] * 3


# --- acknowledgement -------------------------------------------------------------------------------------------


def _three_delivered(target: Target, ack: str, version: str) -> tuple[Client, str, list[Message]]:
    client = target.client(version=version)
    queue = target.queue()
    subscription = client.subscribe(queue, ack=ack, receipt=True)
    for index in range(3):
        client.send(queue, f"m{index}")
    return client, queue, [must_receive(subscription) for _ in range(3)]


def _redelivered(target: Target, queue: str, version: str) -> list[bytes]:
    client = target.client(version=version)
    subscription = client.subscribe(queue, ack="client-individual" if version != "1.0" else "client", receipt=True)
    return upto_marker(client, queue, subscription, ack=True)


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_ack_auto_needs_nothing_and_nothing_comes_back(target: Target, version: str) -> None:
    client, queue, messages = _three_delivered(target, "auto", version)
    assert not any(m.needs_ack for m in messages)
    client.disconnect()
    assert _redelivered(target, queue, version) == []


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_ack_client_is_cumulative(target: Target, version: str) -> None:
    client, queue, messages = _three_delivered(target, "client", version)
    client.ack(messages[1], receipt=True)  # also acknowledges m0
    assert client.unacknowledged() == (messages[2],)
    client.disconnect()
    assert _redelivered(target, queue, version) == [b"m2"]


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_ack_client_individual_acknowledges_one(target: Target, version: str) -> None:
    client, queue, messages = _three_delivered(target, "client-individual", version)
    client.ack(messages[1], receipt=True)
    client.disconnect()
    assert _redelivered(target, queue, version) == [b"m0", b"m2"]


@pytest.mark.parametrize("persistent", [True, False], ids=["persistent", "non-persistent"])
@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_nack(target: Target, version: str, persistent: bool) -> None:
    with target.alone_on(target.facts.dead_letter_queue):  # a real broker's DLQ is shared by the workers
        _nack(target, version, persistent)


def _nack(target: Target, version: str, persistent: bool) -> None:
    client = target.client(version=version)
    queue = target.queue()
    refused = f"refused on {queue}".encode()  # the dead-letter queue is shared with other runs: ours is this one
    subscription = client.subscribe(queue, ack="client-individual", receipt=True)
    client.send(queue, refused, headers={"persistent": "true"} if persistent else None)
    client.nack(must_receive(subscription), receipt=True)
    outcome = expect.nack_outcome(target.facts, persistent=persistent)
    if outcome == "requeue":
        again = must_receive(subscription)
        assert again.body == refused
        client.ack(again, receipt=True)
        assert upto_marker(client, queue, subscription, ack=True) == []
        return
    assert upto_marker(client, queue, subscription, ack=True) == []  # not delivered again
    dead = client.subscribe(target.facts.dead_letter_queue, ack="client-individual", receipt=True)
    dead_letters = upto_marker(client, target.facts.dead_letter_queue, dead, ack=True)
    assert (refused in dead_letters) == (outcome == "dead-letter"), f"{outcome}, yet the dead letters: {dead_letters}"


# --- transactions ----------------------------------------------------------------------------------------------


def test_transaction_holds_sends_until_commit_and_abort_drops_them(target: Target) -> None:
    client = target.client()
    queue = target.queue()
    subscription = client.subscribe(queue, receipt=True)
    tx = client.begin()
    client.send(queue, b"committed", transaction=tx)
    assert upto_marker(client, queue, subscription) == []  # nothing before COMMIT
    client.commit(tx, receipt=True)
    assert must_receive(subscription).body == b"committed"
    with pytest.raises(ZeroDivisionError), client.transaction() as tx:
        client.send(queue, b"aborted", transaction=tx)
        _ = 1 / 0
    assert upto_marker(client, queue, subscription) == []


@pytest.mark.parametrize("outcome", ["commit", "abort"])
def test_transaction_with_ack(target: Target, outcome: str) -> None:
    client = target.client()
    queue = target.queue()
    subscription = client.subscribe(queue, ack="client-individual", receipt=True)
    client.send(queue, b"acked in a transaction")
    message = must_receive(subscription)
    tx = client.begin()
    client.ack(message, transaction=tx)
    if outcome == "commit":
        client.commit(tx, receipt=True)
    else:
        client.abort(tx, receipt=True)
    client.disconnect()
    comes_back = outcome == "abort" and expect.abort_undoes_ack(target.facts)
    assert _redelivered(target, queue, "1.2") == ([b"acked in a transaction"] if comes_back else [])


def test_send_receipt_inside_a_transaction(target: Target) -> None:
    if expect.send_receipt_waits_for_commit(target.facts):
        pytest.skip(f"{target.name} sends the RECEIPT of a transacted SEND only at COMMIT: send() would wait")
    client = target.client()
    queue = target.queue()
    with client.transaction() as tx:
        client.send(queue, b"x", transaction=tx, receipt=True)
    subscription = client.subscribe(queue)
    assert must_receive(subscription).body == b"x"


# --- receipts, errors, heart-beats, disconnecting --------------------------------------------------------------


def test_receipts_for_every_client_frame(target: Target) -> None:
    client = target.client()
    queue = target.queue()
    subscription = client.subscribe(queue, ack="client", receipt=True)
    client.send(queue, b"r", receipt=True)
    message = must_receive(subscription)
    client.ack(message, receipt=True)
    tx = client.begin(receipt=True)
    client.abort(tx, receipt=True)
    subscription.unsubscribe(receipt=True)
    assert client.session.receipts == {}
    client.disconnect(receipt=True)
    assert client.status == "closed"


def test_error_for_an_unknown_kind_of_destination(target: Target) -> None:
    client = target.client()
    name = f"/stomptest-unknown-kind/{target.queue()[-12:]}"
    if target.facts.unknown_destinations == "topic":  # Artemis: a multicast address, dropped with nobody subscribed
        client.send(name, b"nobody listening", receipt=True)
        subscription = client.subscribe(name, receipt=True)
        client.send(name, b"to the subscriber", receipt=True)
        assert must_receive(subscription).body == b"to the subscriber"  # not the first one: it was not kept
        return
    if not expect.refuses_unknown_destinations(target.facts):
        client.send(name, b"taken as a queue", receipt=True)
        assert must_receive(client.subscribe(name)).body == b"taken as a queue"
        return
    with pytest.raises(BrokerError) as caught:
        client.send(name, b"refused", receipt=True)
    assert caught.value.frame.command == "ERROR"
    if not expect.closes_after(target.facts, "bad-destination"):
        client.send(target.queue(), b"still connected", receipt=True)


def test_heartbeats_both_ways(target: Target) -> None:
    interval = expect.heartbeat_to_ask(target.facts)
    client = target.client(heartbeat=(interval, interval), heartbeat_grace=4.0)  # tolerate a late beat
    assert client.connected is not None
    assert client.connected.heartbeat == expect.negotiated_heartbeat(target.facts, (interval, interval))
    queue = target.queue()
    subscription = client.subscribe(queue, receipt=True)
    received = client.heartbeats_received
    sent = client.heartbeats_sent
    # + 2: the RECEIPT's own trailing LF (ActiveMQ, RabbitMQ) may be counted after this point; a beat is the other
    while client.heartbeats_received < received + 2 or client.heartbeats_sent < sent + 1:
        assert subscription.receive(timeout=interval / 1000) is None
    client.send(queue, b"still alive", receipt=True)  # neither side timed the other out
    assert must_receive(subscription).body == b"still alive"
    assert client.reconnects == 0


def test_disconnect_waits_until_everything_sent_was_processed(target: Target) -> None:
    queue = target.queue()
    client = target.client()
    for index in range(20):
        client.send(queue, f"{index}")
    client.disconnect()  # with a receipt: every SEND before it was processed
    assert client.status == "closed"
    if target.broker is not None:
        target.broker.wait_for_connections(0, exactly=True)
    consumer = target.client()
    subscription = consumer.subscribe(queue)
    assert [must_receive(subscription).body for _ in range(20)] == [str(i).encode() for i in range(20)]


# --- the asyncio client, same brokers ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_async_client_sends_receives_acknowledges_and_commits(target: Target, version: str) -> None:
    queue = target.queue()

    async def main() -> list[bytes]:
        async with AsyncClient(target.url, version=version, **target.options) as client:
            subscription = await client.subscribe(queue, ack="client-individual", receipt=True)
            async with client.transaction() as tx:
                await client.send(queue, b"first", transaction=tx)
            await client.send(queue, b"second", receipt=True)
            got = []
            async for message in subscription:
                got.append(message.body)
                await client.ack(message, receipt=True)
                if len(got) == 2:
                    break
            return got

    assert asyncio.run(main()) == [b"first", b"second"]


def test_nack_with_requeue_false(target: Target) -> None:
    client = target.client()
    queue = target.queue()
    subscription = client.subscribe(queue, ack="client-individual", receipt=True)
    client.send(queue, b"not again")
    client.nack(must_receive(subscription), headers={"requeue": "false"}, receipt=True)
    expected = [b"not again"] if expect.nack_outcome_without_requeue(target.facts) == "requeue" else []
    assert upto_marker(client, queue, subscription, ack=True) == expected
