"""Raw-socket helpers for the hostile tests: send bytes, read what comes back until EOF."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field

from stomptest.protocol import Frame, FrameError, Parser


@dataclass
class Outcome:
    """What one hostile connection saw: the frames the broker sent, and whether it closed."""

    frames: list[Frame] = field(default_factory=list)
    closed: bool = False
    reset: bool = False
    unreadable: str | None = None  # the broker sent bytes our parser refused

    @property
    def commands(self) -> list[str]:
        return [frame.command for frame in self.frames]


def exchange(port: int, data: bytes, *, timeout: float = 5.0, half_close: bool = True) -> Outcome:
    """Send `data`, optionally shut our side for writing, and read until the broker closes or `timeout`."""
    outcome = Outcome()
    parser = Parser("1.0")  # lenient: no unescaping, whatever version was negotiated
    deadline = time.monotonic() + timeout
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            outcome.reset = True
        while time.monotonic() < deadline:
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except OSError:
                outcome.reset = outcome.closed = True
                break
            if not chunk:
                outcome.closed = True
                break
            if outcome.unreadable is None:
                try:
                    items = parser.feed(chunk)
                except FrameError as exc:
                    outcome.unreadable = str(exc)
                    items = list(exc.frames)
                outcome.frames += [item for item in items if isinstance(item, Frame)]
    return outcome
