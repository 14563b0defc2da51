"""CONNECT (and STOMP), DISCONNECT and heart-beats: how a broker connection starts, stays alive and ends.

CONNECT settles everything the rest of the connection reads: the version (and with it
the escaping the parser and the output use, which a profile may change for 1.0:
`escape_1_0`), the login, the session id and the heart-beat intervals. What a profile's
broker checks and answers here are its settings `unescape_connect`, `host` and `vhosts`,
`default_login`, `echo_connect_receipt` and `connect_receipt_response_id`, `server`,
`connected_headers` and `connect_timeout`; a frame before CONNECT and a second CONNECT are
answered as `frame_before_connect` and `second_connect` say (`out_of_turn`). Heart-beats are
negotiated the way the profile's broker does (`heartbeat_rounding`, `heartbeat_min_send_ms`,
`heartbeat_min_receive_ms`, `heartbeat_default_receive_ms`), sent every interval times
`heartbeat_send_fraction`, and a client silent for its interval times `heartbeat_grace` is
closed (after the profile's `heartbeat_timeout_error`, if it has one). `tick` in
connection.py calls `heartbeats` and `check_connect_timeout` when `next_deadline` says.

Whose clock decides (issue 18, measured). With `heartbeat_check="timer"` the silence is
looked for all the time; with "grid" (RabbitMQ, ActiveMQ) only at whole intervals T from
CONNECTED, and a check closes the connection when no byte came in the last `heartbeat_grace`
whole intervals, the one holding CONNECT counting as heard: a client silent from the start
is closed at 3T, one whose last byte came in (2T, 3T) at 5T, so always 2T-3T after the
last byte. With `heartbeat_send="grid"` (ActiveMQ) the broker looks at whole send periods
from CONNECTED and beats unless a frame went out in the period just ended; CONNECTED is
such a frame, so the first beat comes at 2T. 1.0 connections negotiate heart-beats only
with `heartbeats_in_1_0`. The grids cost nothing per frame: `frames_sent` is counted anyway.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from stomptest.broker import durable, wire
from stomptest.broker.error_kinds import ErrorKind
from stomptest.broker.output import receipt, write
from stomptest.broker.reading import set_wire_version
from stomptest.protocol.frame import HEARTBEAT, Frame

if TYPE_CHECKING:
    from stomptest.broker.connection import Connection


def on_connect(connection: Connection, frame: Frame) -> None:
    """CONNECT or STOMP: agree a version, check the login and host, answer CONNECTED."""
    profile = connection.profile
    if profile.unescape_connect and any("\\" in value for _, value in frame.raw_headers):
        try:
            pairs = [(n, wire.strict_unescape(v)) for n, v in frame.raw_headers]
        except ValueError as exc:
            connection.fail("malformed", frame, reason=str(exc))
            return
        frame = Frame(frame.command, pairs, frame.body)
    headers = frame.headers
    accepted = headers.get("accept-version")
    wanted = ["1.0"] if accepted is None else [part.strip() for part in accepted.split(",")]
    common = [version for version in profile.versions if version in wanted]
    if not common:
        connection.fail("version", frame, version=accepted or "1.0")
        return
    version = max(common, key=lambda v: tuple(int(p) for p in v.split(".")))
    if connection.version is not None:  # a second CONNECT (second_connect): the session goes on as it was
        version = connection.version
    elif connection.fixed_version is not None:  # Artemis, after a STOMP that asked for 1.0 (stomp_in_1_0)
        version = connection.fixed_version
    if frame.command == "STOMP" and version == "1.0" and profile.stomp_in_1_0 == "refused":
        connection.fixed_version = "1.0"
        connection.fail("not-connected", frame, variant="stomp-1.0")
        return
    host = headers.get("host")
    if profile.host == "required" and version != "1.0" and host is None:
        connection.fail("bad-connect", frame, reason="the host header is required in STOMP 1.1 and 1.2")
        return
    if profile.host == "vhost" and (host if host is not None else "/") not in profile.vhosts:
        connection.fail("vhost", frame, host=host or "")
        return
    login = headers.get("login")
    if login is None and profile.default_login is not None:
        login = profile.default_login
        checked = False
    else:
        checked = True
    users = connection.engine.users
    if users is not None and checked and (login is None or users.get(login) != headers.get("passcode")):
        connection.fail("access-refused", frame, login=login or "")
        return
    if not durable.on_connect(connection, frame):  # issue 14: client-id, as the profile's broker takes it
        return
    beats = (0, 0)
    if version != "1.0" or profile.heartbeats_in_1_0:
        text = headers.get("heart-beat", "0,0")
        parts = text.split(",")
        if len(parts) != 2 or not all(_is_count(p.strip()) for p in parts):
            value = next((p for p in parts if not _is_count(p.strip())), text)
            reason = f"heart-beat:{text} is not two comma-separated integers"
            connection.fail("bad-connect", frame, reason=reason, value=value)
            return
        beats = (int(parts[0]), int(parts[1]))
    connection.client_heartbeat = beats
    receive_ms, send_ms = negotiate_heartbeats(connection, *beats)
    connection.version = version
    connection.decode_1_0 = version == "1.0" and profile.escape_1_0 == "decode-input"
    connection.trim_1_0 = profile.trim_1_0_values if version == "1.0" and profile.trim_1_0_values != "none" else None
    as_1_2 = (version == "1.0" and profile.escape_1_0 == "as-1.2") or (
        version == "1.1" and profile.escape_1_1 == "as-1.2"
    )
    set_wire_version(connection, "1.2" if as_1_2 else version)
    connection.login = login
    connection.host = host
    connection.session = connection.session or connection.engine.session_id(connection)
    connection.connect_accepted(frame)
    connection.send_interval = send_ms / 1000
    connection.receive_timeout = receive_ms * profile.heartbeat_grace / 1000
    if profile.connected_headers == "all":
        reply = [
            ("version", version),
            ("session", connection.session),
            ("server", profile.server),
            ("heart-beat", f"{send_ms},{receive_ms}"),
        ]
    else:  # only what the client's CONNECT asked about (Artemis)
        reply = [("version", version)] if accepted is not None else []
        reply.append(("session", connection.session))
        if version != "1.0":
            reply.append(("server", profile.server))
            if "heart-beat" in headers:
                reply.append(("heart-beat", f"{send_ms},{receive_ms}"))
    wanted_receipt = headers.get("receipt")
    if wanted_receipt is not None and profile.echo_connect_receipt:
        reply.append(("receipt-id", wanted_receipt))
        if profile.connect_receipt_response_id:
            reply.append(("response-id", wanted_receipt))
    connection.heartbeats_from = connection.now  # the origin of the grids (heartbeat_check, heartbeat_send)
    connection.beat_check = 1
    connection.beat_mark = connection.frames_sent  # CONNECTED, written next, counts in the first period
    connection.send(Frame("CONNECTED", reply))
    if connection.send_interval or connection.receive_timeout:
        connection.on_schedule(connection)


def out_of_turn(connection: Connection, kind: ErrorKind, frame: Frame) -> bool:
    """A frame before CONNECT, or a second CONNECT, where the profile's broker answers no ERROR: True if handled.

    RabbitMQ 3.10.8 closes at a second CONNECT without a frame (measured, issue 18).
    Artemis (measured on 2.40.0) answers a second CONNECT with another CONNECTED, whose headers
    follow the new CONNECT (heart-beat, receipt) but whose version and session are the first's,
    and its subscriptions live on; it answers nothing at all to a frame before CONNECT: the
    connection stays open but deaf, even to a CONNECT.
    """
    profile = connection.profile
    if kind == "already-connected" and profile.second_connect != "error":
        if profile.second_connect == "connected":
            on_connect(connection, frame)
        else:  # RabbitMQ (measured, issue 18): closed without a frame
            connection.close("a second CONNECT")
        return True
    if kind == "not-connected" and connection.fixed_version is not None:  # after a refused STOMP (stomp_in_1_0)
        _after_refused_stomp(connection, frame)
        return True
    if kind == "not-connected" and profile.frame_before_connect == "ignore-all":
        connection.deaf = True
        return True
    return False


def _after_refused_stomp(connection: Connection, frame: Frame) -> None:
    """Artemis (measured, issue 18): each command's own ERROR on a connection left at 1.0 by a refused STOMP.

    The texts are "KIND COMMAND stomp-1.0" keys of its error texts; DISCONNECT is answered as ever.
    """
    if frame.command == "DISCONNECT":
        on_disconnect(connection, frame)
        return
    if frame.command == "NACK":  # its decoder is 1.0's now, which knows no NACK: a decoder ERROR and the close
        connection.fail("unknown-command", frame, command="NACK")
        connection.close("NACK on a connection at STOMP 1.0")
        return
    headers = frame.headers
    variant = "stomp-1.0"
    if frame.command == "UNSUBSCRIBE" and "id" not in headers:
        variant = "stomp-1.0-destination" if "destination" in headers else "stomp-1.0-none"
    elif frame.command == "BEGIN" and "transaction" not in headers:
        variant = "stomp-1.0-none"
    connection.fail(
        "not-connected",
        frame,
        header=variant,
        id=headers.get("id", "null"),
        message_id=headers.get("message-id", "null"),
        transaction=headers.get("transaction", "null"),
        peer=connection.peer,
        peer_flat=connection.peer.replace(":", ""),  # Artemis' 1.0 message header loses its colons
    )


def on_disconnect(connection: Connection, frame: Frame) -> None:
    receipt(connection, frame)
    connection.close("DISCONNECT")


def negotiate_heartbeats(connection: Connection, cx: int, cy: int) -> tuple[int, int]:
    """(client-to-server, server-to-client) intervals in ms; the broker accepts the client's wishes."""
    profile = connection.profile
    if profile.heartbeat_rounding == "whole-seconds":
        cx, cy = _whole_seconds(cx), _whole_seconds(cy)
    if cy and profile.heartbeat_min_send_ms:
        cy = max(cy, profile.heartbeat_min_send_ms)
    # no beats offered: the broker may still want them (Artemis: every 30 s, so a 60 s TTL at grace 2)
    cx = max(cx, profile.heartbeat_min_receive_ms) if cx else profile.heartbeat_default_receive_ms
    return cx, cy


def check_connect_timeout(connection: Connection, now: float) -> None:
    """Close a connection that sent no CONNECT within the profile's `connect_timeout`."""
    if connection.fixed_version is not None:  # Artemis after a refused STOMP: its connection TTL instead (measured)
        ttl = _unconnected_ttl(connection)
        if now >= connection.last_received + ttl:
            _silent_client(connection, ttl)
        return
    timeout = connection.profile.connect_timeout
    if timeout is not None and not connection.deaf and now >= connection.opened_at + timeout:
        connection.close(f"no CONNECT within {timeout:g} s")


def connect_deadline(connection: Connection) -> float | None:
    if connection.fixed_version is not None:
        return connection.last_received + _unconnected_ttl(connection)
    timeout = connection.profile.connect_timeout
    return None if timeout is None or connection.deaf else connection.opened_at + timeout


def _unconnected_ttl(connection: Connection) -> float:
    """Seconds of silence Artemis allows a connection that never connected once a STOMP was refused: 60."""
    profile = connection.profile
    return profile.heartbeat_default_receive_ms * profile.heartbeat_grace / 1000


def _silent_client(connection: Connection, timeout: float) -> None:
    """Close a client silent for `timeout` seconds, with the ERROR the profile's broker writes then (if any)."""
    text = connection.profile.heartbeat_timeout_error
    if text is not None:
        message = text.format_map({"peer": connection.peer, "ttl_ms": str(round(timeout * 1000))})
        connection.send(Frame("ERROR", [("message", message)]))
    connection.close(f"no data from the client for {timeout:g} s (heart-beat timeout)")


def heartbeats(connection: Connection, now: float) -> None:
    """Close a silent client, end a timed hold, and beat if nothing was sent for a while."""
    if connection.receive_timeout and (
        now >= _silence_check(connection) - 1e-9
        if connection.profile.heartbeat_check == "grid"
        else now - connection.last_received > connection.receive_timeout
    ):
        _silent_client(connection, connection.receive_timeout)
        return
    if connection.hold_until is not None and now >= connection.hold_until:
        connection.release()
    period = connection.send_interval * connection.profile.heartbeat_send_fraction
    if period and connection.profile.heartbeat_send == "grid":
        _beat_on_grid(connection, now, period)
    elif period and not connection.heartbeats_paused and now - connection.last_sent >= period:
        if connection.out:  # output is waiting for the client: a newline behind it says nothing more
            connection.last_sent = now
        else:
            write(connection, b"\n", HEARTBEAT)


def heartbeat_deadline(connection: Connection) -> float | None:
    deadlines = []
    if connection.receive_timeout:
        if connection.profile.heartbeat_check == "grid":
            deadlines.append(_silence_check(connection))
        else:
            deadlines.append(connection.last_received + connection.receive_timeout + 0.001)
    period = connection.send_interval * connection.profile.heartbeat_send_fraction
    if period and not connection.heartbeats_paused:
        if connection.profile.heartbeat_send == "grid":
            deadlines.append(connection.heartbeats_from + connection.beat_check * period)
        else:
            deadlines.append(connection.last_sent + period)
    if connection.hold_until is not None:
        deadlines.append(connection.hold_until)
    return min(deadlines) if deadlines else None


def _silence_check(connection: Connection) -> float:
    """heartbeat_check="grid": the check that closes the connection unless a byte comes first.

    Intervals are counted from CONNECTED; the one the last byte came in is heard, and the check
    after `heartbeat_grace` silent intervals closes (CONNECT itself lies in interval 0).
    """
    grace = connection.profile.heartbeat_grace
    interval = connection.receive_timeout / grace
    origin = connection.heartbeats_from
    heard = max(0, math.floor((connection.last_received - origin) / interval + 1e-9))
    return origin + (heard + int(grace) + 1) * interval


def _beat_on_grid(connection: Connection, now: float, period: float) -> None:
    """heartbeat_send="grid": at each whole period from CONNECTED, beat unless a frame went out in the last one."""
    origin = connection.heartbeats_from
    if now < origin + connection.beat_check * period - 1e-9:
        return
    connection.beat_check = math.floor((now - origin) / period + 1e-9) + 1
    quiet = connection.frames_sent == connection.beat_mark
    connection.beat_mark = connection.frames_sent
    if quiet and not connection.heartbeats_paused and not connection.out:
        write(connection, b"\n", HEARTBEAT)


def _whole_seconds(ms: int) -> int:
    """RabbitMQ: floor to whole seconds, and anything under a second becomes one."""
    if ms <= 0:
        return 0
    return max(1, ms // 1000) * 1000


def _is_count(text: str) -> bool:
    """ASCII digits that int() reads at once ('²' is a digit to str.isdigit, and 5000 digits are too many)."""
    return text.isascii() and text.isdigit() and len(text) <= 18
