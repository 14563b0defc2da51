"""What a failing assertion helper prints: the closest things the broker did see."""

from __future__ import annotations

import textwrap

import pytest

PRELUDE = """
import stomp

def connect(broker, version="1.2"):
    factory = {"1.0": stomp.Connection10, "1.1": stomp.Connection11, "1.2": stomp.Connection12}[version]
    options = {} if version == "1.0" else {"vhost": "/"}
    connection = factory([broker.address], **options)
    connection.connect(wait=True)
    return connection
"""

SCENARIOS = {
    "wrong_body": (
        """
        def test_it(stomp_broker):
            c = connect(stomp_broker)
            c.send("/queue/a", "hello", headers={"kind": "greeting"})
            c.send("/queue/b", "hullo")
            stomp_broker.assert_sent("/queue/a", "hullo", timeout=0.2)
        """,
        [
            "E*AssertionError: expected a message sent to /queue/a body=b'hullo' within 0.2 s",
            "E*closest of 2:",
            "E*#1 /queue/a *kind:greeting *body=b'hello'",
            "E*(another body)",
            "E*#1 /queue/b *body=b'hullo'",
            "E*(destination '/queue/b')",
        ],
    ),
    "wrong_header": (
        """
        def test_it(stomp_broker):
            c = connect(stomp_broker)
            c.send("/queue/a", "hello", headers={"kind": "greeting"})
            stomp_broker.assert_sent("/queue/a", headers={"kind": "farewell"}, timeout=0.2)
        """,
        [
            "E*expected a message sent to /queue/a kind:farewell within 0.2 s",
            "E*#1 /queue/a *kind:greeting*",
            "E*(kind is 'greeting', not 'farewell')",
        ],
    ),
    "nothing_at_all": (
        """
        def test_it(stomp_broker):
            stomp_broker.assert_sent("/queue/a", timeout=0.1)
        """,
        ["E*expected a message sent to /queue/a within 0.1 s", "E*nothing was sent to any destination"],
    ),
    "too_many": (
        """
        def test_it(stomp_broker):
            c = connect(stomp_broker)
            c.send("/queue/a", "one")
            c.send("/queue/a", "two")
            c.disconnect()
            stomp_broker.assert_sent("/queue/a", count=1)
        """,
        [
            "E*expected 1 message(s) sent to /queue/a, found 2:",
            "E*/queue/a *body=b'one'",
            "E*/queue/a *body=b'two'",
        ],
    ),
    "not_committed": (
        """
        def test_it(stomp_broker):
            c = connect(stomp_broker)
            c.begin("tx1")
            c.send("/queue/a", "held", transaction="tx1")
            stomp_broker.assert_sent("/queue/a", "held", timeout=0.2)
        """,
        [
            "E*no committed message sent to /queue/a body=b'held' within 0.2 s; matching but not committed:",
            "E*/queue/a *body=b'held' in transaction tx1 (pending)",
        ],
    ),
    "something_sent": (
        """
        def test_it(stomp_broker):
            c = connect(stomp_broker)
            c.send("/queue/a", "surprise")
            stomp_broker.assert_nothing_sent("/queue/a", within=1)
        """,
        ["E*expected nothing sent to /queue/a, but 1 message(s) were:", "E*/queue/a *body=b'surprise'"],
    ),
    "acked_with_the_wrong_call": (
        """
        import queue

        class Listener(stomp.ConnectionListener):
            def __init__(self):
                self.frames = queue.Queue()

            def on_message(self, frame):
                self.frames.put(frame)

        def test_it(stomp_broker):
            stomp_broker.seed("/queue/a", "work")
            c = connect(stomp_broker)
            listener = Listener()
            c.set_listener("l", listener)
            c.subscribe("/queue/a", id="s1", ack="client-individual")
            frame = listener.frames.get(timeout=5)
            c.ack(frame.headers["message-id"], frame.headers["subscription"])  # 1.2: (id, transaction)!
            stomp_broker.assert_acknowledged("/queue/a", "work", timeout=0.3)
        """,
        [
            "E*no acknowledgement within 0.3 s for a message to /queue/a body=b'work'; its deliveries:",
            "E*#1 subscription s1 (ack:client-individual) /queue/a message-id:* body=b'work' -> unacked",
            "E*the broker sent 1 ERROR frame(s):",
            "E*#1 <- ERROR *unknown transaction s1*",
        ],
    ),
    "auto_ack": (
        """
        import threading

        def test_it(stomp_broker):
            got = threading.Event()
            c = connect(stomp_broker)
            c.set_listener("l", type("L", (stomp.ConnectionListener,), {"on_message": lambda self, f: got.set()})())
            c.subscribe("/queue/a", id="s1")
            c.send("/queue/a", "work")
            assert got.wait(5)
            stomp_broker.assert_acknowledged("/queue/a", timeout=0.1)
        """,
        [
            "E*#1 subscription s1 (ack:auto) /queue/a * -> auto",
            "E*(auto-ack subscriptions need no ACK: subscribe with ack=client or client-individual)",
        ],
    ),
    "never_delivered": (
        """
        def test_it(stomp_broker):
            stomp_broker.seed("/queue/a", "waiting")
            stomp_broker.assert_acknowledged("/queue/a", timeout=0.1)
        """,
        [
            "E*expected an acknowledged message to /queue/a within 0.1 s; no such message was delivered",
            "E*no message was delivered at all",
        ],
    ),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_failure_message(pytester: pytest.Pytester, scenario: str) -> None:
    code, expected = SCENARIOS[scenario]
    pytester.makepyfile(PRELUDE + textwrap.dedent(code))
    result = pytester.runpytest_inprocess("-p", "no:xdist")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(expected)


def test_a_client_mode_ack_acknowledges_the_earlier_messages_too(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        PRELUDE
        + textwrap.dedent(
            """
            import queue

            def test_it(stomp_broker):
                stomp_broker.seed("/queue/a", "first")
                stomp_broker.seed("/queue/a", "second")
                frames = queue.Queue()
                c = connect(stomp_broker)
                listener = type("L", (stomp.ConnectionListener,), {"on_message": lambda s, f: frames.put(f)})
                c.set_listener("l", listener())
                c.subscribe("/queue/a", id="s1", ack="client")
                frames.get(timeout=5)
                second = frames.get(timeout=5)
                c.ack(second.headers["ack"])
                assert [d.body for d in stomp_broker.assert_acknowledged("/queue/a")] == [b"first", b"second"]
                assert [d.status for d in stomp_broker.deliveries("/queue/a")] == ["acked", "acked"]
            """
        )
    )
    pytester.runpytest_inprocess("-p", "no:xdist").assert_outcomes(passed=1)


def test_a_failure_inside_the_broker_is_raised_in_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_quiet(stomp_broker):
            stomp_broker.engine.internal_errors.append("KeyError: 'boom' while dispatching")

        def test_asserting(stomp_broker):
            stomp_broker.engine.internal_errors.append("KeyError: 'bang' while dispatching")
            stomp_broker.assert_nothing_sent()
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:xdist")
    result.assert_outcomes(passed=1, errors=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_quiet*",
            "E*BrokerFailure: the broker failed 1 time(s); first:",
            "E*KeyError: 'boom' while dispatching",
            "*test_asserting*",
            "E*BrokerFailure: the broker failed 1 time(s); first:",
            "E*KeyError: 'bang' while dispatching",
        ]
    )


def test_a_failure_inside_the_session_broker_is_raised_in_that_test_only(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_breaks_it(stomp_broker_session):
            stomp_broker_session.engine.internal_errors.append("KeyError: 'boom' in the session broker")

        def test_after(stomp_broker_session):
            stomp_broker_session.check()
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:xdist")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_breaks_it*", "E*KeyError: 'boom' in the session broker"])
