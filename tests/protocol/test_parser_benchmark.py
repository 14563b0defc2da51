"""benchmarks/parser.py runs in --quick mode, so it cannot rot; what it measures is not asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "parser.py"


def test_parser_benchmark_quick_mode_parses_with_every_parser() -> None:
    out = subprocess.run([sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-4000:]
    for workload in ("(a) MESSAGE, 5 headers, 100-byte body", "(b) MESSAGE, 100,000-byte binary body"):
        assert workload in out.stdout
    rows = [line[2:26].strip() for line in out.stdout.splitlines() if line.startswith("  ") and "frames/s" not in line]
    assert rows == ["stomptest", "stomptest (pure Python)", "stompest 2.3", "stomp.py 9"] * 2
