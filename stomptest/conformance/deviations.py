"""What each broker profile is known to do differently from the spec, as data.

Keyed by profile, then check name, to the finding codes that check reports on that
broker; ``code@1.0`` limits an entry to one STOMP version. A check whose findings are
all listed gets the verdict `deviates` instead of `fail`. The rabbitmq and activemq
entries are measured: they are what the checks report against RabbitMQ 3.10.8 and
ActiveMQ 5.17.2 (tests/conformance/test_real_brokers.py asserts them, and the fake
broker's profiles must reproduce them). The artemis entries are measured on Apache Artemis
2.40.0 the same way.
"""

from __future__ import annotations

from collections.abc import Mapping

from stomptest.protocol.errors import ConfigurationError

Expectations = Mapping[str, frozenset[str]]

_ERROR_STAYS_OPEN = frozenset({"stays-open-after-error"})

PROFILE_DEVIATIONS: dict[str, dict[str, frozenset[str]]] = {
    "strict": {},
    "rabbitmq": {
        # RabbitMQ applies 1.2 escaping to every version and to CONNECT too
        "escape-roundtrip": frozenset({"value-altered@1.0"}),
        "escape-connect": frozenset({"unescapes-connect"}),
        # ERROR, then the connection stays open (only AMQP channel errors close it)
        "connect-no-common-version": _ERROR_STAYS_OPEN,
        "connect-login-refused": _ERROR_STAYS_OPEN,
        # `host` names a vhost: only "/" (or no host header) works out of the box
        "connect-host": frozenset({"refuses-socket-hostname", "stays-open-after-error"}),
        # the RECEIPT of a transactional SEND comes at COMMIT
        "transaction-send": frozenset({"receipt-held-until-commit"}),
        "transaction-disconnect": frozenset({"receipt-held-until-commit"}),
        # ERRORs for bad frames carry no receipt-id and leave the connection open
        "error-unknown-command": frozenset({"error-without-receipt-id", "stays-open-after-error"}),
        "error-send-no-destination": frozenset({"error-without-receipt-id", "stays-open-after-error"}),
        "error-subscribe-no-destination": frozenset({"error-without-receipt-id", "stays-open-after-error"}),
    },
    "activemq": {
        # 1.0 input is unescaped (a:b\c comes back as a:b:); undefined escapes pass through
        "escape-roundtrip": frozenset({"value-altered@1.0"}),
        "escape-undefined": frozenset({"accepts-undefined-escape"}),
        # the version-mismatch ERROR has no version header
        "connect-no-common-version": frozenset({"error-without-versions"}),
        # NACK is a poison ack of that one message (to ActiveMQ.DLQ), even in ack:client
        "nack-client-cumulative": frozenset({"nack-not-cumulative"}),
        # only "fatal" protocol errors close the connection
        "error-send-no-destination": _ERROR_STAYS_OPEN,
        "error-subscribe-no-destination": _ERROR_STAYS_OPEN,
    },
    "artemis": {
        # no transactional ACK; the last repeat of a header wins before 1.2
        "transaction-ack": frozenset({"ack-survives-abort"}),
        "repeated-headers": frozenset({"later-repeat-wins@1.1"}),
        # ERRORs close the connection in 1.2 only (and for decoder errors); decoder errors (an unknown
        # command) and the NullPointerException of SUBSCRIBE without destination carry no receipt-id
        "error-unknown-command": frozenset({"error-without-receipt-id"}),
        "error-send-no-destination": frozenset({"stays-open-after-error@1.1"}),
        "error-subscribe-no-destination": frozenset({"error-without-receipt-id", "stays-open-after-error@1.1"}),
    },
}

PROFILES = tuple(PROFILE_DEVIATIONS)


def expected_deviations(profile: str) -> Expectations:
    """check name -> expected finding codes for `profile`; ConfigurationError for an unknown profile."""
    try:
        return PROFILE_DEVIATIONS[profile]
    except KeyError:
        known = ", ".join(sorted(PROFILE_DEVIATIONS))
        raise ConfigurationError(f"unknown profile {profile!r}: use one of {known} (or auto)") from None


def is_expected(profile: str, check: str, version: str, code: str) -> bool:
    expected = expected_deviations(profile).get(check, frozenset())
    return code in expected or f"{code}@{version}" in expected
