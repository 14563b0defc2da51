"""The ecosystem scenario for stomp.py's `WSStompConnection`: the steps of node/scenario.js, the same records.

`run_targets(targets)` runs every step against every target at once (a thread each, connections of
their own, fresh destinations) and returns {target name: {step: outcome}}. Outcomes are records of what
the client saw, shaped as scenario.js shapes them, so the checks in expectations.py serve both.
stomp.py offers no subprotocol and sends text messages unless `binary_mode=True`, which the binary step
sets (a body that is not UTF-8 cannot go in a text message).
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import stomp

QUIET = 0.4  # seconds to wait for a message that should not come
NEVER = 1.5  # seconds to wait for a message or a close that may never come
TIMEOUT = 8.0  # seconds for a message that should come

Outcome = dict[str, Any]


class _Listener(stomp.ConnectionListener):  # type: ignore[misc]
    def __init__(self) -> None:
        self.messages: dict[str, queue.Queue[Any]] = {}
        self.receipts: set[str] = set()
        self.errors: list[Any] = []
        self.beats = 0
        self.connected: Any = None
        self.opened = threading.Event()
        self.closed = threading.Event()
        self.changed = threading.Condition()

    def on_connected(self, frame: Any) -> None:
        self.connected = frame
        self.opened.set()

    def on_message(self, frame: Any) -> None:
        self.messages.setdefault(frame.headers["subscription"], queue.Queue()).put(frame)

    def on_receipt(self, frame: Any) -> None:
        with self.changed:
            self.receipts.add(frame.headers["receipt-id"])
            self.changed.notify_all()

    def on_error(self, frame: Any) -> None:
        self.errors.append(frame)

    def on_heartbeat(self) -> None:
        self.beats += 1

    def on_disconnected(self) -> None:
        self.closed.set()


class NotConnected(Exception):
    """The broker did not answer CONNECT (an ActiveMQ-style broker ignores binary messages)."""


class _Conn:
    """One WebSocket connection with a listener; its helpers wait on receipts and messages."""

    def __init__(self, url: str, heartbeat: int = 0, binary: bool = False) -> None:
        parts = urlsplit(url)
        self.conn = stomp.WSStompConnection(
            [(parts.hostname, parts.port)],
            ws_path=parts.path or "/",
            heartbeats=(heartbeat, heartbeat),
            reconnect_attempts_max=1,
            vhost="/",
            auto_decode=False,
            binary_mode=binary,
        )
        self.listener = _Listener()
        self.conn.set_listener("eco", self.listener)
        self.conn.connect("guest", "guest")
        if not self.listener.opened.wait(TIMEOUT / 2):
            self.conn.transport.stop()
            raise NotConnected("no CONNECTED")
        self.connected = self.listener.connected

    def receipt(self, send: Callable[[str], None]) -> None:
        rid = f"r-{uuid.uuid4().hex}"
        send(rid)
        with self.listener.changed:
            self.listener.changed.wait_for(lambda: rid in self.listener.receipts, TIMEOUT)

    def subscribe(self, destination: str, sub_id: str, ack: str = "auto") -> queue.Queue[Any]:
        box = self.listener.messages.setdefault(sub_id, queue.Queue())
        self.receipt(lambda rid: self.conn.subscribe(destination, sub_id, ack=ack, headers={"receipt": rid}))
        return box

    def next(self, box: queue.Queue[Any], wait: float = TIMEOUT) -> Any:
        try:
            return box.get(timeout=wait)
        except queue.Empty:
            return None

    def close(self) -> None:
        if self.conn.is_connected():
            self.conn.disconnect()


def _body(frame: Any) -> str | None:
    return None if frame is None else bytes(frame.body).decode("utf-8", "replace")


def _q() -> str:
    return f"/queue/eco-{uuid.uuid4().hex}"


def _headers(url: str) -> Outcome:
    c = _Conn(url)
    q = _q()
    box = c.subscribe(q, "s")
    c.conn.send(q, "hello", headers={"x-colour": "blue", "content-type": "text/plain"})
    m = c.next(box)
    c.close()
    return {
        "version": c.connected.headers.get("version") if c.connected else None,
        "body": _body(m),
        "x-colour": m and m.headers.get("x-colour"),
        "content-type": m and m.headers.get("content-type"),
        "destination": m is not None and m.headers.get("destination") == q,
    }


def _arrival_or_close(c: _Conn, box: queue.Queue[Any]) -> Any:
    deadline = time.monotonic() + NEVER
    while time.monotonic() < deadline and not c.listener.closed.is_set():
        m = c.next(box, 0.05)
        if m is not None:
            return m
    return None


def _binary(url: str) -> Outcome:
    try:
        c = _Conn(url, binary=True)
    except NotConnected:
        return {"received": None, "connected": False}
    q = _q()
    box = c.subscribe(q, "s")
    c.conn.send(q, bytes(range(256)), headers={"content-type": "application/octet-stream"})
    m = _arrival_or_close(c, box)
    closed = c.listener.closed.is_set()
    c.close()
    if m is None:
        return {"received": None, "closed": closed}
    return {"received": len(m.body), "intact": bytes(m.body) == bytes(range(256))}


def _large(url: str) -> Outcome:
    c = _Conn(url)
    q = _q()
    box = c.subscribe(q, "s")
    body = ("stomptest-0123456789-" * 5000)[: 100 * 1024]
    c.conn.send(q, body)
    m = _arrival_or_close(c, box)
    closed = c.listener.closed.is_set()
    c.close()
    if m is None:
        return {"received": None, "closed": closed}
    return {"received": len(m.body), "intact": _body(m) == body}


def _ack(url: str) -> Outcome:
    c = _Conn(url)
    q = _q()
    box = c.subscribe(q, "s", ack="client-individual")
    c.conn.send(q, "first")
    c.conn.send(q, "second")
    a, b = c.next(box), c.next(box)
    c.conn.ack(a.headers["ack"])
    c.conn.nack(b.headers["ack"])
    again = []
    while len(again) < 3:
        m = c.next(box, QUIET)
        if m is None:
            break
        again.append({"body": _body(m), "redelivered": m.headers.get("redelivered")})
        c.conn.ack(m.headers["ack"])
    c.receipt(lambda rid: c.conn.send(q + "-done", "", headers={"receipt": rid}))
    c.close()
    return {"delivered": [_body(a), _body(b)], "after_nack": again}


def _transaction(url: str) -> Outcome:
    c = _Conn(url)
    q = _q()
    box = c.subscribe(q, "s")
    tx = c.conn.begin()
    c.conn.send(q, "committed", transaction=tx)
    before = c.next(box, QUIET)
    c.conn.commit(tx)
    after = c.next(box)
    tx2 = c.conn.begin()
    c.conn.send(q, "aborted", transaction=tx2)
    c.conn.abort(tx2)
    c.conn.send(q, "plain")
    nxt = c.next(box)
    c.close()
    return {"before_commit": _body(before), "at_commit": _body(after), "after_abort": _body(nxt)}


def _fanout(url: str) -> Outcome:
    conns = [_Conn(url) for _ in range(3)]
    topic = f"/topic/eco-{uuid.uuid4().hex}"
    boxes = [conns[0].subscribe(topic, "s"), conns[1].subscribe(topic, "s")]
    conns[2].conn.send(topic, "to all")
    got = [_body(conns[i].next(box)) for i, box in enumerate(boxes)]
    for c in conns:
        c.close()
    return {"received": got}


def _unsubscribe(url: str) -> Outcome:
    c = _Conn(url)
    q = _q()
    box = c.subscribe(q, "s")
    c.conn.send(q, "one")
    one = c.next(box)
    c.receipt(lambda rid: c.conn.unsubscribe("s", headers={"receipt": rid}))
    c.conn.send(q, "two")
    none = c.next(box, QUIET)
    later = c.next(c.subscribe(q, "s2"))
    c.close()
    return {"before": _body(one), "after_unsubscribe": _body(none), "resubscribed": _body(later)}


def _heartbeat(url: str) -> Outcome:
    c = _Conn(url, heartbeat=1000)
    time.sleep(3.0)
    beats = c.listener.beats
    closed = c.listener.closed.is_set()
    m = None
    if not closed:
        q = _q()
        box = c.subscribe(q, "s")
        c.conn.send(q, "awake")
        m = c.next(box)
    c.close()
    return {
        "heart-beat": c.connected.headers.get("heart-beat") if c.connected else None,
        "beats_received": beats >= 1,
        "closed": closed or None,
        "after_idle": _body(m),
    }


def _error(url: str) -> Outcome:
    c = _Conn(url)
    c.conn.commit("no-such-transaction")
    closed = c.listener.closed.wait(NEVER)
    c.close()
    errors = c.listener.errors
    return {
        "errors": len(errors),
        "message": bool(errors[0].headers.get("message")) if errors else None,
        "closed": closed,
    }


STEPS: dict[str, Callable[[str], Outcome]] = {
    "headers": _headers,
    "binary": _binary,
    "large": _large,
    "ack": _ack,
    "transaction": _transaction,
    "fanout": _fanout,
    "unsubscribe": _unsubscribe,
    "heartbeat": _heartbeat,
    "error": _error,
}


def _guarded(step: Callable[[str], Outcome], url: str) -> Outcome:
    try:
        return step(url)
    except Exception as exc:  # a record, not a crash: the comparison shows it
        return {"failed": f"{type(exc).__name__}: {exc}"}


def run_targets(targets: list[dict[str, str]]) -> dict[str, dict[str, Outcome]]:
    """{target name: {step: outcome}} for targets given as {"name": ..., "url": "ws://..."}."""
    jobs = [(t["name"], name, step, t["url"]) for t in targets for name, step in STEPS.items()]
    results: dict[str, dict[str, Outcome]] = {}
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [(target, name, pool.submit(_guarded, step, url)) for target, name, step, url in jobs]
        for target, name, future in futures:
            results.setdefault(target, {})[name] = future.result()
    return results
