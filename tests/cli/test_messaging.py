"""`stomptest send` and `stomptest receive` against the fake broker, over the URLs the clients take."""

from __future__ import annotations

import base64
import json
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from stomptest.broker import Broker
from stomptest.client import Client
from tests.cli.conftest import Run


def test_send_takes_the_body_from_the_argument_with_headers_and_a_receipt(run: Run, broker: Broker) -> None:
    result = run("send", broker.url, "/queue/a", "hello", "-H", "priority:9", "-H", "trace:a:b", "--receipt")
    assert (result.status, result.err) == (0, "stomptest send: the broker confirmed it\n")
    [message] = broker.wait_for_messages("/queue/a")
    assert message.body == b"hello"
    assert (message.header("priority"), message.header("trace")) == ("9", "a:b")


def test_send_takes_the_body_from_a_file_as_bytes(run: Run, broker: Broker, tmp_path: Path) -> None:
    path = tmp_path / "body.bin"
    path.write_bytes(b"\x00\xffbinary")
    assert run("send", broker.url, "/queue/a", "--file", str(path)).status == 0
    assert broker.wait_for_messages("/queue/a")[0].body == b"\x00\xffbinary"


def test_send_takes_the_body_from_stdin(run: Run, broker: Broker) -> None:
    assert run("send", broker.url, "/queue/a", stdin=b"from a pipe\n").status == 0
    assert broker.wait_for_messages("/queue/a")[0].body == b"from a pipe\n"


def seed(broker: Broker, *bodies: bytes, destination: str = "/queue/a") -> None:
    with Client(broker.url) as client:
        for body in bodies:
            client.send(destination, body, headers={"kind": "seed"}, receipt=True)


def test_receive_prints_bodies_and_stops_at_count(run: Run, broker: Broker) -> None:
    seed(broker, b"one", b"two", b"three")
    result = run("receive", broker.url, "/queue/a", "--count", "2", "--ack", "client")
    assert (result.status, result.out) == (0, "one\ntwo\n")
    # the third was delivered too (no prefetch limit) but not acked, so the broker keeps it
    assert [m.body for m in broker.wait_for_messages("/queue/a")] == [b"three"]


def test_receive_json_lines_carry_headers_and_body(run: Run, broker: Broker) -> None:
    seed(broker, "héllo".encode(), b"\xff\xfe")
    result = run("subscribe", broker.url, "/queue/a", "--count", "2", "--json")
    first, second = (json.loads(line) for line in result.out.splitlines())
    assert first["destination"] == "/queue/a" and first["body"] == "héllo"
    assert first["headers"]["kind"] == "seed" and "message-id" in first["headers"]
    assert "body" not in second and base64.b64decode(second["body_base64"]) == b"\xff\xfe"


def test_receive_headers_option_prints_them_before_the_body(run: Run, broker: Broker) -> None:
    seed(broker, b"x")
    lines = run("receive", broker.url, "/queue/a", "-n", "1", "--headers").out.splitlines()
    assert "destination:/queue/a" in lines and "kind:seed" in lines
    assert lines[-2:] == ["", "x"]


@pytest.mark.parametrize("ack", ["client", "client-individual"])
def test_receive_in_a_client_ack_mode_acks_what_it_printed(run: Run, broker: Broker, ack: str) -> None:
    seed(broker, b"one", b"two")
    assert run("receive", broker.url, "/queue/a", "--ack", ack, "-n", "2").status == 0
    assert broker.snapshot().messages("/queue/a") == ()
    assert broker.unacked() == ()
    subscribe = broker.transcript(command="SUBSCRIBE", direction="in")[-1].frame
    assert subscribe.headers["ack"] == ack


def test_receive_passes_its_headers_on_the_subscribe(run: Run, broker: Broker) -> None:
    seed(broker, b"x")
    run("receive", broker.url, "/queue/a", "-n", "1", "-H", "activemq.prefetchSize:1")
    assert broker.transcript(command="SUBSCRIBE", direction="in")[-1].frame.headers["activemq.prefetchSize"] == "1"


def test_receive_timeout_ends_a_quiet_tail_with_status_0(run: Run, broker: Broker) -> None:
    seed(broker, b"only")
    result = run("receive", broker.url, "/queue/a", "--timeout", "0.3")
    assert (result.status, result.out) == (0, "only\n")
    assert result.err == "stomptest receive: no message for 0.3 s, 1 received\n"


def test_a_topic_tail_gets_what_is_sent_while_it_listens(broker: Broker, tmp_path: Path) -> None:
    tail = subprocess.Popen(
        [sys.executable, "-m", "stomptest", "receive", broker.url, "/topic/news", "--count", "1", "--json"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        broker.wait_for_subscriptions("/topic/news", timeout=30)
        with Client(broker.url) as client:
            client.send("/topic/news", b"extra", receipt=True)
        out, _ = tail.communicate(timeout=30)
    finally:
        tail.kill()
    assert tail.returncode == 0 and json.loads(out)["body"] == "extra"


def test_send_and_receive_take_failover_urls(run: Run, broker: Broker) -> None:
    url = f"failover:(tcp://127.0.0.1:1,{broker.url})?initialReconnectDelay=10&randomize=false"
    assert run("send", url, "/queue/a", "via failover", "--receipt").status == 0
    assert run("receive", url, "/queue/a", "-n", "1").out == "via failover\n"


def test_credentials_in_the_url_or_options_reach_the_broker(run: Run) -> None:
    with Broker(profile="rabbitmq", users={"app": "s3cret"}) as broker:
        url = broker.url.replace("tcp://", "tcp://app:s3cret@")
        assert run("send", url, "/queue/a", "x").status == 0
        assert run("receive", broker.url, "/queue/a", "-n", "1", "--login", "app", "--passcode", "s3cret").status == 0


@pytest.fixture
def certificate(tmp_path: Path) -> Path:
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(tmp_path / "key.pem"),
             "-out", str(tmp_path / "cert.pem")],
            check=True, capture_output=True,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("openssl is not installed, so no certificate can be made")
    return tmp_path


def test_ssl_urls_verify_against_ca_or_not_with_insecure(run: Run, certificate: Path) -> None:
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(certificate / "cert.pem", certificate / "key.pem")
    with Broker(profile="strict", ssl_context=server) as broker:
        url = f"ssl://127.0.0.1:{broker.port}"
        refused = run("send", url, "/queue/a", "x", "--connect-timeout", "2")
        assert (
            refused.status == 1
            and "certificate is not trusted" in refused.err
            and "--ca FILE, or --insecure" in refused.err
        )
        assert run("send", url, "/queue/a", "trusted", "--ca", str(certificate / "cert.pem")).status == 0
        assert run("receive", url, "/queue/a", "-n", "1", "--insecure").out == "trusted\n"


def test_receive_into_a_pipe_closed_early_ends_quietly(broker: Broker) -> None:
    seed(broker, *[b"%d " % n + b"x" * 4000 for n in range(100)])  # 400 kB: more than a pipe holds
    command = f"{sys.executable} -m stomptest receive {broker.url} /queue/a --count 100 | head -c 2"
    result = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60)
    assert result.stdout == "0 "
    assert result.stderr == ""  # no traceback, and no "Broken pipe" blamed on the broker
