"""Hypothesis strategies for hostile byte streams: valid STOMP streams, then mutated.

Random bytes alone rarely get past a command line; mutating valid streams (from
`stomptest.strategies`) reaches headers, escapes, content-length and bodies.
"""

from __future__ import annotations

from hypothesis import strategies as st

from stomptest import strategies as stomp
from stomptest.protocol import spec

# the bytes STOMP framing turns on
SPECIAL = (b"\x00", b"\n", b"\r", b"\r\n", b":", b"\\", b"\\c", b"\\x", b"\n\n", b"content-length:", b"\xff", b"\xc3")
CONNECTS = {
    "1.0": b"CONNECT\naccept-version:1.0\n\n\x00",
    "1.1": b"CONNECT\naccept-version:1.1\nhost:/\n\n\x00",
    "1.2": b"CONNECT\naccept-version:1.2\nhost:/\n\n\x00",
}


@st.composite
def mutated(draw: st.DrawFn, data: bytes, max_mutations: int = 4) -> bytes:
    """`data` with up to `max_mutations` edits: flips, inserts (special bytes or random), deletions, copies."""
    buffer = bytearray(data)
    for _ in range(draw(st.integers(1, max_mutations))):
        kind = draw(st.sampled_from(["flip", "special", "random", "delete", "copy", "truncate"]))
        at = draw(st.integers(0, len(buffer)))
        if kind == "flip" and buffer:
            index = min(at, len(buffer) - 1)
            buffer[index] ^= draw(st.integers(1, 255))
        elif kind == "special":
            buffer[at:at] = draw(st.sampled_from(SPECIAL))
        elif kind == "random":
            buffer[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            buffer[at : at + draw(st.integers(1, 8))] = b""
        elif kind == "copy" and buffer:
            start = draw(st.integers(0, len(buffer) - 1))
            buffer[at:at] = buffer[start : start + draw(st.integers(1, 64))]
        elif kind == "truncate":
            del buffer[at:]
    return bytes(buffer)


@st.composite
def hostile_streams(draw: st.DrawFn, version: str | None = None) -> tuple[str, bytes]:
    """(version, bytes): a mutated valid stream, or plain random bytes now and then."""
    chosen = version or draw(st.sampled_from(spec.VERSIONS))
    if draw(st.integers(0, 9)) == 0:
        return chosen, draw(st.binary(max_size=512))
    stream = draw(stomp.streams(chosen, max_frames=4))
    return chosen, draw(mutated(stream.data))


@st.composite
def client_streams(draw: st.DrawFn) -> tuple[str, bytes]:
    """(version, bytes) for a broker connection: a CONNECT, then mutated client frames."""
    version = draw(st.sampled_from(spec.VERSIONS))
    stream = draw(stomp.streams(version, stomp.frames(version, side="client"), max_frames=5))
    tail = draw(mutated(stream.data))
    head = CONNECTS[version]
    if draw(st.integers(0, 4)) == 0:
        head = draw(mutated(head, 2))
    return version, head + tail
