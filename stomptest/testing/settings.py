"""How the plugin's options resolve into settings: command line > ini file > URL query > default.

Cheap on purpose (no broker, no gevent): the plugin reads these in every pytest run.
"""

from __future__ import annotations

from dataclasses import dataclass

from stomptest import urls
from stomptest.protocol.errors import ConfigurationError
from stomptest.protocol.spec import VERSIONS

DEFAULT_PROFILE = "strict"

# Settings that may ride on --stomp-url's query (shared with the conformance suite's runs).
QUERY_KEYS = ("profile", "versions", "host", "timeout")


@dataclass(frozen=True)
class Target:
    """An external broker named by --stomp-url: where it is and how to log in."""

    url: str  # as given on the command line or in the ini file
    client_url: str  # what a stomptest Client takes: tcp://, ssl://, ws://, wss:// or failover:(...), no credentials
    scheme: str  # tcp, ssl, ws or wss (of the first broker of a failover URI)
    host: str
    port: int
    login: str | None
    passcode: str | None
    vhost: str | None  # the CONNECT host header; RabbitMQ wants "/" (its default virtual host)
    timeout: float
    members: tuple[tuple[str, str, int, str], ...] = ()  # (scheme, host, port, path) of each failover member
    path: str = ""  # ws:// and wss://: the HTTP path of the WebSocket endpoint ("" means "/")

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def shown(self) -> str:
        """The URL for messages and reports: passcodes replaced by ***."""
        return urls.redact(self.url)


@dataclass(frozen=True)
class Settings:
    """What the fixtures give: fake brokers of `profile`, or the external `target`; clients offer `versions`."""

    profile: str
    versions: tuple[str, ...]
    target: Target | None

    @property
    def external(self) -> bool:
        return self.target is not None


def parse_versions(text: str, source: str) -> tuple[str, ...]:
    """ "1.1,1.2" -> ("1.1", "1.2"), in protocol order; `source` names the option for the error."""
    versions = [v.strip() for v in text.split(",") if v.strip()]
    bad = [v for v in versions if v not in VERSIONS]
    if bad or not versions:
        raise ConfigurationError(
            f"{source}: {text!r} is not a list of STOMP versions; "
            f"write a comma-separated subset of {','.join(VERSIONS)}"
        )
    return tuple(v for v in VERSIONS if v in versions)


def parse_target(url: str, source: str = "--stomp-url") -> tuple[Target, dict[str, str]]:
    """Parse an external broker URL; returns the target and the query's other settings (profile, versions).

    The grammar is `stomptest.urls`'s (``tcp://``, ``ssl://``, ``ws://``, ``wss://``, ``failover:(...)``, credentials
    before the host). The query may hold this plugin's settings (profile, versions, host, timeout) and
    failover options; the client gets the URL without the settings and without credentials, which
    it takes as login and passcode instead.
    """
    from stomptest.client.failover import ACTIVEMQ_ONLY, OPTION_NAMES, FailoverUri

    try:
        parsed = urls.parse(url)
        urls.check_options(parsed.without(ACTIVEMQ_ONLY), [*QUERY_KEYS, *OPTION_NAMES], "settings and failover options")
        client = parsed.without(QUERY_KEYS, credentials=True)
        FailoverUri(client)  # failover options are checked now, not when the first test connects
    except ConfigurationError as exc:
        raise ConfigurationError(f"{source}: {exc}") from None
    query = {name: value for name, value in parsed.options if name in QUERY_KEYS}
    timeout = _timeout(query.pop("timeout", None), parsed.shown, source)
    first = parsed.first
    target = Target(
        url=url,
        client_url=str(client),
        scheme=first.scheme,
        host=first.host,
        port=first.port,
        login=parsed.login,
        passcode=parsed.passcode,
        vhost=query.pop("host", None),
        timeout=timeout,
        members=tuple((e.scheme, e.host, e.port, e.path) for e in parsed.endpoints),
        path=first.path,
    )
    return target, query


def _timeout(text: str | None, url: str, source: str) -> float:
    if text is None:
        return 5.0
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigurationError(f"{source}: {url!r}: timeout={text!r} must be a positive number of seconds")
    return value


def resolve(
    *,
    url_option: str | None,
    url_ini: str,
    profile_option: str | None,
    profile_ini: str,
    versions_option: str | None,
    versions_ini: str,
) -> Settings:
    """Apply the documented precedence: command line > ini file > --stomp-url query > default."""
    url = url_option if url_option is not None else (url_ini.strip() or None)
    url_source = "--stomp-url" if url_option is not None else "stomp_url (ini)"
    target, query = parse_target(url, url_source) if url else (None, {})
    if profile_option is not None:
        profile, profile_source = profile_option, "--stomp-profile"
    elif profile_ini.strip():
        profile, profile_source = profile_ini.strip(), "stomp_profile (ini)"
    else:
        profile, profile_source = query.get("profile", DEFAULT_PROFILE), "the profile"
    if profile != DEFAULT_PROFILE and not (target is not None and profile == "auto"):
        _check_profile(profile, profile_source, external=target is not None)  # imports the profiles: only when asked
    if versions_option is not None:
        versions = parse_versions(versions_option, "--stomp-versions")
    elif versions_ini.strip():
        versions = parse_versions(versions_ini, "stomp_versions (ini)")
    elif "versions" in query:
        versions = parse_versions(query["versions"], "versions= in --stomp-url")
    else:
        versions = VERSIONS
    return Settings(profile=profile, versions=versions, target=target)


def _check_profile(profile: str, source: str, *, external: bool) -> None:
    from stomptest.broker.profiles import PROFILES

    if profile not in PROFILES:
        extra = ", auto" if external else ""
        raise ConfigurationError(
            f"{source}: unknown broker profile {profile!r}; use one of {', '.join(PROFILES)}{extra}"
        )
