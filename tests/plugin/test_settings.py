"""Option resolution without pytest: precedence, URL forms, and errors that say what to write."""

from __future__ import annotations

import pytest

from stomptest.protocol.errors import ConfigurationError
from stomptest.testing.settings import Settings, parse_target, resolve


def settings(**given: str | None) -> Settings:
    options: dict[str, str | None] = {"url_option": None, "profile_option": None, "versions_option": None}
    ini = {"url_ini": "", "profile_ini": "", "versions_ini": ""}
    for name, value in given.items():
        if name.endswith("_ini"):
            ini[name] = value or ""
        else:
            options[name] = value
    return resolve(**options, **ini)  # type: ignore[arg-type]


def test_defaults_are_fake_strict_brokers_and_every_version() -> None:
    assert settings() == Settings(profile="strict", versions=("1.0", "1.1", "1.2"), target=None)


@pytest.mark.parametrize(
    ("given", "profile"),
    [
        ({}, "strict"),
        ({"profile_ini": "activemq"}, "activemq"),
        ({"profile_ini": "activemq", "profile_option": "rabbitmq"}, "rabbitmq"),
        ({"url_option": "tcp://h:1?profile=artemis"}, "artemis"),
        ({"url_option": "tcp://h:1?profile=artemis", "profile_ini": "activemq"}, "activemq"),
    ],
)
def test_profile_precedence_command_line_then_ini_then_url_then_default(given: dict[str, str], profile: str) -> None:
    assert settings(**given).profile == profile


@pytest.mark.parametrize(
    ("given", "versions"),
    [
        ({}, ("1.0", "1.1", "1.2")),
        ({"versions_ini": "1.2, 1.0"}, ("1.0", "1.2")),
        ({"versions_ini": "1.2", "versions_option": "1.1"}, ("1.1",)),
        ({"url_option": "tcp://h:1?versions=1.1,1.2"}, ("1.1", "1.2")),
        ({"url_option": "tcp://h:1?versions=1.1", "versions_ini": "1.0"}, ("1.0",)),
    ],
)
def test_versions_precedence(given: dict[str, str], versions: tuple[str, ...]) -> None:
    assert settings(**given).versions == versions


def test_the_url_option_wins_over_the_ini_url() -> None:
    target = settings(url_option="tcp://a:1", url_ini="tcp://b:2").target
    assert target is not None and target.address == ("a", 1)
    ini_only = settings(url_ini="tcp://b:2").target
    assert ini_only is not None and ini_only.address == ("b", 2)


def test_a_url_carries_credentials_vhost_and_timeout() -> None:
    target, rest = parse_target("stomp://guest:gu%40st@127.0.0.1:61613?host=/&timeout=2.5&profile=rabbitmq")
    assert (target.scheme, target.host, target.port) == ("tcp", "127.0.0.1", 61613)
    assert (target.login, target.passcode, target.vhost, target.timeout) == ("guest", "gu@st", "/", 2.5)
    assert target.client_url == "tcp://127.0.0.1:61613"
    assert rest == {"profile": "rabbitmq"}


def test_a_url_without_a_port_means_61613_and_failover_options_reach_the_client() -> None:
    target, _ = parse_target("tcp://u:p@a?maxReconnectAttempts=2&profile=strict")
    assert (target.host, target.port) == ("a", 61613)
    assert target.client_url == "tcp://a:61613?maxReconnectAttempts=2"
    assert target.shown == "tcp://u:***@a?maxReconnectAttempts=2&profile=strict"


def test_a_failover_url_keeps_its_options_and_takes_credentials_from_the_first_broker() -> None:
    target, _ = parse_target("failover:(tcp://u:p@a:61613,ssl://b:61614)?randomize=false")
    assert target.client_url == "failover:(tcp://a:61613,ssl://b:61614)?randomize=false"
    assert (target.host, target.port, target.login, target.passcode) == ("a", 61613, "u", "p")


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ({"url_option": "http://a:1"}, "--stomp-url: 'http://a:1': unknown scheme 'http'"),
        ({"url_option": "ssl://a"}, "--stomp-url: 'ssl://a' names no port, and ssl:// has no default"),
        ({"url_option": "tcp://a:99999"}, "port '99999' is not a number from 1 to 65535"),
        ({"url_option": "tcp://a:1?color=red"}, "unknown option 'color'; the settings and failover options are"),
        ({"url_option": "tcp://a:1?trackMessages=true"}, "is an ActiveMQ option stomptest does not support"),
        ({"url_option": "tcp://a:1?timeout=-1"}, "timeout='-1' must be a positive number"),
        ({"url_ini": "ftp://a:1"}, "stomp_url (ini): 'ftp://a:1'"),
        ({"url_option": "failover:(tcp://a:1"}, "opens '(' without a closing ')'"),
        ({"url_option": "failover:(tcp://a:1)?maxReconnectAttempts=x"}, "maxReconnectAttempts"),
        ({"profile_option": "nope"}, "--stomp-profile: unknown broker profile 'nope'; use one of"),
        ({"profile_ini": "nope"}, "stomp_profile (ini): unknown broker profile 'nope'"),
        ({"versions_option": "2.0"}, "--stomp-versions: '2.0' is not a list of STOMP versions"),
        ({"versions_ini": ","}, "stomp_versions (ini)"),
    ],
)
def test_bad_settings_say_what_is_wrong(given: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        settings(**given)
    assert says in str(caught.value)


def test_auto_is_a_profile_only_for_external_brokers() -> None:
    assert settings(url_option="tcp://a:1", profile_option="auto").profile == "auto"
    with pytest.raises(ConfigurationError):
        settings(profile_option="auto")
