"""The conformance suite shares --stomp-url with the plugin: both load together without a conflict."""

from __future__ import annotations

import pytest

from stomptest.broker import Broker


def test_pyargs_conformance_with_a_stomp_url_collects_with_the_plugin_loaded(pytester: pytest.Pytester) -> None:
    with Broker() as broker:
        url = f"{broker.url}?profile=strict&versions=1.1,1.2&host=/"
        result = pytester.runpytest_inprocess(
            "-p", "no:xdist", "--pyargs", "stomptest.conformance", f"--stomp-url={url}", "--collect-only", "-q"
        )
    assert result.ret == pytest.ExitCode.OK
    collected = [line for line in result.outlines if "test_conformance[" in line]
    assert collected and all(line.endswith(("[1.1]]", "[1.2]]")) for line in collected)
    assert any(line.endswith("[1.1]]") for line in collected)


def test_the_conformance_options_plugin_and_this_plugin_register_stomp_url_once(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("-p", "no:xdist", "-p", "stomptest.conformance.options", "--help")
    assert result.ret == pytest.ExitCode.OK
    assert sum(line.strip().startswith("--stomp-url") for line in result.outlines) == 1
    result.stdout.fnmatch_lines(["*--conformance-versions*", "*--stomp-versions*"])
