"""`stomptest conformance` progress: redrawn in place on a terminal, one line per outcome elsewhere."""

from __future__ import annotations

import io

from stomptest.conformance.cli import _progress
from stomptest.conformance.model import Outcome, Verdict


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def outcome(check: str, verdict: Verdict) -> Outcome:
    return Outcome(check=check, version="1.2", verdict=verdict)


def test_on_a_terminal_one_line_is_redrawn_and_failures_stay() -> None:
    stream = Terminal()
    show = _progress(stream, 3)
    show(outcome("framing-body", Verdict.PASS))
    show(outcome("ack-client", Verdict.FAIL))
    show(outcome("nack", Verdict.NA))
    text = stream.getvalue()
    assert text.count("\n") == 1  # only the failure is a line of its own
    assert "\r\033[K[  2/3] FAIL     ack-client [1.2]\n" in text
    assert f"\r\033[K[{'#' * 10}{'.' * 20}] 1/3 framing-body" in text
    assert text.endswith("\r\033[K")  # the status line is wiped at the end, before the table


def test_elsewhere_each_outcome_is_a_line_and_nothing_is_redrawn() -> None:
    stream = io.StringIO()
    show = _progress(stream, 2)
    show(outcome("framing-body", Verdict.PASS))
    show(outcome("nack", Verdict.NA))
    assert stream.getvalue() == "[  1/2] pass     framing-body [1.2]\n"
