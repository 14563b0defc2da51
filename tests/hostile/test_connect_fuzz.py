"""CONNECT frames with odd values in the headers the broker interprets, for every profile.

The broker answers CONNECTED or an ERROR; it never counts a client's CONNECT as a bug of
its own (`engine.internal_errors` stays empty) and never leaves the connection half-set.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from stomptest.broker import PROFILES
from stomptest.protocol import Frame, FrameError
from stomptest.testing.fuzzing import drive_engine

NAMES = ("accept-version", "host", "login", "passcode", "heart-beat", "receipt", "client-id", "STOMP")
# ASCII digits and the separators the broker splits on; values of other characters go through the codec's tests
values = st.text(alphabet="0123456789,.- :/\\ncx", max_size=24)


@given(
    st.sampled_from(sorted(PROFILES)),
    st.sampled_from(["CONNECT", "STOMP"]),
    st.lists(st.tuples(st.sampled_from(NAMES), values), max_size=8),
    st.sampled_from(["1.0", "1.1", "1.2"]),
)
def test_odd_connect_headers(profile: str, command: str, pairs: list[tuple[str, str]], wire: str) -> None:
    frame = Frame(command, pairs)
    try:
        data = frame.encode(wire)
    except FrameError:
        return  # a value or command this version cannot carry: nothing to send
    drive_engine(profile, [data, b"SEND\ndestination:/queue/a\n\nx\x00", b"DISCONNECT\nreceipt:d\n\n\x00"])
