"""`transport.Encoder`: the bytes of every frame are exactly `Frame.encode`'s, however often headers repeat."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import given
from hypothesis import strategies as st

from stomptest import strategies
from stomptest.client.transport import Encoder
from stomptest.protocol.errors import FrameError
from stomptest.protocol.frame import Frame
from stomptest.protocol.spec import VERSIONS

_DESTINATIONS = st.sampled_from(["/queue/a", "/topic/b:c", "/queue/\u00e9\\n"])
_BODIES = st.one_of(st.binary(max_size=40), st.sampled_from([b"", b"a\x00b", b"\x00"]))
_EXTRA = st.lists(
    st.sampled_from([("receipt", "r-1"), ("content-length", "3"), ("x-a", "line\nbreak"), ("x-b", "cr\r")]),
    max_size=2,
)


def _outcome(encode: Callable[[], bytes]) -> bytes | str:
    try:
        return encode()
    except FrameError as exc:
        return f"FrameError: {exc}"


def _same(encoder: Encoder, frame: Frame, version: str) -> None:
    assert _outcome(lambda: encoder.encode(frame, version)) == _outcome(lambda: frame.encode(version))


@given(
    st.sampled_from(VERSIONS),
    st.lists(st.tuples(_DESTINATIONS, _EXTRA, _BODIES), min_size=1, max_size=12),
)
def test_repeated_send_frames_encode_exactly_as_frame_encode(
    version: str, sends: list[tuple[str, list[tuple[str, str]], bytes]]
) -> None:
    encoder = Encoder()
    for destination, extra, body in sends:
        _same(encoder, Frame("SEND", [("destination", destination), *extra], body), version)


@given(st.sampled_from(VERSIONS), st.data())
def test_any_frame_encodes_exactly_as_frame_encode(version: str, data: st.DataObject) -> None:
    encoder = Encoder()
    frame = data.draw(strategies.frames(version, side="client"))
    _same(encoder, frame, version)
    _same(encoder, frame, version)  # the second time from what the first remembered


def test_the_remembered_header_blocks_stay_bounded() -> None:
    encoder = Encoder()
    for number in range(1000):
        frame = Frame("SEND", [("destination", "/queue/a"), ("receipt", f"r-{number}")], b"x")
        assert encoder.encode(frame, "1.2") == frame.encode("1.2")
    assert len(encoder._heads) <= Encoder._LIMIT
