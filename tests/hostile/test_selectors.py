"""Hostile selectors against a running fake broker: absurdly deep, long or slow ones are refused or cheap.

The real brokers answer a selector nested past their parser's stack with the invalid-selector
ERROR (measured: ActiveMQ 5.17.2 and Artemis 2.40.0 refuse 1,000 nested parentheses) and an
oversized SUBSCRIBE frame with their header limit (ActiveMQ: 10 KiB); the fake answers so too,
and a LIKE pattern that makes a backtracking regex engine take exponential time costs a linear
scan here. After each, the broker still serves the connection and `check()` finds no internal error.
"""

from __future__ import annotations

import pytest

from stomptest.broker import Broker
from stomptest.broker.selector_parser import MAX_DEPTH
from tests.broker.rawclient import RawClient


@pytest.mark.parametrize("profile", ["activemq", "artemis", "strict"])
@pytest.mark.parametrize(
    "selector",
    [
        "(" * 30_000 + "a = 1" + ")" * 30_000,
        "NOT " * 20_000 + "a",
        "-" * 90_000 + "1 = 1",
        "(" * (MAX_DEPTH + 1) + "a",
    ],
    ids=["parentheses", "nots", "minus-signs", "deep-and-unclosed"],
)
def test_a_selector_too_deep_is_refused(profile: str, selector: str) -> None:
    with Broker(profile=profile) as broker:
        client = RawClient(broker.port)
        client.connect()
        client.send("SUBSCRIBE", {"id": "1", "destination": "/queue/q", "selector": selector})
        error = client.expect("ERROR")  # the selector's, or (ActiveMQ, 10 KiB) the header limit's
        if len(selector) < 1_000:
            assert "StackOverflowError" in error.body.decode() or "StackOverflowError" in error.headers["message"]
        client.close()
        broker.check()


def test_backtracking_like_patterns_stay_cheap() -> None:
    with Broker(profile="activemq") as broker:
        client = RawClient(broker.port)
        client.connect()
        selector = "name LIKE '" + "%a" * 200 + "b' OR end = 'yes'"
        client.send("SUBSCRIBE", {"id": "1", "destination": "/queue/q", "selector": selector, "receipt": "s"})
        client.expect("RECEIPT")
        client.send("SEND", {"destination": "/queue/q", "name": "a" * 5_000}, "slow?")
        client.send("SEND", {"destination": "/queue/q", "end": "yes"}, "end")
        message = client.expect("MESSAGE")
        assert message.body == b"end"  # the first was not picked, and did not stall dispatch
        client.close()
        broker.check()


def test_many_selecting_subscribers_and_a_backlog_nobody_picks() -> None:
    with Broker(profile="activemq") as broker:
        client = RawClient(broker.port)
        client.connect()
        for number in range(200):
            client.send("SUBSCRIBE", {"id": str(number), "destination": "/queue/q", "selector": f"n = '{number}'"})
        for _ in range(2_000):
            client.send("SEND", {"destination": "/queue/q", "n": "nobody"}, "x")
        client.send("SEND", {"destination": "/queue/q", "n": "7"}, "seven")
        message = client.expect("MESSAGE", timeout=30)
        assert message.headers["subscription"] == "7"
        assert len(broker.snapshot().messages("/queue/q")) == 2_000
        client.close()
        broker.check()
