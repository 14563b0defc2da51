"""RabbitMQ's queue arguments for a message's life, given as SUBSCRIBE (or SEND) headers.

RabbitMQ's STOMP adapter declares a `/queue/` queue with the frame's `x-message-ttl`,
`x-expires`, `x-max-priority`, `x-dead-letter-exchange` and `x-dead-letter-routing-key`
(measured on 3.10.8, issue 15). The first declaration's arguments stay. A connection
declares a queue once (its first SEND or SUBSCRIBE to it) and never checks again; another
connection whose frame names other arguments, or none where the queue has some, gets the
closing `PRECONDITION_FAILED - inequivalent arg ...`. A value out of range is a closing
precondition_failed too (SUBSCRIBE: then its RECEIPT); a value that is not a number gets
`ERROR message:Processing error`, and the connection stays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from stomptest.broker.destinations import Destination
from stomptest.broker.output import receipt

if TYPE_CHECKING:
    from stomptest.broker.connection import Connection
    from stomptest.protocol.frame import Frame

# in the order RabbitMQ checks them (measured: x-message-ttl is named before x-dead-letter-exchange)
_NUMBERS = ("x-expires", "x-message-ttl")
_TEXTS = ("x-dead-letter-exchange", "x-dead-letter-routing-key")
ARGUMENTS = ("x-expires", "x-message-ttl", "x-dead-letter-exchange", "x-dead-letter-routing-key", "x-max-priority")
_INTEGERS = frozenset({"x-expires", "x-message-ttl", "x-max-priority"})
_MAX_PRIORITY = 255  # measured: x-max-priority:300 is {max_value_exceeded,300}


@dataclass
class QueueSettings:
    """The lifecycle arguments a queue was declared with (None: not given)."""

    arguments: dict[str, str | int]
    idle_since: float = 0.0  # the engine's clock when the queue last had no consumer (x-expires counts from it)

    @property
    def message_ttl(self) -> int | None:
        value = self.arguments.get("x-message-ttl")
        return value if isinstance(value, int) else None

    @property
    def expires(self) -> int | None:
        value = self.arguments.get("x-expires")
        return value if isinstance(value, int) else None

    @property
    def max_priority(self) -> int | None:
        value = self.arguments.get("x-max-priority")
        return value if isinstance(value, int) else None

    @property
    def dead_letter_exchange(self) -> str | None:
        value = self.arguments.get("x-dead-letter-exchange")
        return value if isinstance(value, str) else None

    @property
    def dead_letter_routing_key(self) -> str | None:
        value = self.arguments.get("x-dead-letter-routing-key")
        return value if isinstance(value, str) else None


def parse(connection: Connection, frame: Frame, queue: str) -> dict[str, str | int] | None:
    """The frame's lifecycle arguments, or None after answering a value RabbitMQ refuses."""
    found: dict[str, str | int] = {}
    headers = frame.headers
    for name in ARGUMENTS:
        value = headers.get(name)
        if value is None:
            continue
        if name not in _INTEGERS:
            found[name] = value
            continue
        try:
            number = int(value)
        except ValueError:
            connection.fail("invalid-header", frame, reason=f"{name}:{value}", header="processing-error")
            return None
        problem = None
        if number < 0:
            problem = f"{{value_negative,{number}}}"
        elif number == 0 and name == "x-expires":
            problem = "{value_zero,0}"
        elif name == "x-max-priority" and number > _MAX_PRIORITY:
            problem = f"{{max_value_exceeded,{number}}}"
        if problem is not None:
            connection.fail(
                "precondition-failed", frame, reason=f"invalid arg '{name}' for queue '{queue}' in vhost '/': {problem}"
            )
            return None
        found[name] = number
    return found


def declare(connection: Connection, frame: Frame, destination: Destination, existed: bool) -> Destination | None:
    """`destination` declared with the frame's arguments as this connection's first use of it; None if refused.

    `existed`: whether the queue was there before this frame (made by an earlier SEND or SUBSCRIBE).
    A queue unused for longer than its `x-expires` is deleted first, and the one returned is new.
    """
    if destination.kind != "queue" or not destination.name.startswith("/queue/"):
        return destination
    engine = connection.engine
    declared = engine.declared.setdefault(connection.id, set())
    if unused_too_long(engine.clock(connection.now), destination):
        engine.delete_queue(destination)
        if destination.name in declared:  # measured: this connection does not declare it again (routing.py)
            if frame.command == "SEND":
                receipt(connection, frame)  # and the message is dropped
            else:
                connection.fail("not-found", frame, reason=f"no queue '{destination.name[7:]}' in vhost '/'")
            return None
        destination, existed = engine.destination("queue", destination.name), False
    if destination.name in declared:
        return destination  # measured: a connection declares a queue once; later frames' arguments are not read
    queue = destination.name[len("/queue/") :]
    arguments = parse(connection, frame, queue)
    if arguments is None:
        return None
    settings = destination.lifecycle
    if settings is not None:
        current = settings.arguments
    elif existed:  # declared before, without arguments (a queue without any keeps `lifecycle` None: the hot path)
        current = {}
    else:  # declared now
        current = arguments
        if arguments:
            destination.lifecycle = QueueSettings(arguments, engine.clock(connection.now))
    for name in ARGUMENTS:
        given, held = arguments.get(name), current.get(name)
        if given == held:
            continue
        connection.fail(
            "precondition-failed",
            frame,
            reason=f"inequivalent arg '{name}' for queue '{queue}' in vhost '/': {_inequivalent(given, held)}",
        )
        return None
    if len(declared) < 10_000:
        declared.add(destination.name)
    return destination


def _inequivalent(given: str | int | None, held: str | int | None) -> str:
    """RabbitMQ's words for two different values (measured, issue 15)."""
    if given is None:
        return f"received none but current is the value '{held}' of type '{_type(held)}'"
    if held is None:
        return f"received the value '{given}' of type '{_type(given)}' but current is none"
    return f"received '{given}' but current is '{held}'"


def _type(value: str | int | None) -> str:
    return "long" if isinstance(value, int) else "longstr"


def unused_too_long(clock: float, destination: Destination) -> bool:
    """Whether a queue declared with `x-expires` has had no consumer for that long."""
    settings = destination.lifecycle
    if settings is None or settings.expires is None or destination.subscriptions:
        return False
    return (clock - settings.idle_since) * 1000 >= settings.expires
