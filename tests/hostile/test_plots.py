"""benchmarks/plots.py draws what the tables and JSON files hold (matplotlib from the `bench` extra)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("matplotlib", reason="matplotlib is in the bench extra")


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "plots.py"
    spec = importlib.util.spec_from_file_location("stomptest_benchmarks_plots", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


plots = _load()

MARKDOWN = """# Benchmarks

## Parser

| workload | parser | frames/s | MB/s | stomptest is |
| --- | --- | ---: | ---: | ---: |
| (a) small | stomptest | 209,097 | 52.9 | |
| | stompest | 48,144 | 12.2 | 4.3x faster |
| (b) large | stomptest | 5,814 | 5,814 | |
| | stompest | 6,081 | 6,081 | as fast |

## Load and memory

| scenario | figure |
| --- | ---: |
| idle | 1 |
"""


def test_numbers_are_read_from_table_cells() -> None:
    assert plots.number("209,097") == 209097
    assert plots.number("1.5 ms") == 1.5
    assert plots.number("**1.93x**") == 1.93
    assert plots.number("as fast") is None
    assert plots.number("") is None


def test_tables_are_found_under_their_sections() -> None:
    found = plots.tables(MARKDOWN)
    assert [(section, len(rows)) for section, _, rows in found] == [("Parser", 4), ("Load and memory", 1)]


def test_every_source_becomes_a_png(tmp_path: Path) -> None:
    markdown = tmp_path / "benchmarks.md"
    markdown.write_text(MARKDOWN)
    made = plots.markdown_plots(markdown, tmp_path)
    assert made and all(path.stat().st_size > 1000 for path in made)
    assert not any("load" in path.name for path in made)  # that section is drawn from its JSON
    figures = json.loads((Path(__file__).resolve().parents[2] / "docs" / "benchmarks" / "load.json").read_text())
    drawn = plots.load_plots(figures, tmp_path)
    assert {path.name for path in drawn} >= {"benchmarks-load-memory.png"}
