"""RabbitMQ's dead-letter exchanges: where a rejected or expired message goes, and what it says then.

A queue declared with `x-dead-letter-exchange` (lifecycle_arguments.py) republishes a
message NACKed with `requeue:false` ("rejected") or expired ("expired") to that exchange,
with `x-dead-letter-routing-key` or else the message's own routing key (the queue's
name). Measured on RabbitMQ 3.10.8 (issue 15, raw frames): the dead letter arrives with
`redelivered:false`, without `expiration`, and with `x-first-death-exchange`,
`x-first-death-queue` (the queue's name without `/queue/`) and `x-first-death-reason`
among its own headers, which now come sorted by name (`foo`, `receipt`, `x-first-death-...`),
its properties (`persistent`...) after them; `x-death`, a table, has no STOMP form and is not
written. A message that would reach a queue it expired on again, with no rejection on
its way, is dropped (measured: a queue dead-lettering to itself drops at the first expiry;
queue A to B to A delivers on B, then drops). Exchanges: the default one (`""`, to the queue
named by the routing key, if it exists) and `amq.topic` (to `/topic/KEY`); any other
exchange drops the message until the engine routes `/exchange/` destinations.

ActiveMQ's and Artemis' dead-letter queues (a NACK, or `max_deliveries` reached) are the
engine's `dead_letter`; they are profile settings (`dead_letter_queue`, `max_deliveries`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stomptest.broker.destinations import Destination, Message

if TYPE_CHECKING:
    from stomptest.broker.engine import Engine

# the headers RabbitMQ keeps as message properties, written after the headers table (sending.py's order)
_PROPERTIES = ("reply-to", "priority", "persistent", "content-type")
_FIRST_DEATH = ("x-first-death-exchange", "x-first-death-queue", "x-first-death-reason")


def dead_letter_by_exchange(engine: Engine, message: Message, source: Destination, reason: str, now: float) -> None:
    """Republish `message`, rejected or expired on `source`, to the queue's dead-letter exchange."""
    settings = source.lifecycle
    assert settings is not None
    exchange = settings.dead_letter_exchange
    if exchange is None:
        return
    queue = source.name.removeprefix("/queue/")
    deaths = (*message.deaths, (queue, reason))
    key = settings.dead_letter_routing_key
    if key is None:
        key = queue
    if exchange == "":
        target_name = f"/queue/{key}"
    elif exchange == "amq.topic":
        target_name = f"/topic/{key}"
    else:
        return
    target = engine.destinations.get(target_name)
    if target is None:
        return  # unroutable: the default exchange reaches existing queues only
    seen = {name for name, _ in deaths}  # this death included: a queue dead-lettering to itself drops at once
    if target.kind == "queue" and key in seen and all(r != "rejected" for _, r in deaths):
        return  # measured: a message that would reach a queue again with no rejection on its way is dropped
    own = [(n, v) for n, v in message.headers if n not in _PROPERTIES and n != "expiration"]
    names = {n for n, _ in own}
    if "x-first-death-reason" not in names:
        own += [("x-first-death-exchange", ""), ("x-first-death-queue", queue), ("x-first-death-reason", reason)]
    own.sort(key=lambda pair: pair[0])
    properties = [(n, v) for n, v in message.headers if n in _PROPERTIES]
    copy = engine.new_message(target, (*own, *properties), message.body, now)
    copy.deaths = deaths
    copy.had_content_length = message.had_content_length
    engine.publish(target, copy, now)
