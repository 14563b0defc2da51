"""Testing a web page that uses @stomp/stompjs, in a real headless browser, against stomptest's fake broker.

The page (chat.html) reads the broker's URL from its query string; each test gives it the fake
broker's `ws_url` (STOMP over WebSocket on the broker's own port), drives the page over the DevTools
protocol (chromium.py) and checks both sides: what the page shows, and what reached the broker.

Needs Debian's `chromium` (or $CHROMIUM) and the stompjs browser bundle: $STOMPJS_BUNDLE, or the copy
that scripts/ecosystem.sh installs under tests/ecosystem/node. Run it with
``pytest examples/browser``; without either, the tests skip and say why.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from chromium import Chromium, find_chromium

from stomptest.client import Client
from stomptest.testing import FakeBroker

HERE = Path(__file__).resolve().parent
BUNDLE = Path(
    os.environ.get("STOMPJS_BUNDLE")
    or HERE.parent.parent / "tests/ecosystem/node/node_modules/@stomp/stompjs/bundles/stomp.umd.min.js"
)


@pytest.fixture
def page_url(tmp_path: Path) -> str:
    """chat.html beside the stompjs bundle, as a file:// URL (a file page may open ws:// connections)."""
    if find_chromium() is None:
        pytest.skip("no chromium: install Debian's chromium package (scripts/ecosystem.sh) or set $CHROMIUM")
    if not BUNDLE.is_file():
        pytest.skip(f"no stompjs bundle at {BUNDLE}: run scripts/ecosystem.sh or set $STOMPJS_BUNDLE")
    shutil.copy(HERE / "chat.html", tmp_path)
    shutil.copy(BUNDLE, tmp_path / "stomp.umd.min.js")
    return (tmp_path / "chat.html").as_uri()


@pytest.fixture
def browser() -> Iterator[Chromium]:
    with Chromium() as chromium:
        yield chromium


def open_chat(browser: Chromium, page_url: str, broker: FakeBroker) -> None:
    browser.goto(f"{page_url}?broker={broker.ws_url}")
    browser.wait_for("document.getElementById('status').textContent === 'connected'")
    # the page subscribes before it says `connected`; the broker knows the subscription once its frame arrived
    broker.wait_for_subscriptions("/topic/chat")


def test_a_message_from_the_server_side_shows_on_the_page(
    stomp_broker: FakeBroker, browser: Chromium, page_url: str
) -> None:
    open_chat(browser, page_url, stomp_broker)
    with Client(stomp_broker.url) as server:
        server.send("/topic/chat", "hello, page", headers={"x-author": "server"}, receipt=True)
    shown = browser.wait_for("document.querySelector('#messages li')?.textContent")
    assert shown == "server: hello, page"


def test_what_the_user_types_reaches_the_broker(stomp_broker: FakeBroker, browser: Chromium, page_url: str) -> None:
    open_chat(browser, page_url, stomp_broker)
    browser.evaluate(
        f"document.getElementById('text').value = {json.dumps('hi from the page')};"
        "document.querySelector('#say button').click()"
    )
    stomp_broker.assert_sent(
        "/topic/chat", "hi from the page", headers={"x-author": "me", "content-type": "text/plain"}
    )
    # the page is subscribed to its own room: it shows its own message too
    assert browser.wait_for("document.querySelector('#messages li')?.textContent") == "me: hi from the page"


@pytest.mark.stomp_broker(profile="rabbitmq")
def test_the_page_says_when_the_broker_refuses_a_frame(
    stomp_broker: FakeBroker, browser: Chromium, page_url: str
) -> None:
    # RabbitMQ answers a destination it does not know with an ERROR (and so does its profile)
    open_chat(browser, page_url, stomp_broker)
    browser.evaluate("client.publish({destination: '/nowhere/x', body: 'lost'})")
    status = browser.wait_for("document.getElementById('status').textContent.startsWith('error') && "
                              "document.getElementById('status').textContent")  # fmt: skip
    assert "/nowhere/x" in status or "destination" in status.lower()
