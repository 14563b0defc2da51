"""No import cycle among stomptest's modules at run time.

The graph has an edge from a module to each stomptest module it imports when it runs:
at module level and inside functions, but not under `if TYPE_CHECKING:` (those imports
are for the type checker only). `from package import name` counts as importing the
submodule `package.name` when there is one. Any cycle fails the test, with its path.
Each module is also imported in a fresh interpreter, so an import that only works when
some other module happened to be imported first is found too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import stomptest

ROOT = Path(stomptest.__file__).resolve().parent
PACKAGE = "stomptest"


def module_names() -> dict[str, Path]:
    names = {}
    for path in sorted([*ROOT.rglob("*.py"), *ROOT.rglob("*.so"), *ROOT.rglob("*.pyd")]):
        parts = path.relative_to(ROOT.parent).parts
        parts = (*parts[:-1], parts[-1].split(".")[0])  # frame.py, _speedups.cpython-311-x86_64-linux-gnu.so
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


MODULES = module_names()


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imports_at_run_time(module: str) -> set[str]:
    """The stomptest modules `module` imports when it runs (TYPE_CHECKING blocks left out)."""
    if MODULES[module].suffix != ".py":
        return set()  # a C extension
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for branch in node.orelse:
                visit(branch)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            for alias in node.names:
                # a submodule is imported on its own (its package's __init__ need not have finished);
                # any other name is read from the module `base`, which must then have run
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in MODULES else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    edges = set()
    for name in found:
        # importing a.b.c runs a and a.b too, but a package importing its own submodule is no cycle by that
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module:
            edges.add(name)
    return edges


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path (first node repeated at the end), or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def walk(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for target in sorted(graph.get(node, ())):
            if target in on_path:
                return [*path[path.index(target) :], target]
            if target not in done:
                cycle = walk(target)
                if cycle:
                    return cycle
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            cycle = walk(start)
            if cycle:
                return cycle
    return None


def graph_of(modules: dict[str, Path]) -> dict[str, set[str]]:
    return {name: imports_at_run_time(name) for name in modules}


def test_the_cycle_finder_finds_a_cycle_and_passes_a_tree() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle_among_stomptest_modules() -> None:
    cycle = find_cycle(graph_of(MODULES))
    assert cycle is None, "import cycle at run time: " + " -> ".join(cycle or [])


@pytest.mark.parametrize("module", sorted(MODULES))
def test_each_module_imports_on_its_own(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, cwd=ROOT.parent, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_no_script_shadows_a_standard_library_module() -> None:
    """A script's folder is first on sys.path: benchmarks/selectors.py once broke `import subprocess` there."""
    folders = [ROOT.parent / name for name in ("benchmarks", "scripts", "fuzz", "examples")]
    shadowing = sorted(
        str(path.relative_to(ROOT.parent))
        for folder in folders
        for path in folder.rglob("*.py")
        if path.stem in sys.stdlib_module_names
    )
    assert shadowing == [], f"rename these: a script next to them would import them instead: {shadowing}"
