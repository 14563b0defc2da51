"""Failover URIs and the reconnect policy they describe, with ActiveMQ's option names and meanings.

`FailoverUri(uri)` reads `failover:(tcp://a:61613,ssl://b:61614,ws://c:15674/ws)?option=value&...`
(or a plain `tcp://host:port`) with the one URL grammar of `stomptest.urls`, and types its
options. `attempts()` turns it into the sequence of `(endpoint, delay_seconds)`
pairs a client walks through: wait `delay_seconds`, try `endpoint`, take the next pair on
failure. The policy is pure: no sockets, no sleeping, randomness only from the
`random.Random` passed in, so a seeded one makes it reproducible.

Counting, stated once, as ActiveMQ's FailoverTransport counts: an attempt is one round
through the whole broker list. The brokers of a round are tried back to back (delay 0);
the back-off delay comes before a round, never inside one.
"""

from __future__ import annotations

import math
import random
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from typing import Final

from stomptest import urls
from stomptest.protocol.errors import ConfigurationError, ConnectTimeout
from stomptest.urls import BrokerUrl, Endpoint

__all__ = ["ACTIVEMQ_ONLY", "OPTION_NAMES", "UNLIMITED", "Endpoint", "FailoverOptions", "FailoverUri"]

UNLIMITED: Final = -1


@dataclass(frozen=True)
class FailoverOptions:
    """The reconnect options, named and defaulted as in ActiveMQ's failover transport (times in ms).

    See docs/protocol.md for each one's meaning; `reconnectDelayJitter` is stompest's addition.
    """

    initialReconnectDelay: int = 10
    maxReconnectDelay: int = 30000
    useExponentialBackOff: bool = True
    backOffMultiplier: float = 2.0
    maxReconnectAttempts: int = UNLIMITED
    startupMaxReconnectAttempts: int = UNLIMITED
    reconnectDelayJitter: int = 0
    randomize: bool = True
    priorityBackup: bool = False

    def __post_init__(self) -> None:
        for name in ("initialReconnectDelay", "maxReconnectDelay", "reconnectDelayJitter"):
            _check_int(name, getattr(self, name), minimum=0)
        for name in ("maxReconnectAttempts", "startupMaxReconnectAttempts"):
            _check_int(name, getattr(self, name), minimum=UNLIMITED)
        for name in ("useExponentialBackOff", "randomize", "priorityBackup"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(f"option {name} must be true or false, not {getattr(self, name)!r}")
        multiplier = self.backOffMultiplier
        if (
            isinstance(multiplier, bool)
            or not isinstance(multiplier, (int, float))
            or not math.isfinite(multiplier)
            or multiplier < 1.0
        ):
            raise ConfigurationError(
                f"option backOffMultiplier must be a finite number >= 1.0, not {multiplier!r} "
                "(below 1 the delays would shrink; use useExponentialBackOff=false for a constant delay)"
            )


_FIELDS: Final = {f.name: f for f in fields(FailoverOptions)}
_ALIASES: Final = {"reconnectDelayExponent": "backOffMultiplier"}  # the name some ActiveMQ docs use
# ActiveMQ options that only make sense inside its Java client; named so the error can say so.
_UNSUPPORTED: Final = frozenset(
    {
        "backup",
        "backupPoolSize",
        "maxCacheSize",
        "nested",
        "priorityURIs",
        "reconnectSupported",
        "timeout",
        "trackMessages",
        "trackTransactionProducers",
        "updateURIsSupported",
        "updateURIsURL",
        "rebalanceUpdateURIs",
        "warnAfterReconnectAttempts",
    }
)
OPTION_NAMES: Final = frozenset(_FIELDS) | frozenset(_ALIASES)
"""The failover options a URL may carry."""
ACTIVEMQ_ONLY: Final = _UNSUPPORTED
"""Options of ActiveMQ's failover transport that stomptest refuses, saying so."""
_PLAIN_DEFAULTS: Final = {"maxReconnectAttempts": 0, "startupMaxReconnectAttempts": 0}


class FailoverUri:
    """A parsed failover (or plain) broker URI: `.endpoints` in the order written, `.options` typed.

    A plain `tcp://host:port` means one broker and, unless options say otherwise, no
    retries at all (`maxReconnectAttempts=0`, `startupMaxReconnectAttempts=0`), as a
    non-failover transport behaves in ActiveMQ. Bad input raises `ConfigurationError`
    naming the part that is wrong.
    """

    def __init__(self, uri: str | BrokerUrl) -> None:
        url = uri if isinstance(uri, BrokerUrl) else urls.parse(uri)
        self.url: BrokerUrl = url
        self.uri = uri if isinstance(uri, str) else str(uri)
        self.endpoints: tuple[Endpoint, ...] = url.endpoints
        given = _parse_options(url)
        defaults = {} if url.failover else dict(_PLAIN_DEFAULTS)
        try:
            self.options: FailoverOptions = replace(FailoverOptions(), **{**defaults, **given})  # type: ignore[arg-type]
        except ConfigurationError as exc:
            raise ConfigurationError(f"{exc} (in {url.shown!r})") from None

    @property
    def brokers(self) -> tuple[Endpoint, ...]:
        """The former name of `endpoints`."""
        return self.endpoints

    def __repr__(self) -> str:
        return f"FailoverUri({urls.redact(self.uri)!r})"

    def __str__(self) -> str:
        return self.uri

    def attempts(
        self, rng: random.Random | None = None, *, reconnect: bool = False
    ) -> Iterator[tuple[Endpoint, float]]:
        """Yield `(endpoint, delay_seconds)` for each endpoint tried; raise `ConnectTimeout` when no round is left.

        Attempts are rounds through the broker list, as in ActiveMQ. `reconnect=False` is
        the first connect of a client: the first round is immediate, and
        `startupMaxReconnectAttempts` rounds are made in all (0 still makes one, so every
        broker is tried once; -1 takes `maxReconnectAttempts` instead, -1 there meaning
        unlimited). `reconnect=True` follows a lost connection: up to `maxReconnectAttempts`
        rounds (0: none, -1: unlimited), the first after `initialReconnectDelay`, since the
        broker just went away. Only the first broker of a round carries a delay; the others
        follow it at once. Start a fresh iterator for each connect or reconnect; a success
        simply stops iterating.
        """
        options = self.options
        rng = rng if rng is not None else random.Random()
        if reconnect:
            name, limit = "maxReconnectAttempts", options.maxReconnectAttempts
            rounds = None if limit == UNLIMITED else limit
        else:
            name, limit = "startupMaxReconnectAttempts", options.startupMaxReconnectAttempts
            if limit == UNLIMITED:
                name, limit = "maxReconnectAttempts", options.maxReconnectAttempts
            # ActiveMQ counts a failed round before comparing, so 0 and 1 both allow one round.
            rounds = None if limit == UNLIMITED else max(1, limit)
        delays = _delays(options, rng)
        made = 0
        tried = 0
        while rounds is None or made < rounds:
            delay = 0.0 if made == 0 and not reconnect else next(delays)
            made += 1
            for broker in self._round(rng):
                tried += 1
                yield broker, delay
                delay = 0.0
        kind = "reconnect" if reconnect else "first connect"
        raise ConnectTimeout(
            f"{kind} gave up after {made} round(s), {tried} connection attempt(s) in all, "
            f"through {', '.join(map(str, self.endpoints))} (limited by {name}={limit})"
        )

    def _round(self, rng: random.Random) -> list[Endpoint]:
        """The endpoints in the order one pass through the list tries them."""
        brokers = list(self.endpoints)
        if self.options.priorityBackup:
            first, rest = brokers[:1], brokers[1:]
            if self.options.randomize:
                rng.shuffle(rest)
            return first + rest
        if self.options.randomize:
            rng.shuffle(brokers)
        return brokers


def _delays(options: FailoverOptions, rng: random.Random) -> Iterator[float]:
    """The waits before the 1st, 2nd, ... delayed round, in seconds."""
    base = float(min(options.initialReconnectDelay, options.maxReconnectDelay))
    while True:
        jitter = rng.random() * options.reconnectDelayJitter if options.reconnectDelayJitter else 0.0
        yield min(base + jitter, float(options.maxReconnectDelay)) / 1000.0
        if options.useExponentialBackOff:
            base = min(base * options.backOffMultiplier, float(options.maxReconnectDelay))


def _parse_options(url: BrokerUrl) -> dict[str, object]:
    values: dict[str, object] = {}
    uri = url.shown
    for given, text in url.options:
        name = _ALIASES.get(given, given)
        if name not in _FIELDS:
            if name in _UNSUPPORTED or name.startswith("nested."):
                raise ConfigurationError(f"option {name!r} in {uri!r} is an ActiveMQ option stomptest does not support")
            known = ", ".join(sorted(_FIELDS))
            raise ConfigurationError(f"unknown option {name!r} in {uri!r}: the options are {known}")
        if name in values:
            raise ConfigurationError(f"option {name!r} appears twice in {uri!r}")
        values[name] = _convert(name, text, uri)
    return values


def _convert(name: str, text: str, uri: str) -> object:
    kind = type(getattr(FailoverOptions(), name))
    if kind is bool:
        lowered = text.lower()
        if lowered not in ("true", "false"):
            raise ConfigurationError(f"option {name}={text!r} in {uri!r}: use true or false")
        return lowered == "true"
    if kind is int:
        if not re.fullmatch(r"-?[0-9]{1,18}", text):
            raise ConfigurationError(f"option {name}={text!r} in {uri!r}: expected a whole number")
        return int(text)
    try:
        return float(text)
    except ValueError:
        raise ConfigurationError(f"option {name}={text!r} in {uri!r}: expected a number") from None


def _check_int(name: str, value: object, *, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        meaning = " (-1 means unlimited)" if minimum == UNLIMITED else ""
        raise ConfigurationError(f"option {name} must be a whole number >= {minimum}{meaning}, not {value!r}")


def __getattr__(name: str) -> object:
    if name == "Broker":
        warnings.warn(
            "stomptest.client.failover.Broker is now Endpoint (stomptest.urls.Endpoint); "
            "the old name goes in the next release",
            DeprecationWarning,
            stacklevel=2,
        )
        return Endpoint
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
