"""`stomptest send` and `stomptest receive` (alias `subscribe`): poke a broker, fake or real, by hand.

    stomptest send tcp://localhost:61613 /queue/orders 'hello' -H priority:9 --receipt
    stomptest receive tcp://localhost:61613 /queue/orders --count 1 --json

Text output is each message's body, then a newline (headers too with ``--headers``); JSON
output is one object per line: ``{"destination", "headers", "body"}``, with ``body_base64``
instead of ``body`` when the body is not UTF-8. Examples in docs/cli.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from typing import Any, BinaryIO, TextIO

from stomptest.cli.arguments import destination, input_file, positive_seconds
from stomptest.cli.connecting import (
    add_connection_options,
    add_count_option,
    add_header_option,
    make_client,
    reported,
)
from stomptest.protocol.errors import ConfigurationError
from stomptest.protocol.events import Message

ACK_MODES = ("auto", "client", "client-individual")


def add_subcommand(subparsers: Any) -> list[argparse.ArgumentParser]:
    """Add `send` and `receive` (alias `subscribe`) to the main CLI's subparsers."""
    send = subparsers.add_parser(
        "send",
        help="send one message",
        description="Send one message: the body from BODY, --file, or stdin when neither is given.",
    )
    add_connection_options(send)
    send.add_argument("destination", metavar="DEST", type=destination, help="where to send, e.g. /queue/orders")
    send.add_argument("body", metavar="BODY", nargs="?", help="the message body (UTF-8)")
    send.add_argument("-f", "--file", type=input_file, help="read the body from this file (as bytes)")
    add_header_option(send, "SEND")
    send.add_argument("--receipt", action="store_true", help="wait until the broker confirms it (a RECEIPT)")
    send.set_defaults(func=run_send)

    receive = subparsers.add_parser(
        "receive",
        aliases=["subscribe"],
        help="print the messages of a queue or topic",
        description="Subscribe and print each message as it arrives, until --count, --timeout or Ctrl-C.",
    )
    add_connection_options(receive)
    receive.add_argument(
        "destination", metavar="DEST", type=destination, help="what to subscribe to, e.g. /queue/orders"
    )
    receive.add_argument(
        "--ack",
        choices=ACK_MODES,
        default="auto",
        help="the subscription's ack mode; with client modes each message is ACKed once printed (default auto)",
    )
    add_count_option(receive)
    receive.add_argument(
        "-t", "--timeout", type=positive_seconds, help="stop when no message came for this many seconds"
    )
    receive.add_argument("--json", action="store_true", help="one JSON object per message and line")
    receive.add_argument("--headers", action="store_true", help="text output: print the headers before the body")
    add_header_option(receive, "SUBSCRIBE")
    receive.set_defaults(func=run_receive)
    return [send, receive]


def read_body(args: argparse.Namespace, stdin: BinaryIO) -> bytes:
    if args.body is not None and args.file is not None:
        raise ConfigurationError("give the body as BODY or --file, not both")
    if args.file is not None:
        data: bytes = args.file.read_bytes()
        return data
    if args.body is not None:
        encoded: bytes = args.body.encode("utf-8", "surrogateescape")
        return encoded
    if stdin.isatty():
        print(f"{args.prog}: reading the body from stdin; Ctrl-D ends it (or give BODY or --file)", file=sys.stderr)
    return stdin.read()


def run_send(args: argparse.Namespace) -> int:
    body = read_body(args, sys.stdin.buffer)
    client = make_client(args)
    with reported(args.prog, args.url) as status, client:
        client.send(args.destination, body, headers=args.header, receipt=args.receipt)
        if args.receipt:
            print(f"{args.prog}: the broker confirmed it", file=sys.stderr)
    return status[0]


def message_record(message: Message) -> dict[str, Any]:
    """What `--json` prints for a message: its headers in arrival order (a repeated name keeps its first value)."""
    frame = message.frame
    headers: dict[str, str] = {}
    for name, value in frame.raw_headers:
        headers.setdefault(name, value)
    record: dict[str, Any] = {"destination": headers.get("destination"), "headers": headers}
    try:
        record["body"] = frame.body.decode("utf-8")
    except UnicodeDecodeError:
        record["body_base64"] = base64.b64encode(frame.body).decode("ascii")
    return record


def print_message(message: Message, out: TextIO, *, as_json: bool, headers: bool) -> None:
    if as_json:
        out.write(json.dumps(message_record(message), ensure_ascii=False) + "\n")
    else:
        if headers:
            for name, value in message.frame.raw_headers:
                out.write(f"{name}:{value}\n")
            out.write("\n")
        out.write(message.frame.body.decode("utf-8", "replace") + "\n")
    out.flush()


def run_receive(args: argparse.Namespace) -> int:
    client = make_client(args)
    received = 0
    with reported(args.prog, args.url) as status, client:
        subscription = client.subscribe(args.destination, ack=args.ack, headers=args.header, receipt=True)
        try:
            while args.count is None or received < args.count:
                message = subscription.receive(timeout=args.timeout)
                if message is None:
                    print(f"{args.prog}: no message for {args.timeout:g} s, {received} received", file=sys.stderr)
                    break
                print_message(message, sys.stdout, as_json=args.json, headers=args.headers)
                received += 1
                if message.needs_ack:
                    client.ack(message)
        except KeyboardInterrupt:  # how a tail ends: not an error
            print(f"{args.prog}: stopped, {received} received", file=sys.stderr)
    return status[0]
