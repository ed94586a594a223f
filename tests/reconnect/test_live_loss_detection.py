"""A daemon that goes away is reported on every way of waiting, promptly and
without spinning: the ground the reconnect supervisor stands on.

The event fd (``fileno()``) is readable on a hang-up as well as on an event,
so a caller that polls it and then reads without waiting (libquorum's
``poll`` + ``quorum_dispatch(CS_DISPATCH_ALL)``, or asyncio's add_reader +
``recv_event(0)``) must be told ConnectionLost; otherwise the fd stays
readable and the caller spins on it for ever.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
import time

import pytest

from pyquorum import QuorumSession
from pyquorum.aio import AsyncQuorumSession
from pyquorum.errors import ConnectionLost
from pyquorum.messages.constants import DispatchMode, Track
from pyquorum.testing.cluster import Node
from pyquorum.testing.cluster.wait import wait_until


def _kill(node: Node) -> float:
    """SIGKILL the daemon and wait until it is gone; returns when the signal went out."""
    pid = node.pid
    sent = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not node.is_running, 10, f"corosync {pid} to die")
    return sent


def test_poll_then_dispatch_all_reports_the_hang_up(corosync_node_any: Node) -> None:
    node = corosync_node_any
    with node.netns_context():
        session = QuorumSession(timeout=5)
    with session:
        session.trackstart(Track.CHANGES_ONLY)
        poller = select.poll()
        poller.register(session.fileno(), select.POLLIN)
        assert poller.poll(0) == []  # nothing pending yet
        _kill(node)
        dispatches = 0
        deadline = time.monotonic() + 2
        with pytest.raises(ConnectionLost):
            while time.monotonic() < deadline:
                if poller.poll(int((deadline - time.monotonic()) * 1000)):
                    dispatches += 1
                    session.dispatch(DispatchMode.ALL)
        # One readable fd, one dispatch: the hang-up is reported, not spun on.
        assert dispatches == 1


def test_async_next_event_reports_the_hang_up(corosync_node_any: Node) -> None:
    node = corosync_node_any

    async def main() -> float:
        with node.netns_context():
            s = await AsyncQuorumSession(timeout=5).connect()
        async with s:
            await s.trackstart(Track.CHANGES_ONLY)
            waiting = asyncio.create_task(s.next_event())
            done, _ = await asyncio.wait([waiting], timeout=0.05)
            assert not done
            sent = await asyncio.get_running_loop().run_in_executor(None, _kill, node)
            with pytest.raises(ConnectionLost):
                await asyncio.wait_for(waiting, 2)
            return time.monotonic() - sent

    seen_after = asyncio.run(main())
    print(f"\nasync: hang-up reported {seen_after * 1000:.0f} ms after SIGKILL")
    assert seen_after < 1.0
