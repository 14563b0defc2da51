"""What may differ between two runs of the same session, rewritten so that only real differences remain.

Why: a real broker and the fake one never agree on values that are random or counted per
broker lifetime: session names, message ids and ack ids, timestamps, the server's version
string, and the destination names (made unique per run so the tests can share a real broker
with others). Those are replaced by symbols before frames are compared. Ids become `<id-N>`
in the order they first appear on that side, so equalities still count: RabbitMQ's 1.2
`ack` equals its `message-id`, ActiveMQ keeps a message's id across redeliveries and
RabbitMQ does not; each of those shows up as a different symbol pattern.

ActiveMQ writes a Java stack trace into every ERROR body; its lines name the handler that
threw and are not something a client can rely on, so only the first line of an ActiveMQ
ERROR body is compared (the exception and its text, which do matter). Artemis ends a decoder
ERROR's text with the refused frame's bytes, which the fake does not reproduce: that tail is cut.

Known differences (known.py) are applied after this, to both sides alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tests.differential.wire import Frame

SYMBOLISED = {"session": "session", "message-id": "id", "ack": "id"}  # symbols given in this order
_PEER = re.compile(r"127\.0\.0\.1:?\d+")
PLACEHOLDERS = {"timestamp": "<timestamp>", "server": "<server>"}
# Artemis' decoder ERRORs end with the refused bytes as a comma-separated list ("F,O,O,10,..."), the fake's with
# the command or its own reason (docs/broker.md, "Artemis 2.40.0, measured": still different)
_DECODER_DUMP = re.compile(r"^(AMQ33902[34]:? Invalid STOMP frame:? ).*", re.DOTALL)


@dataclass(frozen=True)
class Seen:
    """A frame after normalisation: what the comparison and the failure report use."""

    command: str
    headers: tuple[tuple[str, str], ...]
    body: str

    def __str__(self) -> str:
        head = "".join(f"\n  {name}:{value}" for name, value in self.headers)
        body = f"\n  | {self.body!r}" if self.body else ""
        return f"{self.command}{head}{body}"

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def without(self, *names: str) -> Seen:
        return Seen(self.command, tuple(item for item in self.headers if item[0] not in names), self.body)


@dataclass
class Normaliser:
    """One per broker per run: the symbol tables of that side."""

    run: str
    stack_trace_bodies: bool = False  # ActiveMQ: keep only the first line of ERROR bodies
    decoder_dumps: bool = False  # Artemis: a decoder ERROR's text ends with the frame's bytes
    symbols: dict[str, str] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def symbol(self, kind: str, value: str) -> str:
        if value not in self.symbols:
            self.counters[kind] = self.counters.get(kind, 0) + 1
            self.symbols[value] = f"<{kind}-{self.counters[kind]}>"
        return self.symbols[value]

    def text(self, value: str) -> str:
        value = value.replace(self.run, "<run>")
        value = _PEER.sub("<peer>", value)  # a client's own address (Artemis' AMQ229031; its message drops the colon)
        for original in sorted(self.symbols, key=len, reverse=True):
            if original in value:
                value = value.replace(original, self.symbols[original])
        return value

    def frame(self, frame: Frame) -> Seen:
        for name, kind in SYMBOLISED.items():  # not in wire order: header order is compared on its own
            value = frame.header(name)
            if value is not None:
                self.symbol(kind, value)
        headers = []
        for name, value in frame.headers:
            if name in SYMBOLISED:
                value = self.symbol(SYMBOLISED[name], value)
            elif name in PLACEHOLDERS and (name != "timestamp" or value.isdigit()):
                value = PLACEHOLDERS[name]
            else:
                value = self.text(value)
            headers.append((name, value))
        body = frame.body.decode("utf-8", "replace")
        if frame.command == "ERROR":
            if self.stack_trace_bodies:
                body = body.split("\n", 1)[0]
                headers = [(name, value) for name, value in headers if name != "content-length"]
            body = self.text(body)
            body = re.sub(r"\(at byte \d+\)", "(at byte N)", body)
            if self.decoder_dumps and _DECODER_DUMP.match(body):  # its length goes with the dump
                headers = [(name, _DECODER_DUMP.sub(r"\1<frame>", value)) for name, value in headers]
                headers = [(name, value) for name, value in headers if name != "content-length"]
                body = _DECODER_DUMP.sub(r"\1<frame>", body)
        else:
            body = self.text(body)
        return Seen(frame.command, tuple(headers), body)
