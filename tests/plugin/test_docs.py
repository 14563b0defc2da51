"""The examples of docs/plugin.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugin.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_every_python_example_of_the_plugin_docs_passes(pytester: pytest.Pytester) -> None:
    files: dict[str, str] = {}
    for number, block in enumerate(python_blocks()):
        named = re.match(r"# (\w+)\.py\n", block)
        files[named.group(1) if named else f"test_doc_{number}"] = block
    assert "shop" in files and len(files) >= 8
    pytester.makepyfile(**files)
    result = pytester.runpytest_inprocess("-p", "no:xdist")
    tests = sum(len(re.findall(r"^def test_", block, flags=re.MULTILINE)) for block in files.values())
    result.assert_outcomes(passed=tests + 2)  # test_each_version runs once per version (3)
