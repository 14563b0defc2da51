"""STOMP over WebSocket, the same steps against the fake broker in each profile and the real endpoints.

Every expectation comes from the target's profile (`facts.websocket`), never from which broker
it is: RabbitMQ's web-stomp (127.0.0.1:15674/ws) and Artemis' acceptor (127.0.0.1:61615) must
agree with the `rabbitmq` and `artemis` profiles. After every piece of bad input another
WebSocket client and a TCP client of the same broker must still work.
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket

import pytest

from tests.scenarios.conftest import WSTarget
from tests.wsclient import CONNECT, WSClient, raw_http


def _settings(target: WSTarget):  # type: ignore[no-untyped-def]
    return target.facts.websocket


def _connected(target: WSTarget, **options: object) -> WSClient:
    client = WSClient(target.port, **options)  # type: ignore[arg-type]
    assert client.accepted is not None, f"upgrade refused with {client.rejected}"
    assert client.connect().startswith(b"CONNECTED")
    return client


def _still_serving(target: WSTarget) -> None:
    """Another WebSocket client gets its RECEIPT, and on the fake broker's port a TCP client too."""
    client = _connected(target)
    client.text(b"SEND\ndestination:" + target.queue().encode() + b"\nreceipt:alive\n\nx\x00")
    assert client.wait_for(b"RECEIPT") is not None
    client.close()
    if target.broker is not None:
        with socket.create_connection(("127.0.0.1", target.port), timeout=5) as sock:
            sock.sendall(CONNECT)
            assert sock.recv(4096).startswith(b"CONNECTED")


UPGRADE_HEAD = (
    b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
)


def _payload(target: WSTarget, frame: bytes) -> bytes:
    """`frame` (up to its NUL) as the profile puts it in a message."""
    return frame + b"\n" if _settings(target).frame_eol else frame


@pytest.mark.parametrize(
    "offered",
    [(), ("foo",), ("v10.stomp",), ("v11.stomp",), ("v12.stomp", "v11.stomp", "v10.stomp"), ("v10.stomp", "v12.stomp")],
    ids=["none", "unknown", "v10", "v11", "all", "v10-then-v12"],
)
def test_subprotocol_answered(ws_target: WSTarget, offered: tuple[str, ...]) -> None:
    settings = _settings(ws_target)
    known = [name for name in offered if name in settings.subprotocols]
    if not known:
        expected = None
    elif settings.subprotocol_choice == "first-offered":
        expected = known[0]
    else:
        expected = min(known, key=settings.subprotocols.index)
    if expected is None and settings.unoffered_subprotocol is not None:  # ActiveMQ: one the client did not offer
        offer = "".join(f"Sec-WebSocket-Protocol: {name}\r\n" for name in offered).encode()
        with socket.create_connection(("127.0.0.1", ws_target.port), timeout=5) as sock:
            sock.sendall(UPGRADE_HEAD + offer + b"\r\n")
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 101"), answer
        assert f"sec-websocket-protocol: {settings.unoffered_subprotocol}\r\n".encode() in answer.lower(), answer
        return
    client = WSClient(ws_target.port, subprotocols=offered)
    assert client.accepted is not None
    assert client.accepted.subprotocol == expected
    assert client.connect().startswith(b"CONNECTED")  # the subprotocol does not bound the STOMP version
    client.close()


def test_each_frame_its_own_message_of_the_profiles_type(ws_target: WSTarget) -> None:
    client = _connected(ws_target)
    queue = ws_target.queue().encode()
    client.text(b"SUBSCRIBE\ndestination:" + queue + b"\nid:0\nreceipt:sub\n\n\x00")
    receipt = client.wait_for(b"RECEIPT")
    assert receipt is not None and receipt.data == _payload(ws_target, b"RECEIPT\nreceipt-id:sub\n\n\x00")
    assert receipt.binary == (_settings(ws_target).message_type == "binary")
    client.text(b"SEND\ndestination:" + queue + b"\n\none\x00")
    client.text(b"SEND\ndestination:" + queue + b"\n\ntwo\x00")
    first = client.wait_for(b"MESSAGE")
    second = client.wait_for(b"MESSAGE")
    assert first is not None and second is not None
    for message, body in ((first, b"one"), (second, b"two")):
        assert message.data.count(b"\x00") == 1
        assert message.data.endswith(_payload(ws_target, body + b"\x00"))
    client.close()


def test_frames_joined_and_split_across_messages(ws_target: WSTarget) -> None:
    stream = _settings(ws_target).input == "stream"
    client = _connected(ws_target)
    queue = ws_target.queue().encode()
    first = b"SEND\ndestination:" + queue + b"\nreceipt:a\n\nx\x00"
    client.text(first + b"SEND\ndestination:" + queue + b"\nreceipt:b\n\ny\x00")
    assert client.wait_for(b"RECEIPT\nreceipt-id:a") is not None
    assert (client.wait_for(b"RECEIPT\nreceipt-id:b", timeout=1.0) is not None) == stream
    client.binary(b"SEND\ndestination:" + queue + b"\nreceipt:c\n\nbinary\x00")
    assert (client.wait_for(b"RECEIPT\nreceipt-id:c", timeout=1.0) is not None) == stream
    client.text(b"SEND\ndestination:" + queue + b"\nreceipt:d\n\nfrag", final=False)
    client.text(b"mented\x00", final=True)  # one message in two WebSocket frames: every broker joins them
    assert client.wait_for(b"RECEIPT\nreceipt-id:d") is not None
    if stream:
        client.text(b"SEND\ndestination:" + queue + b"\nreceipt:e\n\nhal")
        client.text(b"ves\x00")
        assert client.wait_for(b"RECEIPT\nreceipt-id:e") is not None
    client.close()


def test_body_that_is_not_utf8(ws_target: WSTarget) -> None:
    message_type = _settings(ws_target).message_type
    client = _connected(ws_target)
    queue = ws_target.queue().encode()
    client.text(b"SUBSCRIBE\ndestination:" + queue + b"\nid:0\nreceipt:sub\n\n\x00")
    assert client.wait_for(b"RECEIPT") is not None
    body = b"\xff\x00\xfe\x01"
    send = b"SEND\ndestination:" + queue + b"\ncontent-length:4\n\n" + body + b"\x00"
    if _settings(ws_target).input == "stream":
        client.binary(send)
    else:  # the broker reads text messages only: the body must be text to get there
        body = "é€".encode()
        client.text(b"SEND\ndestination:" + queue + b"\n\n" + body + b"\x00")
    if message_type == "text" and body != "é€".encode():
        # a text message that is not UTF-8: a conforming client (wsproto here) fails the connection, 1007
        client.pump(lambda: client.close_code is not None, 5.0)
        assert client.close_code == 1007
        return
    message = client.wait_for(b"MESSAGE")
    assert message is not None
    assert message.binary == (message_type == "binary" or (message_type == "text-or-binary" and b"\xff" in body))
    assert _payload(ws_target, body + b"\x00") in message.data
    client.close()


def test_heartbeats_are_messages_of_their_own(ws_target: WSTarget) -> None:
    client = WSClient(ws_target.port)
    client.text(b"CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:guest\nheart-beat:0,500\n\n\x00")
    assert client.wait_for(b"CONNECTED") is not None
    client.pump(lambda: len(client.messages) >= 2, 5.0)
    assert len(client.messages) >= 2
    assert all(message.data == b"\n" for message in client.messages)
    client.close()


@pytest.mark.parametrize("path", ["/ws", "/stomp", "/", "/other"])
def test_paths(ws_target: WSTarget, path: str) -> None:
    settings = _settings(ws_target)
    client = WSClient(ws_target.port, path=path)
    if settings.paths is None or path in settings.paths:
        assert client.accepted is not None
        assert client.connect().startswith(b"CONNECTED")
    else:
        assert client.rejected == settings.wrong_path_status
    client.close()
    _still_serving(ws_target)


def test_permessage_deflate(ws_target: WSTarget) -> None:
    client = WSClient(ws_target.port, deflate=True)
    assert client.accepted is not None
    assert bool(client.accepted.extensions) == _settings(ws_target).deflate
    assert client.connect().startswith(b"CONNECTED")
    client.close()


_KEY = base64.b64encode(os.urandom(16))


@pytest.mark.parametrize(
    ("case", "request_bytes"),
    [
        ("not-upgrade", b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
        (
            "missing-key",
            b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Version: 13\r\n\r\n",
        ),
        (
            "version-8",
            b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
        ),
        (
            "version-12",
            b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 12\r\n\r\n",
        ),
    ],
)
def test_bad_handshake(ws_target: WSTarget, case: str, request_bytes: bytes) -> None:
    settings = _settings(ws_target)
    status, closed = raw_http(ws_target.port, request_bytes, timeout=1.0, status_only=True)  # closed: if no status
    if case == "not-upgrade":
        assert status == settings.not_upgrade_status
    elif case.startswith("version-"):
        version = case.removeprefix("version-")
        assert status == (101 if version in settings.versions else settings.wrong_version_status)
    else:
        assert status == settings.bad_handshake_status
        if status is None:
            assert closed
    _still_serving(ws_target)


def test_invalid_utf8_in_a_text_message_closes_1007(ws_target: WSTarget) -> None:
    """Closed with 1007, or (Artemis: `utf8_checked=False`) taken as the bytes they are."""
    client = _connected(ws_target)
    payload = b"SEND\ndestination:" + ws_target.queue().encode() + b"\nreceipt:r-utf8\n\n\xff\xfe\x00"
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    client.sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)  # by hand: wsproto would refuse
    if not _settings(ws_target).utf8_checked:
        assert client.wait_for(b"RECEIPT") is not None and client.close_code is None
    else:
        client.pump(lambda: client.close_code is not None, 3.0)
        assert client.close_code == 1007
    client.close()
    _still_serving(ws_target)


def test_message_over_the_limit(ws_target: WSTarget) -> None:
    settings = _settings(ws_target)
    limit = settings.max_bytes
    head = b"SEND\ndestination:" + ws_target.queue().encode() + b"\nreceipt:big\n\n"
    size = limit + 1 if limit is not None else 1024 * 1024
    client = _connected(ws_target)
    with contextlib.suppress(OSError):  # reset while sending: the broker gave up on it
        client.text(head + b"x" * (size - len(head) - 1) + b"\x00")
    if limit is None:
        assert client.wait_for(b"RECEIPT") is not None
    else:
        client.pump(lambda: client.ended or client.close_code is not None, 5.0)
        expected = settings.close_codes.get("too-big")
        assert client.close_code == (1006 if expected is None else expected)
    client.close()
    _still_serving(ws_target)


def test_disconnect_closes_the_websocket(ws_target: WSTarget) -> None:
    settings = _settings(ws_target)
    client = _connected(ws_target)
    send = b"SEND\ndestination:" + ws_target.queue().encode() + b"\nreceipt:s\n\nx\x00"
    disconnect = b"DISCONNECT\nreceipt:d\n\n\x00"
    receipts = 0
    if settings.input == "stream":
        client.text(send + disconnect)  # one read: RabbitMQ drops both RECEIPTs
    else:  # one frame per message
        client.text(send)
        receipts += client.wait_for(b"RECEIPT") is not None
        client.text(disconnect)
    client.pump(lambda: client.ended, 5.0)
    expected = settings.close_codes.get("disconnect")
    assert client.close_code == (1006 if expected is None else expected)
    receipts += sum(message.data.startswith(b"RECEIPT") for message in client.messages)
    assert receipts == (0 if settings.disconnect_drops_output else 2)
    client.close()


def test_framing_error_closes_with_the_profiles_code(ws_target: WSTarget) -> None:
    client = _connected(ws_target)
    if ws_target.facts.missing_nul == "artemis":  # A20: Artemis ends the frame where content-length says
        client.text(b"SEND\ndestination:" + ws_target.queue().encode() + b"\ncontent-length:1\nreceipt:r1\n\nabc\x00")
        assert client.wait_for(b"RECEIPT") is not None and not client.ended
        client.close()
        _still_serving(ws_target)
        return
    if ws_target.facts.header_without_colon == "ignore":  # ActiveMQ skips such a line: not malformed
        client.text(b"SEND\ndestination:/queue/x\ncontent-length:1\n\nabc\x00")  # no NUL where content-length says
    else:
        client.text(b"SEND\ndestination /queue/x\n\nabc\x00")  # a header line without a colon
    client.pump(lambda: client.ended, 5.0)
    expected = _settings(ws_target).close_codes.get("malformed")
    assert client.close_code == (1006 if expected is None else expected)
    client.close()
    _still_serving(ws_target)
