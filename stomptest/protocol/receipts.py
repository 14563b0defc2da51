"""`Receipts`: the receipt ids a session asked for, which are still outstanding, and which were answered.

Why a class of its own: every frame that asks for a receipt goes through the same three
steps (choose an id, remember the frame until the answer, tell a repeated answer from an
unexpected one), and a round trip's cost is mostly these steps, so they are kept short
and in one place. Ids made here share one counter with the session's other generated
ids (`sub-N`, `tx-N`), so no two generated ids of a session look alike.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import Final

from stomptest.protocol.errors import ProtocolError, RemoteProtocolError
from stomptest.protocol.frame import Frame

RECENT: Final = 1024  # answered receipt ids remembered to tell "repeated" from "unexpected"


class Receipts:
    """Receipt ids asked for on the current connection (`outstanding`, in order) and the recently answered."""

    __slots__ = ("_completed", "_counter", "disconnect", "outstanding")

    def __init__(self) -> None:
        self._counter = 0
        self.outstanding: OrderedDict[str, Frame] = OrderedDict()
        self._completed: deque[str] = deque(maxlen=RECENT)
        self.disconnect: str | None = None
        """The receipt id of the DISCONNECT sent, whose answer ends the session."""

    def generate(self, prefix: str, taken: Mapping[str, object]) -> str:
        """A new `prefix-N` id not in `taken` (the session's subscriptions, transactions, or these receipts)."""
        while True:
            self._counter += 1
            candidate = f"{prefix}-{self._counter}"
            if candidate not in taken:
                return candidate

    def new_id(self, receipt: bool | str | None) -> str | None:
        """The id for a frame's `receipt=` argument: None for none, a fresh one for True, or the caller's own."""
        if receipt is True:  # the usual case, once per round trip: `generate` without its call
            self._counter += 1
            receipt_id = f"receipt-{self._counter}"
            return receipt_id if receipt_id not in self.outstanding else self.generate("receipt", self.outstanding)
        if receipt is None or receipt is False:
            return None
        if not isinstance(receipt, str) or not receipt:
            raise ProtocolError(f"receipt= is True (generate an id), a non-empty str, or None; not {receipt!r}")
        if receipt in self.outstanding:
            raise ProtocolError(f"receipt {receipt!r} is outstanding already: use another id, or receipt=True")
        return receipt

    def remember(self, receipt_id: str | None, frame: Frame) -> None:
        """`frame` asked for `receipt_id` (nothing to remember when None)."""
        if receipt_id is not None:
            self.outstanding[receipt_id] = frame

    def answered(self, receipt_id: str) -> Frame:
        """The RECEIPT for `receipt_id` came: the frame that asked for it, no longer outstanding.

        Raises `RemoteProtocolError` for a receipt that came twice or was never asked for.
        """
        request = self.outstanding.pop(receipt_id, None)
        if request is None:
            if receipt_id in self._completed:
                raise RemoteProtocolError(f"the broker sent receipt {receipt_id!r} a second time")
            waiting = ", ".join(repr(r) for r in self.outstanding) or "none"
            raise RemoteProtocolError(
                f"the broker sent receipt {receipt_id!r}, which was not asked for (waiting for {waiting})"
            )
        self._completed.append(receipt_id)
        return request

    def answered_by_error(self, receipt_id: str | None) -> Frame | None:
        """An ERROR named `receipt_id`: the frame that asked for it, if it was outstanding (no longer)."""
        request = self.outstanding.pop(receipt_id, None) if receipt_id is not None else None
        if request is not None and receipt_id is not None:
            self._completed.append(receipt_id)
        return request

    def clear(self) -> None:
        """The connection ended: no receipt can come any more."""
        self.outstanding.clear()
        self._completed.clear()
        self.disconnect = None
