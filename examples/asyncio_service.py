"""An asyncio service that works only while this node is part of a quorate partition.

Run it on a cluster node (as root, or a uid allowed in corosync.conf)::

    python examples/asyncio_service.py

It tracks quorum with :class:`pyquorum.AsyncReconnectingSession`:
when the node loses quorum the work task is cancelled at once; when quorum
comes back it is started again.  If corosync goes away the service stops
working too (quorum is unknown), and resumes after the reconnection's fresh
snapshot says the node is quorate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from pyquorum import (
    AsyncReconnectingSession,
    Backoff,
    ConnectionLostEvent,
    Model,
    QuorumNotification,
    QuorumNotificationV0,
    Reconnected,
    Track,
)

log = logging.getLogger("asyncio_service")


class QuorumGatedService:
    """Runs ``work()`` over and over, but only while quorate.

    ``transitions`` records ``("start" | "stop", monotonic time)`` for tests
    and monitoring.
    """

    def __init__(
        self,
        work: Callable[[], Awaitable[None]],
        *,
        model: Model = Model.AUTO,
        backoff: Backoff | None = None,
    ) -> None:
        self._work = work
        self._session = AsyncReconnectingSession(
            model, Track.CURRENT | Track.CHANGES, backoff=backoff
        )
        self._task: asyncio.Task[None] | None = None
        self.transitions: list[tuple[str, float]] = []

    @property
    def working(self) -> bool:
        return self._task is not None

    async def _loop(self) -> None:
        while True:
            await self._work()

    def _start(self) -> None:
        if self._task is None:
            log.info("quorate: starting work")
            self.transitions.append(("start", time.monotonic()))
            self._task = asyncio.create_task(self._loop())

    async def _stop(self, why: str) -> None:
        task, self._task = self._task, None
        if task is not None:
            log.info("%s: stopping work", why)
            self.transitions.append(("stop", time.monotonic()))
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set (closing the session ends the event stream)."""
        async with self._session as session:

            async def close_on_stop() -> None:
                await stop.wait()
                await session.close()

            closer = asyncio.create_task(close_on_stop())
            try:
                async for event in session.events():
                    if isinstance(event, QuorumNotification | QuorumNotificationV0):
                        if event.quorate:
                            self._start()
                        else:
                            await self._stop("lost quorum")
                    elif isinstance(event, ConnectionLostEvent):
                        await self._stop("lost corosync")
                    elif isinstance(event, Reconnected):
                        log.info("reconnected; waiting for the snapshot")
            finally:
                closer.cancel()
                await self._stop("shutting down")


async def _demo_work() -> None:
    print("working...", flush=True)
    await asyncio.sleep(1.0)


async def main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    import signal

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await QuorumGatedService(_demo_work).run(stop)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    asyncio.run(main())
