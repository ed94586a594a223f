"""asyncio sessions, at their public import path.

:class:`AsyncQuorumSession`, :class:`AsyncVotequorumSession` and
:class:`AsyncCmapSession` live in ``pyquorum.services.<name>.aio``; how they
wait (the loop's reader for events, one executor hop per request,
cancellation abandoning the exchange) is described in
:mod:`pyquorum.frontend.asyncio`.
"""

from __future__ import annotations

from pyquorum.services.cmap.aio import AsyncCmapSession
from pyquorum.services.quorum.aio import AsyncQuorumSession
from pyquorum.services.votequorum.aio import AsyncVotequorumSession

__all__ = ["AsyncCmapSession", "AsyncQuorumSession", "AsyncVotequorumSession"]
