"""The broker URL grammar (stomptest.urls): round trips, the default-port rule, and one clear error per mistake."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from stomptest import urls
from stomptest.protocol.errors import ConfigurationError
from stomptest.urls import BrokerUrl, Endpoint

host_names = st.from_regex(r"[A-Za-z0-9_]([A-Za-z0-9_.-]{0,20}[A-Za-z0-9_.])?", fullmatch=True)
ipv4 = st.ip_addresses(v=4).map(str)
ipv6 = st.ip_addresses(v=6).map(lambda address: ipaddress.IPv6Address(address).compressed)
hosts = st.one_of(host_names, ipv4, ipv6)
ws_paths = st.from_regex(r"(/([A-Za-z0-9._~!$&'*+;=:@-]|%[0-9A-F]{2}){0,8}){1,3}", fullmatch=True)
endpoints = st.builds(Endpoint, st.sampled_from(("tcp", "ssl")), hosts, st.integers(1, 65535)) | st.builds(
    Endpoint, st.sampled_from(("ws", "wss")), hosts, st.integers(1, 65535), st.just("") | ws_paths
)
# anything a login, passcode or option value may hold once percent-encoded (no lone surrogates: not UTF-8)
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
option_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,10}", fullmatch=True)


@st.composite
def broker_urls(draw: st.DrawFn) -> BrokerUrl:
    failover = draw(st.booleans())
    members = tuple(draw(st.lists(endpoints, min_size=1, max_size=4 if failover else 1)))
    login = draw(st.none() | texts)
    passcode = None if login is None else draw(st.none() | texts)
    names = draw(st.lists(option_names, max_size=4, unique=True))
    options = tuple((name, draw(texts)) for name in names)
    return BrokerUrl(members, failover, login, passcode, options)


@given(broker_urls())
@example(BrokerUrl((Endpoint("ssl", "::1", 61614),), True, "a:b@c", "p/w,x)", (("versions", "1.1,1.2"),)))
@example(BrokerUrl((Endpoint("tcp", "a", 1),), False, None, None, (("v", "a,b=c&d"), ("w", "%zz"))))
@example(
    BrokerUrl((Endpoint("ws", "a", 1, "/ws"), Endpoint("tcp", "b", 2)), True, "u", None, (("randomize", "false"),))
)
def test_parse_reads_back_what_format_writes(url: BrokerUrl) -> None:
    text = urls.format(url)
    assert urls.parse(text) == url
    assert str(url) == text
    assert not any(ch.isspace() for ch in text)


def _parses_or_refuses(text: str) -> None:
    try:
        url = urls.parse(text)
    except ConfigurationError as exc:
        assert isinstance(exc, ValueError)
        message = str(exc)
        assert message and "\n" not in message
    else:
        assert urls.parse(str(url)) == url


@given(st.text(max_size=60))
@example("failover:(tcp://a:1")
@example("tcp://[::1")
@example("tcp://a:99999999999999999999999")
@example("tcp://a:\u0663")  # a digit, but not an ASCII one
def test_any_text_parses_or_raises_a_value_error(text: str) -> None:
    _parses_or_refuses(text)


@given(st.text(alphabet="tcpslw:/[]@?&=,()%.1:a failover#", max_size=40))
def test_url_shaped_text_parses_or_raises_a_value_error(text: str) -> None:
    _parses_or_refuses(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tcp://h", Endpoint("tcp", "h", 61613)),
        ("h", Endpoint("tcp", "h", 61613)),
        ("h:1", Endpoint("tcp", "h", 1)),
        ("stomp://h", Endpoint("tcp", "h", 61613)),
        ("STOMP+SSL://h:61612", Endpoint("ssl", "h", 61612)),
        ("ssl://h:61614/", Endpoint("ssl", "h", 61614)),
        ("tcp://[fe80::1%eth0]:2", Endpoint("tcp", "fe80::1%eth0", 2)),
        ("ws://h:15674/ws", Endpoint("ws", "h", 15674, "/ws")),
        ("WS://h", Endpoint("ws", "h", 80)),
        ("ws://h:1/", Endpoint("ws", "h", 1, "/")),
        ("wss://[::1]/a/b%20c", Endpoint("wss", "::1", 443, "/a/b%20c")),
        ("ws://u:p@h:61615/stomp", Endpoint("ws", "h", 61615, "/stomp")),
    ],
)
def test_forms_and_the_default_port(text: str, expected: Endpoint) -> None:
    url = urls.parse(text)
    assert url.endpoints == (expected,) and not url.failover


def test_endpoint_facts() -> None:
    assert Endpoint("ssl", "h", 1).tls and not Endpoint("tcp", "h", 1).tls
    assert Endpoint("tcp", "::1", 5).address == ("::1", 5)
    assert str(Endpoint("tcp", "::1", 5)) == "tcp://[::1]:5"
    assert Endpoint("wss", "h", 1).tls and Endpoint("wss", "h", 1).websocket and not Endpoint("ssl", "h", 1).websocket
    assert Endpoint("ws", "h", 1).target == "/" and Endpoint("ws", "h", 1, "/ws").target == "/ws"
    assert str(Endpoint("ws", "h", 1, "/ws")) == "ws://h:1/ws"


def test_failover_across_websocket_and_tcp_members() -> None:
    url = urls.parse("failover:(ws://guest:guest@a:15674/ws,tcp://b,wss://c/stomp)?randomize=false")
    assert url.endpoints == (
        Endpoint("ws", "a", 15674, "/ws"),
        Endpoint("tcp", "b", 61613),
        Endpoint("wss", "c", 443, "/stomp"),
    )
    assert url.login == "guest"
    assert url.shown == "failover:(ws://guest:***@a:15674/ws,tcp://b:61613,wss://c:443/stomp)?randomize=false"


def test_failover_members_credentials_and_options() -> None:
    url = urls.parse("failover:tcp://guest:g%3Aw@a,ssl://guest:g%3Aw@b:9?randomize=false,versions=1.1,1.2&host=/")
    assert url.failover and url.endpoints == (Endpoint("tcp", "a", 61613), Endpoint("ssl", "b", 9))
    assert (url.login, url.passcode) == ("guest", "g:w")
    assert url.option_map == {"randomize": "false", "versions": "1.1,1.2", "host": "/"}
    assert url.shown == "failover:(tcp://guest:***@a:61613,ssl://b:9)?randomize=false&versions=1.1,1.2&host=/"
    assert url.without(["host"], credentials=True).options == (("randomize", "false"), ("versions", "1.1,1.2"))
    assert url.without(credentials=True).login is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the broker URL is empty: write e.g. tcp://127.0.0.1:61613"),
        ("tcp://a :1", "'tcp://a :1' contains whitespace: remove it"),
        ("ssl://h", "'ssl://h' names no port, and ssl:// has no default"),
        ("tcp://h:0", "'tcp://h:0': port '0' is not a number from 1 to 65535"),
        ("tcp://h:x", "port 'x' is not a number from 1 to 65535"),
        ("udp://h:1", "'udp://h:1': unknown scheme 'udp': use tcp://"),
        ("ws://h:15674/w s", "contains whitespace"),
        ("ws://h:15674/ws#top", "a WebSocket URL has no fragment (RFC 6455): remove '#top'"),
        ("ws://h:15674/a|b", "'/a|b' is not a URL path"),
        ("ws://h:15674/%zz", "'/%zz' is not a URL path"),
        ("wss://h:x/ws", "port 'x' is not a number from 1 to 65535"),
        ("ws://h:1/a(b)", "'/a(b)' is not a URL path"),
        ("tcp://h:1/queue", "has a path ('/queue'): a tcp:// URL ends after the port (only ws:// and wss://"),
        ("tcp:h:1", "is not a broker URL: write scheme://host:port"),
        ("tcp://:1", "names no host"),
        ("::1:5", "write an IPv6 address in brackets"),
        ("tcp://[zz]:1", "[zz] is not an IPv6 address"),
        ("tcp://h$:1", "'h$' is not a host name or address"),
        ("failover:(tcp://a:1", "opens '(' without a closing ')'"),
        ("failover:(tcp://a:1)x", "has 'x' after ')'"),
        ("failover:()", "lists no broker"),
        ("failover:(tcp://a:1,)", "has an empty entry in its broker list"),
        ("failover:(tcp://a:1?x=1)", "'tcp://a:1' has options of its own: put them after the closing ')'"),
        ("failover:(tcp://u@a:1,tcp://v@b:1)", "gives different credentials to its members"),
        ("tcp://a:1?x", "option 'x' is not name=value"),
        ("tcp://a:1?x=1&x=2", "option 'x' appears twice"),
        ("tcp://u:secret@a :1", "'tcp://u:***@a :1' contains whitespace"),
    ],
)
def test_each_mistake_has_one_message(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        urls.parse(text)
    assert message in str(info.value)
    assert "secret" not in str(info.value)


def test_check_options_names_the_known_ones() -> None:
    urls.check_options(urls.parse("tcp://a:1?profile=x"), ["profile", "versions"])
    with pytest.raises(ConfigurationError, match=r"unknown option 'nope'; the settings are profile, versions"):
        urls.check_options(urls.parse("tcp://a:1?nope=x"), ["versions", "profile"], "settings")


def test_a_url_must_be_text() -> None:
    with pytest.raises(ConfigurationError, match="a broker URL is a str, not bytes"):
        urls.parse(b"tcp://a:1")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"endpoints": ()}, "at least one endpoint"),
        ({"endpoints": (Endpoint("tcp", "a", 1),) * 2}, "use failover: for several"),
        ({"endpoints": (Endpoint("tcp", "a", 1),), "passcode": "p"}, "needs a login too"),
    ],
)
def test_a_broker_url_checks_its_shape(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        BrokerUrl(**kwargs)  # type: ignore[arg-type]
