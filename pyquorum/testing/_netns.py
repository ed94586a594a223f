"""Network namespaces for the cluster harness: names, ``ip`` calls and setns(2).

Why a module of its own: everything here is about the kernel's network
namespaces and ``iproute2``, nothing about corosync, and the cluster code
reads more easily when these mechanics are out of the way.

Names carry their creator's pid so that leftovers of a crashed run can be
told apart from a live run's objects (see ``cluster.sweep_stale``)::

    pq<pid>c<counter><kind><index>      e.g. pq4242c3n1, pq4242c3h1, pq4242c3b0

``kind`` is ``s`` (the switch namespace holding the bridges), ``n`` (a node's
namespace), ``b`` (a bridge) or ``h`` (the switch-side end of a node's veth
pair).  Interface names must fit IFNAMSIZ (15 characters); the counter is
kept short enough for that even with a 7-digit pid.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager

__all__ = [
    "IFNAMSIZ",
    "NETNS_DIR",
    "IpError",
    "counter_limit",
    "find_binary",
    "ip",
    "ip_batch",
    "list_netns",
    "list_root_links",
    "make_name",
    "netns_context",
    "netns_pids",
    "parse_name",
    "parse_tag",
]

CLONE_NEWNET = 0x40000000
NETNS_DIR = "/run/netns"
IFNAMSIZ = 15  # usable characters of an interface name (16 with the NUL)
_MAX_INDEX_DIGITS = 2  # node ids and partition groups stay below 100

_NAME_RE = re.compile(r"^pq(?P<pid>\d+)c(?P<ctr>\d+)(?P<kind>[a-z])(?P<idx>\d*)$")
_TAG_RE = re.compile(r"^pq(?P<pid>\d+)c(?P<ctr>\d+)$")

# sbin directories are often missing from PATH under sudo, cron or CI runners.
_EXTRA_PATH = ("/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin")


class IpError(RuntimeError):
    """An ``ip`` command failed; the message carries the command and its stderr."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(f"{' '.join(argv)!s} failed ({returncode}): {stderr.strip()}")


def find_binary(name: str) -> str | None:
    """Absolute path of ``name`` from PATH or the usual sbin directories, else None."""
    found = shutil.which(name)
    if found:
        return found
    return shutil.which(name, path=os.pathsep.join(_EXTRA_PATH))


def counter_limit(pid: int) -> int:
    """How many cluster counters fit next to ``pid`` in a 15-character interface name."""
    digits = IFNAMSIZ - len(f"pq{pid}c") - 1 - _MAX_INDEX_DIGITS
    return int(10 ** min(max(digits, 1), 6))


def make_name(tag: str, kind: str, index: int | None = None) -> str:
    """The name of one object of the cluster ``tag`` (see the module docstring)."""
    name = f"{tag}{kind}{'' if index is None else index}"
    if kind in "bh" and len(name) > IFNAMSIZ:
        raise ValueError(f"interface name {name!r} is longer than {IFNAMSIZ} characters")
    return name


def parse_name(name: str) -> tuple[str, int] | None:
    """(tag, owner pid) of a harness object name, or None if it is not one of ours."""
    m = _NAME_RE.match(name)
    if m is None:
        return None
    return f"pq{m['pid']}c{m['ctr']}", int(m["pid"])


def parse_tag(tag: str) -> int | None:
    """Owner pid of a cluster tag such as ``pq4242c3``, or None if it is not a tag."""
    m = _TAG_RE.match(tag)
    return int(m["pid"]) if m else None


def ip(*args: str, netns: str | None = None, check: bool = True) -> str:
    """Run one ``ip`` command (inside ``netns`` if given) and return its stdout."""
    argv = [find_binary("ip") or "ip"]
    if netns is not None:
        argv += ["-n", netns]
    argv += list(args)
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)
    if check and proc.returncode != 0:
        raise IpError(argv, proc.returncode, proc.stderr)
    return proc.stdout


def ip_batch(commands: Iterable[str], *, netns: str | None = None, force: bool = False) -> None:
    """Run several ``ip`` commands in one process (``ip -batch -``).

    Setting up a cluster takes a few dozen commands; one process per
    namespace instead of one per command keeps start-up in the tens of ms.
    Stops at the first error unless ``force`` (then runs them all and still
    raises if any failed).
    """
    lines = "\n".join(commands) + "\n"
    argv = [find_binary("ip") or "ip"]
    if netns is not None:
        argv += ["-n", netns]
    if force:
        argv.append("-force")
    argv += ["-batch", "-"]
    proc = subprocess.run(
        argv, input=lines, capture_output=True, text=True, check=False, timeout=30
    )
    if proc.returncode != 0:
        raise IpError([*argv, f"<<{lines.strip()!r}"], proc.returncode, proc.stderr)


def list_netns() -> list[str]:
    """Names of the named network namespaces (the bind mounts under /run/netns)."""
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def list_root_links() -> list[str]:
    """Interface names in this process's network namespace."""
    try:
        return sorted(os.listdir("/sys/class/net"))
    except OSError:
        return []


def netns_pids(name: str) -> list[int]:
    """Pids of the processes inside the named network namespace."""
    out = ip("netns", "pids", name, check=False)
    return [int(word) for word in out.split() if word.isdigit()]


def _setns(fd: int) -> None:
    setns = getattr(os, "setns", None)  # Python >= 3.12
    if setns is not None:
        setns(fd, CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns(CLONE_NEWNET): {os.strerror(err)}")


@contextmanager
def netns_context(name: str) -> Iterator[None]:
    """Move the calling thread into the named network namespace, and back afterwards.

    setns(2) on a network namespace affects only the calling thread, so other
    threads (and the rest of the test) keep their view.  Sockets created
    inside stay in the namespace they were created in after the block ends,
    which is what lets an in-process client talk to one node's ``@quorum``.
    Contexts nest: each remembers the namespace it came from.
    """
    target = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY | os.O_CLOEXEC)
    try:
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(home)
        finally:
            os.close(home)
    finally:
        os.close(target)
