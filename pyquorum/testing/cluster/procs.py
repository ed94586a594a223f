"""Processes and their /dev/shm files, read straight from /proc.

Why /proc and not ``os.kill(pid, 0)``: a zombie still answers kill(0), and
corosyncs whose parent died are reaped late (or never, under some container
inits), so "alive" has to mean "exists and is not a zombie".
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Iterable

__all__ = [
    "SHM_DIR",
    "kill_and_wait",
    "pid_alive",
    "pid_is_corosync",
    "pid_state",
    "remove_shm_debris",
    "shm_debris",
]

SHM_DIR = "/dev/shm"


def pid_state(pid: int) -> str | None:
    """The state letter of ``pid`` from /proc (``R``, ``S``, ``T``, ``Z``...), None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    return data[data.rfind(b")") + 2 :][:1].decode() or None


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    state = pid_state(pid)
    return state is not None and state not in "ZX"


def pid_is_corosync(pid: int) -> bool:
    """True while ``pid`` is a live corosync (guards against pid reuse)."""
    if not pid_alive(pid):
        return False
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip() == "corosync"
    except OSError:
        return False


def shm_debris(pids: Iterable[int]) -> list[str]:
    """Paths in /dev/shm that belong to the corosync processes ``pids``.

    ``qb-corosync-<pid>-blackbox-{header,data}`` is corosync's flight
    recorder; ``qb-<pid>-<client pid>-<fd>-XXXXXX/`` holds one IPC
    connection's files.  A clean exit removes both; SIGKILL leaves them.
    """
    prefixes = tuple(p for pid in pids for p in (f"qb-{pid}-", f"qb-corosync-{pid}-"))
    if not prefixes:
        return []
    try:
        names = os.listdir(SHM_DIR)
    except OSError:
        return []
    return sorted(os.path.join(SHM_DIR, n) for n in names if n.startswith(prefixes))


def remove_shm_debris(pids: Iterable[int]) -> list[str]:
    """Remove the /dev/shm debris of those ``pids`` that are dead; returns what went."""
    dead = [pid for pid in pids if not pid_alive(pid)]
    removed = []
    for path in shm_debris(dead):
        with contextlib.suppress(FileNotFoundError):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        removed.append(path)
    return removed


def kill_and_wait(pids: Iterable[int], timeout: float = 5.0) -> None:
    """SIGKILL ``pids`` (never this process) and wait until they are gone."""
    targets = [pid for pid in pids if pid != os.getpid()]
    for pid in targets:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while any(pid_alive(pid) for pid in targets) and time.monotonic() < deadline:
        time.sleep(0.01)
