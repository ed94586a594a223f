"""Counting semaphores for the SHM rings: glibc's ``sem_t`` in shared memory, and a stand-in.

Each libqb ring header carries a process-shared glibc ``sem_t`` at offset
8208 (``qb_ringbuffer_shared_s.posix_sem``).  The writer posts it once per
committed chunk and the reader waits on it once per chunk it consumes; the
count is also part of libqb's free-space rule (an empty-looking ring with a
positive count is treated as *full*), so every chunk we consume must be
matched by exactly one successful wait (docs/protocol.md §3.4, §3.8, trap 8).

Decrementing that count is an atomic compare-and-swap on memory the daemon
also updates, followed by a futex wait when it is zero.  Pure Python has no
atomic read-modify-write on shared memory, so :class:`PosixSemaphore` calls
glibc's own ``sem_*`` through ctypes (:mod:`pyquorum.ipc._libc`) on the
``sem_t`` where it lies in the caller's mapping.  That is also what makes us
interoperate with corosync's posts and wake-ups: we run the very same code.

:class:`ThreadSemaphore` implements the same :class:`Semaphore` protocol with
a :class:`threading.Condition`, so ring logic can be exercised on a plain
``bytearray`` without shared memory or libc.

Timeouts are relative seconds (floats).  ``0`` never blocks.  There is no
"wait forever": callers wait in slices and check the peer's liveness in
between (docs/protocol.md §3.6), so an unbounded wait is never what they want.
"""

from __future__ import annotations

import ctypes
import errno
import math
import os
import threading
import time
from typing import Final, Protocol, runtime_checkable

from pyquorum._buffer import WritableBuffer
from pyquorum.ipc import _libc

__all__ = [
    "MAX_TIMEOUT",
    "SEM_SIZE",
    "PosixSemaphore",
    "Semaphore",
    "ThreadSemaphore",
]


#: sizeof(sem_t) on x86_64 glibc; the header reserves exactly this much
#: (posix_sem at 8208, user_data at 8240).
SEM_SIZE: Final = _libc.SEM_T_SIZE
#: Where glibc keeps the futex flags in a sem_t, and the two values it writes there
#: (FUTEX_PRIVATE_FLAG for a process-shared semaphore, 0 for a private one).
_PRIVATE_OFFSET: Final = 8
_PRIVATE_VALUES: Final = frozenset({0x80, 0})

#: Longer timeouts are cut to this (about 31 years), which keeps the absolute
#: deadline well inside ``time_t``.
MAX_TIMEOUT: Final = 1e9

# glibc keeps a 64-bit word at the start of sem_t and updates it with 64-bit
# atomics, so the sem_t must be 8-byte aligned (it is at header offset 8208).
_SEM_ALIGN: Final = 8

_NS: Final = 1_000_000_000


def _check_timeout(timeout: float) -> float:
    # NaN fails both comparisons; inf is refused because callers must slice.
    if not timeout >= 0 or math.isinf(timeout):
        raise ValueError(f"timeout must be a finite number of seconds >= 0, not {timeout!r}")
    return min(float(timeout), MAX_TIMEOUT)


@runtime_checkable
class Semaphore(Protocol):
    """What a ring needs from its semaphore (one count per committed chunk)."""

    def post(self) -> None:
        """Add one to the count, waking one waiter."""

    def trywait(self) -> bool:
        """Take one from the count if it is positive; False (at once) when it is zero."""

    def timedwait(self, timeout: float) -> bool:
        """Take one from the count, waiting up to ``timeout`` seconds; False on timeout."""

    def value(self) -> int:
        """The current count (a snapshot; the peer may change it at any moment)."""

    def release(self) -> None:
        """Drop any reference into the underlying buffer; the object is unusable after."""


class PosixSemaphore:
    """A glibc ``sem_t`` (32 bytes) living inside a writable buffer, driven through libc.

    ``buffer`` is usually the ``mmap.mmap`` of a ring header and ``offset``
    is :data:`pyquorum.ipc.ring.SEM_OFFSET` (8208).  The semaphore must
    already be initialized (by the process that created the ring); use
    :meth:`init` to initialize one.

    The object pins ``buffer`` (ctypes holds a buffer export), which is
    what keeps the address valid.  Call :meth:`release` before closing an
    ``mmap``, otherwise ``mmap.close()`` raises ``BufferError``.  Any call
    after :meth:`release` raises ``ValueError`` rather than touching freed
    memory.

    Unexpected libc failures (``EINVAL`` for a ``sem_t`` that is not a valid
    semaphore, ``EOVERFLOW`` when the count is at ``SEM_VALUE_MAX``) raise
    :class:`OSError` with the errno: they mean the shared semaphore is
    corrupt, and the connection using it cannot be trusted any more.
    """

    __slots__ = ("_addr", "_anchor", "_out", "_out_ref", "_private", "offset")

    def __init__(self, buffer: WritableBuffer, offset: int) -> None:
        if offset < 0:
            raise ValueError(f"offset must be >= 0, not {offset}")
        # A 32-byte char array checks that the whole sem_t lies inside the
        # buffer (c_char alone would only check its first byte) and that the
        # buffer is writable; it holds the buffer export until released.
        anchor = (ctypes.c_char * SEM_SIZE).from_buffer(buffer, offset)
        address = ctypes.addressof(anchor)
        if address % _SEM_ALIGN:
            raise ValueError(f"sem_t at {address:#x} is not {_SEM_ALIGN}-byte aligned")
        self._anchor: ctypes.Array[ctypes.c_char] | None = anchor
        self._addr: ctypes.c_void_p | None = ctypes.c_void_p(address)
        # sem_getvalue's out-parameter, built once: value() sits on the
        # writer's hot path (libqb's free-space rule asks for it whenever the
        # ring looks empty).  Concurrent value() calls may see each other's
        # result, but each result is still a count the semaphore really had
        # while the calls overlapped, which is all a snapshot promises.
        self._out = ctypes.c_int()
        self._out_ref = ctypes.byref(self._out)
        # glibc's sem_t: {u64 data; int private; int pad}.  ``private`` becomes the
        # futex flags of every wait and wake (0x80 shared, 0 private); any other
        # value makes the futex call fail and glibc then *aborts the process*
        # ("The futex facility returned an unexpected error code").  The daemon
        # can write it, so it is checked before each call that may reach a futex
        # (docs/trust-boundary.md §6.4).
        self._private = ctypes.c_int.from_address(address + _PRIVATE_OFFSET)
        self.offset = offset

    @classmethod
    def init(
        cls, buffer: WritableBuffer, offset: int, value: int = 0, pshared: bool = True
    ) -> PosixSemaphore:
        """``sem_init`` a semaphore at ``buffer[offset:offset+32]`` and return it.

        This is the ring creator's job (libqb's server does
        ``sem_init(&hdr->posix_sem, 1, 0)``).  ``pshared`` must stay True for
        a semaphore shared between processes: glibc then stores 0x80 in the
        ``private`` field and uses shared futexes.  The 32 bytes are zeroed
        first.
        """
        if not 0 <= value <= 0x7FFFFFFF:  # SEM_VALUE_MAX
            raise ValueError(f"initial value must be within 0..SEM_VALUE_MAX, not {value}")
        sem = cls(buffer, offset)
        # sem_init sets only the fields it uses; clear the rest as a freshly
        # created file would have it, so the bytes match what corosync leaves.
        ctypes.memset(sem.address, 0, SEM_SIZE)
        if _libc.sem_init(sem._address(), 1 if pshared else 0, value) != 0:
            err = _libc.get_errno()
            sem.release()
            raise OSError(err, f"sem_init: {os.strerror(err)}")
        return sem

    def _address(self) -> ctypes.c_void_p:
        addr = self._addr
        if addr is None:
            raise ValueError("semaphore was released")
        return addr

    @staticmethod
    def _fail(what: str) -> OSError:
        err = _libc.get_errno()
        return OSError(err, f"{what}: {os.strerror(err)}")

    def _check_private(self, what: str) -> None:
        flags = self._private.value
        if flags not in _PRIVATE_VALUES:
            raise OSError(
                errno.EINVAL,
                f"{what}: the sem_t's private word is {flags:#x}, not 0x80 or 0 "
                "(glibc would abort the process on it)",
            )

    def post(self) -> None:
        addr = self._address()
        self._check_private("sem_post")
        if _libc.sem_post(addr) != 0:
            raise self._fail("sem_post")

    def trywait(self) -> bool:
        addr = self._addr
        if addr is None:
            raise ValueError("semaphore was released")
        while _libc.sem_trywait(addr) != 0:
            err = _libc.get_errno()
            if err == errno.EAGAIN:
                return False
            if err != errno.EINTR:
                raise OSError(err, f"sem_trywait: {os.strerror(err)}")
        return True

    def timedwait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds; True if a count was taken.

        The wait ends at an *absolute* deadline, computed once here so that
        retries after ``EINTR`` (a signal; Python runs its handler as soon as
        this loop resumes) do not stretch it.  The deadline is on
        ``CLOCK_MONOTONIC`` (``sem_clockwait``, glibc 2.30 on), so a
        wall-clock step during the wait (NTP, an operator's ``date -s``)
        neither shortens nor lengthens it; only an older glibc falls back to
        ``sem_timedwait``, whose deadline is ``CLOCK_REALTIME``.
        """
        if timeout == 0:
            return self.trywait()
        timeout = _check_timeout(timeout)
        # A count that is already there is taken without building a
        # deadline; the common case when a reply beat us to the wait.
        if self.trywait():
            return True
        addr = self._address()
        self._check_private("sem_clockwait")
        clockwait = _libc.sem_clockwait
        clock = time.CLOCK_MONOTONIC if clockwait is not None else time.CLOCK_REALTIME
        deadline = time.clock_gettime_ns(clock) + int(timeout * _NS)
        pts = ctypes.pointer(_libc.Timespec(deadline // _NS, deadline % _NS))
        while True:
            if clockwait is not None:
                rc = clockwait(addr, clock, pts)
            else:
                rc = _libc.sem_timedwait(addr, pts)
            if rc == 0:
                return True
            err = _libc.get_errno()
            if err == errno.ETIMEDOUT:
                return False
            if err != errno.EINTR:
                raise OSError(err, f"sem_clockwait: {os.strerror(err)}")

    def value(self) -> int:
        if _libc.sem_getvalue(self._address(), self._out_ref) != 0:
            raise self._fail("sem_getvalue")
        return self._out.value

    def destroy(self) -> None:
        """``sem_destroy``, for the creator once nobody uses the semaphore any more.

        On Linux it only validates; it does not release the object (call
        :meth:`release` for that).
        """
        if _libc.sem_destroy(self._address()) != 0:
            raise self._fail("sem_destroy")

    def release(self) -> None:
        # Dropping the ctypes array drops its buffer export, so the caller
        # can close the mmap.  Idempotent.
        self._addr = None
        self._anchor = None
        self._private = None  # type: ignore[assignment]

    @property
    def address(self) -> int:
        """The ``sem_t``'s address (for diagnostics)."""
        value = self._address().value
        assert value is not None
        return value

    def __enter__(self) -> PosixSemaphore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "released" if self._addr is None else f"at {self._addr.value:#x}"
        return f"<PosixSemaphore offset={self.offset} {state}>"


class ThreadSemaphore:
    """An in-process counting semaphore with the :class:`Semaphore` protocol.

    For rings on ``bytearray`` buffers in tests and in-process fakes, where
    no other process shares the count.  Thread-safe.
    """

    __slots__ = ("_cond", "_value")

    def __init__(self, value: int = 0) -> None:
        if value < 0:
            raise ValueError(f"initial value must be >= 0, not {value}")
        self._cond = threading.Condition(threading.Lock())
        self._value = value

    def post(self) -> None:
        with self._cond:
            self._value += 1
            self._cond.notify()

    def trywait(self) -> bool:
        with self._cond:
            if self._value > 0:
                self._value -= 1
                return True
            return False

    def timedwait(self, timeout: float) -> bool:
        timeout = _check_timeout(timeout)
        with self._cond:
            if not self._cond.wait_for(lambda: self._value > 0, timeout):
                return False
            self._value -= 1
            return True

    def value(self) -> int:
        return self._value

    def release(self) -> None:
        """Nothing to release; present for the protocol."""

    def __repr__(self) -> str:
        return f"<ThreadSemaphore value={self._value}>"
