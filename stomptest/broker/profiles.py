"""Broker profiles: every way a real broker differs from the spec, one named setting each.

A `Profile` is a frozen dataclass, so a user builds their own with
``dataclasses.replace(PROFILES["activemq"], nack="requeue")``. The values of the
shipped profiles come from ../shared/reference (measured-brokers.md for what was
seen on the wire, broker-semantics.md for what the brokers' sources say); where a
fact was not available the setting follows the spec and says so in a comment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from stomptest import __version__
from stomptest.broker import websocket_profiles
from stomptest.broker.error_kinds import ALWAYS_CLOSING, ERROR_KINDS, ERROR_TEXT_VARIANTS, ErrorKind
from stomptest.broker.error_texts import (
    ACTIVEMQ_ERROR_TEXTS,
    ARTEMIS_ERROR_TEXTS,
    RABBITMQ_ERROR_TEXTS,
    SPEC_ERROR_TEXTS,
)
from stomptest.broker.limits import Limits
from stomptest.broker.websocket_profiles import WebSocketSettings
from stomptest.protocol import spec
from stomptest.protocol.errors import ConfigurationError


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
    # the reason a malformed frame's ERROR gives, by the parser's error kind (FrameError.kind), where the profile's
    # broker has its own words; any other kind gives the parser's text
    decoder_texts: Mapping[str, str] = field(default_factory=dict, hash=False)
    error_receipt_id: bool = True  # ERROR carries `receipt-id` when the frame had a receipt
    # ...except the ERRORs of these kinds ("KIND" or "KIND COMMAND", as keys of error_texts; Artemis: decoder errors)
    errors_without_receipt_id: frozenset[str] = frozenset()
    error_version_header: bool = False  # every ERROR carries `version:1.0,1.1,1.2` (RabbitMQ)
    error_content_type: bool = True  # ERROR carries content-type:text/plain
    malformed_error: bool = True  # bytes that are not a frame get an ERROR before the close (RabbitMQ: just a close)
    version_error_header: bool = True  # the no-common-version ERROR lists the versions (ActiveMQ: no)
    # ERRORs ("KIND" or "KIND COMMAND") followed by the RECEIPT the refused frame asked for, before the close
    # (RabbitMQ: a duplicate id, an unknown exchange on SUBSCRIBE)
    receipt_after_error: frozenset[str] = frozenset()
    # -- leniency (issue 18)
    # a body on a frame that may not have one (CONNECT, SUBSCRIBE, BEGIN, ...): ERROR, or the body is ignored
    bodyless_frame_bodies: Literal["error", "ignore"] = "error"
    # 1.0 header values: kept as sent, or trimmed of leading (RabbitMQ) or leading and trailing (ActiveMQ) blanks
    trim_1_0_values: Literal["none", "leading", "both"] = "none"
    header_without_colon: Literal["error", "ignore"] = "error"  # a header line with no ':' (ActiveMQ: skipped)
    # CR LF line ends in 1.0 and 1.1: refused, read as LF (RabbitMQ), or read as LF in 1.0 and with the CR kept
    # in 1.1 header values (ActiveMQ: `receipt:b` CR LF is answered with `receipt-id:b` CR)
    crlf_before_1_2: Literal["error", "strip", "activemq"] = "error"
    # a body longer than its content-length (no NUL where the length ends it): refused, or (Artemis) the frame
    # ends there anyway; in 1.0 the byte after the body is dropped and the rest starts the next frame, in 1.1
    # and 1.2 what follows up to the next NUL that has come is dropped (all that has come if there is none)
    missing_nul: Literal["error", "artemis"] = "error"
    # -- escaping
    escape_1_0: Literal["none", "as-1.2", "decode-input"] = "none"  # escapes in a 1.0 session (see docs/broker.md)
    # the escapes a 1.1 session reads and writes: 1.1's, or 1.2's (RabbitMQ, measured: `x\r:b` read as a CR and
    # written back as `\r`; `\t` closes the connection in every version)
    escape_1_1: Literal["1.1", "as-1.2"] = "1.1"
    # a 1.0 MESSAGE carries each header once, where it came first, with its last value: a SEND's own message-id
    # replaces the broker's (Artemis' 1.0 encoder keeps headers in a map; measured, issue 18)
    one_value_per_header_1_0: bool = False
    # what UNSUBSCRIBE does with the subscription's unacknowledged messages (measured, issue 18): give them back as
    # delivered (redelivered:true next time, one toward max_deliveries), give them back as if never delivered
    # (Artemis), or keep them unacknowledged, out of reach of any ACK, until the connection ends (RabbitMQ)
    unsubscribe_unacked: Literal["requeue", "requeue-uncounted", "hold"] = "requeue"
    # STOMP asking for 1.0 (no accept-version, or 1.0 alone): taken as CONNECT, or refused (Artemis, measured:
    # "AMQ339029 Unsupported command STOMP", the connection stays open, unconnected and fixed at 1.0: a later
    # CONNECT gets version 1.0 whatever it asks, a later STOMP the same ERROR, anything else "AMQ339010")
    stomp_in_1_0: Literal["accept", "refused"] = "accept"
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
    # an EOL (LF or CR LF) before CONNECT: a heart-beat, ignored ("ignore"), or the frame after it is not answered,
    # nor is anything after that, and the connect timeout stops, as with frame_before_connect="ignore-all"
    # ("deafens", Artemis); an EOL alone leaves the connect timeout running
    eol_before_connect: Literal["ignore", "deafens"] = "ignore"
    # a second CONNECT: ERROR, a close without any frame (RabbitMQ), or another CONNECTED of the same
    # session and version (Artemis)
    second_connect: Literal["error", "close", "connected"] = "error"
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
    # when the broker looks for that silence: all the time ("timer"), or only at whole intervals from CONNECTED,
    # closing at the first such check after more than `heartbeat_grace` intervals without a byte ("grid":
    # RabbitMQ and ActiveMQ, measured: closed 2T-3T after the last byte, 3T after CONNECTED if silent at once)
    heartbeat_check: Literal["timer", "grid"] = "timer"
    # when the broker beats: once nothing was written for the send period ("timer"), or at whole periods from
    # CONNECTED unless a frame (CONNECTED too, beats not) was written in the period just ended ("grid":
    # ActiveMQ, measured: first beat at 2T, a RECEIPT at 1.5T moves it to 3T)
    heartbeat_send: Literal["timer", "grid"] = "timer"
    heartbeats_in_1_0: bool = False  # a 1.0 CONNECT's heart-beat header is negotiated (RabbitMQ, ActiveMQ)
    # -- destinations
    unknown_destinations: Literal["queue", "topic", "error"] = "queue"  # names without /queue/ or /topic/
    # how names are checked and named beyond that: as given; ActiveMQ (a name without /queue/ or /topic/ is the
    # queue /queue/NAME, and /queue/ or /topic/ alone closes the connection without a frame); RabbitMQ (a bare
    # name is /queue/NAME, a queue's or topic's name has no '/', /exchange/E needs a known exchange E)
    destination_names: Literal["as-given", "activemq", "rabbitmq"] = "as-given"
    destination_aliases: tuple[tuple[str, str], ...] = ()  # (prefix, replacement) applied to names
    # /temp-queue/X: an ordinary name ("shared"), one per connection reached by others as /remote-temp-queue/...
    # ("connection", ActiveMQ), or only in reply-to, made into a /reply-queue/... ("reply-queue", RabbitMQ), or
    # no prefix at all: /temp-queue/X and /temp-topic/X are names like any other, as unknown_destinations says
    # ("unprefixed", Artemis with the /queue/ and /topic/ acceptor prefixes only)
    temporary_destinations: Literal["shared", "connection", "reply-queue", "unprefixed"] = "shared"
    # -- SEND
    # a SEND's own message-id, subscription, redelivered, ack: dropped, refused (message-id), or "keep": kept on
    # the MESSAGE after the broker's own, except `ack`, which the broker writes after them (Artemis)
    reserved_send_headers: Literal["drop", "error", "keep"] = "drop"
    send_unknown_transaction: Literal["error", "drop"] = "error"  # SEND naming no open transaction (Artemis: drop)
    echo_receipt_in_message: bool = False  # the SEND's receipt header travels with the message (RabbitMQ)
    receipt_before_dispatch: bool = True  # RECEIPT of SEND goes out before the MESSAGEs it causes (SUBSCRIBE: always)
    # every frame's NUL followed by a LF, in every version (measured: ActiveMQ 5.17 and RabbitMQ 3.10);
    # a 1.1+ client reads that LF as a heart-beat
    frame_eol: bool = False
    # -- MESSAGE
    id_style: Literal["strict", "activemq", "rabbitmq", "artemis"] = "strict"  # message-id/ack/session formats
    new_message_id_per_delivery: bool = False  # RabbitMQ numbers deliveries, not messages
    ack_id: Literal["message-id", "separate"] = "separate"  # 1.2 `ack` header: equal to message-id or its own
    redelivered_header: Literal["always", "when-true", "never"] = "never"
    jms_headers: Literal["always", "never"] = "never"  # expires, priority, timestamp on every MESSAGE
    # SEND headers the broker takes for the JMS headers it writes, so they are written once, with the SEND's
    # value (ActiveMQ: all four; Artemis: all but `timestamp`, which it writes twice, its own first)
    jms_headers_from_send: frozenset[str] = frozenset()
    # "always": persistent:true or false on every MESSAGE (Artemis); "as-sent": persistent:true when the SEND
    # said exactly that (ActiveMQ), else none
    persistent_header: Literal["always", "as-sent", "never"] = "never"
    content_length: Literal["always", "as-sent", "non-empty"] = "always"  # "non-empty": only on a body (RabbitMQ)
    content_length_1_0: Literal["always", "as-sent"] | None = None  # in a 1.0 session, if not as content_length
    # MESSAGE carries destination-type:ANYCAST or MULTICAST where its name has the /queue/ or /topic/ prefix (Artemis)
    destination_type_header: bool = False
    # -- SUBSCRIBE and ACK
    # SUBSCRIBE with an id in use: ERROR, a RECEIPT and nothing else, or a second live subscription that takes
    # the id from the first (ActiveMQ, measured: the first delivers on under the same id until the connection ends)
    duplicate_subscription: Literal["error", "ignore", "add"] = "error"
    # SUBSCRIBE (and UNSUBSCRIBE by destination) without `id`: in 1.0 only, or in every version (RabbitMQ)
    subscribe_without_id: Literal["1.0", "always"] = "1.0"
    # a MESSAGE of a subscription made without `id` carries `subscription` (its made-up id), or none (measured:
    # ActiveMQ and RabbitMQ; RabbitMQ's message-id then starts Q_<destination> instead of T_<id>)
    subscription_header_without_id: bool = True
    # UNSUBSCRIBE by `destination` ends any subscription to it, or only one made without `id` (RabbitMQ; Artemis,
    # which looks for the id in anonymous_subscription_id)
    unsubscribe_by_destination: Literal["any", "id-less-only"] = "any"
    # the id of a SUBSCRIBE that has none, from 1.1 too ({address}: the name without /queue/ or /topic/);
    # None: required from 1.1, the destination's name in 1.0
    anonymous_subscription_id: str | None = None
    prefetch_headers: tuple[str, ...] = ()  # SUBSCRIBE headers giving the flow-control window
    prefetch_unit: Literal["messages", "bytes"] = "messages"
    default_prefetch: int | None = None  # window for client ack modes without a header; None: unlimited
    default_topic_prefetch: int | None = None
    # -- routing (issue 15, docs/routing.md; routing.py, exchanges.py, composite.py)
    # RabbitMQ: /exchange/E[/KEY] and /topic/KEY reach the queues bound to E (direct, topic, fanout or headers;
    # amq.* by default, others by Broker.declare_exchange); /amq/queue/Q and /reply-queue/Q name queues that
    # must exist (a SEND to none is dropped, a SUBSCRIBE is answered not_found)
    exchanges: bool = False
    # RabbitMQ: SUBSCRIBE (and SEND) headers declare the queue: x-max-length, x-max-length-bytes (the oldest
    # ready messages are dropped), x-queue-type, exclusive, durable (routing.py); x-message-ttl, x-expires,
    # x-max-priority, x-dead-letter-exchange and x-dead-letter-routing-key (lifecycle_arguments.py); a queue
    # re-declared otherwise is refused
    queue_arguments: bool = False
    composite_destinations: bool = False  # ActiveMQ: SEND to /queue/A,/topic/B,C reaches each; SUBSCRIBE reads them
    # ActiveMQ: a message on /topic/VirtualTopic.X is copied to every /queue/Consumer.NAME.VirtualTopic.X
    virtual_topics: bool = False
    # SUBSCRIBE to /topic/PATTERN: words split on '.', `*` one word and `>` (ActiveMQ) or `#` (Artemis) any number
    topic_wildcards: Literal["none", "activemq", "artemis"] = "none"
    # -- subscriptions that read several destinations (issue 15, spanning.py): a SUBSCRIBE to a composite list
    # reads its parts where `composite_destinations`; ActiveMQ: SUBSCRIBE to /queue/PATTERN (`*`, `>`) reads
    # every queue it matches, those made later too
    queue_wildcards: bool = False
    ack_checks_subscription: bool = True  # 1.1 ACK with an unknown subscription is an error
    ack_requires_subscription_1_1: bool = True  # 1.1 ACK/NACK without `subscription` is an error (RabbitMQ: no)
    # an ACK/NACK naming a delivery of the broker's own id format that awaits no acknowledgement: ERROR
    # unknown-ack, or (RabbitMQ) RECEIPT, then the closing ERROR precondition-failed naming its delivery tag,
    # or (Artemis) ERROR unknown-ack with the text kept for ids of its format ("unknown-ack own-format")
    unknown_delivery_ack: Literal["unknown-ack", "precondition-failed", "own-format-text"] = "unknown-ack"
    # an ACK/NACK whose id is not of the broker's own format is refused before its `transaction` is looked up
    # (RabbitMQ: "Invalid header"); otherwise an unknown transaction is reported first
    ack_id_before_transaction: bool = False
    # versions in which an ACK/NACK whose message-id is not of the broker's format (ActiveMQ: not ending in
    # ":<number>", as `none`) closes the connection without a frame once it has a subscription (ActiveMQ: 1.0, 1.1)
    unparsable_ack_closes_in: tuple[str, ...] = ()
    # -- NACK and redelivery
    nack: Literal["requeue", "dead-letter", "discard"] = "requeue"
    nack_requeue_header: bool = False  # honour `requeue:false` (or `False`) on NACK (RabbitMQ: then discard)
    # NACK on a 1.0 connection: ERROR unknown-command, handled as in 1.1 (RabbitMQ), or ERROR invalid-header
    # whose text says so (ActiveMQ)
    nack_in_1_0: Literal["unknown-command", "accept", "error"] = "unknown-command"
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
    # the order the broker writes the headers of these frames in, by command (names not listed keep theirs, after)
    header_order: tuple[tuple[str, tuple[str, ...]], ...] = ()
    message_transaction_header: bool = False  # a committed SEND's `transaction` travels with it (RabbitMQ, Artemis)
    # the SEND's own headers on MESSAGE: in the order sent ("as-sent"), or reversed, the ones RabbitMQ keeps as
    # message properties (reply-to, priority, persistent, content-type) last in that order ("rabbitmq")
    message_header_order: Literal["as-sent", "rabbitmq"] = "as-sent"
    duplicate_begin: Literal["error", "ignore"] = "error"  # BEGIN of an open transaction (RabbitMQ: RECEIPT)
    limits: Limits = field(default_factory=Limits)
    # STOMP over WebSocket on the same port (websocket_profiles.py)
    websocket: WebSocketSettings = websocket_profiles.STRICT
    # -- a message's life: expiry, priority, dead letters, restarts (issue 15; docs/lifecycle.md)
    # the SEND header that gives a message its time to live: `expires`, absolute ms since the epoch (ActiveMQ,
    # Artemis; 0 or, on ActiveMQ, below 0: never), or `expiration`, ms from arrival (RabbitMQ); the other one is
    # an ordinary header
    expiry_header: Literal["expires", "expiration"] = "expires"
    # where an expired message goes (None: dropped), with the headers its broker adds on the way: ActiveMQ's
    # ActiveMQ.DLQ for persistent messages only (dead_letter_non_persistent), Artemis' ExpiryQueue
    expiry_queue: str | None = None
    expiry_headers: Literal["original-destination", "activemq", "artemis"] = "original-destination"
    # queue order: FIFO (RabbitMQ without x-max-priority), highest priority first, ties in arrival order (Artemis,
    # levels 0-9), or persistent messages first (ActiveMQ's store, measured); `default_priority` is a message's
    # without a `priority` header
    priority_order: Literal["fifo", "priority", "persistent-first"] = "fifo"
    default_priority: int = 4
    # SEND headers `priority`, `expires`/`expiration` that the broker cannot read: ignored (strict), or answered
    # as the profile's broker answers them (lifecycle.py, measured)
    bad_lifecycle_headers: Literal["ignore", "activemq", "rabbitmq", "artemis"] = "ignore"
    # a queued message that was not sent `persistent:true` survives Broker.restart() (the real brokers: no)
    restart_keeps_non_persistent: bool = True
    # a message delivered before a restart comes back counted as delivered (`redelivered`), also from a data folder
    # (issue 15, store.py); ActiveMQ: no (its store keeps no redelivery count without persistJMSRedelivered)
    restart_keeps_deliveries: bool = True
    # -- message selectors (issue 14, docs/selectors.md): SUBSCRIBE's `selector` read as this broker reads it;
    # "none" ignores the header (RabbitMQ, measured: every message arrives, an invalid one gets its RECEIPT)
    selectors: Literal["none", "strict", "activemq", "artemis"] = "strict"
    # -- issue 14: durable subscriptions, window edge values, exclusive consumers, message groups
    # (docs/subscriptions.md has what was measured). Which SUBSCRIBE headers make a topic subscription durable:
    # none; ActiveMQ's (client-id on CONNECT + activemq.subscriptionName; a client-id in use is refused);
    # RabbitMQ's (durable:true or persistent:true with auto-delete:false, kept under its id or x-queue-name);
    # Artemis' (client-id + durable-subscription-name, durable-subscriber-name or activemq.subscriptionName)
    durable_subscriptions: Literal["none", "activemq", "rabbitmq", "artemis"] = "none"
    # a window of 0: one message at a time (Artemis' bytes), nothing pushed at all (ActiveMQ), or no window
    # (RabbitMQ); a negative window: no window, or nothing pushed at all (RabbitMQ's prefetch-count:-1, ActiveMQ)
    prefetch_zero: Literal["one", "none", "unlimited"] = "one"
    prefetch_negative: Literal["unlimited", "none"] = "unlimited"
    # a prefetch header that is not an integer: ERROR invalid-header, or ignored (ActiveMQ)
    bad_prefetch: Literal["error", "ignore"] = "error"
    # exclusive consumers: none; `activemq.exclusive:true` takes every message of the queue while it is subscribed
    # (ActiveMQ); `exclusive:true` makes the queue the connection's own, refused to every other (RabbitMQ)
    exclusive_consumers: Literal["none", "activemq", "rabbitmq"] = "none"
    # JMSXGroupID sticks a group to one consumer of a queue until it leaves: not at all; as ActiveMQ (a
    # JMSXGroupSeq:-1 closes the group); as Artemis (JMSXGroupSeq is not read)
    message_groups: Literal["none", "activemq", "artemis"] = "none"
    # what a message counts against a byte window beyond its body and headers (windows.py; Artemis: 221)
    window_message_overhead: int = 0
    # the window of a durable subscription without a prefetch header, for client ack modes (ActiveMQ: 100)
    default_durable_prefetch: int | None = None

    def __post_init__(self) -> None:
        for version in self.versions:
            spec.check_version(version)
        missing = sorted(set(ERROR_KINDS) - set(self.error_texts))
        if missing:
            raise ConfigurationError(f"profile {self.name!r}: error_texts lacks {', '.join(missing)}")
        for key in set(self.error_texts) - set(ERROR_KINDS):
            kind, _, command = key.partition(" ")
            command = command.partition(" ")[0]  # "KIND COMMAND" or "KIND COMMAND HEADER"
            if kind not in ERROR_KINDS or (command not in spec.CLIENT_COMMANDS and command not in ERROR_TEXT_VARIANTS):
                raise ConfigurationError(
                    f"profile {self.name!r}: error_texts key {key!r} is not 'KIND COMMAND', 'KIND COMMAND HEADER' "
                    f"or 'KIND VARIANT' (variants: {', '.join(sorted(ERROR_TEXT_VARIANTS))})"
                )
        if self.heartbeat_grace < 1.0:
            raise ConfigurationError("heartbeat_grace must be at least 1.0 (the negotiated interval itself)")
        if self.heartbeat_check == "grid" and self.heartbeat_grace != int(self.heartbeat_grace):
            raise ConfigurationError("heartbeat_grace must be a whole number of intervals with heartbeat_check='grid'")
        if not 0 < self.heartbeat_send_fraction <= 1.0:
            raise ConfigurationError("heartbeat_send_fraction must be in (0, 1]")
        if self.ack_id == "message-id" and not (
            self.new_message_id_per_delivery or self.id_style in ("rabbitmq", "artemis")
        ):
            raise ConfigurationError(
                "ack_id='message-id' needs a message-id unique per delivery: set new_message_id_per_delivery=True "
                "or use id_style 'rabbitmq' or 'artemis'"
            )


STRICT = Profile(name="strict", server=f"stomptest/{__version__}")  # the version: stomptest/__init__.py

ACTIVEMQ = Profile(
    name="activemq",
    server="ActiveMQ/5.17.2",
    frame_eol=True,
    # fatal ProtocolExceptions only: parse and size errors, unknown command, version, heart-beat, CONNECT
    closing_errors=ALWAYS_CLOSING | {"unknown-command", "limit"},
    error_texts=ACTIVEMQ_ERROR_TEXTS,
    # measured (issue 18): content-length:1, then "xy": this text, and the close
    decoder_texts=MappingProxyType(
        {"missing-nul": "content-length bytes were read and there was no trailing null byte"}
    ),
    version_error_header=False,
    escape_1_0="decode-input",
    undefined_escapes="keep",
    host="ignore",
    echo_connect_receipt=True,
    connect_timeout=30.0,  # measured
    # measured (issue 18): checks every T from CONNECTED, closed at the first finding more than 2T of silence
    heartbeat_grace=2.0,
    heartbeat_check="grid",
    heartbeat_send="grid",  # measured: first beat at 2T after CONNECTED, then every T
    heartbeats_in_1_0=True,  # measured: 1.0 CONNECT heart-beat:200,200 -> 200,200, beats, silent client closed
    header_order=(  # measured (issue 18, N1)
        ("CONNECTED", ("server", "heart-beat", "session", "response-id", "receipt-id", "version")),
        ("ERROR", ("content-type", "receipt-id", "message")),
    ),
    unknown_destinations="queue",  # measured: SEND to /bogus/x or bogus-x gets its RECEIPT
    destination_names="activemq",  # measured (issue 18): MESSAGE says /queue//bogus/x, /queue/bogus-x
    temporary_destinations="connection",
    composite_destinations=True,  # measured (issue 15)
    virtual_topics=True,  # measured (issue 15)
    topic_wildcards="activemq",  # measured (issue 15)
    queue_wildcards=True,  # measured (issue 15)
    reserved_send_headers="drop",
    id_style="activemq",
    ack_id="separate",
    redelivered_header="when-true",
    jms_headers="always",
    jms_headers_from_send=frozenset({"expires", "priority", "timestamp", "persistent"}),  # measured (N16)
    persistent_header="as-sent",
    content_length="as-sent",
    duplicate_subscription="add",  # measured (issue 18, N18)
    subscription_header_without_id=False,  # measured (issue 18)
    bodyless_frame_bodies="ignore",  # measured (issue 18)
    trim_1_0_values="both",  # measured (issue 18)
    header_without_colon="ignore",  # measured (issue 18)
    crlf_before_1_2="activemq",  # measured (issue 18)
    nack_in_1_0="error",  # measured (issue 18)
    unparsable_ack_closes_in=("1.0", "1.1"),  # measured (issue 18)
    prefetch_headers=("activemq.prefetchSize",),
    default_prefetch=1000,
    default_topic_prefetch=32767,
    nack="dead-letter",
    cumulative_nack=False,
    dead_letter_queue="/queue/ActiveMQ.DLQ",
    dead_letter_non_persistent=False,
    # issue 15 (docs/lifecycle.md), measured on 5.17.2: persistent expired messages to the DLQ
    expiry_queue="/queue/ActiveMQ.DLQ",
    expiry_headers="activemq",
    priority_order="persistent-first",  # measured (issue 18): a backlog comes persistent messages first
    bad_lifecycle_headers="activemq",
    restart_keeps_non_persistent=False,  # KahaDB keeps persistent messages only (documented, not measured)
    restart_keeps_deliveries=False,  # persistJMSRedelivered is off by default (documented, not measured)
    limits=Limits(max_header_bytes=10 * 1024, max_headers=1000),
    durable_subscriptions="activemq",  # measured (issue 14), as the rest of this block
    prefetch_zero="none",
    prefetch_negative="none",
    default_durable_prefetch=100,
    bad_prefetch="ignore",
    exclusive_consumers="activemq",
    message_groups="activemq",
    websocket=websocket_profiles.ACTIVEMQ,
    selectors="activemq",  # measured (issue 14): ERROR, the connection stays open
)

RABBITMQ = Profile(
    name="rabbitmq",
    server="RabbitMQ/3.10.8",
    frame_eol=True,
    # measured: even a refused CONNECT (version, vhost, login) leaves the connection open
    closing_errors=(ALWAYS_CLOSING - {"version", "vhost", "access-refused"})
    | {"duplicate-subscription", "precondition-failed", "not-found", "resource-locked", "limit"},
    error_texts=RABBITMQ_ERROR_TEXTS,
    # measured (issue 18; issue 15: resource_locked and precondition_failed on SUBSCRIBE)
    receipt_after_error=frozenset(
        {"duplicate-subscription", "not-found SUBSCRIBE", "resource-locked SUBSCRIBE", "precondition-failed SUBSCRIBE"}
    ),
    destination_names="rabbitmq",  # measured (issue 18)
    second_connect="close",  # measured (issue 18): no frame
    bodyless_frame_bodies="ignore",  # measured (issue 18)
    trim_1_0_values="leading",  # measured (issue 18)
    crlf_before_1_2="strip",  # measured (issue 18): in 1.1 (its 1.0 is read as 1.2 already, escape_1_0)
    subscribe_without_id="always",  # measured (issue 18)
    subscription_header_without_id=False,  # measured (issue 18)
    unsubscribe_by_destination="id-less-only",  # measured (issue 18)
    ack_requires_subscription_1_1=False,  # measured (issue 18)
    unknown_delivery_ack="precondition-failed",  # measured (issue 18)
    message_header_order="rabbitmq",  # measured (issue 18): SEND aa, transaction, receipt, bb -> bb, receipt, ...
    ack_id_before_transaction=True,  # measured (issue 18): `id:x` with `transaction:nope` is "Invalid header"
    nack_in_1_0="accept",  # measured (issue 18): RECEIPT, then delivered again
    duplicate_begin="ignore",  # measured (issue 18)
    content_length="non-empty",  # measured (issue 18): no content-length on an empty body
    escape_1_0="as-1.2",
    escape_1_1="as-1.2",  # measured (issue 18)
    unescape_connect=True,
    transaction_receipts="at-commit",
    message_transaction_header=True,  # measured (issue 18): MESSAGE ... receipt:ts1, transaction:tx1, content-length
    error_receipt_id=False,  # measured: bogus ACK id -> ERROR without receipt-id
    error_version_header=True,
    host="vhost",
    default_login="guest",
    connect_timeout=10.0,  # measured
    heartbeat_rounding="whole-seconds",
    heartbeat_send_fraction=0.5,  # measured: 7 EOLs in 3.5 s for 1000 ms
    # measured (issue 18): checks every Tn from CONNECTED, closed at the first finding more than 2Tn of silence
    heartbeat_grace=2.0,
    heartbeat_check="grid",
    heartbeats_in_1_0=True,  # measured: 1.0 CONNECT heart-beat:1000,1000 -> 1000,1000, beats, closed at 3 s
    header_order=(  # measured (issue 18, N1)
        ("CONNECTED", ("server", "session", "heart-beat", "version")),
        ("ERROR", ("message", "content-type", "version", "content-length")),
    ),
    unknown_destinations="error",
    destination_aliases=(("/amq/queue/", "/queue/"), ("/exchange/amq.topic/", "/topic/"), ("/reply-queue/", "/queue/")),
    temporary_destinations="reply-queue",
    exchanges=True,  # measured (issue 15)
    queue_arguments=True,  # measured (issue 15)
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
    # issue 15 (docs/lifecycle.md), measured on 3.10.8: relative `expiration`, queue arguments on SUBSCRIBE
    expiry_header="expiration",
    default_priority=0,
    bad_lifecycle_headers="rabbitmq",
    restart_keeps_non_persistent=False,  # transient messages are not kept across a restart (documented)
    # measured on 3.10.8: a 200 KiB header, 2000 headers and an 8 MiB body are all accepted
    limits=Limits(max_headers=10_000, max_header_bytes=1024 * 1024),
    websocket=websocket_profiles.RABBITMQ,
    selectors="none",  # measured (issue 14)
    durable_subscriptions="rabbitmq",  # measured (issue 14), as the rest of this block
    prefetch_zero="unlimited",
    prefetch_negative="none",
    exclusive_consumers="rabbitmq",
    unsubscribe_unacked="hold",  # measured (issue 18)
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
    # measured: decoder errors, a duplicate subscription, SUBSCRIBE without destination or before a connection
    # (after a refused STOMP) have no receipt-id
    errors_without_receipt_id=frozenset(
        {
            "malformed",
            "unknown-command",
            "duplicate-subscription",
            "missing-header SUBSCRIBE",
            "invalid-selector",
            "not-connected SUBSCRIBE",
        }
    ),
    repeated_headers="last-before-1.2",
    trim_1_0_values="leading",  # measured (issue 18): `receipt: r1` is r1
    header_without_colon="ignore",  # measured (issue 18), 1.0 and 1.2
    bodyless_frame_bodies="ignore",  # measured (issue 18): CONNECT, SUBSCRIBE, BEGIN, DISCONNECT, every version
    missing_nul="artemis",  # measured (issue 16, A20)
    host="ignore",
    echo_connect_receipt=True,  # measured: CONNECTED carries receipt-id, and no response-id
    connect_receipt_response_id=False,
    connected_headers="as-asked",  # measured
    frame_before_connect="ignore-all",  # measured: no answer, the connection stays open (>= 120 s)
    eol_before_connect="deafens",  # measured (issue 18): LF or CR LF, then CONNECT: no answer, open after 14 s
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
    message_transaction_header=True,  # measured (issue 18, 2.40.0): MESSAGE ... receipt:ts1, transaction:tx1
    send_unknown_transaction="drop",  # measured: RECEIPT, and the message is never delivered
    id_style="artemis",
    ack_id="message-id",
    unknown_delivery_ack="own-format-text",  # measured (issue 16): `C,M` (two Java longs) gets AMQ339025
    redelivered_header="always",
    jms_headers="always",
    jms_headers_from_send=frozenset({"expires", "priority", "persistent"}),  # measured (issue 16, N16)
    persistent_header="always",
    content_length="non-empty",  # measured (issue 18): none on an empty 1.2 MESSAGE
    content_length_1_0="as-sent",  # measured: in 1.0 only when the SEND had one, and never on ERROR
    destination_type_header=True,  # measured; none on /temp-queue/, /temp-topic/ and bare names (issue 18)
    temporary_destinations="unprefixed",  # measured (issue 18): a SEND to /temp-queue/X before SUBSCRIBE is dropped
    topic_wildcards="artemis",  # measured (issue 15)
    anonymous_subscription_id="subscription/{address}",  # measured, in every version
    unsubscribe_by_destination="id-less-only",  # measured (issue 18): by the id the destination gives
    prefetch_headers=("consumer-window-size", "activemq.prefetchSize"),
    prefetch_unit="bytes",
    default_prefetch=10240,
    nack="discard",  # onNack just acknowledges
    dead_letter_queue="/queue/DLQ",
    dead_letter_headers="artemis",  # measured
    max_deliveries=10,
    # issue 15 (docs/lifecycle.md), measured on 2.40.0: ExpiryQueue for every expired message, priority order
    expiry_queue="/queue/ExpiryQueue",
    expiry_headers="artemis",
    priority_order="priority",
    bad_lifecycle_headers="artemis",
    restart_keeps_non_persistent=False,  # non-durable messages are not journaled (documented, not measured)
    transactional_ack=False,
    # measured: a 4 MiB header and 50,000 headers are accepted (the largest tried)
    limits=Limits(max_headers=50_000, max_header_bytes=4 * 1024 * 1024),
    websocket=websocket_profiles.ARTEMIS,
    selectors="artemis",  # measured (issue 14): ERROR without receipt-id (closes in 1.2, as every ERROR)
    durable_subscriptions="artemis",  # measured (issue 14), as the rest of this block
    message_groups="artemis",
    window_message_overhead=221,
    one_value_per_header_1_0=True,  # measured (issue 18, differential D2)
    unsubscribe_unacked="requeue-uncounted",  # measured (issue 18, differential)
    stomp_in_1_0="refused",  # measured (issue 18, differential D3)
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
