"""The connection options `stomptest send`, `receive` and `shell` share, and the client they make.

The URL goes to `Client` as given, so the commands take every URL the clients take
(tcp://, ssl://, failover:(...), and any scheme the clients learn later). Option names
follow the clients' keywords: `--vhost` is the CONNECT host header (`--host` names a
listen address, in `stomptest broker`, and nothing else).
"""

from __future__ import annotations

import argparse
import contextlib
import ssl
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from stomptest.cli.arguments import at_least, header, positive_seconds
from stomptest.client.transport import verifying_context
from stomptest.protocol.errors import BrokerError, ConfigurationError, ConnectTimeout, StompError

if TYPE_CHECKING:
    from stomptest.client.sync import Client

STOMP_VERSIONS = ("1.0", "1.1", "1.2")


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "url",
        metavar="URL",
        help="the broker: tcp://[login:passcode@]host[:port], ssl://host:port or failover:(...)",
    )
    group = parser.add_argument_group("connection")
    group.add_argument("--login", help="CONNECT login (default: the URL's, else none)")
    group.add_argument("--passcode", help="CONNECT passcode (default: the URL's, else none)")
    group.add_argument("--vhost", default="/", help="CONNECT host header, the virtual host (default /)")
    group.add_argument(
        "--stomp-version", choices=STOMP_VERSIONS, default="1.2", help="the STOMP version to speak (default 1.2)"
    )
    group.add_argument(
        "--connect-timeout", type=positive_seconds, default=10.0, help="seconds to reach the broker (default 10)"
    )
    group.add_argument("--ca", metavar="FILE", help="with ssl://: verify the broker against these CA certificates")
    group.add_argument(
        "--insecure",
        action="store_true",
        help="with ssl://: do not verify the broker's certificate or host name (self-signed test brokers only)",
    )


def add_header_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "-H",
        "--header",
        type=header,
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help=f"add this header to the {what} frame (repeatable)",
    )


def add_count_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-n", "--count", type=at_least(1), help="stop after this many messages (default: never)")


def make_client(args: argparse.Namespace) -> Client:
    """A `Client` for the parsed options, not yet connected (ConfigurationError for a bad URL or option)."""
    from stomptest.client.sync import Client

    return Client(
        _one_round_at_start(args.url),
        version=args.stomp_version,
        login=args.login,
        passcode=args.passcode,
        host=args.vhost,
        ssl_context=verifying_context(args.ca, args.insecure),
        connect_timeout=args.connect_timeout,
    )


def _one_round_at_start(url: str) -> str:
    """A failover URL tries each member once at start unless it says otherwise.

    ActiveMQ's default (startupMaxReconnectAttempts=-1) retries for ever, which from a shell is a
    command that hangs without a word while every broker is down. Reconnecting after a loss keeps
    the URL's own setting (a `receive` tail follows the cluster).
    """
    if not url.startswith("failover:") or "startupmaxreconnectattempts=" in url.lower():
        return url
    return f"{url}{'&' if '?' in url else '?'}startupMaxReconnectAttempts=0"


@contextlib.contextmanager
def reported(prog: str, url: str) -> Iterator[list[int]]:
    """Turn what the broker or the network did into one line on stderr; the list gets the exit status.

    Status 1: the broker refused (an ERROR frame) or could not be reached; mistakes in the
    options (ConfigurationError) go up to `stomptest.cli.main`, which answers them with 2.
    """
    from stomptest import urls

    status = [0]
    try:
        yield status
    except (ConfigurationError, BrokenPipeError):  # a mistake in the options; our reader went away (cli.main)
        raise
    except BrokerError as exc:
        said = str(exc)  # connect_refused() already says "the broker refused CONNECT: ..."
        print(
            f"{prog}: {said if said.startswith('the broker refused') else f'the broker refused: {said}'}",
            file=sys.stderr,
        )
        status[0] = 1
    except (StompError, OSError) as exc:
        print(f"{prog}: {urls.redact(url)}: {_unreachable(exc, url)}", file=sys.stderr)
        status[0] = 1


def _unreachable(exc: BaseException, url: str) -> str:
    """What went wrong, in the user's terms: the failover policy's counts only when the URL is a failover one.

    A plain URL that fails gives ConnectTimeout("first connect gave up after 1 round(s) ... limited by
    startupMaxReconnectAttempts=0; last failure: ...") from the client: true, but the reason is the last part.
    """
    cause = exc.__cause__
    if not isinstance(exc, ConnectTimeout) or not isinstance(cause, OSError) or url.startswith("failover:"):
        return str(exc)
    if isinstance(cause, ssl.SSLCertVerificationError):
        return (
            f"the broker's certificate is not trusted ({cause.verify_message}): "
            "give its CA with --ca FILE, or --insecure for a test broker"
        )
    return f"cannot reach the broker: {cause.strerror or cause}"
