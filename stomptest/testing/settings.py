"""How the plugin's options resolve into settings: command line > ini file > URL query > default.

Cheap on purpose (no broker, no gevent): the plugin reads these in every pytest run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from stomptest.protocol.errors import ConfigurationError
from stomptest.protocol.spec import VERSIONS

DEFAULT_PROFILE = "strict"

# Settings that may ride on --stomp-url's query (shared with the conformance suite's runs).
QUERY_KEYS = ("profile", "versions", "host", "timeout")
_SCHEMES = {"tcp": "tcp", "stomp": "tcp", "ssl": "ssl", "stomp+ssl": "ssl"}


@dataclass(frozen=True)
class Target:
    """An external broker named by --stomp-url: where it is and how to log in."""

    url: str  # as given on the command line or in the ini file
    client_url: str  # what a stomptest Client takes: tcp://, ssl:// or failover:(...), no credentials
    scheme: str  # tcp or ssl (of the first broker of a failover URI)
    host: str
    port: int
    login: str | None
    passcode: str | None
    vhost: str | None  # the CONNECT host header; RabbitMQ wants "/" (its default virtual host)
    timeout: float

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def shown(self) -> str:
        """The URL for messages and reports: passcodes replaced by ***."""
        return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", self.url)


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

    Forms: ``tcp://[login:passcode@]host:port[?host=/&profile=rabbitmq&versions=1.2&timeout=5]`` (``stomp://``
    means tcp, ``stomp+ssl://`` means ssl) or a failover URI ``failover:(tcp://a:61613,tcp://b:61613)?...``
    whose query holds failover options; credentials then come from the first broker's user part.
    """
    text = url.strip()
    if not text:
        raise ConfigurationError(f"{source} is empty: write e.g. tcp://127.0.0.1:61613")
    if text.lower().startswith("failover:"):
        return _parse_failover(text, url, source), {}
    parts = urlsplit(text if "://" in text else f"tcp://{text}")
    scheme = _SCHEMES.get(parts.scheme.lower())
    if scheme is None:
        raise ConfigurationError(
            f"{source} {url!r}: unknown scheme {parts.scheme!r}; use tcp://, ssl://, stomp:// or failover:(...)"
        )
    try:
        port = parts.port
    except ValueError:
        raise ConfigurationError(f"{source} {url!r}: the port is not a number from 0 to 65535") from None
    if not parts.hostname or port is None:
        raise ConfigurationError(f"{source} {url!r}: write host and port, e.g. tcp://127.0.0.1:61613")
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(query) - set(QUERY_KEYS))
    if unknown:
        raise ConfigurationError(
            f"{source} {url!r}: unknown setting(s) {', '.join(unknown)}; use {', '.join(QUERY_KEYS)}"
        )
    timeout = _timeout(query.pop("timeout", None), url, source)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    target = Target(
        url=url,
        client_url=f"{scheme}://{host}:{port}",
        scheme=scheme,
        host=parts.hostname,
        port=port,
        login=unquote(parts.username) if parts.username is not None else None,
        passcode=unquote(parts.password) if parts.password is not None else None,
        vhost=query.pop("host", None),
        timeout=timeout,
    )
    return target, query


def _parse_failover(text: str, url: str, source: str) -> Target:
    from stomptest.client.failover import FailoverUri

    rest = text[len("failover:") :]
    rest = rest[2:] if rest.startswith("//") else rest
    if rest.startswith("("):
        inner, closed, after = rest[1:].partition(")")
        if not closed:
            raise ConfigurationError(f"{source} {url!r}: '(' without a closing ')'")
    else:
        inner, sep, query = rest.partition("?")
        after = f"?{query}" if sep else ""
    brokers = inner.split(",")
    first, _ = parse_target(brokers[0], source)
    plain = [parse_target(b, source)[0].client_url for b in brokers]
    client_url = f"failover:({','.join(plain)}){after}"
    try:
        FailoverUri(client_url)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{source} {url!r}: {exc}") from None
    return Target(
        url=url,
        client_url=client_url,
        scheme=first.scheme,
        host=first.host,
        port=first.port,
        login=first.login,
        passcode=first.passcode,
        vhost=first.vhost,
        timeout=first.timeout,
    )


def _timeout(text: str | None, url: str, source: str) -> float:
    if text is None:
        return 5.0
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigurationError(f"{source} {url!r}: timeout={text!r} must be a positive number of seconds")
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
