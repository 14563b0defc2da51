"""RabbitMQ's exchanges as its STOMP plugin exposes them: names, bindings, and which queues a key reaches.

STOMP cannot declare an exchange; RabbitMQ has five built in (`amq.direct`, `amq.topic`,
`amq.fanout`, `amq.headers`, `amq.match`) and a test declares others with
`Broker.declare_exchange`. A SUBSCRIBE to `/exchange/E/PATTERN` (or `/topic/PATTERN`, which
is `amq.topic`) binds the subscriber's queue to E with PATTERN as its binding key; a SEND to
`/exchange/E/KEY` reaches every queue whose binding matches KEY: equal keys for `direct`,
AMQP's word patterns for `topic` (`*` one word, `#` any number, words split on `.`), every
binding for `fanout` and for `headers` (STOMP binds without header arguments, and a headers
binding without arguments matches every message). Measured on RabbitMQ 3.10.8 (issue 15,
docs/routing.md). Pure state: routing.py turns matches into deliveries.
"""

from __future__ import annotations

from typing import Literal

from stomptest.protocol.errors import ConfigurationError

ExchangeType = Literal["direct", "topic", "fanout", "headers"]
EXCHANGE_TYPES: tuple[ExchangeType, ...] = ("direct", "topic", "fanout", "headers")
DEFAULT_EXCHANGES: dict[str, ExchangeType] = {
    "amq.direct": "direct",
    "amq.topic": "topic",
    "amq.fanout": "fanout",
    "amq.headers": "headers",
    "amq.match": "headers",
}
_MAX_CACHED = 10_000  # (exchange, key) pairs whose matches are remembered


def parse(name: str) -> tuple[str, str] | None:
    """(exchange, key) of `/exchange/E[/KEY]` or `/topic/KEY`; None when the name breaks RabbitMQ's rules.

    Measured: a key may not hold '/' (`'/amq.direct/a/b' is not a valid exchange destination`),
    nor may the exchange's name be empty (`/exchange//x`).
    """
    if name.startswith("/topic/"):
        key = name[7:]
        return None if "/" in key else ("amq.topic", key)
    if not name.startswith("/exchange/"):
        return None
    exchange, _, key = name[10:].partition("/")
    if not exchange or "/" in key:
        return None
    return exchange, key


def display(exchange: str, key: str) -> str:
    """The `destination` RabbitMQ writes on a MESSAGE published to `exchange` with `key` (measured)."""
    if exchange == "amq.topic":
        return "/topic/" + key
    return f"/exchange/{exchange}/{key}" if key else f"/exchange/{exchange}"


def topic_matches(pattern: str, key: str, many: str = "#") -> bool:
    """AMQP topic matching: words split on '.', `*` is one word, `#` (`many`) is zero or more.

    ActiveMQ's and Artemis' wildcard topic subscriptions match alike, with `>` (ActiveMQ) as `many`.

    Dynamic programming over the words (no regular expression), so a hostile pattern such as
    `#.#.#.#...` costs at most len(pattern words) x len(key words) steps.
    """
    if pattern in (key, many):
        return True
    words = pattern.split(".")
    parts = key.split(".")
    # reach[j]: the pattern's words so far can match the key's first j words
    reach = [True] + [False] * len(parts)
    for word in words:
        if word == many:
            seen = False
            for j in range(len(reach)):
                seen = seen or reach[j]
                reach[j] = seen
        else:
            for j in range(len(parts), 0, -1):
                reach[j] = reach[j - 1] and (word == "*" or word == parts[j - 1])
            reach[0] = False
    return reach[-1]


class Exchanges:
    """The exchanges of one broker and the bindings SUBSCRIBEs made to them."""

    def __init__(self, many: str = "#") -> None:
        self.many = many  # the word that matches any number of words in a topic pattern
        self.types: dict[str, ExchangeType] = dict(DEFAULT_EXCHANGES)
        # exchange -> binding key -> names of the destinations bound with it
        self.bindings: dict[str, dict[str, set[str]]] = {}
        self._cache: dict[tuple[str, str], tuple[str, ...]] = {}
        self.generation = 0  # counts the changes to exchanges and bindings: a route remembered elsewhere is stale

    def _changed(self) -> None:
        self._cache.clear()
        self.generation += 1

    def declare(self, name: str, type: str) -> None:
        """A new exchange (as a management tool would declare it); re-declaring with another type is refused."""
        if type not in EXCHANGE_TYPES:
            raise ConfigurationError(f"exchange type {type!r} is not one of {', '.join(EXCHANGE_TYPES)}")
        if not name or "/" in name:
            raise ConfigurationError(
                f"exchange name {name!r} must be non-empty and hold no '/' (STOMP could not name it)"
            )
        known = self.types.get(name)
        if known is not None and known != type:
            raise ConfigurationError(f"exchange {name!r} is a {known} exchange already; delete it first")
        self.types[name] = type  # narrowed to ExchangeType by the check above
        self._changed()

    def delete(self, name: str) -> None:
        if name in DEFAULT_EXCHANGES:
            raise ConfigurationError(f"{name!r} is one of RabbitMQ's own exchanges and cannot be deleted")
        if self.types.pop(name, None) is None:
            raise ConfigurationError(f"no exchange {name!r} to delete")
        self.bindings.pop(name, None)
        self._changed()

    def bind(self, exchange: str, key: str, destination: str) -> None:
        keys = self.bindings.setdefault(exchange, {})
        names = keys.setdefault(key, set())
        if destination not in names:
            names.add(destination)
            self._changed()

    def unbind(self, destination: str) -> None:
        """Remove every binding of a destination that is gone."""
        for keys in self.bindings.values():
            for key in [k for k, names in keys.items() if destination in names]:
                keys[key].discard(destination)
                if not keys[key]:
                    del keys[key]
        self._changed()

    def route(self, exchange: str, key: str) -> tuple[str, ...]:
        """Names of the destinations a message published to `exchange` with `key` reaches, in binding order."""
        cached = self._cache.get((exchange, key))
        if cached is not None:
            return cached
        kind = self.types.get(exchange)
        keys = self.bindings.get(exchange, {})
        found: list[str] = []
        if kind == "direct":
            found = sorted(keys.get(key, ()))
        elif kind == "topic":
            for pattern, names in keys.items():
                if topic_matches(pattern, key, self.many):
                    found += sorted(names)
        elif kind is not None:  # fanout, headers
            for names in keys.values():
                found += sorted(names)
        result = tuple(dict.fromkeys(found))  # a queue bound twice gets one copy, as in RabbitMQ
        if len(self._cache) < _MAX_CACHED:
            self._cache[(exchange, key)] = result
        return result
