"""Short forms of the load and fault scenarios of benchmarks/load.py (the long forms run there or with --soak).

These check correctness only (nothing lost, nothing twice, limits kept, the broker healthy);
the figures they measure are for benchmarks/, never asserted here.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "load.py"
    spec = importlib.util.spec_from_file_location("stomptest_benchmarks_load", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


load = _load()


def test_idle_connections_with_heartbeats_all_stay() -> None:
    result = load.idle_connections(200, heartbeat_ms=500, hold=1.5)
    assert result["connected"] == result["still_connected_after_hold"] == 200
    assert result["lost"] == 0 and result["not_connected"] == 0
    assert result["connections_never_beaten"] == 0  # every connection heard the broker's heart-beats
    assert result["check"] == "ok"


def test_queued_messages_are_all_delivered_once() -> None:
    result = load.queued_messages(5_000)
    assert result["queued"] == 5_000
    assert result["received"] == 5_000 and result["lost"] == 0 and result["duplicates"] == 0
    assert result["check"] == "ok"


def test_slow_consumer_never_holds_more_than_its_prefetch() -> None:
    result = load.slow_consumer(150, prefetch=5, delay=0.001)
    assert result["lost"] == 0 and result["duplicates"] == 0 and result["left_queued"] == 0
    assert 1 <= result["most_unacked_seen"] <= 5
    assert result["check"] == "ok"


def test_restarts_under_a_failover_client_lose_nothing() -> None:
    result = load.restarts(15)
    assert result["restarts"] == 15 and result["client_reconnects"] >= 15
    assert result["lost"] == 0 and result["acked_twice"] == 0 and result["left_on_broker"] == 0


def test_restarts_under_a_failover_async_client_lose_nothing() -> None:
    result = load.restarts_async(15)
    assert result["restarts"] == 15 and result["client_reconnects"] >= 15
    assert result["lost"] == 0 and result["acked_twice"] == 0 and result["left_on_broker"] == 0


@pytest.mark.soak
def test_idle_connections_soak() -> None:
    result = load.idle_connections(5_000, heartbeat_ms=1000, hold=10.0)
    assert result["lost"] == 0 and result["still_connected_after_hold"] == 5_000
    assert result["check"] == "ok"


@pytest.mark.soak
def test_queued_messages_soak() -> None:
    result = load.queued_messages(200_000)
    assert result["lost"] == 0 and result["duplicates"] == 0 and result["check"] == "ok"


@pytest.mark.soak
def test_restarts_soak() -> None:
    result = load.restarts(300)
    assert result["lost"] == 0 and result["acked_twice"] == 0 and result["left_on_broker"] == 0
