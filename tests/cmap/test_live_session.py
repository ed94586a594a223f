"""CmapSession and AsyncCmapSession against a live corosync: changes made by
another process arrive typed, the asyncio front end, no hang on a stopped or
dead daemon, no leak over many open/close cycles.  (Results and error codes are
compared with libcmap in test_live_differential.py.)"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from pyquorum import AsyncCmapSession, CmapSession
from pyquorum.errors import (
    AccessError,
    CsTimeoutError,
    NotExistError,
    NotSupportedError,
)
from pyquorum.messages.cmap import CmapValue
from pyquorum.messages.constants import CmapMap, CmapTrack, CmapValueType, DispatchMode
from pyquorum.services.cmap.core import CmapChange
from tests.support.live_sessions import (
    CYCLES,
    assert_a_dead_daemon_ends_both_waits,
    leaves_nothing_behind,
)

Node = Any  # pyquorum.testing.cluster.Node
U32 = CmapValueType.UINT32
ALL = CmapTrack.ADD | CmapTrack.MODIFY | CmapTrack.DELETE

def cmapctl(node: Node, *args: str) -> None:
    done = node.run(["corosync-cmapctl", *args])
    assert done.returncode == 0, done.stderr


def test_cmapctl_changes_arrive_as_typed_notifications(corosync_node_any: Node) -> None:
    node = corosync_node_any
    key = "testing.pyquorum.cmapctl"
    got: list[CmapChange] = []
    with node.netns_context(), CmapSession(timeout=5, notify=lambda _s, c: got.append(c)) as s:
        tracker = s.track_add(key, ALL, user="mine")
        cmapctl(node, "-s", key, "u32", "7")
        cmapctl(node, "-s", key, "u32", "8")
        cmapctl(node, "-d", key)
        deadline = time.monotonic() + 5
        while len(got) < 3 and time.monotonic() < deadline:
            s.dispatch(DispatchMode.ONE, timeout=5)
        cmapctl(node, "-s", key, "i64", "9000000000")  # taken by events(), not the callback
        try:
            taken = next(s.events(timeout=5))
        finally:
            s.delete(key)
    assert (taken.event, taken.new, taken.old) == (
        CmapTrack.ADD, CmapValue(CmapValueType.INT64, 9_000_000_000), None)
    assert [(c.event, c.key, c.old, c.new) for c in got] == [
        (CmapTrack.ADD, key, None, CmapValue(U32, 7)),
        (CmapTrack.MODIFY, key, CmapValue(U32, 7), CmapValue(U32, 8)),
        (CmapTrack.DELETE, key, CmapValue(U32, 8), None),
    ]
    assert all(c.tracker == tracker and c.tracker.user == "mine" for c in got)


def test_async_session_calls_and_cmapctl_changes(corosync_node_any: Node) -> None:
    node = corosync_node_any
    prefix = "testing.pyquorum.aio."

    async def main() -> tuple[list[CmapChange], list[Any]]:
        async with AsyncCmapSession(timeout=5) as s:
            assert (await s.get("nodelist.node.0.nodeid", U32)).value == 1
            await s.set(prefix + "a", 1, CmapValueType.UINT8)
            await s.inc(prefix + "a")
            listed = await s.items(prefix)
            assert [e.key for e in await s.keys(prefix)] == [prefix + "a"]
            await s.delete(prefix + "a")
            with pytest.raises(NotExistError):
                await s.get(prefix + "a")
            await s.track_add(prefix, ALL | CmapTrack.PREFIX, user=5)
            # Another process changes the map while the loop waits.
            change = asyncio.get_running_loop().run_in_executor(
                None, cmapctl, node, "-s", prefix + "b", "str", "hi")
            events = []
            async for event in s.events(timeout=3):
                events.append(event)
                break
            await change
            await s.delete(prefix + "b")
            last = await s.next_event(3)
            assert last is not None
            events.append(last)
            return events, listed

    with node.netns_context():
        events, listed = asyncio.run(main())
    assert listed == [(prefix + "a", CmapValue(CmapValueType.UINT8, 2))]
    assert [(e.event, e.new, e.old, e.tracker.user) for e in events] == [
        (CmapTrack.ADD, CmapValue.string("hi"), None, 5),
        (CmapTrack.DELETE, None, CmapValue.string("hi"), 5),
    ]


def test_stats_map_reads_and_refuses_writes_and_tracks(corosync_node_any: Node) -> None:
    with corosync_node_any.netns_context(), CmapSession(CmapMap.STATS, timeout=5) as s:
        assert s.map is CmapMap.STATS
        keys = s.keys("stats.srp.")
        assert keys and all(k.key.startswith("stats.srp.") for k in keys)
        assert s.get("stats.srp.orf_token_rx", CmapValueType.UINT64).value != 0
        with pytest.raises(AccessError):
            s.set("stats.srp.orf_token_rx", 1, CmapValueType.UINT64)
        # corosync 3.1.7 refuses some stats trackers (seen: without DELETE) and not others.
        with pytest.raises(NotSupportedError):
            s.track_add("stats.srp.", CmapTrack.ADD | CmapTrack.MODIFY | CmapTrack.PREFIX)
        with pytest.raises(NotExistError):
            s.get("totem.cluster_name")
    with corosync_node_any.netns_context(), pytest.raises(NotExistError):
        CmapSession(7, timeout=5)


def test_stopped_daemon_times_out_then_the_session_goes_on(corosync_node_any: Node) -> None:
    node = corosync_node_any
    with node.netns_context(), CmapSession(timeout=0.5) as s:
        node.pause()
        try:
            for call in (lambda: s.get("totem.cluster_name", timeout=0.3),
                         lambda: s.items("nodelist."), lambda: s.track_add("totem.", ALL)):
                t0 = time.monotonic()
                with pytest.raises(CsTimeoutError):
                    call()
                assert time.monotonic() - t0 < 1.5
        finally:
            node.resume()
        assert s.get("nodelist.node.0.nodeid").value == 1


def test_dead_daemon_ends_a_request_and_a_blocking_dispatch_within_3_s(
    corosync_node_any: Node,
) -> None:
    node = corosync_node_any
    with node.netns_context():
        waiting = CmapSession(timeout=None)
        asking = CmapSession(timeout=None)
    waiting.track_add("testing.pyquorum.", ALL | CmapTrack.PREFIX)
    assert_a_dead_daemon_ends_both_waits(node, waiting, lambda: asking.items(""))
    waiting.close()
    asking.close()


def test_async_request_on_a_stopped_daemon_times_out(corosync_node_any: Node) -> None:
    node = corosync_node_any

    async def main() -> float:
        async with AsyncCmapSession(timeout=0.3) as s:
            node.pause()
            t0 = time.monotonic()
            try:
                with pytest.raises(CsTimeoutError):
                    await s.get("totem.cluster_name")
            finally:
                node.resume()
            assert (await s.get("nodelist.node.0.nodeid")).value == 1
            return time.monotonic() - t0

    with node.netns_context():
        assert asyncio.run(main()) < 1.5


def test_open_close_cycles_leak_nothing(corosync_node_any: Node) -> None:
    node = corosync_node_any
    cycles = CYCLES[node.cluster.transport]
    with leaves_nothing_behind(node), node.netns_context():
        for i in range(cycles):
            session = CmapSession(CmapMap.STATS if i % 2 else CmapMap.DEFAULT, timeout=10)
            if i % 1000 == 0:  # now and then one that did more than connect
                session.track_add("testing.pyquorum.", ALL | CmapTrack.PREFIX)
                assert dict(session.items("nodelist.node.0.nodeid"))
                iterator = session.iter_init("nodelist.")  # left open: the close ends it
                assert session.iter_next(iterator) is not None
            session.close()

        async def cycle_async() -> None:
            for _ in range(200):
                async with AsyncCmapSession(timeout=10) as s:
                    await s.get("nodelist.node.0.nodeid")

        asyncio.run(cycle_async())
