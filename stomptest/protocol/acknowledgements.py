"""`Ledger`: which delivered messages still await ACK or NACK on one connection, and what transactions claim.

The session's bookkeeping of acknowledgement, apart from its state machine because it
has rules of its own: in ack:client mode an ACK or NACK covers every earlier message of
the subscription (cumulative), in ack:client-individual only the one; inside a
transaction it takes effect at COMMIT and not at all after ABORT (the spec), so a
transaction only *claims* messages until then. A message is told apart from others on
its subscription by its 1.2 `ack` id when it has one, else by its message-id, so a
redelivery replaces the earlier copy and goes to the back.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

from stomptest.protocol.commands import MessageInfo
from stomptest.protocol.errors import ProtocolError
from stomptest.protocol.events import Message, Subscription


class Ledger:
    """Unacknowledged messages per subscription key, in delivery order, and the claims of open transactions."""

    __slots__ = ("_claims", "_deliveries", "_pending")

    def __init__(self) -> None:
        # subscription key -> message identity -> (delivery number, message), in delivery order
        self._pending: OrderedDict[str, OrderedDict[str, tuple[int, Message]]] = OrderedDict()
        # open transaction -> its ACKs/NACKs, as (subscription key, message identity), applied at COMMIT
        self._claims: OrderedDict[str, set[tuple[str, str]]] = OrderedDict()
        self._deliveries = 0

    @property
    def transactions(self) -> Mapping[str, object]:
        """The open transactions, in the order begun (a read-only view)."""
        return self._claims

    def pending(self, subscription: str | None = None) -> tuple[Message, ...]:
        """Messages awaiting acknowledgement, oldest first (optionally of one subscription key)."""
        if subscription is not None:
            return tuple(m for _, m in self._pending.get(subscription, {}).values())
        merged = sorted((entry for pending in self._pending.values() for entry in pending.values()), key=_first)
        return tuple(m for _, m in merged)

    def delivered(self, subscription: Subscription, info: MessageInfo, message: Message) -> None:
        pending = self._pending.setdefault(subscription.key, OrderedDict())
        identity = identity_of(info)
        pending.pop(identity, None)  # a redelivery goes to the back
        self._deliveries += 1
        pending[identity] = (self._deliveries, message)

    def check(self, action: str, subscription: Subscription, info: MessageInfo) -> None:
        """Raise `ProtocolError` unless `info`'s message can be acknowledged now."""
        if subscription.ack == "auto":
            raise ProtocolError(
                f"cannot {action}() message {info.message_id!r}: subscription {subscription.key!r} is ack:auto, "
                "so the broker considers it acknowledged on delivery (and in 1.2 sends no 'ack' header to quote); "
                "subscribe with ack='client' or 'client-individual' to acknowledge messages"
            )
        identity = identity_of(info)
        if identity not in self._pending.get(subscription.key, {}):
            raise ProtocolError(
                f"message {info.message_id!r} on subscription {subscription.key!r} is not awaiting "
                f"acknowledgement: it was acknowledged already, or delivered on an earlier connection "
                f"(the broker redelivers those)"
            )
        claim = (subscription.key, identity)
        holder = next((tx for tx, claims in self._claims.items() if claim in claims), None)
        if holder is not None:
            raise ProtocolError(
                f"message {info.message_id!r} on subscription {subscription.key!r} is acknowledged already in "
                f"open transaction {holder!r}, which settles it at commit(); abort() that transaction first "
                "to acknowledge the message another way"
            )

    def acknowledge(self, subscription: Subscription, info: MessageInfo, transaction: str | None) -> None:
        """Record an ACK or NACK that `check` allowed: settled now, or claimed by `transaction` until COMMIT."""
        pending = self._pending[subscription.key]
        identity = identity_of(info)
        if subscription.ack == "client":
            # Cumulative: this message and everything delivered before it on the subscription.
            covered: list[str] = []
            for earlier in pending:
                covered.append(earlier)
                if earlier == identity:
                    break
        else:
            covered = [identity]
        if transaction is None:
            for each in covered:
                del pending[each]
        else:
            self._claims[transaction].update((subscription.key, each) for each in covered)

    def begin(self, transaction: str) -> None:
        self._claims[transaction] = set()

    def end(self, transaction: str, *, commit: bool) -> None:
        """COMMIT applies the transaction's claims; ABORT drops them, leaving the messages unacknowledged."""
        claims = self._claims.pop(transaction)
        if commit:
            for key, identity in claims:
                pending = self._pending.get(key)
                if pending is not None:
                    pending.pop(identity, None)  # gone already when acknowledged twice by cumulative ACKs

    def abort_all(self) -> None:
        """Every open transaction ends without effect (a DISCONNECT, or the connection died)."""
        self._claims.clear()

    def unsubscribed(self, key: str) -> None:
        """The subscription's messages need no acknowledgement any more, in or out of transactions."""
        self._pending.pop(key, None)
        for claims in self._claims.values():
            claims.difference_update([claim for claim in claims if claim[0] == key])

    def clear(self) -> None:
        self._pending.clear()
        self._claims.clear()


def identity_of(info: MessageInfo) -> str:
    """What tells messages apart on a subscription: the 1.2 ack id when there is one, else the message-id."""
    return f"ack:{info.ack}" if info.ack is not None else f"id:{info.message_id}"


def _first(entry: tuple[int, Message]) -> int:
    return entry[0]
