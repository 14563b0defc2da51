"""How each broker serves STOMP over WebSocket: one named setting per behaviour, measured.

A `Profile` carries one `WebSocketSettings` as its `websocket` field, so a user changes one
setting with ``dataclasses.replace(profile, websocket=dataclasses.replace(profile.websocket,
paths=("/ws",)))``. RabbitMQ 3.10.8 (web-stomp on 127.0.0.1:15674) and Apache Artemis 2.40.0
(its STOMP acceptor, which also speaks WebSocket) were measured here with a raw wsproto client
on 2026-12-06, and ActiveMQ Classic 5.18.3's WebSocket transport the same day (Maven Central's
distribution, started by scripts/real-brokers.sh beside Debian's 5.17, which lacks the transport;
first read from the source of apache/activemq main, activemq-http transport/ws, which the
measurements confirmed but for the status of a wrong WebSocket version).
docs/broker.md has the table.

Every profile sends one STOMP frame per WebSocket message and a heart-beat as a message of its
own (all three brokers do; so does `strict`), so that is no setting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from stomptest.protocol.websocket import SUBPROTOCOLS, MessageType

# Why the broker closes a WebSocket, as keys of `WebSocketSettings.close_codes`.
CloseKind = Literal[
    "too-big",  # a message (or WebSocket frame) over max_bytes
    "malformed",  # the STOMP connection closed on bytes that are not a frame
    "disconnect",  # the client sent DISCONNECT
    "closed",  # the STOMP connection closed for any other reason (a fatal ERROR, a timeout)
]


def _codes(**codes: int | None) -> Mapping[str, int | None]:
    return MappingProxyType(dict(codes))


# RFC 6455: 1009 message too big, 1007 data inconsistent with the message's type, 1000 normal.
STRICT_CLOSE_CODES = _codes(**{"too-big": 1009, "malformed": 1007, "disconnect": 1000, "closed": 1000})


@dataclass(frozen=True)
class WebSocketSettings:
    """Where a broker's WebSocket endpoint differs from the next one: handshake, messages, limits, closes."""

    # -- the opening handshake
    paths: tuple[str, ...] | None = ("/ws", "/stomp", "/")  # request paths upgraded; None: any path
    wrong_path_status: int = 404  # the HTTP status of an upgrade on another path
    subprotocols: tuple[str, ...] = SUBPROTOCOLS  # the ones known, most preferred first
    # which of the offered known ones is chosen: the broker's most preferred, or the client's first
    subprotocol_choice: Literal["preferred", "first-offered"] = "preferred"
    # answered when the client offers none the broker knows (ActiveMQ: `stomp`, which RFC 6455 forbids and
    # a wsproto or browser client refuses); None: no Sec-WebSocket-Protocol header
    unoffered_subprotocol: str | None = None
    not_upgrade_status: int | None = 426  # a GET that asks no upgrade (None: no answer, wait for the timeout)
    bad_handshake_status: int | None = 400  # an upgrade without a key or Upgrade header (None: closed at once)
    versions: tuple[str, ...] = ("13",)  # Sec-WebSocket-Version values taken (7 and 8 frame as 13 does)
    wrong_version_status: int = 426  # the answer to another version (426 carries Sec-WebSocket-Version: 13)
    handshake_timeout: float | None = 5.0  # seconds for the whole request, then closed
    handshake_timeout_status: int | None = 408  # answered when a partial request times out (None: just closed)
    deflate: bool = True  # permessage-deflate accepted when offered
    # -- messages
    # "stream": the bytes of every text or binary message are one stream (frames joined and split freely);
    # "frame-per-text-message": each text message is one frame (its first), "\n" alone a heart-beat,
    # binary messages are ignored, a message without a whole frame fails the connection (ActiveMQ)
    input: Literal["stream", "frame-per-text-message"] = "stream"
    message_type: MessageType = "text-or-binary"  # what the broker sends: see protocol/websocket.py
    frame_eol: bool = False  # a LF after the NUL of each frame, inside its message
    max_bytes: int | None = None  # the largest message (or frame, below) taken; None: no limit
    max_bytes_per: Literal["message", "frame"] = "message"  # what max_bytes bounds
    utf8_checked: bool = True  # a text message that is not UTF-8 fails the connection (Artemis: taken as bytes)
    close_codes: Mapping[str, int | None] = field(default_factory=lambda: STRICT_CLOSE_CODES, hash=False)
    # on DISCONNECT the output not yet written is dropped, its RECEIPT with it (RabbitMQ: the close comes first)
    disconnect_drops_output: bool = False


STRICT = WebSocketSettings()

# measured on 3.10.8
RABBITMQ = WebSocketSettings(
    paths=("/ws",),  # measured: /stomp, / and /ws/x get 404
    subprotocol_choice="preferred",  # measured: v10.stomp,v12.stomp -> v12.stomp
    # measured: none or only `foo` offered -> 101 without the header (as every profile answers)
    not_upgrade_status=426,  # measured: a plain GET and a POST -> 426 Upgrade Required
    bad_handshake_status=400,  # measured: no Sec-WebSocket-Key -> 400
    versions=("13", "8", "7"),  # measured: 7 and 8 -> 101
    wrong_version_status=400,  # measured: 12 and 14 -> 400
    handshake_timeout=5.0,  # measured: half a request -> 408 after 5 s; nothing sent -> closed after 5 s
    handshake_timeout_status=408,
    deflate=True,  # measured: permessage-deflate accepted
    input="stream",  # measured: two frames in a message, a frame over two messages, binary messages: all work
    message_type="text",  # measured: every frame in a text message, a body that is not UTF-8 too
    frame_eol=True,  # measured: `...\x00\n`
    max_bytes=None,  # measured: a 17 MiB message is taken
    # measured: a framing error (a header without colon) -> 1007 without ERROR; DISCONNECT -> 1000 "STOMP died"
    close_codes=_codes(**{"too-big": 1009, "malformed": 1007, "disconnect": 1000, "closed": 1000}),
    disconnect_drops_output=True,  # measured: DISCONNECT with receipt -> no RECEIPT, nor for a SEND just before
)

# measured on 2.40.0 (the acceptor on 127.0.0.1:61615)
ARTEMIS = WebSocketSettings(
    paths=None,  # measured: /ws, /stomp, /, /other, /ws/x are all upgraded
    subprotocol_choice="first-offered",  # measured: v10.stomp,v12.stomp -> v10.stomp
    # measured: none or only `foo` offered -> 101 without the header (as every profile answers)
    not_upgrade_status=None,  # measured: a plain GET or a POST gets no answer
    bad_handshake_status=None,  # measured: no Sec-WebSocket-Key -> closed at once, no answer
    versions=("13", "8", "7"),  # measured: 7 and 8 -> 101
    wrong_version_status=426,  # measured: 12 and 14 -> 426 with Sec-WebSocket-Version: 13
    handshake_timeout=10.0,  # measured: nothing sent, or half a request -> closed after 10 s, no answer
    handshake_timeout_status=None,
    deflate=False,  # measured: permessage-deflate offered -> not in the answer
    input="stream",  # measured: frames joined and split across messages, text and binary alike
    message_type="binary",  # measured: every frame in a binary message
    frame_eol=True,  # measured: `...\x00\n`
    max_bytes=65536,  # measured: a 65,536-byte WebSocket frame is taken, 65,537 resets the connection
    max_bytes_per="frame",  # measured: an 80,000-byte message in two 40,000-byte fragments is taken
    utf8_checked=False,  # measured: a SEND in a text message that is not UTF-8 is taken, no close
    # measured: too big -> reset without a close frame; DISCONNECT -> RECEIPT then end of file, no close frame;
    # framing errors get no answer (the STOMP profile's)
    close_codes=_codes(**{"too-big": None, "malformed": None, "disconnect": None, "closed": None}),
)

# measured on ActiveMQ Classic 5.18.3 (Maven Central's distribution, Jetty 9.4, ws://127.0.0.1:61623) on
# 2026-12-06 with the scenarios of tests/scenarios/test_websocket.py and raw requests; where the source of
# apache/activemq main (Jetty 12: WSServlet, StompSocket) says why, it is named
ACTIVEMQ = WebSocketSettings(
    paths=None,  # measured: /ws, /stomp, / and /other are upgraded (the servlet is mapped at "/")
    subprotocols=(*SUBPROTOCOLS, "stomp"),  # WSServlet's stompProtocols: v12 > v11 > v10 > stomp
    subprotocol_choice="preferred",  # measured: v10.stomp,v12.stomp -> v12.stomp
    unoffered_subprotocol="stomp",  # measured: none or only `foo` offered -> `Sec-WebSocket-Protocol: stomp`
    not_upgrade_status=200,  # measured: a plain GET -> 200 with an empty body (WSServlet.doGet, AMQ-6491)
    bad_handshake_status=400,  # measured: no Sec-WebSocket-Key -> 400
    versions=("13",),  # measured: 13 only
    wrong_version_status=400,  # measured: 8 and 12 -> 400 (Jetty 9.4; Jetty 12 in 6.x may answer 426)
    handshake_timeout=30.0,  # measured: nothing sent, or half a request -> closed after 30.0 s, no answer
    handshake_timeout_status=None,
    deflate=True,  # measured: permessage-deflate accepted
    input="frame-per-text-message",  # measured: one frame per text message; binary messages ignored
    message_type="text-replaced",  # measured: text messages, a body that is not UTF-8 with bad bytes replaced
    frame_eol=False,  # measured: a frame ends at its NUL
    max_bytes=65536,  # measured (test_message_over_the_limit): Jetty's default maxTextMessageSize
    max_bytes_per="message",
    # measured: 1009 for a message too big; 1000 for a framing error, DISCONNECT and any other close
    close_codes=_codes(**{"too-big": 1009, "malformed": 1000, "disconnect": 1000, "closed": 1000}),
)
