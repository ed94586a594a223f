"""What this test process holds: its file descriptors and its /dev/shm mappings.

The leak checks of the session, reconnect, hostile-server and exporter tests
count these before and after; read once here.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["open_fds", "our_shm_entries", "shm_mappings"]


def open_fds() -> set[str]:
    """The numbers of this process's open file descriptors."""
    return set(os.listdir("/proc/self/fd"))


def shm_mappings(prefix: str = "/dev/shm/") -> list[str]:
    """The lines of /proc/self/maps that map a file under ``prefix``."""
    with open("/proc/self/maps") as maps:
        return [line for line in maps if prefix in line]


def our_shm_entries(node: Any) -> list[str]:
    """The /dev/shm entries corosync of ``node`` (a harness node) made for this process."""
    prefix = f"qb-{node.pid}-{os.getpid()}-"
    return [name for name in os.listdir("/dev/shm") if name.startswith(prefix)]
