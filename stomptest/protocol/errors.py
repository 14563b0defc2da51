"""One hierarchy for every error stomptest raises.

Like h11, the names say whose fault it was: `FrameError` means bytes or a frame
that cannot be on the wire, `ProtocolError` means a call that breaks the STOMP
rules in the current state (our side), `RemoteProtocolError` means the peer broke
them, `BrokerError` carries an ERROR frame the broker sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from stomptest.protocol.frame import Frame, Heartbeat


class StompError(Exception):
    """Base of everything stomptest raises on purpose."""


class ConfigurationError(StompError, ValueError):
    """An argument, option or URL is not valid; the message names the part."""


FrameErrorKind = Literal[
    "broken-stream",
    "bad-eol",
    "bad-utf8",
    "unknown-command",
    "too-many-headers",
    "header-too-large",
    "bad-header-line",
    "bad-escape",
    "bad-content-length",
    "body-not-allowed",
    "frame-too-large",
    "missing-nul",
    "nul-in-headers",
    "unencodable-header",
    "other",
]
"""What was wrong, for code that reacts to it: message texts are for people and may be reworded."""

FRAME_ERROR_KINDS: tuple[FrameErrorKind, ...] = get_args(FrameErrorKind)


class FrameError(StompError):
    """Bytes that are not a STOMP frame of the version in use, or a frame that cannot be encoded.

    `kind` says what was wrong (docs/codec.md lists them; the codec never raises "other", the
    default left for code outside it), `offset` is the position in the byte stream where the
    problem was found (None when encoding), `frame_offset` where the refused frame starts (None
    when not known), `frames` holds what was parsed completely before the bad bytes.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: FrameErrorKind = "other",
        offset: int | None = None,
        frames: Sequence[Frame | Heartbeat] = (),
        frame_offset: int | None = None,
    ) -> None:
        if kind not in FRAME_ERROR_KINDS:
            raise ConfigurationError(f"FrameError kind must be one of {', '.join(FRAME_ERROR_KINDS)}, not {kind!r}")
        self.kind: FrameErrorKind = kind
        self.offset = offset
        self.frame_offset = frame_offset
        self.frames: list[Frame | Heartbeat] = list(frames)
        super().__init__(message if offset is None else f"{message} (at byte {offset})")


class ProtocolError(StompError):
    """Our side asked for something STOMP does not allow here; the message says what to do instead."""


class RemoteProtocolError(ProtocolError):
    """The peer sent a frame that breaks the protocol (an unexpected RECEIPT, say)."""


class BrokerError(StompError):
    """The broker answered with an ERROR frame, kept as `frame`."""

    def __init__(self, frame: Frame, context: str = "") -> None:
        self.frame = frame
        message = frame.headers.get("message", "")
        body = frame.body.decode("utf-8", "replace").strip()
        text = f"broker sent ERROR: {message or '(no message header)'}"
        first = body.splitlines()[0] if body else ""
        if first and first != message:  # Artemis repeats its message header as the body
            text += f" ({first[:200]})"
        if context:
            text = f"{context}: {text}"
        super().__init__(text)


class ConnectionLost(StompError):
    """The transport closed or the broker stopped heart-beating."""


class ConnectTimeout(StompError):
    """No broker could be reached within the attempts or time allowed."""
