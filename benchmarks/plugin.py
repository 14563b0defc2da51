"""The pytest plugin's cost per test: a generated suite run with each broker fixture, in one run.

Workload (issue 6): 200 generated tests, each connecting with stomp.py, subscribing, sending,
receiving its message and disconnecting, run as a separate pytest process (wall clock from
start to exit, pytest's own start-up included) with:
  fresh     a fresh fake broker per test (`stomp_broker`)
  session   one fake broker for the session, cleared between tests (`stomp_broker_session`)
  activemq  `--stomp-url tcp://127.0.0.1:61614` (a real ActiveMQ, when reachable)
  rabbitmq  `--stomp-url tcp://guest:guest@127.0.0.1:61613?host=/` (a real RabbitMQ, when reachable)
and, for scale, `empty`: as many tests that do nothing and use no fixture (pytest alone).
Each is run "lean" (``-p no:hypothesispytest -p no:xdist``: plugins these tests do not use)
and, with --all-plugins, with every installed plugin loaded too. Target: `fresh` under 2 s wall.

Run: .venv/bin/python benchmarks/plugin.py [--quick] [--tests N] [--repeat N] [--no-real] [--all-plugins]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEST_HEADER = """
import queue

import stomp


class Listener(stomp.ConnectionListener):
    def __init__(self):
        self.messages = queue.Queue()

    def on_message(self, frame):
        self.messages.put(frame)


def roundtrip(broker, n):
    connection = stomp.Connection12([broker.address], vhost=broker.vhost)
    listener = Listener()
    connection.set_listener("bench", listener)
    connection.connect(broker.login, broker.passcode, wait=True)
    destination = broker.destination(f"/queue/bench-{n}")
    connection.subscribe(destination, id="1")
    connection.send(destination, f"message {n}")
    assert listener.messages.get(timeout=10).body == f"message {n}"
    connection.disconnect()
"""

REAL = {
    "activemq": ("tcp://127.0.0.1:61614", 61614),
    "rabbitmq": ("tcp://guest:guest@127.0.0.1:61613?host=/", 61613),
}
LEAN = ["-p", "no:hypothesispytest", "-p", "no:xdist"]


def write_suite(directory: Path, tests: int, fixture: str | None) -> Path:
    """A test module of `tests` generated tests using `fixture` (None: empty tests)."""
    path = directory / f"test_bench_{fixture or 'empty'}.py"
    lines = [TEST_HEADER] if fixture else []
    for n in range(tests):
        if fixture:
            lines.append(f"def test_{n}({fixture}):\n    roundtrip({fixture}, {n})\n")
        else:
            lines.append(f"def test_{n}():\n    pass\n")
    path.write_text("\n\n".join(lines))
    return path


def reachable(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def run(path: Path, extra: list[str]) -> tuple[float, str]:
    """Wall seconds of one pytest process over `path`, and its summary line."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path), *extra]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=path.parent, env=env)
    wall = time.perf_counter() - started
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip()[-200:]
    if done.returncode != 0:
        raise SystemExit(f"pytest failed ({done.returncode}) for {path.name} {' '.join(extra)}:\n{done.stdout[-3000:]}")
    return wall, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20 tests, one repeat, lean only")
    parser.add_argument("--tests", type=int, default=None, help="tests per suite (default 200)")
    parser.add_argument("--repeat", type=int, default=None, help="runs per row; the best is reported (default 3)")
    parser.add_argument("--no-real", action="store_true", help="skip the real-broker rows")
    parser.add_argument("--all-plugins", action="store_true", help="also run every row with all installed plugins")
    args = parser.parse_args()
    tests = args.tests or (20 if args.quick else 200)
    repeat = args.repeat or (1 if args.quick else 3)
    variants = [("lean", LEAN)] + ([("all plugins", [])] if args.all_plugins and not args.quick else [])

    rows: list[tuple[str, str, str, int, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="stomptest-bench-") as tmp:
        directory = Path(tmp)
        suites = {
            "empty": (write_suite(directory, tests, None), []),
            "fresh": (write_suite(directory, tests, "stomp_broker"), []),
            "session": (write_suite(directory, tests, "stomp_broker_session"), []),
        }
        for name, (url, port) in REAL.items():
            if args.no_real:
                continue
            if not reachable(port):
                print(f"{name}: not reachable on 127.0.0.1:{port}, row skipped", file=sys.stderr)
                continue
            suites[name] = (suites["fresh"][0], [f"--stomp-url={url}"])
        for variant, plugins in variants:
            for name, (path, extra) in suites.items():
                best = min((run(path, [*extra, *plugins]) for _ in range(repeat)), key=lambda r: r[0])
                per_test = best[0] / tests * 1000
                rows.append((name, variant, " ".join(extra) or "-", tests, best[0], f"{per_test:.1f}"))
                print(f"{name:9} {variant:12} {tests} tests {best[0]:6.2f} s wall  ({best[1]})", file=sys.stderr)

    print(f"\n| suite | plugins | option | tests | wall (s), best of {repeat} | ms per test |")
    print("|---|---|---|---:|---:|---:|")
    for name, variant, extra, count, wall, per_test in rows:
        print(f"| {name} | {variant} | {extra} | {count} | {wall:.2f} | {per_test} |")


if __name__ == "__main__":
    main()
