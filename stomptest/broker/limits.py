"""The fake broker's limits: how much of anything one client may make it hold (Profile.limits)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from stomptest.protocol import spec
from stomptest.protocol.errors import ConfigurationError


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
