"""A topic subscriber that never reads, under a producer that floods: the broker holds a bounded amount."""

from __future__ import annotations

import socket

from stomptest.broker import Broker

from .sockets import exchange

MAX_PENDING = 500


def test_a_topic_subscriber_that_never_reads_is_cut_off_at_max_pending() -> None:
    with Broker(max_pending=MAX_PENDING, max_output_bytes=16 * 1024) as broker:
        lazy = socket.create_connection(broker.address, timeout=5)
        lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        lazy.sendall(
            b"CONNECT\naccept-version:1.2\nhost:/\n\n\x00SUBSCRIBE\nid:0\ndestination:/topic/flood\nreceipt:r\n\n\x00"
        )
        broker.wait_for_subscriptions("/topic/flood")
        body = b"x" * 1000
        flood = b"".join(b"SEND\ndestination:/topic/flood\n\n" + body + b"\x00" for _ in range(200))
        data = b"CONNECT\naccept-version:1.2\nhost:/\n\n\x00" + flood * 25 + b"DISCONNECT\nreceipt:done\n\n\x00"
        outcome = exchange(broker.port, data, timeout=20, half_close=False)  # 5,000 messages of 1 KB
        assert outcome.commands[-1] == "RECEIPT", outcome.commands[-3:]  # the producer is never blocked
        state = broker.snapshot()
        subscriptions = state.subscriptions
        # the lazy subscriber was cut off (ERROR and close) rather than the broker holding 5 MB for it
        assert not [s for s in subscriptions if s.destination == "/topic/flood"], subscriptions
        errors = broker.transcript(command="ERROR", direction="out")
        assert any("max_pending" in str(entry.frame) for entry in errors), errors
        lazy.close()
        broker.check()
