"""Reconnecting sessions across real daemon restarts."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from pyquorum.errors import CsTimeoutError
from pyquorum.events import (
    ConnectionLostEvent,
    NodelistNotification,
    QuorumNotification,
    Reconnected,
)
from pyquorum.messages.constants import Model, QuorumType, Track
from pyquorum.reconnect import (
    AsyncReconnectingSession,
    Backoff,
    ReconnectingSession,
    StreamItem,
)
from pyquorum.testing.cluster import Node
from pyquorum.testing.cluster.wait import wait_until
from tests.support.process_resources import open_fds, shm_mappings
from tests.support.ticker import Ticker

FAST = Backoff(initial=0.05, maximum=0.5, factor=2)


def _shm_files_of_this_pid() -> list[str]:
    me = f"-{os.getpid()}-"
    return [name for name in os.listdir("/dev/shm") if me in name]


def _session_threads() -> list[threading.Thread]:
    """The threads of AsyncQuorumSession's own executors (one per open session)."""
    return [t for t in threading.enumerate() if t.name.startswith("pyquorum-aio")]


def _take(stream: Iterator[StreamItem], n: int) -> list[StreamItem]:
    out: list[StreamItem] = []
    for item in stream:
        out.append(item)
        if len(out) == n:
            break
    return out


def _types(items: list[StreamItem]) -> list[type]:
    return [type(i) for i in items]


def test_restart_under_a_watching_session(corosync_node_any: Node) -> None:
    node = corosync_node_any
    with node.netns_context():
        rs = ReconnectingSession(Model.V1, Track.CURRENT | Track.CHANGES, backoff=FAST)
    with rs:
        stream = rs.events(timeout=15)
        first = _take(stream, 2)
        assert _types(first) == [NodelistNotification, QuorumNotification]
        old_pid = node.pid

        stopped_at: list[float] = []

        def bounce() -> None:
            stopped_at.append(time.monotonic())  # SIGTERM goes out now
            node.stop()
            node.start()

        helper = threading.Thread(target=bounce)
        helper.start()
        try:
            items: list[StreamItem] = []
            lost_at = 0.0
            for item in stream:
                items.append(item)
                if isinstance(item, ConnectionLostEvent):
                    lost_at = time.monotonic()
                if isinstance(item, QuorumNotification) and any(
                    isinstance(i, Reconnected) for i in items
                ):
                    break
        finally:
            helper.join(30)
        assert node.pid != old_pid
        kinds = _types(items)
        assert ConnectionLostEvent in kinds, items
        tail = items[kinds.index(ConnectionLostEvent):]
        assert _types(tail) == [
            ConnectionLostEvent,
            Reconnected,
            NodelistNotification,
            QuorumNotification,
        ], items
        reconnected = tail[1]
        assert isinstance(reconnected, Reconnected)
        assert reconnected.quorum_type is QuorumType.SET
        assert reconnected.model is Model.V1
        snapshot = tail[3]
        assert isinstance(snapshot, QuorumNotification)
        assert snapshot.quorate and snapshot.members == (1,)
        assert rs.getquorate() is True
        # The hang-up is seen as the daemon shuts down, not after a liveness timeout.
        detection = lost_at - stopped_at[0]
        print(f"\nconnection loss seen {detection * 1000:.0f} ms after SIGTERM")
        assert detection < 1.0


def _go_down(node: Node, clean: bool) -> None:
    """Stop the daemon: SIGTERM (an upgrade; corosync removes its files) or
    SIGKILL (a crash; the client must remove the connection's files)."""
    if clean:
        node.stop()
        return
    pid = node.pid
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not node.is_running, 10, f"corosync {pid} to die")


#: Restarts per leak test; every tenth is a clean stop (~1 s), the rest crashes (~0.4 s).
RESTARTS = 20


def _clean(i: int) -> bool:
    return i % 10 == 9


class _LeakProbe:
    """fds, /dev/shm mappings and /dev/shm entries of this process, and the
    asyncio sessions' threads."""

    def __init__(self) -> None:
        self.fds_before = open_fds()
        self.connected: tuple[int, int] | None = None

    def mark_connected(self) -> None:
        self.connected = (len(open_fds()), len(shm_mappings()))
        assert self.connected[1] > 0  # the rings (SHM) or the control file (socket)

    def check_after_loss(self, i: int) -> None:
        # The dead session is closed before ConnectionLostEvent is yielded, and
        # a crashed daemon's files are the client's to remove.
        assert _shm_files_of_this_pid() == [], f"restart {i}: /dev/shm entries left"

    def check_reconnected(self, i: int) -> None:
        assert (len(open_fds()), len(shm_mappings())) == self.connected, f"restart {i}"
        wait_until(
            lambda: len(_session_threads()) <= 1,
            5,
            f"restart {i}: the old session's thread to end",
            describe=lambda: repr(_session_threads()),
        )

    def check_closed(self) -> None:
        assert open_fds() == self.fds_before
        assert shm_mappings() == []
        wait_until(lambda: not _shm_files_of_this_pid(), 10, "our /dev/shm entries to go")
        wait_until(
            lambda: not _session_threads(),
            5,
            "the session threads to end",
            describe=lambda: repr(_session_threads()),
        )


LOST_THEN_BACK = [ConnectionLostEvent, Reconnected, NodelistNotification, QuorumNotification]


@pytest.mark.slow  # ~10 s per transport
def test_twenty_restarts_leak_nothing(corosync_node_any: Node) -> None:
    node = corosync_node_any
    probe = _LeakProbe()
    with node.netns_context():
        rs = ReconnectingSession(Model.V1, Track.CHANGES, backoff=FAST)
    try:
        stream = rs.events(timeout=15)
        assert _types(_take(stream, 2)) == [NodelistNotification, QuorumNotification]
        probe.mark_connected()
        for i in range(RESTARTS):
            _go_down(node, _clean(i))
            lost = _take(stream, 1)
            probe.check_after_loss(i)
            node.start()
            got = lost + _take(stream, 3)
            assert _types(got) == LOST_THEN_BACK, (i, got)
            probe.check_reconnected(i)
        assert rs.reconnects == RESTARTS
    finally:
        rs.close()
    probe.check_closed()


@pytest.mark.slow  # ~10 s per transport
def test_twenty_restarts_leak_nothing_async(corosync_node_any: Node) -> None:
    node = corosync_node_any
    probe = _LeakProbe()

    async def take(stream: AsyncIterator[StreamItem], n: int) -> list[StreamItem]:
        return [await anext(stream) for _ in range(n)]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        with node.netns_context():
            rs = await AsyncReconnectingSession(Model.V1, Track.CHANGES, backoff=FAST).connect()
        async with rs:
            stream = rs.events(timeout=15)
            assert _types(await take(stream, 2)) == [NodelistNotification, QuorumNotification]
            probe.mark_connected()
            for i in range(RESTARTS):
                # The stream is not being read meanwhile, so nothing races the
                # checks below; the loss is seen at the next read.
                await loop.run_in_executor(None, _go_down, node, _clean(i))
                lost = await take(stream, 1)
                probe.check_after_loss(i)
                await loop.run_in_executor(None, node.start)
                got = lost + await take(stream, 3)
                assert _types(got) == LOST_THEN_BACK, (i, got)
                probe.check_reconnected(i)
            assert rs.reconnects == RESTARTS

    asyncio.run(asyncio.wait_for(main(), 90))
    probe.check_closed()


def test_async_supervisor_across_a_pause_and_a_restart(corosync_node_any: Node) -> None:
    """SIGSTOP is not a loss (requests time out, the stream stays quiet); a
    restart is: lost, reconnected, the new snapshot.  The loop keeps ticking
    throughout, and reconnecting happens in the creator's namespace although
    the loop's thread has left it."""
    node = corosync_node_any
    times: dict[str, float] = {}

    async def main() -> tuple[list[StreamItem], Ticker]:
        loop = asyncio.get_running_loop()
        with node.netns_context():
            rs = await AsyncReconnectingSession(
                Model.AUTO, Track.CURRENT | Track.CHANGES, backoff=FAST
            ).connect()
        items: list[StreamItem] = []
        async with rs, Ticker().running() as ticker:
            stream = rs.events(timeout=15)
            items += [await anext(stream), await anext(stream)]

            async def next_item() -> StreamItem:
                item = await anext(stream)
                times.setdefault(type(item).__name__, time.monotonic())
                return item

            reading = asyncio.create_task(next_item())
            await loop.run_in_executor(None, node.pause)
            try:
                # Kept well under the token timeout (1 s): a longer stop makes a
                # new membership on resume.
                with pytest.raises(CsTimeoutError):
                    await rs.getquorate(timeout=0.3)
                assert not reading.done()
            finally:
                await loop.run_in_executor(None, node.resume)
            assert await rs.getquorate() is True

            def bounce() -> None:
                times["sigterm"] = time.monotonic()
                node.stop()
                times["stopped"] = time.monotonic()
                node.start()
                times["started"] = time.monotonic()

            bounced = loop.run_in_executor(None, bounce)
            items.append(await reading)
            async for item in stream:
                items.append(item)
                times.setdefault(type(item).__name__, time.monotonic())
                if isinstance(item, QuorumNotification) and rs.reconnects:
                    break
            await bounced
            assert await rs.getquorate() is True
        assert rs.closed
        return items, ticker

    items, ticker = asyncio.run(asyncio.wait_for(main(), 40))
    kinds = _types(items)
    assert kinds[:2] == [NodelistNotification, QuorumNotification]
    assert ConnectionLostEvent in kinds, items
    tail = items[kinds.index(ConnectionLostEvent):]
    assert _types(tail) == LOST_THEN_BACK, items
    reconnected = tail[1]
    assert isinstance(reconnected, Reconnected)
    assert reconnected.quorum_type is QuorumType.SET and reconnected.model is Model.V1
    lost_after = times["ConnectionLostEvent"] - times["sigterm"]
    back_after = times["Reconnected"] - times["started"]
    print(
        f"\nasync: loss seen {lost_after * 1000:.0f} ms after SIGTERM "
        f"(daemon exit took {(times['stopped'] - times['sigterm']) * 1000:.0f} ms), "
        f"reconnected {back_after * 1000:.0f} ms after the daemon was ready; "
        f"ticker max gap {ticker.max_gap * 1000:.1f} ms over {ticker.ticks} ticks"
    )
    assert lost_after < 1.5
    assert ticker.max_gap < 0.2


def test_max_attempts_raises_the_last_error(corosync_node: Node) -> None:
    node = corosync_node
    with node.netns_context():
        rs = ReconnectingSession(
            Model.V1, Track.CHANGES, backoff=Backoff(initial=0.01, maximum=0.02, max_attempts=3)
        )
    with rs:
        stream = rs.events(timeout=10)
        _take(stream, 2)
        node.stop()
        assert _types(_take(stream, 1)) == [ConnectionLostEvent]
        from pyquorum.errors import CorosyncNotRunning

        with pytest.raises(CorosyncNotRunning):
            next(stream)


def test_reconnects_in_the_creators_netns_from_another_thread(corosync_node: Node) -> None:
    """The iterator runs in a thread of the root namespace; reconnecting still
    reaches the node's daemon, because the creator's namespace was remembered."""
    node = corosync_node
    with node.netns_context():
        rs = ReconnectingSession(Model.V1, Track.CHANGES, backoff=FAST)
    result: list[StreamItem] = []
    errors: list[BaseException] = []

    def consume() -> None:
        try:
            stream = rs.events(timeout=15)
            result.extend(_take(stream, 2))
            node.stop()
            node.start()
            result.extend(_take(stream, 2))
        except BaseException as exc:
            errors.append(exc)

    with rs:
        t = threading.Thread(target=consume)
        t.start()
        t.join(40)
        assert not t.is_alive()
    assert not errors, errors
    assert _types(result) == [
        NodelistNotification,
        QuorumNotification,
        ConnectionLostEvent,
        Reconnected,
    ]


def test_close_from_another_thread_ends_a_reconnecting_wait(corosync_node: Node) -> None:
    node = corosync_node
    with node.netns_context():
        rs = ReconnectingSession(
            Model.V1, Track.CHANGES, backoff=Backoff(initial=5, maximum=5)
        )
    stream = rs.events(timeout=30)
    _take(stream, 2)
    node.stop()
    assert _types(_take(stream, 1)) == [ConnectionLostEvent]
    # The first retry fails at once (nothing listens), then a 5 s backoff wait.
    timer = threading.Timer(0.2, rs.close)
    timer.start()
    try:
        t0 = time.monotonic()
        assert list(stream) == []
        assert time.monotonic() - t0 < 2.0
    finally:
        timer.cancel()
        rs.close()
    assert rs.closed


def test_async_close_ends_a_backoff_wait(corosync_node: Node) -> None:
    node = corosync_node

    async def main() -> None:
        with node.netns_context():
            rs = await AsyncReconnectingSession(
                Model.V1, Track.CHANGES, backoff=Backoff(initial=5, maximum=5)
            ).connect()
        got: list[StreamItem] = []

        async def consume() -> None:
            async for item in rs.events(timeout=30):
                got.append(item)

        task = asyncio.create_task(consume())
        await asyncio.get_running_loop().run_in_executor(None, node.stop)
        deadline = time.monotonic() + 10
        while ConnectionLostEvent not in _types(got) and not task.done():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        t0 = time.monotonic()
        await rs.close()
        await asyncio.wait_for(task, 2)
        assert time.monotonic() - t0 < 2.0
        assert _types(got) == [NodelistNotification, QuorumNotification, ConnectionLostEvent]

    asyncio.run(asyncio.wait_for(main(), 30))
