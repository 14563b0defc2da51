"""The broker's fast path for a client's WebSocket frames: whole, unfragmented data frames and pings.

wsproto parses a frame in about 10 us of Python, five times what the rest of a SEND costs the
broker over WebSocket; almost every frame a STOMP client sends is the simple kind (FIN set, masked,
text or binary, no RSV bit but RSV1 when permessage-deflate was agreed), which this reads in about
1 us; pings too. At the first frame of any other kind (a close, a fragment, another RSV bit, no
mask, a frame over FAST_MAX bytes) it stops, and the adapter hands that frame and everything after
it to wsproto for good: wsproto has then seen nothing since the handshake, so it starts at a frame
boundary, and the RFC 6455 answers (1002, 1009, the closing handshake) stay wsproto's.
"""

from __future__ import annotations

__all__ = ["FAST_MAX", "PING", "read_frames"]

FAST_MAX = 65536  # larger frames go to wsproto, which streams them instead of holding them whole
PING = 0x89  # FIN and the ping opcode
_DATA = frozenset((0x81, 0x82))  # FIN and the text or binary opcode, no RSV bit
_DEFLATED = frozenset((0x81, 0x82, 0xC1, 0xC2))  # ... or with RSV1: compressed (permessage-deflate)


def read_frames(data: bytes, out: list[tuple[int, bytes]], deflate: bool) -> tuple[int, int]:
    """Append (first byte, unmasked payload) for each simple frame at the start of `data` to `out`.

    `deflate`: permessage-deflate was agreed, so data frames may carry RSV1. Returns (end, need):
    `end` is where the frames read end; `need` is 0 when `data[end:]` starts a frame of another kind
    (for wsproto), else how many bytes from `end` the next frame needs before it can be read.
    """
    kinds = _DEFLATED if deflate else _DATA
    at = 0
    size = len(data)
    while True:
        if at + 2 > size:
            return at, at + 2 - at
        first = data[at]
        second = data[at + 1]
        if second < 0x80 or (first not in kinds and (first != PING or second > 0x80 + 125)):
            return at, 0
        length = second & 0x7F
        start = at + 6
        if length == 126:
            start = at + 8
            if start > size:
                return at, 8
            length = int.from_bytes(data[at + 2 : at + 4], "big")
        elif length == 127:
            start = at + 14
            if start > size:
                return at, 14
            length = int.from_bytes(data[at + 2 : at + 10], "big")
            if length > FAST_MAX:
                return at, 0
        end = start + length
        if end > size:
            return at, end - at
        payload = data[start:end]
        if length:
            mask = data[start - 4 : start]
            if mask != b"\x00\x00\x00\x00":
                key = int.from_bytes((mask * ((length >> 2) + 1))[:length], "big")
                payload = (int.from_bytes(payload, "big") ^ key).to_bytes(length, "big")
        out.append((first, payload))
        at = end
