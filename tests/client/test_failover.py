"""Failover URIs and the reconnect policy: parsing, errors that name the part, and properties of attempts()."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stomptest.client.failover import Broker, FailoverOptions, FailoverUri
from stomptest.protocol.errors import ConfigurationError, ConnectTimeout, StompError

ISSUE_URI = (
    "failover:(tcp://a:61613,ssl://b:61614)?initialReconnectDelay=10&maxReconnectDelay=30000"
    "&useExponentialBackOff=true&backOffMultiplier=2.0&maxReconnectAttempts=-1&startupMaxReconnectAttempts=0"
    "&reconnectDelayJitter=0&randomize=true&priorityBackup=false"
)


def test_the_issue_example() -> None:
    uri = FailoverUri(ISSUE_URI)
    assert uri.brokers == (Broker("tcp", "a", 61613), Broker("ssl", "b", 61614))
    assert uri.options == FailoverOptions(startupMaxReconnectAttempts=0)
    assert [b.scheme for b in uri.brokers] == ["tcp", "ssl"]


def test_activemq_defaults() -> None:
    options = FailoverUri("failover:(tcp://a:1)").options
    assert options == FailoverOptions(
        initialReconnectDelay=10,
        maxReconnectDelay=30000,
        useExponentialBackOff=True,
        backOffMultiplier=2.0,
        maxReconnectAttempts=-1,
        startupMaxReconnectAttempts=-1,
        reconnectDelayJitter=0,
        randomize=True,
        priorityBackup=False,
    )


@pytest.mark.parametrize(
    ("text", "brokers"),
    [
        ("tcp://localhost:61613", [Broker("tcp", "localhost", 61613)]),
        ("ssl://h.example:61614", [Broker("ssl", "h.example", 61614)]),
        ("failover:tcp://a:1,tcp://b:2", [Broker("tcp", "a", 1), Broker("tcp", "b", 2)]),
        ("failover:(tcp://[::1]:61613)", [Broker("tcp", "::1", 61613)]),
        ("failover://(tcp://a:1,ssl://[fe80::1%eth0]:2)", [Broker("tcp", "a", 1), Broker("ssl", "fe80::1%eth0", 2)]),
        ("FAILOVER:(TCP://a:1)", [Broker("tcp", "a", 1)]),
    ],
)
def test_broker_forms(text: str, brokers: list[Broker]) -> None:
    assert list(FailoverUri(text).brokers) == brokers


def test_broker_str_round_trips() -> None:
    for broker in FailoverUri("failover:(tcp://a:1,ssl://[::1]:2)").brokers:
        assert FailoverUri(str(broker)).brokers == (broker,)


def test_option_separators_and_forms() -> None:
    ampersand = FailoverUri("failover:(tcp://a:1)?randomize=false&maxReconnectAttempts=3")
    comma = FailoverUri("failover:(tcp://a:1)?randomize=false,maxReconnectAttempts=3")
    bare = FailoverUri("failover:tcp://a:1?randomize=FALSE,maxReconnectAttempts=3")
    assert ampersand.options == comma.options == bare.options
    assert ampersand.options.randomize is False and ampersand.options.maxReconnectAttempts == 3
    assert FailoverUri("failover:(tcp://a:1)?reconnectDelayExponent=3").options.backOffMultiplier == 3.0


def test_plain_uri_does_not_retry_unless_told() -> None:
    plain = FailoverUri("tcp://a:1")
    assert (plain.options.startupMaxReconnectAttempts, plain.options.maxReconnectAttempts) == (0, 0)
    assert [b for b, _ in _take(plain.attempts(random.Random(0)), 10)] == [Broker("tcp", "a", 1)]
    with pytest.raises(ConnectTimeout):
        next(plain.attempts(random.Random(0), reconnect=True))
    told = FailoverUri("tcp://a:1?maxReconnectAttempts=2")
    assert told.options.maxReconnectAttempts == 2 and told.options.startupMaxReconnectAttempts == 0


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("", "empty"),
        ("tcp://a", "no port"),
        ("tcp://a:0", "port '0'"),
        ("tcp://a:65536", "port '65536'"),
        ("tcp://a:x1", "port 'x1'"),
        ("udp://a:1", "scheme 'udp'"),
        ("tcp://:1", "no host"),
        ("tcp://[zz]:1", "IPv6"),
        ("a:1", "not of the form"),
        ("failover:(tcp://a:1", "closing ')'"),
        ("failover:(tcp://a:1)x", "after ')'"),
        ("failover:()", "lists no broker"),
        ("failover:(tcp://a:1?wireFormat.maxInactivityDuration=0)", "options of its own"),
        ("failover:(tcp://a:1,)", "''"),
        ("tcp://a:1?foo=1", "unknown option 'foo'"),
        ("tcp://a:1?timeout=1000", "does not support"),
        ("tcp://a:1?randomize", "not name=value"),
        ("tcp://a:1?randomize=yes", "randomize"),
        ("tcp://a:1?initialReconnectDelay=1.5", "initialReconnectDelay"),
        ("tcp://a:1?initialReconnectDelay=-1", "initialReconnectDelay"),
        ("tcp://a:1?maxReconnectAttempts=-2", "maxReconnectAttempts"),
        ("tcp://a:1?backOffMultiplier=0.5", "backOffMultiplier"),
        ("tcp://a:1?backOffMultiplier=nan", "backOffMultiplier"),
        ("tcp://a:1?backOffMultiplier=abc", "backOffMultiplier"),
        ("tcp://a:1?randomize=true&randomize=false", "twice"),
        ("tcp://a:1?backOffMultiplier=2&reconnectDelayExponent=2", "twice"),
        ("tcp://a :1", "whitespace"),
    ],
)
def test_bad_uris_name_the_part(text: str, names: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        FailoverUri(text)
    assert isinstance(info.value, ValueError) and isinstance(info.value, StompError)
    assert names in str(info.value)


# --- the reconnect policy --------------------------------------------------------------------------------------


def _take(iterator: object, limit: int) -> list[tuple[Broker, float]]:
    """Up to `limit` attempts; stops early when the policy raises ConnectTimeout."""
    taken: list[tuple[Broker, float]] = []
    try:
        for item in itertools.islice(iterator, limit):  # type: ignore[call-overload]
            taken.append(item)
    except ConnectTimeout:
        pass
    return taken


attempt_limits = st.integers(-1, 6)


@st.composite
def failover_uris(draw: st.DrawFn) -> FailoverUri:
    hosts = draw(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=4, unique=True))
    initial = draw(st.integers(0, 5000))
    options = {
        "initialReconnectDelay": initial,
        "maxReconnectDelay": draw(st.integers(0, 60000)),
        "useExponentialBackOff": draw(st.booleans()),
        "backOffMultiplier": draw(st.floats(1.0, 10.0)),
        "maxReconnectAttempts": draw(attempt_limits),
        "startupMaxReconnectAttempts": draw(attempt_limits),
        "reconnectDelayJitter": draw(st.integers(0, 1000)),
        "randomize": draw(st.booleans()),
        "priorityBackup": draw(st.booleans()),
    }
    query = "&".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in options.items())
    return FailoverUri(f"failover:({','.join(f'tcp://{h}:61613' for h in hosts)})?{query}")


def _expected_total(uri: FailoverUri, *, reconnect: bool) -> int | None:
    options = uri.options
    if reconnect:
        return None if options.maxReconnectAttempts == -1 else options.maxReconnectAttempts
    limit = options.startupMaxReconnectAttempts
    if limit == -1:
        limit = options.maxReconnectAttempts
    return None if limit == -1 else 1 + limit


LOOK = 40  # attempts examined when unlimited


@given(failover_uris(), st.booleans(), st.integers(0, 2**32))
def test_attempt_counts_are_exact(uri: FailoverUri, reconnect: bool, seed: int) -> None:
    expected = _expected_total(uri, reconnect=reconnect)
    shown = LOOK if expected is None else min(expected, LOOK)
    assert len(_take(uri.attempts(random.Random(seed), reconnect=reconnect), LOOK)) == shown
    if expected is not None and expected <= LOOK:
        attempts = uri.attempts(random.Random(seed), reconnect=reconnect)
        assert len(list(itertools.islice(attempts, expected))) == expected
        with pytest.raises(ConnectTimeout, match=f"gave up after {expected} connection attempt"):
            next(attempts)


@given(failover_uris(), st.booleans(), st.integers(0, 2**32))
def test_delays_stay_between_initial_delay_and_cap(uri: FailoverUri, reconnect: bool, seed: int) -> None:
    options = uri.options
    taken = _take(uri.attempts(random.Random(seed), reconnect=reconnect), LOOK)
    delays = [delay for _, delay in taken]
    if not reconnect and delays:
        assert delays[0] == 0.0  # the first connect starts at once
        delays = delays[1:]
    floor = min(options.initialReconnectDelay, options.maxReconnectDelay) / 1000
    for delay in delays:
        assert floor - 1e-9 <= delay <= options.maxReconnectDelay / 1000 + 1e-9


@given(failover_uris(), st.booleans(), st.integers(0, 2**32))
def test_backoff_is_monotone_and_jitter_stays_in_bounds(uri: FailoverUri, reconnect: bool, seed: int) -> None:
    options = uri.options
    steady = FailoverUri(uri.uri)
    steady.options = replace(options, reconnectDelayJitter=0)
    base = [d for _, d in _take(steady.attempts(random.Random(seed), reconnect=reconnect), LOOK)]
    jittered = [d for _, d in _take(uri.attempts(random.Random(seed), reconnect=reconnect), LOOK)]
    assert len(base) == len(jittered)
    start = 0 if reconnect else 1
    assert all(a <= b for a, b in itertools.pairwise(base[start:]))  # never shrinks
    if not options.useExponentialBackOff:
        assert len(set(base[start:])) <= 1  # constant
    cap = options.maxReconnectDelay / 1000
    for steady_delay, delay in zip(base[start:], jittered[start:], strict=True):
        assert steady_delay - 1e-9 <= delay <= min(steady_delay + options.reconnectDelayJitter / 1000, cap) + 1e-9


@given(failover_uris(), st.booleans(), st.integers(0, 2**32))
def test_rounds_cover_every_broker_and_respect_order_options(uri: FailoverUri, reconnect: bool, seed: int) -> None:
    taken = [b for b, _ in _take(uri.attempts(random.Random(seed), reconnect=reconnect), LOOK)]
    size = len(uri.brokers)
    for start in range(0, len(taken) - size + 1, size):
        one_round = taken[start : start + size]
        assert sorted(one_round, key=str) == sorted(uri.brokers, key=str)
        if uri.options.priorityBackup:
            assert one_round[0] == uri.brokers[0]
        if not uri.options.randomize:
            assert one_round == list(uri.brokers)


@given(failover_uris(), st.booleans(), st.integers(0, 2**32))
def test_seeded_rng_makes_it_deterministic(uri: FailoverUri, reconnect: bool, seed: int) -> None:
    first = _take(uri.attempts(random.Random(seed), reconnect=reconnect), 20)
    second = _take(uri.attempts(random.Random(seed), reconnect=reconnect), 20)
    assert first == second


def test_exponential_schedule_example() -> None:
    uri = FailoverUri(
        "failover:(tcp://a:1,tcp://b:2)?randomize=false&maxReconnectDelay=100&startupMaxReconnectAttempts=5"
    )
    assert _take(uri.attempts(), 100) == [
        (Broker("tcp", "a", 1), 0.0),
        (Broker("tcp", "b", 2), 0.01),
        (Broker("tcp", "a", 1), 0.02),
        (Broker("tcp", "b", 2), 0.04),
        (Broker("tcp", "a", 1), 0.08),
        (Broker("tcp", "b", 2), 0.1),
    ]
    reconnect = _take(uri.attempts(reconnect=True), 3)
    assert [d for _, d in reconnect] == [0.01, 0.02, 0.04]  # a reconnect waits before its first attempt


def test_startup_limit_minus_one_falls_back_to_max_reconnect_attempts() -> None:
    uri = FailoverUri("failover:(tcp://a:1)?maxReconnectAttempts=2")
    assert len(_take(uri.attempts(random.Random(1)), 100)) == 3
    with pytest.raises(ConnectTimeout, match=r"maxReconnectAttempts=2"):
        list(uri.attempts(random.Random(1)))
