"""`ClientConnection`: one client's STOMP connection as a sans-IO object, shared by `Client` and `AsyncClient`.

Theory of operation, as h11's `Connection`: bytes the broker sent go in through
`receive_data(data, now)` and come out as notices for the shell to act on; calls such
as `send_frame()` put wire bytes in an outgoing buffer that the shell empties with
`data_to_send(now)` whenever it writes. The connection owns everything about one
conversation that is not I/O: the parser, the `Session`, the encoder, the heart-beat
clock values, which waiting call each RECEIPT or ERROR answers, and the inbox of
received messages. The shells keep only what is theirs: the socket, threads or the
event loop, timeouts, failover sleeps. Time is passed in as numbers.

Notices from `receive_data` (MESSAGEs are not among them: they go to the inbox, and
`take()` hands them out):

* `Connected`: the broker accepted CONNECT; the SUBSCRIBE frames to replay are queued.
* `Error` (the session's event): the broker refused CONNECT; `exception` says why.
* `Answer`: a RECEIPT, or an ERROR, for a call waiting on that receipt id.
* `Unsolicited`: an error no call waits for (an ERROR, or the broker breaking the
  protocol); the shell reports it.
* `Broken`: bytes that are not STOMP; the shell closes the transport.

Why receipts are routed here and not in the shells: an ERROR names the receipt of the
frame it answers only sometimes (RabbitMQ names none in most of its ERRORs), and the
rule for who gets it then is the same whatever the I/O: the call waiting, unless the
user takes unsolicited ERRORs through a callback (`errors_have_handler`).

Bounded memory. Received messages wait in the inbox until taken, at most
`max_unconsumed` of them. When the inbox is full, the rest of what was read waits,
parsed, in a backlog (at most one read's worth) and `reading_paused` tells the shell
to stop reading the socket, so that TCP back-pressure reaches the broker instead of
memory growing without end. `take()` makes room and moves the backlog on. The broker's
silence while we are not reading is our doing, not evidence of a dead broker, so the
heart-beat check counts the time since reading resumed, not since the last byte. A
call waiting for a RECEIPT or CONNECTED lifts the bound: its answer is behind the
messages, and waiting for it without reading could only end in a timeout.

STOMP over WebSocket: `open(now, websocket)` with a `WebSocketClient` (websocket_client.py)
puts that sans-IO layer between the socket's bytes and the STOMP stream, for this transport
only (a failover walk may go from a ws:// member to a tcp:// one). `open` then returns the
HTTP upgrade request and holds CONNECT until the broker accepts it (RFC 6455 lets the client
send nothing before); `write_due` tells the shell that reading made bytes to write at once
(that CONNECT, a pong, a close reply), which a TCP stream never does.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from stomptest.protocol import heartbeat as _heartbeat
from stomptest.protocol.encoder import Encoder
from stomptest.protocol.errors import ConfigurationError, ConnectionLost, FrameError, ProtocolError
from stomptest.protocol.events import Answer, Broken, Connected, Error, Lost, Message, Notice, Receipt, Unsolicited
from stomptest.protocol.frame import HEARTBEAT, Frame, Heartbeat, checked_frame
from stomptest.protocol.parser import Parser
from stomptest.protocol.session import Session
from stomptest.protocol.state import CONNECTED, CONNECTING, DISCONNECTING

if TYPE_CHECKING:  # imported by whoever makes one (client/transport.py): wsproto loads only for ws:// URLs
    from stomptest.protocol.websocket_client import WebSocketClient

DEFAULT_MAX_UNCONSUMED: Final = 5000
"""Messages buffered before the client stops reading: 5 MB at 1 KB a message, a slow consumer's few seconds."""

FLUSH_BYTES: Final = 64 * 1024
"""Buffered bytes past which a frame nobody waits for is written at once rather than coalesced."""


def check_max_unconsumed(value: int) -> int:
    """The `max_unconsumed` option: an int >= 1."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            f"max_unconsumed must be an int >= 1 (messages received and not yet taken by receive()), not {value!r}"
        )
    return value


def calls_answered_by(error: Error, waiting: Sequence[str], on_error_set: bool) -> list[str]:
    """The receipt ids of the waiting calls that an ERROR answers; empty: nobody's, report it.

    An ERROR naming a waited-for receipt answers that call. Any other (RabbitMQ names no
    receipt in most of its ERRORs) most likely answers whatever is being waited for, unless
    the user takes unsolicited ERRORs through a callback.
    """
    receipt_id = error.request.headers.get("receipt") if error.request is not None else None
    if receipt_id is not None and receipt_id in waiting:
        return [receipt_id]
    return [] if on_error_set else list(waiting)


class ClientConnection:
    """The client side of one STOMP conversation across reconnections: bytes in, notices out; calls in, bytes out.

    `connect` holds the keyword arguments of `Session.connect()`. Not thread-safe: a
    threaded shell holds one lock around every call.
    """

    def __init__(
        self,
        session: Session,
        connect: Mapping[str, Any],
        *,
        heartbeat_grace: float = _heartbeat.DEFAULT_GRACE,
        max_unconsumed: int = DEFAULT_MAX_UNCONSUMED,
    ) -> None:
        self.session = session
        self._connect = dict(connect)
        self.heartbeat_grace = heartbeat_grace
        self.max_unconsumed = check_max_unconsumed(max_unconsumed)
        self.errors_have_handler = False
        """True when the user takes unsolicited ERRORs (`on_error`): they then answer no call that names none."""
        self._parser = Parser(session.offered_versions[-1])
        self._encoder = Encoder()
        self._outgoing: list[bytes] = []
        self._outgoing_bytes = 0
        self._awaited: dict[str, None] = {}  # receipt ids of waiting calls, in the order asked
        self._handshaking = False
        self._inbox: deque[Message] = deque()
        self._backlog: deque[Frame | Heartbeat] = deque()
        self._paused_clock = False  # reading was paused: the broker's silence since then is not evidence
        self.room_made = False
        """Set by `take()` when it took from a full inbox: the shell moves the backlog on and resumes reading."""
        self.last_sent = 0.0
        self.last_received = 0.0
        self.heartbeats_sent = 0
        self.heartbeats_received = 0
        self.connected: Connected | None = None
        self._websocket: WebSocketClient | None = None
        self._held = b""  # CONNECT, held until the WebSocket upgrade is accepted
        self.write_due = False
        """Reading made bytes the shell must write now (WebSocket only: CONNECT after the upgrade, pong, close)."""

    def __repr__(self) -> str:
        return (
            f"<ClientConnection {self.session.state.name} unconsumed={len(self._inbox)} "
            f"awaited={len(self._awaited)} outgoing={self._outgoing_bytes}B>"
        )

    # --- opening ------------------------------------------------------------------------------------------------

    def open(self, now: float, websocket: WebSocketClient | None = None) -> bytes:
        """The bytes that open a new transport: CONNECT, or with `websocket` its upgrade request (CONNECT follows).

        What a previous transport left unparsed is dropped.
        """
        frame = self.session.connect(**self._connect)
        highest = self.session.offered_versions[-1]
        self._parser = Parser(highest)
        self._backlog.clear()
        self._outgoing.clear()
        self._outgoing_bytes = 0
        self._handshaking = True
        self.last_sent = self.last_received = now
        self._websocket = websocket
        self.write_due = False
        if websocket is not None:
            self._held = frame.encode(highest)
            return websocket.data_to_send()
        return frame.encode(highest)

    @property
    def websocket(self) -> WebSocketClient | None:
        """The WebSocket under the current transport, or None over TCP."""
        return self._websocket

    # --- calls in, bytes out ------------------------------------------------------------------------------------

    def send_frame(self, build: Callable[[Session], Frame], *, wait: bool = False) -> tuple[Frame, str | None, bool]:
        """Make a frame with the session and queue its bytes.

        Returns the frame, the receipt id a waiting call waits for (when `wait` and the
        frame asks for a receipt), and whether to write now rather than coalesce: a call
        that waits, DISCONNECT, or a buffer past `FLUSH_BYTES`.
        """
        frame = build(self.session)
        receipt_id = None
        if wait:
            for name, value in frame.raw_headers:  # the first wins, as in `Frame.headers`, without building it
                if name == "receipt":
                    receipt_id = value
                    break
        if receipt_id is not None:
            self._awaited[receipt_id] = None
            data = frame.encode(self.session.version)  # a receipt id never repeats: nothing for the encoder to keep
        else:
            data = self._encoder.encode(frame, self.session.version)
        self._outgoing.append(data)
        self._outgoing_bytes += len(data)
        urgent = receipt_id is not None or frame.command == "DISCONNECT" or self._outgoing_bytes >= FLUSH_BYTES
        return frame, receipt_id, urgent

    def beat(self) -> bool:
        """Queue one heart-beat (an EOL) if the session can send one now; True when queued."""
        if self.session.state is not CONNECTED:
            return False
        data = self.session.beat()
        self._outgoing.append(data)
        self._outgoing_bytes += len(data)
        self.heartbeats_sent += 1
        return True

    @property
    def has_data_to_send(self) -> bool:
        return bool(self._outgoing) or (self._websocket is not None and self._websocket.has_data_to_send)

    def data_to_send(self, now: float) -> bytes:
        """Everything queued, in order, for the shell to write now (b"" when nothing is)."""
        outgoing = self._outgoing
        if self._websocket is not None:
            return self._websocket_data(now)
        if not outgoing:
            return b""
        data = outgoing[0] if len(outgoing) == 1 else b"".join(outgoing)
        outgoing.clear()
        self._outgoing_bytes = 0
        self.last_sent = now
        return data

    def _websocket_data(self, now: float) -> bytes:
        """The queued frames, one WebSocket message each, after any control reply due."""
        websocket = self._websocket
        assert websocket is not None
        self.write_due = False
        if not websocket.opened:
            return websocket.data_to_send()
        data = websocket.send(self._outgoing)
        self._outgoing.clear()
        self._outgoing_bytes = 0
        if data:
            self.last_sent = now
        return data

    def goodbye(self) -> bytes:
        """The bytes that end the transport politely: a WebSocket close frame (1000), or b"" over TCP."""
        websocket = self._websocket
        return b"" if websocket is None else websocket.close()

    def forget(self, receipt_id: str) -> None:
        """The call waiting for `receipt_id` gave up (timed out): its answer, if it comes, answers nobody."""
        self._awaited.pop(receipt_id, None)

    # --- bytes in, notices out ----------------------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> list[Notice]:
        """Take bytes the broker sent (b"" only moves the backlog on); return what the shell must act on."""
        if self._websocket is not None and data:
            return self._receive_websocket(data, now)
        if self._awaited and data and not self._backlog:
            whole = self._parser.whole_receipt(data)  # a waiting call's answer (over TCP), read without the scan
            if whole is not None:
                self.last_received = now
                return self._whole_receipt(*whole)
        return self._receive_stream(data, now)

    def _receive_websocket(self, data: bytes, now: float) -> list[Notice]:
        """Unwrap the WebSocket's messages into the STOMP stream; a close or a refused upgrade breaks it."""
        websocket = self._websocket
        assert websocket is not None
        self.last_received = now
        was_open = websocket.opened
        stream = websocket.receive_data(data)
        if websocket.opened and not was_open and self._held:
            self._outgoing.append(self._held)
            self._held = b""
        if self._outgoing or websocket.has_data_to_send:
            self.write_due = True
        notices = self._receive_stream(stream, now) if stream or self._backlog else []
        if websocket.closed is not None:
            notices.append(Broken(websocket.closed))
        return notices

    def _receive_stream(self, data: bytes, now: float) -> list[Notice]:
        if data:
            self.last_received = now
            try:
                items = self._parser.feed(data)
            except FrameError as exc:
                notices = self._dispatch(list(exc.frames))
                notices.append(Broken(ConnectionLost(f"the broker sent bytes that are not STOMP: {exc}")))
                return notices
        else:
            items = []
        if self._backlog:
            self._backlog.extend(items)
            return self._dispatch_backlog()
        if self._awaited or len(self._inbox) + len(items) <= self.max_unconsumed:
            return self._dispatch(items)  # the common case: room for everything read
        self._backlog.extend(items)
        return self._dispatch_backlog()

    def _whole_receipt(self, receipt_id: str, beat: bool) -> list[Notice]:
        """`_dispatch` of a RECEIPT read whole (and its EOL): the answer a call waits for, in one step."""
        frame = checked_frame("RECEIPT", (("receipt-id", receipt_id),), b"")
        session = self.session
        if session.state is not CONNECTED or receipt_id not in self._awaited:
            return self._dispatch([frame, HEARTBEAT] if beat else [frame])
        try:
            event = session.receive(frame)
        except ProtocolError as exc:
            return [Unsolicited(exc)]
        del self._awaited[receipt_id]
        assert type(event) is Receipt
        notices: list[Notice] = [Answer(receipt_id, event, None)]
        if beat:
            if session.state is CONNECTED:  # as a RECEIPT taken in CONNECTED leaves it: the EOL is a heart-beat
                self.heartbeats_received += 1
            else:  # whatever else the session decided, the EOL goes by its state table, as in `_dispatch`
                notices.extend(self._dispatch([HEARTBEAT]))
        return notices

    def _dispatch_backlog(self) -> list[Notice]:
        backlog = self._backlog
        room = self.max_unconsumed - len(self._inbox)
        take = 0
        for item in backlog:
            if type(item) is Frame and item.command == "MESSAGE" and not self._awaited:
                if room <= 0:
                    break
                room -= 1
            take += 1
        items = [backlog.popleft() for _ in range(take)]
        return self._dispatch(items)

    def _dispatch(self, items: list[Frame | Heartbeat]) -> list[Notice]:
        notices: list[Notice] = []
        session = self.session
        receive = session.receive
        inbox = self._inbox
        beats = 0
        for item in items:
            if type(item) is Heartbeat and session.state is CONNECTED:
                beats += 1  # ActiveMQ and RabbitMQ write an EOL after every frame: as many beats as frames
                continue
            try:
                event = receive(item)
            except ProtocolError as exc:  # the broker broke the rules: report it, keep reading
                notices.append(Unsolicited(exc))
                break
            kind = type(event)
            if kind is Message:
                inbox.append(event)  # type: ignore[arg-type]
            elif kind is Heartbeat:
                beats += 1
            else:
                self._route(event, notices)  # type: ignore[arg-type]
        self.heartbeats_received += beats
        return notices

    def _route(self, event: Connected | Receipt | Error, notices: list[Notice]) -> None:
        if type(event) is Receipt:
            if self._awaited.pop(event.receipt_id, 0) is None:
                notices.append(Answer(event.receipt_id, event, None))
        elif type(event) is Connected:
            self._handshaking = False
            self.connected = event
            self._parser.version = event.version
            for frame in self.session.replay():
                self._outgoing.append(frame.encode(event.version))
            notices.append(event)
        elif self._handshaking:
            assert isinstance(event, Error)
            self._handshaking = False
            notices.append(event)  # CONNECT refused
        else:
            assert isinstance(event, Error)
            answered = self._answered_by(event)
            for receipt_id in answered:
                del self._awaited[receipt_id]
                notices.append(Answer(receipt_id, None, event.exception))
            if not answered:
                notices.append(Unsolicited(event.exception))

    def _answered_by(self, error: Error) -> list[str]:
        return calls_answered_by(error, list(self._awaited), self.errors_have_handler)

    # --- the inbox ----------------------------------------------------------------------------------------------

    @property
    def unconsumed(self) -> int:
        """Messages received and not yet taken."""
        return len(self._inbox)

    @property
    def reading_paused(self) -> bool:
        """True while the shell must not read: the inbox is full, or parsed frames wait for room."""
        if self._awaited:
            return False
        return bool(self._backlog) or len(self._inbox) >= self.max_unconsumed

    @property
    def has_backlog(self) -> bool:
        """Parsed frames wait for room in the inbox: `receive_data(b"", now)` moves them on once there is."""
        return bool(self._backlog)

    def take(self, subscription: str | None = None) -> Message | None:
        """The oldest message received (of any subscription, or of the one keyed `subscription`), or None."""
        inbox = self._inbox
        if not inbox:
            return None
        full = len(inbox) >= self.max_unconsumed or bool(self._backlog)
        if subscription is None:
            if not full:
                return inbox.popleft()  # the common case, once per message
            taken: Message | None = inbox.popleft()
        else:
            taken = None
            for index, message in enumerate(inbox):
                held = message.subscription
                if held is not None and held.key == subscription:
                    taken = message
                    del inbox[index]
                    break
        if full and taken is not None:
            self._paused_clock = self.room_made = True
        return taken

    def has_message(self, subscription: str | None = None) -> bool:
        """Whether `take(subscription)` would return a message."""
        if subscription is None:
            return bool(self._inbox)
        return any(m.subscription is not None and m.subscription.key == subscription for m in self._inbox)

    # --- heart-beats --------------------------------------------------------------------------------------------

    def heartbeat_due(self, now: float) -> _heartbeat.Due:
        """What heart-beating asks of the shell at `now` (see `heartbeat.due`), pauses of our reading excused."""
        if self.reading_paused or self._paused_clock:
            # Not reading is our doing: the broker's silence meanwhile says nothing about it.
            self._paused_clock = self.reading_paused
            self.last_received = now
        return _heartbeat.due(self.session.heartbeat, self.last_sent, self.last_received, now, self.heartbeat_grace)

    # --- ending -------------------------------------------------------------------------------------------------

    @property
    def clean_end(self) -> bool:
        """Whether an end of the transport now is the one we asked for (DISCONNECT sent)."""
        return self.session.state is DISCONNECTING

    def connection_lost(self) -> tuple[Lost, list[str]]:
        """The transport ended: what died with it, and the receipt ids of the calls left waiting (to fail them).

        Messages needing acknowledgement are dropped from the inbox (the broker
        redelivers them; they are in `Lost.unacknowledged`); ack:auto ones stay.
        """
        session = self.session
        if session.state is CONNECTING or session.state is CONNECTED or session.state is DISCONNECTING:
            lost = session.connection_lost()
        else:
            lost = Lost()
        self._handshaking = False
        self._outgoing.clear()
        self._outgoing_bytes = 0
        self._held = b""
        self.write_due = False
        self._backlog.clear()
        if any(message.needs_ack for message in self._inbox):
            self._inbox = deque(message for message in self._inbox if not message.needs_ack)
        waiting = list(self._awaited)
        self._awaited.clear()
        return lost, waiting

    def close(self) -> list[str]:
        """We closed the transport ourselves; returns the receipt ids of the calls left waiting."""
        session = self.session
        if session.state is DISCONNECTING:
            session.close()
            self._outgoing.clear()
            self._outgoing_bytes = 0
            waiting = list(self._awaited)
            self._awaited.clear()
            return waiting
        return self.connection_lost()[1]


__all__ = ["DEFAULT_MAX_UNCONSUMED", "FLUSH_BYTES", "ClientConnection", "calls_answered_by", "check_max_unconsumed"]
