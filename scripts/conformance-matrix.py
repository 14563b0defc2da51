#!/usr/bin/env python3
"""Run the conformance checks against the real brokers and the fake broker's profiles; write the matrix.

    .venv/bin/python scripts/conformance-matrix.py [--markdown docs/conformance-matrix.md]
        [--html docs/conformance-matrix.html] [--expected tests/conformance/measured_verdicts.json]

Real RabbitMQ (stomp://127.0.0.1:61613, guest/guest), ActiveMQ (stomp://127.0.0.1:61614) and
Artemis (stomp://127.0.0.1:61615, guest/guest) come from scripts/real-brokers.sh; a broker that
does not answer is left out (and said so). STOMP over WebSocket has columns of its own: RabbitMQ's
web-stomp (ws://127.0.0.1:15674/ws), Artemis' acceptor (ws://127.0.0.1:61615/ws) and ActiveMQ 5.18.3's
WebSocket transport (ws://127.0.0.1:61623/ws; Debian's 5.17 has none), and the fake broker's ws_url in
each profile.
The fake broker runs in each profile, with the real broker's guest/guest user for `rabbitmq` and
`artemis` (so the refused-login check runs).
`--expected` stores the real brokers' verdicts, which tests/conformance asserts.
Never edit the outputs by hand: rerun this.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

from stomptest.conformance import Report, Target, run_checks
from stomptest.conformance.matrix import differences, observation_differences, to_html, to_markdown

REAL = {
    "RabbitMQ": ("stomp://guest:guest@127.0.0.1:61613", "rabbitmq"),
    "ActiveMQ": ("stomp://127.0.0.1:61614", "activemq"),
    "Artemis": ("stomp://guest:guest@127.0.0.1:61615", "artemis"),
    "RabbitMQ ws": ("ws://guest:guest@127.0.0.1:15674/ws", "rabbitmq"),
    "Artemis ws": ("ws://guest:guest@127.0.0.1:61615/ws", "artemis"),
    "ActiveMQ ws": ("ws://127.0.0.1:61623/ws", "activemq"),
}
FAKE_PROFILES = ("strict", "rabbitmq", "activemq", "artemis")
FIDELITY = {
    "fake rabbitmq": "RabbitMQ",
    "fake activemq": "ActiveMQ",
    "fake artemis": "Artemis",
    "fake rabbitmq ws": "RabbitMQ ws",
    "fake artemis ws": "Artemis ws",
    "fake activemq ws": "ActiveMQ ws",
}


def run_fake(profile: str, websocket: bool = False) -> Report:
    from stomptest.broker import Broker

    users = {"guest": "guest"} if profile in ("rabbitmq", "artemis") else None
    with Broker(profile=profile, users=users) as broker:
        login = "guest" if users else None
        url = broker.ws_url if websocket else broker.url
        return run_checks(Target.from_url(url, login=login, passcode=login), profile=profile)


README_START = "<!-- conformance-matrix:start -->"
README_END = "<!-- conformance-matrix:end -->"


def replace_between_markers(path: Path, body: str) -> None:
    """Put `body` between the README's matrix markers, so the README shows the run, not a hand copy."""
    text = path.read_text(encoding="utf-8")
    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise SystemExit(f"{path}: no {README_START} ... {README_END} block to fill")
    path.write_text(text[: start + len(README_START)] + "\n" + body + text[end:], encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markdown", type=Path, default=Path("docs/conformance-matrix.md"))
    parser.add_argument("--html", type=Path, default=Path("docs/conformance-matrix.html"))
    parser.add_argument("--expected", type=Path, help="write the real brokers' verdicts as JSON here")
    parser.add_argument(
        "--readme", type=Path, default=Path("README.md"), help="replace the matrix between its markers here"
    )
    args = parser.parse_args()

    reports: dict[str, Report] = {}
    missing = []
    for name, (url, profile) in REAL.items():
        try:
            reports[name] = run_checks(Target.from_url(url), profile=profile)
        except OSError as exc:
            missing.append(f"{name} ({url}): {exc}")
            print(f"skipping {name}: {exc}", file=sys.stderr)
            continue
        print(f"{name}: {reports[name].counts()} in {reports[name].seconds:.1f}s", file=sys.stderr)
    for websocket in (False, True):
        for profile in FAKE_PROFILES:
            name = f"fake {profile}" + (" ws" if websocket else "")
            reports[name] = run_fake(profile, websocket)
            print(f"{name}: {reports[name].counts()} in {reports[name].seconds:.1f}s", file=sys.stderr)

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    about = "\n".join(
        f"- **{name}**: {r.server or '(no server header)'} at {r.target}, profile `{r.profile}`: "
        + ", ".join(f"{count} {verdict}" for verdict, count in r.counts().items())
        for name, r in reports.items()
    )
    fidelity = []
    for fake, real in FIDELITY.items():
        if real not in reports:
            fidelity.append(f"- {fake} vs {real}: not compared, {real} was not reachable")
            continue
        diff = differences(reports[fake], reports[real])
        fidelity.append(
            f"- {fake} vs {real}: " + ("same verdict on every check" if not diff else f"{len(diff)} differ")
        )
        fidelity.extend(f"  - {line}" for line in diff)
        seen = observation_differences(reports[fake], reports[real])
        fidelity.append(
            f"- {fake} vs {real}, observations (choices the spec leaves open): "
            + ("all the same" if not seen else f"{len(seen)} differ")
        )
        fidelity.extend(f"  - {line}" for line in seen)
    text = (
        "# Conformance matrix (generated)\n\n"
        f"Generated by `scripts/conformance-matrix.py` on {now}; do not edit by hand.\n\n"
        f"{about}\n"
        + "".join(f"- not run: {m}\n" for m in missing)
        + "\n"
        + to_markdown(reports)
        + "\n## Fidelity: the fake broker against the real one\n\n"
        + "\n".join(fidelity)
        + "\n"
    )
    args.markdown.write_text(text, encoding="utf-8")
    args.html.write_text(to_html(reports), encoding="utf-8")
    over_tcp = {name: report for name, report in reports.items() if not name.endswith(" ws")}
    replace_between_markers(
        args.readme,
        f"Generated on {now} by `scripts/conformance-matrix.py`; the WebSocket columns are in "
        "[docs/conformance-matrix.md](https://github.com/stomptest/stomptest/blob/main/docs/conformance-matrix.md).\n\n"
        + to_markdown(over_tcp),
    )
    print(f"wrote {args.markdown} and {args.html}", file=sys.stderr)
    if args.expected is not None:
        measured = {
            name: {
                "server": reports[name].server,
                "verdicts": reports[name].verdicts(),
                "observations": reports[name].observations(),
            }
            for name in REAL
            if name in reports
        }
        args.expected.write_text(json.dumps(measured, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"wrote {args.expected}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
