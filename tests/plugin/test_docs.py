"""The examples of docs/plugin.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .helpers import make_certificate

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugin.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.DOTALL)


def test_every_python_example_of_the_plugin_docs_passes(pytester: pytest.Pytester) -> None:
    files: dict[str, str] = {}
    for number, block in enumerate(python_blocks()):
        named = re.match(r"# (\w+)\.py\n", block)
        files[named.group(1) if named else f"test_doc_{number}"] = block
    assert "shop" in files and "conftest" in files and "test_tls" in files and len(files) >= 10
    (pytester.path / "tests").mkdir()
    make_certificate(pytester.path / "tests")  # for the TLS example's conftest.py (paths relative to the run)
    tls = pytester.mkpydir("tls")  # its conftest.py serves TLS: keep it away from the stomp.py examples
    for name in ("conftest", "test_tls"):
        (tls / f"{name}.py").write_text(files.pop(name))
    pytester.makepyfile(**files)
    result = pytester.runpytest_inprocess("-p", "no:xdist")
    tests = sum(len(re.findall(r"^def test_", block, flags=re.MULTILINE)) for block in python_blocks())
    result.assert_outcomes(passed=tests + 2)  # test_each_version runs once per version (3)


def test_the_python_example_of_the_xdist_docs_passes(pytester: pytest.Pytester) -> None:
    [block] = re.findall(r"```python\n(.*?)```", (DOC.parent / "xdist.md").read_text(), flags=re.DOTALL)
    pytester.makepyfile(test_xdist_doc=block)
    pytester.runpytest_inprocess("-p", "no:xdist").assert_outcomes(passed=1)
