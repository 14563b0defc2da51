"""Message selectors on every target (issue 14): what each broker picks, keeps and refuses.

Measured on the wire first (raw frames, ActiveMQ 5.17.2, Artemis 2.40.0, RabbitMQ 3.10.8;
docs/selectors.md); each scenario follows the target's profile (`selectors`) and runs against
the real brokers too. A selecting subscription is wrapped as `end = 'yes' OR (SELECTOR)` so the
marker that ends a scenario reaches it (OR stops at its first TRUE term on both brokers).
"""

from __future__ import annotations

import pytest

from stomptest.client import Client, ClientSubscription
from stomptest.protocol import BrokerError

from .conftest import Target
from .test_raw_frames import Raw, _open, raw  # noqa: F401  (the fixture)

MARKER = {"end": "yes"}


def _picked(
    client: Client, destination: str, subscription: ClientSubscription, headers: list[dict[str, str]]
) -> list[str]:
    """Send one message per header set (body: its number), then the marker; the numbers received, sorted."""
    for number, extra in enumerate(headers):
        client.send(destination, str(number), headers=extra)
    client.send(destination, "end", headers=MARKER)
    bodies = []
    while True:
        message = subscription.receive(timeout=10)
        assert message is not None, f"the marker never arrived; got {bodies} before giving up"
        if message.body == b"end":
            return sorted(bodies, key=int)
        bodies.append(message.body.decode())


def _select(target: Target, selector: str, headers: list[dict[str, str]], kind: str = "queue") -> list[str]:
    client = target.client()
    destination = target.queue() if kind == "queue" else target.topic()
    prefix = "convert_string_expressions:"
    wrapped = (
        f"{prefix}end = 'yes' OR ({selector[len(prefix) :]})"
        if selector.startswith(prefix)
        else f"end = 'yes' OR ({selector})"
    )
    subscription = client.subscribe(destination, headers={"selector": wrapped}, receipt=True)
    return _picked(client, destination, subscription, headers)


def _all(headers: list[dict[str, str]]) -> list[str]:
    return [str(number) for number in range(len(headers))]


AGES = [{"age": "20"}, {"age": "abc"}, {"age": "5"}, {"age": "20.0"}, {}]


@pytest.mark.parametrize("kind", ["queue", "topic"])
def test_a_selector_picks_by_header(target: Target, kind: str) -> None:
    headers = [{"color": "red"}, {"color": "blue"}, {}, {"color": "red", "size": "L"}]
    picked = _select(target, "color = 'red'", headers, kind)
    assert picked == (_all(headers) if target.facts.selectors == "none" else ["0", "3"])


def test_a_string_header_compared_with_a_number(target: Target) -> None:
    """ActiveMQ reads a header that reads as a number as one (`age > 18` picks age:20); Artemis never."""
    picked = _select(target, "age > 18", AGES)
    expected = {"none": _all(AGES), "activemq": ["0"], "artemis": [], "strict": []}
    assert picked == expected[target.facts.selectors]


def test_artemis_converts_strings_when_asked(target: Target) -> None:
    if target.facts.selectors != "artemis":
        pytest.skip(f"{target.name}: convert_string_expressions: is Artemis' option")
    assert _select(target, "convert_string_expressions:age > 18", AGES) == ["0"]
    assert _select(target, "convert_string_expressions:age = 20", AGES) == ["0"]


def test_three_valued_logic(target: Target) -> None:
    """A missing header is NULL: NOT (color = 'red') does not pick a message without color."""
    headers = [{"color": "red"}, {"color": "blue"}, {}]
    picked = _select(target, "NOT (color = 'red')", headers)
    assert picked == (_all(headers) if target.facts.selectors == "none" else ["1"])


def test_like_in_between_and_null(target: Target) -> None:
    headers = [{"name": "a_c", "color": "red"}, {"name": "abc", "color": "green"}, {"color": "blue"}]
    cases = {
        "name LIKE 'a\\_%' ESCAPE '\\'": ["0"],
        "name NOT LIKE 'a%'": [],
        "color IN ('red', 'blue')": ["0", "2"],
        "color NOT IN ('red', 'blue')": ["1"],
        "name IS NULL": ["2"],
        "'b' BETWEEN 'a' AND 'c'": None,  # refused: BETWEEN compares numbers only
    }
    for selector, expected in cases.items():
        if expected is None:
            continue
        picked = _select(target, selector, headers)
        assert picked == (_all(headers) if target.facts.selectors == "none" else expected), selector


JMS_MESSAGES = [
    {"priority": "9", "type": "car", "correlation-id": "c1", "persistent": "true"},
    {"priority": "1"},
]


@pytest.mark.parametrize(
    ("selector", "picked"),
    [
        ("JMSPriority = 9", {"activemq": ["0"], "strict": ["0"], "artemis": []}),
        ("AMQPriority = 9", {"activemq": [], "strict": [], "artemis": ["0"]}),
        ("JMSType = 'car'", {"activemq": ["0"], "strict": ["0"], "artemis": ["0"]}),
        ("JMSCorrelationID = 'c1'", {"activemq": ["0"], "strict": ["0"], "artemis": ["0"]}),
        ("JMSDeliveryMode = 'PERSISTENT'", {"activemq": ["0"], "strict": ["0"], "artemis": []}),
        ("AMQDurable = 'DURABLE'", {"activemq": [], "strict": [], "artemis": ["0"]}),
        ("priority = 9", {"activemq": [], "strict": [], "artemis": []}),
        ("priority = '9'", {"activemq": [], "strict": ["0"], "artemis": []}),
    ],
)
def test_jms_header_names(target: Target, selector: str, picked: dict[str, list[str]]) -> None:
    """JMS names map to STOMP headers as each broker maps them (Artemis: its AMQ names)."""
    expected = _all(JMS_MESSAGES) if target.facts.selectors == "none" else picked[target.facts.selectors]
    assert _select(target, selector, JMS_MESSAGES) == expected


def test_a_queued_message_nobody_selects_waits_for_another_subscriber(target: Target) -> None:
    client = target.client()
    queue = target.queue()
    choosy = client.subscribe(queue, headers={"selector": "end = 'yes' OR color = 'red'"}, receipt=True)
    picked = _picked(client, queue, choosy, [{"color": "blue"}, {"color": "red"}])
    if target.facts.selectors == "none":
        assert picked == ["0", "1"]
        return
    assert picked == ["1"]
    other = target.client()
    anyone = other.subscribe(queue, receipt=True)
    message = anyone.receive(timeout=10)
    assert message is not None and message.body == b"0", "the blue message did not wait on the queue"


@pytest.mark.parametrize("kind", ["queue", "topic"])
def test_an_invalid_selector(target: Target, raw: list[Raw], kind: str) -> None:  # noqa: F811
    """ActiveMQ: ERROR naming the selector, the connection stays; Artemis: ERROR, closed (1.2); RabbitMQ: RECEIPT."""
    connection = _open(target, raw)
    connection.connect()
    destination = target.queue() if kind == "queue" else target.topic()
    connection.send(f"SUBSCRIBE\nid:1\ndestination:{destination}\nselector:age >\nreceipt:sub\n\n\x00")
    frame = connection.next()
    dialect = target.facts.selectors
    if dialect == "none":
        assert frame.command == "RECEIPT", frame
        return
    assert frame.command == "ERROR", frame
    if dialect == "activemq":
        message = "age >" if kind == "queue" else "Couldn't create TopicSubscription"
        assert frame.headers["message"] == message
        assert frame.headers.get("receipt-id") == "sub"
        assert not connection.closes()
    elif dialect == "artemis":
        assert frame.headers["message"] == 'Invalid selector "age >"'
        assert "receipt-id" not in frame.headers
        assert connection.closes()
    if not target.real:
        assert "line 1, column 5" in frame.body.decode()  # the fake says where the mistake is


def test_selector_refused_through_the_client(target: Target) -> None:
    if target.facts.selectors in ("none", "artemis"):
        pytest.skip(f"{target.name}: no ERROR with receipt-id for a bad selector")
    client = target.client()
    with pytest.raises(BrokerError):
        client.subscribe(target.queue(), headers={"selector": "age > '18'"}, receipt=True)
