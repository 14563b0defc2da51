"""The optional C extension (`_speedups.c`), loaded once for the codec's modules.

It is None when it was not built (no C compiler at install time) or when the environment
sets STOMPTEST_PURE_PYTHON; the pure-Python code then does all the work, with the same results.
"""

from __future__ import annotations

import os
from types import ModuleType


def _load() -> ModuleType | None:
    if os.environ.get("STOMPTEST_PURE_PYTHON"):
        return None
    try:
        from stomptest.protocol import _speedups
    except ImportError:
        return None
    return _speedups


speedups: ModuleType | None = _load()
