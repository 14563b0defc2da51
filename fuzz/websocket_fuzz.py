"""Coverage-guided fuzzing of the broker's WebSocket adapter (before and after the handshake) with atheris.

    pip install -e '.[fuzz]'    # atheris (a wheel for CPython 3.8-3.11 on Linux x86-64; else it builds with clang)
    .venv/bin/python fuzz/websocket_fuzz.py -max_total_time=120 fuzz/corpus/websocket

Each input is decoded by `stomptest.testing.wsfuzzing.run_websocket`: the profile, whether a valid
handshake and CONNECT come first, chunk sizes, then the stream. A crash is an exception from the
adapter, STOMP bytes or a non-HTTP answer before the handshake, a request head held past its bound,
or an internal error of the connection behind it. Copy crashers into tests/hostile/corpus/websocket/.

The module imports without atheris (atheris loads in main()), so tests and linters can import it.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for an uninstalled checkout

from stomptest.testing.wsfuzzing import run_websocket


def one(data: bytes) -> None:
    run_websocket(data)


def main() -> None:
    try:
        import atheris  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        sys.exit("atheris is not installed: pip install -e '.[fuzz]' (see the docstring)")
    logging.getLogger("stomptest.broker").setLevel(logging.WARNING)
    atheris.instrument_all()  # the stomptest and wsproto code already imported above
    atheris.Setup(sys.argv, one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
