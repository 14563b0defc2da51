"""Coverage-guided fuzzing of `Parser.feed` with atheris.

Run for a bounded time (atheris/libFuzzer flags pass through):

    .venv/bin/python fuzz/parser_fuzz.py -max_total_time=120 fuzz/corpus/parser tests/hostile/corpus/parser

Each input is decoded by `stomptest.testing.fuzzing.run_parser`: version, chunk sizes, then the stream. A crash
(anything but FrameError, or buffering past max_frame_bytes plus one chunk) is written to
crash-<sha1> by libFuzzer: copy it into tests/hostile/corpus/parser/ so that
tests/hostile/test_corpus.py replays it for good.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris  # type: ignore[import-untyped,unused-ignore]

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for an uninstalled checkout

with atheris.instrument_imports():
    import stomptest.protocol.parser  # noqa: F401

from stomptest.testing.fuzzing import run_parser


def main() -> None:
    atheris.Setup(sys.argv, run_parser)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
