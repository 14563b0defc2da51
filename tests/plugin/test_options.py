"""The options, ini twins and markers as a user meets them, through pytester."""

from __future__ import annotations

import pytest

from stomptest.broker import Broker

PROFILE_TEST = """
def test_profile(stomp_broker):
    print("profile:", stomp_broker.profile.name)
"""


@pytest.mark.parametrize(
    ("ini", "args", "profile"),
    [
        ("", [], "strict"),
        ("stomp_profile = activemq", [], "activemq"),
        ("stomp_profile = activemq", ["--stomp-profile=rabbitmq"], "rabbitmq"),
    ],
)
def test_the_command_line_beats_the_ini_file_which_beats_the_default(
    pytester: pytest.Pytester, ini: str, args: list[str], profile: str
) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.makepyfile(PROFILE_TEST)
    result = pytester.runpytest_inprocess("-p", "no:xdist", "-s", *args)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*profile: {profile}*"])


def test_the_ini_url_selects_an_external_broker(pytester: pytest.Pytester) -> None:
    with Broker() as broker:
        pytester.makeini(f"[pytest]\nstomp_url = {broker.url}\nstomp_versions = 1.2\n")
        pytester.makepyfile("def test_it(stomp_broker):\n    assert stomp_broker.external\n")
        result = pytester.runpytest_inprocess("-p", "no:xdist")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"stomptest: external broker {broker.url}: stomptest/* (STOMP 1.2), versions 1.2"])


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--stomp-profile=nope"], "*--stomp-profile: unknown broker profile 'nope'; use one of*"),
        (["--stomp-versions=1.3"], "*--stomp-versions: '1.3' is not a list of STOMP versions*"),
        (["--stomp-url=http://x:1"], "*--stomp-url: 'http://x:1': unknown scheme 'http'*"),
    ],
)
def test_a_bad_option_is_a_usage_error_that_says_what_to_write(
    pytester: pytest.Pytester, args: list[str], says: str
) -> None:
    pytester.makepyfile("def test_it():\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:xdist", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([says])


def test_the_options_and_markers_are_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("-p", "no:xdist", "--help")
    result.stdout.fnmatch_lines(["*--stomp-url=*", "*--stomp-profile=*", "*--stomp-versions=*"])
    result.stdout.fnmatch_lines(["*stomp_url (string):*", "*stomp_profile (string):*", "*stomp_versions (string):*"])
    markers = pytester.runpytest_inprocess("-p", "no:xdist", "--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.stomp_broker(profile=None, *, users=None, **limits):*"])
    markers.stdout.fnmatch_lines(["@pytest.mark.stomp_fake_only:*"])


def test_the_marker_sets_profile_users_and_limits(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        import stomp

        @pytest.mark.stomp_broker("artemis", users={"app": "pw"}, max_frame_bytes=2048)
        def test_configured(stomp_broker):
            assert stomp_broker.profile.name == "artemis"
            assert stomp_broker.limits.max_frame_bytes == 2048
            assert (stomp_broker.login, stomp_broker.passcode) == ("app", "pw")
            refused = stomp.Connection12([stomp_broker.address], vhost="/")
            with pytest.raises(stomp.exception.ConnectFailedException):
                refused.connect("app", "wrong", wait=True)
            accepted = stomp.Connection12([stomp_broker.address], vhost="/")
            accepted.connect("app", "pw", wait=True)
            accepted.disconnect()

        @pytest.mark.stomp_broker(profile="nope")
        def test_bad_profile(stomp_broker):
            pass

        @pytest.mark.stomp_broker(max_nonsense=3)
        def test_bad_limit(stomp_broker):
            pass

        @pytest.mark.stomp_broker(profile="rabbitmq")
        def test_marker_with_the_session_broker(stomp_broker_session):
            pass
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:xdist")
    result.assert_outcomes(passed=1, errors=3)
    result.stdout.fnmatch_lines(["*::test_bad_profile: @pytest.mark.stomp_broker: unknown broker profile 'nope'*"])
    result.stdout.fnmatch_lines(["*::test_bad_limit: @pytest.mark.stomp_broker: unknown limit(s) max_nonsense: use*"])
    result.stdout.fnmatch_lines(["*@pytest.mark.stomp_broker configures stomp_broker, not the shared*"])
    # each mistake said once, with no chained exception printed before it
    assert "During handling of the above exception" not in result.stdout.str()
    # counted above the short summary, which repeats it in full where pytest sees CI=true
    report = result.stdout.str().split("short test summary info")[0]
    assert report.count("unknown broker profile 'nope'") == 1


def test_fake_only_tests_and_the_factory_skip_with_a_reason_under_an_external_broker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.stomp_fake_only
        def test_marked(stomp_broker):
            pass

        def test_factory(stomp_broker_factory):
            pass

        def test_snapshot(stomp_broker):
            stomp_broker.snapshot()

        def test_destinations_are_per_test(stomp_broker):
            assert stomp_broker.destination("/queue/a") == stomp_broker.destination("/queue/a")
            assert stomp_broker.destination("/queue/a").startswith("/queue/a-st")
            assert stomp_broker.destination("/queue/a") != stomp_broker.destination("/queue/b")
        """
    )
    with Broker() as broker:
        result = pytester.runpytest_inprocess("-p", "no:xdist", f"--stomp-url={broker.url}", "-rs")
    result.assert_outcomes(passed=1, skipped=3)
    result.stdout.fnmatch_lines(
        [
            f"*needs the fake broker (stomp_fake_only); running against {broker.url}",
            f"*stomp_broker_factory makes fake brokers; running against {broker.url}",
            f"*stomp_broker.snapshot needs the fake broker's inspection or faults; running against {broker.url}*",
        ]
    )


def test_marker_users_that_are_not_strings_or_that_no_login_passes_are_one_line_each(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.stomp_broker(users={"app": 1})
        def test_number_passcode(stomp_broker):
            pass

        @pytest.mark.stomp_broker(users={})
        def test_nobody_may_log_in(stomp_client):
            pass
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:xdist")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            "@pytest.mark.stomp_broker(users={'app': 1}): logins and passcodes are strings, such as *",
            "stomp_client could not log in to tcp://127.0.0.1:* without a login: the broker refused CONNECT: *",
        ],
        consecutive=False,
    )
    assert "stomptest/client" not in result.stdout.str()  # no source of ours on the way
