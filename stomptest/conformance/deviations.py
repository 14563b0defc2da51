"""What each broker profile is known to do differently from the spec, as data.

Keyed by profile, then check name, to the finding codes that check reports on that
broker; ``code@1.0`` limits an entry to one STOMP version, ``code@ws`` to STOMP over
WebSocket (docs/websocket.md has the measurements). A check whose findings are
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
        # web-stomp (measured on 3.10.8): DISCONNECT closes the WebSocket (1000) before its RECEIPT is written,
        # and every frame goes in a text message, a body that is not UTF-8 too
        "disconnect-receipt": frozenset({"no-disconnect-receipt@ws"}),
        "receipts": frozenset({"no-receipt@ws"}),
        "ws-text-binary": frozenset({"invalid-utf8-text"}),
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
        # its WebSocket transport (read from its source, not measured: Debian's 5.17 lacks it) takes one frame
        # per text message, ignores binary messages, closes on a message without a whole frame, and Jetty
        # closes a message over 64 KiB with 1009
        "framing-eols": frozenset({"frame-lost@ws"}),
        "framing-packed": frozenset({"frame-lost@ws"}),
        # the close comes while the probe still sends (the fake) or once it waits (5.18.3's Jetty, which keeps
        # the TCP connection for the close handshake): the same deviation, seen at two moments
        "framing-split": frozenset({"unexpected-probeclosed@ws", "frame-lost@ws"}),
        "limits-body-size": frozenset({"closed-without-error@ws"}),
        "limits-header-size": frozenset({"closed-without-error@ws"}),
        "ws-frames-joined": frozenset({"frame-lost"}),
        "ws-subprotocol": frozenset({"subprotocol-not-offered"}),  # `stomp` to a client that offered none
        "ws-frame-split": frozenset({"split-frame-lost"}),
        "ws-text-binary": frozenset({"binary-message-ignored"}),
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


def is_expected(profile: str, check: str, version: str, code: str, transport: str = "tcp") -> bool:
    """Whether `profile` expects finding `code` of `check` in `version` over `transport` ("tcp" or "ws")."""
    expected = expected_deviations(profile).get(check, frozenset())
    return code in expected or f"{code}@{version}" in expected or f"{code}@{transport}" in expected
