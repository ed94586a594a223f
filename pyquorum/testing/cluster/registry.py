"""The process-wide clean-up registry: every cluster this process has open, and
what earlier runs left behind.

Why process-wide: a test run can die anywhere (^C, SIGTERM from CI, a
failed fixture), and the namespaces and daemons it made must not outlive
it.  Open clusters are registered here; atexit and SIGTERM/SIGHUP handlers
close them, :func:`sweep_stale` removes what a SIGKILLed run left, and
:func:`leftovers` lets a test suite check that nothing leaked.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from types import FrameType
from typing import TYPE_CHECKING, Any

from pyquorum.testing.cluster import network as _netns
from pyquorum.testing.cluster import procs as _procs
from pyquorum.testing.cluster.common import RUN_ROOT, WORK_ROOT, ClusterError
from pyquorum.testing.cluster.network import IpError, find_binary

if TYPE_CHECKING:
    from pyquorum.testing.cluster.cluster import Cluster

__all__ = [
    "LIVE",
    "RUN_PIDS",
    "close_all",
    "leftovers",
    "leftovers_of",
    "load_state",
    "new_tag",
    "on_teardown",
    "register",
    "sweep_stale",
    "unregister",
]


def load_state(tag: str) -> dict[str, Any] | None:
    try:
        data = json.loads((RUN_ROOT / tag / "state.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


_tag_counter = itertools.count()


def new_tag() -> str:
    """A cluster tag not used by anything on this machine: pq<pid>c<counter>."""
    pid = os.getpid()
    limit = _netns.counter_limit(pid)
    in_use = {_netns.parse_name(n) for n in _netns.list_netns()}
    taken = {t for t, _ in filter(None, in_use)}
    for root in (RUN_ROOT, WORK_ROOT):
        with contextlib.suppress(OSError):
            taken |= set(os.listdir(root))
    for _ in range(limit):
        tag = f"pq{pid}c{next(_tag_counter) % limit}"
        if tag not in taken and tag not in LIVE:
            return tag
    raise ClusterError(f"all {limit} cluster tags of pid {pid} are in use")




LIVE: dict[str, Cluster] = {}
RUN_PIDS: set[int] = set()  # every corosync this process started
_handlers_installed = False


def register(cluster: Cluster) -> None:
    if cluster.persistent:
        return
    LIVE[cluster.tag] = cluster
    _install_signal_handlers()


def unregister(cluster: Cluster) -> None:
    LIVE.pop(cluster.tag, None)


#: Other test daemons to stop with the clusters (a Prometheus server, say), by key.
_OTHERS: dict[object, Callable[[], None]] = {}


def on_teardown(key: object, stop: Callable[[], None] | None) -> None:
    """Have ``stop()`` run when the process exits or dies of SIGTERM/SIGHUP, as open
    clusters are torn down; ``stop=None`` forgets ``key`` (it was stopped normally)."""
    if stop is None:
        _OTHERS.pop(key, None)
        return
    _OTHERS[key] = stop
    _install_signal_handlers()


def _teardown_all(reason: str) -> None:
    for key, stop in list(_OTHERS.items()):
        _OTHERS.pop(key, None)
        try:
            stop()
        except Exception as exc:
            print(f"pyquorum.testing: stopping {key!r} ({reason}): {exc}", file=sys.stderr)
    for cluster in list(LIVE.values()):
        print(f"pyquorum.testing.cluster: tearing down {cluster.tag} ({reason})", file=sys.stderr)
        try:
            cluster.close(graceful=False)
        except Exception as exc:
            print(f"pyquorum.testing.cluster: {exc}", file=sys.stderr)


atexit.register(_teardown_all, "still open at exit")


def _on_fatal_signal(signum: int, frame: FrameType | None) -> None:
    """Tear down, then die of the same signal as if we had never caught it."""
    _teardown_all(f"signal {signal.Signals(signum).name}")
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_signal_handlers() -> None:
    """Catch SIGTERM and SIGHUP so the clusters go away, if nobody else handles them.

    Only replaces the default action, and only from the main thread (where
    Python runs signal handlers).  SIGINT already raises KeyboardInterrupt,
    which the context manager and atexit handle.
    """
    global _handlers_installed
    if _handlers_installed or threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) == signal.SIG_DFL:
            signal.signal(sig, _on_fatal_signal)
    _handlers_installed = True


def close_all() -> list[str]:
    """Close every cluster this process still has open (without waiting for a
    clean exit), remove what is left of any other cluster it made, and the
    /dev/shm files of every dead corosync it started.  For leak checks that
    clean up after reporting; returns what it did.
    """
    done = []
    for cluster in list(LIVE.values()):
        try:
            cluster.close(graceful=False)
            done.append(f"closed {cluster.tag}")
        except ClusterError as exc:
            done.append(str(exc))
    for tag, owner in sorted(_existing_tags().items()):
        if owner == os.getpid():
            done += _remove_tag(tag, load_state(tag))
    done += [f"file {p}" for p in _procs.remove_shm_debris(RUN_PIDS)]
    return done


def leftovers(owner_pid: int | None = None) -> list[str]:
    """What the harness created and has not removed yet, for leak checks.

    Looks at every cluster made by ``owner_pid`` (default: this process):
    network namespaces, interfaces in this namespace, state directories,
    and, for this process only, corosync processes it started, their
    /dev/shm files and clusters still open.
    """
    owner = os.getpid() if owner_pid is None else owner_pid

    def ours(name: str) -> bool:
        parsed = _netns.parse_name(name)
        return parsed is not None and parsed[1] == owner

    found = [f"netns {n}" for n in _netns.list_netns() if ours(n)]
    found += [f"link {n}" for n in _netns.list_root_links() if ours(n)]
    for root in (RUN_ROOT, WORK_ROOT):
        with contextlib.suppress(OSError):
            found += [f"dir {root / d}" for d in os.listdir(root) if _netns.parse_tag(d) == owner]
    if owner == os.getpid():
        found += [f"open cluster {t}" for t in LIVE]
        found += _process_leftovers(RUN_PIDS)
    return found


def leftovers_of(tag: str, pids: Iterable[int]) -> list[str]:
    """What is left of the cluster ``tag`` whose corosyncs were ``pids``."""

    def ours(name: str) -> bool:
        parsed = _netns.parse_name(name)
        return parsed is not None and parsed[0] == tag

    found = [f"netns {n}" for n in _netns.list_netns() if ours(n)]
    found += [f"link {n}" for n in _netns.list_root_links() if ours(n)]
    found += [f"dir {root / tag}" for root in (RUN_ROOT, WORK_ROOT) if (root / tag).exists()]
    return found + _process_leftovers(pids)


def _process_leftovers(pids: Iterable[int]) -> list[str]:
    pids = sorted(set(pids))
    found = [f"corosync pid {p}" for p in pids if _procs.pid_is_corosync(p)]
    return found + [
        f"file {p}" for p in _procs.shm_debris(p for p in pids if not _procs.pid_alive(p))
    ]


def sweep_stale() -> list[str]:
    """Remove what earlier runs left behind when they died without tearing down.

    A cluster is stale when the pid in its name is dead and it is not
    persistent.  Its processes are killed, its namespaces (with their
    interfaces), state directory and the /dev/shm files of its corosyncs
    removed.  Returns a description of what was removed; a no-op without
    root or ``ip``.
    """
    if os.geteuid() != 0 or find_binary("ip") is None:
        return []
    removed: list[str] = []
    for tag, owner in sorted(_existing_tags().items()):
        if _procs.pid_alive(owner) or tag in LIVE:
            continue
        state = load_state(tag)
        if state is not None and state.get("persistent"):
            continue
        removed += _remove_tag(tag, state)
    return removed


def _existing_tags() -> dict[str, int]:
    """Tag -> owner pid of every cluster with a namespace, interface or directory here."""
    tags: dict[str, int] = {}
    for name in [*_netns.list_netns(), *_netns.list_root_links()]:
        parsed = _netns.parse_name(name)
        if parsed:
            tags[parsed[0]] = parsed[1]
    for root in (RUN_ROOT, WORK_ROOT):
        with contextlib.suppress(OSError):
            for d in os.listdir(root):
                owner = _netns.parse_tag(d)
                if owner is not None:
                    tags[d] = owner
    return tags


def _remove_tag(tag: str, state: Mapping[str, Any] | None) -> list[str]:
    """Remove every object of the cluster ``tag`` (whose owner is gone)."""
    removed: list[str] = []
    namespaces = [n for n in _netns.list_netns() if (_netns.parse_name(n) or ("",))[0] == tag]
    pids = {int(p) for n in (state or {}).get("nodes", []) for p in n.get("pids", [])}
    in_ns = {pid for ns in namespaces for pid in _netns.netns_pids(ns)}
    _procs.kill_and_wait(in_ns)
    removed += [f"process {pid}" for pid in sorted(in_ns)]
    removed += [f"file {p}" for p in _procs.remove_shm_debris(pids | in_ns)]
    if namespaces:
        with contextlib.suppress(IpError):
            _netns.ip_batch([f"netns delete {ns}" for ns in namespaces], force=True)
        removed += [f"netns {ns}" for ns in namespaces]
    links = [n for n in _netns.list_root_links() if (_netns.parse_name(n) or ("",))[0] == tag]
    for link in links:
        with contextlib.suppress(IpError):
            _netns.ip("link", "delete", link)
        removed.append(f"link {link}")
    # A workdir given by the caller is theirs to keep; only the default one goes.
    for root in (RUN_ROOT, WORK_ROOT):
        if (root / tag).exists():
            shutil.rmtree(root / tag, ignore_errors=True)
            removed.append(f"dir {root / tag}")
    return removed

