"""VotequorumSession and AsyncVotequorumSession against a live corosync: the
asyncio front end, no hang on a stopped or dead daemon, no leak over many
open/close cycles.  (Results and error codes are compared with libvotequorum
in test_live_differential.py.)"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from pyquorum import AsyncVotequorumSession, VotequorumSession
from pyquorum.errors import CsTimeoutError, NotExistError
from pyquorum.messages.constants import NodeState, Track, VotequorumInfo
from pyquorum.messages.votequorum import NodelistNotification, QuorumNotification
from tests.support.live_sessions import (
    CYCLES,
    assert_a_dead_daemon_ends_both_waits,
    leaves_nothing_behind,
)

Node = Any  # pyquorum.testing.cluster.Node

def test_async_session_calls_and_events(corosync_node_any: Node) -> None:
    node = corosync_node_any

    async def main() -> tuple[Any, list[Any]]:
        async with AsyncVotequorumSession(timeout=5) as s:
            info = await s.getinfo()
            with pytest.raises(NotExistError):
                await s.getinfo(99)
            await s.trackstart(Track.CURRENT, context=3)
            events = [e async for e in s.events(timeout=0.5)]
            return info, events

    with node.netns_context():
        info, events = asyncio.run(main())
    assert info.nodeid == 1 and info.state is NodeState.MEMBER
    assert info.flags == VotequorumInfo.QUORATE and info.quorum == 1
    assert [type(e) for e in events] == [NodelistNotification, QuorumNotification]
    assert all(e.context == 3 for e in events)


def test_stopped_daemon_times_out_then_the_session_goes_on(corosync_node_any: Node) -> None:
    node = corosync_node_any
    with node.netns_context(), VotequorumSession(timeout=0.5) as s:
        node.pause()
        try:
            for call in (lambda: s.getinfo(timeout=0.3), lambda: s.setexpected(1),
                         lambda: s.trackstart(Track.CURRENT)):
                t0 = time.monotonic()
                with pytest.raises(CsTimeoutError):
                    call()  # the call's timeout, then the session's
                assert time.monotonic() - t0 < 1.5
        finally:
            node.resume()
        assert s.getinfo().nodeid == 1


def test_dead_daemon_ends_a_request_and_a_blocking_dispatch_within_3_s(
    corosync_node_any: Node,
) -> None:
    node = corosync_node_any
    with node.netns_context():
        waiting = VotequorumSession(timeout=None)
        asking = VotequorumSession(timeout=None)
    waiting.trackstart(Track.CHANGES_ONLY)
    assert_a_dead_daemon_ends_both_waits(node, waiting, lambda: asking.getinfo())
    waiting.close()
    asking.close()


def test_async_request_on_a_stopped_daemon_times_out(corosync_node_any: Node) -> None:
    node = corosync_node_any

    async def main() -> float:
        async with AsyncVotequorumSession(timeout=0.3) as s:
            node.pause()
            t0 = time.monotonic()
            try:
                with pytest.raises(CsTimeoutError):
                    await s.getinfo()
            finally:
                node.resume()
            assert (await s.getinfo()).nodeid == 1
            return time.monotonic() - t0

    with node.netns_context():
        assert asyncio.run(main()) < 1.5


def test_open_close_cycles_leak_nothing(corosync_node_any: Node) -> None:
    node = corosync_node_any
    cycles = CYCLES[node.cluster.transport]
    with leaves_nothing_behind(node), node.netns_context():
        for i in range(cycles):
            session = VotequorumSession(timeout=10)
            if i % 1000 == 0:  # now and then one that did more than connect
                session.trackstart(Track.CURRENT)
                assert session.getinfo().nodeid == 1
                assert len(list(session.events(timeout=0.2))) == 2
            session.close()

        async def cycle_async() -> None:
            for _ in range(200):
                async with AsyncVotequorumSession(timeout=10) as s:
                    await s.getinfo()

        asyncio.run(cycle_async())
