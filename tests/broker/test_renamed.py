"""Names the broker had before issue 12 still import, for one release, with a DeprecationWarning."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import stomptest.broker
from stomptest.broker import MessageSnapshot, snapshot


def test_message_info_is_message_snapshot_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match="MessageSnapshot"):
        from stomptest.broker import MessageInfo
    assert MessageInfo is MessageSnapshot


def test_the_inspect_module_is_the_snapshot_module_with_a_warning() -> None:
    with pytest.warns(DeprecationWarning, match=r"stomptest\.broker\.snapshot"):
        old = stomptest.broker.inspect
    assert old is snapshot


def test_other_missing_names_are_still_missing() -> None:
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        stomptest.broker.NoSuchThing  # noqa: B018


def test_the_new_names_need_no_warning() -> None:
    code = (
        "from stomptest.broker import Broker, MessageSnapshot, Snapshot\n"
        "from stomptest.broker.snapshot import MessageSnapshot, snapshot\n"
        "import stomptest.testing, stomptest.pytest_plugin\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", code],
        capture_output=True,
        text=True,
        cwd=Path(stomptest.__file__).resolve().parent.parent,
    )
    assert result.returncode == 0, result.stderr
    assert "MessageSnapshot" in stomptest.broker.__all__ and "MessageInfo" not in stomptest.broker.__all__
