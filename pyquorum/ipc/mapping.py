"""Map a shared file without keeping an fd open for the mapping's life.

:class:`mmap.mmap` duplicates the fd it maps and holds the duplicate until
the mapping is closed (Python 3.13 added ``trackfd=False`` to avoid it;
Debian 12 runs 3.11).  A SHM connection maps six ring files, so that habit
costs six fds per session where libqb's client, which closes each file
once it is mapped, holds only the setup socket (docs/protocol.md §3.12).

:func:`map_shared_fd` gets the same result on any Python 3.11+:

1. reserve the address range with an anonymous, private
   :class:`mmap.mmap` (``fd`` -1, so nothing is duplicated; its pages are
   never touched, so they cost nothing);
2. map the file over exactly that range with libc's ``mmap`` and
   ``MAP_FIXED | MAP_SHARED``, which atomically replaces the reservation;
3. let the caller close its fd.

The :class:`mmap.mmap` object still owns the range: it counts buffer
exports (so ``close()`` refuses with ``BufferError`` while a view is alive,
rather than leaving a view onto unmapped memory), and its ``close()``
``munmap``\\s the range, which now holds the file.  Nothing can take the
range between steps 1 and 2: it is already ours.  A failure in step 2
closes the reservation again.

Every trust check stays with the caller, who opened the fd (O_NOFOLLOW,
owner, size; docs/trust-boundary.md §7.2).  What changes nothing: a daemon
that shrinks the file after it was mapped still raises SIGBUS on the next
touch, as with :class:`mmap.mmap` and as in libqb's client
(docs/trust-boundary.md §10.6).
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
from typing import Final

from pyquorum.ipc import _libc

__all__ = ["MAP_FIXED", "map_shared_fd"]

#: MAP_FIXED: 0x10 on every Linux ABI; the mmap module does not export it.
MAP_FIXED: Final = 0x10


def map_shared_fd(fd: int, length: int) -> mmap.mmap:
    """A read-write ``MAP_SHARED`` mapping of ``length`` bytes of ``fd`` that holds no fd.

    The caller keeps ownership of ``fd`` (and should close it: the mapping
    no longer needs it).  Raises :class:`OSError` with the errno of the
    failing ``mmap`` (``ENOMEM``, ``EACCES``, ``ENODEV``...), or
    :class:`OverflowError`/:class:`ValueError` for a length that cannot be
    mapped.
    """
    if length <= 0:
        raise ValueError(f"cannot map {length} bytes")
    reservation = mmap.mmap(
        -1, length, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE
    )
    try:
        anchor = ctypes.c_char.from_buffer(reservation)
        address = ctypes.addressof(anchor)
        del anchor  # drops the buffer export, so close() works later
        got = _libc.mmap(
            address, length, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED | MAP_FIXED, fd, 0
        )
        if got is None or got == _libc.MAP_FAILED:
            err = _libc.get_errno()
            raise OSError(err, f"mmap: {os.strerror(err)}")
        if got != address:  # MAP_FIXED maps there or fails; never leak it if not
            _libc.munmap(got, length)
            raise OSError(errno.EINVAL, f"mmap placed the file at {got:#x}, not {address:#x}")
    except BaseException:
        # The range holds the reservation or, after a failed MAP_FIXED,
        # possibly nothing; munmap is right for either.
        reservation.close()
        raise
    return reservation
