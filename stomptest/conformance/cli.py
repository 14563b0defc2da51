"""`stomptest conformance`: run the checks against a URL, or against the embedded fake broker.

The main CLI wires this in with `add_subcommand(subparsers)` and dispatches to `run(args)`;
`python -m stomptest.conformance` runs it on its own.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from stomptest import urls
from stomptest.cli.arguments import Deprecated, Parser, at_least, output_file, positive_seconds
from stomptest.client.transport import verifying_context
from stomptest.conformance.deviations import PROFILES
from stomptest.conformance.model import Outcome, Target, Verdict
from stomptest.conformance.options import parse_versions, split_query
from stomptest.conformance.report import SYMBOLS, render_table, to_html, to_json, to_junit_xml
from stomptest.conformance.runner import DEFAULT_WORKERS, all_checks, first_reachable, run_checks, select_checks
from stomptest.protocol.errors import ConfigurationError
from stomptest.protocol.spec import VERSIONS

DESCRIPTION = "Check how a STOMP broker follows the STOMP 1.0/1.1/1.2 specs (the embedded fake broker if no URL)."


def configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "url",
        nargs="?",
        help="the broker: tcp://host[:port] (61613 if omitted), ssl://host:port, ws://host:port/path, wss://..., "
        "or failover:(...) to test "
        "its first reachable member; omit to test the fake broker",
    )
    parser.add_argument(
        "--profile",
        choices=["auto", *PROFILES],
        default=None,
        help="whose known deviations to expect (default: auto from the CONNECTED server header; "
        "strict for the fake broker)",
    )
    parser.add_argument("--versions", default=",".join(VERSIONS), help="comma-separated, default 1.0,1.1,1.2")
    parser.add_argument("--login", help="CONNECT login")
    parser.add_argument("--passcode", help="CONNECT passcode")
    parser.add_argument("--vhost", help="CONNECT host header, the virtual host (default /)")
    parser.add_argument("--host", dest="vhost", action=Deprecated, new="--vhost")  # its name in 0.1.0
    parser.add_argument("--ca", metavar="FILE", help="with ssl://: verify the broker against these CA certificates")
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="with ssl://: do not verify the broker's certificate or host name (self-signed test brokers only)",
    )
    parser.add_argument("--checks", help="comma-separated check names (default: all; see --list)")
    parser.add_argument("--list", action="store_true", help="list the checks and exit")
    parser.add_argument("--json", type=output_file, metavar="FILE", help="write the full report as JSON")
    parser.add_argument("--junit-xml", type=output_file, metavar="FILE", help="write JUnit XML (one testcase per cell)")
    parser.add_argument("--html", type=output_file, metavar="FILE", help="write a self-contained HTML report")
    parser.add_argument(
        "--timeout", type=positive_seconds, default=3.0, help="seconds to wait for an answer that must come (> 0)"
    )
    parser.add_argument(
        "--workers",
        type=at_least(1),
        default=DEFAULT_WORKERS,
        help=f"checks run concurrently (default {DEFAULT_WORKERS})",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress")
    return parser


def add_subcommand(subparsers: Any) -> argparse.ArgumentParser:
    """Add `conformance` to the main CLI's subparsers (an argparse _SubParsersAction)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "conformance", help="check a broker against the STOMP specs", description=DESCRIPTION
    )
    configure(parser)
    parser.set_defaults(func=run)
    return parser


@contextlib.contextmanager
def embedded_broker(profile: str) -> Iterator[str]:
    """Start the fake broker on a free port; imported here so a URL run never loads gevent."""
    try:
        from stomptest.broker import Broker
    except ImportError as exc:
        raise ConfigurationError(f"the embedded fake broker is not available ({exc}): pass a broker URL") from None
    broker = Broker(host="127.0.0.1", port=0, profile=profile)
    broker.start()
    try:
        yield f"tcp://127.0.0.1:{broker.port}"
    finally:
        broker.stop()


def _progress(stream: TextIO, total: int) -> Any:
    """Show each outcome as it comes.

    On a terminal: one status line redrawn in place (count, a bar, the check running), with
    each failure printed above it for good; elsewhere (CI logs, files): one line per outcome.
    """
    done = 0
    live = stream.isatty()

    def show(outcome: Outcome) -> None:
        nonlocal done
        done += 1
        line = f"[{done:3d}/{total}] {SYMBOLS[outcome.verdict]:8s} {outcome.check} [{outcome.version}]"
        if not live:
            if outcome.verdict is not Verdict.NA:
                stream.write(line + "\n")
        else:
            if outcome.verdict is Verdict.FAIL:
                stream.write(f"\r\033[K{line}\n")
            filled = 30 * done // total
            stream.write(f"\r\033[K[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} {outcome.check}")
            if done == total:
                stream.write("\r\033[K")
        stream.flush()

    return show


def run(args: argparse.Namespace) -> int:
    """Run as parsed by `configure`; 0 only when no check fails, 1 on failures, 2 on bad usage or no broker."""
    out: TextIO = sys.stdout
    err: TextIO = sys.stderr
    try:
        if args.list:
            for check in all_checks():
                out.write(f"{check.name:32s} {','.join(check.versions):12s} {check.title}\n")
            return 0
        versions = parse_versions(args.versions)
        checks = select_checks(args.checks.split(",") if args.checks else None)
        ssl_context = verifying_context(args.ca, args.insecure)  # a bad --ca stops here, before any broker starts
        with contextlib.ExitStack() as stack:
            if args.url:
                url, query = split_query(args.url)
                profile = args.profile or query.get("profile") or "auto"
                versions = parse_versions(query["versions"]) if "versions" in query else versions
                args.vhost = args.vhost or query.get("host")
            else:
                profile = args.profile if args.profile not in (None, "auto") else "strict"
                url = stack.enter_context(embedded_broker(profile))
                err.write(f"started the fake broker (profile {profile}) at {url}\n")
            candidates = Target.candidates(
                url,
                login=args.login,
                passcode=args.passcode,
                vhost=args.vhost,
                timeout=args.timeout,
                ssl_context=ssl_context,
            )
            target = first_reachable(candidates)
            progress = None if args.quiet else _progress(err, len(checks) * len(versions))
            report = run_checks(
                target, profile=profile, versions=versions, checks=checks, workers=args.workers, progress=progress
            )
    except ConfigurationError as exc:
        err.write(f"stomptest conformance: {exc}\n")
        return 2
    except OSError as exc:
        err.write(f"stomptest conformance: cannot test {urls.redact(args.url or 'the fake broker')}: {exc}\n")
        return 2
    out.write(render_table(report) + "\n")
    for path, render in ((args.json, to_json), (args.junit_xml, to_junit_xml), (args.html, to_html)):
        if path is not None:
            try:  # checked writable before the run; the disk can still fill or the folder go away
                path.write_text(render(report), encoding="utf-8")
            except OSError as exc:
                err.write(f"stomptest conformance: cannot write {path}: {exc.strerror or exc}\n")
                return 2
            err.write(f"wrote {path}\n")
    return 1 if report.failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = configure(Parser(prog="stomptest conformance", description=DESCRIPTION))
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    return run(args)
