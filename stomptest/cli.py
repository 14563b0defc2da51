"""The `stomptest` command: one argparse parser, with one subcommand per module in `SUBCOMMANDS`.

To add a subcommand, write a module with ``add_subcommand(subparsers) -> ArgumentParser``
that adds its parser and sets ``func`` (called with the parsed arguments, returning the
exit status), and add the module's name below. Modules are imported when the parser is
built, so they must stay cheap to import (no gevent, nothing started).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from stomptest import __version__

SUBCOMMANDS: tuple[str, ...] = (
    "stomptest.broker.command",  # stomptest broker
    "stomptest.conformance.cli",  # stomptest conformance
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stomptest", description="STOMP 1.0-1.2 testing toolkit.")
    parser.add_argument("--version", action="version", version=f"stomptest {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(name).add_subcommand(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `stomptest ...`; returns the exit status (2 for bad usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    status: int = func(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
