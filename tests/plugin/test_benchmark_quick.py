"""benchmarks/plugin.py still runs (quick mode, no real brokers); its figures are not checked here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "plugin.py"


def test_the_plugin_benchmark_runs_in_quick_mode() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--tests", "5", "--no-real"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and "|---" not in line]
    assert [row.split("|")[1].strip() for row in rows[1:]] == ["empty", "fresh", "session"]
    assert "5 passed" in done.stderr
