"""One client connection as the broker sees it: bytes in, frames handled, bytes out.

Theory of operation. The host feeds received bytes to `receive_data(data, now)` and
sends whatever `data_to_send()` returns; `tick(now)` runs heart-beats and delayed
frames, and `next_deadline()` says when it is next needed. Nothing here blocks or
raises: bad input of any kind becomes an ERROR frame, and the profile says whether the
connection is then closed. A closing connection has already returned its messages to
the engine; the host flushes the last bytes (the ERROR, the DISCONNECT receipt), closes
the socket and calls `connection_lost()`.

Before CONNECT the parser only ever sees bytes up to the first NUL, so that frames
pipelined behind CONNECT are read with the escaping of the version it negotiates.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from typing import Literal

from stomptest.broker import wire
from stomptest.broker.engine import AckMode, Delivery, Destination, Engine, Message, Subscription
from stomptest.broker.profiles import ErrorKind
from stomptest.protocol import spec
from stomptest.protocol.errors import FrameError
from stomptest.protocol.frame import HEARTBEAT, Frame, Heartbeat, encode_parts
from stomptest.protocol.parser import Parser

log = logging.getLogger("stomptest.broker")

State = Literal["new", "connected", "closing", "closed"]
Direction = Literal["in", "out"]
TranscriptEntry = tuple[float, Direction, "Frame | Heartbeat | PendingFrame"]

_ACK_MODES: frozenset[str] = frozenset({"auto", "client", "client-individual"})
# headers of a SEND that are about the frame, not the message
_FRAME_HEADERS = frozenset({"destination", "transaction", "content-length", "receipt"})
# headers the broker sets on MESSAGE; a client's own are dropped or refused (profile)
_RESERVED_HEADERS = frozenset({"message-id", "subscription", "redelivered", "ack"})
# what a SEND's headers lose on the way to MESSAGE, without and with a profile's receipt echo
_NOT_COPIED = _RESERVED_HEADERS | _FRAME_HEADERS
_NOT_COPIED_ECHO = _NOT_COPIED - {"receipt"}

# Required headers per command and version; UNSUBSCRIBE 1.0 is special-cased (id or destination).
_REQUIRED: dict[str, dict[str, tuple[str, ...]]] = {
    "SEND": {"1.0": ("destination",), "1.1": ("destination",), "1.2": ("destination",)},
    "SUBSCRIBE": {"1.0": ("destination",), "1.1": ("destination", "id"), "1.2": ("destination", "id")},
    "UNSUBSCRIBE": {"1.0": (), "1.1": ("id",), "1.2": ("id",)},
    "ACK": {"1.0": ("message-id",), "1.1": ("message-id", "subscription"), "1.2": ("id",)},
    "NACK": {"1.1": ("message-id", "subscription"), "1.2": ("id",)},
    "BEGIN": {v: ("transaction",) for v in ("1.0", "1.1", "1.2")},
    "COMMIT": {v: ("transaction",) for v in ("1.0", "1.1", "1.2")},
    "ABORT": {v: ("transaction",) for v in ("1.0", "1.1", "1.2")},
    "DISCONNECT": {v: () for v in ("1.0", "1.1", "1.2")},
}


class PendingFrame:
    """A frame the broker sent, kept as parts until a test looks at it (building a `Frame` costs time)."""

    __slots__ = ("body", "command", "headers")

    def __init__(self, command: str, headers: list[tuple[str, str]], body: bytes) -> None:
        self.command = command
        self.headers = headers
        self.body = body

    def frame(self) -> Frame:
        return Frame(self.command, self.headers, self.body)


_TOKEN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_SPECIAL = re.compile("[\\\\\n\r:\x00]")  # characters a header may need escaped (or cannot carry)


class _Fields(dict[str, str]):
    """Template fields for error texts; a field the error does not have is empty."""

    def __missing__(self, key: str) -> str:
        return ""


class Connection:
    """The protocol state of one client: version, subscriptions, unacknowledged messages, transactions."""

    __slots__ = (
        "_decode_1_0",
        "_fed",
        "_next_delivery",
        "_now",
        "_out",
        "_out_bytes",
        "_parser",
        "_resync",
        "_skipping",
        "_transcript_beats",
        "_transcript_bytes",
        "_unparsed",
        "_unparsed_start",
        "_wire_out",
        "client_heartbeat",
        "close_reason",
        "engine",
        "frames_received",
        "frames_sent",
        "heartbeats_paused",
        "held",
        "hold_commands",
        "hold_until",
        "host",
        "id",
        "last_received",
        "last_sent",
        "limits",
        "login",
        "on_schedule",
        "opened_at",
        "peer",
        "profile",
        "receive_timeout",
        "send_interval",
        "session",
        "state",
        "subscriptions",
        "transactions",
        "transcript",
        "unacked",
        "version",
    )

    def __init__(self, engine: Engine, id: int, peer: str, now: float) -> None:
        self.engine = engine
        self.profile = engine.profile
        self.limits = engine.limits
        self.id = id
        self.peer = peer
        self.opened_at = now
        self.state: State = "new"
        self.version: str | None = None
        self._wire_out = "1.0"  # the escaping used on output (a profile may differ from the version)
        self._decode_1_0 = False  # ActiveMQ: 1.0 input escapes are decoded, leniently
        self.session: str | None = None
        self.login: str | None = None
        self.host: str | None = None
        self.close_reason: str | None = None
        self.client_heartbeat = (0, 0)
        self.subscriptions: dict[str, Subscription] = {}
        self.unacked: dict[str, Delivery] = {}
        self.transactions: dict[str, list[Frame]] = {}
        self.transcript: deque[TranscriptEntry] = deque()
        self._transcript_bytes = 0  # body bytes held by the transcript
        self._transcript_beats = 0  # heart-beats held by the transcript
        self.frames_received = 0
        self.frames_sent = 0
        # heart-beats, in seconds; 0 means none
        self.send_interval = 0.0
        self.receive_timeout = 0.0
        self.last_received = now
        self.last_sent = now
        # faults
        self.heartbeats_paused = False
        self.hold_commands: frozenset[str] | None = None
        self.hold_until: float | None = None  # None with hold_commands set: until release()
        self.held: list[Frame] = []
        self._parser = Parser(
            "1.2",
            max_frame_bytes=self.limits.max_frame_bytes,
            max_headers=self.limits.max_headers,
            max_header_bytes=self.limits.max_header_bytes,
        )
        self._resync = "unknown-command" not in self.profile.closing_errors
        self._unparsed: list[bytes] = []  # bytes fed since the parser last stood between frames
        self._unparsed_start = 0  # stream offset of _unparsed[0]
        self._fed = 0  # bytes fed to the current parser
        self._skipping = False  # discarding a bad frame up to its NUL
        self._out: list[bytes] = []
        self._out_bytes = 0
        self._next_delivery = 0
        self._now = now
        self.on_schedule: Callable[[Connection], None] = _ignore  # deadline may have moved earlier

    # -- what the host asks

    @property
    def closing(self) -> bool:
        """True once the connection must be closed after its output is flushed."""
        return self.state in ("closing", "closed")

    @property
    def closed(self) -> bool:
        return self.state == "closed"

    @property
    def writable(self) -> bool:
        """Whether more MESSAGEs may be queued to this connection (flow control)."""
        return self.state == "connected" and self._out_bytes < self.limits.max_output_bytes

    @property
    def output_size(self) -> int:
        """Bytes queued for the client and not yet taken by `data_to_send`."""
        return self._out_bytes

    def data_to_send(self) -> bytes:
        """Everything queued for the client since the last call."""
        out = self._out
        if not out:
            return b""
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        was_full = self._out_bytes >= self.limits.max_output_bytes
        self._out_bytes = 0
        if was_full and self.state == "connected":
            for subscription in list(self.subscriptions.values()):
                self.engine.dispatch_subscription(subscription, self._now)
        return data

    def receive_data(self, data: bytes, now: float) -> None:
        """Handle bytes from the client; never raises."""
        if self.state in ("closing", "closed"):
            return
        self._now = now
        self.last_received = now
        try:
            self._receive(data)
        except Exception:  # a bug in stomptest must not take the broker down: report it and close
            self._internal_error()

    def tick(self, now: float) -> None:
        """Heart-beats both ways, delayed frames, the CONNECT timeout; call at `next_deadline()`."""
        timeout = self.profile.connect_timeout
        if self.state == "new" and timeout is not None and now >= self.opened_at + timeout:
            self._now = now
            self.close(f"no CONNECT within {timeout:g} s")
            return
        if self.state != "connected":
            return
        self._now = now
        try:
            if self.receive_timeout and now - self.last_received > self.receive_timeout:
                self.close(f"no data from the client for {self.receive_timeout:g} s (heart-beat timeout)")
                return
            if self.hold_until is not None and now >= self.hold_until:
                self.release()
            period = self.send_interval * self.profile.heartbeat_send_fraction
            if period and not self.heartbeats_paused and now - self.last_sent >= period:
                if self._out:  # output is waiting for the client: a newline behind it says nothing more
                    self.last_sent = now
                else:
                    self._write(b"\n", HEARTBEAT)
        except Exception:
            self._internal_error()

    def next_deadline(self) -> float | None:
        """When `tick` next has work to do, or None."""
        if self.state == "new" and self.profile.connect_timeout is not None:
            return self.opened_at + self.profile.connect_timeout
        if self.state != "connected":
            return None
        deadlines = []
        if self.receive_timeout:
            deadlines.append(self.last_received + self.receive_timeout + 0.001)
        period = self.send_interval * self.profile.heartbeat_send_fraction
        if period and not self.heartbeats_paused:
            deadlines.append(self.last_sent + period)
        if self.hold_until is not None:
            deadlines.append(self.hold_until)
        return min(deadlines) if deadlines else None

    def connection_lost(self, now: float) -> None:
        """The socket is gone (EOF, reset, or closed by us): clean up if not done yet."""
        self._now = now
        if self.state != "closing":
            self.close("connection lost")
        self.state = "closed"
        self._out.clear()
        self._out_bytes = 0
        self.held.clear()
        self.on_schedule = _ignore  # kept in the engine's recent history: hold no host
        self.engine.forget(self)

    # -- closing and errors

    def close(self, reason: str) -> None:
        """Stop the session: abort transactions and give unacknowledged messages back."""
        if self.state in ("closing", "closed"):
            return
        self.state = "closing"
        self.close_reason = reason
        self.transactions.clear()
        subscriptions = list(self.subscriptions.values())
        self.subscriptions.clear()
        self.unacked.clear()
        for subscription in subscriptions:
            self.engine.unsubscribe(subscription, self._now)
        self.engine.drop_temporary(self)
        self.engine.on_output(self)  # wakes the host, which flushes and closes

    def fail(self, kind: ErrorKind, frame: Frame | None, **fields: str) -> None:
        """Answer with the profile's ERROR for `kind`, then close if the profile says so."""
        if self.state in ("closing", "closed"):
            return
        profile = self.profile
        if kind == "malformed" and not profile.malformed_error:
            log.info("connection %d: malformed input, closed without ERROR: %s", self.id, fields.get("reason", ""))
            self.close(f"malformed input: {fields.get('reason', '')}")
            return
        values = _Fields(fields)
        if frame is not None:
            values.setdefault("command", frame.command)
        values.setdefault("versions", ",".join(profile.versions))
        message_template, body_template = profile.error_texts[kind]
        message = wire.printable(message_template.format_map(values).replace("\n", " ").replace("\r", " "))
        body = wire.printable(body_template.format_map(values))
        headers = [("message", message)]
        if (kind == "version" and profile.version_error_header) or profile.error_version_header:
            headers.append(("version", ",".join(profile.versions)))
        receipt = frame.headers.get("receipt") if frame is not None else None
        if receipt is not None and profile.error_receipt_id:
            headers.append(("receipt-id", receipt))
        if body and profile.error_content_type:
            headers.append(("content-type", "text/plain"))
        if body and profile.content_length == "always":
            headers.append(("content-length", str(len(body.encode("utf-8")))))
        self.send(Frame("ERROR", headers, body.encode("utf-8")))
        log.info("connection %d: ERROR (%s) %s", self.id, kind, message)
        if kind in profile.closing_errors:
            self.close(f"ERROR ({kind}): {message}")

    def send(self, frame: Frame) -> None:
        """Queue a frame for the client (held back if a hold fault matches it)."""
        if self.state == "closed":
            return
        hold = self.hold_commands
        if hold is not None and (not hold or frame.command in hold):
            self.held.append(frame)
            return
        self._write(self._encode(frame), frame)

    def release(self) -> None:
        """Send the frames a hold fault kept back, in order, and stop holding."""
        held, self.held = self.held, []
        self.hold_commands = None
        self.hold_until = None
        for frame in held:
            self.send(frame)

    # -- input

    def _receive(self, data: bytes) -> None:
        while data and self.state in ("new", "connected"):
            if self._skipping:
                nul = data.find(b"\x00")
                if nul < 0:
                    return
                data = data[nul + 1 :]
                self._skipping = False
                continue
            if self.state == "new":
                nul = data.find(b"\x00")
                if nul >= 0:
                    chunk, data = data[: nul + 1], data[nul + 1 :]
                else:
                    chunk, data = data, b""
            else:
                chunk, data = data, b""
            rest = self._feed(chunk)
            if rest:
                data = rest + data

    def _feed(self, data: bytes) -> bytes:
        """Parse `data` and handle what it completes; after a recoverable error, return the bytes to go on with."""
        error: FrameError | None = None
        if not self._unparsed:
            self._unparsed_start = self._fed
        self._unparsed.append(data)
        self._fed += len(data)
        try:
            items = self._parser.feed(data)
        except FrameError as exc:
            error = exc
            items = exc.frames
        for item in items:
            if self.state not in ("new", "connected"):
                return b""
            if isinstance(item, Heartbeat):
                if self.state == "connected" and self.version != "1.0":
                    self._record("in", item)
                continue
            self.frames_received += 1
            self._record("in", item)
            try:
                self._handle(item)
            except Exception:
                self._internal_error(item)
        if error is None:
            if not self._parser.buffered:
                self._unparsed.clear()
            return b""
        if self.state not in ("new", "connected"):
            return b""
        return self._parse_error(error)

    def _parse_error(self, error: FrameError) -> bytes:
        text = str(error)
        stream = b"".join(self._unparsed)
        self._unparsed.clear()
        at = max((error.offset or self._unparsed_start) - self._unparsed_start, 0)
        if error.kind == "bad-escape" and self.profile.undefined_escapes == "keep" and self.state == "connected":
            start = stream.rfind(b"\x00", 0, at) + 1  # the offset may point into the frame: back to its start
            while stream[start : start + 1] in (b"\n", b"\r"):
                start += 1
            repaired = wire.keep_undefined_escapes(stream, start, self._parser.version)
            if repaired is not None and repaired != stream[start:]:  # ActiveMQ passes an undefined escape through
                self._new_parser()
                return repaired
        command = ""
        kind: ErrorKind = "malformed"
        bad: Frame | None = None
        if error.kind == "unknown-command":
            command, bad = wire.bad_frame_head(stream, at)
            kind = "not-connected" if self.state == "new" and command else "unknown-command"
        self.fail(kind, bad, command=command, reason=text)
        if self.state != "connected":
            return b""
        # recoverable (RabbitMQ keeps the connection after "Bad command"): skip the bad frame
        self._new_parser()
        nul = stream.find(b"\x00", at)
        if nul < 0:
            self._skipping = True
            return b""
        return stream[nul + 1 :]

    def _new_parser(self) -> None:
        self._parser = Parser(
            self._parser.version,
            max_frame_bytes=self.limits.max_frame_bytes,
            max_headers=self.limits.max_headers,
            max_header_bytes=self.limits.max_header_bytes,
        )
        self._fed = 0

    def _handle(self, frame: Frame) -> None:
        command = frame.command
        if self.state == "new":
            if command in ("CONNECT", "STOMP"):
                self._connect(frame)
            else:
                self.fail("not-connected", frame)
            return
        if self._decode_1_0 and any("\\" in value for _, value in frame.raw_headers):
            frame = Frame(command, [(n, wire.lenient_unescape(v)) for n, v in frame.raw_headers], frame.body)
        elif (
            self.profile.repeated_headers == "last-before-1.2"
            and self.version != "1.2"
            and len(frame.headers) < len(frame.raw_headers)
        ):
            last = dict(frame.raw_headers)  # keeps the first position, takes the last value
            frame = Frame(command, list(last.items()), frame.body)
        handler = _HANDLERS.get(command)
        if handler is None:
            if command in ("CONNECT", "STOMP"):
                self.fail("already-connected", frame)
            else:
                self.fail("unknown-command", frame, reason=f"a client may not send {command}")
            return
        required = _REQUIRED[command].get(self.version or "1.0")
        if required is None:
            self.fail("unknown-command", frame, reason=f"{command} does not exist in STOMP {self.version}")
            return
        headers = frame.headers
        for name in required:
            if name not in headers:
                self.fail("missing-header", frame, reason=name)
                return
        handler(self, frame)

    # -- CONNECT

    def _connect(self, frame: Frame) -> None:
        profile = self.profile
        if profile.unescape_connect and any("\\" in value for _, value in frame.raw_headers):
            try:
                pairs = [(n, wire.strict_unescape(v)) for n, v in frame.raw_headers]
            except ValueError as exc:
                self.fail("malformed", frame, reason=str(exc))
                return
            frame = Frame(frame.command, pairs, frame.body)
        headers = frame.headers
        accepted = headers.get("accept-version")
        wanted = ["1.0"] if accepted is None else [part.strip() for part in accepted.split(",")]
        common = [version for version in profile.versions if version in wanted]
        if not common:
            self.fail("version", frame, version=accepted or "1.0")
            return
        version = max(common, key=lambda v: tuple(int(p) for p in v.split(".")))
        host = headers.get("host")
        if profile.host == "required" and version != "1.0" and host is None:
            self.fail("bad-connect", frame, reason="the host header is required in STOMP 1.1 and 1.2")
            return
        if profile.host == "vhost" and (host if host is not None else "/") not in profile.vhosts:
            self.fail("vhost", frame, host=host or "")
            return
        login = headers.get("login")
        if login is None and profile.default_login is not None:
            login = profile.default_login
            checked = False
        else:
            checked = True
        users = self.engine.users
        if users is not None and checked and (login is None or users.get(login) != headers.get("passcode")):
            self.fail("access-refused", frame, login=login or "")
            return
        beats = (0, 0)
        if version != "1.0":
            text = headers.get("heart-beat", "0,0")
            parts = text.split(",")
            if len(parts) != 2 or not all(_is_count(p.strip()) for p in parts):
                self.fail("bad-connect", frame, reason=f"heart-beat:{text} is not two comma-separated integers")
                return
            beats = (int(parts[0]), int(parts[1]))
        self.client_heartbeat = beats
        receive_ms, send_ms = self._negotiate_heartbeats(*beats)
        self.version = version
        wire_version = version
        if version == "1.0" and profile.escape_1_0 == "as-1.2":
            wire_version = "1.2"
        self._decode_1_0 = version == "1.0" and profile.escape_1_0 == "decode-input"
        if self._parser.version != wire_version:  # setting it rebuilds the parser's caches (4 KB)
            self._parser.version = wire_version
        self._wire_out = wire_version
        self.login = login
        self.host = host
        self.session = self.engine.session_id(self)
        self.state = "connected"
        self.send_interval = send_ms / 1000
        self.receive_timeout = receive_ms * profile.heartbeat_grace / 1000
        reply = [
            ("version", version),
            ("session", self.session),
            ("server", profile.server),
            ("heart-beat", f"{send_ms},{receive_ms}"),
        ]
        receipt = headers.get("receipt")
        if receipt is not None and profile.echo_connect_receipt:
            reply += [("receipt-id", receipt), ("response-id", receipt)]
        self.send(Frame("CONNECTED", reply))
        if self.send_interval or self.receive_timeout:
            self.on_schedule(self)

    def _negotiate_heartbeats(self, cx: int, cy: int) -> tuple[int, int]:
        """(client-to-server, server-to-client) intervals in ms; the broker accepts the client's wishes."""
        profile = self.profile
        if profile.heartbeat_rounding == "whole-seconds":
            cx, cy = _whole_seconds(cx), _whole_seconds(cy)
        if cy and profile.heartbeat_min_send_ms:
            cy = max(cy, profile.heartbeat_min_send_ms)
        return cx, cy

    # -- SEND

    def _on_send(self, frame: Frame, *, committing: bool = False) -> None:
        # The broker's hot path, one call per message: the small steps are written out here.
        profile = self.profile
        engine = self.engine
        headers = frame.headers
        name = headers["destination"]
        resolved = engine.resolve(name, self)
        if resolved is None:
            self.fail("bad-destination", frame, destination=name)
            return
        if profile.reserved_send_headers == "error" and "message-id" in headers:
            self.fail("invalid-header", frame, reason="'message-id' header not allowed on SEND")
            return
        if not committing and "transaction" in headers and self._in_transaction(frame):
            return
        destination = engine.destinations.get(resolved[1])
        if destination is None:
            owner = self._owner(name) if name.startswith("/temp-") else None
            destination = engine.destination(*resolved, owner=owner)
        if not engine.room_for(destination):
            self.fail("limit", frame, reason=f"{name} holds max_queued={self.limits.max_queued} messages")
            return
        raw = frame.raw_headers
        drop = _NOT_COPIED_ECHO if profile.echo_receipt_in_message else _NOT_COPIED
        if len(raw) == len(headers):  # no repeated names, the usual case
            kept = [pair for pair in raw if pair[0] not in drop]
        else:
            seen: set[str] = set()
            kept = []
            for pair in raw:
                if pair[0] not in seen:
                    seen.add(pair[0])
                    if pair[0] not in drop:
                        kept.append(pair)
        reply_to = headers.get("reply-to")
        if reply_to is not None and reply_to.startswith(("/temp-queue/", "/temp-topic/")):
            index = [name for name, _ in kept].index("reply-to")
            kept[index] = ("reply-to", self._temporary_reply_to(reply_to))
        now = self._now
        message = engine.new_message(destination, tuple(kept), frame.body, now, self.id, "content-length" in headers)
        receipt = "receipt" in headers
        if committing or not receipt:
            engine.publish(destination, message, now)
        elif profile.receipt_before_dispatch:
            self._receipt(frame)
            engine.publish(destination, message, now)
        else:
            engine.publish(destination, message, now)
            self._receipt(frame)

    # -- SUBSCRIBE and UNSUBSCRIBE

    def _on_subscribe(self, frame: Frame) -> None:
        profile = self.profile
        headers = frame.headers
        name = headers["destination"]
        id = headers.get("id", name)
        ack = headers.get("ack", "auto")
        if ack not in _ACK_MODES:
            self.fail("invalid-header", frame, reason=f"ack:{ack} is not auto, client or client-individual")
            return
        resolved = self.engine.resolve(name, self)
        if resolved is None:
            self.fail("bad-destination", frame, destination=name)
            return
        if id in self.subscriptions:
            if profile.duplicate_subscription == "ignore":
                self._receipt(frame)
            else:
                self.fail("duplicate-subscription", frame, id=id)
            return
        if len(self.subscriptions) >= self.limits.max_subscriptions:
            self.fail("limit", frame, reason=f"more than max_subscriptions={self.limits.max_subscriptions}")
            return
        window = self._window(frame, resolved[0])
        if window == -2:
            return
        destination = self.engine.destination(*resolved, owner=self._owner(name))
        mode: AckMode = ack  # type: ignore[assignment]
        subscription = self._add_subscription(id, destination, mode, None if window < 0 else window, headers)
        if profile.receipt_before_dispatch:
            self._receipt(frame)
            self.engine.dispatch_subscription(subscription, self._now)
        else:
            self.engine.dispatch_subscription(subscription, self._now)
            self._receipt(frame)

    def _add_subscription(
        self, id: str, destination: Destination, ack: AckMode, window: int | None, headers: Mapping[str, str]
    ) -> Subscription:
        subscription = Subscription(
            self,
            id,
            destination,
            ack,
            window,
            self.profile.prefetch_unit,
            self.engine.new_subscription_serial(),
            headers,
        )
        self.subscriptions[id] = subscription
        self.engine.subscribe(subscription)
        return subscription

    def _owner(self, name: str) -> int | None:
        """The owner of a destination created under `name`: this connection for its temporary ones."""
        if self.profile.temporary_destinations != "shared" and name.startswith(("/temp-queue/", "/temp-topic/")):
            return self.id
        return None

    def _temporary_reply_to(self, name: str) -> str:
        """The name others must use to reply to this connection's temporary destination `name`."""
        temporary = self.profile.temporary_destinations
        if temporary == "connection":
            resolved = self.engine.resolve(name, self)
            assert resolved is not None
            self.engine.destination(*resolved, owner=self.id)
            return resolved[1]
        if temporary == "reply-queue":  # RabbitMQ: a private queue, subscribed to under the temp name
            subscription = self.subscriptions.get(name)
            if subscription is None:
                token = "".join(self.engine.random.choice(_TOKEN) for _ in range(22))
                queue = self.engine.destination("queue", f"/reply-queue/amq.gen-{token}", owner=self.id)
                subscription = self._add_subscription(name, queue, "auto", None, {"destination": name})
            return subscription.destination.name
        return name

    def _window(self, frame: Frame, kind: str) -> int:
        """The subscription's flow-control window: -1 for none, -2 after an ERROR."""
        profile = self.profile
        for name in profile.prefetch_headers:
            text = frame.headers.get(name)
            if text is None:
                continue
            try:
                value = int(text)
            except ValueError:
                self.fail("invalid-header", frame, reason=f"{name}:{text} is not an integer")
                return -2
            if profile.prefetch_unit == "bytes":
                return -1 if value < 0 else value
            return -1 if value < 0 else max(value, 1)
        default = profile.default_topic_prefetch if kind == "topic" else None
        default = default if default is not None else profile.default_prefetch
        return -1 if default is None else default

    def _on_unsubscribe(self, frame: Frame) -> None:
        headers = frame.headers
        id = headers.get("id")
        subscription = None
        if id is not None:
            subscription = self.subscriptions.get(id)
        elif "destination" in headers:
            name = headers["destination"]
            resolved = self.engine.resolve(name, self)
            canonical = resolved[1] if resolved else name
            for candidate in self.subscriptions.values():
                if candidate.destination.name == canonical:
                    subscription = candidate
                    break
        else:
            self.fail("missing-header", frame, reason="id")
            return
        if subscription is None:
            self.fail("unknown-subscription", frame, id=id or headers.get("destination", ""))
            return
        del self.subscriptions[subscription.id]
        for key in subscription.unacked:
            self.unacked.pop(key, None)
        self.engine.unsubscribe(subscription, self._now)
        self._receipt(frame)

    # -- delivery

    def deliver(self, subscription: Subscription, message: Message) -> None:
        """Send `message` as a MESSAGE for `subscription` (called by the engine's dispatch)."""
        profile = self.profile
        message.deliveries += 1
        self._next_delivery += 1
        number = self._next_delivery
        style = profile.id_style
        if style == "rabbitmq":
            message_id = f"T_{subscription.id}@@{self.session}@@{number}"
        elif style == "artemis":
            message_id = f"{subscription.serial},{message.message_id}"
        elif profile.new_message_id_per_delivery:
            message_id = f"{message.message_id}.{message.deliveries}"
        else:
            message_id = message.message_id
        headers = [
            ("subscription", subscription.id),
            ("destination", message.destination),
            ("message-id", message_id),
        ]
        redelivered = profile.redelivered_header
        if redelivered == "always":
            headers.append(("redelivered", "true" if message.deliveries > 1 else "false"))
        elif redelivered == "when-true" and message.deliveries > 1:
            headers.append(("redelivered", "true"))
        tracked = subscription.ack != "auto"
        ack = ""
        if tracked:
            if profile.ack_id == "message-id":
                ack = message_id
            elif style == "activemq":
                ack = f"ID:stomptest-{self.engine.port}-{self.id}:{number}"
            else:
                ack = f"{self.id}.{number}"
            if self.version == "1.2":
                headers.append(("ack", ack))
        if profile.jms_headers == "always":
            headers += [
                ("expires", str(message.expires)),
                ("priority", str(message.priority)),
                ("timestamp", str(message.timestamp)),
            ]
        persistent = profile.persistent_header
        if persistent == "always":
            headers.append(("persistent", message.persistent or "false"))
        elif persistent == "as-sent" and message.persistent is not None:
            headers.append(("persistent", message.persistent))
        headers += message.headers
        body = message.body
        if profile.content_length == "always" or message.had_content_length or b"\x00" in body:
            headers.append(("content-length", str(len(body))))
        self.send_message(headers, body)
        if tracked:
            delivery = Delivery(message, subscription, message_id, ack)
            subscription.unacked[ack] = delivery
            subscription.unacked_by_message_id[message_id] = ack
            subscription.unacked_bytes += len(message.body)
            self.unacked[ack] = delivery

    def send_message(self, headers: list[tuple[str, str]], body: bytes) -> None:
        """Queue a MESSAGE, encoded here rather than by `Frame.encode`: this is the broker's hot path."""
        hold = self.hold_commands
        if hold is not None and (not hold or "MESSAGE" in hold):
            self.held.append(Frame("MESSAGE", headers, body))
            return
        version = self._wire_out
        data = encode_parts("MESSAGE", headers, body, version)  # in C, when it is built
        if data is not None:
            self._write(data, PendingFrame("MESSAGE", headers, body))
            return
        lines = ["MESSAGE"]
        if _SPECIAL.search("".join([name + value for name, value in headers])) is None:
            lines += [name + ":" + value for name, value in headers]
        elif version == "1.0":  # no escaping: ':' in a value is fine, what 1.0 cannot carry takes the careful path
            for name, value in headers:
                if not wire.encodable(name, value):
                    self.send(Frame("MESSAGE", headers, body))
                    return
                lines.append(name + ":" + value)
        else:
            table = spec.ESCAPES[version]
            for name, value in headers:
                if "\x00" in name or "\x00" in value or not name:
                    self.send(Frame("MESSAGE", headers, body))
                    return
                lines.append(name.translate(table) + ":" + value.translate(table))
        lines.append("\n")
        try:
            head = "\n".join(lines).encode("utf-8", "surrogateescape" if version == "1.0" else "strict")
        except UnicodeEncodeError:  # 1.0 bytes that are not UTF-8, for a 1.1+ client: the careful path
            self.send(Frame("MESSAGE", headers, body))
            return
        self._write(head + body + b"\x00", PendingFrame("MESSAGE", headers, body))

    # -- ACK and NACK

    def _find_delivery(self, frame: Frame) -> Delivery | None:
        headers = frame.headers
        if self.version == "1.2":
            key = headers["id"]
            delivery = self.unacked.get(key)
            if delivery is None:
                self.fail("unknown-ack", frame, ack=key)
            return delivery
        message_id = headers["message-id"]
        candidates = list(self.subscriptions.values())
        if self.version == "1.1":
            subscription = self.subscriptions.get(headers["subscription"])
            if subscription is not None:
                candidates = [subscription]
            elif self.profile.ack_checks_subscription:
                self.fail("unknown-ack", frame, ack=message_id, id=headers["subscription"])
                return None
        for candidate in candidates:
            found = candidate.unacked_by_message_id.get(message_id)
            if found is not None:
                return candidate.unacked[found]
        self.fail("unknown-ack", frame, ack=message_id)
        return None

    def _take(self, delivery: Delivery, cumulative: bool) -> list[Message]:
        """Remove `delivery` (and, when cumulative, the earlier ones of its subscription) from the unacked."""
        subscription = delivery.subscription
        unacked = subscription.unacked
        if cumulative:
            keys = []
            for key in unacked:
                keys.append(key)
                if key == delivery.ack:
                    break
        else:
            keys = [delivery.ack]
        taken = []
        for key in keys:
            item = unacked.pop(key)
            subscription.unacked_by_message_id.pop(item.message_id, None)
            subscription.unacked_bytes -= len(item.message.body)
            self.unacked.pop(key, None)
            taken.append(item.message)
        return taken

    def _on_ack(self, frame: Frame, *, committing: bool = False) -> None:
        if not committing and self.profile.transactional_ack and self._in_transaction(frame):
            return
        delivery = self._find_delivery(frame)
        if delivery is None:
            return
        subscription = delivery.subscription
        self._take(delivery, subscription.ack == "client")
        if not committing:
            self._receipt(frame)
        self.engine.dispatch_subscription(subscription, self._now)

    def _on_nack(self, frame: Frame, *, committing: bool = False) -> None:
        profile = self.profile
        if not committing and profile.transactional_ack and self._in_transaction(frame):
            return
        delivery = self._find_delivery(frame)
        if delivery is None:
            return
        subscription = delivery.subscription
        messages = self._take(delivery, subscription.ack == "client" and profile.cumulative_nack)
        policy = profile.nack
        if policy == "requeue" and profile.nack_requeue_header and frame.headers.get("requeue") == "false":
            policy = "discard"
        if policy == "requeue":
            self.engine.requeue(subscription, messages, self._now)
        elif policy == "dead-letter":
            for message in messages:
                self.engine.dead_letter(message, self._now)
        if not committing:
            self._receipt(frame)
        self.engine.dispatch_subscription(subscription, self._now)

    # -- transactions

    def _in_transaction(self, frame: Frame) -> bool:
        """Hold `frame` in its transaction; True when it was held (or refused)."""
        transaction = frame.headers.get("transaction")
        if transaction is None:
            return False
        held = self.transactions.get(transaction)
        if held is None:
            self.fail("bad-transaction", frame, transaction=transaction, reason=f"unknown transaction {transaction}")
            return True
        if len(held) >= self.limits.max_transaction_frames:
            self.fail("limit", frame, reason=f"transaction {transaction} holds max_transaction_frames frames already")
            return True
        held.append(frame)
        if frame.command != "SEND" or self.profile.transaction_receipts == "immediate":
            self._receipt(frame)
        return True

    def _on_begin(self, frame: Frame) -> None:
        transaction = frame.headers["transaction"]
        if transaction in self.transactions:
            self.fail(
                "bad-transaction", frame, transaction=transaction, reason=f"transaction {transaction} already started"
            )
            return
        if len(self.transactions) >= self.limits.max_transactions:
            self.fail("limit", frame, reason=f"more than max_transactions={self.limits.max_transactions} open")
            return
        self.transactions[transaction] = []
        self._receipt(frame)

    def _on_commit(self, frame: Frame) -> None:
        transaction = frame.headers["transaction"]
        held = self.transactions.pop(transaction, None)
        if held is None:
            self.fail("bad-transaction", frame, transaction=transaction, reason=f"unknown transaction {transaction}")
            return
        late_receipts = self.profile.transaction_receipts == "at-commit"
        for item in held:
            if self.state != "connected":
                return
            if item.command == "SEND":
                self._on_send(item, committing=True)
            elif item.command == "ACK":
                self._on_ack(item, committing=True)
            else:
                self._on_nack(item, committing=True)
            if late_receipts and item.command == "SEND":
                self._receipt(item)
        self._receipt(frame)

    def _on_abort(self, frame: Frame) -> None:
        transaction = frame.headers["transaction"]
        if self.transactions.pop(transaction, None) is None:
            self.fail("bad-transaction", frame, transaction=transaction, reason=f"unknown transaction {transaction}")
            return
        self._receipt(frame)

    def _on_disconnect(self, frame: Frame) -> None:
        self._receipt(frame)
        self.close("DISCONNECT")

    # -- output

    def _receipt(self, frame: Frame) -> None:
        receipt = frame.headers.get("receipt")
        if receipt is not None:
            self.send(Frame("RECEIPT", [("receipt-id", receipt)]))

    def _encode(self, frame: Frame) -> bytes:
        version = self._wire_out
        try:
            return frame.encode(version)
        except FrameError:
            pass
        # a header this version cannot carry (a LF for a 1.0 client, bytes that are not UTF-8 for 1.1+): leave it out
        kept = [(n, v) for n, v in frame.raw_headers if wire.encodable(n, v, version)]
        try:
            return Frame(frame.command, kept, frame.body).encode(version)
        except FrameError:
            return Frame(frame.command, (), frame.body).encode(version)

    def _write(self, data: bytes, item: Frame | Heartbeat | PendingFrame) -> None:
        was_empty = not self._out
        self._out.append(data)
        self._out_bytes += len(data)
        self.last_sent = self._now
        if item is not HEARTBEAT:
            self.frames_sent += 1
            if self.profile.frame_eol:  # part of the frame on the wire, as the broker writes it, not a heart-beat
                self._out.append(b"\n")
                self._out_bytes += 1
        self._record("out", item)
        if was_empty:
            self.engine.on_output(self)

    def _record(self, direction: Direction, item: Frame | Heartbeat | PendingFrame) -> None:
        """Keep `item` in the transcript, forgetting the oldest beyond max_transcript frames or _bytes of bodies.

        Heart-beats are bounded on their own (max_transcript_heartbeats): an idle connection beats
        forever, and each remembered beat costs about 90 bytes.
        """
        transcript = self.transcript
        transcript.append((self._now, direction, item))
        limits = self.limits
        total = self._transcript_bytes
        if isinstance(item, Heartbeat):
            self._transcript_beats += 1
            if self._transcript_beats > limits.max_transcript_heartbeats:
                self._forget_oldest_heartbeat()
        else:
            total = self._transcript_bytes = total + len(item.body)
        if len(transcript) > limits.max_transcript or total > limits.max_transcript_bytes:  # rarely: trim
            while len(transcript) > 1 and (
                len(transcript) > limits.max_transcript or total > limits.max_transcript_bytes
            ):
                old = transcript.popleft()[2]
                if isinstance(old, Heartbeat):
                    self._transcript_beats -= 1
                else:
                    total -= len(old.body)
            self._transcript_bytes = total

    def _forget_oldest_heartbeat(self) -> None:
        transcript = self.transcript
        for index, entry in enumerate(transcript):  # in an idle connection it sits right after CONNECTED
            if isinstance(entry[2], Heartbeat):
                del transcript[index]
                self._transcript_beats -= 1
                return

    def _internal_error(self, frame: Frame | None = None) -> None:
        text = traceback.format_exc()
        self.engine.record_internal_error(text)
        if self.state in ("new", "connected"):
            last = text.strip().splitlines()[-1]
            self.fail("internal", frame, reason=f"stomptest broker bug: {last}")
        self.close("internal error")


def _whole_seconds(ms: int) -> int:
    """RabbitMQ: floor to whole seconds, and anything under a second becomes one."""
    if ms <= 0:
        return 0
    return max(1, ms // 1000) * 1000


def _is_count(text: str) -> bool:
    """ASCII digits that int() reads at once ('²' is a digit to str.isdigit, and 5000 digits are too many)."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def _ignore(connection: Connection) -> None:
    pass


_HANDLERS: dict[str, Callable[[Connection, Frame], None]] = {
    "SEND": Connection._on_send,
    "SUBSCRIBE": Connection._on_subscribe,
    "UNSUBSCRIBE": Connection._on_unsubscribe,
    "ACK": Connection._on_ack,
    "NACK": Connection._on_nack,
    "BEGIN": Connection._on_begin,
    "COMMIT": Connection._on_commit,
    "ABORT": Connection._on_abort,
    "DISCONNECT": Connection._on_disconnect,
}
