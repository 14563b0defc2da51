"""Failover URIs and the reconnect policy they describe, with ActiveMQ's option names and meanings.

`FailoverUri(uri)` parses `failover:(tcp://a:61613,ssl://b:61614)?option=value&...`
(also without parentheses, with `,` between options as stompest writes them, or a plain
`tcp://host:port`). `attempts()` turns it into the sequence of `(broker, delay_seconds)`
pairs a client walks through: wait `delay_seconds`, try `broker`, take the next pair on
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
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from typing import Final, Literal, cast

from stomptest.protocol.errors import ConfigurationError, ConnectTimeout

Scheme = Literal["tcp", "ssl"]
SCHEMES: Final[tuple[Scheme, ...]] = ("tcp", "ssl")

UNLIMITED: Final = -1


@dataclass(frozen=True)
class Broker:
    """One broker address of a failover URI."""

    scheme: Scheme
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


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
_PLAIN_DEFAULTS: Final = {"maxReconnectAttempts": 0, "startupMaxReconnectAttempts": 0}

_BROKER = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<host>\[[^\]]*\]|[^:/\[\]]*)(?::(?P<port>[^/]*))?")


class FailoverUri:
    """A parsed failover (or plain) broker URI: `.brokers` in the order written, `.options` typed.

    A plain `tcp://host:port` means one broker and, unless options say otherwise, no
    retries at all (`maxReconnectAttempts=0`, `startupMaxReconnectAttempts=0`), as a
    non-failover transport behaves in ActiveMQ. Bad input raises `ConfigurationError`
    naming the part that is wrong.
    """

    def __init__(self, uri: str) -> None:
        if not isinstance(uri, str):
            raise ConfigurationError(f"a broker URI is a str, not {type(uri).__name__}")
        self.uri = uri
        text = uri.strip()
        if not text:
            raise ConfigurationError("empty broker URI: write e.g. tcp://localhost:61613")
        if any(ch.isspace() for ch in text):
            raise ConfigurationError(f"broker URI {uri!r} contains whitespace")
        failover = text.lower().startswith("failover:")
        if failover:
            rest = text[len("failover:") :]
            if rest.startswith("//"):
                rest = rest[2:]
            if rest.startswith("("):
                close = rest.find(")")
                if close < 0:
                    raise ConfigurationError(f"broker URI {uri!r}: '(' without a closing ')'")
                broker_text, after = rest[1:close], rest[close + 1 :]
                if after and not after.startswith("?"):
                    raise ConfigurationError(f"broker URI {uri!r}: expected '?options' after ')', found {after!r}")
                query = after[1:] if after else ""
            else:
                broker_text, _, query = rest.partition("?")
        else:
            broker_text, _, query = text.partition("?")
        if not broker_text:
            raise ConfigurationError(f"broker URI {uri!r} lists no broker: write e.g. failover:(tcp://host:61613)")
        self.brokers: tuple[Broker, ...] = tuple(_parse_broker(part, uri) for part in broker_text.split(","))
        given = _parse_options(query, uri)
        defaults = {} if failover else dict(_PLAIN_DEFAULTS)
        try:
            self.options: FailoverOptions = replace(FailoverOptions(), **{**defaults, **given})  # type: ignore[arg-type]
        except ConfigurationError as exc:
            raise ConfigurationError(f"{exc} (in {uri!r})") from None

    def __repr__(self) -> str:
        return f"FailoverUri({self.uri!r})"

    def __str__(self) -> str:
        return self.uri

    def attempts(self, rng: random.Random | None = None, *, reconnect: bool = False) -> Iterator[tuple[Broker, float]]:
        """Yield `(broker, delay_seconds)` for each broker tried; raise `ConnectTimeout` when no round is left.

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
            f"through {', '.join(map(str, self.brokers))} (limited by {name}={limit})"
        )

    def _round(self, rng: random.Random) -> list[Broker]:
        """The brokers in the order one pass through the list tries them."""
        brokers = list(self.brokers)
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


def _parse_broker(part: str, uri: str) -> Broker:
    if "?" in part:
        raise ConfigurationError(
            f"broker {part!r} in {uri!r} has options of its own, which stomptest does not support: "
            "put failover options after the closing ')'"
        )
    match = _BROKER.fullmatch(part)
    if match is None:
        raise ConfigurationError(f"broker {part!r} in {uri!r} is not of the form tcp://host:port or ssl://host:port")
    scheme = match["scheme"].lower()
    if scheme not in SCHEMES:
        raise ConfigurationError(f"broker {part!r} in {uri!r}: scheme {scheme!r} is not supported, use tcp or ssl")
    host = match["host"]
    if host.startswith("["):
        host = host[1:-1]
        if not host or not re.fullmatch(r"[0-9A-Fa-f:.]+(%[\w.-]+)?", host) or ":" not in host:
            raise ConfigurationError(f"broker {part!r} in {uri!r}: [{host}] is not an IPv6 address")
    elif not host:
        raise ConfigurationError(f"broker {part!r} in {uri!r} has no host")
    port_text = match["port"]
    if port_text is None:
        raise ConfigurationError(f"broker {part!r} in {uri!r} has no port: write {scheme}://{match['host']}:61613")
    if not (port_text.isascii() and port_text.isdigit() and len(port_text) <= 5) or not 0 < int(port_text) < 65536:
        raise ConfigurationError(f"broker {part!r} in {uri!r}: port {port_text!r} is not a number from 1 to 65535")
    return Broker(cast(Scheme, scheme), host, int(port_text))


def _parse_options(query: str, uri: str) -> dict[str, object]:
    values: dict[str, object] = {}
    if not query:
        return values
    for item in re.split(r"[&,]", query):
        name, equals, text = item.partition("=")
        if not name or not equals:
            raise ConfigurationError(f"option {item!r} in {uri!r} is not name=value")
        name = _ALIASES.get(name, name)
        field = _FIELDS.get(name)
        if field is None:
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
