"""The host's write side holds no delivery back: no Nagle, no timer, nothing left queued after the turn.

A hold of the kind that slows test suites (a lone MESSAGE kept until a delayed ACK, up to 40 ms, or
until a timer or the producer's next input) is caught here without timing anything: the sockets must
have TCP_NODELAY, and once the broker has answered a SEND's RECEIPT, the next call into its hub must
find every connection's output written (none queued, no writer greenlet), the MESSAGE included.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from stomptest.broker import Broker
from tests.wsclient import WSClient

from .rawclient import RawClient

SEND = b"SEND\ndestination:/queue/lone\nreceipt:r%d\n\nbody %d\x00"


def _pending(broker: Broker) -> list[tuple[int, int, bool, int]]:
    """Per connection, in the broker's hub: (id, bytes queued, a writer greenlet exists, TCP_NODELAY)."""
    host = broker._host
    assert host is not None

    def look() -> list[tuple[int, int, bool, int]]:
        return [
            (
                client.connection.id,
                client.connection.output_size,
                client.writer is not None,
                client.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY),
            )
            for client in host._clients.values()
        ]

    return host.call(look)


class _Tcp:
    def __init__(self, broker: Broker) -> None:
        self.client = RawClient(broker.port)
        self.client.connect()

    def write(self, data: bytes) -> None:
        self.client.raw(data)

    def expect(self, command: str) -> bytes:
        frame = self.client.expect(command)
        return frame.body if isinstance(frame.body, bytes) else frame.body.encode()


class _Ws:
    def __init__(self, broker: Broker) -> None:
        self.client = WSClient(broker.port)
        assert self.client.connect().startswith(b"CONNECTED")

    def write(self, data: bytes) -> None:
        self.client.text(data)

    def expect(self, command: str) -> bytes:
        message = self.client.wait_for(command.encode() + b"\n")
        assert message is not None, f"no {command}"
        return message.data.rsplit(b"\n\n", 1)[-1].rstrip(b"\x00\n")


@contextmanager
def _pair(broker: Broker, make: Callable[[Broker], _Tcp | _Ws]) -> Iterator[tuple[_Tcp | _Ws, _Tcp | _Ws]]:
    consumer = make(broker)
    consumer.write(b"SUBSCRIBE\nid:1\ndestination:/queue/lone\nreceipt:s\n\n\x00")
    consumer.expect("RECEIPT")
    yield make(broker), consumer


@pytest.mark.parametrize("make", [_Tcp, _Ws], ids=["tcp", "websocket"])
@pytest.mark.parametrize("profile", ["strict", "rabbitmq"])
def test_lone_deliveries_leave_in_the_turn_that_made_them(make: Callable[[Broker], _Tcp | _Ws], profile: str) -> None:
    """Two lone messages in a row, as a test suite awaits them: each is written before the broker waits again."""
    with Broker(profile=profile) as broker, _pair(broker, make) as (producer, consumer):
        for number in (1, 2):
            producer.write(SEND % (number, number))
            producer.expect("RECEIPT")
            pending = _pending(broker)
            assert len(pending) == 2
            for connection, queued, writer, nodelay in pending:
                assert nodelay, f"connection {connection}: Nagle's algorithm would hold small writes for an ACK"
                assert (queued, writer) == (0, False), f"connection {connection}: output still held after the turn"
            assert consumer.expect("MESSAGE") == b"body %d" % number
        broker.check()
