"""The live session checks every service's sessions share: no leak, no hang.

A service's live test module supplies its session and a request; what "leaks
nothing" and "a dead daemon ends every wait" mean is written once here, so the
votequorum and cmap sessions are held to the same bar.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pyquorum.errors import ConnectionLost
from pyquorum.frontend.blocking import BlockingSession
from pyquorum.messages.constants import DispatchMode
from tests.support.process_resources import open_fds, our_shm_entries, shm_mappings

Node = Any  # pyquorum.testing.cluster.Node

#: Open/close cycles per transport: SHM sessions cost ~5 ms each (four files in
#: /dev/shm, mapped and unlinked), socket ones ~0.5 ms.
CYCLES = {"socket": 10_000, "shm": 2_000}


@contextlib.contextmanager
def leaves_nothing_behind(node: Node) -> Iterator[None]:
    """Assert that the block leaves no thread, fd, mapping or /dev/shm entry of
    this process behind (the last two: once corosync has seen the hang-ups)."""
    fds, maps, threads = len(open_fds()), len(shm_mappings()), threading.active_count()
    yield
    deadline = time.monotonic() + 10
    while threading.active_count() > threads and time.monotonic() < deadline:
        time.sleep(0.05)  # an async session's own executor thread ends just after close
    assert threading.active_count() == threads
    assert len(open_fds()) == fds
    assert len(shm_mappings()) == maps
    while our_shm_entries(node) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert our_shm_entries(node) == []


def assert_a_dead_daemon_ends_both_waits(
    node: Node, waiting: BlockingSession[Any], request: Callable[[], object]
) -> None:
    """With ``waiting`` in a blocking dispatch (in a thread) and ``request``
    queued at a stopped daemon that is then killed, both end with
    ConnectionLost within about 3 s."""
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            waiting.dispatch(DispatchMode.BLOCKING)
        except BaseException as exc:
            outcome.append(exc)

    t = threading.Thread(target=run)
    t.start()
    node.pause()  # the request below is queued, never answered
    threading.Timer(0.3, os.kill, (node.pid, signal.SIGKILL)).start()
    t0 = time.monotonic()
    with pytest.raises(ConnectionLost):
        request()
    t.join(10)
    assert time.monotonic() - t0 < 3.3
    assert len(outcome) == 1 and isinstance(outcome[0], ConnectionLost), outcome
