"""AsyncQuorumSession against the fake server: no corosync needed.

Each server listens under a name of its own in this process's network
namespace (``netns=None``), so no real corosync is ever met.  What is
covered: a normal session, a stalled daemon (timeouts, cancellation
abandoning the exchange), a refused connection, a daemon that stops.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from pyquorum import (
    AsyncQuorumSession,
    BadHandleError,
    ConnectionLost,
    CorosyncNotRunning,
    CsTimeoutError,
    LocalProtocolError,
    Model,
    NodelistNotification,
    QuorumNotification,
    QuorumType,
    RingId,
    Track,
)
from pyquorum.fake import Script
from pyquorum.testing.fake import FakeQuorumServer

SCRIPT = Script.build([1, 2, 3], quorate=True, ring_id=RingId(1, 12), name="aio")


def run(coro: Callable[[], Awaitable[None]], limit: float = 20) -> None:
    async def bounded() -> None:
        await asyncio.wait_for(coro(), limit)

    asyncio.run(bounded())


@pytest.fixture
def serve() -> Iterator[Callable[..., FakeQuorumServer]]:
    """Start fake servers under a fresh name (``serve(**options)``); all stopped after."""
    servers: list[FakeQuorumServer] = []

    def make(name: str | None = None, **options: Any) -> FakeQuorumServer:
        options.setdefault("netns", None)
        server = FakeQuorumServer(options.pop("script", SCRIPT), name=name or unique(), **options)
        servers.append(server)
        return server.start()

    yield make
    for server in servers:
        server.stop()


def unique() -> str:
    return f"pyquorum-test-{uuid.uuid4().hex[:12]}"


def test_a_session_connects_asks_tracks_and_closes(serve: Callable[..., FakeQuorumServer]) -> None:
    server = serve()

    async def main() -> None:
        session = AsyncQuorumSession(Model.V1, timeout=5, service=server.name, context="mine")
        with pytest.raises(LocalProtocolError, match="not connected"):
            _ = session.model
        with pytest.raises(LocalProtocolError, match="not connected"):
            session.fileno()
        async with session as s:
            assert s.model is Model.V1 and s.requested_model is Model.V1
            assert s.quorum_type is QuorumType.SET
            assert s.context == "mine"
            s.context = 7
            assert s.context == 7
            assert s.fileno() >= 0
            assert "model=V1" in repr(s) and "open" in repr(s)
            assert await s.getquorate() is True
            await s.trackstart(Track.CURRENT)
            got = [event async for event in s.events(timeout=0.5)]
            assert got == [
                NodelistNotification(RingId(1, 12), (1, 2, 3), (), ()),
                QuorumNotification(True, RingId(1, 12), (1, 2, 3)),
            ]
            await s.trackstop()
        assert session.closed and "closed" in repr(session)
        await session.close()  # a second close does nothing
        with pytest.raises(BadHandleError):
            await session.getquorate()
        with pytest.raises(BadHandleError):
            _ = session.context
        with pytest.raises(BadHandleError):
            await session.connect()

    run(main)


def test_a_stalled_daemon_times_the_request_out_and_closes(
    serve: Callable[..., FakeQuorumServer],
) -> None:
    server = serve(stall="requests")

    async def main() -> None:
        session = AsyncQuorumSession(timeout=0.3, service=server.name)
        started = time.monotonic()
        with pytest.raises(CsTimeoutError):
            await session.connect()
        assert time.monotonic() - started < 3
        assert session.closed

    run(main)


def test_cancelling_a_stalled_request_abandons_the_exchange(
    serve: Callable[..., FakeQuorumServer],
) -> None:
    """No timeout at all: only the cancellation can free the executor's thread."""
    server = serve(stall="requests")

    executor = concurrent.futures.ThreadPoolExecutor(1)

    async def main() -> None:
        session = AsyncQuorumSession(timeout=None, service=server.name, executor=executor)
        task = asyncio.create_task(session.connect())
        await asyncio.sleep(0.3)  # the handshake is done, initialize waits for ever
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert session.closed
        # The one thread is free again: the exchange was given up, not left waiting.
        loop = asyncio.get_running_loop()
        free = loop.run_in_executor(executor, lambda: "free")
        assert await asyncio.wait_for(free, 2) == "free"

    try:
        run(main)
    finally:
        server.stop()  # frees a thread left waiting, if the test failed
        executor.shutdown(wait=True)


def test_a_cancelled_request_leaves_the_session_usable(
    serve: Callable[..., FakeQuorumServer],
) -> None:
    server = serve(response_delay=0.3)

    async def main() -> None:
        async with AsyncQuorumSession(timeout=5, service=server.name) as session:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(session.getquorate(timeout=None), 0.05)
            assert await session.getquorate() is True  # the owed response is skipped

    run(main)


def test_nothing_listening_is_refused_and_closes_the_session() -> None:
    async def main() -> None:
        session = AsyncQuorumSession(timeout=2, service=unique())
        with pytest.raises(CorosyncNotRunning):
            await session.connect()
        assert session.closed

    run(main)


def test_a_daemon_that_stops_ends_events_with_connection_lost(
    serve: Callable[..., FakeQuorumServer],
) -> None:
    server = serve()

    async def main() -> None:
        async with AsyncQuorumSession(timeout=5, service=server.name) as session:
            await session.trackstart(Track.CURRENT | Track.CHANGES)
            assert isinstance(await session.next_event(2), NodelistNotification)
            assert isinstance(await session.next_event(2), QuorumNotification)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, server.stop)
            with pytest.raises(ConnectionLost):
                await session.next_event(5)
            with pytest.raises(ConnectionLost):
                await session.getquorate()

    run(main)


def test_close_wakes_a_waiting_reader(serve: Callable[..., FakeQuorumServer]) -> None:
    server = serve()

    async def main() -> None:
        session = await AsyncQuorumSession(timeout=5, service=server.name).connect()
        waiting = asyncio.create_task(session.next_event(None))
        await asyncio.sleep(0.1)
        await session.close()
        assert await asyncio.wait_for(waiting, 2) is None

    run(main)
