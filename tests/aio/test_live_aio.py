"""AsyncQuorumSession against a real corosync: both transports, both models."""

from __future__ import annotations

import asyncio
import time

import pytest

from pyquorum.aio import AsyncQuorumSession
from pyquorum.errors import BadHandleError
from pyquorum.events import NodelistNotification, QuorumNotification, QuorumNotificationV0
from pyquorum.messages.constants import Model, QuorumType, Track
from pyquorum.testing.cluster import Node


@pytest.mark.parametrize("model", [Model.V1, Model.V0, Model.AUTO])
def test_requests_and_events(corosync_node_any: Node, model: Model) -> None:
    async def main() -> None:
        with corosync_node_any.netns_context():
            session = AsyncQuorumSession(model=model, timeout=5)
            await session.connect()
        async with session as s:
            assert s.quorum_type is QuorumType.SET
            assert s.model is (Model.V0 if model is Model.V0 else Model.V1)
            assert await s.getquorate() is True
            await s.trackstart(Track.CURRENT)
            got = [ev async for ev in s.events(timeout=0.5)]
            if s.model is Model.V1:
                assert [type(e) for e in got] == [NodelistNotification, QuorumNotification]
                assert isinstance(got[1], QuorumNotification)
                assert got[1].quorate and got[1].members == (1,)
            else:
                assert len(got) == 1 and isinstance(got[0], QuorumNotificationV0)
                assert got[0].quorate and got[0].members == (1,)
            await s.trackstop()
        assert s.closed
        with pytest.raises(BadHandleError):
            await s.getquorate()

    asyncio.run(asyncio.wait_for(main(), 20))


def test_close_wakes_a_waiting_events_iterator(corosync_node: Node) -> None:
    async def main() -> None:
        with corosync_node.netns_context():
            s = await AsyncQuorumSession(timeout=5).connect()
        await s.trackstart(Track.CHANGES_ONLY)

        async def consume() -> list[object]:
            return [ev async for ev in s.events()]

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)  # let it reach add_reader (not a synchronisation)
        t0 = time.monotonic()
        await s.close()
        assert await asyncio.wait_for(task, 2) == []
        assert time.monotonic() - t0 < 1.0

    asyncio.run(asyncio.wait_for(main(), 20))
