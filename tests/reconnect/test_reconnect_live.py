"""Reconnecting sessions across real daemon restarts."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Iterator

import pytest

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
from pyquorum.testing._wait import wait_until
from pyquorum.testing.cluster import Node

FAST = Backoff(initial=0.05, maximum=0.5, factor=2)


def _fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def _shm_maps() -> list[str]:
    with open("/proc/self/maps") as f:
        return [line for line in f if "/dev/shm/" in line]


def _shm_files_of_this_pid() -> list[str]:
    me = f"-{os.getpid()}-"
    return [name for name in os.listdir("/dev/shm") if me in name]


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


@pytest.mark.slow  # ~30 s: a clean corosync stop takes ~1 s
def test_twenty_restarts_leak_nothing(corosync_node: Node) -> None:
    node = corosync_node
    fds_before = _fds()
    with node.netns_context():
        rs = ReconnectingSession(Model.V1, Track.CHANGES, backoff=FAST)
    try:
        stream = rs.events(timeout=15)
        assert _types(_take(stream, 2)) == [NodelistNotification, QuorumNotification]
        fds_connected = _fds()
        maps_connected = len(_shm_maps())
        assert maps_connected > 0  # SHM transport: the rings are mapped
        for _ in range(20):
            node.stop()
            node.start()
            got = _take(stream, 4)
            assert _types(got) == [
                ConnectionLostEvent,
                Reconnected,
                NodelistNotification,
                QuorumNotification,
            ], got
            assert len(_fds()) == len(fds_connected)
            assert len(_shm_maps()) == maps_connected
        assert rs.reconnects == 20
    finally:
        rs.close()
    assert _fds() == fds_before
    assert _shm_maps() == []
    # corosync removes each connection's files once it has seen the hang-up
    # (the 20 old daemons' ones went with their clean exits).
    wait_until(lambda: not _shm_files_of_this_pid(), 10, "our /dev/shm entries to go")


def test_async_reconnect_across_a_restart(corosync_node: Node) -> None:
    node = corosync_node

    async def main() -> list[StreamItem]:
        with node.netns_context():
            rs = AsyncReconnectingSession(Model.AUTO, Track.CURRENT | Track.CHANGES, backoff=FAST)
            await rs.connect()
        items: list[StreamItem] = []
        async with rs:
            loop = asyncio.get_running_loop()
            bounced: asyncio.Future[None] | None = None
            async for item in rs.events(timeout=15):
                items.append(item)
                if len(items) == 2:
                    # Restart from a thread: the loop keeps serving the stream.
                    bounced = loop.run_in_executor(None, node.restart)
                if isinstance(item, QuorumNotification) and rs.reconnects:
                    break
            assert bounced is not None
            await bounced
            assert await rs.getquorate() is True
        assert rs.closed
        return items

    items = asyncio.run(asyncio.wait_for(main(), 40))
    kinds = _types(items)
    assert kinds[:2] == [NodelistNotification, QuorumNotification]
    tail = items[kinds.index(ConnectionLostEvent):]
    assert _types(tail) == [
        ConnectionLostEvent,
        Reconnected,
        NodelistNotification,
        QuorumNotification,
    ], items


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
