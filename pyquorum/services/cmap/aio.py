"""The asyncio cmap session: :class:`AsyncCmapSession`.

The waiting (the loop's reader for events, an executor hop per request,
cancellation) is :mod:`pyquorum.frontend.asyncio`'s; this module adds the
cmap calls.  Public at :mod:`pyquorum.aio`.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from typing import cast

from pyquorum._deadline import Deadline
from pyquorum.frontend.asyncio import AsyncSession
from pyquorum.frontend.blocking import Connection
from pyquorum.frontend.core import ServiceCore
from pyquorum.messages.cmap import CmapValue
from pyquorum.messages.constants import (
    DEFAULT_MAX_MSG_SIZE,
    CmapMap,
    CmapTrack,
    CmapValueType,
)
from pyquorum.netns import NetNamespace
from pyquorum.services.cmap.core import (
    CmapChange,
    CmapCore,
    CmapProperties,
    IterEntry,
    Tracker,
    check_type,
    make_value,
)
from pyquorum.timeouts import DEFAULT, Timeout

__all__ = ["AsyncCmapSession"]


class AsyncCmapSession(CmapProperties, AsyncSession[CmapChange]):
    """A cmap session for asyncio.

    ::

        async with AsyncCmapSession(timeout=5) as s:
            name = (await s.get("totem.cluster_name")).value
            await s.track_add("totem.", CmapTrack.MODIFY | CmapTrack.PREFIX)
            async for change in s.events():
                ...

    The calls are those of :class:`~pyquorum.services.cmap.session.CmapSession`
    (same arguments, results and errors), awaited; changes come out of
    :meth:`events` / :meth:`next_event` (there are no callbacks here; a
    tracker's ``user`` object rides along in each :class:`CmapChange`).
    Options (``timeout``, ``executor``, ``netns``, ``connection_factory``) as
    :class:`~pyquorum.frontend.asyncio.AsyncSession` describes them.
    """

    def __init__(
        self,
        map: CmapMap | int = CmapMap.DEFAULT,
        *,
        timeout: float | None = None,
        context: object = None,
        service: str = "cmap",
        max_msg_size: int = DEFAULT_MAX_MSG_SIZE,
        executor: concurrent.futures.Executor | None = None,
        netns: NetNamespace | None = None,
        connection_factory: Callable[[], Connection] | None = None,
    ) -> None:
        self._cmap = CmapCore(map)
        super().__init__(
            # A deleted tracker's leftovers come back as None; next_event skips them.
            cast("ServiceCore[CmapChange]", self._cmap),
            timeout=timeout,
            context=context,
            service=service,
            max_msg_size=max_msg_size,
            executor=executor,
            netns=netns,
            connection_factory=connection_factory,
        )

    async def get(
        self,
        key: str,
        value_type: CmapValueType | int | None = None,
        *,
        room: int | None = None,
        timeout: Timeout = DEFAULT,
    ) -> CmapValue:
        """``key``'s value (see :meth:`CmapSession.get
        <pyquorum.services.cmap.session.CmapSession.get>`)."""
        value = await self._run(self._cmap.get(key, room), timeout)
        return check_type(value, value_type, key)

    async def get_len(
        self, key: str, *, timeout: Timeout = DEFAULT
    ) -> tuple[CmapValueType | int, int]:
        """``(type, length)`` of ``key``'s value, without the value."""
        return await self._run(self._cmap.probe(key), timeout)

    async def set(
        self,
        key: str,
        value: CmapValue | int | float | str | bytes,
        value_type: CmapValueType | int | None = None,
        *,
        timeout: Timeout = DEFAULT,
    ) -> None:
        """Create or replace ``key`` (a number needs its ``value_type``)."""
        await self._run(self._cmap.set(key, make_value(value, value_type)), timeout)

    async def delete(self, key: str, *, timeout: Timeout = DEFAULT) -> None:
        await self._run(self._cmap.delete(key), timeout)

    async def inc(self, key: str, *, timeout: Timeout = DEFAULT) -> None:
        await self._run(self._cmap.inc(key), timeout)

    async def dec(self, key: str, *, timeout: Timeout = DEFAULT) -> None:
        await self._run(self._cmap.dec(key), timeout)

    async def items(
        self, prefix: str = "", *, timeout: Timeout = DEFAULT
    ) -> list[tuple[str, CmapValue]]:
        """``(key, value)`` for every key under ``prefix``, in sorted order."""
        return list((await self._run(self._cmap.items(prefix), timeout)).items())

    async def keys(self, prefix: str = "", *, timeout: Timeout = DEFAULT) -> list[IterEntry]:
        """The keys under ``prefix`` with their types and lengths, no values."""
        return await self._run(self._cmap.entries(prefix), timeout)

    async def track_add(
        self,
        key: str,
        track_type: CmapTrack | int = CmapTrack.ADD | CmapTrack.MODIFY | CmapTrack.DELETE,
        user: object = None,
        *,
        timeout: Timeout = DEFAULT,
    ) -> Tracker:
        """Watch ``key`` (a prefix with ``CmapTrack.PREFIX``); changes carry ``user``."""
        return await self._run(self._cmap.track_add(key, track_type, user), timeout)

    async def track_delete(self, tracker: Tracker | int, *, timeout: Timeout = DEFAULT) -> None:
        """Stop a tracker; its changes still queued are dropped."""
        await self._run(self._cmap.track_delete(tracker), timeout)

    async def next_event(self, timeout: float | None = None) -> CmapChange | None:
        """The next change, or None when ``timeout`` passes first or the session
        closes (a deleted tracker's leftovers are skipped)."""
        deadline = Deadline(timeout)  # validates timeout before waiting
        while True:
            dropped = self._cmap.dropped
            change = await super().next_event(deadline.remaining())
            if not self._leftover_consumed(dropped, change):
                return change

    def __repr__(self) -> str:
        return f"<AsyncCmapSession {self._describe()}>"
