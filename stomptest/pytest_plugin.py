"""The pytest plugin (entry point ``pytest11``): fixtures that give each test a STOMP broker.

Importing this module must stay cheap and free of side effects: it loads in every pytest
run of every environment where stomptest is installed. So it imports only pytest and the
standard library at the top; the broker (and with it gevent) loads when a fixture first
asks for one. Fixtures: `stomp_broker`, `stomp_url`, `stomp_client`, `stomp_async_client`,
`stomp_broker_session`, `stomp_broker_factory`, `stomp_version`, and for TLS without a certificate of
one's own `stomp_tls_broker`, `stomp_tls_client_context`, `stomp_tls_ca`; see docs/plugin.md.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import ssl

    from stomptest.broker.tls import ThrowawayTLS
    from stomptest.client import AsyncClient, Client
    from stomptest.testing.external import ExternalBroker
    from stomptest.testing.fake import FakeBroker
    from stomptest.testing.identity import BrokerIdentity
    from stomptest.testing.settings import Settings, Target

    BrokerHandle = FakeBroker | ExternalBroker

_SETTINGS = pytest.StashKey["Settings"]()
_REGISTRY = pytest.StashKey["_Registry"]()
_IDENTITY = pytest.StashKey["BrokerIdentity | None"]()

_MARKERS = (
    "stomp_broker(profile=None, *, users=None, **limits): configure the fake broker of stomp_broker "
    "(profile name, login->passcode users, Limits overrides such as max_frame_bytes=1024)",
    "stomp_fake_only: the test needs the fake broker's inspection or faults; skipped under --stomp-url",
)


# -- options


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stomptest", "STOMP brokers for tests (stomptest)")
    options = (
        (
            "--stomp-url",
            "run the stomp fixtures against this external broker instead of fake ones: "
            "tcp://[login:passcode@]host[:port][?host=/] (port 61613 if omitted), ssl://host:port, "
            "ws://host:port/path (STOMP over WebSocket), wss://..., or failover:(tcp://a,tcp://b)",
        ),
        ("--stomp-profile", "profile of the fake brokers: strict (default), activemq, rabbitmq, artemis"),
        ("--stomp-versions", "STOMP versions the clients offer, comma-separated (default 1.0,1.1,1.2)"),
    )
    for name, help_text in options:
        with contextlib.suppress(ValueError):  # --stomp-url may be registered already by stomptest.conformance
            group.addoption(name, default=None, help=help_text)
        parser.addini(name[2:].replace("-", "_"), f"{help_text} (the command line option wins)", default="")


def _resolve(config: pytest.Config) -> Settings:
    from stomptest.protocol.errors import ConfigurationError
    from stomptest.testing.settings import resolve

    def option(name: str) -> str | None:
        value = config.getoption(name, default=None)
        return None if value is None else str(value)

    try:
        return resolve(
            url_option=option("--stomp-url"),
            url_ini=str(config.getini("stomp_url")),
            profile_option=option("--stomp-profile"),
            profile_ini=str(config.getini("stomp_profile")),
            versions_option=option("--stomp-versions"),
            versions_ini=str(config.getini("stomp_versions")),
        )
    except ConfigurationError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_configure(config: pytest.Config) -> None:
    for line in _MARKERS:
        config.addinivalue_line("markers", line)
    config.stash[_SETTINGS] = _resolve(config)
    config.stash[_REGISTRY] = _Registry()


def pytest_report_header(config: pytest.Config) -> str | None:
    settings = config.stash.get(_SETTINGS, None)
    if settings is None:
        return None
    versions = ",".join(settings.versions)
    if settings.target is not None:
        identity = config.stash.get(_IDENTITY, None)
        who = (
            identity.shown if identity is not None else "not identified (its TLS certificate is not trusted by default)"
        )
        return f"stomptest: external broker {settings.target.shown}: {who}, versions {versions}"
    return f"stomptest: fake brokers, profile {settings.profile}, versions {versions}"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "stomp_version" in metafunc.fixturenames:
        already = any("stomp_version" in m.args[0] for m in metafunc.definition.iter_markers("parametrize") if m.args)
        if not already:
            versions = metafunc.config.stash[_SETTINGS].versions
            metafunc.parametrize("stomp_version", versions, ids=[f"stomp{v}" for v in versions])


def pytest_sessionstart(session: pytest.Session) -> None:
    """Under --stomp-url, ask once which broker answers; a URL that does not answer ends the session here.

    Of a failover URL the first member that answers is asked, and the handle's own connections
    (`seed()`, `assert_sent()`) go to it from then on: with a cluster, its first member may be down.
    """
    settings = session.config.stash.get(_SETTINGS, None)
    if settings is None or settings.target is None:
        return
    target, identity = _identify(settings.target, settings.versions)
    session.config.stash[_SETTINGS] = dataclasses.replace(settings, target=target)
    session.config.stash[_IDENTITY] = identity


def _identify(target: Target, versions: tuple[str, ...]) -> tuple[Target, BrokerIdentity | None]:
    import ssl

    from stomptest.protocol.errors import BrokerError, StompError
    from stomptest.testing.identity import identify

    where = f"stomptest: --stomp-url {target.shown}"
    reasons = []
    for scheme, host, port, path in target.members or ((target.scheme, target.host, target.port, target.path),):
        member = dataclasses.replace(target, scheme=scheme, host=host, port=port, path=path)
        try:
            return member, identify(member, versions)
        except ssl.SSLCertVerificationError:
            # The tests may trust it through the stomp_client_ssl_context fixture, which a hook cannot call:
            # the tests run and find out; the header line says the broker was not identified.
            return member, None
        except BrokerError as exc:
            # UsageError, not pytest.exit(): pytest prints it once, as "ERROR: ...", with status 4
            raise pytest.UsageError(
                f"{where}: the broker refused to connect: {exc}; check the login and passcode"
            ) from None
        except (OSError, StompError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            reasons.append(reason if len(target.members) < 2 else f"{host}:{port}: {reason}")
    raise pytest.UsageError(
        f"{where}: no STOMP broker answers ({'; '.join(reasons)}); "
        "start it, or leave --stomp-url out to use fake brokers"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under --stomp-url, skip what cannot hold on that broker, at collection so the skip points at the test."""
    settings = config.stash.get(_SETTINGS, None)
    if settings is None or settings.target is None:
        return
    from stomptest.testing.identity import BrokerIdentity, cannot_hold

    identity = config.stash.get(_IDENTITY, None) or BrokerIdentity("", "")  # "": not identified
    shown = settings.target.shown
    for item in items:
        reason = None
        marker = item.get_closest_marker("stomp_broker")
        if item.get_closest_marker("stomp_fake_only"):
            reason = f"needs the fake broker (stomp_fake_only); running against {shown}"
        elif "stomp_broker_factory" in getattr(item, "fixturenames", ()):
            reason = f"stomp_broker_factory makes fake brokers; running against {shown}"
        elif "stomp_tls_broker" in getattr(item, "fixturenames", ()):
            reason = f"stomp_tls_broker is a fake broker with a throwaway certificate; running against {shown}"
        elif marker is not None:
            reason = cannot_hold(marker.args, marker.kwargs, identity, shown)
        if reason is not None:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    registry = session.config.stash.get(_REGISTRY, None)
    if registry is None:
        return
    stopped = registry.stop_all()
    if stopped:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"stomptest: stopped {stopped} fake broker(s) left running by tests")


class _Registry:
    """Every broker the fixtures started in this process, so none outlives the session."""

    def __init__(self) -> None:
        self.brokers: list[FakeBroker] = []

    def add(self, broker: FakeBroker) -> FakeBroker:
        self.brokers.append(broker)
        return broker

    def stop(self, broker: FakeBroker) -> None:
        """Stop `broker`, then raise what went wrong inside it (its `check()`)."""
        with contextlib.suppress(ValueError):
            self.brokers.remove(broker)
        try:
            broker.stop()
        finally:
            broker.check()

    def stop_all(self) -> int:
        running = [b for b in self.brokers if b.running]
        self.brokers.clear()
        for broker in running:
            with contextlib.suppress(Exception):  # one broker that cannot stop must not keep the others up
                broker.stop()
        return len(running)


# -- fixtures


def _settings(request: pytest.FixtureRequest) -> Settings:
    return request.config.stash[_SETTINGS]


def _token() -> str:
    return uuid.uuid4().hex[:10]


def _external(request: pytest.FixtureRequest, settings: Settings) -> ExternalBroker:
    from stomptest.testing.external import ExternalBroker

    assert settings.target is not None
    context: ssl.SSLContext | None = request.getfixturevalue("stomp_client_ssl_context")
    return ExternalBroker(
        settings.target, token=_token(), versions=settings.versions, profile=settings.profile, ssl_context=context
    )


def _made_or_failed(request: pytest.FixtureRequest, make: Callable[[], FakeBroker]) -> FakeBroker:
    """The broker the marker asks for, or the test's error naming the marker's mistake, once.

    pytest.fail() is called outside the except clause: inside it, pytest prints the message twice
    with "During handling of the above exception, another exception occurred" between.
    """
    try:
        return make()
    except (TypeError, ValueError) as exc:  # ConfigurationError is a ValueError
        problem = str(exc)
    pytest.fail(f"{request.node.nodeid}: @pytest.mark.stomp_broker: {problem}", pytrace=False)


def _marker_config(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("stomp_broker")
    if marker is None:
        return {}
    if len(marker.args) > 1:
        pytest.fail("@pytest.mark.stomp_broker takes at most one positional argument, the profile", pytrace=False)
    config = dict(marker.kwargs)
    if marker.args:
        config["profile"] = marker.args[0]
    users = config.get("users")
    if users is not None and not isinstance(users, Mapping):
        example = "{'guest': 'guest'}"
        if isinstance(users, str) and ":" in users:
            name, _, passcode = users.partition(":")
            example = repr({name: passcode})
        pytest.fail(
            f"@pytest.mark.stomp_broker(users={users!r}): users is a dict of login -> passcode, "
            f"such as users={example}",
            pytrace=False,
        )
    if users is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in users.items()):
        pytest.fail(
            f"@pytest.mark.stomp_broker(users={users!r}): logins and passcodes are strings, "
            "such as users={'guest': 'guest'}",
            pytrace=False,
        )
    return config


class BrokerFactory:
    """`stomp_broker_factory(profile=None, *, users=None, port=0, ssl_context=None, start=True, **limits)`.

    Each call makes a `FakeBroker` (started unless `start=False`); all are stopped after the test.
    """

    def __init__(self, settings: Settings, registry: _Registry, ssl_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.registry = registry
        self.ssl_context = ssl_context  # the default: stomp_broker_ssl_context
        self.brokers: list[FakeBroker] = []

    def __call__(
        self,
        profile: str | None = None,
        *,
        users: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        start: bool = True,
        **limits: int,
    ) -> FakeBroker:
        from stomptest.testing.fake import FakeBroker

        context = ssl_context if ssl_context is not None else self.ssl_context
        overrides: dict[str, Any] = dict(limits)  # Any: FakeBroker's keywords also hold tls
        broker = FakeBroker(host, port, profile or self.settings.profile, users, context, **overrides)
        self.brokers.append(self.registry.add(broker))
        if start:
            broker.start()
        return broker

    def close(self) -> None:
        """Stop every broker made, then report the first one that failed inside."""
        errors: list[BaseException] = []
        for broker in self.brokers:
            try:
                self.registry.stop(broker)
            except Exception as exc:
                errors.append(exc)
        self.brokers.clear()
        if errors:
            raise errors[0]


@pytest.fixture(scope="session")
def stomp_broker_ssl_context() -> ssl.SSLContext | None:
    """Override to serve TLS: a server-side context with a certificate loaded (default None: plain TCP)."""
    return None


@pytest.fixture(scope="session")
def stomp_client_ssl_context() -> ssl.SSLContext | None:
    """Override to trust the brokers' certificate: used by stomp_client, stomp_async_client and the
    --stomp-url handle for ssl:// URLs (default None: the system's default verifying context)."""
    return None


@pytest.fixture
def stomp_broker_factory(
    request: pytest.FixtureRequest, stomp_broker_ssl_context: ssl.SSLContext | None
) -> Iterator[BrokerFactory]:
    """Make more fake brokers in one test (several profiles, a failover pair); all stop after the test."""
    settings = _settings(request)
    if settings.target is not None:
        pytest.skip(f"stomp_broker_factory makes fake brokers; running against {settings.target.shown}")
    factory = BrokerFactory(settings, request.config.stash[_REGISTRY], stomp_broker_ssl_context)
    yield factory
    factory.close()


@pytest.fixture
def stomp_broker(
    request: pytest.FixtureRequest, stomp_broker_ssl_context: ssl.SSLContext | None
) -> Iterator[BrokerHandle]:
    """A fresh fake broker for this test (configured by @pytest.mark.stomp_broker), or the --stomp-url handle."""
    settings = _settings(request)
    if settings.target is not None:
        yield _external(request, settings)
        return
    from stomptest.testing.fake import FakeBroker

    config = _marker_config(request)
    config.setdefault("profile", settings.profile)
    config.setdefault("ssl_context", stomp_broker_ssl_context)
    broker = _made_or_failed(request, lambda: FakeBroker(**config))
    registry = request.config.stash[_REGISTRY]
    registry.add(broker).start()
    yield broker
    registry.stop(broker)


@pytest.fixture(scope="session")
def stomp_tls_ca() -> ThrowawayTLS:
    """A throwaway CA for the session's TLS brokers (trustme); `.ca_pem` and `.write_ca(path)` for other clients."""
    from stomptest.broker.tls import ThrowawayTLS

    try:
        return ThrowawayTLS.make()
    except ValueError as exc:  # ConfigurationError: trustme is not installed
        problem = str(exc)
    pytest.fail(problem, pytrace=False)  # outside the except: no "During handling of the above exception"


@pytest.fixture(scope="session")
def stomp_tls_client_context(stomp_tls_ca: ThrowawayTLS) -> ssl.SSLContext:
    """A client `ssl.SSLContext` that trusts stomp_tls_broker's certificate (and no other)."""
    return stomp_tls_ca.client_context()


@pytest.fixture
def stomp_tls_broker(request: pytest.FixtureRequest, stomp_tls_ca: ThrowawayTLS) -> Iterator[FakeBroker]:
    """A fresh fake broker serving ssl:// with a certificate of stomp_tls_ca (the stomp_broker marker applies)."""
    settings = _settings(request)
    if settings.target is not None:
        pytest.skip(
            f"stomp_tls_broker is a fake broker with a throwaway certificate; running against {settings.target.shown}"
        )
    from stomptest.testing.fake import FakeBroker

    config = _marker_config(request)
    config.setdefault("profile", settings.profile)
    broker = _made_or_failed(request, lambda: FakeBroker(ssl_context=stomp_tls_ca.server_context(), **config))
    broker.tls = stomp_tls_ca
    registry = request.config.stash[_REGISTRY]
    registry.add(broker).start()
    yield broker
    registry.stop(broker)


@pytest.fixture(scope="session")
def _stomp_session_broker(
    pytestconfig: pytest.Config, stomp_broker_ssl_context: ssl.SSLContext | None
) -> Iterator[FakeBroker]:
    from stomptest.testing.fake import FakeBroker

    registry = pytestconfig.stash[_REGISTRY]
    profile = pytestconfig.stash[_SETTINGS].profile
    broker = registry.add(FakeBroker(profile=profile, ssl_context=stomp_broker_ssl_context))
    broker.start()
    yield broker
    registry.stop(broker)


@pytest.fixture
def stomp_broker_session(request: pytest.FixtureRequest) -> Iterator[BrokerHandle]:
    """One fake broker for the whole session (per xdist worker), cleared before and after each test."""
    settings = _settings(request)
    if settings.target is not None:
        yield _external(request, settings)
        return
    if request.node.get_closest_marker("stomp_broker") is not None:
        pytest.fail(
            f"{request.node.nodeid}: @pytest.mark.stomp_broker configures stomp_broker, not the shared "
            "stomp_broker_session (whose profile is --stomp-profile); use stomp_broker for this test",
            pytrace=False,
        )
    broker: FakeBroker = request.getfixturevalue("_stomp_session_broker")
    broker.clear()
    yield broker
    try:
        broker.check()
    finally:
        broker.clear()


def _handle(request: pytest.FixtureRequest) -> BrokerHandle:
    """The broker this test asked for: the session one if it named it, else its own."""
    name = "stomp_broker_session" if "stomp_broker_session" in request.fixturenames else "stomp_broker"
    handle: BrokerHandle = request.getfixturevalue(name)
    return handle


@pytest.fixture
def stomp_url(request: pytest.FixtureRequest) -> str:
    """The URL of this test's broker (``tcp://127.0.0.1:port``, or the --stomp-url target without credentials)."""
    return _handle(request).url


@pytest.fixture
def stomp_version(request: pytest.FixtureRequest) -> str:
    """One STOMP version: tests that ask for it run once per version of --stomp-versions."""
    version: str = getattr(request, "param", _settings(request).versions[-1])
    return version


def _client_options(request: pytest.FixtureRequest, handle: BrokerHandle) -> dict[str, Any]:
    versions = _settings(request).versions
    if "stomp_version" in request.fixturenames:
        offered: Any = request.getfixturevalue("stomp_version")
    else:
        offered = list(versions) if len(versions) > 1 else versions[0]
    options: dict[str, Any] = {"version": offered, "host": handle.vhost}
    context = request.getfixturevalue("stomp_client_ssl_context")
    if context is not None:
        options["ssl_context"] = context
    if handle.login is not None:
        options["login"] = handle.login
    if handle.passcode is not None:
        options["passcode"] = handle.passcode
    return options


def _client_class(name: str) -> Callable[..., Any]:
    try:
        found: Callable[..., Any] = getattr(importlib.import_module("stomptest.client"), name)
    except (ImportError, AttributeError):
        pytest.fail(f"stomptest.client.{name} is not available in this installation", pytrace=False)
    return found


@pytest.fixture
def stomp_client(request: pytest.FixtureRequest) -> Iterator[Client]:
    """A connected `stomptest.client.Client` to this test's broker; disconnected after the test."""
    handle = _handle(request)
    client: Client = _client_class("Client")(handle.url, **_client_options(request, handle))
    from stomptest.protocol.errors import BrokerError

    refused: str | None = None
    try:
        client.connect()
    except BrokerError as exc:  # e.g. a marker's users={} that no login passes: the reason, not our source
        refused = str(exc)
    if refused is not None:
        who = f"as {handle.login!r}" if handle.login is not None else "without a login"
        pytest.fail(f"stomp_client could not log in to {handle.url} {who}: {refused}", pytrace=False)
    yield client
    try:
        with contextlib.suppress(Exception):  # the test may have disconnected, or the broker dropped it on purpose
            client.disconnect(timeout=2.0)
    finally:
        client.close()


@pytest.fixture
def stomp_async_client(request: pytest.FixtureRequest) -> AsyncClient:
    """An unconnected `stomptest.client.AsyncClient` for this test's broker: ``async with stomp_async_client as c``.

    It connects in the test's own event loop (``asyncio.run`` or pytest-asyncio), which a
    synchronous fixture cannot reach.
    """
    handle = _handle(request)
    client: AsyncClient = _client_class("AsyncClient")(handle.url, **_client_options(request, handle))
    return client
