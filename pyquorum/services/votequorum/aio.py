"""The asyncio votequorum session: :class:`AsyncVotequorumSession`.

The waiting (the loop's reader for events, an executor hop per request,
cancellation) is :mod:`pyquorum.frontend.asyncio`'s; this module adds the
votequorum calls.  Public at :mod:`pyquorum.aio`.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable

from pyquorum.frontend.asyncio import AsyncSession
from pyquorum.frontend.blocking import Connection
from pyquorum.messages.constants import DEFAULT_MAX_MSG_SIZE, Track
from pyquorum.messages.votequorum import GetInfoResponse
from pyquorum.netns import NetNamespace
from pyquorum.services.votequorum.core import VotequorumCore, VotequorumEvent
from pyquorum.timeouts import DEFAULT, Timeout

__all__ = ["AsyncVotequorumSession"]


class AsyncVotequorumSession(AsyncSession[VotequorumEvent]):
    """A votequorum session for asyncio.

    ::

        async with AsyncVotequorumSession(timeout=5) as s:
            info = await s.getinfo()
            await s.trackstart(Track.CHANGES, context=7)
            async for event in s.events():
                ...

    The calls are those of :class:`~pyquorum.services.votequorum.session.VotequorumSession`
    (same arguments, results and errors), awaited; events are its frozen
    notification dataclasses, taken with :meth:`events` or
    :meth:`~pyquorum.frontend.asyncio.AsyncSession.next_event`.  Options
    (``timeout``, ``executor``, ``netns``, ``connection_factory``) as
    :class:`~pyquorum.frontend.asyncio.AsyncSession` describes them.
    """

    _core: VotequorumCore

    def __init__(
        self,
        *,
        timeout: float | None = None,
        context: object = None,
        service: str = "votequorum",
        max_msg_size: int = DEFAULT_MAX_MSG_SIZE,
        executor: concurrent.futures.Executor | None = None,
        netns: NetNamespace | None = None,
        connection_factory: Callable[[], Connection] | None = None,
    ) -> None:
        super().__init__(
            VotequorumCore(),
            timeout=timeout,
            context=context,
            service=service,
            max_msg_size=max_msg_size,
            executor=executor,
            netns=netns,
            connection_factory=connection_factory,
        )

    async def getinfo(self, nodeid: int = 0, *, timeout: Timeout = DEFAULT) -> GetInfoResponse:
        """votequorum's view of ``nodeid`` (0: this node); NotExistError for an unknown one."""
        return await self._run(self._core.getinfo(nodeid), timeout)

    async def setexpected(self, expected_votes: int, *, timeout: Timeout = DEFAULT) -> None:
        """Set the expected votes (applied asynchronously: wait for the event)."""
        await self._run(self._core.setexpected(expected_votes), timeout)

    async def setvotes(self, nodeid: int, votes: int, *, timeout: Timeout = DEFAULT) -> None:
        """Set ``nodeid``'s votes (applied asynchronously: wait for the event)."""
        await self._run(self._core.setvotes(nodeid, votes), timeout)

    async def trackstart(
        self,
        flags: Track | int = Track.CURRENT | Track.CHANGES,
        context: int = 0,
        *,
        timeout: Timeout = DEFAULT,
    ) -> None:
        """Ask for notifications carrying ``context``; ExistError while tracking
        (after the snapshot was queued)."""
        await self._run(self._core.trackstart(flags, context), timeout)

    async def trackstop(self, *, timeout: Timeout = DEFAULT) -> None:
        """Stop tracking; NotExistError when not tracking."""
        await self._run(self._core.trackstop(), timeout)

    def __repr__(self) -> str:
        return f"<AsyncVotequorumSession {self._core.state.value}>"
