"""The broker's own thread and gevent hub, for callers that are not monkey-patched (used by host.py).

`run_hub_thread` runs the host's main function in a fresh thread, then takes the hub down
cleanly; a `Box` carries one call's result from that thread back to the caller's.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import Any

import gevent

log = logging.getLogger("stomptest.broker")


def caller_is_patched() -> bool:
    """Whether the calling program monkey-patched the socket module with gevent."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("socket"))


class Box:
    """The result of a call posted to the broker's thread."""

    __slots__ = ("done", "error", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


_HUB_JOIN_TIMEOUT = 5.0


def run_hub_thread(main: Callable[..., None], *args: Any) -> None:
    """The broker thread: serve, let the hub's loop run dry, then destroy the hub from this thread.

    `hub.destroy()` throws into the hub greenlet. If the hub is still suspended inside the
    loop's run (in the callback that woke this greenlet), the throw goes through the loop's
    error handler, which throws back into this greenlet, and the hub greenlet dies with the
    loop destroyed under it: that stack, this thread's, the Thread and the Hub then stay
    alive for good (about 10 KB per broker). `hub.join()` first lets the loop finish (every
    watcher is closed by then), so the hub waits at its own top level and the throw unwinds
    it cleanly. Nothing of the host is referenced from this stack while that happens.
    """
    try:
        main(*args)
    finally:
        del main, args
        hub = gevent.get_hub()
        if not hub.join(_HUB_JOIN_TIMEOUT):
            log.warning("the broker's hub still had watchers %g s after stopping", _HUB_JOIN_TIMEOUT)
        hub.destroy(destroy_loop=True)
        del hub
