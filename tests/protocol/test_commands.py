"""The stateless commands: version rules, interpreters, and frames that two independent parsers accept."""

from __future__ import annotations

import pytest
import stomp.utils
from hypothesis import given
from hypothesis import strategies as st

from stomptest.protocol import commands
from stomptest.protocol.commands import MessageInfo
from stomptest.protocol.errors import BrokerError, ConfigurationError, ProtocolError, RemoteProtocolError
from stomptest.protocol.frame import Frame
from stomptest.protocol.parser import Parser
from stomptest.protocol.spec import VERSIONS

versions = st.sampled_from(VERSIONS)


def _text(version: str, *, escaped: bool) -> st.SearchStrategy[str]:
    """Header text the version can carry: escapable characters only where escaping applies."""
    forbidden = "\x00"
    if not escaped or version == "1.0":
        forbidden += "\n\r\\"  # no escaping; stomp.py would also unescape backslashes
    elif version == "1.1":
        forbidden += "\r"  # 1.1 has no escape for CR
    alphabet = st.characters(blacklist_characters=forbidden, blacklist_categories=("Cs",))
    return st.text(alphabet, min_size=1, max_size=12)


names = st.from_regex(r"x-[a-z]{1,6}", fullmatch=True)
bodies = st.one_of(st.binary(max_size=40), st.text(max_size=20))


@st.composite
def client_frames(draw: st.DrawFn) -> tuple[str, Frame]:
    """Any client frame a builder makes, for any version, with valid random arguments."""
    version = draw(versions)
    text = _text(version, escaped=True)
    receipt = draw(st.none() | text)
    extra = draw(st.lists(st.tuples(names, text), max_size=3))
    kind = draw(st.sampled_from(["connect", "send", "subscribe", "unsubscribe", "ack", "nack", "tx", "disconnect"]))
    if kind == "connect":
        plain = _text(version, escaped=False)
        frame = commands.connect(
            version,
            host=draw(plain) if version != "1.0" else draw(st.none() | plain),
            login=draw(st.none() | plain),
            passcode=draw(st.none() | plain),
            heartbeat=None
            if version == "1.0"
            else draw(st.none() | st.tuples(st.integers(0, 10**6), st.integers(0, 10**6))),
            headers=draw(st.lists(st.tuples(names, plain), max_size=2)),
            command=draw(st.sampled_from(["CONNECT", "STOMP"])) if version != "1.0" else "CONNECT",
        )
    elif kind == "send":
        transaction = draw(st.none() | text)
        frame = commands.send(
            version, draw(text), draw(bodies), headers=extra, transaction=transaction, receipt=receipt
        )
    elif kind == "subscribe":
        modes = ["auto", "client"] + (["client-individual"] if version != "1.0" else [])
        sub_id = draw(text) if version != "1.0" else draw(st.none() | text)
        ack = draw(st.sampled_from(modes))
        frame = commands.subscribe(version, draw(text), id=sub_id, ack=ack, headers=extra, receipt=receipt)
    elif kind == "unsubscribe":
        if version == "1.0" and draw(st.booleans()):
            frame = commands.unsubscribe(version, destination=draw(text), receipt=receipt)
        else:
            frame = commands.unsubscribe(version, id=draw(text), receipt=receipt)
    elif kind in ("ack", "nack"):
        info = MessageInfo(draw(text), draw(text), draw(text), draw(text))
        build = commands.nack if kind == "nack" and version != "1.0" else commands.ack
        frame = build(version, info, transaction=draw(st.none() | text), receipt=receipt)
    elif kind == "tx":
        build = draw(st.sampled_from([commands.begin, commands.commit, commands.abort]))
        frame = build(version, draw(text), receipt=receipt)
    else:
        frame = commands.disconnect(version, receipt=receipt)
    return version, frame


def _without_added_length(parsed: Frame, built: Frame) -> list[tuple[str, str]]:
    """The parsed headers minus the content-length that encode() adds for bodies with NUL."""
    if "content-length" in built.headers:
        return list(parsed.raw_headers)
    return [(name, value) for name, value in parsed.raw_headers if name != "content-length"]


@given(client_frames())
def test_built_frames_parse_back_with_our_parser(item: tuple[str, Frame]) -> None:
    version, frame = item
    parsed = Parser(version).feed(frame.encode(version))
    assert len(parsed) == 1
    got = parsed[0]
    assert isinstance(got, Frame)
    assert got.command == frame.command
    assert _without_added_length(got, frame) == list(frame.raw_headers)
    assert got.body == frame.body


@given(client_frames())
def test_built_frames_are_accepted_by_stomp_py(item: tuple[str, Frame]) -> None:
    version, frame = item
    data = frame.encode(version)
    assert data.endswith(b"\x00")
    theirs = stomp.utils.parse_frame(data[:-1])  # stomp.py's transport strips the NUL before parsing
    assert theirs is not None
    assert theirs.cmd == frame.command
    expected = dict(frame.headers)
    if b"\x00" in frame.body:
        expected["content-length"] = str(len(frame.body))
    assert theirs.headers == expected
    assert theirs.body == frame.body


# --- version rules ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: commands.connect("1.1"), "requires a host"),
        (lambda: commands.connect("1.2", host=""), "requires a host"),
        (lambda: commands.stomp("1.0"), "use CONNECT for 1.0"),
        (lambda: commands.connect("1.0", heartbeat=(1000, 1000)), "heart-beats only exist"),
        (lambda: commands.connect("1.2", host="/", versions=["1.0", "1.1"]), "highest version"),
        (lambda: commands.subscribe("1.1", "/queue/a"), "needs an id"),
        (lambda: commands.subscribe("1.2", "/queue/a"), "needs an id"),
        (lambda: commands.subscribe("1.0", "/queue/a", ack="client-individual"), "use ack='client'"),
        (lambda: commands.subscribe("1.2", "/queue/a", id="s", ack="manual"), "does not exist"),
        (lambda: commands.subscribe("1.2", "", id="s"), "destination"),
        (lambda: commands.subscribe("1.2", "/q", id="s", headers={"ack": "client"}), "keyword arguments"),
        (lambda: commands.unsubscribe("1.1", destination="/queue/a"), "needs the subscription's id"),
        (lambda: commands.unsubscribe("1.0"), "id= or destination="),
        (lambda: commands.nack("1.0", MessageInfo("/q", "m")), "leave the message unacknowledged"),
        (lambda: commands.ack("1.1", MessageInfo("/q", "m")), "without its subscription"),
        (lambda: commands.ack("1.2", MessageInfo("/q", "m", "s")), "ack:auto messages need no ACK"),
        (lambda: commands.begin("1.2", ""), "non-empty str transaction"),
        (lambda: commands.send("1.2", "/q", transaction=""), "non-empty str transaction"),
        (lambda: commands.beat("1.0"), "no heart-beats"),
        (lambda: commands.send("1.2", "/q", headers=[("destination", "/other")]), "keyword arguments"),
    ],
)
def test_version_rules_raise_protocol_error_saying_what_to_do(build: object, fragment: str) -> None:
    with pytest.raises(ProtocolError) as info:
        build()  # type: ignore[operator]
    assert not isinstance(info.value, RemoteProtocolError)
    assert fragment in str(info.value)


def test_unknown_version_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"1\.3"):
        commands.send("1.3", "/q")


def test_connect_headers_per_version() -> None:
    assert commands.connect("1.0", login="u", passcode="p").raw_headers == (("login", "u"), ("passcode", "p"))
    frame = commands.connect("1.2", host="/", heartbeat=(100, 200), headers={"client-id": "c"})
    assert frame.raw_headers == (
        ("accept-version", "1.0,1.1,1.2"),
        ("host", "/"),
        ("heart-beat", "100,200"),
        ("client-id", "c"),
    )
    assert commands.connect("1.1", host="h").headers["accept-version"] == "1.0,1.1"
    assert commands.connect("1.2", host="h", versions=["1.2", "1.1"]).headers["accept-version"] == "1.1,1.2"
    assert commands.stomp("1.1", host="h").command == "STOMP"
    with pytest.raises(ConfigurationError):
        commands.connect("1.2", host="h", heartbeat=(-1, 0))


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("1.0", [("message-id", "m1")]),
        ("1.1", [("message-id", "m1"), ("subscription", "s1")]),
        ("1.2", [("id", "a1")]),
    ],
)
def test_ack_and_nack_name_the_message_as_the_version_requires(version: str, expected: list[tuple[str, str]]) -> None:
    headers = {"destination": "/q", "message-id": "m1", "subscription": "s1", "ack": "a1"}
    frame = Frame("MESSAGE", headers)
    acked = commands.ack(version, frame, transaction="t1", receipt="r1")
    assert acked.raw_headers == (*expected, ("transaction", "t1"), ("receipt", "r1"))
    if version != "1.0":
        assert commands.nack(version, frame).raw_headers == tuple(expected)
        with_requeue = commands.nack(version, frame, headers={"requeue": "false"}, receipt="r")
        assert with_requeue.raw_headers == (*expected, ("requeue", "false"), ("receipt", "r"))
    with pytest.raises(ProtocolError, match="keyword arguments"):
        commands.ack(version, frame, headers={"transaction": "t"})


def test_subscribe_and_unsubscribe_in_1_0_may_go_by_destination() -> None:
    assert commands.subscribe("1.0", "/queue/a").raw_headers == (("destination", "/queue/a"),)
    assert commands.unsubscribe("1.0", destination="/queue/a").raw_headers == (("destination", "/queue/a"),)
    frame = commands.subscribe("1.2", "/queue/a", id="s", ack="client-individual", headers={"x": "1"}, receipt="r")
    assert frame.raw_headers == (
        ("destination", "/queue/a"),
        ("id", "s"),
        ("ack", "client-individual"),
        ("x", "1"),
        ("receipt", "r"),
    )


def test_beat_is_one_eol() -> None:
    assert commands.beat("1.1") == b"\n"
    assert Parser("1.2").feed(commands.beat("1.2")) == [Parser("1.2").feed(b"\n")[0]]


# --- interpreting server frames --------------------------------------------------------------------------------


def test_connected_reports_version_session_server_and_heartbeat() -> None:
    frame = Frame("CONNECTED", {"version": "1.1", "session": "s-1", "server": "x/1", "heart-beat": "0, 5000"})
    info = commands.connected(frame, ["1.0", "1.1"])
    assert (info.version, info.session, info.server, info.heartbeat) == ("1.1", "s-1", "x/1", (0, 5000))


def test_connected_without_version_means_1_0_and_ignores_heartbeat() -> None:
    frame = Frame("CONNECTED", {"session": "s", "heart-beat": "1000,1000"})
    assert commands.connected(frame).version == "1.0"
    assert commands.connected(frame).heartbeat == (0, 0)
    with pytest.raises(RemoteProtocolError, match=r"we offered only 1\.1,1\.2"):
        commands.connected(frame, ["1.1", "1.2"])


def test_connected_with_a_version_not_offered_is_the_brokers_fault() -> None:
    with pytest.raises(RemoteProtocolError, match=r"'1\.2'.*we offered 1\.0,1\.1"):
        commands.connected(Frame("CONNECTED", {"version": "1.2"}), ["1.0", "1.1"])
    with pytest.raises(RemoteProtocolError, match="heart-beat"):
        commands.connected(Frame("CONNECTED", {"version": "1.2", "heart-beat": "soon"}))
    with pytest.raises(RemoteProtocolError, match="MESSAGE"):
        commands.connected(Frame("MESSAGE", {"destination": "/q"}))


def test_error_in_answer_to_connect_carries_the_frame_and_both_version_lists() -> None:
    refusal = Frame("ERROR", {"version": "1.0", "message": "Supported protocol versions are 1.0"})
    with pytest.raises(BrokerError) as info:
        commands.connected(refusal, ["1.1", "1.2"])
    assert info.value.frame is refusal
    assert "we offered 1.1,1.2" in str(info.value) and "the broker supports 1.0" in str(info.value)
    login = Frame("ERROR", {"message": "bad login"})
    with pytest.raises(BrokerError, match=r"refused CONNECT.*bad login"):
        commands.connected(login)


@given(st.sets(versions, min_size=1), st.sets(versions))
def test_negotiate_version_picks_the_highest_common_or_lists_both(ours: set[str], theirs: set[str]) -> None:
    common = ours & theirs
    if common:
        chosen = commands.negotiate_version(ours, theirs)
        assert chosen in common and all(VERSIONS.index(v) <= VERSIONS.index(chosen) for v in common)
    else:
        with pytest.raises(ProtocolError) as info:
            commands.negotiate_version(ours, theirs)
        for v in ours | theirs:
            assert v in str(info.value)


@pytest.mark.parametrize("version", VERSIONS)
def test_message_checks_required_headers(version: str) -> None:
    full = {"destination": "/q", "message-id": "m", "subscription": "s", "ack": "a"}
    info = commands.message(Frame("MESSAGE", full), version)
    assert info == MessageInfo("/q", "m", "s", "a" if version == "1.2" else None)
    required = ["destination", "message-id"] + (["subscription"] if version != "1.0" else [])
    for name in required:
        partial = {k: v for k, v in full.items() if k != name}
        with pytest.raises(RemoteProtocolError, match=name):
            commands.message(Frame("MESSAGE", partial), version)


def test_receipt_and_error_interpreters() -> None:
    assert commands.receipt(Frame("RECEIPT", {"receipt-id": "r-7"})) == "r-7"
    with pytest.raises(RemoteProtocolError, match="receipt-id"):
        commands.receipt(Frame("RECEIPT"))
    error = commands.error(Frame("ERROR", {"message": "boom"}, b"details\nmore"))
    assert isinstance(error, BrokerError)
    assert "boom" in str(error) and "details" in str(error)
    with pytest.raises(RemoteProtocolError):
        commands.error(Frame("RECEIPT", {"receipt-id": "r"}))


@given(
    version=versions,
    destination=st.text(min_size=1, max_size=20),
    body=st.binary(max_size=40),
    transaction=st.none() | st.text(min_size=1, max_size=10),
    receipt=st.none() | st.text(min_size=1, max_size=10),
)
def test_send_without_extra_headers_is_the_frame_the_constructor_makes(
    version: str, destination: str, body: bytes, transaction: str | None, receipt: str | None
) -> None:
    # commands.send skips Frame's checks for what it checked itself: the result must not tell.
    made = commands.send(version, destination, body, transaction=transaction, receipt=receipt)
    pairs = [("destination", destination)]
    pairs += [("transaction", transaction)] if transaction is not None else []
    pairs += [("receipt", receipt)] if receipt is not None else []
    built = Frame("SEND", pairs, body)
    assert made == built
    assert (made.command, made.raw_headers, made.body, dict(made.headers)) == (
        built.command,
        built.raw_headers,
        built.body,
        dict(built.headers),
    )


def test_send_with_extra_headers_or_a_text_body_still_gets_the_constructors_checks() -> None:
    with pytest.raises(TypeError, match="values are str or int"):
        commands.send("1.2", "/queue/a", headers=[("x", 1.5)])  # type: ignore[list-item]
    assert commands.send("1.2", "/queue/a", "é").raw_headers[-1] == ("content-type", "text/plain;charset=utf-8")
