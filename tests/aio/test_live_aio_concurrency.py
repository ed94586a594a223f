"""The asyncio front end under load: many sessions, cancellation, loop latency."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from pyquorum.aio import AsyncQuorumSession
from pyquorum.errors import BadHandleError, CsTimeoutError, ExistError
from pyquorum.events import NodelistNotification, QuorumNotification
from pyquorum.messages.constants import Model, Track
from pyquorum.testing.cluster import Node
from pyquorum.testing.cluster.wait import wait_until
from tests.support.process_resources import open_fds
from tests.support.ticker import Ticker


async def _open(node: Node, n: int = 1, model: Model = Model.V1) -> list[AsyncQuorumSession]:
    with node.netns_context():
        sessions = [AsyncQuorumSession(model, timeout=10) for _ in range(n)]
        await asyncio.gather(*(s.connect() for s in sessions))
    return sessions


def _run(coro: Callable[[], Awaitable[None]], limit: float = 30) -> None:
    async def main() -> None:
        await asyncio.wait_for(coro(), limit)

    asyncio.run(main())


def test_twenty_sessions_on_one_loop(corosync_node_any: Node) -> None:
    async def main() -> None:
        sessions = await _open(corosync_node_any, 20)
        try:
            async def one(s: AsyncQuorumSession) -> list[object]:
                assert await s.getquorate() is True
                await s.trackstart(Track.CURRENT)
                got: list[object] = []
                async for ev in s.events(timeout=5):
                    got.append(ev)
                    if isinstance(ev, QuorumNotification):
                        break
                return got

            async with Ticker().running() as ticker:
                results = await asyncio.gather(*(one(s) for s in sessions))
            for got in results:
                assert [type(e) for e in got] == [NodelistNotification, QuorumNotification]
            assert ticker.max_gap < 0.2, ticker.max_gap
        finally:
            await asyncio.gather(*(s.close() for s in sessions))
        assert all(s.closed for s in sessions)

    _run(main)


def test_cancelled_request_leaves_the_session_usable(corosync_node_any: Node) -> None:
    node = corosync_node_any

    async def main() -> None:
        (s,) = await _open(node)
        async with s:
            node.pause()
            try:
                task = asyncio.create_task(s.getquorate(timeout=None))
                # The daemon is stopped: no answer can come; this cancels the task.
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(task, 0.3)
                assert task.cancelled()
            finally:
                node.resume()
            # The late GETQUORATE reply must not be taken for TRACKSTART's.
            await s.trackstart(Track.CURRENT)
            assert await s.getquorate() is True
            got = [type(ev) async for ev in s.events(timeout=0.5)]
            assert got == [NodelistNotification, QuorumNotification]

    _run(main)


def test_request_timeout_on_a_stopped_daemon_then_recovers(corosync_node: Node) -> None:
    node = corosync_node

    async def main() -> None:
        (s,) = await _open(node)
        async with s:
            node.pause()
            try:
                t0 = time.monotonic()
                with pytest.raises(CsTimeoutError):
                    await s.getquorate(timeout=0.3)
                assert time.monotonic() - t0 < 1.5
            finally:
                node.resume()
            assert await s.getquorate() is True

    _run(main)


def test_loop_stays_responsive_with_requests_in_flight_and_a_stopped_daemon(
    corosync_node_any: Node,
) -> None:
    node = corosync_node_any

    async def main() -> None:
        sessions = await _open(node, 4)
        try:
            for s in sessions:
                await s.trackstart(Track.CHANGES_ONLY)
            async with Ticker().running() as busy:
                # 400 round trips, 4 sessions at a time.
                async def hammer(s: AsyncQuorumSession) -> None:
                    for _ in range(100):
                        assert await s.getquorate() is True

                waiting = [asyncio.create_task(s.next_event(timeout=None)) for s in sessions]
                await asyncio.gather(*(hammer(s) for s in sessions))
            async with Ticker().running() as stopped:
                node.pause()
                try:
                    pending = [
                        asyncio.create_task(s.getquorate(timeout=None)) for s in sessions
                    ]
                    # The loop must keep ticking while every request is stuck.
                    done, _ = await asyncio.wait(pending, timeout=1.0)
                    assert not done
                finally:
                    node.resume()
                assert await asyncio.gather(*pending) == [True] * 4
            for task in waiting:
                # A SIGSTOP longer than the token timeout makes a new ring on
                # resume, so a real membership event may have come: fine, if typed.
                if task.done():
                    assert isinstance(task.result(), NodelistNotification | QuorumNotification)
                task.cancel()
            print(f"\nticker max gap: {busy.max_gap * 1000:.1f} ms with 400 requests, "
                  f"{stopped.max_gap * 1000:.1f} ms with the daemon SIGSTOPped")
            assert busy.max_gap < 0.2
            assert stopped.max_gap < 0.2
        finally:
            await asyncio.gather(*(s.close() for s in sessions))

    _run(main)


def test_cancelled_connect_leaves_nothing_open(corosync_node: Node) -> None:
    node = corosync_node
    before = open_fds()

    async def main() -> None:
        node.pause()
        try:
            with node.netns_context():
                s = AsyncQuorumSession(timeout=None)
                task = asyncio.create_task(s.connect())
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(task, 0.3)
            assert s.closed
        finally:
            node.resume()

    _run(main)
    # The handshake job ends in its own thread once the resumed daemon answers,
    # sees the session closed, and closes what it opened.
    wait_until(lambda: open_fds() == before, 10, "the cancelled connect's fds to be closed")


def test_cancelled_requests_give_their_thread_back(corosync_node_any: Node) -> None:
    """Requests cancelled on a stopped daemon must not hold executor threads:
    eight of them on a shared two-thread executor leave it free at once, and
    close() returns while the daemon is still stopped."""
    node = corosync_node_any

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(2) as shared:
            with node.netns_context():
                sessions = [AsyncQuorumSession(timeout=10, executor=shared) for _ in range(4)]
                await asyncio.gather(*(s.connect() for s in sessions))
            node.pause()
            try:
                for _ in range(2):
                    tasks = [asyncio.create_task(s.getquorate(timeout=None)) for s in sessions]
                    done, _ = await asyncio.wait(tasks, timeout=0.1)
                    assert not done  # the daemon is stopped: nothing can answer
                    for task in tasks:
                        task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
                    assert all(t.cancelled() for t in tasks)
                t0 = time.monotonic()
                assert await asyncio.wait_for(loop.run_in_executor(shared, lambda: 7), 1) == 7
                freed = time.monotonic() - t0
                t0 = time.monotonic()
                await asyncio.wait_for(sessions[0].close(), 1)
                closed = time.monotonic() - t0
                print(f"\nexecutor free {freed * 1000:.0f} ms after 8 cancellations, "
                      f"close {closed * 1000:.0f} ms, daemon stopped")
            finally:
                node.resume()
            # The owed GETQUORATE replies are discarded: each session answers right.
            for s in sessions[1:]:
                await s.trackstart(Track.CURRENT)
                assert await s.getquorate() is True
                got = [type(ev) async for ev in s.events(timeout=0.5)]
                assert got == [NodelistNotification, QuorumNotification]
            await asyncio.gather(*(s.close() for s in sessions))

    _run(main)


def test_close_fails_requests_in_flight_on_a_stopped_daemon(corosync_node: Node) -> None:
    node = corosync_node

    async def main() -> None:
        (s,) = await _open(node)
        node.pause()
        try:
            task = asyncio.create_task(s.getquorate(timeout=None))
            done, _ = await asyncio.wait([task], timeout=0.1)
            assert not done
            t0 = time.monotonic()
            await asyncio.wait_for(s.close(), 1)
            with pytest.raises(BadHandleError):
                await asyncio.wait_for(task, 1)
            assert time.monotonic() - t0 < 0.5
        finally:
            node.resume()

    _run(main)


def test_cancellation_at_any_point_never_mismatches_responses(corosync_node_any: Node) -> None:
    """Cancel GETQUORATE at random instants (before the hop, while in flight,
    after the answer) on a live daemon; the next TRACKSTOP and GETQUORATE must
    get their own responses every time (a stray reply would fail to decode
    as the expected type)."""
    node = corosync_node_any
    rng = random.Random(6)

    async def main() -> None:
        (s,) = await _open(node)
        loop = asyncio.get_running_loop()
        outcomes = {"cancelled": 0, "answered": 0}
        async with s:
            for _ in range(300):
                task = asyncio.create_task(s.getquorate())
                loop.call_later(rng.uniform(0, 0.0004), task.cancel)
                try:
                    assert await task is True
                    outcomes["answered"] += 1
                except asyncio.CancelledError:
                    outcomes["cancelled"] += 1
                await s.trackstop()
                assert await s.getquorate() is True
        print(f"\n{outcomes}")
        assert outcomes["cancelled"] > 10 and outcomes["answered"] > 10, outcomes

    _run(main)


def test_cancelled_events_wait_leaves_the_session_usable(corosync_node_any: Node) -> None:
    node = corosync_node_any

    async def main() -> None:
        (s,) = await _open(node)
        async with s:
            await s.trackstart(Track.CHANGES_ONLY)
            waiting = asyncio.create_task(s.next_event())
            done, _ = await asyncio.wait([waiting], timeout=0.1)
            assert not done
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            # The reader was removed, nothing was consumed: the snapshot of a
            # second trackstart arrives whole (ExistError: already tracking).
            with pytest.raises(ExistError):
                await s.trackstart(Track.CURRENT)
            got = [type(ev) async for ev in s.events(timeout=0.5)]
            assert got == [NodelistNotification, QuorumNotification]

    _run(main)
