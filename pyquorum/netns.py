"""The network namespace a session connects from, remembered and re-entered.

corosync's IPC starts on an abstract unix socket (``@quorum``), and abstract
sockets belong to a network namespace: a connection is made in the
namespace of the *thread* that connects.  Front ends that connect from
another thread (asyncio's executor, a reconnect supervisor) remember the
creating thread's namespace with :meth:`NetNamespace.current` and connect
inside :meth:`NetNamespace.entered`, which setns(2)es only the calling
thread and restores it afterwards.

The same few calls serve the test helpers: :func:`netns_context` enters a
named namespace (``ip netns add NAME``, a bind mount under ``/run/netns``)
or any nsfs path for a block, and :func:`unshare_net` gives the calling
thread a private namespace of its own.  This module is the one place that
calls setns(2) and unshare(2); it uses the standard library only.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = [
    "CLONE_NEWNET",
    "NETNS_DIR",
    "NetNamespace",
    "netns_context",
    "setns",
    "unshare_net",
]

CLONE_NEWNET = 0x40000000
#: Where ``ip netns`` keeps its named namespaces (bind mounts of nsfs inodes).
NETNS_DIR = "/run/netns"
_THREAD_NS = "/proc/thread-self/ns/net"


def setns(fd: int, nstype: int = CLONE_NEWNET) -> None:
    """setns(2) for the calling thread (os.setns on Python >= 3.12, ctypes before)."""
    fn = getattr(os, "setns", None)
    if fn is not None:
        fn(fd, nstype)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, nstype) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns(CLONE_NEWNET): {os.strerror(err)}")


def unshare_net() -> None:
    """Move the calling thread into a new, private network namespace (unshare(2)).

    The namespace lives as long as something holds it: a thread inside it,
    or an open :class:`NetNamespace` handle (take one with
    :meth:`NetNamespace.current` before the thread leaves).
    """
    fn = getattr(os, "unshare", None)  # Python >= 3.12
    if fn is not None:
        fn(CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWNET): {os.strerror(err)}")


def _path_of(name_or_path: str) -> str:
    """``/run/netns/NAME`` for a bare name; anything with a slash is a path already."""
    return name_or_path if "/" in name_or_path else os.path.join(NETNS_DIR, name_or_path)


def _ident(st: os.stat_result) -> tuple[int, int]:
    return (st.st_dev, st.st_ino)


class NetNamespace:
    """An open handle on one network namespace (an fd on its nsfs inode)."""

    __slots__ = ("_fd", "_ident")

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._ident = _ident(os.fstat(fd))

    @classmethod
    def current(cls) -> NetNamespace:
        """The calling thread's network namespace."""
        return cls(os.open(_THREAD_NS, os.O_RDONLY | os.O_CLOEXEC))

    @classmethod
    def open(cls, name_or_path: str) -> NetNamespace:
        """A handle on a named namespace (``ip netns`` name) or an nsfs path
        such as ``/proc/<pid>/ns/net``."""
        return cls(os.open(_path_of(name_or_path), os.O_RDONLY | os.O_CLOEXEC))

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def is_current(self) -> bool:
        """Whether the calling thread is in this namespace already."""
        return _ident(os.stat(_THREAD_NS)) == self._ident

    @contextmanager
    def entered(self) -> Iterator[None]:
        """Run the block with the calling thread in this namespace (no-op if it is already)."""
        if self._fd < 0:
            raise ValueError("the namespace handle is closed")
        if self.is_current():
            yield
            return
        home = os.open(_THREAD_NS, os.O_RDONLY | os.O_CLOEXEC)
        try:
            setns(self._fd)
            try:
                yield
            finally:
                setns(home)
        finally:
            os.close(home)

    def enter(self) -> None:
        """Move the calling thread into this namespace for good (it does not come back)."""
        if self._fd < 0:
            raise ValueError("the namespace handle is closed")
        setns(self._fd)

    def fileno(self) -> int:
        return self._fd

    def __enter__(self) -> NetNamespace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __repr__(self) -> str:
        return f"<NetNamespace inode={self._ident[1]}{' closed' if self.closed else ''}>"


@contextmanager
def netns_context(name_or_path: str) -> Iterator[None]:
    """Run the block with the calling thread in the named namespace (or nsfs path).

    setns(2) on a network namespace affects only the calling thread, so
    other threads keep their view.  Sockets created inside stay in the
    namespace they were created in after the block ends, which is what lets
    an in-process client talk to a daemon in another namespace.  Contexts
    nest: each remembers the namespace it came from.
    """
    with NetNamespace.open(name_or_path) as ns, ns.entered():
        yield
