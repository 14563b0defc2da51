"""Framing: NUL, content-length, EOLs between frames, TCP segmentation, CR LF (1.2)."""

from __future__ import annotations

from stomptest.conformance.checks._registry import check
from stomptest.conformance.context import Context
from stomptest.protocol.frame import Frame

AREA = "framing"


def _frames_section(version: str) -> str:
    return "Frames" if version == "1.0" else "STOMP Frames"


@check("framing-body", "A body ended by NUL arrives intact", area=AREA)
def body(ctx: Context) -> None:
    probe = ctx.connect()
    destination = ctx.destination()
    ctx.subscribe(probe, destination)
    payload = "héllo, wörld\n  with spaces  "
    ctx.send(probe, destination, payload.encode(), {"content-type": "text/plain;charset=utf-8"})
    [message] = ctx.messages(probe, 1)
    ctx.expect(
        message.body == payload.encode(),
        "body-altered",
        _frames_section(ctx.version),
        f"sent body {payload.encode()!r}, MESSAGE body {message.body!r}",
    )
    ctx.disconnect(probe)


@check("framing-content-length", "content-length carries a body with NUL octets", area=AREA)
def content_length(ctx: Context) -> None:
    probe = ctx.connect()
    destination = ctx.destination()
    ctx.subscribe(probe, destination)
    payload = b"\x00a\x00b\x00\x00c\x00"
    ctx.send(probe, destination, payload, {"content-type": "application/octet-stream"})
    [message] = ctx.messages(probe, 1)
    section = "Frames" if ctx.version == "1.0" else "Header content-length"
    ctx.expect(message.body == payload, "body-altered", section, f"sent {payload!r}, got {message.body!r}")
    ctx.disconnect(probe)


@check("framing-eols", "EOLs between frames are ignored", versions=("1.1", "1.2"), area=AREA)
def eols(ctx: Context) -> None:
    probe = ctx.connect()
    destination = ctx.destination()
    eol = b"\r\n" if ctx.version == "1.2" else b"\n"
    data = (
        Frame("SUBSCRIBE", {"destination": destination, "id": "s1", "receipt": "r-sub"}).encode(ctx.version)
        + b"\n\n"
        + eol
        + Frame("SEND", {"destination": destination, "receipt": "r-send"}, b"x").encode(ctx.version)
        + eol * 3
    )
    probe.send_raw(data)
    ctx.receipts(probe, ["r-sub", "r-send"], "Augmented BNF")
    ctx.messages(probe, 1)
    ctx.disconnect(probe)


@check("framing-split", "A frame split across TCP segments is reassembled", area=AREA)
def split(ctx: Context) -> None:
    probe = ctx.connect()
    destination = ctx.destination()
    ctx.subscribe(probe, destination)
    data = Frame("SEND", {"destination": destination, "receipt": "r-split", "x-part": "yes"}, b"split body").encode(
        ctx.version
    )
    cuts = [2, 9, len(data) // 2, len(data) - 3, len(data) - 1]
    parts = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    probe.send_parts(parts, delay=0.05)
    ctx.receipts(probe, ["r-split"], _frames_section(ctx.version))
    [message] = ctx.messages(probe, 1)
    ctx.expect(message.body == b"split body", "body-altered", _frames_section(ctx.version), f"got {message.body!r}")
    ctx.disconnect(probe)


@check("framing-packed", "Several frames packed in one TCP segment are all processed", area=AREA)
def packed(ctx: Context) -> None:
    probe = ctx.connect()
    destination = ctx.destination()
    frames = [Frame("SUBSCRIBE", {"destination": destination, "id": "s1", "receipt": "r0"})]
    frames += [Frame("SEND", {"destination": destination, "receipt": f"r{i}"}, f"m{i}".encode()) for i in (1, 2, 3)]
    probe.send_raw(b"".join(frame.encode(ctx.version) for frame in frames))
    ctx.receipts(probe, ["r0", "r1", "r2", "r3"], _frames_section(ctx.version))
    bodies = [m.body for m in ctx.messages(probe, 3)]
    ctx.expect(bodies == [b"m1", b"m2", b"m3"], "reordered", _frames_section(ctx.version), f"bodies {bodies!r}")
    ctx.disconnect(probe)


@check("framing-crlf", "CR LF line endings are accepted and not part of values", versions=("1.2",), area=AREA)
def crlf(ctx: Context) -> None:
    probe = ctx.connect()
    destination = ctx.destination()
    ctx.subscribe(probe, destination)
    probe.send_raw(
        b"SEND\r\ndestination:" + destination.encode() + b"\r\nx-crlf:value\r\nreceipt:r-crlf\r\n\r\ncrlf body\x00"
    )
    ctx.receipts(probe, ["r-crlf"], "STOMP Frames")
    [message] = ctx.messages(probe, 1)
    ctx.expect(
        message.headers.get("x-crlf") == "value",
        "cr-kept-in-value",
        "STOMP Frames",
        f"x-crlf came back as {message.headers.get('x-crlf')!r}, expected 'value'",
    )
    ctx.expect(message.body == b"crlf body", "body-altered", "STOMP Frames", f"got {message.body!r}")
    ctx.disconnect(probe)
