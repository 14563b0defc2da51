"""`stomptest broker`: serve the fake broker on a port until interrupted, logging connections and errors."""

from __future__ import annotations

import argparse
import errno
import logging
import signal
import socket
import ssl
import sys
import threading
from typing import Any

from stomptest.broker.limits import Limits
from stomptest.broker.profiles import PROFILES
from stomptest.cli.arguments import output_file, port
from stomptest.protocol.errors import ConfigurationError

DESCRIPTION = (
    "Run a fake STOMP 1.0/1.1/1.2 broker that behaves like ActiveMQ, RabbitMQ, Artemis or the spec to the letter, "
    "until interrupted (Ctrl-C or SIGTERM)."
)
LIMIT_NAMES = sorted(Limits.__dataclass_fields__)
DEFAULT_PORT = 61613


def configure(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=port, default=None, help=f"TCP port (default {DEFAULT_PORT}, STOMP's; 0 picks a free one)"
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="strict", help="which broker to imitate")
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="NAME:PASS",
        help="accept this login and passcode (repeatable); without any, every login is accepted",
    )
    parser.add_argument("--tls-cert", metavar="FILE", help="serve TLS with this PEM certificate (chain)")
    parser.add_argument("--tls-key", metavar="FILE", help="the private key of --tls-cert (if not in the same file)")
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve TLS with a throwaway CA and certificate made now (needs trustme: pip install 'stomptest[tls]')",
    )
    parser.add_argument(
        "--ca-out", type=output_file, metavar="FILE", help="with --tls: write the throwaway CA certificate here"
    )
    parser.add_argument(
        "--limit",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help=f"override a limit of the profile (repeatable): {', '.join(LIMIT_NAMES)}",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="keep persistent messages in DIR (made if missing) across restarts of this command (docs/lifecycle.md)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="log only warnings, not every connection")
    return parser


def add_subcommand(subparsers: Any) -> argparse.ArgumentParser:
    """Add `broker` to the main CLI's subparsers (an argparse _SubParsersAction)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "broker", help="run the fake STOMP broker", description=DESCRIPTION
    )
    configure(parser)
    parser.set_defaults(func=run)
    return parser


def parse_users(items: list[str]) -> dict[str, str] | None:
    if not items:
        return None
    users = {}
    for item in items:
        name, colon, passcode = item.partition(":")
        if not colon or not name:
            raise ConfigurationError(f"--user {item!r}: write NAME:PASS")
        users[name] = passcode
    return users


def parse_limits(items: list[str]) -> dict[str, int]:
    limits = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals or name not in LIMIT_NAMES or not (value.isascii() and value.isdigit() and len(value) < 19):
            raise ConfigurationError(f"--limit {item!r}: write NAME=INTEGER with NAME one of {', '.join(LIMIT_NAMES)}")
        limits[name] = int(value)
    return limits


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    if cert is None:
        if key is not None:
            raise ConfigurationError("--tls-key needs --tls-cert")
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"cannot load the TLS certificate {cert!r}: {exc}") from None
    return context


def _listen_error(host: str, listen_port: int, default: bool, exc: OSError) -> str:
    """Why the broker cannot listen, and what to do about it.

    A taken default port is usually a local RabbitMQ or ActiveMQ. The broker does not move to
    another port on its own: a client configured for 61613 would then reach that other broker,
    and a test would pass or fail against the wrong one. The user chooses, with --port.
    """
    reason = exc.strerror or str(exc)
    if isinstance(exc, socket.gaierror):
        return f"cannot listen on {host!r}: {reason}: give --host an address of this machine (127.0.0.1, 0.0.0.0)"
    if exc.errno == errno.EADDRINUSE:
        who = " (STOMP's default port: is a RabbitMQ, ActiveMQ or Artemis running?)" if default else ""
        return f"port {listen_port} on {host} is taken{who}: choose another with --port N, or --port 0 for a free one"
    return f"cannot listen on {host}:{listen_port}: {reason}"


def run(args: argparse.Namespace, *, stop: threading.Event | None = None) -> int:
    """Serve until interrupted (or until `stop` is set); 0 on a clean stop, 2 on bad options or a busy port."""
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    from stomptest.broker.broker import Broker

    listen_port = DEFAULT_PORT if args.port is None else args.port
    try:
        users = parse_users(args.user)
        limits: dict[str, Any] = dict(parse_limits(args.limit))  # Any: Broker's keywords also hold tls
        ssl_context = tls_context(args.tls_cert, args.tls_key)
        if args.tls and ssl_context is not None:
            raise ConfigurationError("give --tls (a throwaway certificate) or --tls-cert, not both")
        if args.ca_out is not None and not args.tls:
            raise ConfigurationError("--ca-out needs --tls (it writes the throwaway CA)")
        limits["tls"] = args.tls
        broker = Broker(
            host=args.host,
            port=listen_port,
            profile=args.profile,
            users=users,
            ssl_context=ssl_context,
            data_dir=getattr(args, "data_dir", None),
            **limits,
        )
        broker.start()
        if broker.tls is not None and args.ca_out is not None:
            broker.tls.write_ca(args.ca_out)
    except ConfigurationError as exc:
        print(f"stomptest broker: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"stomptest broker: {_listen_error(args.host, listen_port, args.port is None, exc)}", file=sys.stderr)
        return 2
    done = stop or threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for number in (signal.SIGINT, signal.SIGTERM):
            previous[number] = signal.signal(number, lambda *_: done.set())
    print(f"stomptest broker ({args.profile} profile) listening on {broker.url}", file=sys.stderr)
    print(f"stomptest broker: STOMP over WebSocket on {broker.ws_url}", file=sys.stderr, flush=True)
    if broker.tls is not None:
        where = f"in {args.ca_out}" if args.ca_out is not None else "not written (give --ca-out FILE)"
        print(
            f"stomptest broker: throwaway TLS certificate for {', '.join(broker.tls.names)}; its CA {where}",
            file=sys.stderr,
            flush=True,
        )
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        broker.stop()
        for number, handler in previous.items():
            signal.signal(number, handler)
    print("stomptest broker stopped", file=sys.stderr)
    return 0
