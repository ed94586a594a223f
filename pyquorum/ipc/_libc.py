"""The few libc functions pyquorum needs, bound once through ctypes.

glibc's POSIX semaphore calls (``sem_clockwait`` only where glibc has it,
2.30 on), and ``mmap`` itself.  The semaphores are the reason ctypes is
used at all: the rings' semaphores are shared with corosync, and waiting on
or decrementing them needs an atomic read-modify-write plus a futex call,
which pure Python cannot do (docs/protocol.md §3.8).  ``mmap`` is here
because :class:`mmap.mmap` keeps a duplicate of the mapped file's fd open
for the mapping's life (before Python 3.13's ``trackfd``), which would
cost a connection one fd per ring file (see :mod:`pyquorum.ipc.mapping`).

Every function is bound with ``use_errno=True`` so a failure's errno is read
with :func:`ctypes.get_errno` right after the call, immune to anything the
interpreter does in between.  ctypes drops the GIL for the duration of each
call, so a thread blocked in :func:`sem_timedwait` does not stall others.

Addresses are passed as ``c_void_p``; the argument types are declared so a
64-bit address is never truncated to a C ``int``.
"""

from __future__ import annotations

import ctypes
from typing import Final

__all__ = [
    "MAP_FAILED",
    "SEM_T_SIZE",
    "Timespec",
    "get_errno",
    "mmap",
    "munmap",
    "sem_clockwait",
    "sem_destroy",
    "sem_getvalue",
    "sem_init",
    "sem_post",
    "sem_timedwait",
    "sem_trywait",
]

#: sizeof(sem_t) on every 64-bit glibc ABI (docs/protocol.md §12).
SEM_T_SIZE: Final = 32


class Timespec(ctypes.Structure):
    """``struct timespec``: ``time_t tv_sec; long tv_nsec`` (both ``long`` on LP64 Linux)."""

    _fields_ = (("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long))


def _load_libc() -> ctypes.CDLL:
    # glibc's soname on every Linux ABI pyquorum targets.  find_library
    # (which runs ldconfig or gcc in a subprocess) only as a fallback, so
    # importing this module never spawns a process on a normal system.
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        from ctypes.util import find_library  # (slow to import: only when needed)

        name = find_library("c")
        if name is None:
            raise
        return ctypes.CDLL(name, use_errno=True)


_libc: Final = _load_libc()

_sem_p = ctypes.c_void_p


def _bind(name: str, *argtypes: type) -> ctypes._NamedFuncPointer:
    fn = getattr(_libc, name)
    fn.argtypes = list(argtypes)
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


#: int sem_init(sem_t *sem, int pshared, unsigned int value)
sem_init: Final = _bind("sem_init", _sem_p, ctypes.c_int, ctypes.c_uint)
#: int sem_destroy(sem_t *sem)
sem_destroy: Final = _bind("sem_destroy", _sem_p)
#: int sem_post(sem_t *sem)
sem_post: Final = _bind("sem_post", _sem_p)
#: int sem_trywait(sem_t *sem)
sem_trywait: Final = _bind("sem_trywait", _sem_p)
#: int sem_timedwait(sem_t *sem, const struct timespec *abs_timeout) -- CLOCK_REALTIME
sem_timedwait: Final = _bind("sem_timedwait", _sem_p, ctypes.POINTER(Timespec))
#: int sem_clockwait(sem_t *sem, clockid_t clockid, const struct timespec *abstime)
#: -- glibc >= 2.30; None on an older libc (then sem_timedwait serves).
sem_clockwait: Final = (
    _bind("sem_clockwait", _sem_p, ctypes.c_int, ctypes.POINTER(Timespec))
    if hasattr(_libc, "sem_clockwait")
    else None
)
#: int sem_getvalue(sem_t *sem, int *sval)
sem_getvalue: Final = _bind("sem_getvalue", _sem_p, ctypes.POINTER(ctypes.c_int))

#: void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
mmap: Final = _libc.mmap
mmap.argtypes = [
    ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long
]
mmap.restype = ctypes.c_void_p
#: int munmap(void *addr, size_t length)
munmap: Final = _bind("munmap", ctypes.c_void_p, ctypes.c_size_t)
#: ``(void *) -1`` as ctypes returns it for a ``c_void_p`` result.
MAP_FAILED: Final = ctypes.c_void_p(-1).value

get_errno: Final = ctypes.get_errno
