"""The README's examples run: the files it names (`# shop.py`, `# test_shop.py`) form a project
that pytester tests with the plugin, and every other Python block at least compiles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
NAMED = {m.group(1): block for block in BLOCKS if (m := re.match(r"# (\w+\.py)\b", block))}


def test_the_readme_names_its_example_project() -> None:
    assert {"shop.py", "test_shop.py"} <= set(NAMED)


def test_the_readme_example_project_passes(pytester: pytest.Pytester) -> None:
    for name, source in NAMED.items():
        pytester.makepyfile(**{name[:-3]: source})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=len(re.findall(r"^def test_", NAMED["test_shop.py"], re.M)))


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_every_python_block_compiles(index: int) -> None:
    compile(BLOCKS[index], f"README.md block {index}", "exec")
