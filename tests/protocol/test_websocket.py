"""`TextAsBinary`: client text frames marked binary, everything else byte for byte, however the bytes are cut."""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st
from wsproto.frame_protocol import FrameProtocol, Opcode

from stomptest.protocol.websocket import TextAsBinary


def _frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A masked client frame, with the 7-bit, 16-bit or 64-bit length form its size calls for."""
    first = (0x80 if fin else 0) | opcode
    size = len(payload)
    if size < 126:
        length = bytes([0x80 | size])
    elif size < 65536:
        length = bytes([0x80 | 126]) + size.to_bytes(2, "big")
    else:
        length = bytes([0x80 | 127]) + size.to_bytes(8, "big")
    mask = os.urandom(4)
    return bytes([first]) + length + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def _cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


data_frames = st.tuples(
    st.sampled_from([0x1, 0x2]),  # text, binary: every length form
    st.one_of(st.binary(max_size=200), st.sampled_from([b"x" * 300, b"\xff" * 70_000])),
)
control_frames = st.tuples(st.sampled_from([0x9, 0xA]), st.binary(max_size=125))  # ping, pong
frames = st.lists(st.one_of(data_frames, control_frames), min_size=1, max_size=6)


@given(frames, st.lists(st.integers(min_value=0, max_value=71_000), max_size=8))
def test_only_the_opcode_of_text_frames_changes(sent: list[tuple[int, bytes]], cuts: list[int]) -> None:
    stream = b"".join(_frame(opcode, payload) for opcode, payload in sent)
    scanner = TextAsBinary()
    out = b"".join(scanner.feed(part) for part in _cut(stream, cuts))
    assert len(out) == len(stream)
    server = FrameProtocol(client=False, extensions=[])
    server.receive_bytes(out)
    read = [(frame.opcode, bytes(frame.payload)) for frame in server.received_frames()]
    expected = [(Opcode.BINARY if opcode == 0x1 else Opcode(opcode), payload) for opcode, payload in sent]
    assert read == expected


def test_a_fragmented_text_message_becomes_a_binary_one() -> None:
    stream = _frame(0x1, b"SEND\n\n\xff", fin=False) + _frame(0x0, b"\xfe\x00")
    out = TextAsBinary().feed(stream)
    assert out[0] == 0x02  # FIN clear, binary
    assert out[len(_frame(0x1, b"SEND\n\n\xff", fin=False))] == 0x80  # the continuation, untouched
