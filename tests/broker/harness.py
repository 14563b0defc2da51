"""A socket-free client for engine tests: frames in, the broker's frames out."""

from __future__ import annotations

from stomptest.broker.connection import Connection
from stomptest.broker.engine import Engine
from stomptest.broker.profiles import PROFILES, Profile
from stomptest.protocol import Frame, Heartbeat, Parser


class Peer:
    """One client connection driven by hand; `now` is the clock it reports to the broker."""

    def __init__(self, engine: Engine, now: float = 1000.0) -> None:
        self.engine = engine
        self.now = now
        self.connection: Connection = Connection(engine, f"test:{len(engine.connections)}", now)
        self.parser = Parser("1.2")

    def raw(self, data: bytes) -> list[Frame | Heartbeat]:
        self.connection.receive_data(data, self.now)
        return self.read()

    def send(self, command: str, headers: dict[str, str] | None = None, body: bytes | str = b"") -> list[Frame]:
        version = self.connection.version or "1.2"
        frame = Frame(command, headers or {}, body)
        return [f for f in self.raw(frame.encode(version)) if isinstance(f, Frame)]

    def read(self) -> list[Frame | Heartbeat]:
        self.parser.version = self.connection.version or "1.2"
        items = self.parser.feed(self.connection.data_to_send())
        if self.connection.closing and not self.connection.closed:
            self.connection.connection_lost(self.now)  # what the host does once the output is flushed
        return items

    def frames(self) -> list[Frame]:
        return [f for f in self.read() if isinstance(f, Frame)]

    def connect(self, version: str = "1.2", **headers: str) -> Frame:
        base = {"accept-version": version, "host": "/"}
        base.update({k.replace("_", "-"): v for k, v in headers.items()})
        reply = self.send("CONNECT", base)
        assert reply and reply[0].command == "CONNECTED", reply
        return reply[0]

    def tick(self, now: float) -> list[Frame | Heartbeat]:
        self.now = now
        self.connection.tick(now)
        return self.read()


def engine(profile: str | Profile = "strict", **kwargs: object) -> Engine:
    chosen = PROFILES[profile] if isinstance(profile, str) else profile
    return Engine(chosen, **kwargs)  # type: ignore[arg-type]


def connected(eng: Engine, version: str = "1.2", **headers: str) -> Peer:
    peer = Peer(eng)
    peer.connect(version, **headers)
    return peer
