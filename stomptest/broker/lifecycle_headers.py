"""A SEND's `priority`, `expires` and `expiration` that its broker cannot read, answered as that broker does.

Measured (issue 15, raw frames, STOMP 1.2):

- ActiveMQ 5.17.2: `priority` below 0 or above 9 is taken as 0 or 9 (engine.py); one that is
  not a 32-bit integer, and `expires` that is not a 64-bit integer, close the connection
  without a frame; `expires` below 0 never comes; `expiration` is an ordinary header.
- RabbitMQ 3.10.8: `priority` that is not an integer (or empty) gets `ERROR message:Processing
  error`, the message is dropped, the connection stays; any integer is kept as sent;
  `expiration` below 0, not an integer, or too large gets the closing
  `PRECONDITION_FAILED - invalid expiration 'V': {value_negative,V}` (`no_integer`,
  `{value_too_large,V}`); `expires` is an ordinary header.
- Artemis 2.40.0: `priority` outside -128..127 or not an integer, and `expires` that is not a
  64-bit integer, get `ERROR message:AMQ339031 Error handling send` (closing in 1.2); a
  priority from -128 to 127 outside 0..9 gets its RECEIPT and the message is never delivered;
  `expires` below 0 has passed already; `expiration` is an ordinary header.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from stomptest.broker.connection import Connection
    from stomptest.protocol.frame import Frame

_INT32 = 2**31
_INT64 = 2**63
_RABBITMQ_MAX_EXPIRATION = 2**32 - 1  # from its sources (?MAX_EXPIRY_TIMER); 99999999999999999999 was measured

Verdict = Literal["ok", "refused", "lost"]


def check_send(connection: Connection, frame: Frame) -> Verdict:
    """ "ok"; "refused" when answered (ERROR or close); "lost" when taken with a RECEIPT and never delivered."""
    headers = frame.headers
    style = connection.profile.bad_lifecycle_headers
    priority = headers.get("priority")
    if style == "activemq":
        expires = headers.get("expires")
        if (priority is not None and _integer(priority, _INT32) is None) or (
            expires is not None and _integer(expires, _INT64) is None
        ):
            connection.close(f"SEND with priority {priority!r} / expires {expires!r}: closed without a frame")
            return "refused"
        return "ok"
    if style == "rabbitmq":
        if priority is not None and _integer(priority, None) is None:
            connection.fail("invalid-header", frame, reason=f"priority:{priority}", header="processing-error")
            return "refused"
        expiration = headers.get("expiration")
        if expiration is not None:
            number = _integer(expiration, None)
            if number is None:
                problem = "no_integer"
            elif number < 0:
                problem = f"{{value_negative,{number}}}"
            elif number > _RABBITMQ_MAX_EXPIRATION:
                problem = f"{{value_too_large,{number}}}"
            else:
                return "ok"
            connection.fail("precondition-failed", frame, reason=f"invalid expiration '{expiration}': {problem}")
            return "refused"
        return "ok"
    if style == "artemis":
        expires = headers.get("expires")
        level = _integer(priority, 128) if priority is not None else 4
        if level is None or (expires is not None and _integer(expires, _INT64) is None):
            connection.fail("invalid-header", frame, reason="AMQ339031 Error handling send")
            return "refused"
        return "ok" if 0 <= level <= 9 else "lost"
    return "ok"


def _integer(text: str, bound: int | None) -> int | None:
    """`text` as an integer in [-bound, bound) (Java's int, long or byte), or None."""
    try:
        number = int(text)
    except ValueError:
        return None
    if bound is not None and not -bound <= number < bound:
        return None
    return number
