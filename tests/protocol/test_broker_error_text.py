"""BrokerError's text: the ERROR's message header, and the body's first line when it adds something."""

from __future__ import annotations

from stomptest.protocol.errors import BrokerError
from stomptest.protocol.frame import Frame


def test_a_body_that_repeats_the_message_is_not_said_twice() -> None:
    # Artemis 2.40 sends its message header again as the body (a refused login, measured)
    text = "Security Error occurred: User name [guest] or password is invalid"
    assert str(BrokerError(Frame("ERROR", {"message": text}, text.encode()))) == f"broker sent ERROR: {text}"


def test_a_body_that_says_more_follows_the_message() -> None:
    frame = Frame("ERROR", {"message": "Bad CONNECT"}, b"Access refused for user 'guest'\n")
    error = BrokerError(frame, "the broker refused CONNECT")
    assert str(error) == "the broker refused CONNECT: broker sent ERROR: Bad CONNECT (Access refused for user 'guest')"
