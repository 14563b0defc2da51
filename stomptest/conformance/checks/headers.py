"""Header values: escaping per version, the CONNECT exception, repeated headers."""

from __future__ import annotations

from stomptest.conformance.checks._registry import check
from stomptest.conformance.context import Context
from stomptest.protocol.frame import Frame

AREA = "headers"


@check("escape-roundtrip", "Header values survive the version's escaping (none in 1.0)", area=AREA)
def escape_roundtrip(ctx: Context) -> None:
    probe = ctx.connect()
    destination = ctx.destination()
    ctx.subscribe(probe, destination)
    if ctx.version == "1.0":
        # 1.0 has no escaping: the backslash and the colon are plain octets
        value, wire = "a:b\\c", b"a:b\\c"
        section = "Frames"
    else:
        value = "a:b\nc\\d" + ("\re" if ctx.version == "1.2" else "")
        wire = b"a\\cb\\nc\\\\d" + (b"\\re" if ctx.version == "1.2" else b"")
        section = "Value Encoding"
    probe.send_raw(b"SEND\ndestination:" + destination.encode() + b"\nx-escaped:" + wire + b"\nreceipt:r-esc\n\n\x00")
    ctx.receipts(probe, ["r-esc"], section)
    [message] = ctx.messages(probe, 1)
    got = message.headers.get("x-escaped")
    ctx.expect(
        got == value,
        "value-altered",
        section,
        f"sent x-escaped as {wire!r} (meaning {value!r}); it came back meaning {got!r}",
    )
    ctx.disconnect(probe)


@check("escape-undefined", "An undefined escape (\\t) is a fatal protocol error", versions=("1.1", "1.2"), area=AREA)
def escape_undefined(ctx: Context) -> None:
    probe = ctx.connect()
    destination = ctx.destination("topic")
    probe.send_raw(b"SEND\ndestination:" + destination.encode() + b"\nx-bad:a\\tb\nreceipt:r-bad\n\nx\x00")
    answer = probe.maybe(lambda f: f.command in ("RECEIPT", "ERROR"), ctx.target.timeout)
    if answer is not None and answer.command == "RECEIPT":
        ctx.observe("reaction", "accepted")
        ctx.expect(False, "accepts-undefined-escape", "Value Encoding", "SEND with header x-bad:a\\tb got a RECEIPT")
        ctx.disconnect(probe)
        return
    closed = probe.wait_closed(1.0)
    ctx.observe("reaction", ("ERROR" if answer is not None else "no ERROR") + (", closed" if closed else ", left open"))
    ctx.expect(closed, "stays-open-after-error", "Value Encoding", "the connection stayed open after the fatal error")
    probe.close()


@check("escape-connect", "CONNECT header values are not unescaped", versions=("1.1", "1.2"), area=AREA)
def escape_connect(ctx: Context) -> None:
    probe = ctx.open()
    headers = [*ctx.connect_headers(), ("x-probe", "a\\tb")]
    probe.send_raw(Frame("CONNECT", headers).encode(ctx.version))
    answer = probe.maybe(lambda f: True, ctx.target.timeout)
    got = "nothing (connection closed)" if answer is None else f"{answer.command} {answer.headers.get('message', '')}"
    ctx.expect(
        answer is not None and answer.command == "CONNECTED",
        "unescapes-connect",
        "Value Encoding",
        f"CONNECT with the unescaped value x-probe:a\\tb got {got}: the server decoded escapes in CONNECT",
    )
    ctx.disconnect(probe)


@check("repeated-headers", "The first of repeated headers wins", versions=("1.1", "1.2"), area=AREA)
def repeated(ctx: Context) -> None:
    probe = ctx.connect()
    destination = ctx.destination()
    ctx.subscribe(probe, destination)
    ctx.send(probe, destination, b"x", [("x-repeat", "first"), ("x-repeat", "second")])
    [message] = ctx.messages(probe, 1)
    ctx.expect(
        message.headers.get("x-repeat") == "first",
        "later-repeat-wins",
        "Repeated Header Entries",
        f"x-repeat:first then x-repeat:second; the MESSAGE's first x-repeat is {message.headers.get('x-repeat')!r}",
    )
    ctx.disconnect(probe)
