"""A hostile STOMP server for fuzzing the clients: it answers CONNECT with mutated frames.

One listening socket on 127.0.0.1; each accepted connection gets its script of bytes
(drawn by the test), then silence or a close. Bounded: each connection is served once,
with timeouts, and the server thread stops with `close()`.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading

from stomptest.testing.fuzzing import mutate

SERVER_FRAMES = (
    b"MESSAGE\nsubscription:sub-1\nmessage-id:m1\ndestination:/queue/a\nack:a1\n\nbody\x00",
    b"MESSAGE\nsubscription:0\nmessage-id:m2\ndestination:/queue/a\ncontent-length:4\n\nb\x00dy\x00",
    b"RECEIPT\nreceipt-id:1\n\n\x00",
    b"RECEIPT\nreceipt-id:nobody\n\n\x00",
    b"ERROR\nmessage:boom\ncontent-type:text/plain\n\nsomething broke\x00",
    b"ERROR\nmessage:bad\nreceipt-id:2\n\n\x00",
    b"\n",
    b"\r\n",
)


def hostile_script(rng: random.Random) -> tuple[bytes, bool]:
    """(bytes to send after CONNECT, close afterwards?)"""
    connected = b"CONNECTED\nversion:1.2\nheart-beat:0,0\nserver:hostile\n\n\x00"
    if rng.randrange(4) == 0:
        connected = mutate(rng, connected, 2)
    frames = [rng.choice(SERVER_FRAMES) for _ in range(rng.randint(0, 6))]
    body = b"".join(mutate(rng, frame) if rng.randrange(2) else frame for frame in frames)
    return connected + body, rng.randrange(2) == 0


class HostileServer:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.sent: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        open_sockets: list[socket.socket] = []
        while not self._stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            sock.settimeout(1)
            with contextlib.suppress(OSError):
                data = b""
                while b"\x00" not in data:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                script, close = hostile_script(self.rng)
                self.sent.append(script)
                sock.sendall(script)
                if close:
                    sock.close()
                    continue
            open_sockets.append(sock)
        for sock in open_sockets:
            sock.close()

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        self._thread.join(5)
