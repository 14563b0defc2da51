"""What a SEND's headers make of a message's properties, as the profile's broker reads them (engine.new_message).

Expiry by the profile's header, priority, persistence and (where the broker takes it) the SEND's own
timestamp; ActiveMQ clamps priority to 0-9 and never expires a message whose `expires` is below 0
(measured, issue 15). Whether the MESSAGE repeats every SEND header, or the broker took some for its
own JMS headers (`jms_headers_from_send`, N16), is decided in the same pass over the headers.
"""

from __future__ import annotations

from stomptest.broker import expiry
from stomptest.broker.profiles import Profile


def sent_properties(
    profile: Profile, headers: tuple[tuple[str, str], ...], arrival: int
) -> tuple[int, int, str | None, int, bool]:
    """(expires, priority, persistent, timestamp, repeated) of a message that arrives at `arrival` ms."""
    expires = 0
    priority = profile.default_priority
    persistent = None
    timestamp = arrival
    expiry_header = profile.expiry_header
    taken = profile.jms_headers_from_send
    repeated = True  # the MESSAGE repeats every SEND header
    for name, value in headers:
        if name == expiry_header:
            expires = expiry.deadline(name, value, arrival)
        elif name == "priority":
            priority = _int(value, priority)
        elif name == "persistent":
            persistent = value
        elif name == "timestamp" and name in taken:
            timestamp = _int(value, timestamp)
        else:
            continue
        if name in taken:
            repeated = False
    if profile.bad_lifecycle_headers == "activemq":  # measured: 0-9, an expiry below 0 never comes
        if not 0 <= priority <= 9:
            priority = 0 if priority < 0 else 9
        if expires < 0:
            expires = 0
    return expires, priority, persistent, timestamp, repeated


def _int(text: str, default: int) -> int:
    try:
        return int(text)
    except ValueError:
        return default
