"""benchmarks/client.py runs in --quick mode against the fake broker (what it measures is not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "client.py"


def test_client_benchmark_quick_mode_runs_every_client() -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--brokers", "fake"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-4000:]
    rows = [line.split() for line in out.stdout.splitlines() if line.startswith("fake ") and " vs " not in line]
    assert [row[1] for row in rows] == ["stomptest", "stomp.py", "stompest", "raw"]
    for other in ("stomp.py", "stompest", "raw      "):
        assert f"fake      vs {other}" in out.stdout


def test_client_benchmark_refuses_unknown_names() -> None:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--brokers", "kafka"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 2 and "unknown broker or client: kafka" in out.stderr


def test_client_benchmark_cpu_mode_measures_each_stage() -> None:
    out = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--cpu"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-4000:]
    assert out.stdout.startswith("stomptest CPU per message: parser ") and "send " in out.stdout
