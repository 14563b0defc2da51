"""Several runs side by side: the brokers-by-checks matrix, as Markdown or HTML, and where two runs differ."""

from __future__ import annotations

import html

from stomptest.conformance.model import Outcome, Report, Verdict
from stomptest.conformance.report import COLOURS

LETTERS = {Verdict.PASS: "P", Verdict.FAIL: "F", Verdict.DEVIATES: "D", Verdict.NA: "-"}


def cell(report: Report, check: str) -> str:
    """The verdicts of one check in every version of the run, as letters: ``P P D``."""
    return " ".join(LETTERS[report.outcome(check, v).verdict] for v in report.versions)


def _codes(outcome: Outcome) -> str:
    return ", ".join(f.code for f in outcome.findings) or "no findings"


def differences(fake: Report, real: Report) -> list[str]:
    """One line per check and version where the two runs' verdicts differ, with the findings of each."""
    lines = []
    for key, outcome in fake.outcomes.items():
        other = real.outcomes.get(key)
        if other is not None and other.verdict is not outcome.verdict:
            lines.append(
                f"{key[0]} [{key[1]}]: fake {outcome.verdict.value} ({_codes(outcome)}), "
                f"real {other.verdict.value} ({_codes(other)})"
            )
    return lines


def observation_differences(fake: Report, real: Report) -> list[str]:
    """One line per observation (a choice the spec leaves open) where the two runs differ."""
    lines = []
    for key, outcome in fake.outcomes.items():
        other = real.outcomes.get(key)
        if other is None:
            continue
        for name in sorted(set(outcome.observations) | set(other.observations)):
            mine, theirs = outcome.observations.get(name, "(not seen)"), other.observations.get(name, "(not seen)")
            if mine != theirs:
                lines.append(f"{key[0]} [{key[1]}] {name}: fake {mine!r}, real {theirs!r}")
    return lines


def to_markdown(reports: dict[str, Report]) -> str:
    names = list(reports)
    first = next(iter(reports.values()))
    versions = "/".join(first.versions)
    lines = [
        "| check | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for check in first.checks:
        lines.append(f"| {check.name} | " + " | ".join(f"`{cell(reports[n], check.name)}`" for n in names) + " |")
    legend = f"Each cell gives STOMP {versions} in order: P pass, F fail, D deviates (as the profile expects), - n/a."
    return legend + "\n\n" + "\n".join(lines) + "\n"


def to_html(reports: dict[str, Report], title: str = "STOMP conformance matrix") -> str:
    names = list(reports)
    first = next(iter(reports.values()))
    heads = "".join(f"<th colspan='{len(first.versions)}'>{html.escape(n)}</th>" for n in names)
    subheads = "".join(f"<th>{html.escape(v)}</th>" for _ in names for v in first.versions)
    rows = []
    for check in first.checks:
        cells = []
        for name in names:
            for version in reports[name].versions:
                outcome = reports[name].outcome(check.name, version)
                tip = "; ".join([f"{f.code}: {f.message}" for f in outcome.findings] + outcome.notes)
                cells.append(
                    f"<td style='background:{COLOURS[outcome.verdict]}' title='{html.escape(tip, quote=True)}'>"
                    f"{LETTERS[outcome.verdict]}</td>"
                )
        rows.append(f"<tr><th>{html.escape(check.name)}</th>{''.join(cells)}</tr>")
    about = "".join(
        f"<li><b>{html.escape(n)}</b>: {html.escape(r.target)} [{html.escape(r.server)}], profile {r.profile}</li>"
        for n, r in reports.items()
    )
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif} table{border-collapse:collapse} th,td{border:1px solid #999;"
        "padding:2px 6px;text-align:center} th{text-align:left}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><ul>{about}</ul>"
        "<p>P pass, F fail, D deviates as the profile expects, - n/a. Hover a cell for its findings.</p>"
        f"<table><tr><th rowspan='2'>check</th>{heads}</tr><tr>{subheads}</tr>{''.join(rows)}</table>"
        "</body></html>\n"
    )
