"""The raw-frame driver: one client connection opened against two brokers at once.

Why raw bytes and not stomptest's own client: the client would hide exactly what the
differential tests compare (header order, frame order, frames it rejects, the moment of a
close), and a mutated frame must reach the broker byte for byte. So each `Link` is a plain
socket with a small frame splitter of its own, independent of stomptest.protocol, and a
`Twin` sends the same bytes down a link to the real broker and a link to the fake one.

Theory of operation. A step writes its bytes to both sides, then `settle` reads every open
socket of both brokers in one select loop until they have been quiet for `quiet` seconds
(longer while a receipt the step asked for is still missing), so whatever a step caused on
any connection is attributed to that step on both sides. RECEIPTs are the barriers;
the quiet period only catches what has no receipt (MESSAGEs to other connections, ERRORs).
Heart-beat EOLs between frames are counted apart from the frames: their timing is not a
frame-level fact.
"""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass, field

CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Frame:
    """A frame as it came off the wire: command, headers in wire order (repeats kept), body bytes."""

    command: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


def _content_length(head: bytes) -> int | None:
    for line in head.split(b"\n")[1:]:
        if line.startswith(b"content-length:"):
            try:
                return int(line.split(b":", 1)[1].strip())
            except ValueError:
                return None
    return None


def split_frames(buffer: bytearray) -> tuple[list[Frame], int]:
    """Frames complete in `buffer` (consumed from it), and how many EOLs stood between frames."""
    frames: list[Frame] = []
    eols = 0
    while buffer:
        if buffer[0:1] == b"\n":
            del buffer[0]
            eols += 1
            continue
        if buffer[0:2] == b"\r\n":
            del buffer[0:2]
            eols += 1
            continue
        head_end = buffer.find(b"\n\n")
        if head_end < 0:
            break
        head = bytes(buffer[:head_end])
        length = _content_length(head)
        body_start = head_end + 2
        if length is not None:
            if len(buffer) < body_start + length + 1:
                break
            body = bytes(buffer[body_start : body_start + length])
            end = body_start + length
        else:
            end = buffer.find(b"\x00", body_start)
            if end < 0:
                break
            body = bytes(buffer[body_start:end])
        lines = head.decode("utf-8", "replace").split("\n")
        headers = tuple(tuple(line.split(":", 1)) if ":" in line else (line, "") for line in lines[1:])
        frames.append(Frame(lines[0], headers, body))  # type: ignore[arg-type]
        del buffer[: end + 1]
    return frames, eols


@dataclass
class Link:
    """One socket to one broker, with what it received since the last `take()`."""

    address: tuple[str, int]
    sock: socket.socket | None = None
    buffer: bytearray = field(default_factory=bytearray)
    frames: list[Frame] = field(default_factory=list)
    heartbeats: int = 0
    closed: bool = False
    closed_now: bool = False  # closed during the current step
    last_byte: float = 0.0

    def open(self) -> None:
        self.sock = socket.create_connection(self.address, timeout=CONNECT_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)

    def send(self, data: bytes) -> None:
        if self.closed or self.sock is None:
            return
        try:
            _send_all(self.sock, data)
        except OSError:
            self._mark_closed()

    def receive(self) -> bool:
        """Read what is there; False when nothing was (or the link is closed)."""
        if self.closed or self.sock is None:
            return False
        try:
            chunk = self.sock.recv(65536)
        except BlockingIOError:
            return False
        except OSError:
            chunk = b""
        if not chunk:
            self._mark_closed()
            return True
        self.last_byte = time.monotonic()
        self.buffer += chunk
        frames, eols = split_frames(self.buffer)
        self.frames += frames
        self.heartbeats += eols
        return True

    def _mark_closed(self) -> None:
        self.closed = self.closed_now = True
        if self.sock is not None:
            self.sock.close()

    def take(self) -> tuple[list[Frame], bool]:
        """The frames received during this step, and whether the link closed during it."""
        frames, closed_now = self.frames, self.closed_now
        self.frames, self.closed_now = [], False
        return frames, closed_now

    def close(self) -> None:
        if self.sock is not None and not self.closed:
            self.sock.close()
        self.closed = True


def _send_all(sock: socket.socket, data: bytes) -> None:
    view = memoryview(data)
    deadline = time.monotonic() + CONNECT_TIMEOUT
    while view:
        try:
            sent = sock.send(view)
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise OSError("send timed out") from None
            select.select([], [sock], [], 0.05)
            continue
        view = view[sent:]


ANY_FRAME = "<any frame>"  # awaited like a receipt id: satisfied by the first frame (CONNECTED or ERROR)


def arrived(link: Link, wanted: set[str]) -> bool:
    """Whether `link` has seen every receipt in `wanted` (ANY_FRAME: any frame at all)."""
    receipts = {frame.header("receipt-id") for frame in link.frames}
    return all(receipts if item == ANY_FRAME else item in receipts for item in wanted)


def settle(links: list[Link], quiet: float, awaited: dict[int, set[str]], patience: float, limit: float) -> None:
    """Read all links until `quiet` s pass without a byte and each link has its awaited receipts.

    `awaited` maps a link's index in `links` to receipt ids it should see; a link that lacks one
    is given up to `patience` s (RabbitMQ holds the receipts of SENDs in a transaction until
    COMMIT, so a missing receipt is a fact to compare, not a reason to wait forever). `limit`
    bounds the whole wait.
    """
    start = last = time.monotonic()
    while True:
        now = time.monotonic()
        open_links = [link for link in links if not link.closed and link.sock is not None]
        missing = any(
            not links[index].closed and not arrived(links[index], wanted) for index, wanted in awaited.items()
        )
        if now - last >= quiet and (not missing or now - start > patience):
            return
        if now - start > limit or not open_links:
            return
        ready, _, _ = select.select([link.sock for link in open_links], [], [], 0.01)
        for link in open_links:
            if link.sock in ready and link.receive():
                last = time.monotonic()
