"""A probe of event-loop responsiveness for the asyncio tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

#: How often the ticker asks to wake up.
PERIOD = 0.01


class Ticker:
    """A task that asks to wake every 10 ms and records the largest gap between
    wake-ups: anything that blocks the loop's thread shows up as a gap."""

    def __init__(self) -> None:
        self.max_gap = 0.0
        self.ticks = 0

    async def _run(self) -> None:
        last = time.monotonic()
        while True:
            await asyncio.sleep(PERIOD)
            now = time.monotonic()
            self.max_gap = max(self.max_gap, now - last)
            self.ticks += 1
            last = now

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Ticker]:
        task = asyncio.create_task(self._run())
        try:
            yield self
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
