"""The reasons the fake broker answers with ERROR, named once for the engine, the profiles and the texts.

Profiles choose which kinds close the connection (`closing_errors`) and what text each
carries (`error_texts`, keyed by kind, "KIND COMMAND", "KIND COMMAND HEADER" or
"KIND VARIANT"); the engine only ever names a kind.
"""

from __future__ import annotations

from typing import Literal

# Every reason the broker answers with ERROR. Profiles choose which of them close the
# connection (`closing_errors`) and what text they carry (`error_texts`).
ErrorKind = Literal[
    "not-connected",  # a frame before CONNECT
    "already-connected",  # a second CONNECT
    "version",  # no common protocol version
    "bad-connect",  # missing host (strict), malformed heart-beat header
    "vhost",  # the host header names no known virtual host
    "access-refused",  # login/passcode not accepted
    "malformed",  # bytes that are not a frame (including limits of the parser)
    "unknown-command",  # a command this version does not have
    "missing-header",  # a required header is missing
    "invalid-header",  # a header the broker refuses (RabbitMQ: message-id on SEND)
    "bad-destination",  # a destination name the broker does not know how to route
    "invalid-destination",  # RabbitMQ: a name of a known kind that breaks its rules (/queue/a/b, /exchange)
    "not-found",  # RabbitMQ: an exchange that does not exist
    "resource-locked",  # RabbitMQ: a queue another connection holds exclusively (issue 15)
    "duplicate-subscription",
    "unknown-subscription",
    "unknown-ack",  # ACK/NACK naming no unacknowledged message
    "precondition-failed",  # RabbitMQ: ACK/NACK of a delivery of its own that awaits no acknowledgement
    "bad-transaction",  # unknown transaction, or BEGIN of one already open
    "limit",  # too many connections, queued or pending messages
    "invalid-selector",  # a SUBSCRIBE `selector` the profile's broker cannot parse (docs/selectors.md)
    "internal",  # a bug in stomptest: never expected, always reported by Broker.check()
]
ERROR_KINDS: tuple[ErrorKind, ...] = ErrorKind.__args__  # type: ignore[attr-defined]

# Errors every shipped profile treats as fatal. A frame before CONNECT and a second CONNECT are not among
# them: measured (issue 18), ActiveMQ and RabbitMQ answer a frame before CONNECT with an ERROR and read on,
# and ActiveMQ answers a second CONNECT so too (strict closes after both: its closing_errors has every kind).
ALWAYS_CLOSING: frozenset[ErrorKind] = frozenset(
    {"version", "bad-connect", "vhost", "access-refused", "malformed", "internal"}
)


# texts a caller asks for by name, beside the kind's ("KIND VARIANT" keys in error_texts): unknown-ack "own-format",
# an id of the broker's own format; malformed "bad-escape", an undefined escape; not-connected "stomp-1.0", a STOMP
# asking for 1.0 (all Artemis); unknown-ack "no-subscription", an ack id naming a subscription that is gone (RabbitMQ)
ERROR_TEXT_VARIANTS = frozenset({"own-format", "bad-escape", "no-subscription", "stomp-1.0"})
