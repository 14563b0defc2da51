"""The `stomptest` command: one argparse parser, with one subcommand per module in `SUBCOMMANDS`.

To add a subcommand, write a module with ``add_subcommand(subparsers) -> ArgumentParser``
that adds its parser and sets ``func`` (called with the parsed arguments, returning the
exit status), and add the module's name below. Modules are imported when the parser is
built, so they must stay cheap to import (no gevent, nothing started). Option values are
checked as they are parsed (`stomptest.cli.arguments`); a mistake of the user's ends in one
line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Sequence

from stomptest import __version__
from stomptest.cli.arguments import Parser
from stomptest.protocol.errors import ConfigurationError

SUBCOMMANDS: tuple[str, ...] = (
    "stomptest.broker.command",  # stomptest broker
    "stomptest.conformance.cli",  # stomptest conformance
    "stomptest.cli.messaging",  # stomptest send, receive (subscribe)
    "stomptest.cli.shell",  # stomptest shell
)


def build_parser() -> Parser:
    parser = Parser(prog="stomptest", description="STOMP 1.0-1.2 testing toolkit.")
    parser.add_argument("--version", action="version", version=f"stomptest {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in SUBCOMMANDS:
        command = importlib.import_module(name).add_subcommand(subparsers)
        for sub in command if isinstance(command, list) else [command]:
            sub.set_defaults(prog=sub.prog)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `stomptest ...`; returns the exit status (2 for bad usage, 130 when interrupted)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors: argparse has printed its one line
        return exc.code if isinstance(exc.code, int) else 2
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        status: int = func(args)
    except ConfigurationError as exc:
        print(f"{args.prog}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{args.prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `stomptest receive ... | head -1`: the reader has what it wanted
        _silence_stdout()
        return 0
    return status


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's own flush at exit does not fail on the closed pipe."""
    import os

    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
