"""Which waiting calls an ERROR answers: the one policy both clients follow."""

from __future__ import annotations

from stomptest.client.options import calls_answered_by
from stomptest.protocol import BrokerError, Frame
from stomptest.protocol.session import Error

ERROR = Frame("ERROR", {"message": "refused"})


def error(request_receipt: str | None) -> Error:
    request = Frame("SEND", {"destination": "/queue/a", "receipt": request_receipt}) if request_receipt else None
    return Error(ERROR, BrokerError(ERROR), request)


def test_an_error_naming_a_waited_for_receipt_answers_only_that_call() -> None:
    assert calls_answered_by(error("r2"), ["r1", "r2"], on_error_set=False) == ["r2"]
    assert calls_answered_by(error("r2"), ["r1", "r2"], on_error_set=True) == ["r2"]


def test_an_error_naming_no_receipt_answers_every_waiting_call_unless_on_error_takes_it() -> None:
    assert calls_answered_by(error(None), ["r1", "r2"], on_error_set=False) == ["r1", "r2"]
    assert calls_answered_by(error(None), ["r1", "r2"], on_error_set=True) == []
    assert calls_answered_by(error(None), [], on_error_set=False) == []
