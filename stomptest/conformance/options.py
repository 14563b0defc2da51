"""pytest options of the conformance suite, and how a run's settings are read from them.

`--stomp-url` is shared with the stomptest pytest plugin: whichever registers it first
wins and the other leaves it alone; the plugin's --stomp-profile and --stomp-versions (and
their ini keys) are honoured too. Because pytest reads a package's conftest.py too late
for ``--pyargs`` runs, the other settings can also ride on the URL's query string:
``--stomp-url "tcp://guest:guest@host:61613?profile=rabbitmq&versions=1.1,1.2&host=/"``.
Load this module with ``-p stomptest.conformance.options`` to get the ``--conformance-*``
options in a ``--pyargs`` run (its conftest.py registers them when run as a path).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import pytest

from stomptest import urls
from stomptest.protocol.errors import ConfigurationError
from stomptest.protocol.spec import VERSIONS

_QUERY_KEYS = ("profile", "versions", "host", "timeout")


def _add(group: pytest.OptionGroup, name: str, help: str) -> None:
    with contextlib.suppress(ValueError):  # already registered, by the stomptest plugin or another copy of this hook
        group.addoption(name, default=None, help=help)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stomptest", "STOMP brokers for tests (stomptest)")
    _add(
        group,
        "--stomp-url",
        "the broker under test: tcp://host[:port], ssl://host:port, ws://host:port/path, wss://... or failover:(...)",
    )
    _add(group, "--conformance-profile", "expected deviations: auto (default), strict, rabbitmq, activemq, artemis")
    _add(group, "--conformance-versions", "STOMP versions to check, default 1.0,1.1,1.2")
    _add(group, "--conformance-login", "CONNECT login for the conformance checks")
    _add(group, "--conformance-passcode", "CONNECT passcode for the conformance checks")
    _add(group, "--conformance-host", "CONNECT host header (virtual host), default /")


@dataclass(frozen=True)
class Settings:
    """What a pytest conformance run tests and how; `url` None means the embedded fake broker."""

    url: str | None
    profile: str | None
    versions: tuple[str, ...]
    login: str | None
    passcode: str | None
    vhost: str | None
    timeout: float = 3.0


def split_query(url: str) -> tuple[str, dict[str, str]]:
    """The URL without its conformance settings, and those settings.

    The URL follows stomptest.urls' grammar. Failover options are accepted and have no
    effect: a run tests one broker, the first member of a failover URL that answers.
    """
    from stomptest.client.failover import ACTIVEMQ_ONLY, OPTION_NAMES

    parsed = urls.parse(url)
    urls.check_options(parsed.without(ACTIVEMQ_ONLY), [*_QUERY_KEYS, *OPTION_NAMES], "settings and failover options")
    query = {name: value for name, value in parsed.options if name in _QUERY_KEYS}
    return str(parsed.without(_QUERY_KEYS)), query


def parse_versions(text: str) -> tuple[str, ...]:
    versions = tuple(v.strip() for v in text.split(",") if v.strip())
    bad = [v for v in versions if v not in VERSIONS]
    if bad or not versions:
        raise ConfigurationError(f"versions {text!r}: use a comma-separated subset of {','.join(VERSIONS)}")
    return tuple(v for v in VERSIONS if v in versions)


def _option(config: pytest.Config, name: str) -> str | None:
    """A command line option, or its ini value (the stomptest plugin adds ``stomp_url`` and friends)."""
    value = config.getoption(name, default=None)
    if value is None:
        try:
            value = config.getini(name[2:].replace("-", "_")) or None
        except ValueError:  # no such ini key in this run
            return None
    return None if value is None else str(value)


def settings_from_config(config: pytest.Config) -> Settings:
    """Read the settings; the plugin's --stomp-profile and --stomp-versions serve as fallbacks."""
    url = _option(config, "--stomp-url")
    query: dict[str, str] = {}
    if url:
        url, query = split_query(url)
    timeout = query.get("timeout")
    profile = _option(config, "--conformance-profile") or query.get("profile") or _option(config, "--stomp-profile")
    versions = (
        _option(config, "--conformance-versions")
        or query.get("versions")
        or _option(config, "--stomp-versions")
        or ",".join(VERSIONS)
    )
    return Settings(
        url=url or None,
        profile=profile,
        versions=parse_versions(versions),
        login=_option(config, "--conformance-login"),
        passcode=_option(config, "--conformance-passcode"),
        vhost=_option(config, "--conformance-host") or query.get("host"),
        timeout=float(timeout) if timeout else 3.0,
    )
