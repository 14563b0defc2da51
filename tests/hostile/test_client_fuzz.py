"""The clients against a hostile server that answers with mutated frames.

Whatever the server sends, every client call ends within its timeouts with a result or
one of the documented errors (`StompError` subclasses), and no client thread dies of an
unexpected exception.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator

import pytest

from stomptest.client import AsyncClient, Client
from stomptest.protocol import StompError

from .hostile_server import HostileServer

SESSIONS = 40


@pytest.fixture
def thread_errors() -> Iterator[list[str]]:
    errors: list[str] = []
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        errors.append(f"{args.thread.name if args.thread else '?'}: {args.exc_type.__name__}: {args.exc_value}")

    threading.excepthook = hook
    yield errors
    threading.excepthook = previous


@pytest.fixture
def quiet() -> Iterator[None]:
    logger = logging.getLogger("stomptest")
    level = logger.level
    logger.setLevel(logging.CRITICAL)  # lost connections are logged as warnings by design
    yield
    logger.setLevel(level)


def run_sync(port: int) -> str:
    client = Client(f"tcp://127.0.0.1:{port}", connect_timeout=1.0, receipt_timeout=0.3)
    try:
        client.connect()
        subscription = client.subscribe("/queue/a", ack="client-individual")
        message = subscription.receive(timeout=0.1)
        if message is not None:
            client.ack(message)
        client.send("/queue/a", b"x", receipt=True)
        client.disconnect(timeout=0.3)
        return "ok"
    except StompError as exc:
        return type(exc).__name__
    finally:
        client.close()


async def run_async(port: int) -> str:
    client = AsyncClient(f"tcp://127.0.0.1:{port}", connect_timeout=1.0, receipt_timeout=0.3)
    try:
        await client.connect()
        subscription = await client.subscribe("/queue/a", ack="client-individual")
        message = await subscription.receive(timeout=0.1)
        if message is not None:
            await client.ack(message)
        await client.send("/queue/a", b"x", receipt=True)
        await client.disconnect(timeout=0.3)
        return "ok"
    except StompError as exc:
        return type(exc).__name__
    finally:
        await client.close()


@pytest.mark.usefixtures("quiet")
def test_sync_client_against_mutated_server_frames(thread_errors: list[str]) -> None:
    server = HostileServer(seed=3)
    try:
        outcomes = [run_sync(server.port) for _ in range(SESSIONS)]
    finally:
        server.close()
    assert len(server.sent) == SESSIONS
    assert "ok" in outcomes or len(set(outcomes)) > 1, outcomes  # the scripts vary, and so do the ends
    assert not thread_errors, thread_errors


@pytest.mark.usefixtures("quiet")
def test_async_client_against_mutated_server_frames(thread_errors: list[str]) -> None:
    server = HostileServer(seed=4)
    loop_errors: list[str] = []

    async def main() -> list[str]:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: loop_errors.append(str(context)))
        return [await asyncio.wait_for(run_async(server.port), 10) for _ in range(SESSIONS)]

    try:
        outcomes = asyncio.run(main())
    finally:
        server.close()
    assert len(server.sent) == SESSIONS
    assert len(set(outcomes)) > 1, outcomes
    assert not thread_errors and not loop_errors, thread_errors + loop_errors
