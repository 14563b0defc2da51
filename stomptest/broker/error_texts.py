"""What each broker writes in its ERROR frames: the `message` header and the body, per kind of error.

Kept apart from the profiles' other settings because they are data, and long: the texts are
the real brokers' own words as measured on the wire (RabbitMQ 3.10.8, ActiveMQ 5.17.2,
Artemis 2.40.0), templates that `output.py` fills in. A `Profile` names one of these tables
in its `error_texts`; a user's own profile may give any mapping of the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType


def _texts(**texts: tuple[str, str]) -> Mapping[str, tuple[str, str]]:
    return MappingProxyType({name.replace("_", "-"): text for name, text in texts.items()})


# (message header, body) templates, formatted with str.format_map; unknown fields stay empty.
# Fields: command, destination, id, ack, transaction, version, versions, host, login, reason, limit, value,
# header (the header that named the thing: UNSUBSCRIBE's `id` or `destination`, ACK's `id` or `message-id`),
# message_id (ACK/NACK: the message-id header, "null" in 1.2, as ActiveMQ writes it).
# A key "KIND COMMAND" (as "missing-header SUBSCRIBE") overrides the kind's text for that command's frames, and
# "KIND COMMAND HEADER" (as "missing-header ACK id") that for the header the error is about (the field `header`);
# "KIND VARIANT" (as "unknown-ack own-format") a text the caller asks for by the field `variant`.
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
    invalid_destination=("invalid destination", "{reason}\n"),
    not_found=("not found", "{reason}\n"),
    resource_locked=("resource locked", "{reason}\n"),
    unknown_ack=("unknown ack", "{command} names {ack!r}, which is no unacknowledged message of this connection\n"),
    precondition_failed=("precondition failed", "{reason}\n"),
    bad_transaction=("bad transaction", "{reason}\n"),
    limit=("limit exceeded", "{reason}\n"),
    internal=("internal error", "{reason}\n"),
    invalid_selector=("invalid selector", "selector {selector!r}: {reason} at line {line}, column {column}\n"),
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
    invalid_destination=("{reason}", "{reason}"),
    not_found=("{reason}", "{reason}"),
    resource_locked=("{reason}", "{reason}"),
    duplicate_subscription=(
        "Duplicate subscription id: {id}",
        "org.apache.activemq.transport.stomp.ProtocolException: Duplicate subscription id: {id}" + _AMQ_TRACE,
    ),
    unknown_subscription=(
        "No subscription matched.",
        "org.apache.activemq.transport.stomp.ProtocolException: No subscription matched." + _AMQ_TRACE,
    ),
    unknown_ack=(  # measured (issue 18): NACK says NACK, and a 1.2 id is written as [null]
        "Unexpected {command} received for message-id [{message_id}]",
        "org.apache.activemq.transport.stomp.ProtocolException: Unexpected {command} received for message-id "
        "[{message_id}]" + _AMQ_TRACE,
    ),
    precondition_failed=("{reason}", "{reason}"),
    bad_transaction=(  # measured (issue 18): SEND, ACK, COMMIT, ABORT naming a transaction never begun
        "Invalid transaction id: {transaction}",
        "org.apache.activemq.transport.stomp.ProtocolException: Invalid transaction id: {transaction}" + _AMQ_TRACE,
    ),
    limit=("{reason}", "org.apache.activemq.transport.stomp.ProtocolException: {reason}" + _AMQ_TRACE),
    internal=("{reason}", "{reason}"),
    # measured (issue 14): the selector as the message, a stack trace whose cause gives the parser's reason
    # (its own line and column for a syntax error; the fake adds them to every other reason)
    invalid_selector=(
        "{selector}",
        "javax.jms.InvalidSelectorException: {selector}\n"
        "\tat org.apache.activemq.selector.SelectorParser.parse(SelectorParser.java:89)\n"
        "Caused by: {cause}: {reason} (at line {line}, column {column})\n",
    ),
)

# measured (issue 18): ActiveMQ's texts where one kind's text differs by command (and header)
ACTIVEMQ_ERROR_TEXTS = MappingProxyType(
    {
        **ACTIVEMQ_ERROR_TEXTS,
        "bad-transaction BEGIN": (
            "The transaction was already started: {transaction}",
            "org.apache.activemq.transport.stomp.ProtocolException: The transaction was already started: "
            "{transaction}" + _AMQ_TRACE,
        ),
        # measured (issue 18): a missing header's text depends on the command and the header
        **{
            f"missing-header {command} {header}": (
                text,
                f"org.apache.activemq.transport.stomp.ProtocolException: {text}" + _AMQ_TRACE,
            )
            for command, header, text in (
                ("SUBSCRIBE", "destination", "Invalid empty or 'null' Destination header"),
                ("SUBSCRIBE", "id", "SUBSCRIBE received without a subscription id!"),
                ("UNSUBSCRIBE", "id", "UNSUBSCRIBE received without a subscription id!"),
                ("SEND", "destination", "SEND received without a Destination specified!"),
                ("ACK", "id", "ACK received without a ack id for acknowledge!"),
                ("NACK", "id", "NACK received without a ack id for acknowledge!"),
                ("ACK", "message-id", "ACK received without a message-id to acknowledge!"),
                ("NACK", "message-id", "NACK received without a message-id to acknowledge!"),
                ("ACK", "subscription", "ACK received without a subscription id for acknowledge!"),
                ("NACK", "subscription", "NACK received without a subscription id for acknowledge!"),
                ("BEGIN", "transaction", "Must specify the transaction you are beginning"),
            )
        },
        # measured (issue 14): on a topic the ERROR says the subscription could not be made
        "invalid-selector SUBSCRIBE topic": (
            "Couldn't create TopicSubscription",
            "javax.jms.JMSException: Couldn't create TopicSubscription\n"
            "\tat org.apache.activemq.broker.region.TopicRegion.createSubscription(TopicRegion.java)\n"
            "Caused by: javax.jms.InvalidSelectorException: {selector}\n"
            "Caused by: {cause}: {reason} (at line {line}, column {column})\n",
        ),
        "not-found SEND": (  # measured (issue 15): a SEND to a temporary queue whose connection has closed
            "{destination}",
            "org.apache.activemq.DestinationDoesNotExistException: The destination {destination} does not exist.\n"
            "\tat org.apache.activemq.broker.region.AbstractRegion.addDestination(AbstractRegion.java:168)\n",
        ),
        # measured (issue 18): a durable subscription in use, on SUBSCRIBE and on its removal
        "precondition-failed SUBSCRIBE": (
            "{reason}",
            "javax.jms.JMSException: {reason}\n"
            "\tat org.apache.activemq.broker.region.TopicRegion.addConsumer(TopicRegion.java:132)\n",
        ),
        "precondition-failed UNSUBSCRIBE": (
            "{reason}",
            "javax.jms.JMSException: {reason}\n"
            "\tat org.apache.activemq.broker.region.TopicRegion.removeSubscription(TopicRegion.java:220)\n",
        ),
        "invalid-header NACK": (  # a NACK on a 1.0 connection (nack_in_1_0="error")
            "NACK received but connection is in v1.0 mode.",
            "org.apache.activemq.transport.stomp.ProtocolException: NACK received but connection is in v1.0 mode."
            + _AMQ_TRACE,
        ),
    }
)

# RabbitMQ: short message headers, explanatory bodies (measured texts where we have them).
RABBITMQ_ERROR_TEXTS = _texts(
    not_connected=("Illegal command", "You must log in using CONNECT first"),  # measured (issue 18): no LF
    already_connected=("Duplicated CONNECT", "A CONNECT frame was already received on this connection\n"),
    version=("Version mismatch", "Supported versions are {versions}\n"),
    bad_connect=("Bad CONNECT", "{reason}\n"),
    vhost=("Bad CONNECT", "Virtual host '{host}' access denied"),
    access_refused=("Bad CONNECT", "Access refused for user '{login}'\n"),  # measured (issue 18): with LF
    malformed=("Invalid frame", "Could not parse frame: {reason}\n"),
    unknown_command=("Bad command", 'Could not interpret command "{command}"\n'),
    missing_header=("Missing {reason}", "\"{command}\" must include a '{reason}' header\n"),  # measured (issue 18)
    invalid_header=("Invalid header", "{reason}\n"),
    bad_destination=(  # measured (issue 18)
        "Unknown destination",
        "'{destination}' is not a valid destination.\nValid destination types are: /temp-queue, /exchange, /topic, "
        "/queue, /amq/queue, /reply-queue/.\n",
    ),
    invalid_destination=("Invalid destination", "{reason}\n"),  # measured (issue 18): reason names the rule
    not_found=("not_found", "NOT_FOUND - {reason}"),  # measured (issue 18), no LF
    resource_locked=("resource_locked", "RESOURCE_LOCKED - {reason}"),  # measured (issue 15), no LF
    duplicate_subscription=(  # measured (issue 18), without LF
        "Duplicated subscription identifier",
        "A subscription identified by 'T_{id}' already exists.",
    ),
    unknown_subscription=(  # measured (issue 18)
        "No subscription found",
        "UNSUBSCRIBE must refer to an existing subscription.\nSubscription to \"{header}='{id}'\" not found.\n",
    ),
    unknown_ack=("Invalid header", '"{command}" must include a valid "{header}" header\n'),  # measured (issue 18)
    precondition_failed=("precondition_failed", "PRECONDITION_FAILED - {reason}"),  # measured (issue 18), no LF
    bad_transaction=("Bad transaction", 'Invalid transaction identifier: "{transaction}"\n'),  # measured (issue 18)
    limit=("Resource limit", "{reason}\n"),
    internal=("Internal error", "{reason}\n"),
    invalid_selector=("Invalid selector", "{reason}\n"),  # never sent: RabbitMQ ignores selectors (measured)
)

# measured (issue 18): RabbitMQ's texts where one kind's text differs by command
RABBITMQ_ERROR_TEXTS = MappingProxyType(
    {
        **RABBITMQ_ERROR_TEXTS,
        "missing-header ACK": ("Missing header", '"{command}" must include the "{reason}" header\n'),
        "missing-header NACK": ("Missing header", '"{command}" must include the "{reason}" header\n'),
        "missing-header UNSUBSCRIBE": (
            "Missing destination or id",
            "UNSUBSCRIBE must include a 'destination' or 'id' header",
        ),
        # measured (issue 18, differential): ACK/NACK of an id whose subscription is gone; no RECEIPT, stays open
        "unknown-ack no-subscription": ("Subscription not found", 'Message with id "{ack}" has no subscription'),
        # measured (issue 15): a priority or queue argument that is not a number (lifecycle_headers.py)
        "invalid-header SEND processing-error": ("Processing error", "Processing error"),
        "invalid-header SUBSCRIBE processing-error": ("Processing error", "Processing error"),
        # measured (issue 14): a queue another connection holds with exclusive:true
        "not-found SUBSCRIBE exclusive": ("resource_locked", "RESOURCE_LOCKED - {reason}"),
        "not-found SEND exclusive": ("resource_locked", "RESOURCE_LOCKED - {reason}"),
        "invalid-header SUBSCRIBE prefetch-count": ("Processing error", "Processing error"),  # measured (issue 14)
        # measured (issue 15): reply-to:/temp-topic/X, x-max-length:abc; the connection stays open
        "invalid-header SEND reply-to": ("Processing error", "Processing error"),
        "invalid-header SUBSCRIBE x-max-length": ("Processing error", "Processing error"),
        "invalid-header SUBSCRIBE x-max-length-bytes": ("Processing error", "Processing error"),
        "invalid-header SEND x-max-length": ("Processing error", "Processing error"),
        "invalid-header SEND x-max-length-bytes": ("Processing error", "Processing error"),
    }
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
    invalid_destination=("AMQ339021: illegal destination {destination}", ""),
    not_found=("{reason}", ""),
    resource_locked=("{reason}", ""),
    duplicate_subscription=(
        "There already is a subscription for: {id}. Either use unique subscription IDs or do not create multiple "
        "subscriptions for the same destination",
        "",
    ),
    unknown_subscription=("Cannot unsubscribe as no subscription exists for id: {id}", ""),
    unknown_ack=("AMQ339018 Error acknowledging message {ack}", ""),
    precondition_failed=("{reason}", ""),
    bad_transaction=("AMQ339018: {reason}", ""),
    limit=("{reason}", ""),
    internal=("{reason}", ""),
    # measured (issue 14): the message names the selector, the body is the selector without its options; the
    # fake adds the reason and where it is
    invalid_selector=('Invalid selector "{selector}"', "{actual}\n{reason} (at line {line}, column {column})\n"),
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
        "invalid-selector SUBSCRIBE empty": ("Selector cannot be empty", ""),  # measured (issue 14)
        "missing-header BEGIN": ("AMQ339032 Need a transaction id to begin", ""),
        # measured (issue 18, D3): STOMP asking for 1.0, and any frame but CONNECT after it; no body, stays open
        "not-connected stomp-1.0": ("AMQ339029 Unsupported command STOMP", ""),
        "not-connected SEND stomp-1.0": ("AMQ339010 Connection is not valid.", ""),
        "not-connected SUBSCRIBE stomp-1.0": (
            "AMQ229031 Unable to validate user from {peer_flat}. Username null; SSL certificate subject DN unavailable",
            "AMQ229031: Unable to validate user from {peer}. Username: null; SSL certificate subject DN: unavailable",
        ),
        "not-connected UNSUBSCRIBE stomp-1.0": ("AMQ339017 Error unsubscribing {id}", ""),
        "not-connected UNSUBSCRIBE stomp-1.0-destination": ("AMQ339031 Error handling send", ""),
        "not-connected UNSUBSCRIBE stomp-1.0-none": (
            "AMQ339035 Must specify the subscription's id or the destination you are unsubscribing from",
            "",
        ),
        "not-connected BEGIN stomp-1.0-none": ("AMQ339032 Need a transaction id to begin", ""),
        "not-connected ACK stomp-1.0": ("AMQ339018 Error acknowledging message {message_id}", ""),
        "not-connected BEGIN stomp-1.0": ("AMQ339012 Error beginning a transaction {transaction}", ""),
        "not-connected COMMIT stomp-1.0": ("AMQ339013 Error committing {transaction}", ""),
        "not-connected ABORT stomp-1.0": ("AMQ339014 Error aborting {transaction}", ""),
        # measured (issue 18, D4): an undefined escape in 1.1/1.2, header name or value: no body, then the close
        "malformed bad-escape": ("AMQ339040 Undefined escape sequence {escape}", ""),
        # measured (issue 18, test_missing_header_texts)
        "missing-header ACK id": ("AMQ339039 No id header in ACK/NACK frame.", ""),
        # measured (issue 16): an id of the form CONSUMER,MESSAGE (two Java longs) that names no pending
        # delivery, a message delivered in ack mode auto too; ACK and NACK alike, in every version
        "unknown-ack own-format": ("AMQ339025 failed to ack because no message with id {ack}", ""),
        "missing-header ACK message-id": ("AMQ339018 Error acknowledging message null", ""),
        "missing-header UNSUBSCRIBE id": ("AMQ339037 Must specify the subscription's id", ""),
        # measured (issue 18, found by the differential tests): a 1.1 ACK or NACK without subscription
        "missing-header ACK subscription": ("AMQ339037 Must specify the subscription's id", ""),
        "missing-header NACK subscription": ("AMQ339037 Must specify the subscription's id", ""),
        "bad-transaction BEGIN": ("Transaction already started: {transaction}", ""),
        "bad-transaction COMMIT": ("AMQ339013 Error committing {transaction}", ""),
        "bad-transaction ABORT": ("No transaction started: {transaction}", ""),
        # measured (issue 14): consumer-window-size:abc (Java's NumberFormatException)
        "invalid-header SUBSCRIBE consumer-window-size": ('For input string "{value}"', 'For input string: "{value}"'),
        "invalid-header SUBSCRIBE activemq.prefetchSize": ('For input string "{value}"', 'For input string: "{value}"'),
    }
)
