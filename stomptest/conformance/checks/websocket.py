"""STOMP over WebSocket: how the broker maps frames to messages (RFC 6455 and the brokers' common practice).

There is no STOMP-over-WebSocket specification; what every broker and client does (the
`v1x.stomp` subprotocols, STOMP bytes carried in text or binary messages) and what RFC 6455
requires of any WebSocket endpoint is what these checks hold a broker to. Over TCP they are
n/a. The findings cite RFC 6455's sections; choices the RFC leaves open (which subprotocol,
which message type, how a framing error is closed) are observations, which the fidelity tests
compare between a fake profile and its real broker.
"""

from __future__ import annotations

import contextlib
import re
import time

from stomptest.conformance.checks._registry import check
from stomptest.conformance.context import Context
from stomptest.conformance.model import Finding, NotApplicable
from stomptest.conformance.probe import Probe, ProbeClosed
from stomptest.protocol.frame import Frame

AREA = "websocket"
_UNOFFERED = re.compile(r"unrecognized subprotocol (\S+)")
OFFERS = {
    "all three": ("v12.stomp", "v11.stomp", "v10.stomp"),
    "v10.stomp then v12.stomp": ("v10.stomp", "v12.stomp"),
    "none": (),
    "only an unknown one": ("foo",),
}


def _websocket_only(ctx: Context) -> None:
    if not ctx.target.websocket:
        raise NotApplicable("a check of STOMP over WebSocket: run it against a ws:// or wss:// URL")


def _rfc(ctx: Context, code: str, section: str, message: str) -> None:
    ctx.findings.append(Finding(code, f'RFC 6455 "{section}"', message))


def _open(ctx: Context, label: str, subprotocols: tuple[str, ...] | None = None) -> Probe:
    probe = Probe(
        ctx.target.host,
        ctx.target.port,
        version=ctx.version,
        timeout=ctx.target.timeout,
        label=label,
        transcript=ctx.transcript,
        ssl_context=ctx.target.tls_context(),
        websocket_path=ctx.target.path,
        subprotocols=subprotocols,
    )
    ctx.probes.append(probe)
    return probe


def _connect(ctx: Context, probe: Probe, heartbeat: str | None = None) -> Frame | None:
    probe.send_raw(Frame("CONNECT", ctx.connect_headers(heartbeat=heartbeat)).encode(ctx.version))
    answer = probe.maybe(lambda f: True, ctx.target.timeout)
    if answer is not None and answer.command == "CONNECTED":
        probe.version = ctx.version
        return answer
    return None


@check("ws-subprotocol", "The upgrade answers one of the subprotocols offered, or none", versions=("1.2",), area=AREA)
def subprotocol(ctx: Context) -> None:
    _websocket_only(ctx)
    for name, offered in OFFERS.items():
        try:
            probe = _open(ctx, f"offer {name}", offered)
        except ProbeClosed as exc:
            unoffered = _UNOFFERED.search(str(exc))  # wsproto refuses a subprotocol that was not offered
            if unoffered is not None:
                ctx.observe(f"offered {name}", f"{unoffered.group(1)}, not offered (a client must fail the upgrade)")
                _rfc(ctx, "subprotocol-not-offered", "4.1", f"offered {name}: {exc}")
            else:
                ctx.observe(f"offered {name}", "refused")
                ctx.note(f"offered {name}: {exc}")
            continue
        answered = probe.websocket.subprotocol if probe.websocket is not None else None
        ctx.observe(f"offered {name}", answered or "(no Sec-WebSocket-Protocol)")
        if name == "all three" and _connect(ctx, probe) is None:
            ctx.fatal("connect-refused", "CONNECT or STOMP Frame", "no CONNECTED over the WebSocket")
        probe.close()


@check("ws-frames-joined", "Several frames in one WebSocket message are all processed", area=AREA)
def frames_joined(ctx: Context) -> None:
    _websocket_only(ctx)
    queue = ctx.destination()
    probe = _open(ctx, "c1")
    if _connect(ctx, probe) is None:
        ctx.fatal("connect-refused", "CONNECT or STOMP Frame", "no CONNECTED over the WebSocket")
    subscribe = Frame("SUBSCRIBE", {"destination": queue, "id": "s1"})
    send = Frame("SEND", {"destination": queue, "receipt": "r-joined"}, b"joined")
    probe.send_raw(subscribe.encode(ctx.version) + send.encode(ctx.version))  # one write: one message
    answer = probe.maybe(lambda f: f.command in ("RECEIPT", "ERROR"), ctx.target.timeout)
    message = probe.maybe(lambda f: f.command == "MESSAGE", ctx.target.timeout)
    ctx.expect(
        answer is not None and answer.command == "RECEIPT" and message is not None and message.body == b"joined",
        "frame-lost",
        "Frames",
        f"SUBSCRIBE and SEND in one message: RECEIPT {answer is not None}, MESSAGE {message is not None}"
        + (f" ({probe.close_reason})" if probe.closed else ""),
    )
    ctx.disconnect(probe)


@check("ws-frame-split", "A frame split over several messages, or over fragments of one, is processed", area=AREA)
def frame_split(ctx: Context) -> None:
    _websocket_only(ctx)
    probe = _open(ctx, "c1")
    if _connect(ctx, probe) is None:
        ctx.fatal("connect-refused", "CONNECT or STOMP Frame", "no CONNECTED over the WebSocket")
    topic = ctx.destination("topic")
    data = Frame("SEND", {"destination": topic, "receipt": "r-fragments"}, b"in fragments").encode(ctx.version)
    probe.send_raw(data, fragments=3)  # one message in three WebSocket frames (RFC 6455 5.4)
    answer = probe.maybe(lambda f: f.command in ("RECEIPT", "ERROR"), ctx.target.timeout)
    if answer is None or answer.command != "RECEIPT":
        _rfc(ctx, "fragmented-message-lost", "5.4", f"a SEND in three fragments of one message got {answer}")
    data = Frame("SEND", {"destination": topic, "receipt": "r-split"}, b"split").encode(ctx.version)
    third = len(data) // 3
    with contextlib.suppress(ProbeClosed):  # ActiveMQ's transport closes on a message without a whole frame
        probe.send_parts([data[:third], data[third : 2 * third], data[2 * third :]])  # three messages
    answer = probe.maybe(lambda f: f.command in ("RECEIPT", "ERROR"), ctx.target.timeout)
    split_ok = answer is not None and answer.command == "RECEIPT"
    ctx.observe(
        "a frame split over three messages", "processed" if split_ok else f"not processed ({probe.close_reason})"
    )
    ctx.expect(split_ok, "split-frame-lost", "Frames", f"a SEND split over three messages got {answer}")
    ctx.disconnect(probe)


@check("ws-text-binary", "Frames are taken in text and binary messages; a text message is valid UTF-8", area=AREA)
def text_binary(ctx: Context) -> None:
    _websocket_only(ctx)
    probe = _open(ctx, "c1")
    if _connect(ctx, probe) is None:
        ctx.fatal("connect-refused", "CONNECT or STOMP Frame", "no CONNECTED over the WebSocket")
    assert probe.websocket is not None and probe.websocket.messages is not None
    ctx.observe("message type of CONNECTED", probe.websocket.messages[0][0])
    queue = ctx.destination()
    ctx.subscribe(probe, queue)
    text = Frame("SEND", {"destination": queue, "receipt": "r-text"}, b"text").encode(ctx.version)
    probe.send_raw(text, binary=False)
    answer = probe.maybe(lambda f: f.command in ("RECEIPT", "ERROR"), ctx.target.timeout)
    ctx.expect(answer is not None and answer.command == "RECEIPT", "text-message-lost", "Frames", "a SEND in text")
    binary = Frame("SEND", {"destination": queue, "receipt": "r-binary"}, b"binary").encode(ctx.version)
    probe.send_raw(binary, binary=True)
    answer = probe.maybe(lambda f: f.command in ("RECEIPT", "ERROR"), ctx.target.timeout)
    taken = answer is not None and answer.command == "RECEIPT"
    ctx.observe("a SEND in a binary message", "processed" if taken else "ignored")
    if not taken:
        _rfc(ctx, "binary-message-ignored", "5.6", "a SEND in a binary message got no RECEIPT")
    body = bytes(range(256))
    frame = Frame("SEND", {"destination": queue, "receipt": "r-bytes"}, body)
    probe.send_raw(frame.encode(ctx.version, content_length=True), binary=True)
    delivered = probe.maybe(
        lambda f: f.command == "MESSAGE" and f.body not in (b"text", b"binary"), 2 * ctx.target.timeout
    )
    kinds = [kind for kind, _ in probe.websocket.messages[1:]]
    if delivered is not None:
        ctx.observe("a body that is not UTF-8 comes back", "intact" if delivered.body == body else "altered")
        ctx.observe("message type of a MESSAGE that is not UTF-8", kinds[-1] if kinds else "(none)")
        ctx.expect(delivered.body == body, "body-altered", "Frames", "the 256 byte values came back altered")
    elif probe.close_code == 1007 and "invalid WebSocket message" in probe.close_reason:
        ctx.observe("a body that is not UTF-8 comes back", "in a text message that is not UTF-8")
        _rfc(ctx, "invalid-utf8-text", "5.6", "a MESSAGE with a body that is not UTF-8 came in a text message")
    elif taken:
        ctx.observe("a body that is not UTF-8 comes back", f"not at all ({probe.close_reason or 'nothing came'})")
    probe.close()


@check(
    "ws-heartbeat-message", "Heart-beats travel as messages of their own, both ways", versions=("1.1", "1.2"), area=AREA
)
def heartbeat_message(ctx: Context) -> None:
    _websocket_only(ctx)
    probe = _open(ctx, "c1")
    answer = _connect(ctx, probe, heartbeat="500,500")
    if answer is None:
        ctx.fatal("connect-refused", "CONNECT or STOMP Frame", "no CONNECTED over the WebSocket")
    assert probe.websocket is not None and probe.websocket.messages is not None
    deadline = time.monotonic() + 2.5
    while time.monotonic() < deadline and not probe.closed:
        probe.send_raw(b"\n")  # our heart-beat, a message of its own
        probe.poll(0.25)
    beats = [payload for _, payload in probe.websocket.messages[1:] if payload in (b"\n", b"\r\n")]
    ctx.observe("heart-beats from the broker", "messages of their own" if beats else "none as messages of their own")
    ctx.expect(not probe.closed, "heartbeat-message-refused", "Heart-beating", f"closed: {probe.close_reason}")
    if answer.headers.get("heart-beat", "0,0").split(",")[0] not in ("", "0"):
        ctx.expect(bool(beats), "no-heartbeat-message", "Heart-beating", "no heart-beat came as a message")
    probe.close()


FRAMING_ERRORS = {
    "a header line without a colon": b"SEND\ndestination /queue/x\n\nabc\x00",
    "no NUL where content-length says": b"SEND\ndestination:/queue/x\ncontent-length:1\n\nabc\x00",
}


@check("ws-close-framing-error", "A framing error that closes the WebSocket closes it with a close frame", area=AREA)
def close_on_framing_error(ctx: Context) -> None:
    _websocket_only(ctx)
    for name, data in FRAMING_ERRORS.items():
        probe = _open(ctx, name)
        if _connect(ctx, probe) is None:
            ctx.fatal("connect-refused", "CONNECT or STOMP Frame", "no CONNECTED over the WebSocket")
        probe.send_raw(data)
        probe.wait_closed(ctx.target.timeout)
        code = probe.close_code
        if not probe.closed:
            ctx.observe(f"close after {name}", "stays open")
        elif code is None:
            ctx.observe(f"close after {name}", "closed without a close frame")
            _rfc(ctx, "closed-without-close-frame", "7.1.7", f"after {name}: {probe.close_reason}")
        else:
            ctx.observe(f"close after {name}", str(code))
        probe.close()
