"""What a user of the package sees: one version, a license, a changelog, links that work on a package
index page, `python -m stomptest`, and docs that name no path of a development machine.

Building and installing the wheel is scripts/check-wheel.sh's job (run by .ci/run): too slow for here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import stomptest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the checks are the same on any version

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
PROJECT_URL = "https://github.com/stomptest/stomptest"


def test_the_version_is_written_once() -> None:
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "stomptest.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", stomptest.__version__)


def test_python_dash_m_stomptest_is_the_command() -> None:
    result = subprocess.run([sys.executable, "-m", "stomptest", "--version"], capture_output=True, text=True, cwd=ROOT)
    assert (result.returncode, result.stdout) == (0, f"stomptest {stomptest.__version__}\n")


def test_license_file_matches_the_declared_license() -> None:
    assert PYPROJECT["project"]["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")


def test_project_urls_and_changelog() -> None:
    urls = PYPROJECT["project"]["urls"]
    assert urls["Source"] == PROJECT_URL and urls["Changelog"].startswith(PROJECT_URL)
    assert (ROOT / "CHANGELOG.md").read_text(encoding="utf-8").startswith("# Changelog")


def test_the_readme_shows_pip_install_first() -> None:
    first_block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert first_block is not None and first_block.group(1) == "pip install stomptest\n"


def test_the_contributors_commands_stay_in_their_section_and_ci_runs_them() -> None:
    section = README[README.index("## Working on stomptest") :]
    suite = "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/pytest -n 2 --dist worksteal"
    assert (
        "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/stomptest broker --profile activemq"
        in section
    )
    assert suite in section and suite in CI
    assert "bash scripts/check-wheel.sh" in CI


def test_readme_links_are_absolute_so_they_work_on_a_package_index() -> None:
    links = re.findall(r"\]\(([^)]+)\)", README)
    assert links
    relative = [link for link in links if not link.startswith(("https://", "http://"))]
    assert relative == []
    for link in links:
        if link.startswith(f"{PROJECT_URL}/blob/main/"):
            path = link.removeprefix(f"{PROJECT_URL}/blob/main/").split("#")[0]
            assert (ROOT / path).exists(), f"README links to {link}, which is not in the repository"


def test_the_docs_name_no_path_of_a_development_machine() -> None:
    machine = re.compile(r"(?<![\w.])/(?:work|root|home|Users|tmp/pytest-of-\w+)/")
    for path in [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        found = machine.findall(path.read_text(encoding="utf-8"))
        assert found == [], f"{path.relative_to(ROOT)} names {found}"
