"""What the ecosystem outcome records must say: what the STOMP spec promises, and what a profile's facts imply.

Outcomes are records of what a client saw (node/scenario.js, stomppy.py shape them alike). A fake
target's records are checked against the spec and its profile's WebSocket settings; a real target's
records must equal, step by step, those of the fake in the profile that models it (test_clients.py).
"""

from __future__ import annotations

from typing import Any

from stomptest.broker import PROFILES

LARGE = 100 * 1024  # the large step's body


def binary_arrives(profile: str) -> bool:
    """A body that is not UTF-8, sent in a binary message, comes back whole to a client that checks UTF-8.

    Not when the broker ignores binary messages (ActiveMQ), nor when it sends every frame as a text
    message (RabbitMQ: the client fails the connection on the invalid UTF-8).
    """
    ws = PROFILES[profile].websocket
    return ws.input == "stream" and ws.message_type in ("binary", "text-or-binary")


def large_arrives(profile: str) -> bool:
    """A 100 KB frame in one WebSocket message fits the broker's message (or frame) size limit."""
    limit = PROFILES[profile].websocket.max_bytes
    return limit is None or limit > LARGE + 1024


def check_fake(profile: str, outcome: dict[str, dict[str, Any]]) -> list[str]:
    """The ways `outcome` (one client against the fake broker in `profile`) breaks a promise; [] if none."""
    wrong: list[str] = []

    def expect(step: str, key: str, want: Any) -> None:
        got = outcome[step].get(key, outcome[step])
        if got != want:
            wrong.append(f"{step}.{key}: {got!r}, expected {want!r} (record {outcome[step]})")

    for key, want in {
        "version": "1.2",
        "body": "hello",
        "x-colour": "blue",
        "content-type": "text/plain",
        "destination": True,
    }.items():
        expect("headers", key, want)
    expect("transaction", "before_commit", None)
    expect("transaction", "at_commit", "committed")
    expect("transaction", "after_abort", "plain")
    expect("fanout", "received", ["to all", "to all"])
    expect("unsubscribe", "before", "one")
    expect("unsubscribe", "after_unsubscribe", None)
    expect("unsubscribe", "resubscribed", "two")
    expect("heartbeat", "beats_received", True)
    expect("heartbeat", "after_idle", "awake")
    expect("error", "errors", 1)
    expect("error", "message", True)
    expect("ack", "delivered", ["first", "second"])
    again = outcome["ack"].get("after_nack", [])
    if any(m["body"] != "second" for m in again):
        wrong.append(f"ack: only the NACKed message may come again, got {again}")
    if binary_arrives(profile):
        expect("binary", "intact", True)
    else:
        expect("binary", "received", None)
    if large_arrives(profile):
        expect("large", "intact", True)
    else:
        expect("large", "received", None)
    return wrong


# Races of a real broker, each described in docs/broker.md: (profile, step, key) -> the other value the real
# broker may record there. The fake keeps to one outcome: modelling a race would make users' tests flaky.
RACES: dict[tuple[str, str, str], Any] = {
    # R4: Artemis acknowledges an ack:auto delivery in a task it queues after writing it (its StompSession), so an
    # UNSUBSCRIBE right behind may find it unacknowledged and give it back: the next subscriber gets "one" again
    # (seen once in CI, with stompjs in Chromium)
    ("artemis", "unsubscribe", "resubscribed"): "one",
}


def differences(real: dict[str, dict[str, Any]], fake: dict[str, dict[str, Any]], profile: str = "") -> list[str]:
    """Step by step, where a real broker's records differ from the fake's (a known race of `profile` aside)."""
    found = []
    for step in sorted(set(real) | set(fake)):
        got, want = real.get(step), fake.get(step)
        if got == want:
            continue
        if isinstance(got, dict) and isinstance(want, dict):
            raced = {
                key
                for key, value in got.items()
                if (profile, step, key) in RACES and RACES[profile, step, key] == value
            }
            if raced and _without(got, raced) == _without(want, raced):
                continue
        found.append(f"{step}: real {got!r} != fake {want!r}")
    return found


def _without(record: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key not in keys}
