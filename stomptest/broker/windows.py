"""What one message counts for against a byte window (`Profile.prefetch_unit == "bytes"`, Artemis).

Artemis counts a message's encoded size against `consumer-window-size`, not its body:
measured on 2.40.0 (issue 14, docs/subscriptions.md) by finding the smallest window that lets
a second message through, a 10-byte body counts 231 bytes, a 1000-byte body 1223, and a
header adds its name and value plus 2. `Profile.window_message_overhead` is that constant
part (221 for Artemis); 0 counts the body alone.
"""

from __future__ import annotations

from stomptest.broker.destinations import Message


def window_bytes(message: Message, overhead: int) -> int:
    """The bytes `message` takes of a byte window."""
    if not overhead:
        return len(message.body)
    return overhead + len(message.body) + sum(len(name) + len(value) + 2 for name, value in message.headers)
