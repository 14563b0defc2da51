"""A headless Chromium page driven over the DevTools protocol: enough to test a web page from pytest.

Why this and not Selenium, Playwright or Puppeteer: each of those downloads a browser (or a driver
matching one) of its own; this uses the chromium already installed (Debian's `chromium` package) and
one Python dependency, websocket-client, which stomp.py already brings. It starts
``chromium --headless --remote-debugging-port=0``, reads the port Chromium chose from the profile
directory's DevToolsActivePort file, attaches to the first page and offers `goto` and `evaluate`
(a JavaScript expression, awaited when it is a promise, its value returned as JSON).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from typing import Any

import websocket  # websocket-client

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    """The browser to start: $CHROMIUM, or the first of BROWSERS on PATH."""
    return os.environ.get("CHROMIUM") or next(filter(None, map(shutil.which, BROWSERS)), None)


class ChromiumError(RuntimeError):
    """The browser did not start, or a page's JavaScript threw."""


class Chromium:
    """One headless browser with one page; use as a context manager."""

    def __init__(self, executable: str | None = None, timeout: float = 20.0) -> None:
        executable = executable or find_chromium()
        if executable is None:
            raise ChromiumError(
                f"no Chromium: install Debian's chromium package or set $CHROMIUM (looked for {BROWSERS})"
            )
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="stomptest-chromium-")
        args = [executable, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-extensions", "--disable-background-networking", "--remote-debugging-port=0",
                "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                "--disable-backgrounding-occluded-windows",
                f"--user-data-dir={self._profile}", "about:blank"]  # fmt: skip
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start. The throttling flags keep
        # setInterval on time in a page nobody looks at: stompjs's heart-beats are late otherwise, and a broker
        # that checks them closely (the activemq profile) closes the connection
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._ws = websocket.create_connection(self._page_socket(), timeout=timeout, suppress_origin=True)
        self._id = 0

    def _page_socket(self) -> str:
        port_file = os.path.join(self._profile, "DevToolsActivePort")
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ChromiumError(f"chromium exited with status {self._process.returncode}")
            try:
                with open(port_file) as f:
                    port = int(f.readline())
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=2) as answer:
                    pages = [t for t in json.load(answer) if t["type"] == "page"]
                if pages:
                    return str(pages[0]["webSocketDebuggerUrl"])
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        self.close()
        raise ChromiumError(f"chromium did not open its DevTools port within {self.timeout} s")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command; its result (events that arrive meanwhile are dropped)."""
        self._id += 1
        self._ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            answer = json.loads(self._ws.recv())
            if answer.get("id") == self._id:
                if "error" in answer:
                    raise ChromiumError(f"{method}: {answer['error']}")
                return answer["result"]  # type: ignore[no-any-return]

    def goto(self, url: str) -> None:
        """Load `url` and wait until its document has loaded (scripts included)."""
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'")

    def evaluate(self, expression: str, timeout: float | None = None) -> Any:
        """The value of a JavaScript expression in the page, awaited if it is a promise."""
        self._ws.settimeout(timeout or self.timeout)
        try:
            result = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        finally:
            self._ws.settimeout(self.timeout)
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise ChromiumError(details.get("exception", {}).get("description") or details.get("text"))
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float | None = None) -> Any:
        """Poll a JavaScript expression until it is truthy; its value."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise ChromiumError(f"still false after {timeout or self.timeout} s: {expression}")
            time.sleep(0.05)

    def close(self) -> None:
        try:
            if getattr(self, "_ws", None) is not None:
                self._ws.close()
        finally:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
