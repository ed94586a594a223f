"""asyncio sessions, at their public import path.

:class:`AsyncQuorumSession` lives in :mod:`pyquorum.services.quorum.aio`;
how it waits (the loop's reader for events, one executor hop per request,
cancellation abandoning the exchange) is described in
:mod:`pyquorum.frontend.asyncio`.
"""

from __future__ import annotations

from pyquorum.services.quorum.aio import AsyncQuorumSession

__all__ = ["AsyncQuorumSession"]
