"""10,000 open/close cycles in one process leave no fd, mapping or /dev/shm entry behind.

Not a timed test: it counts resources before and after.
"""

from __future__ import annotations

import time
from typing import Any

from pyquorum import QuorumSession
from pyquorum.messages.constants import Model, Track
from tests.support.process_resources import open_fds, our_shm_entries, shm_mappings

Node = Any
CYCLES = 10_000


def test_ten_thousand_open_close_cycles_leak_nothing(corosync_node_any: Node) -> None:
    node = corosync_node_any
    fds, maps = len(open_fds()), len(shm_mappings())
    with node.netns_context():
        for i in range(CYCLES):
            session = QuorumSession(Model.V1, timeout=10)
            if i % 1000 == 0:
                # Now and then a session that did more than initialize.
                session.trackstart(Track.CURRENT)
                assert session.getquorate()
                assert len(list(session.events(timeout=0.2))) == 2
            session.close()
    assert len(open_fds()) == fds
    assert len(shm_mappings()) == maps
    # corosync removes each connection's files once it has seen the hang-up.
    deadline = time.monotonic() + 10
    while our_shm_entries(node) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert our_shm_entries(node) == []
