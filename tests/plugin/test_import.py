"""Loading the plugin is cheap and has no side effects: it loads in every pytest run."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CHECK = """
import json, socket, sys, threading
original = socket.socket
import stomptest.pytest_plugin
print(json.dumps({
    "gevent": sorted(m for m in sys.modules if m == "gevent" or m.startswith("gevent.")),
    "broker": "stomptest.broker" in sys.modules,
    "client": "stomptest.client" in sys.modules,
    "threads": threading.active_count(),
    "socket_patched": socket.socket is not original,
}))
"""


def test_importing_the_plugin_loads_no_gevent_no_broker_and_starts_nothing() -> None:
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout)
    assert found == {"gevent": [], "broker": False, "client": False, "threads": 1, "socket_patched": False}


def test_a_pytest_run_that_uses_no_fixture_never_loads_the_broker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys
        def test_nothing_loaded():
            assert "stomptest.broker" not in sys.modules
            assert not any(m == "gevent" or m.startswith("gevent.") for m in sys.modules)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:xdist", "-p", "no:hypothesispytest")
    result.assert_outcomes(passed=1)


def test_the_entry_point_names_the_plugin() -> None:
    from importlib.metadata import entry_points

    found = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert found.get("stomptest") == "stomptest.pytest_plugin"
