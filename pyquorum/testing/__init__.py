"""Test helpers: real corosync clusters (:mod:`pyquorum.testing.cluster`), a fake quorum
server (:class:`FakeQuorumServer`) and a fake corosync (:class:`FakeCorosyncServer`),
hypothesis strategies, and the scenario walk (:mod:`pyquorum.testing.scenarios`) that
the live tests and the fixture recorder share.

Lazy: ``import pyquorum.testing.cluster`` must not start the fake server's
imports (construct, the IPC server), so :class:`FakeQuorumServer` is
imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyquorum.testing.fake import FakeCorosyncServer, FakeQuorumServer

__all__ = ["FakeCorosyncServer", "FakeQuorumServer"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from pyquorum.testing import fake

        return getattr(fake, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
