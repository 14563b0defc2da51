"""A client that sends without ever reading must not make the broker buffer its answers without bound."""

from __future__ import annotations

import socket

from stomptest.broker import Broker

LIMIT = 64 * 1024
RECV = 256 * 1024  # what the host reads at once: the answers to one read may come on top of the limit


def test_answers_to_a_client_that_never_reads_stay_bounded() -> None:
    frame = b"SEND\ndestination:/topic/nobody\nreceipt:%d" + b"r" * 2000 + b"\n\n\x00"
    with Broker(max_output_bytes=LIMIT) as broker:
        sock = socket.create_connection(broker.address, timeout=5)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(b"CONNECT\naccept-version:1.2\nhost:/\n\n\x00")
        sock.settimeout(1)
        sent = 0
        try:
            for start in range(0, 20_000, 500):  # 40 MB of SENDs, each asking for a 2 KB RECEIPT
                sock.sendall(b"".join(frame % number for number in range(start, start + 500)))
                sent += 500
        except TimeoutError:
            pass  # the broker stopped reading us: that is the backpressure
        sizes = broker._call(lambda: [c.output_size for c in broker.engine.connections.values()])
        handled = broker._call(lambda: [c.frames_received for c in broker.engine.connections.values()])
        sock.close()
        assert sent < 20_000, "40 MB went in although nothing was read: the broker buffered the answers"
        assert sizes and max(sizes) <= LIMIT + 2 * RECV, f"{max(sizes)} bytes of answers queued"
        assert handled[0] < 20_000
        broker.check()
