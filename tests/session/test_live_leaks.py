"""10,000 open/close cycles in one process leave no fd, mapping or /dev/shm entry behind.

Not a timed test: it counts resources before and after.
"""

from __future__ import annotations

import os
import time
from typing import Any

from pyquorum import QuorumSession
from pyquorum.messages.constants import Model, Track

Node = Any
CYCLES = 10_000


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def shm_mappings() -> int:
    with open("/proc/self/maps") as maps:
        return sum("/dev/shm/" in line for line in maps)


def our_shm_entries(node: Node) -> list[str]:
    prefix = f"qb-{node.pid}-{os.getpid()}-"
    return [name for name in os.listdir("/dev/shm") if name.startswith(prefix)]


def test_ten_thousand_open_close_cycles_leak_nothing(corosync_node_any: Node) -> None:
    node = corosync_node_any
    fds, maps = open_fds(), shm_mappings()
    with node.netns_context():
        for i in range(CYCLES):
            session = QuorumSession(Model.V1, timeout=10)
            if i % 1000 == 0:
                # Now and then a session that did more than initialize.
                session.trackstart(Track.CURRENT)
                assert session.getquorate()
                assert len(list(session.events(timeout=0.2))) == 2
            session.close()
    assert open_fds() == fds
    assert shm_mappings() == maps
    # corosync removes each connection's files once it has seen the hang-up.
    deadline = time.monotonic() + 10
    while our_shm_entries(node) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert our_shm_entries(node) == []
