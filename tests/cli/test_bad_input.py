"""Every bad input of every subcommand: exit status 2 (1 when the broker or network fails), one line on
stderr that says what was wrong, no traceback, and no work started (nothing sent, no broker left running)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from stomptest.broker import Broker
from tests.cli.conftest import Run

NO_FOLDER = "/no/such/folder/report"
# "{url}" is replaced by the test broker's URL, "{dir}" by a folder that exists
BAD_USAGE = [
    # the command itself
    (["frob"], "invalid choice: 'frob'"),
    ([], "COMMAND"),
    # stomptest broker
    (["broker", "--port", "99999"], "a port is 0 to 65535"),
    (["broker", "--port", "x"], "'x' is not a port number"),
    (["broker", "--port", "-1"], "a port is 0 to 65535"),
    (["broker", "--port", "0", "--profile", "nope"], "invalid choice: 'nope'"),
    (["broker", "--port", "0", "--user", "nocolon"], "NAME:PASS"),
    (["broker", "--port", "0", "--limit", "max_frame_bytes=big"], "NAME=INTEGER"),
    (["broker", "--port", "0", "--limit", "nonsense=1"], "NAME=INTEGER"),
    (["broker", "--port", "0", "--tls-key", "k.pem"], "--tls-key needs --tls-cert"),
    (["broker", "--port", "0", "--tls-cert", "/nonexistent.pem"], "cannot load the TLS certificate"),
    (["broker", "--port", "0", "--host", "no.such.host.invalid"], "give --host an address of this machine"),
    (["broker", "--port", "0", "--tls", "--tls-cert", "c.pem"], "cannot load the TLS certificate"),
    (["broker", "--port", "0", "--ca-out", "{dir}/ca.pem"], "--ca-out needs --tls"),
    (["broker", "--port", "0", "--tls", "--ca-out", f"{NO_FOLDER}/ca.pem"], "does not exist"),
    # stomptest conformance
    (["conformance", "--timeout", "-1"], "'-1': give a number of seconds greater than 0"),
    (["conformance", "--timeout", "0"], "'0': give a number of seconds greater than 0"),
    (["conformance", "--timeout", "inf"], "greater than 0"),
    (["conformance", "--timeout", "soon"], "'soon' is not a number of seconds"),
    (["conformance", "--timeout", "1e308"], "give at most 604800 seconds"),
    (["conformance", "--workers", "0"], "'0': give a whole number of at least 1"),
    (["conformance", "--workers", "two"], "'two' is not a whole number"),
    (["conformance", "--json", f"{NO_FOLDER}/x.json"], f"the folder '{NO_FOLDER}' does not exist"),
    (["conformance", "--junit-xml", f"{NO_FOLDER}/x.xml"], "does not exist"),
    (["conformance", "--html", f"{NO_FOLDER}/x.html"], "does not exist"),
    (["conformance", "--json", "{dir}"], "is a folder: give a file name"),
    (["conformance", "--versions", "1.5"], "use a comma-separated subset of 1.0,1.1,1.2"),
    (["conformance", "--checks", "nope"], "unknown check(s) nope"),
    (["conformance", "--profile", "nope"], "invalid choice: 'nope'"),
    (["conformance", "nope://host"], "unknown scheme 'nope'"),
    (["conformance", "--ca", "/nonexistent.pem", "{url}"], "cannot load CA certificates"),
    # stomptest send
    (["send"], "the following arguments are required: URL, DEST"),
    (["send", "{url}", "/queue/a", "body", "--file", "/nonexistent"], "cannot read '/nonexistent'"),
    (["send", "{url}", "/queue/a", "-H", "nocolon"], "header 'nocolon': write NAME:VALUE"),
    (["send", "{url}", "/queue/a", "-H", ":value"], "write NAME:VALUE"),
    (["send", "{url}", "/queue/a", "--stomp-version", "2.0"], "invalid choice: '2.0'"),
    (["send", "{url}", "/queue/a", "x", "--connect-timeout", "0"], "greater than 0"),
    (["send", "{url}", "/queue/a", "x", "--connect-timeout", "1e308"], "give at most 604800 seconds"),
    (["send", "{url}", "/queue/a", "--file", "{dir}"], "it is a folder; give a file"),
    (["send", "{url}", " ", "x"], "give a destination such as /queue/orders"),
    (["send", "nope://host", "/queue/a", "x"], "unknown scheme 'nope'"),
    (["send", "{url}", "/queue/a", "x", "--ca", "/nonexistent.pem"], "cannot load CA certificates"),
    # stomptest receive / subscribe
    (["receive", "{url}"], "the following arguments are required: DEST"),
    (["receive", "{url}", "/queue/a", "--count", "0"], "give a whole number of at least 1"),
    (["subscribe", "{url}", "/queue/a", "--count", "many"], "'many' is not a whole number"),
    (["receive", "{url}", "/queue/a", "--timeout", "-2"], "greater than 0"),
    (["receive", "{url}", "/queue/a", "--timeout", "1e308"], "give at most 604800 seconds (a week)"),
    (["receive", "{url}", ""], "give a destination such as /queue/orders"),
    (["receive", "{url}", "/queue/a", "--ack", "sometimes"], "invalid choice: 'sometimes'"),
    (["receive", "{url}", "/queue/a", "-H", "selector"], "write NAME:VALUE"),
    # stomptest shell
    (["shell"], "the following arguments are required: URL"),
    (["shell", "nope://host"], "unknown scheme 'nope'"),
    (["shell", "{url}", "--connect-timeout", "-1"], "greater than 0"),
]


@pytest.fixture
def url() -> Iterator[str]:
    """A broker that must see no connection: the bad options stop every command before any work."""
    with Broker(profile="strict") as broker:
        yield broker.url
        assert broker.transcript() == [], "a command with bad options still talked to the broker"


@pytest.mark.parametrize(("argv", "message"), BAD_USAGE, ids=[" ".join(a) or "(nothing)" for a, _ in BAD_USAGE])
def test_bad_usage_exits_2_with_one_line(argv: list[str], message: str, run: Run, url: str, tmp_path: Path) -> None:
    result = run(*(word.format(url=url, dir=tmp_path) for word in argv))
    assert result.status == 2
    if argv:
        assert len(result.err.splitlines()) == 1, result.err
    assert message in result.err
    assert "Traceback" not in result.err and result.out == ""


def test_the_old_conformance_host_option_still_works_with_a_warning(run: Run) -> None:
    result = run("conformance", "--host", "/", "--checks", "nope")
    assert result.err.splitlines()[0] == "stomptest conformance: --host is deprecated, use --vhost (same meaning)"
    assert "unknown check(s) nope" in result.err.splitlines()[1]


def test_body_given_twice_is_refused_before_connecting(run: Run, url: str, tmp_path: Path) -> None:
    body = tmp_path / "body.txt"
    body.write_text("x")
    result = run("send", url, "/queue/a", "text", "--file", str(body))
    assert (result.status, result.err) == (2, "stomptest send: give the body as BODY or --file, not both\n")


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("command", [["send", "/queue/a", "x"], ["receive", "/queue/a"], ["shell"]])
def test_an_unreachable_broker_is_one_line_and_status_1(command: list[str], run: Run, closed_port: int) -> None:
    url = f"tcp://guest:secret@127.0.0.1:{closed_port}"
    result = run(command[0], url, *command[1:], "--connect-timeout", "2")
    assert result.status == 1
    [line] = result.err.splitlines()
    assert line.startswith(f"stomptest {command[0]}: tcp://guest:***@127.0.0.1:{closed_port}: ")
    assert "Connection refused" in line and "secret" not in line


def test_a_refused_login_is_one_line_and_status_1(run: Run) -> None:
    with Broker(profile="rabbitmq", users={"guest": "guest"}) as broker:
        result = run("send", broker.url, "/queue/a", "x", "--login", "guest", "--passcode", "wrong")
    assert result.status == 1
    [line] = result.err.splitlines()
    assert line.startswith("stomptest send: the broker refused CONNECT: ")


def test_the_taken_default_port_names_the_option_to_use(run: Run) -> None:
    with socket.socket() as busy:
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            busy.bind(("127.0.0.1", 61613))
        except OSError:
            pass  # taken already, by a real broker: the case itself
        else:
            busy.listen(1)
        result = run("broker")
    assert result.status == 2
    assert result.err == (
        "stomptest broker: port 61613 on 127.0.0.1 is taken (STOMP's default port: is a RabbitMQ, ActiveMQ or "
        "Artemis running?): choose another with --port N, or --port 0 for a free one\n"
    )


def test_a_taken_chosen_port_names_the_option_without_guessing_who(run: Run) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = run("broker", "--port", str(port))
    assert result.status == 2
    expected = f"port {port} on 127.0.0.1 is taken: choose another with --port N, or --port 0 for a free one"
    assert result.err == f"stomptest broker: {expected}\n"


def test_conformance_against_an_unreachable_broker_is_one_line(run: Run, closed_port: int) -> None:
    result = run("conformance", f"tcp://127.0.0.1:{closed_port}", "--checks", "framing-body")
    assert result.status == 2
    assert (
        result.err
        == f"stomptest conformance: cannot test tcp://127.0.0.1:{closed_port}: [Errno 111] Connection refused\n"
    )


def test_a_report_that_cannot_be_written_after_the_run_is_one_line(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(self: Path, *args: object, **kwargs: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    result = run(
        "conformance", "--checks", "framing-body", "--versions", "1.2", "-q", "--json", str(tmp_path / "r.json")
    )
    assert result.status == 2
    assert (
        result.err.splitlines()[-1]
        == f"stomptest conformance: cannot write {tmp_path / 'r.json'}: No space left on device"
    )


def test_an_unreachable_plain_url_gives_the_reason_without_the_failover_counts(run: Run, closed_port: int) -> None:
    result = run("send", f"tcp://127.0.0.1:{closed_port}", "/queue/a", "x")
    assert (result.status, result.err) == (
        1,
        f"stomptest send: tcp://127.0.0.1:{closed_port}: cannot reach the broker: Connection refused\n",
    )


def test_a_failover_url_with_every_member_down_gives_up_after_one_round(run: Run, closed_port: int) -> None:
    # ActiveMQ's default retries for ever: from a shell, a command that hung without a word
    url = f"failover:(tcp://127.0.0.1:{closed_port},tcp://127.0.0.1:{closed_port})?randomize=false"
    result = run("send", url, "/queue/a", "x")
    assert result.status == 1
    [line] = result.err.splitlines()
    assert "2 connection attempt(s)" in line and "Connection refused" in line


def test_a_refused_login_names_the_refusal_once(run: Run) -> None:
    with Broker(profile="artemis", users={"guest": "guest"}) as broker:
        result = run("send", broker.url, "/queue/a", "x", "--login", "guest", "--passcode", "wrong")
    assert result.status == 1
    [line] = result.err.splitlines()
    assert line.startswith("stomptest send: the broker refused CONNECT: broker sent ERROR: ")
    assert line.count("the broker refused") == 1
    said = line.split("broker sent ERROR: ", 1)[1]
    assert not said.endswith(f"({said.split(' (')[0]})"), "the ERROR's message and body, said twice"


def test_a_folder_as_the_body_file_is_named_a_folder(run: Run, url: str, tmp_path: Path) -> None:
    result = run("send", url, "/queue/a", "--file", str(tmp_path))
    assert result.status == 2
    assert f"cannot read {str(tmp_path)!r}: it is a folder; give a file" in result.err


@pytest.mark.parametrize("command", ["send", "receive"])
def test_an_empty_destination_is_refused_before_connecting(command: str, run: Run, closed_port: int) -> None:
    result = run(command, f"tcp://127.0.0.1:{closed_port}", "", *(["x"] if command == "send" else []))
    assert result.status == 2
    [line] = result.err.splitlines()
    assert "give a destination such as /queue/orders" in line and "Connection refused" not in line
