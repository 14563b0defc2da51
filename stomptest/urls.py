"""Broker URLs: the one grammar every place that takes a URL parses with (clients, plugin, conformance, CLI).

    url       = endpoint ["?" options] | "failover:" ["//"] members ["?" options]
    members   = "(" endpoint *("," endpoint) ")" | endpoint *("," endpoint)
    endpoint  = [scheme "://"] [login [":" passcode] "@"] host [":" port] [path]   (path: ws/wss only)
    options   = name "=" value *(("&" | ",") name "=" value)

`parse` turns text into a `BrokerUrl` and `format` (or `str()`) turns it back, so that
``parse(format(url)) == url``. Nothing here opens a socket or looks a name up; what the
options mean is for their reader to decide (the failover policy, the plugin's settings).

The rules, stated once (docs/client.md has the table):

- Schemes: ``tcp`` and ``ssl`` (TLS); ``stomp`` and ``stomp+ssl``, ActiveMQ's names, mean the
  same. Without a scheme a URL is ``tcp``. ``ws`` and ``wss`` (TLS) are STOMP over WebSocket
  and may end in a path, the HTTP request target (``ws://127.0.0.1:15674/ws``; none means
  ``/``); ``tcp``/``ssl`` URLs end after the port.
- Default port: only where everybody agrees. ``tcp`` is 61613, the STOMP port of RabbitMQ,
  ActiveMQ and Artemis alike. ``ssl`` has none and must be written: no broker listens for
  STOMP over TLS out of the box and their documentation differs (RabbitMQ's examples use
  61614, ActiveMQ's 61612), and a wrong guess would start a TLS handshake on some other
  listener (ActiveMQ's plain STOMP port in this project's own CI is 61614). ``ws`` is 80
  and ``wss`` 443, as RFC 6455 defines them: the same URL means the same place to a browser
  running stompjs, and a WebSocket endpoint without a port is one behind an HTTP server or
  proxy, which listens there (the brokers' own ports differ: RabbitMQ 15674, Artemis 61614).
- Credentials, percent-encoded, may stand before the host; in a failover URL they may stand
  on any member, but all that carry them must agree (a login belongs to the run, not to a
  member). Option values are percent-decoded; option names appear at most once.

Every mistake raises `ConfigurationError` (a `ValueError`) whose one line quotes the URL,
passcode masked, says what is wrong and how to write it instead.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, unquote

from stomptest.protocol.errors import ConfigurationError

__all__ = [
    "DEFAULT_PORTS",
    "SCHEMES",
    "BrokerUrl",
    "Endpoint",
    "check_options",
    "format",
    "parse",
    "redact",
]

SCHEMES: Final[tuple[str, ...]] = ("tcp", "ssl", "ws", "wss")
"""The schemes a URL may name (after aliases are resolved)."""
TLS_SCHEMES: Final = frozenset({"ssl", "wss"})
WEBSOCKET_SCHEMES: Final = frozenset({"ws", "wss"})
DEFAULT_PORTS: Final[Mapping[str, int]] = {"tcp": 61613, "ws": 80, "wss": 443}
"""The port a URL of the scheme means when it names none; a scheme not listed needs one."""
ALIASES: Final[Mapping[str, str]] = {"stomp": "tcp", "stomp+ssl": "ssl"}

EXAMPLE: Final = "tcp://127.0.0.1:61613"
_OPTION_NAME = r"[A-Za-z_][A-Za-z0-9_.-]*"
_OPTION_SPLIT = re.compile(rf"&|,(?={_OPTION_NAME}=)")
_HOST = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_.])?")
_PASSCODE = re.compile(r"(://[^:/@?,()]*):[^@/?,()]*@")
_VALUE_SAFE = "/:,.-_~!$'*+;"
# RFC 3986 path characters, less ',' '(' ')' (they delimit failover members) and '?' (options follow)
_PATH = re.compile(r"(?:/(?:[A-Za-z0-9._~!$&'*+;=:@-]|%[0-9A-Fa-f]{2})*)+")


@dataclass(frozen=True)
class Endpoint:
    """One place a broker listens: scheme, host, port and, for ws/wss, a path ("" means "/").

    `str()` gives the URL of this endpoint alone, which `parse` reads back to it.
    """

    scheme: str
    host: str
    port: int
    path: str = ""

    @property
    def tls(self) -> bool:
        """Whether the connection is wrapped in TLS."""
        return self.scheme in TLS_SCHEMES

    @property
    def websocket(self) -> bool:
        """Whether STOMP goes over WebSocket (ws://, wss://)."""
        return self.scheme in WEBSOCKET_SCHEMES

    @property
    def target(self) -> str:
        """The HTTP request target of a WebSocket's opening handshake: the path, "/" when none was written."""
        return self.path or "/"

    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` for `socket.create_connection`."""
        return (self.host, self.port)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.path}"


@dataclass(frozen=True)
class BrokerUrl:
    """A parsed broker URL: its endpoints in the order written, credentials and options (raw strings).

    `failover` says whether it was a ``failover:`` URL; a plain one has exactly one endpoint.
    `str()` is the whole URL, passcode included; `shown` masks the passcode for messages.
    """

    endpoints: tuple[Endpoint, ...]
    failover: bool = False
    login: str | None = None
    passcode: str | None = None
    options: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if not self.endpoints:
            raise ConfigurationError("a broker URL names at least one endpoint")
        if not self.failover and len(self.endpoints) != 1:
            raise ConfigurationError("a plain broker URL names one endpoint; use failover: for several")
        if self.passcode is not None and self.login is None:
            raise ConfigurationError("a broker URL with a passcode needs a login too")

    @property
    def first(self) -> Endpoint:
        return self.endpoints[0]

    @property
    def option_map(self) -> dict[str, str]:
        return dict(self.options)

    @property
    def shown(self) -> str:
        """The URL for messages and reports, its passcode replaced by ***."""
        return redact(format(self))

    def without(self, names: Iterable[str] = (), *, credentials: bool = False) -> BrokerUrl:
        """This URL without the options `names` (and without login and passcode if `credentials`)."""
        drop = set(names)
        return BrokerUrl(
            self.endpoints,
            self.failover,
            None if credentials else self.login,
            None if credentials else self.passcode,
            tuple((name, value) for name, value in self.options if name not in drop),
        )

    def __str__(self) -> str:
        return format(self)


def redact(text: str) -> str:
    """`text` with the passcode of any ``login:passcode@`` replaced by ***."""
    return _PASSCODE.sub(r"\1:***@", text)


def format(url: BrokerUrl) -> str:
    """The text of `url`: ``parse(format(url)) == url``. Credentials go on the first endpoint."""
    userinfo = ""
    if url.login is not None:
        userinfo = quote(url.login, safe="")
        if url.passcode is not None:
            userinfo += ":" + quote(url.passcode, safe="")
        userinfo += "@"
    first, *others = (str(endpoint) for endpoint in url.endpoints)
    scheme, _, rest = first.partition("://")
    members = ",".join([f"{scheme}://{userinfo}{rest}", *others])
    text = f"failover:({members})" if url.failover else members
    if url.options:
        text += "?" + "&".join(f"{name}={_quote_value(value)}" for name, value in url.options)
    return text


def parse(text: str) -> BrokerUrl:
    """Parse a broker URL (see the module docstring); raise `ConfigurationError` saying what to write."""
    if not isinstance(text, str):
        raise ConfigurationError(f"a broker URL is a str, not {type(text).__name__}: write e.g. {EXAMPLE}")
    url = text.strip()
    shown = repr(redact(text))
    if not url:
        raise ConfigurationError(f"the broker URL is empty: write e.g. {EXAMPLE}")
    if any(ch.isspace() for ch in url):
        raise ConfigurationError(f"{shown} contains whitespace: remove it (in a passcode, write a space as %20)")
    failover = url[:9].lower() == "failover:"
    if failover:
        rest = url[9:]
        rest = rest[2:] if rest.startswith("//") else rest
        if rest.startswith("("):
            close = rest.find(")")
            if close < 0:
                raise ConfigurationError(f"{shown} opens '(' without a closing ')': write failover:({EXAMPLE})")
            members, after = rest[1:close], rest[close + 1 :]
            if after and not after.startswith("?"):
                raise ConfigurationError(
                    f"{shown} has {after!r} after ')': only '?name=value&...' options may follow the list"
                )
            query = after[1:]
        else:
            members, _, query = rest.partition("?")
        if not members:
            raise ConfigurationError(f"{shown} lists no broker: write e.g. failover:({EXAMPLE},tcp://host2:61613)")
        parsed = [_endpoint(member, shown) for member in members.split(",")]
    else:
        single, _, query = url.partition("?")
        parsed = [_endpoint(single, shown)]
    credentials = {(login, passcode) for _, login, passcode in parsed if login is not None}
    if len(credentials) > 1:
        raise ConfigurationError(f"{shown} gives different credentials to its members: give them once, on the first")
    login, passcode = credentials.pop() if credentials else (None, None)
    return BrokerUrl(tuple(e for e, _, _ in parsed), failover, login, passcode, _options(query, shown))


def check_options(url: BrokerUrl, known: Iterable[str], what: str = "options") -> None:
    """Refuse an option of `url` not in `known`, naming the ones there are."""
    names = sorted(known)
    for name, _ in url.options:
        if name not in names:
            raise ConfigurationError(
                f"{url.shown!r}: unknown option {name!r}; the {what} are {', '.join(names) or '(none)'}"
            )


def _endpoint(text: str, shown: str) -> tuple[Endpoint, str | None, str | None]:
    """One endpoint, with the login and passcode written on it."""
    if not text:
        raise ConfigurationError(f"{shown} has an empty entry in its broker list: remove the extra ','")
    if "?" in text:
        raise ConfigurationError(
            f"{shown}: {text.partition('?')[0]!r} has options of its own: put them after the closing ')'"
        )
    scheme, separator, rest = text.partition("://")
    if not separator:
        prefix = text.partition(":")[0].lower()
        if "/" in text or prefix in SCHEMES or prefix in ALIASES:
            raise ConfigurationError(f"{shown} is not a broker URL: write scheme://host:port, e.g. {EXAMPLE}")
        scheme, rest = "tcp", text
    scheme = scheme.lower()
    scheme = ALIASES.get(scheme, scheme)
    if scheme not in SCHEMES:
        raise ConfigurationError(
            f"{shown}: unknown scheme {scheme!r}: use tcp:// (or stomp://), ssl:// (or stomp+ssl://), "
            "ws://, wss:// or failover:(...)"
        )
    authority, slash, path = rest.partition("/")
    if scheme in WEBSOCKET_SCHEMES:
        path = slash + path
        if "#" in path:
            raise ConfigurationError(
                f"{shown}: a WebSocket URL has no fragment (RFC 6455): remove '#{path.partition('#')[2]}'"
            )
        if path and not _PATH.fullmatch(path):
            raise ConfigurationError(
                f"{shown}: {path!r} is not a URL path: write it as '/' followed by letters, digits and "
                "-._~!$&'*+;=:@, other characters percent-encoded (e.g. ws://host:15674/ws)"
            )
    elif slash and path:
        raise ConfigurationError(
            f"{shown} has a path ('/{path}'): a {scheme}:// URL ends after the port (only ws:// and wss:// have paths)"
        )
    else:
        path = ""
    userinfo, at, hostport = authority.rpartition("@")
    login = passcode = None
    if at:
        user, colon, password = userinfo.partition(":")
        login = unquote(user)
        passcode = unquote(password) if colon else None
    host, port_text = _host_and_port(hostport, scheme, shown)
    if port_text is None:
        port = DEFAULT_PORTS.get(scheme)
        if port is None:
            raise ConfigurationError(
                f"{shown} names no port, and {scheme}:// has no default (brokers differ: RabbitMQ's docs use 61614, "
                f"ActiveMQ's 61612): write {scheme}://{hostport or 'host'}:PORT"
            )
    elif port_text.isascii() and port_text.isdigit() and len(port_text) <= 5 and 0 < int(port_text) < 65536:
        port = int(port_text)
    else:
        raise ConfigurationError(f"{shown}: port {port_text!r} is not a number from 1 to 65535")
    return Endpoint(scheme, host, port, path), login, passcode


def _host_and_port(text: str, scheme: str, shown: str) -> tuple[str, str | None]:
    if text.startswith("["):
        close = text.find("]")
        host, after = (text[1:close], text[close + 1 :]) if close > 0 else (text[1:], "")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ConfigurationError(f"{shown}: [{host}] is not an IPv6 address") from None
        if close < 0 or (after and not after.startswith(":")):
            raise ConfigurationError(f"{shown}: write an IPv6 address as [address]:port, e.g. {scheme}://[::1]:61613")
        return host, (after[1:] if after else None)
    host, colon, port_text = text.partition(":")
    if ":" in port_text:
        raise ConfigurationError(f"{shown}: write an IPv6 address in brackets, e.g. {scheme}://[::1]:61613")
    if not host:
        raise ConfigurationError(f"{shown} names no host: write e.g. {EXAMPLE}")
    if not _HOST.fullmatch(host):
        raise ConfigurationError(
            f"{shown}: {host!r} is not a host name or address (letters, digits, '.', '-', '_'; IPv6 in [brackets])"
        )
    return host, (port_text if colon else None)


def _options(query: str, shown: str) -> tuple[tuple[str, str], ...]:
    if not query:
        return ()
    options: list[tuple[str, str]] = []
    for item in _OPTION_SPLIT.split(query):
        name, equals, value = item.partition("=")
        if not equals or not re.fullmatch(_OPTION_NAME, name):
            raise ConfigurationError(f"{shown}: option {item!r} is not name=value")
        if any(name == seen for seen, _ in options):
            raise ConfigurationError(f"{shown}: option {name!r} appears twice: give it once")
        options.append((name, unquote(value)))
    return tuple(options)


def _quote_value(value: str) -> str:
    return quote(value, safe=_VALUE_SAFE)
