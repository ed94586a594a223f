"""What the exporter tests that run a source or an Exporter share: the fake
server's transports and story, the root it needs, and waiting for a snapshot."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from pyquorum.exporter.state import ClusterSnapshot, ClusterState
from pyquorum.fake.script import Script, Step
from pyquorum.fake.server import TransportName
from tests.support.live import require_live

TRANSPORTS: tuple[TransportName, ...] = ("shm", "socket")

#: node 3 leaves, node 2 leaves and quorum goes, both come back with quorum, then a
#: quorum-only loss that heals 50 ms later.
STORY = Script.build([1, 2, 3], steps=[
    Step(0.10, members=(1, 2)),
    Step(0.20, members=(1,), quorate=False),
    Step(0.30, members=(1, 2, 3), quorate=True),
    Step(0.40, quorate=False),
    Step(0.45, quorate=True),
])


def require_fake_root() -> None:
    """Skip (or fail, see :func:`~tests.support.live.require_live`) unless root."""
    if os.geteuid() != 0:
        require_live("the fake server's private network namespace needs root")


def wait_for(state: ClusterState, predicate: Callable[[ClusterSnapshot], bool],
             timeout: float = 5.0) -> ClusterSnapshot:
    """The state's first snapshot that satisfies ``predicate``; AssertionError
    after ``timeout`` seconds without one."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        snap = state.snapshot()
        if predicate(snap):
            return snap
        time.sleep(0.01)
    raise AssertionError(f"not reached within {timeout}s: {state.snapshot()}")
