"""Under --stomp-url the plugin learns which broker answers, once, and acts on it: the header line,
skips that name the test's own marker, one message for a URL that does not answer; and failures and
skips point at the user's test, never at stomptest's source."""

from __future__ import annotations

import socket
import textwrap

import pytest

from stomptest.broker import Broker


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_inprocess("-p", "no:xdist", "-p", "no:cacheprovider", "-rs", *args)


def test_an_unreachable_url_stops_the_session_at_the_start_with_one_message(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_a(stomp_client): pass\ndef test_b(stomp_broker): pass\ndef test_c(): pass\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run(pytester, f"--stomp-url=tcp://app:s3cret@127.0.0.1:{port}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "passed" not in result.stdout.str() and "failed" not in result.stdout.str()
    # once, as pytest prints a usage error, and nothing else: no banner repeating it, no traceback
    text = result.stdout.str() + result.stderr.str()
    assert text.count("no STOMP broker answers") == 1 and "_pytest" not in text, text
    [line] = [line for line in result.errlines if "no STOMP broker answers" in line]
    assert line == (
        f"ERROR: stomptest: --stomp-url tcp://app:***@127.0.0.1:{port}: no STOMP broker answers (Connection refused); "
        "start it, or leave --stomp-url out to use fake brokers"
    )
    assert "s3cret" not in result.stdout.str() + result.stderr.str()


def test_a_refused_login_stops_the_session_at_the_start(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it(stomp_broker): pass\n")
    with Broker(profile="activemq", users={"app": "pw"}) as broker:
        result = run(pytester, f"--stomp-url=tcp://app:wrong@127.0.0.1:{broker.port}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    text = result.stdout.str() + result.stderr.str()
    assert "the broker refused to connect: broker sent ERROR" in text and "check the login and passcode" in text
    assert text.count("the broker refused to connect") == 1 and "_pytest" not in text, text


def test_the_header_line_names_the_broker_that_answered(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_it(): pass\n")
    with Broker(profile="artemis") as broker:
        result = run(pytester, f"--stomp-url={broker.url}", "--stomp-versions=1.1,1.2")
    result.stdout.fnmatch_lines(
        [f"stomptest: external broker {broker.url}: ActiveMQ-Artemis/* (STOMP 1.2), versions 1.1,1.2"]
    )


MARKED = """
import pytest

@pytest.mark.stomp_broker(profile="rabbitmq")
def test_rabbitmq_only(stomp_broker):
    pass

@pytest.mark.stomp_broker("activemq")
def test_activemq_only(stomp_broker):
    pass

@pytest.mark.stomp_broker(max_frame_bytes=1024)
def test_small_frames(stomp_broker):
    pass

@pytest.mark.stomp_broker(profile="activemq", users={"app": "secret"})
def test_users(stomp_broker):
    pass

def test_unmarked(stomp_broker):
    pass
"""


def test_markers_that_cannot_hold_skip_naming_the_marker_at_the_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_marked=MARKED)
    with Broker(profile="activemq") as broker:
        result = run(pytester, f"--stomp-url={broker.url}")
    result.assert_outcomes(passed=2, skipped=3)
    where = f"--stomp-url {broker.url} is ActiveMQ/5.17.2 (STOMP 1.2)"
    result.stdout.fnmatch_lines(
        [
            "SKIPPED ?1? test_marked.py:3: @pytest.mark.stomp_broker(profile='rabbitmq') needs a rabbitmq broker; "
            f"{where}",
            "SKIPPED ?1? test_marked.py:11: @pytest.mark.stomp_broker(max_frame_bytes=1024): max_frame_bytes is a "
            f"setting of the fake broker, which an external one cannot take; {where}",
            "SKIPPED ?1? test_marked.py:15: @pytest.mark.stomp_broker(profile='activemq', users=...): users is a "
            f"setting of the fake broker, which an external one cannot take; {where}",
        ],
        consecutive=False,
    )
    assert "secret" not in result.stdout.str()
    assert "stomptest/" not in result.stdout.str().replace(f"{broker.url}", "")


def test_a_fake_only_call_skips_at_the_users_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_calls=textwrap.dedent(
            """
            def test_restart(stomp_broker):
                queue = stomp_broker.destination("/queue/a")
                stomp_broker.restart()
            """
        )
    )
    with Broker() as broker:
        result = run(pytester, f"--stomp-url={broker.url}")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED ?1? test_calls.py:3: stomp_broker.restart needs the fake broker*"])


def test_a_users_string_in_the_marker_is_a_clear_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.stomp_broker(users="guest:guest")
        def test_it(stomp_broker):
            pass
        """
    )
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.stomp_broker(users='guest:guest'): users is a dict of login -> passcode, "
            "such as users={'guest': 'guest'}"
        ]
    )
    assert "dictionary update sequence" not in result.stdout.str()


FAILING = """
def test_fake(stomp_broker):
    stomp_broker.assert_sent("/queue/a", "hello", timeout=0.05)

def test_nothing(stomp_broker, stomp_client):
    stomp_client.send(stomp_broker.destination("/queue/b"), "surprise", receipt=True)
    stomp_broker.assert_nothing_sent(stomp_broker.destination("/queue/b"))

def test_acknowledged(stomp_broker):
    stomp_broker.assert_acknowledged("/queue/c", timeout=0.05)

def test_waited(stomp_broker):
    stomp_broker.wait_for_messages("/queue/d", timeout=0.05)
"""


def _assert_only_the_users_lines(result: pytest.RunResult, count: int) -> None:
    text = result.stdout.str()
    assert "stomptest/testing" not in text and "__tracebackhide__" not in text
    assert "contextlib" not in text
    # each failure: its header, the test's source up to the failing line (marked >), the E lines, its location
    assert len(result.stdout.lines) < 25 * count, text


def test_a_failing_helper_shows_the_users_line_and_the_diagnosis_only(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_failing=FAILING)
    result = run(pytester)
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(
        ['>       stomp_broker.wait_for_messages("/queue/d", timeout=0.05)', "E       *WaitTimeout: timed out after*"]
    )
    result.stdout.fnmatch_lines(
        [
            '>       stomp_broker.assert_sent("/queue/a", "hello", timeout=0.05)',
            "E       AssertionError: expected a message sent to /queue/a body=b'hello' within 0.05 s*",
            "test_failing.py:2: AssertionError",
        ],
        consecutive=False,
    )
    result.stdout.fnmatch_lines(
        ['>       stomp_broker.assert_nothing_sent(stomp_broker.destination("/queue/b"))', "test_failing.py:6: *"]
    )
    _assert_only_the_users_lines(result, 4)


def test_a_failing_helper_on_an_external_broker_shows_only_the_users_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_failing=FAILING.split("def test_acknowledged")[0].replace("/queue/", "/queue/ext-"))
    with Broker() as broker:
        result = run(pytester, f"--stomp-url={broker.url}?timeout=2")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        ["test_failing.py:2: AssertionError", "test_failing.py:6: AssertionError"], consecutive=False
    )
    _assert_only_the_users_lines(result, 2)


def test_a_profile_skip_reads_as_english(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        'import pytest\n\n@pytest.mark.stomp_broker(profile="artemis")\ndef test_it(stomp_broker):\n    pass\n'
    )
    with Broker(profile="activemq") as broker:
        result = run(pytester, f"--stomp-url={broker.url}")
    result.stdout.fnmatch_lines(["SKIPPED * @pytest.mark.stomp_broker(profile='artemis') needs an artemis broker; *"])
