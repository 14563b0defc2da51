"""Parser throughput: stomptest against stompest 2.3 and stomp.py 9 on the same bytes, in one run.

Workloads (issue 2):
  (a) 100,000 MESSAGE frames, 5 headers (ActiveMQ-style, the message-id escaped as 1.2 requires),
      a 100-byte text body, no content-length, fed in 4 KiB chunks;
  (b) 1,000 MESSAGE frames with 1 MB random binary bodies (NULs included) and content-length,
      fed in 64 KiB chunks.

stompest is driven through `StompParser.add` / `get`. stomp.py has no incremental parser: its
transport splits the byte stream into frames in `BaseTransport.__read` and parses each with
`stomp.utils.parse_frame`. We run that very method, with `receive()` answering from our chunks,
followed by the per-frame loop of `BaseTransport.__read_frames` (heart-beat check, `parse_frame`)
without listener dispatch, and with `auto_decode=False` so bodies stay bytes as in the other two.
Every consumer reads each frame's headers mapping, since a real one would (and some parsers build
it lazily). stomptest is timed twice: as installed (the C fast path for complete, well-formed
frames, stomptest/protocol/_speedups.c) and with that path switched off, as an install without a
C compiler runs.

Run: .venv/bin/python benchmarks/parser.py [--quick] [--repeat N]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable

from stomptest.protocol import Frame, Parser
from stomptest.protocol import parser as parser_module

Runner = Callable[[list[bytes]], int]


def message_frames(count: int) -> bytes:
    """Workload (a): small MESSAGE frames as ActiveMQ sends them in 1.2 (escaped ':' in message-id)."""
    body = (b"x" * 90 + b"0123456789")[:100]
    frames = []
    for i in range(count):
        frames.append(
            Frame(
                "MESSAGE",
                [
                    ("destination", "/queue/bench"),
                    ("message-id", f"ID:bench-host-41237-1700000000000-1:1:1:1:{i}"),
                    ("subscription", "sub-0"),
                    ("priority", "4"),
                    ("timestamp", str(1700000000000 + i)),
                ],
                body,
            ).encode("1.2")
        )
    return b"".join(frames)


def binary_frames(count: int, size: int) -> bytes:
    """Workload (b): large binary bodies sent with content-length (NUL bytes inside)."""
    body = os.urandom(size)
    frame = Frame("MESSAGE", [("destination", "/queue/bulk"), ("message-id", "bulk-1"), ("subscription", "0")], body)
    return frame.encode("1.2", content_length=True) * count


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def run_stomptest(parts: list[bytes], *, fast: bool = True) -> int:
    parser = Parser("1.2")
    if not fast:
        parser._fast = None  # the C fast path off: what an install without a compiler gets
    count = 0
    for part in parts:
        for frame in parser.feed(part):
            frame.headers  # noqa: B018 (a consumer reads the headers: make every parser build them)
            count += 1
    return count


def run_stompest(parts: list[bytes]) -> int:
    from stompest.protocol import StompParser

    parser = StompParser("1.2")
    count = 0
    for part in parts:
        parser.add(part)
        while parser.canRead():
            parser.get().headers  # noqa: B018
            count += 1
    return count


def run_stomppy(parts: list[bytes]) -> int:
    from stomp.transport import BaseTransport
    from stomp.utils import parse_frame

    class ChunkTransport(BaseTransport):  # type: ignore[misc]
        """stomp.py's own framing code, with `receive()` reading our chunks instead of a socket."""

        def __init__(self, source: list[bytes]) -> None:
            super().__init__(auto_decode=False)
            self.running = True
            self.source = source
            self.pulled = 0

        def receive(self) -> bytes:
            self.pulled += 1
            return self.source[self.pulled - 1]

    transport = ChunkTransport(parts)
    read: Callable[[], list[bytes]] = transport._BaseTransport__read
    is_eol: Callable[[bytes], bool] = transport._BaseTransport__is_eol
    count = 0
    # __read pulls chunks until one holds a NUL; the last chunk ends with one, so this ends.
    while transport.pulled < len(parts):
        for frame in read():  # the loop of BaseTransport.__read_frames, minus listener dispatch
            if is_eol(frame):
                continue
            parsed = parse_frame(frame)
            if parsed is not None:
                parsed.headers  # noqa: B018
                count += 1
    return count


def run_stomptest_python(parts: list[bytes]) -> int:
    return run_stomptest(parts, fast=False)


RUNNERS: dict[str, Runner] = {
    "stomptest": run_stomptest,
    "stomptest (pure Python)": run_stomptest_python,
    "stompest 2.3": run_stompest,
    "stomp.py 9": run_stomppy,
}


def workload(title: str, data: bytes, chunk_size: int, expected: int, repeat: int) -> dict[str, float]:
    """Time every parser on the same chunks; rounds alternate between parsers so load drift hits all alike."""
    parts = chunks(data, chunk_size)
    print(f"\n{title}: {expected:,} frames, {len(data) / 1e6:,.1f} MB in {len(parts):,} chunks of {chunk_size:,} bytes")
    best = dict.fromkeys(RUNNERS, float("inf"))
    for _ in range(repeat):
        for name, runner in RUNNERS.items():
            gc.collect()
            start = time.perf_counter()
            count = runner(parts)
            best[name] = min(best[name], time.perf_counter() - start)
            if count != expected:
                sys.exit(f"{name} parsed {count} frames, expected {expected}")
    print(f"  {'parser':<24}{'frames/s':>14}{'MB/s':>12}{'stomptest vs it':>18}")
    for name, seconds in best.items():
        ratio = "" if name == "stomptest" else f"{seconds / best['stomptest']:.1f}x"
        print(f"  {name:<24}{expected / seconds:>14,.0f}{len(data) / seconds / 1e6:>12,.1f}{ratio:>18}")
    return {name: expected / seconds for name, seconds in best.items()}


def main(argv: list[str] | None = None) -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    options.add_argument("--quick", action="store_true", help="tiny workloads, one run: a smoke test, not a measure")
    options.add_argument("--repeat", type=int, default=5, help="rounds; each parser's best is reported (default 5)")
    args = options.parse_args(argv)
    small, large, body = (100_000, 1_000, 1_000_000) if not args.quick else (500, 5, 100_000)
    repeat = 1 if args.quick else args.repeat
    print(f"Python {sys.version.split()[0]}, stompest 2.3, stomp.py 9; best of {repeat} alternating rounds")
    if not parser_module.SPEEDUPS:
        print("NOTE: the C fast path is not built or is switched off: both stomptest rows are pure Python")
    workload("(a) MESSAGE, 5 headers, 100-byte body", message_frames(small), 4096, small, repeat)
    title = f"(b) MESSAGE, {body:,}-byte binary body, content-length"
    workload(title, binary_frames(large, body), 65536, large, repeat)


if __name__ == "__main__":
    main()
