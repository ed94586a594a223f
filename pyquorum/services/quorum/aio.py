"""The asyncio quorum session: :class:`AsyncQuorumSession`.

The waiting (the loop's reader for events, an executor hop per request,
cancellation) is :mod:`pyquorum.frontend.asyncio`'s; this module adds the
quorum calls.  Public at :mod:`pyquorum.aio`.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable

from pyquorum.events import Event
from pyquorum.frontend.asyncio import AsyncSession
from pyquorum.frontend.blocking import Connection
from pyquorum.messages.constants import DEFAULT_MAX_MSG_SIZE, Model, Track
from pyquorum.netns import NetNamespace
from pyquorum.services.quorum.core import QuorumProperties, SessionCore
from pyquorum.timeouts import DEFAULT, Timeout

__all__ = ["AsyncQuorumSession"]


class AsyncQuorumSession(QuorumProperties, AsyncSession[Event]):
    """A quorum session for asyncio.

    ::

        async with AsyncQuorumSession(model=Model.V1, timeout=5) as s:
            quorate = await s.getquorate()
            await s.trackstart(Track.CURRENT | Track.CHANGES)
            async for event in s.events():
                ...

    Options (``timeout``, ``executor``, ``netns``, ``connection_factory``)
    as :class:`~pyquorum.frontend.asyncio.AsyncSession` describes them.
    Events are the frozen notification dataclasses of :mod:`pyquorum.events`.
    Errors are those of :mod:`pyquorum.errors`, as in the blocking session:
    ConnectionLost when the daemon goes away, BadHandleError after
    :meth:`close`.
    """

    _core: SessionCore

    def __init__(
        self,
        model: Model | int = Model.V1,
        *,
        timeout: float | None = None,
        context: object = None,
        service: str = "quorum",
        max_msg_size: int = DEFAULT_MAX_MSG_SIZE,
        executor: concurrent.futures.Executor | None = None,
        netns: NetNamespace | None = None,
        connection_factory: Callable[[], Connection] | None = None,
    ) -> None:
        super().__init__(
            SessionCore(model),  # validates model
            timeout=timeout,
            context=context,
            service=service,
            max_msg_size=max_msg_size,
            executor=executor,
            netns=netns,
            connection_factory=connection_factory,
        )

    async def getquorate(self, *, timeout: Timeout = DEFAULT) -> bool:
        """Whether this node is part of a quorate partition."""
        return await self._run(self._core.getquorate(), timeout)

    async def trackstart(
        self,
        flags: Track | int = Track.CURRENT | Track.CHANGES,
        *,
        timeout: Timeout = DEFAULT,
    ) -> None:
        """Ask for notifications (see :meth:`QuorumSession.trackstart
        <pyquorum.services.quorum.session.QuorumSession.trackstart>`: a second
        one raises ExistError, and its snapshot is delivered all the same)."""
        await self._run(self._core.trackstart(flags), timeout)

    async def trackstop(self, *, timeout: Timeout = DEFAULT) -> None:
        """Stop notifications; events already queued are still delivered."""
        await self._run(self._core.trackstop(), timeout)

    def __repr__(self) -> str:
        return f"<AsyncQuorumSession {self._describe()}>"
