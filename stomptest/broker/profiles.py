"""Broker profiles: every way a real broker differs from the spec, one named setting each.

A `Profile` is a frozen dataclass, so a user builds their own with
``dataclasses.replace(PROFILES["activemq"], nack="requeue")``. The values of the
shipped profiles come from ../shared/reference (measured-brokers.md for what was
seen on the wire, broker-semantics.md for what the brokers' sources say); where a
fact was not available the setting follows the spec and says so in a comment.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from stomptest.broker import websocket_profiles
from stomptest.broker.websocket_profiles import WebSocketSettings
from stomptest.protocol import spec
from stomptest.protocol.errors import ConfigurationError

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
    "duplicate-subscription",
    "unknown-subscription",
    "unknown-ack",  # ACK/NACK naming no unacknowledged message
    "bad-transaction",  # unknown transaction, or BEGIN of one already open
    "limit",  # too many connections, queued or pending messages
    "internal",  # a bug in stomptest: never expected, always reported by Broker.check()
]
ERROR_KINDS: tuple[ErrorKind, ...] = ErrorKind.__args__  # type: ignore[attr-defined]

# Errors every profile treats as fatal: the connection cannot be in a usable state after them.
ALWAYS_CLOSING: frozenset[ErrorKind] = frozenset(
    {"not-connected", "already-connected", "version", "bad-connect", "vhost", "access-refused", "malformed", "internal"}
)


@dataclass(frozen=True)
class Limits:
    """Bounds on what one client can make the broker hold; exceeding one gives ERROR and close.

    `max_unacknowledged` is also flow control: a queue subscription never holds more
    unacknowledged messages than this, whatever prefetch the client asked for.
    """

    max_frame_bytes: int = spec.DEFAULT_MAX_FRAME_BYTES
    max_headers: int = spec.DEFAULT_MAX_HEADERS
    max_header_bytes: int = spec.DEFAULT_MAX_HEADER_BYTES
    max_unacknowledged: int = 10_000  # per subscription
    max_pending: int = 100_000  # messages waiting for one topic subscriber
    max_queued: int = 1_000_000  # messages in one queue
    max_connections: int = 1_000
    max_subscriptions: int = 1_000  # per connection
    max_transactions: int = 100  # open at once, per connection
    max_transaction_frames: int = 100_000  # frames held by one transaction
    max_output_bytes: int = 4 * 1024 * 1024  # unsent bytes per connection before dispatch to it pauses
    max_transcript: int = 10_000  # frames remembered per connection for the test-side API
    max_transcript_bytes: int = 1024 * 1024  # bodies remembered per connection (the newest frame is always kept)
    max_transcript_heartbeats: int = 8  # the latest heart-beats remembered per connection (an idle one stays small)

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigurationError(f"limit {item.name} must be a positive int, not {value!r}")

    def replace(self, **changes: int) -> Limits:
        """A copy with some limits changed; unknown names are a `ConfigurationError`."""
        known = {item.name for item in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigurationError(f"unknown limit(s) {', '.join(unknown)}: use {', '.join(sorted(known))}")
        return dataclasses.replace(self, **changes)


def _texts(**texts: tuple[str, str]) -> Mapping[str, tuple[str, str]]:
    return MappingProxyType({name.replace("_", "-"): text for name, text in texts.items()})


# (message header, body) templates, formatted with str.format_map; unknown fields stay empty.
# Fields: command, destination, id, ack, transaction, version, versions, host, login, reason, limit, value.
# A key "KIND COMMAND" (as "missing-header SUBSCRIBE") overrides the kind's text for that command's frames.
SPEC_ERROR_TEXTS = _texts(
    not_connected=("not connected", "{command} before CONNECT: send CONNECT (or STOMP) first\n"),
    already_connected=("already connected", "a second {command} on a connected session\n"),
    version=("unsupported version", "Supported versions are {versions}\n"),
    bad_connect=("bad CONNECT", "{reason}\n"),
    vhost=("unknown host", "no virtual host {host!r}\n"),
    access_refused=("access refused", "login {login!r} with this passcode is not accepted\n"),
    malformed=("malformed frame", "{reason}\n"),
    unknown_command=("unknown command", "{reason}\n"),
    missing_header=("missing header", "{command} requires the {reason} header\n"),
    invalid_header=("invalid header", "{reason}\n"),
    bad_destination=("bad destination", "{destination!r} is not a destination: use /queue/NAME or /topic/NAME\n"),
    duplicate_subscription=("duplicate subscription", "subscription id {id!r} is already in use on this connection\n"),
    unknown_subscription=("unknown subscription", "no subscription with id {id!r} on this connection\n"),
    unknown_ack=("unknown ack", "{command} names {ack!r}, which is no unacknowledged message of this connection\n"),
    bad_transaction=("bad transaction", "{reason}\n"),
    limit=("limit exceeded", "{reason}\n"),
    internal=("internal error", "{reason}\n"),
)

_AMQ_TRACE = "\n\tat org.apache.activemq.transport.stomp.ProtocolConverter.onStompCommand(ProtocolConverter.java:263)\n"
# ActiveMQ: the body is a Java stack trace of the ProtocolException whose text is the message.
ACTIVEMQ_ERROR_TEXTS = _texts(
    not_connected=(
        "Not connected.",
        "org.apache.activemq.transport.stomp.ProtocolException: Not connected." + _AMQ_TRACE,
    ),
    already_connected=(
        "Already connected.",
        "org.apache.activemq.transport.stomp.ProtocolException: Already connected." + _AMQ_TRACE,
    ),
    version=(
        "Could not perform the protocol version negotiation",
        "org.apache.activemq.transport.stomp.ProtocolException: Invalid Protocol version {version}, "
        "Supported versions are: {versions}" + _AMQ_TRACE,
    ),
    bad_connect=("{reason}", "org.apache.activemq.transport.stomp.ProtocolException: {reason}" + _AMQ_TRACE),
    vhost=("{reason}", "{reason}"),
    access_refused=("User name [{login}] or password is invalid.", "User name [{login}] or password is invalid."),
    malformed=("{reason}", "org.apache.activemq.transport.stomp.ProtocolException: {reason}" + _AMQ_TRACE),
    unknown_command=(
        "Unknown STOMP action: {command}",
        "org.apache.activemq.transport.stomp.ProtocolException: Unknown STOMP action: {command}" + _AMQ_TRACE,
    ),
    missing_header=(
        "{command} received without a {reason} specified!",
        "org.apache.activemq.transport.stomp.ProtocolException: {command} received without a {reason} specified!"
        + _AMQ_TRACE,
    ),
    invalid_header=("{reason}", "org.apache.activemq.transport.stomp.ProtocolException: {reason}" + _AMQ_TRACE),
    bad_destination=(
        "Illegal destination name: [{destination}] -- ActiveMQ STOMP destinations must begin with one of: "
        "/queue/ /topic/ /temp-queue/ /temp-topic/",
        "org.apache.activemq.transport.stomp.ProtocolException: Illegal destination name: [{destination}]" + _AMQ_TRACE,
    ),
    duplicate_subscription=(
        "Duplicate subscription id: {id}",
        "org.apache.activemq.transport.stomp.ProtocolException: Duplicate subscription id: {id}" + _AMQ_TRACE,
    ),
    unknown_subscription=(
        "No subscription matched.",
        "org.apache.activemq.transport.stomp.ProtocolException: No subscription matched." + _AMQ_TRACE,
    ),
    unknown_ack=(
        "Unexpected ACK received for message-id [{ack}]",
        "org.apache.activemq.transport.stomp.ProtocolException: Unexpected ACK received for message-id [{ack}]"
        + _AMQ_TRACE,
    ),
    bad_transaction=("{reason}", "org.apache.activemq.transport.stomp.ProtocolException: {reason}" + _AMQ_TRACE),
    limit=("{reason}", "org.apache.activemq.transport.stomp.ProtocolException: {reason}" + _AMQ_TRACE),
    internal=("{reason}", "{reason}"),
)

# RabbitMQ: short message headers, explanatory bodies (measured texts where we have them).
RABBITMQ_ERROR_TEXTS = _texts(
    not_connected=("Illegal command", "You must log in using CONNECT first\n"),
    already_connected=("Duplicated CONNECT", "A CONNECT frame was already received on this connection\n"),
    version=("Version mismatch", "Supported versions are {versions}\n"),
    bad_connect=("Bad CONNECT", "{reason}\n"),
    vhost=("Bad CONNECT", "Virtual host '{host}' access denied"),
    access_refused=("Bad CONNECT", "Access refused for user '{login}'"),
    malformed=("Invalid frame", "Could not parse frame: {reason}\n"),
    unknown_command=("Bad command", 'Could not interpret command "{command}"\n'),
    missing_header=("Missing {reason}", "{command} must include a '{reason}' header\n"),
    invalid_header=("Invalid header", "{reason}\n"),
    bad_destination=(
        "Unknown destination",
        "'{destination}' is not a valid destination.\nValid destination types are: /exchange, /topic or /queue.\n",
    ),
    duplicate_subscription=(
        "Duplicated subscription identifier",
        'A subscription identified by "{id}" already exists.\n',
    ),
    unknown_subscription=("Bad UNSUBSCRIBE", "Subscription to {id} not found.\n"),
    unknown_ack=("Invalid header", "{command} frame with an unknown 'id' or 'message-id' header: {ack}\n"),
    bad_transaction=("Bad transaction", "{reason}\n"),
    limit=("Resource limit", "{reason}\n"),
    internal=("Internal error", "{reason}\n"),
)

# Artemis: measured on 2.40.0 where a template can say it (version, login, decoder errors, subscriptions,
# ACK); the rest from its sources. A decoder error's real text ends in the frame's bytes as a comma-separated
# dump ("F,O,O,10,..."), which the fake gives as the command or its own reason instead.
_ARTEMIS_LOGIN = "Security Error occurred: User name [{login}] or password is invalid"
ARTEMIS_ERROR_TEXTS = _texts(
    not_connected=("AMQ339003: Need to connect first", ""),
    already_connected=("AMQ339004: Already connected", ""),
    version=("AMQ339002 Stomp versions not supported {version}", "Supported protocol versions are v1.0 v1.1 v1.2"),
    bad_connect=('For input string: "{value}"', ""),  # measured: heart-beat:x,y (host is not checked)
    vhost=("{reason}", ""),
    access_refused=(_ARTEMIS_LOGIN, _ARTEMIS_LOGIN),
    malformed=("AMQ339023 Invalid STOMP frame {reason}", "AMQ339024: Invalid STOMP frame: {reason}"),
    unknown_command=("AMQ339023 Invalid STOMP frame {command}", "AMQ339024: Invalid STOMP frame: {command}"),
    missing_header=("AMQ339025: {command} requires the {reason} header", ""),
    invalid_header=("{reason}", ""),
    bad_destination=("AMQ339021: illegal destination {destination}", ""),
    duplicate_subscription=(
        "There already is a subscription for: {id}. Either use unique subscription IDs or do not create multiple "
        "subscriptions for the same destination",
        "",
    ),
    unknown_subscription=("Cannot unsubscribe as no subscription exists for id: {id}", ""),
    unknown_ack=("AMQ339018 Error acknowledging message {ack}", ""),
    bad_transaction=("AMQ339018: {reason}", ""),
    limit=("{reason}", ""),
    internal=("{reason}", ""),
)
# measured (A4, A16): where one kind's text differs by command. SUBSCRIBE without destination is a Java
# NullPointerException's text, as message and body.
_ARTEMIS_NO_ADDRESS = (
    'Cannot invoke "org.apache.activemq.artemis.api.core.SimpleString.startsWith('
    'org.apache.activemq.artemis.api.core.SimpleString)" because "address" is null'
)
ARTEMIS_ERROR_TEXTS = MappingProxyType(
    {
        **ARTEMIS_ERROR_TEXTS,
        "missing-header SUBSCRIBE": (_ARTEMIS_NO_ADDRESS, _ARTEMIS_NO_ADDRESS),
        "missing-header SEND": ("AMQ339031 Error handling send", ""),
        "missing-header BEGIN": ("AMQ339032 Need a transaction id to begin", ""),
        "bad-transaction BEGIN": ("Transaction already started: {transaction}", ""),
        "bad-transaction COMMIT": ("AMQ339013 Error committing {transaction}", ""),
        "bad-transaction ABORT": ("No transaction started: {transaction}", ""),
    }
)


@dataclass(frozen=True)
class Profile:
    """What a broker does wherever the spec leaves a choice or a real broker departs from it."""

    name: str
    server: str  # CONNECTED `server` header
    versions: tuple[str, ...] = spec.VERSIONS
    # -- errors
    closing_errors: frozenset[ErrorKind] = frozenset(ERROR_KINDS)  # which ERRORs are followed by a close
    every_error_closes_in: tuple[str, ...] = ()  # versions in which every ERROR closes (Artemis: 1.2)
    error_texts: Mapping[str, tuple[str, str]] = field(default_factory=lambda: SPEC_ERROR_TEXTS, hash=False)
    error_receipt_id: bool = True  # ERROR carries `receipt-id` when the frame had a receipt
    # ...except the ERRORs of these kinds ("KIND" or "KIND COMMAND", as keys of error_texts; Artemis: decoder errors)
    errors_without_receipt_id: frozenset[str] = frozenset()
    error_version_header: bool = False  # every ERROR carries `version:1.0,1.1,1.2` (RabbitMQ)
    error_content_type: bool = True  # ERROR carries content-type:text/plain
    malformed_error: bool = True  # bytes that are not a frame get an ERROR before the close (RabbitMQ: just a close)
    version_error_header: bool = True  # the no-common-version ERROR lists the versions (ActiveMQ: no)
    # -- escaping
    escape_1_0: Literal["none", "as-1.2", "decode-input"] = "none"  # escapes in a 1.0 session (see docs/broker.md)
    unescape_connect: bool = False  # CONNECT values are unescaped as in 1.2 (RabbitMQ)
    undefined_escapes: Literal["error", "keep"] = "error"  # 1.1/1.2 `\t` and the like (ActiveMQ keeps them as they are)
    repeated_headers: Literal["first", "last-before-1.2"] = "first"  # which repeat wins (Artemis: last, in 1.0/1.1)
    # -- CONNECT
    host: Literal["required", "vhost", "ignore"] = "required"  # spec: required from 1.1; RabbitMQ: selects a vhost
    vhosts: tuple[str, ...] = ("/",)  # for host="vhost": names accepted (no host header means "/")
    default_login: str | None = None  # login assumed when CONNECT has none (RabbitMQ: guest)
    echo_connect_receipt: bool = False  # a CONNECT receipt comes back in CONNECTED (ActiveMQ)
    connect_receipt_response_id: bool = True  # ...as `receipt-id` and also `response-id` (ActiveMQ; Artemis: no)
    # CONNECTED headers: `version`, `session`, `server` and `heart-beat` every time ("all"), or `version` only when
    # CONNECT had accept-version, `server` only from 1.1, `heart-beat` only when CONNECT had one ("as-asked", Artemis)
    connected_headers: Literal["all", "as-asked"] = "all"
    # a frame before CONNECT: ERROR not-connected ("error"), or no answer to it or to anything after it, and no
    # connect_timeout either ("ignore-all", Artemis)
    frame_before_connect: Literal["error", "ignore-all"] = "error"
    # a second CONNECT: ERROR, or another CONNECTED of the same session and version (Artemis)
    second_connect: Literal["error", "connected"] = "error"
    connect_timeout: float | None = 30.0  # seconds a connection may take to CONNECT before it is closed
    # -- heart-beats: the broker echoes the client's wishes, adjusted as below
    heartbeat_rounding: Literal["none", "whole-seconds"] = "none"  # RabbitMQ: floor to seconds, at least 1 s
    heartbeat_min_send_ms: int = 0  # the broker never beats more often than this (Artemis: 500)
    heartbeat_min_receive_ms: int = 0  # ...nor asks the client to beat more often than this (Artemis: 500)
    # the interval the broker asks for when the client offers no beats (0: none), in 1.0 too (Artemis: 30000)
    heartbeat_default_receive_ms: int = 0
    # a client closed for silence first gets an ERROR with this message (fields: peer, ttl_ms); None: just the close
    heartbeat_timeout_error: str | None = None
    heartbeat_send_fraction: float = 1.0  # beat at this fraction of the interval (RabbitMQ: about 0.5)
    heartbeat_grace: float = 2.0  # a silent client is closed after interval x grace
    # -- destinations
    unknown_destinations: Literal["queue", "topic", "error"] = "queue"  # names without /queue/ or /topic/
    destination_aliases: tuple[tuple[str, str], ...] = ()  # (prefix, replacement) applied to names
    # /temp-queue/X: an ordinary name ("shared"), one per connection reached by others as /remote-temp-queue/...
    # ("connection", ActiveMQ), or only in reply-to, made into a /reply-queue/... ("reply-queue", RabbitMQ)
    temporary_destinations: Literal["shared", "connection", "reply-queue"] = "shared"
    # -- SEND
    # a SEND's own message-id, subscription, redelivered, ack: dropped, refused (message-id), or "keep": kept on
    # the MESSAGE after the broker's own, except `ack`, which the broker writes after them (Artemis)
    reserved_send_headers: Literal["drop", "error", "keep"] = "drop"
    send_unknown_transaction: Literal["error", "drop"] = "error"  # SEND naming no open transaction (Artemis: drop)
    echo_receipt_in_message: bool = False  # the SEND's receipt header travels with the message (RabbitMQ)
    receipt_before_dispatch: bool = True  # RECEIPT of SEND/SUBSCRIBE goes out before the MESSAGEs they cause
    # every frame's NUL followed by a LF, in every version (measured: ActiveMQ 5.17 and RabbitMQ 3.10);
    # a 1.1+ client reads that LF as a heart-beat
    frame_eol: bool = False
    # -- MESSAGE
    id_style: Literal["strict", "activemq", "rabbitmq", "artemis"] = "strict"  # message-id/ack/session formats
    new_message_id_per_delivery: bool = False  # RabbitMQ numbers deliveries, not messages
    ack_id: Literal["message-id", "separate"] = "separate"  # 1.2 `ack` header: equal to message-id or its own
    redelivered_header: Literal["always", "when-true", "never"] = "never"
    jms_headers: Literal["always", "never"] = "never"  # expires, priority, timestamp on every MESSAGE
    persistent_header: Literal["always", "as-sent", "never"] = "never"
    content_length: Literal["always", "as-sent"] = "always"
    content_length_1_0: Literal["always", "as-sent"] | None = None  # in a 1.0 session, if not as content_length
    destination_type_header: bool = False  # MESSAGE carries destination-type:ANYCAST or MULTICAST (Artemis)
    # -- SUBSCRIBE and ACK
    duplicate_subscription: Literal["error", "ignore"] = "error"
    # the id of a SUBSCRIBE that has none, from 1.1 too ({address}: the name without /queue/ or /topic/);
    # None: required from 1.1, the destination's name in 1.0
    anonymous_subscription_id: str | None = None
    prefetch_headers: tuple[str, ...] = ()  # SUBSCRIBE headers giving the flow-control window
    prefetch_unit: Literal["messages", "bytes"] = "messages"
    default_prefetch: int | None = None  # window for client ack modes without a header; None: unlimited
    default_topic_prefetch: int | None = None
    ack_checks_subscription: bool = True  # 1.1 ACK with an unknown subscription is an error
    # -- NACK and redelivery
    nack: Literal["requeue", "dead-letter", "discard"] = "requeue"
    nack_requeue_header: bool = False  # honour `requeue:false` on NACK (RabbitMQ: then discard)
    cumulative_nack: bool = True  # NACK in `client` mode covers earlier messages too
    dead_letter_queue: str = "/queue/DLQ"
    # where a dead letter came from: `original-destination`, or Artemis' four _AMQ_ORIG_* headers
    dead_letter_headers: Literal["original-destination", "artemis"] = "original-destination"
    # ActiveMQ's dead-letter strategy skips non-persistent messages (processNonPersistent=false): they are dropped
    dead_letter_non_persistent: bool = True
    max_deliveries: int | None = None  # after this many deliveries a requeued message is dead-lettered
    # -- transactions
    transactional_ack: bool = True  # Artemis ignores `transaction` on ACK/NACK
    transaction_receipts: Literal["immediate", "at-commit"] = "immediate"  # SEND receipts (RabbitMQ: at COMMIT)
    limits: Limits = field(default_factory=Limits)
    # STOMP over WebSocket on the same port (websocket_profiles.py)
    websocket: WebSocketSettings = websocket_profiles.STRICT

    def __post_init__(self) -> None:
        for version in self.versions:
            spec.check_version(version)
        missing = sorted(set(ERROR_KINDS) - set(self.error_texts))
        if missing:
            raise ConfigurationError(f"profile {self.name!r}: error_texts lacks {', '.join(missing)}")
        for key in set(self.error_texts) - set(ERROR_KINDS):
            kind, _, command = key.partition(" ")
            if kind not in ERROR_KINDS or command not in spec.CLIENT_COMMANDS:
                raise ConfigurationError(f"profile {self.name!r}: error_texts key {key!r} is not 'KIND COMMAND'")
        if self.heartbeat_grace < 1.0:
            raise ConfigurationError("heartbeat_grace must be at least 1.0 (the negotiated interval itself)")
        if not 0 < self.heartbeat_send_fraction <= 1.0:
            raise ConfigurationError("heartbeat_send_fraction must be in (0, 1]")
        if self.ack_id == "message-id" and not (
            self.new_message_id_per_delivery or self.id_style in ("rabbitmq", "artemis")
        ):
            raise ConfigurationError(
                "ack_id='message-id' needs a message-id unique per delivery: set new_message_id_per_delivery=True "
                "or use id_style 'rabbitmq' or 'artemis'"
            )


STRICT = Profile(name="strict", server="stomptest/0.1.0")

ACTIVEMQ = Profile(
    name="activemq",
    server="ActiveMQ/5.17.2",
    frame_eol=True,
    # fatal ProtocolExceptions only: parse and size errors, unknown command, version, heart-beat, CONNECT
    closing_errors=ALWAYS_CLOSING | {"unknown-command", "limit"},
    error_texts=ACTIVEMQ_ERROR_TEXTS,
    version_error_header=False,
    escape_1_0="decode-input",
    undefined_escapes="keep",
    host="ignore",
    echo_connect_receipt=True,
    connect_timeout=30.0,  # measured
    heartbeat_grace=3.0,  # measured: heart-beat 1000 -> silent client closed after 3.0 s
    unknown_destinations="queue",  # measured: SEND to /bogus/x or bogus-x gets its RECEIPT
    temporary_destinations="connection",
    reserved_send_headers="drop",
    id_style="activemq",
    ack_id="separate",
    redelivered_header="when-true",
    jms_headers="always",
    persistent_header="as-sent",
    content_length="as-sent",
    duplicate_subscription="ignore",
    prefetch_headers=("activemq.prefetchSize",),
    default_prefetch=1000,
    default_topic_prefetch=32767,
    nack="dead-letter",
    cumulative_nack=False,
    dead_letter_queue="/queue/ActiveMQ.DLQ",
    dead_letter_non_persistent=False,
    limits=Limits(max_header_bytes=10 * 1024, max_headers=1000),
    websocket=websocket_profiles.ACTIVEMQ,
)

RABBITMQ = Profile(
    name="rabbitmq",
    server="RabbitMQ/3.10.8",
    frame_eol=True,
    # measured: even a refused CONNECT (version, vhost, login) leaves the connection open
    closing_errors=(ALWAYS_CLOSING - {"version", "vhost", "access-refused"}) | {"duplicate-subscription", "limit"},
    error_texts=RABBITMQ_ERROR_TEXTS,
    escape_1_0="as-1.2",
    unescape_connect=True,
    transaction_receipts="at-commit",
    error_receipt_id=False,  # measured: bogus ACK id -> ERROR without receipt-id
    error_version_header=True,
    host="vhost",
    default_login="guest",
    connect_timeout=10.0,  # measured
    heartbeat_rounding="whole-seconds",
    heartbeat_send_fraction=0.5,  # measured: 7 EOLs in 3.5 s for 1000 ms
    heartbeat_grace=3.0,  # measured: silent client closed after 3.0 s
    unknown_destinations="error",
    destination_aliases=(("/amq/queue/", "/queue/"), ("/exchange/amq.topic/", "/topic/")),
    temporary_destinations="reply-queue",
    reserved_send_headers="error",
    echo_receipt_in_message=True,
    receipt_before_dispatch=False,  # measured: MESSAGE arrives before the RECEIPT of the SEND
    id_style="rabbitmq",
    new_message_id_per_delivery=True,
    ack_id="message-id",
    redelivered_header="always",
    prefetch_headers=("prefetch-count",),
    ack_checks_subscription=False,
    nack="requeue",
    nack_requeue_header=True,
    malformed_error=False,  # measured: an undefined escape closes the connection without an ERROR
    # measured on 3.10.8: a 200 KiB header, 2000 headers and an 8 MiB body are all accepted
    limits=Limits(max_headers=10_000, max_header_bytes=1024 * 1024),
    websocket=websocket_profiles.RABBITMQ,
)

# Measured on Apache Artemis 2.40.0 (scripts/real-brokers.sh: its STOMP acceptor with
# anycastPrefix=/queue/ and multicastPrefix=/topic/); the settings without a "measured" note come from
# its sources and agree with what was seen. docs/broker.md lists what the measurement changed.
ARTEMIS = Profile(
    name="artemis",
    server="ActiveMQ-Artemis/2.40.0 ActiveMQ Artemis Messaging Engine",  # measured
    frame_eol=True,  # measured: NUL then LF after every frame, in every version
    # measured: in 1.0 and 1.1 only version, auth and decoder errors disconnect; in 1.2 every ERROR does
    closing_errors=ALWAYS_CLOSING | {"unknown-command"},
    every_error_closes_in=("1.2",),
    error_texts=ARTEMIS_ERROR_TEXTS,
    # measured: decoder errors, a duplicate subscription and SUBSCRIBE without destination have no receipt-id
    errors_without_receipt_id=frozenset(
        {"malformed", "unknown-command", "duplicate-subscription", "missing-header SUBSCRIBE"}
    ),
    repeated_headers="last-before-1.2",
    host="ignore",
    echo_connect_receipt=True,  # measured: CONNECTED carries receipt-id, and no response-id
    connect_receipt_response_id=False,
    connected_headers="as-asked",  # measured
    frame_before_connect="ignore-all",  # measured: no answer, the connection stays open (>= 120 s)
    second_connect="connected",  # measured: another CONNECTED, same session and version; subscriptions live on
    connect_timeout=10.0,  # measured: no CONNECT within 10 s (the acceptor's handshake timeout), closed without ERROR
    heartbeat_min_send_ms=500,
    heartbeat_min_receive_ms=500,  # measured: heart-beat:400,400 -> 500,500
    heartbeat_default_receive_ms=30_000,  # measured: heart-beat:0,0 -> 0,30000; no beats: closed after 60 s
    heartbeat_timeout_error=(  # measured
        "AMQ229014: Did not receive data from {peer} within the {ttl_ms}ms connection TTL. "
        "The connection will now be closed."
    ),
    heartbeat_grace=2.0,  # measured: heart-beat 1000,0 -> closed after a 2000 ms TTL (checked every 2 s)
    echo_receipt_in_message=True,  # measured: the SEND's receipt header travels with the MESSAGE
    unknown_destinations="topic",  # measured: a name without prefix is a multicast address
    reserved_send_headers="keep",  # measured
    send_unknown_transaction="drop",  # measured: RECEIPT, and the message is never delivered
    id_style="artemis",
    ack_id="message-id",
    redelivered_header="always",
    jms_headers="always",
    persistent_header="always",
    content_length_1_0="as-sent",  # measured: in 1.0 only when the SEND had one, and never on ERROR
    destination_type_header=True,  # measured
    anonymous_subscription_id="subscription/{address}",  # measured, in every version
    prefetch_headers=("consumer-window-size", "activemq.prefetchSize"),
    prefetch_unit="bytes",
    default_prefetch=10240,
    nack="discard",  # onNack just acknowledges
    dead_letter_queue="/queue/DLQ",
    dead_letter_headers="artemis",  # measured
    max_deliveries=10,
    transactional_ack=False,
    # measured: a 4 MiB header and 50,000 headers are accepted (the largest tried)
    limits=Limits(max_headers=50_000, max_header_bytes=4 * 1024 * 1024),
    websocket=websocket_profiles.ARTEMIS,
)

PROFILES: Mapping[str, Profile] = MappingProxyType(
    {profile.name: profile for profile in (STRICT, ACTIVEMQ, RABBITMQ, ARTEMIS)}
)


def get_profile(profile: str | Profile) -> Profile:
    """A profile by name, or the given one; an unknown name is a `ConfigurationError`."""
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except (KeyError, TypeError):
        raise ConfigurationError(f"unknown broker profile {profile!r}: use one of {', '.join(PROFILES)}") from None
