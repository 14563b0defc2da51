"""Conformance checks: how a STOMP broker follows the 1.0, 1.1 and 1.2 specs.

The checks speak raw STOMP over a socket (`probe.Probe`) so they can send what a polite
client never would. Each returns a verdict per version: pass, fail, deviates (differs
from the spec exactly as the chosen broker profile is known to; see `deviations`) or
n/a. Run them with `stomptest conformance`, `run_checks(Target(...))`, or as pytest:
``pytest --pyargs stomptest.conformance --stomp-url tcp://host:port``.
"""

from stomptest.conformance.deviations import PROFILE_DEVIATIONS, PROFILES, expected_deviations
from stomptest.conformance.model import Check, Finding, NotApplicable, Outcome, Report, Target, Verdict
from stomptest.conformance.runner import all_checks, run_checks, run_one

__all__ = [
    "PROFILES",
    "PROFILE_DEVIATIONS",
    "Check",
    "Finding",
    "NotApplicable",
    "Outcome",
    "Report",
    "Target",
    "Verdict",
    "all_checks",
    "expected_deviations",
    "run_checks",
    "run_one",
]
