"""Heart-beats to a client that does not read must not pile up behind output that cannot leave.

A heart-beat only says "still here" when nothing else was sent; while earlier output is still
waiting for the client, another newline adds nothing but memory.
"""

from __future__ import annotations

import socket
import time

from stomptest.broker import Broker


def _output(broker: Broker) -> int:
    return max(broker._call(lambda: [c.output_size for c in broker.engine.connections.values()]) or [0])


def test_heartbeats_do_not_pile_up_behind_unsent_output() -> None:
    with Broker(max_output_bytes=64 * 1024) as broker:
        broker.seed("/queue/q", b"z" * 10_000, count=1_000)  # more than the socket buffers hold
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        sock.connect(broker.address)
        sock.sendall(
            b"CONNECT\naccept-version:1.2\nhost:/\nheart-beat:0,1\n\n\x00SUBSCRIBE\nid:0\ndestination:/queue/q\n\n\x00"
        )
        time.sleep(0.3)  # the buffers fill, the writer waits for us
        before = _output(broker)
        time.sleep(1.0)
        after = _output(broker)
        sock.close()
        assert before > 0, "the output never backed up: the test did not set up what it checks"
        assert after - before <= 64, f"{after - before} bytes of heart-beats queued behind unsent output in 1 s"
