"""Failover URIs and the reconnect policy: parsing, errors that name the part, and properties of attempts()."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stomptest.client.failover import Endpoint, FailoverOptions, FailoverUri
from stomptest.protocol.errors import ConfigurationError, ConnectTimeout, StompError

ISSUE_URI = (
    "failover:(tcp://a:61613,ssl://b:61614)?initialReconnectDelay=10&maxReconnectDelay=30000"
    "&useExponentialBackOff=true&backOffMultiplier=2.0&maxReconnectAttempts=-1&startupMaxReconnectAttempts=0"
    "&reconnectDelayJitter=0&randomize=true&priorityBackup=false"
)


def test_the_issue_example() -> None:
    uri = FailoverUri(ISSUE_URI)
    assert uri.endpoints == (Endpoint("tcp", "a", 61613), Endpoint("ssl", "b", 61614))
    assert uri.options == FailoverOptions(startupMaxReconnectAttempts=0)
    assert [b.scheme for b in uri.endpoints] == ["tcp", "ssl"]


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
        ("tcp://localhost:61613", [Endpoint("tcp", "localhost", 61613)]),
        ("ssl://h.example:61614", [Endpoint("ssl", "h.example", 61614)]),
        ("failover:tcp://a:1,tcp://b:2", [Endpoint("tcp", "a", 1), Endpoint("tcp", "b", 2)]),
        ("failover:(tcp://[::1]:61613)", [Endpoint("tcp", "::1", 61613)]),
        (
            "failover://(tcp://a:1,ssl://[fe80::1%eth0]:2)",
            [Endpoint("tcp", "a", 1), Endpoint("ssl", "fe80::1%eth0", 2)],
        ),
        ("FAILOVER:(TCP://a:1)", [Endpoint("tcp", "a", 1)]),
    ],
)
def test_broker_forms(text: str, brokers: list[Endpoint]) -> None:
    assert list(FailoverUri(text).endpoints) == brokers


def test_broker_str_round_trips() -> None:
    for broker in FailoverUri("failover:(tcp://a:1,ssl://[::1]:2)").endpoints:
        assert FailoverUri(str(broker)).endpoints == (broker,)


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
    assert [b for b, _ in _take(plain.attempts(random.Random(0)), 10)] == [Endpoint("tcp", "a", 1)]
    with pytest.raises(ConnectTimeout):
        next(plain.attempts(random.Random(0), reconnect=True))
    told = FailoverUri("tcp://a:1?maxReconnectAttempts=2")
    assert told.options.maxReconnectAttempts == 2 and told.options.startupMaxReconnectAttempts == 0


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("", "empty"),
        ("ssl://a", "no port"),
        ("tcp://a:0", "port '0'"),
        ("tcp://a:65536", "port '65536'"),
        ("tcp://a:x1", "port 'x1'"),
        ("udp://a:1", "scheme 'udp'"),
        ("tcp://:1", "no host"),
        ("tcp://[zz]:1", "IPv6"),
        ("tcp:a:1", "not a broker URL"),
        ("failover:(tcp://a:1", "closing ')'"),
        ("failover:(tcp://a:1)x", "after ')'"),
        ("failover:()", "lists no broker"),
        ("failover:(tcp://a:1?wireFormat.maxInactivityDuration=0)", "options of its own"),
        ("failover:(tcp://a:1,)", "empty entry"),
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


def _take(iterator: object, limit: int) -> list[tuple[Endpoint, float]]:
    """Up to `limit` attempts; stops early when the policy raises ConnectTimeout."""
    taken: list[tuple[Endpoint, float]] = []
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


def _expected_rounds(uri: FailoverUri, *, reconnect: bool) -> int | None:
    """Rounds through the list ActiveMQ's FailoverTransport makes before giving up (None: forever)."""
    options = uri.options
    if reconnect:
        return None if options.maxReconnectAttempts == -1 else options.maxReconnectAttempts
    limit = options.startupMaxReconnectAttempts
    if limit == -1:
        limit = options.maxReconnectAttempts
    return None if limit == -1 else max(1, limit)  # a failed round is counted before the limit is checked


LOOK = 10  # rounds examined when unlimited


def _rounds(uri: FailoverUri, seed: int, *, reconnect: bool) -> list[list[tuple[Endpoint, float]]]:
    """Up to LOOK rounds of attempts, split at round boundaries."""
    size = len(uri.endpoints)
    taken = _take(uri.attempts(random.Random(seed), reconnect=reconnect), LOOK * size)
    assert len(taken) % size == 0  # the policy never gives up in the middle of a round
    return [taken[i : i + size] for i in range(0, len(taken), size)]


@given(failover_uris(), st.booleans(), st.integers(0, 2**32))
def test_attempt_counts_are_exact_per_round(uri: FailoverUri, reconnect: bool, seed: int) -> None:
    expected = _expected_rounds(uri, reconnect=reconnect)
    size = len(uri.endpoints)
    shown = LOOK if expected is None else min(expected, LOOK)
    assert len(_rounds(uri, seed, reconnect=reconnect)) == shown
    if expected is not None:
        attempts = uri.attempts(random.Random(seed), reconnect=reconnect)
        assert len(list(itertools.islice(attempts, expected * size))) == expected * size
        with pytest.raises(ConnectTimeout) as info:
            next(attempts)
        message = str(info.value)
        assert f"after {expected} round(s), {expected * size} connection attempt(s)" in message
        option = "maxReconnectAttempts"
        if not reconnect and uri.options.startupMaxReconnectAttempts != -1:
            option = "startupMaxReconnectAttempts"
        assert f"{option}={getattr(uri.options, option)}" in message


@given(failover_uris(), st.booleans(), st.integers(0, 2**32))
def test_delays_come_only_before_a_round_and_stay_between_initial_delay_and_cap(
    uri: FailoverUri, reconnect: bool, seed: int
) -> None:
    options = uri.options
    rounds = _rounds(uri, seed, reconnect=reconnect)
    floor = min(options.initialReconnectDelay, options.maxReconnectDelay) / 1000
    for number, one_round in enumerate(rounds):
        delays = [delay for _, delay in one_round]
        assert delays[1:] == [0.0] * (len(delays) - 1)  # brokers of a round follow each other at once
        if number == 0 and not reconnect:
            assert delays[0] == 0.0  # the first connect starts at once
        else:
            assert floor - 1e-9 <= delays[0] <= options.maxReconnectDelay / 1000 + 1e-9


@given(failover_uris(), st.booleans(), st.integers(0, 2**32))
def test_backoff_is_monotone_across_rounds_and_jitter_stays_in_bounds(
    uri: FailoverUri, reconnect: bool, seed: int
) -> None:
    options = uri.options
    steady = FailoverUri(uri.uri)
    steady.options = replace(options, reconnectDelayJitter=0)
    base = [one_round[0][1] for one_round in _rounds(steady, seed, reconnect=reconnect)]
    jittered = [one_round[0][1] for one_round in _rounds(uri, seed, reconnect=reconnect)]
    assert len(base) == len(jittered)
    start = 0 if reconnect else 1
    assert all(a <= b for a, b in itertools.pairwise(base[start:]))  # never shrinks from round to round
    if not options.useExponentialBackOff:
        assert len(set(base[start:])) <= 1  # constant
    cap = options.maxReconnectDelay / 1000
    for steady_delay, delay in zip(base[start:], jittered[start:], strict=True):
        assert steady_delay - 1e-9 <= delay <= min(steady_delay + options.reconnectDelayJitter / 1000, cap) + 1e-9


@given(failover_uris(), st.booleans(), st.integers(0, 2**32))
def test_every_round_tries_every_broker_once_and_respects_order_options(
    uri: FailoverUri, reconnect: bool, seed: int
) -> None:
    for one_round in _rounds(uri, seed, reconnect=reconnect):
        brokers = [broker for broker, _ in one_round]
        assert sorted(brokers, key=str) == sorted(uri.endpoints, key=str)
        if uri.options.priorityBackup:
            assert brokers[0] == uri.endpoints[0]
        if not uri.options.randomize:
            assert brokers == list(uri.endpoints)


@given(failover_uris(), st.booleans(), st.integers(0, 2**32))
def test_seeded_rng_makes_it_deterministic(uri: FailoverUri, reconnect: bool, seed: int) -> None:
    first = _take(uri.attempts(random.Random(seed), reconnect=reconnect), 20)
    second = _take(uri.attempts(random.Random(seed), reconnect=reconnect), 20)
    assert first == second


def test_randomize_shuffles_each_round_anew() -> None:
    uri = FailoverUri("failover:(tcp://a:1,tcp://b:2,tcp://c:3,tcp://d:4)")
    orders = {tuple(b for b, _ in one_round) for one_round in _rounds(uri, 3, reconnect=False)}
    assert len(orders) > 1  # 10 rounds of 4 brokers all in one order would mean no reshuffling


def test_exponential_schedule_example() -> None:
    a, b = Endpoint("tcp", "a", 1), Endpoint("tcp", "b", 2)
    uri = FailoverUri(
        "failover:(tcp://a:1,tcp://b:2)?randomize=false&maxReconnectDelay=50&startupMaxReconnectAttempts=5"
        "&maxReconnectAttempts=3"
    )
    assert _take(uri.attempts(), 100) == [
        (a, 0.0), (b, 0.0),  # round 1: at once
        (a, 0.01), (b, 0.0),  # round 2: after initialReconnectDelay
        (a, 0.02), (b, 0.0),
        (a, 0.04), (b, 0.0),
        (a, 0.05), (b, 0.0),  # capped by maxReconnectDelay; 5 rounds in all
    ]  # fmt: skip
    reconnect = _take(uri.attempts(reconnect=True), 100)
    assert reconnect == [(a, 0.01), (b, 0.0), (a, 0.02), (b, 0.0), (a, 0.04), (b, 0.0)]  # waits before round 1


def test_constant_delay_without_exponential_backoff() -> None:
    uri = FailoverUri("failover:(tcp://a:1)?useExponentialBackOff=false&initialReconnectDelay=7&maxReconnectAttempts=4")
    assert [d for _, d in _take(uri.attempts(reconnect=True), 100)] == [0.007] * 4


@pytest.mark.parametrize(("limit", "rounds"), [(0, 1), (1, 1), (2, 2), (5, 5)])
def test_startup_limit_counts_rounds_in_all_as_activemq_does(limit: int, rounds: int) -> None:
    uri = FailoverUri(f"failover:(tcp://a:1,tcp://b:2,tcp://c:3)?startupMaxReconnectAttempts={limit}")
    assert len(_take(uri.attempts(random.Random(1)), 100)) == 3 * rounds
    with pytest.raises(ConnectTimeout, match=rf"after {rounds} round\(s\), {3 * rounds} connection attempt\(s\)"):
        list(uri.attempts(random.Random(1)))


def test_startup_limit_minus_one_falls_back_to_max_reconnect_attempts() -> None:
    uri = FailoverUri("failover:(tcp://a:1,tcp://b:2)?maxReconnectAttempts=2")
    assert len(_take(uri.attempts(random.Random(1)), 100)) == 4
    with pytest.raises(ConnectTimeout, match=r"first connect gave up after 2 round.*maxReconnectAttempts=2"):
        list(uri.attempts(random.Random(1)))
    endless = FailoverUri("failover:(tcp://a:1,tcp://b:2)")
    assert len(_take(endless.attempts(random.Random(1)), 1000)) == 1000


def test_reconnect_limit_zero_makes_no_attempt_at_all() -> None:
    uri = FailoverUri("failover:(tcp://a:1,tcp://b:2)?maxReconnectAttempts=0")
    with pytest.raises(ConnectTimeout, match=r"reconnect gave up after 0 round\(s\).*maxReconnectAttempts=0"):
        next(uri.attempts(random.Random(1), reconnect=True))
    assert len(_take(uri.attempts(random.Random(1)), 100)) == 2  # the first connect still tries both once


def test_plain_urls_default_to_tcp_port_61613() -> None:
    assert FailoverUri("tcp://a").endpoints == (Endpoint("tcp", "a", 61613),)
    assert FailoverUri("a").endpoints == (Endpoint("tcp", "a", 61613),)


def test_credentials_in_the_url_are_kept_and_masked() -> None:
    uri = FailoverUri("failover:(tcp://guest:s%40cret@a:1,tcp://b:2)")
    assert (uri.url.login, uri.url.passcode) == ("guest", "s@cret")
    assert "s%40cret" not in repr(uri) and "***" in repr(uri)


def test_the_old_name_broker_still_imports_with_a_warning() -> None:
    import stomptest.client.failover as failover

    with pytest.warns(DeprecationWarning, match="Broker is now Endpoint"):
        old = failover.Broker
    assert old is Endpoint
    with pytest.warns(DeprecationWarning):
        from stomptest.client.failover import Broker  # noqa: F401
    with pytest.raises(AttributeError):
        failover.Nothing  # noqa: B018


@pytest.mark.parametrize("client_class", ["Client", "AsyncClient"])
def test_credentials_in_the_url_log_in_unless_arguments_say_otherwise(client_class: str) -> None:
    import asyncio

    from stomptest.broker import Broker as FakeBroker
    from stomptest.client import AsyncClient, Client
    from stomptest.protocol.errors import BrokerError

    with FakeBroker(users={"guest": "pa@ss"}) as broker:
        url = f"tcp://guest:pa%40ss@127.0.0.1:{broker.port}"
        if client_class == "Client":
            with Client(url) as client:
                client.send("/queue/creds", b"in", receipt=True)
            with pytest.raises(BrokerError):
                Client(url, passcode="wrong", connect_timeout=5).connect()
        else:

            async def run() -> None:
                async with AsyncClient(url) as client:
                    await client.send("/queue/creds", b"in", receipt=True)

            asyncio.run(run())
        assert len(broker.messages("/queue/creds")) == 1
