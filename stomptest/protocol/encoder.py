"""`Encoder`: frames to wire bytes, remembering the header blocks of SEND frames that repeat."""

from __future__ import annotations

from typing import Final

from stomptest.protocol.frame import Frame

_UNIQUE: Final = frozenset({"content-length", "receipt"})
"""Headers that make a header block worth no caching: a written length, a receipt id that never repeats."""


class Encoder:
    """`Frame.encode`, remembering the header block of SEND frames that repeat (the same destination and headers).

    A SEND's wire bytes are its header block, then the body, then a NUL, as long as no
    content-length has to be written (the body holds no NUL and the headers name none):
    the header block depends on the headers and the version alone, so it is encoded,
    and checked, once. Everything else goes through `Frame.encode` every time.
    """

    __slots__ = ("_heads",)

    _LIMIT: Final = 256  # header blocks kept; frames with unique headers (receipt ids) only churn a small dict

    def __init__(self) -> None:
        self._heads: dict[tuple[str, tuple[tuple[str, str], ...]], bytes] = {}

    def encode(self, frame: Frame, version: str) -> bytes:
        if frame.command != "SEND":
            return frame.encode(version)
        body = frame.body
        key = (version, frame.raw_headers)
        head = self._heads.get(key)
        if head is not None and b"\x00" not in body:
            return b"".join((head, body, b"\x00"))
        data = frame.encode(version)
        if b"\x00" not in body and all(name not in _UNIQUE for name, _ in frame.raw_headers):
            if len(self._heads) >= self._LIMIT:
                self._heads.clear()
            self._heads[key] = data[: len(data) - len(body) - 1]
        return data
