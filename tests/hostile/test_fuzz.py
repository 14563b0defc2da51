"""Hypothesis fuzzing of the parser and of the broker's feed path with mutated and random streams.

Properties (stomptest/testing/fuzzing.py): the parser raises nothing but `FrameError`, refuses
input after one, never buffers more than max_frame_bytes plus one chunk and returns no frame
past the limits; a broker connection fed the same records no internal error, keeps its
buffers within the limits and leaves nothing behind when the connection is lost.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from stomptest.broker import PROFILES
from stomptest.protocol import Frame, FrameError, Heartbeat, Parser
from stomptest.testing.fuzzing import (
    MAX_FRAME_BYTES,
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    PREFIXES,
    cut,
    drive_engine,
    drive_parser,
    run_engine,
    run_parser,
)

from .mutations import client_streams, hostile_streams

chunk_sizes = st.lists(st.integers(1, 300), max_size=6)


@given(hostile_streams(), chunk_sizes)
def test_parser_survives_mutated_streams(case: tuple[str, bytes], sizes: list[int]) -> None:
    version, data = case
    drive_parser(version, cut(data, sizes))


@given(st.binary(max_size=2048))
def test_parser_survives_raw_harness_inputs(data: bytes) -> None:
    run_parser(data)


@given(
    st.sampled_from(sorted(PROFILES)),
    client_streams(),
    chunk_sizes,
    st.integers(1, 4),
)
def test_connection_survives_mutated_client_streams(
    profile: str, case: tuple[str, bytes], sizes: list[int], drain_every: int
) -> None:
    drive_engine(profile, cut(case[1], sizes), drain_every)


@given(st.binary(max_size=1024), st.integers(0, len(PREFIXES) - 1), st.integers(0, 255))
def test_connection_survives_raw_harness_inputs(data: bytes, prefix: int, settings: int) -> None:
    run_engine(bytes([settings, prefix, settings // 7]) + data)


def test_oversized_input_is_refused_not_buffered() -> None:
    """A head that never ends, and a body that never ends, each stop at the limits."""
    drive_parser("1.2", [b"SEND\n"] + [b"x" * 200] * 100)
    drive_parser("1.2", [b"SEND\ndestination:/q\n\n"] + [b"y" * 300] * 100)
    for profile in sorted(PROFILES):
        engine = drive_engine(profile, [PREFIXES[1], b"SEND\ndestination:/queue/a\n\n"] + [b"z" * 300] * 100)
        assert not engine.connections


def _parse(version: str, chunks: list[bytes]) -> tuple[list[Frame | Heartbeat], bool]:
    parser = Parser(
        version, max_frame_bytes=MAX_FRAME_BYTES, max_headers=MAX_HEADERS, max_header_bytes=MAX_HEADER_BYTES
    )
    items: list[Frame | Heartbeat] = []
    for chunk in chunks:
        try:
            items += parser.feed(chunk)
        except FrameError as exc:
            return items + list(exc.frames), True
    return items, False


@given(hostile_streams(), st.lists(st.integers(1, 40), max_size=6))
def test_chunking_never_changes_what_a_hostile_stream_parses_to(case: tuple[str, bytes], sizes: list[int]) -> None:
    """The same items, and an error or none, whether the bytes come at once or in small chunks."""
    version, data = case
    assert _parse(version, [data]) == _parse(version, cut(data, sizes))
