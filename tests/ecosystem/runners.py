"""The three real clients as runners: each takes the targets and returns {target: {step: outcome}}.

stompjs under Node (node/run.js, the `ws` package), stompjs in headless Chromium (node/page.html over
the DevTools protocol, examples/browser/chromium.py), stomp.py's WSStompConnection (stomppy.py). Each
runs every step against every target at once, so a run costs about the longest step (3 s of idle
heart-beats), not their sum.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from examples.browser.chromium import Chromium, find_chromium

from .conftest import INSTALL, NODE_DIR, node_skip_reason
from .stomppy import run_targets

Results = dict[str, dict[str, dict[str, Any]]]


def _node(targets: list[dict[str, str]]) -> Results:
    done = subprocess.run(
        ["node", str(NODE_DIR / "run.js"), json.dumps(targets)], capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise RuntimeError(f"node run.js failed ({done.returncode}): {done.stderr}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def _chromium(targets: list[dict[str, str]]) -> Results:
    with Chromium() as browser:
        browser.goto((NODE_DIR / "page.html").resolve().as_uri())
        browser.wait_for("typeof stomptestEcosystem === 'object' && typeof StompJs === 'object'")
        return browser.evaluate(f"stomptestEcosystem.runTargets(StompJs, {json.dumps(targets)})", timeout=60)  # type: ignore[no-any-return]


def _chromium_skip_reason() -> str | None:
    if find_chromium() is None:
        return f"chromium is not installed: {INSTALL}"
    return node_skip_reason()  # the page loads stompjs from node_modules


@dataclass(frozen=True)
class Runner:
    run: Callable[[list[dict[str, str]]], Results]
    skip_reason: Callable[[], str | None]


RUNNERS = {
    "stompjs-node": Runner(_node, node_skip_reason),
    "stompjs-chromium": Runner(_chromium, _chromium_skip_reason),
    "stomp.py": Runner(run_targets, lambda: None),
}
