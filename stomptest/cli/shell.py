"""`stomptest shell URL`: connect once, then type STOMP commands (readline editing and history).

No background thread prints behind the prompt: messages that arrived are shown before each
prompt, and ``receive [SECONDS]`` waits for the next one. Each shown message gets a number
(#1, #2, ...) that ``ack`` and ``nack`` take, so nobody types a 40-character message id.
Every mistake (unknown command, missing argument, a broker's ERROR) is one line; the shell
goes on. Type ``help`` inside it for the commands.
"""

from __future__ import annotations

import argparse
import cmd
import contextlib
import re
import shlex
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from stomptest.cli.connecting import add_connection_options, make_client, reported
from stomptest.cli.messaging import ACK_MODES
from stomptest.protocol.errors import ConfigurationError, ConnectionLost, StompError
from stomptest.protocol.events import Message

# The client's messages name its methods ("begin() it first"); in the shell they are commands.
_METHOD = re.compile(r"\b(send|ack|nack|begin|commit|abort|subscribe|unsubscribe)\(\)")


def _shell_words(text: str) -> str:
    return _METHOD.sub(r"\1", text)


if TYPE_CHECKING:
    from stomptest.client.sync import Client, ClientSubscription

DEFAULT_RECEIVE_WAIT = 5.0


def add_subcommand(subparsers: Any) -> argparse.ArgumentParser:
    """Add `shell` to the main CLI's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "shell",
        help="an interactive STOMP session",
        description="Connect, then type send, subscribe, receive, ack, nack, begin, commit, abort, unsubscribe, "
        "quit (help lists them).",
    )
    add_connection_options(parser)
    parser.set_defaults(func=run)
    return parser


def _split_options(words: list[str], options: dict[str, str]) -> tuple[dict[str, list[str]], list[str]]:
    """Pull `-H name:value`, `-t TX` and the like (`options`: flag -> key) out of `words`."""
    found: dict[str, list[str]] = {}
    rest: list[str] = []
    items = iter(words)
    for word in items:
        if word in options:
            value = next(items, None)
            if value is None:
                raise ConfigurationError(f"{word} needs a value")
            found.setdefault(options[word], []).append(value)
        else:
            rest.append(word)
    return found, rest


def _headers(values: list[str]) -> list[tuple[str, str]]:
    headers = []
    for value in values:
        name, colon, text = value.partition(":")
        if not colon or not name:
            raise ConfigurationError(f"header {value!r}: write NAME:VALUE")
        headers.append((name, text))
    return headers


class StompShell(cmd.Cmd):
    intro = "connected; type help for the commands, quit to leave"
    prompt = "stomp> "

    def __init__(self, client: Client, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        super().__init__(stdin=stdin, stdout=stdout)
        if stdin is not None:
            self.use_rawinput = False
        self.client = client
        self.subscriptions: dict[str, ClientSubscription] = {}
        self.shown: dict[int, Message] = {}
        self.next_number = 1

    # --- plumbing -------------------------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def onecmd(self, line: str) -> bool:
        """Run one command; a mistake or a broker's refusal is one line, and the shell goes on."""
        try:
            return super().onecmd(line)
        except ValueError as exc:  # ConfigurationError, and shlex's unclosed quotes
            self.say(f"error: {_shell_words(str(exc))}")
        except ConnectionLost as exc:
            self.say(f"error: the connection is lost ({exc}); quitting")
            return True
        except StompError as exc:
            self.say(f"error: {_shell_words(str(exc))}")
        return False

    def preloop(self) -> None:
        self.show_arrived()

    def postcmd(self, stop: bool, line: str) -> bool:
        if not stop:
            self.show_arrived()
        return stop

    def emptyline(self) -> bool:
        return False

    def default(self, line: str) -> None:
        self.say(f"error: unknown command {line.split()[0]!r}: type help")

    def show(self, message: Message) -> None:
        number = self.next_number
        self.next_number += 1
        if message.needs_ack:
            self.shown[number] = message
        frame = message.frame
        headers = " ".join(f"{n}:{v}" for n, v in frame.raw_headers)
        self.say(f"#{number} {headers}")
        self.say(f"   {frame.body.decode('utf-8', 'replace')}")

    def show_arrived(self) -> None:
        while (message := self.client.receive(timeout=0)) is not None:
            self.show(message)

    def _message(self, word: str) -> Message:
        try:
            return self.shown[int(word.lstrip("#"))]
        except (ValueError, KeyError):
            raise ConfigurationError(f"no message #{word} waiting for an ack (see the numbers shown)") from None

    @staticmethod
    def _words(arg: str, usage: str, minimum: int, options: dict[str, str] | None = None) -> Any:
        words = shlex.split(arg)
        found, rest = _split_options(words, options or {})
        if len(rest) < minimum:
            raise ConfigurationError(f"usage: {usage}")
        return (found, rest) if options is not None else rest

    # --- the commands ---------------------------------------------------------------------------------------------

    def do_send(self, arg: str) -> None:
        """send [-H name:value]... [-t TX] DEST [BODY...]: send a message (BODY's words joined by spaces)."""
        found, rest = self._words(arg, "send [-H name:value]... [-t TX] DEST [BODY...]", 1, {"-H": "h", "-t": "t"})
        transaction = found.get("t", [None])[-1]
        self.client.send(
            rest[0], " ".join(rest[1:]), headers=_headers(found.get("h", [])), transaction=transaction, receipt=True
        )
        self.say("sent")

    def do_subscribe(self, arg: str) -> None:
        """subscribe [-H name:value]... DEST [auto|client|client-individual]: subscribe; prints its id."""
        usage = "subscribe [-H name:value]... DEST [auto|client|client-individual]"
        found, rest = self._words(arg, usage, 1, {"-H": "h"})
        ack = rest[1] if len(rest) > 1 else "auto"
        if ack not in ACK_MODES:
            raise ConfigurationError(f"ack mode {ack!r}: use one of {', '.join(ACK_MODES)}")
        subscription = self.client.subscribe(rest[0], ack=ack, headers=_headers(found.get("h", [])), receipt=True)
        self.subscriptions[subscription.key] = subscription
        self.say(f"subscribed: id {subscription.key}")

    def do_unsubscribe(self, arg: str) -> None:
        """unsubscribe ID: end the subscription with this id."""
        [key, *_] = self._words(arg, "unsubscribe ID", 1)
        if key not in self.subscriptions:
            raise ConfigurationError(f"no subscription {key!r}: yours are {', '.join(self.subscriptions) or 'none'}")
        self.client.unsubscribe(self.subscriptions.pop(key), receipt=True)
        self.say(f"unsubscribed: id {key}")

    def do_receive(self, arg: str) -> None:
        """receive [SECONDS]: wait for the next message (default 5 s)."""
        words = self._words(arg, "receive [SECONDS]", 0)
        try:
            wait = float(words[0]) if words else DEFAULT_RECEIVE_WAIT
        except ValueError:
            wait = -1.0
        if not wait >= 0:  # also nan
            raise ConfigurationError(f"receive {words[0]!r}: give a number of seconds, 0 or more")
        message = self.client.receive(timeout=wait)
        if message is None:
            self.say(f"no message within {wait:g} s")
        else:
            self.show(message)

    def _acknowledge(self, arg: str, name: str, action: Callable[..., None]) -> None:
        found, rest = self._words(arg, f"{name} NUMBER [-t TX]", 1, {"-t": "t"})
        message = self._message(rest[0])
        action(message, transaction=found.get("t", [None])[-1], receipt=True)
        del self.shown[int(rest[0].lstrip("#"))]
        self.say(f"{name}ed #{rest[0].lstrip('#')}")

    def do_ack(self, arg: str) -> None:
        """ack NUMBER [-t TX]: acknowledge message #NUMBER (of a client or client-individual subscription)."""
        self._acknowledge(arg, "ack", self.client.ack)

    def do_nack(self, arg: str) -> None:
        """nack NUMBER [-t TX]: refuse message #NUMBER (STOMP 1.1+)."""
        self._acknowledge(arg, "nack", self.client.nack)

    def do_begin(self, arg: str) -> None:
        """begin [TX]: begin a transaction; prints its id."""
        words = self._words(arg, "begin [TX]", 0)
        self.say(f"begun: transaction {self.client.begin(words[0] if words else None, receipt=True)}")

    def do_commit(self, arg: str) -> None:
        """commit TX: commit the transaction."""
        [transaction, *_] = self._words(arg, "commit TX", 1)
        self.client.commit(transaction, receipt=True)
        self.say(f"committed: transaction {transaction}")

    def do_abort(self, arg: str) -> None:
        """abort TX: abort the transaction."""
        [transaction, *_] = self._words(arg, "abort TX", 1)
        self.client.abort(transaction, receipt=True)
        self.say(f"aborted: transaction {transaction}")

    def do_quit(self, arg: str) -> bool:
        """quit: disconnect and leave (so does Ctrl-D)."""
        return True

    do_exit = do_quit

    def do_EOF(self, arg: str) -> bool:
        """Ctrl-D: disconnect and leave."""
        if self.prompt:
            self.say("")  # end the prompt's line
        return True


def run(args: argparse.Namespace) -> int:
    client = make_client(args)
    interactive = sys.stdin.isatty()
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401 (importing it gives input() line editing and history)
    with reported(args.prog, args.url) as status, client:
        shell = StompShell(client)
        if not interactive:
            shell.prompt = ""
            shell.intro = ""
        try:
            shell.cmdloop()
        except KeyboardInterrupt:
            shell.say("")
    return status[0]
