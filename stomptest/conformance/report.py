"""A run's report as a terminal table, JSON, JUnit XML or a self-contained HTML page."""

from __future__ import annotations

import html
import json
import xml.etree.ElementTree as ET

from stomptest.conformance.model import Outcome, Report, Verdict

SYMBOLS = {Verdict.PASS: "pass", Verdict.FAIL: "FAIL", Verdict.DEVIATES: "deviates", Verdict.NA: "n/a"}
COLOURS = {Verdict.PASS: "#c8f0c8", Verdict.FAIL: "#f6b8b8", Verdict.DEVIATES: "#fbe3a6", Verdict.NA: "#e4e4e4"}
TRANSCRIPT_LINES = 30


def headline(report: Report) -> str:
    counts = report.counts()
    summary = ", ".join(f"{counts[v.value]} {v.value}" for v in Verdict)
    server = report.server or "(no server header)"
    return (
        f"{report.target} [{server}] profile {report.profile}: {summary} "
        f"({len(report.checks)} checks x {len(report.versions)} versions, {report.seconds:.1f}s)"
    )


def render_table(report: Report, *, details: bool = True) -> str:
    """Rows are checks, columns versions; then what failed (and what deviated) and why."""
    width = max([len("check"), *(len(c.name) for c in report.checks)])
    columns = [max(len(v), 8) for v in report.versions]
    lines = ["check".ljust(width) + "  " + "  ".join(v.ljust(w) for v, w in zip(report.versions, columns, strict=True))]
    lines.append("-" * len(lines[0]))
    for check in report.checks:
        cells = [
            SYMBOLS[report.outcome(check.name, v).verdict].ljust(w)
            for v, w in zip(report.versions, columns, strict=True)
        ]
        lines.append(check.name.ljust(width) + "  " + "  ".join(cells).rstrip())
    lines.append("")
    lines.append(headline(report))
    if details:
        deviating = [o for o in report.outcomes.values() if o.verdict is Verdict.DEVIATES]
        if deviating:
            lines.append("")
            lines.append(f"Expected deviations of profile {report.profile}:")
            for outcome in deviating:
                for finding in outcome.findings:
                    lines.append(f"  {outcome.check} [{outcome.version}] {finding.code}: {finding.message}")
        for outcome in report.failed:
            lines.append("")
            lines.extend(describe_failure(outcome))
    return "\n".join(lines)


def describe_failure(outcome: Outcome) -> list[str]:
    """What was sent, what came back, and the clause the expectation rests on."""
    lines = [f"FAIL {outcome.check} in STOMP {outcome.version}:"]
    for finding in outcome.findings:
        lines.append(f"  - {finding.code}: {finding.message}")
        lines.append(f"    rests on {finding.clause}")
    for note in outcome.notes:
        lines.append(f"  note: {note}")
    transcript = outcome.transcript
    if transcript:
        lines.append("  traffic (> sent, < received):")
        if len(transcript) > TRANSCRIPT_LINES:
            lines.append(f"    ... {len(transcript) - TRANSCRIPT_LINES} earlier lines")
        lines.extend("    " + line.strip() for line in transcript[-TRANSCRIPT_LINES:])
    return lines


def to_dict(report: Report) -> dict[str, object]:
    return {
        "target": report.target,
        "server": report.server,
        "profile": report.profile,
        "versions": list(report.versions),
        "seconds": round(report.seconds, 3),
        "counts": report.counts(),
        "checks": [
            {
                "name": check.name,
                "title": check.title,
                "area": check.area,
                "versions": {v: report.outcome(check.name, v).to_dict() for v in report.versions},
            }
            for check in report.checks
        ],
    }


def to_json(report: Report) -> str:
    return json.dumps(to_dict(report), indent=2, ensure_ascii=False)


def to_junit_xml(report: Report) -> str:
    """One testcase per check and version: fail -> <failure>, n/a -> <skipped>, deviates -> passes with a note."""
    counts = report.counts()
    suite = ET.Element(
        "testsuite",
        name="stomptest.conformance",
        tests=str(len(report.outcomes)),
        failures=str(counts[Verdict.FAIL.value]),
        errors="0",
        skipped=str(counts[Verdict.NA.value]),
        time=f"{report.seconds:.3f}",
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (("target", report.target), ("server", report.server), ("profile", report.profile)):
        ET.SubElement(properties, "property", name=name, value=value)
    for check in report.checks:
        for version in report.versions:
            outcome = report.outcome(check.name, version)
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"stomptest.conformance.{check.area or 'checks'}",
                name=f"{check.name}[{version}]",
                time=f"{outcome.seconds:.3f}",
            )
            if outcome.verdict is Verdict.FAIL:
                failure = ET.SubElement(
                    case, "failure", message="; ".join(f"{f.code}: {f.message}" for f in outcome.findings)
                )
                failure.text = "\n".join(describe_failure(outcome))
            elif outcome.verdict is Verdict.NA:
                ET.SubElement(case, "skipped", message="; ".join(outcome.notes) or "not applicable")
            elif outcome.verdict is Verdict.DEVIATES:
                out = ET.SubElement(case, "system-out")
                out.text = "deviates as profile {} expects: {}".format(
                    report.profile, "; ".join(f"{f.code}: {f.message}" for f in outcome.findings)
                )
    ET.indent(suite)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


_STYLE = """
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #999; padding: 3px 8px; text-align: left; vertical-align: top; }
td.v { text-align: center; min-width: 5em; }
pre { background: #f4f4f4; padding: 6px; overflow-x: auto; font-size: 85%; }
details { margin: 0.3em 0; }
"""


def _cell(outcome: Outcome) -> str:
    title = html.escape("; ".join([f"{f.code}: {f.message}" for f in outcome.findings] + outcome.notes), quote=True)
    anchor = f"{outcome.check}-{outcome.version}"
    return (
        f'<td class="v" style="background:{COLOURS[outcome.verdict]}" title="{title}">'
        f'<a href="#{html.escape(anchor)}">{outcome.verdict.value}</a></td>'
    )


def to_html(report: Report) -> str:
    """A page with the matrix in colour, each cell linking to its findings and traffic."""
    rows = []
    for check in report.checks:
        cells = "".join(_cell(report.outcome(check.name, v)) for v in report.versions)
        rows.append(f"<tr><th>{html.escape(check.name)}</th>{cells}<td>{html.escape(check.title)}</td></tr>")
    heads = "".join(f"<th>STOMP {html.escape(v)}</th>" for v in report.versions)
    sections = []
    for outcome in report.outcomes.values():
        if outcome.verdict is Verdict.NA and not outcome.transcript:
            continue
        body = "".join(
            f"<li><b>{html.escape(f.code)}</b>: {html.escape(f.message)} <i>({html.escape(f.clause)})</i></li>"
            for f in outcome.findings
        )
        body += "".join(f"<li>note: {html.escape(n)}</li>" for n in outcome.notes)
        traffic = html.escape("\n".join(line.strip() for line in outcome.transcript))
        sections.append(
            f'<details id="{html.escape(outcome.check)}-{html.escape(outcome.version)}"'
            f"{' open' if outcome.verdict is Verdict.FAIL else ''}>"
            f"<summary>{html.escape(outcome.check)} [{html.escape(outcome.version)}]: {outcome.verdict.value}"
            f"</summary><ul>{body}</ul><pre>{traffic}</pre></details>"
        )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>STOMP conformance: "
        f"{html.escape(report.target)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>STOMP conformance</h1><p>{html.escape(headline(report))}</p>"
        f"<table><tr><th>check</th>{heads}<th>what it checks</th></tr>{''.join(rows)}</table>"
        f"<h2>Details</h2>{''.join(sections)}</body></html>\n"
    )
