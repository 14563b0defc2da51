"""Argument types shared by the `stomptest` subcommands: each one checks a value when it is parsed.

argparse calls these with the text the user typed; a bad value raises `ArgumentTypeError`,
which `Parser.error` turns into one line, so no subcommand starts its work (a broker, a
conformance run, a connection) on options that would fail later, and nothing ends in a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import Any, NoReturn


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: what was wrong and where to read more."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


# The longest wait an option takes: a week. Beyond what select() and the clocks take (1e308 ended in an
# OverflowError deep in the client), and no test or tail needs more.
MAX_SECONDS = 7 * 24 * 3600


def positive_seconds(text: str) -> float:
    """A number of seconds > 0 and at most a week (inf and nan are refused: a wait must end)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of seconds greater than 0")
    if value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text!r}: give at most {MAX_SECONDS} seconds (a week)")
    return value


def at_least(minimum: int) -> Any:
    """An integer >= `minimum`."""

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of at least {minimum}")
        return value

    convert.__name__ = f"integer >= {minimum}"
    return convert


def port(text: str) -> int:
    """A TCP port, 0 to 65535 (0: the system picks a free one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: a port is 0 to 65535 (0 picks a free one)")
    return value


def output_file(text: str) -> Path:
    """A file the run may write: its folder exists and is writable, and it is not a folder itself."""
    path = Path(text)
    folder = path.parent
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder: give a file name")
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: the folder {str(folder)!r} does not exist")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: permission denied")
    return path


def input_file(text: str) -> Path:
    """A file the command reads (`-` is not accepted here: use stdin by leaving the option out)."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"cannot read {text!r}: it is a folder; give a file")
    if not path.is_file():
        raise argparse.ArgumentTypeError(f"cannot read {text!r}: no such file")
    if not os.access(path, os.R_OK):
        raise argparse.ArgumentTypeError(f"cannot read {text!r}: permission denied")
    return path


def destination(text: str) -> str:
    """A destination to send to or subscribe to: STOMP needs one that is not empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError("give a destination such as /queue/orders or /topic/prices")
    return text


def header(text: str) -> tuple[str, str]:
    """A STOMP header written NAME:VALUE (the value may contain colons; the name may not be empty)."""
    name, colon, value = text.partition(":")
    if not colon or not name:
        raise argparse.ArgumentTypeError(f"header {text!r}: write NAME:VALUE")
    return name, value


class Deprecated(argparse.Action):
    """An old option spelling that still works, with a warning naming the new one (`dest` is the new option's)."""

    def __init__(self, option_strings: list[str], dest: str, *, new: str, **kwargs: Any) -> None:
        self.new = new
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option: str | None = None
    ) -> None:
        print(f"{parser.prog}: {option} is deprecated, use {self.new} (same meaning)", file=sys.stderr)
        setattr(namespace, self.dest, values)
