"""Coverage-guided fuzzing of the broker's feed path (`Connection.receive_data`) with atheris.

    .venv/bin/python fuzz/engine_fuzz.py -max_total_time=120 fuzz/corpus/engine tests/hostile/corpus/engine

Each input is decoded by `stomptest.testing.fuzzing.run_engine`: the profile, a valid opening (CONNECT, and a
SUBSCRIBE with client ack), chunk sizes and how often output is drained, then the stream.
A crash is an internal error of the broker (`Broker.check()` would raise), a buffer past the
limits, or a subscription left behind by a lost connection. Copy crashers into
tests/hostile/corpus/engine/.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import atheris  # type: ignore[import-untyped,unused-ignore]

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for an uninstalled checkout

with atheris.instrument_imports():
    import stomptest.broker.connection
    import stomptest.broker.engine
    import stomptest.protocol.parser  # noqa: F401

from stomptest.testing.fuzzing import run_engine


def one(data: bytes) -> None:
    run_engine(data)


def main() -> None:
    logging.getLogger("stomptest.broker").setLevel(logging.WARNING)
    atheris.Setup(sys.argv, one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
