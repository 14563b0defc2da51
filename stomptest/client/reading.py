"""`ReadingShell`: who reads the blocking client's socket, and how its calls wait. A leader/follower hand-off.

Why: the answer a call waits for (a RECEIPT, CONNECTED, or a MESSAGE asked for by
`receive()`) should reach it without a switch to another thread. Handed over by a
reader thread, every SEND->RECEIPT round trip paid two thread switches and the GIL's
hand-over on top of the network's time (measured: docs/benchmarks.md).

How: the reading role is a token, `_reading`. A call that waits takes the token when
nobody holds it and reads the socket itself; calls that find it taken wait on
`_ready` and are woken when what was read answers them, or when the token is free
again, to take it in turn. The reader thread takes the token only when no call has
waited for `threads.HAND_BACK` seconds, so that heart-beats, ERRORs and messages for other
subscriptions are still noticed while the caller is busy elsewhere; when it holds the
token as a call starts to wait, it hands the token back after its current read. A
call reading in select() is woken through a socket pair when something else changed
(an unsubscribe, an error to raise, a close). Whoever reads an end of the connection
leaves it in `_ended` for the reader thread, which handles it.

Bounded memory: while the connection says `reading_paused` (`max_unconsumed` messages
wait to be taken), nobody takes the token until `receive()` makes room, so TCP
back-pressure reaches the broker.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import time

from stomptest.client.threads import RECV_SIZE, ThreadedShell
from stomptest.protocol.errors import ConnectionLost
from stomptest.protocol.events import Answer, Message, Notice, Receipt
from stomptest.protocol.frame import Frame


class ReadingShell(ThreadedShell):
    """The reading token and the waits of `Client`: for an answer (`_await`), for a message (`_next_message`)."""

    def _serve(self, sock: socket.socket) -> BaseException:
        """Read `sock` whenever the callers leave it; return why the connection ended (then holding the token)."""
        connection = self._connection
        while True:
            with self._lock:
                while True:
                    if self._ended is not None:
                        cause, self._ended = self._ended, None
                        self._reading = True  # kept through the reconnection: nobody reads a socket being replaced
                        return cause
                    if self._reading or self._callers_waiting:
                        self._reader_wake.wait(self._hand_back)  # a poll, not a notify per call
                        continue
                    if connection.reading_paused:
                        self._reader_wake.wait()
                        continue
                    idle = time.monotonic() - self._handed_back
                    if idle < self._hand_back:
                        self._reader_wake.wait(self._hand_back - idle)
                        continue
                    self._reading = True
                    break
            try:
                self._read_once(sock, None)
            finally:
                with self._lock:
                    self._reading = False
                    self._notify()

    def _read_once(
        self, sock: socket.socket, deadline: float | None, receipt_id: str | None = None, *, eager: bool = False
    ) -> Receipt | BaseException | None:
        """One read of `sock` by the token's holder, handled; returns early at `deadline` or when poked.

        With `receipt_id` (the caller's own), an answer to it that this read brought is
        taken, and the token handed on, under the same lock as the read was handled:
        the round trip's common case costs one more acquisition of `_lock`, not three.

        `eager` (a consumer keeping up with a stream of messages) first tries a read that
        does not block: the next messages are usually there already, and one system call
        instead of two (select, recv) is worth a µs a message at ActiveMQ's pace. A call
        waiting for the answer to what it just sent reads at once with a blocking recv()
        that returns every `RECV_SLICE` (no select(): one system call less per round trip);
        it goes through select() only when poked, or over TLS. The reader thread selects
        first, so that a sliced socket does not wake it every slice while all is quiet.
        """
        data = None
        try:
            if eager and type(sock) is socket.socket:
                with contextlib.suppress(BlockingIOError):
                    data = self._recv(sock, socket.MSG_DONTWAIT)
            if data is None:
                if receipt_id is not None and sock is self._sliced and not self._poked:
                    view = self._recv_view  # `_recv` written out, as `_write` does: blocks up to RECV_SLICE
                    data = bytes(view[: sock.recv_into(view, RECV_SIZE)])
                elif (
                    deadline is not None or self._callers_waiting or sock is self._sliced
                ) and not self._wait_readable(sock, deadline):
                    return None
                else:
                    data = self._recv(sock)
        except BlockingIOError:
            return None  # a slice of a sliced recv() passed: the caller looks at its deadline and reads again
        except OSError as exc:
            self._end(sock, self._overdue or ConnectionLost(f"the connection failed: {exc}"))
            return None
        if not data:
            self._end(sock, self._overdue or ConnectionLost("the broker closed the connection"))
            return None
        answer: Receipt | BaseException | None = None
        reports = None
        with self._lock:
            now = time.monotonic()
            notices = self._connection.receive_data(data, now)
            only = notices[0] if len(notices) == 1 else None
            if receipt_id is not None and type(only) is Answer and only.receipt_id == receipt_id:
                # a round trip's usual read, the answer to this call alone: `_route` and `_release_token` written out
                answer = only.receipt or only.error
                self._callers_waiting -= 1
                self._reading = self._caller_reads = False
                self._handed_back = now
                if self._sleepers:
                    self._ready.notify_all()
            elif receipt_id is not None:
                reports = self._route(notices, sock) if notices else None
                answer = self._answers.pop(receipt_id, None)
                if answer is not None:
                    self._callers_waiting -= 1
                    self._release_token()  # notifies
                else:
                    self._notify()
            else:
                reports = self._route(notices, sock) if notices else None
                self._notify()
        if reports:
            for error in reports:
                self._report(error)
        if self._connection.write_due:  # WebSocket: a pong or a close reply
            with contextlib.suppress(ConnectionLost):
                self.flush()
        return answer

    def _wait_readable(self, sock: socket.socket, deadline: float | None) -> bool:
        """Whether `sock` has bytes before `deadline`; False when poked through `_wake` or out of time."""
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            pair = self._wake_pair
            waiting_on = [sock] if pair is None else [sock, pair[0]]
            readable, _, _ = select.select(waiting_on, [], [], remaining)
        except (OSError, ValueError):
            return True  # a closed socket: recv() says how it ended
        if pair is not None and pair[0] in readable:
            self._poked = False
            with contextlib.suppress(OSError):
                pair[0].recv(4096)
        return sock in readable

    def _await(self, frame: Frame, receipt_id: str | None, timeout: float | None = None) -> Receipt | None:
        """Wait for the answer to `receipt_id`, reading the socket ourselves when nobody else is.

        `_write` counted this call in `_callers_waiting` already, so that the reader thread
        does not take the socket between the write and the wait; every way out of here
        uncounts it, and hands the token on if this call holds it.
        """
        if receipt_id is None:
            return None
        limit = self.receipt_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        answers = self._answers
        sock: socket.socket | None = None
        answer: Receipt | BaseException | None = None
        handed_on = False  # _read_once took the answer, handed the token on and uncounted this call
        try:
            taken = self._token_for
            if taken is not None and taken[0] == receipt_id:  # `_write` took the token for us: read at once
                self._token_for = None  # only the call holding the token sets or clears it
                sock = taken[1]
                answer = self._read_once(sock, deadline, receipt_id)
                if answer is not None:
                    sock = None
                    handed_on = True
            while answer is None:
                with self._lock:
                    if sock is not None:  # read last round: hand the token on (and maybe take it again below)
                        self._release_token()
                        sock = None
                    answer = answers.pop(receipt_id, None)
                    if answer is None:
                        if time.monotonic() >= deadline:
                            self._connection.forget(receipt_id)
                            raise ConnectionLost(
                                f"no RECEIPT for {frame.command} (receipt {receipt_id!r}) within {limit:g} s"
                            )
                        sock = self._take_token()
                        if sock is None:
                            self._sleep(deadline - time.monotonic())
                if sock is not None:
                    answer = self._read_once(sock, deadline, receipt_id)
                    if answer is not None:
                        sock = None
                        handed_on = True
        finally:
            if not handed_on:
                with self._lock:
                    if sock is not None:
                        self._release_token()
                    self._callers_waiting -= 1
                    self._handed_back = time.monotonic()
                    self._notify()
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def _release_token(self) -> None:
        """A call that read gives the token back (the caller holds `_lock`)."""
        self._reading = False
        self._caller_reads = False
        self._handed_back = time.monotonic()
        self._notify()

    def _take_token(self) -> socket.socket | None:
        """The socket to read when the token is free and reading is allowed (the caller holds `_lock`)."""
        sock = self._sock
        if self._reading or sock is None or self._ended is not None or self._connection.reading_paused:
            return None
        self._reading = True
        self._caller_reads = True
        return sock

    def _lead(self, sock: socket.socket, deadline: float | None, *, eager: bool = False) -> None:
        """Read once as the token's holder, then hand the token on."""
        try:
            self._read_once(sock, deadline, eager=eager)
        finally:
            with self._lock:
                self._release_token()

    def _take_locked_message(self, key: str | None) -> tuple[Message | None, list[Notice]]:
        """The next message for `key`, and what moving the backlog on brought (the caller holds `_lock`)."""
        connection = self._connection
        message = connection.take(key)
        if not connection.room_made:
            return message, []
        return message, self._made_room()

    def _made_room(self) -> list[Notice]:
        """A take made room in a full inbox: move the backlog on, let whoever waits to read (holding `_lock`)."""
        connection = self._connection
        connection.room_made = False
        notices = connection.receive_data(b"", time.monotonic()) if connection.has_backlog else []
        self._notify()
        self._reader_wake.notify()
        return notices

    def _next_message(self, timeout: float | None, key: str | None, *, stop_when_gone: bool = False) -> Message | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        connection = self._connection
        if connection.has_data_to_send and not connection.unconsumed:
            with contextlib.suppress(ConnectionLost):  # a reply may depend on what we sent; a loss is reported below
                self.flush()
        with self._lock:
            self._callers_waiting += 1
        try:
            while True:
                self._raise_pending()
                notices: list[Notice] = []
                with self._lock:
                    message, notices = self._take_locked_message(key)
                    sock = None
                    if message is None and not self._errors:
                        if self._stopped_receiving(stop_when_gone):
                            return None
                        if (
                            stop_when_gone
                            and key is not None
                            and all(s.key != key for s in connection.session.subscriptions)
                        ):
                            return None
                        remaining = None if deadline is None else deadline - time.monotonic()
                        if remaining is not None and remaining <= 0:
                            return None
                        sock = self._take_token() if self._status == "connected" else None
                        if sock is None:
                            self._sleep(remaining)
                if notices:
                    self._handle(notices, self._sock)
                if message is not None:
                    return message
                if sock is not None:
                    self._lead(sock, deadline, eager=True)
        finally:
            with self._lock:
                self._callers_waiting -= 1
                self._handed_back = time.monotonic()
                self._notify()
