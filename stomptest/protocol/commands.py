"""Stateless STOMP commands: build each client frame for a version, interpret each server frame.

Every builder takes the `version` the frame is for and enforces that version's rules
with a `ProtocolError` that says what to do instead; every interpreter checks what the
peer sent and raises `RemoteProtocolError` when the peer broke the rules. Nothing here
remembers anything between calls: `stomptest.protocol.session.Session` does that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal

from stomptest.protocol import heartbeat as _heartbeat
from stomptest.protocol import spec
from stomptest.protocol.errors import BrokerError, ProtocolError, RemoteProtocolError
from stomptest.protocol.frame import Frame, HeadersArg, checked_frame
from stomptest.protocol.spec import VERSIONS, Version

AckMode = Literal["auto", "client", "client-individual"]
ACK_MODES: Final[tuple[AckMode, ...]] = ("auto", "client", "client-individual")

# Headers a builder sets itself; passing them in `headers=` as well would send them twice.
_OWN_HEADERS: Final[dict[str, frozenset[str]]] = {
    "CONNECT": frozenset({"accept-version", "host", "login", "passcode", "heart-beat"}),
    "SEND": frozenset({"destination", "transaction", "receipt"}),
    "SUBSCRIBE": frozenset({"destination", "id", "ack", "receipt"}),
    "ACK": frozenset({"message-id", "subscription", "id", "transaction", "receipt"}),
    "NACK": frozenset({"message-id", "subscription", "id", "transaction", "receipt"}),
}


@dataclass(frozen=True)
class ConnectedInfo:
    """What a CONNECTED frame settled: the version, the broker's names and its heart-beat offer."""

    version: Version
    session: str | None
    server: str | None
    heartbeat: tuple[int, int]
    """The server's `sx,sy` in ms ((0, 0) when absent, and always in 1.0)."""


@dataclass(frozen=True)
class MessageInfo:
    """The identity of a MESSAGE: enough to acknowledge it in any version.

    Build it with `message(frame, version)`, or directly from ids you already have.
    `ack` is the MESSAGE's `ack` header (1.2 only; present only in client ack modes).
    """

    destination: str
    message_id: str
    subscription: str | None = None
    ack: str | None = None

    def ack_headers(self, version: str) -> tuple[tuple[str, str], ...]:
        """The headers that name this message in an ACK or NACK of `version`."""
        version = spec.check_version(version)
        if version == "1.0":
            return (("message-id", self.message_id),)
        if version == "1.1":
            if self.subscription is None:
                raise ProtocolError(
                    f"cannot acknowledge message {self.message_id!r} in STOMP 1.1 without its subscription: "
                    "a 1.1 ACK/NACK names both message-id and subscription"
                )
            return (("message-id", self.message_id), ("subscription", self.subscription))
        if self.ack is None:
            raise ProtocolError(
                f"message {self.message_id!r} has no 'ack' header, so there is nothing to acknowledge: in STOMP 1.2 "
                "the broker sends one only for subscriptions with ack:client or ack:client-individual; "
                "subscribe with one of those to acknowledge messages (ack:auto messages need no ACK)"
            )
        return (("id", self.ack),)


# --- client frames ---------------------------------------------------------------------------------------------


def connect(
    version: str = "1.2",
    *,
    host: str | None = None,
    login: str | None = None,
    passcode: str | None = None,
    heartbeat: tuple[int, int] | None = None,
    versions: Sequence[str] | None = None,
    headers: HeadersArg = (),
    command: Literal["CONNECT", "STOMP"] = "CONNECT",
) -> Frame:
    """A CONNECT (or STOMP) frame offering `versions` (default: every version up to `version`).

    In 1.1+ `host` is required (RabbitMQ takes it as the virtual host, "/" by default)
    and `accept-version` is written; a 1.0 CONNECT carries neither version nor
    heart-beat headers. `heartbeat` is (cx, cy) in ms: how often we can send, how often
    we want to receive.
    """
    version = spec.check_version(version)
    offered = _offered_versions(version, versions)
    if command not in ("CONNECT", "STOMP"):
        raise ProtocolError(f"connect() builds CONNECT or STOMP frames, not {command!r}")
    if command == "STOMP" and version == "1.0":
        raise ProtocolError("the STOMP command only exists in STOMP 1.1 and later: use CONNECT for 1.0")
    pairs: list[tuple[str, str | int]] = []
    if version == "1.0":
        if heartbeat is not None:
            raise ProtocolError("heart-beats only exist in STOMP 1.1 and later: leave heartbeat out for 1.0")
        if host is not None:
            pairs.append(("host", host))
    else:
        if host is None or host == "":
            raise ProtocolError(
                f"STOMP {version} requires a host header on CONNECT: pass host= (the broker's virtual host, "
                "for RabbitMQ usually '/')"
            )
        pairs.append(("accept-version", ",".join(offered)))
        pairs.append(("host", host))
    if login is not None:
        pairs.append(("login", login))
    if passcode is not None:
        pairs.append(("passcode", passcode))
    if heartbeat is not None:
        pairs.append(("heart-beat", _heartbeat.format_header(heartbeat)))
    extra = _extra_headers("CONNECT", headers)
    return Frame(command, [*pairs, *extra])


def stomp(
    version: str = "1.2",
    *,
    host: str | None = None,
    login: str | None = None,
    passcode: str | None = None,
    heartbeat: tuple[int, int] | None = None,
    versions: Sequence[str] | None = None,
    headers: HeadersArg = (),
) -> Frame:
    """A STOMP frame: CONNECT by its 1.1+ name, which a 1.0 broker would not understand."""
    return connect(
        version,
        host=host,
        login=login,
        passcode=passcode,
        heartbeat=heartbeat,
        versions=versions,
        headers=headers,
        command="STOMP",
    )


def send(
    version: str,
    destination: str,
    body: bytes | str = b"",
    *,
    headers: HeadersArg = (),
    transaction: str | None = None,
    receipt: str | None = None,
) -> Frame:
    """A SEND frame; a str body goes as UTF-8 with content-type text/plain;charset=utf-8."""
    if version not in spec.VERSIONS:
        spec.check_version(version)  # raises, saying which versions exist
    if type(destination) is not str or not destination:
        _require("SEND", "destination", destination)
    pairs: list[tuple[str, str | int]] = [("destination", destination)]
    if transaction is not None:
        _optional(pairs, "SEND", "transaction", transaction)
    if headers:  # an empty tuple, list or mapping adds nothing; anything else (an iterator too) is checked
        pairs.extend(_extra_headers("SEND", headers))
    if receipt is not None:
        if type(receipt) is str and receipt:
            pairs.append(("receipt", receipt))
        else:
            _require("SEND", "receipt", receipt)  # raises, saying what it takes
    if not headers and type(body) is bytes:  # every pair is a non-empty str checked above
        return checked_frame("SEND", tuple(pairs), body)  # type: ignore[arg-type]
    return Frame("SEND", pairs, body)


def subscribe(
    version: str,
    destination: str,
    *,
    id: str | None = None,
    ack: str = "auto",
    headers: HeadersArg = (),
    receipt: str | None = None,
) -> Frame:
    """A SUBSCRIBE frame. 1.1+ needs an `id`; in 1.0 it is optional and the destination names the subscription."""
    version = spec.check_version(version)
    _require("SUBSCRIBE", "destination", destination)
    if ack not in ACK_MODES:
        raise ProtocolError(f"ack mode {ack!r} does not exist: use one of {', '.join(ACK_MODES)}")
    if ack == "client-individual" and version == "1.0":
        raise ProtocolError("ack:client-individual only exists in STOMP 1.1 and later: use ack='client' in 1.0")
    if id is None and version != "1.0":
        raise ProtocolError(f"SUBSCRIBE needs an id in STOMP {version}: pass id= (unique on this connection)")
    pairs: list[tuple[str, str | int]] = [("destination", destination)]
    _optional(pairs, "SUBSCRIBE", "id", id)
    if ack != "auto":
        pairs.append(("ack", ack))
    pairs.extend(_extra_headers("SUBSCRIBE", headers))
    _optional(pairs, "SUBSCRIBE", "receipt", receipt)
    return Frame("SUBSCRIBE", pairs)


def unsubscribe(
    version: str, *, id: str | None = None, destination: str | None = None, receipt: str | None = None
) -> Frame:
    """An UNSUBSCRIBE frame by `id` (1.1+ requires it) or, in 1.0 only, by `destination`."""
    version = spec.check_version(version)
    if id is None:
        if version != "1.0":
            raise ProtocolError(f"UNSUBSCRIBE needs the subscription's id in STOMP {version}: pass id=")
        if destination is None:
            raise ProtocolError("UNSUBSCRIBE needs id= or destination= (1.0 accepts either)")
    elif destination is not None and version != "1.0":
        raise ProtocolError(f"UNSUBSCRIBE names a subscription by id alone in STOMP {version}: drop destination=")
    pairs: list[tuple[str, str | int]] = []
    _optional(pairs, "UNSUBSCRIBE", "id", id)
    if id is None:
        _optional(pairs, "UNSUBSCRIBE", "destination", destination)
    _optional(pairs, "UNSUBSCRIBE", "receipt", receipt)
    return Frame("UNSUBSCRIBE", pairs)


def ack(
    version: str,
    message: MessageInfo | Frame,
    *,
    transaction: str | None = None,
    receipt: str | None = None,
    headers: HeadersArg = (),
) -> Frame:
    """An ACK for `message` (a MESSAGE frame or its `MessageInfo`), with the ids `version` requires."""
    version = spec.check_version(version)
    return _acknowledge("ACK", version, message, transaction, receipt, headers)


def nack(
    version: str,
    message: MessageInfo | Frame,
    *,
    transaction: str | None = None,
    receipt: str | None = None,
    headers: HeadersArg = (),
) -> Frame:
    """A NACK for `message`; NACK does not exist in 1.0. What the broker does with it varies (see the docs).

    `headers` carries broker extensions such as RabbitMQ's `requeue:false`.
    """
    version = spec.check_version(version)
    if version == "1.0":
        raise ProtocolError(
            "NACK only exists in STOMP 1.1 and later: in 1.0, leave the message unacknowledged "
            "(or disconnect) and the broker redelivers it"
        )
    return _acknowledge("NACK", version, message, transaction, receipt, headers)


def begin(version: str, transaction: str, *, receipt: str | None = None) -> Frame:
    """A BEGIN frame; the id must be unique on the connection (`Session.begin` generates one)."""
    return _transaction_frame("BEGIN", version, transaction, receipt)


def commit(version: str, transaction: str, *, receipt: str | None = None) -> Frame:
    """A COMMIT frame for a transaction begun on this connection."""
    return _transaction_frame("COMMIT", version, transaction, receipt)


def abort(version: str, transaction: str, *, receipt: str | None = None) -> Frame:
    """An ABORT frame for a transaction begun on this connection."""
    return _transaction_frame("ABORT", version, transaction, receipt)


def disconnect(version: str, *, receipt: str | None = None) -> Frame:
    """A DISCONNECT frame; ask for a receipt to know that the broker processed everything before it."""
    spec.check_version(version)
    pairs: list[tuple[str, str | int]] = []
    _optional(pairs, "DISCONNECT", "receipt", receipt)
    return Frame("DISCONNECT", pairs)


def beat(version: str) -> bytes:
    """The bytes of one client heart-beat: a single EOL. 1.0 has no heart-beats."""
    version = spec.check_version(version)
    if version == "1.0":
        raise ProtocolError("STOMP 1.0 has no heart-beats: negotiate 1.1 or later to send them")
    return b"\n"


# --- server frames ---------------------------------------------------------------------------------------------


def negotiate_version(offered: Iterable[str], supported: Iterable[str]) -> Version:
    """The highest version in both lists; none in common is an error listing both sides."""
    ours = [spec.check_version(v) for v in offered]
    theirs = set(supported)
    common = [v for v in VERSIONS if v in ours and v in theirs]
    if not common:
        raise ProtocolError(
            f"no STOMP version in common: the client offers {','.join(ours) or '(none)'}, "
            f"the server supports {','.join(sorted(theirs)) or '(none)'}"
        )
    return common[-1]


def connected(frame: Frame, offered_versions: Iterable[str] = VERSIONS) -> ConnectedInfo:
    """Check the answer to CONNECT against the versions we offered.

    An ERROR raises `BrokerError` carrying the frame (saying so when the broker lists
    versions we did not offer); anything else but CONNECTED is a `RemoteProtocolError`.
    """
    offered = [spec.check_version(v) for v in offered_versions]
    if frame.command == "ERROR":
        raise connect_refused(frame, offered)
    if frame.command != "CONNECTED":
        raise RemoteProtocolError(f"expected CONNECTED or ERROR in answer to CONNECT, got {frame.command}")
    version = frame.headers.get("version")
    if version is None:
        # No version header: the broker speaks 1.0 (spec 1.1 "Protocol Negotiation").
        if "1.0" not in offered:
            raise RemoteProtocolError(
                f"the broker answered as a STOMP 1.0 server (CONNECTED without version) "
                f"but we offered only {','.join(offered)}"
            )
        return ConnectedInfo("1.0", frame.headers.get("session"), frame.headers.get("server"), (0, 0))
    if version not in offered:
        raise RemoteProtocolError(
            f"the broker chose STOMP version {version!r}, which we did not offer (we offered {','.join(offered)})"
        )
    chosen = spec.check_version(version)
    beats = (0, 0)
    if chosen != "1.0" and "heart-beat" in frame.headers:
        beats = _heartbeat.parse(frame.headers["heart-beat"])
    return ConnectedInfo(chosen, frame.headers.get("session"), frame.headers.get("server"), beats)


def connect_refused(frame: Frame, offered_versions: Iterable[str] = VERSIONS) -> BrokerError:
    """The error an ERROR in answer to CONNECT stands for, naming both sides' versions when they share none."""
    offered = [spec.check_version(v) for v in offered_versions]
    if frame.command != "ERROR":
        raise RemoteProtocolError(f"expected an ERROR frame, got {frame.command}")
    context = "the broker refused CONNECT"
    supported = frame.headers.get("version")
    if supported is not None:
        theirs = [v.strip() for v in supported.split(",") if v.strip()]
        if not set(theirs) & set(offered):
            context = (
                f"no STOMP version in common: we offered {','.join(offered)}, "
                f"the broker supports {','.join(theirs) or '(none listed)'}"
            )
    return BrokerError(frame, context)


def message(frame: Frame, version: str) -> MessageInfo:
    """Check a MESSAGE frame of `version` and return the ids needed to acknowledge it."""
    version = spec.check_version(version)
    if frame.command != "MESSAGE":
        raise RemoteProtocolError(f"expected a MESSAGE frame, got {frame.command}")
    headers = frame.headers
    destination = headers.get("destination")
    message_id = headers.get("message-id")
    subscription = headers.get("subscription")
    if destination is None or message_id is None or (subscription is None and version != "1.0"):
        required = ("destination", "message-id") if version == "1.0" else ("destination", "message-id", "subscription")
        missing = [name for name in required if name not in headers]
        raise RemoteProtocolError(f"MESSAGE without {', '.join(missing)} (required in STOMP {version})")
    return MessageInfo(destination, message_id, subscription, headers.get("ack") if version == "1.2" else None)


def receipt(frame: Frame) -> str:
    """The `receipt-id` of a RECEIPT frame."""
    if frame.command != "RECEIPT":
        raise RemoteProtocolError(f"expected a RECEIPT frame, got {frame.command}")
    receipt_id = frame.headers.get("receipt-id")
    if receipt_id is None:
        raise RemoteProtocolError("RECEIPT without a receipt-id header")
    return receipt_id


def error(frame: Frame, context: str = "") -> BrokerError:
    """The `BrokerError` an ERROR frame stands for (returned, not raised: the caller decides)."""
    if frame.command != "ERROR":
        raise RemoteProtocolError(f"expected an ERROR frame, got {frame.command}")
    return BrokerError(frame, context)


# --- helpers ---------------------------------------------------------------------------------------------------


def _offered_versions(version: Version, versions: Sequence[str] | None) -> list[Version]:
    if versions is None:
        return list(VERSIONS[: VERSIONS.index(version) + 1])
    offered = sorted({spec.check_version(v) for v in versions}, key=VERSIONS.index)
    if not offered:
        raise ProtocolError("versions= is empty: offer at least one STOMP version")
    if offered[-1] != version:
        raise ProtocolError(
            f"a CONNECT for STOMP {version} must offer it as its highest version, "
            f"not {','.join(offered)}: pass version={offered[-1]!r}"
        )
    return offered


def _acknowledge(
    command: str,
    version: str,
    target: MessageInfo | Frame,
    transaction: str | None,
    receipt: str | None,
    headers: HeadersArg,
) -> Frame:
    if isinstance(target, Frame):
        info = message(target, version)
    elif isinstance(target, MessageInfo):
        info = target
    else:
        raise TypeError(f"{command} needs a MESSAGE frame or a MessageInfo, not {type(target).__name__}")
    pairs: list[tuple[str, str | int]] = list(info.ack_headers(version))
    _optional(pairs, command, "transaction", transaction)
    pairs.extend(_extra_headers(command, headers))
    _optional(pairs, command, "receipt", receipt)
    return Frame(command, pairs)


def _transaction_frame(command: str, version: str, transaction: str, receipt: str | None) -> Frame:
    spec.check_version(version)
    _require(command, "transaction", transaction)
    pairs: list[tuple[str, str | int]] = [("transaction", transaction)]
    _optional(pairs, command, "receipt", receipt)
    return Frame(command, pairs)


def _require(command: str, name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise ProtocolError(f"{command} needs a non-empty str {name}, not {value!r}")


def _optional(pairs: list[tuple[str, str | int]], command: str, name: str, value: object) -> None:
    if value is None:
        return
    _require(command, name, value)
    assert isinstance(value, str)
    pairs.append((name, value))


def _extra_headers(command: str, headers: HeadersArg) -> list[tuple[str, str | int]]:
    items = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    own = _OWN_HEADERS.get(command, frozenset())
    clash = sorted({name for name, _ in items if name in own})
    if clash:
        raise ProtocolError(
            f"{command}: pass {', '.join(clash)} as keyword arguments, not in headers= "
            "(the builder writes those itself)"
        )
    return items
