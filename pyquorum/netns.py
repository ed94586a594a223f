"""The network namespace a session connects from, remembered and re-entered.

corosync's IPC starts on an abstract unix socket (``@quorum``), and abstract
sockets belong to a network namespace: a connection is made in the
namespace of the *thread* that connects.  Front ends that connect from
another thread (asyncio's executor, a reconnect supervisor) remember the
creating thread's namespace with :meth:`NetNamespace.current` and connect
inside :meth:`NetNamespace.entered`, which setns(2)es only the calling
thread and restores it afterwards.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["CLONE_NEWNET", "NetNamespace", "setns"]

CLONE_NEWNET = 0x40000000
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

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __repr__(self) -> str:
        return f"<NetNamespace inode={self._ident[1]}{' closed' if self.closed else ''}>"
