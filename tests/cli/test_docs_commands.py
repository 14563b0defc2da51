"""Every `stomptest ...` command the docs show parses, and every mistake they show gives the line shown:
a user copying one never meets an unknown option or a different message."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from stomptest.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def commands() -> list[tuple[str, str, str | None]]:
    """(file, command, the usage error the docs show for it or None) for each command of a sh or console block."""
    found: list[tuple[str, str, str | None]] = []
    for path in SOURCES:
        for kind, block in re.findall(r"```(sh|console)\n(.*?)```", path.read_text(encoding="utf-8"), re.S):
            lines = block.splitlines()
            for index, line in enumerate(lines):
                if kind == "console" and not line.startswith("$ "):
                    continue  # output
                line = line.removeprefix("$ ").strip()
                if not line.startswith("stomptest "):
                    continue
                command = line.split("|")[0].split(" #")[0].removesuffix("&").strip()
                shown = lines[index + 1] if kind == "console" and index + 1 < len(lines) else ""
                found.append((path.name, command, shown if "(see stomptest" in shown else None))
    return found


COMMANDS = commands()


def test_the_docs_show_commands_and_mistakes() -> None:
    assert len(COMMANDS) >= 10
    assert sum(error is not None for _, _, error in COMMANDS) >= 2


@pytest.mark.parametrize(("source", "command", "error"), COMMANDS, ids=[f"{s}: {c}" for s, c, _ in COMMANDS])
def test_a_documented_command_parses_or_fails_as_shown(
    source: str, command: str, error: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    words = shlex.split(command)[1:]
    for index in range(1, len(words)):  # files the examples read must exist to parse; point them at this one
        if words[index - 1] in ("--file", "-f"):
            words[index] = __file__
    try:
        build_parser().parse_args(words)
    except SystemExit as exc:
        printed = capsys.readouterr().err.strip()
        assert error is not None, f"{source}: `{command}` does not parse: {printed} ({exc.code})"
        assert printed == error
    else:
        assert error is None, f"{source}: `{command}` is shown failing but parses"
