"""The header of a libqb ring: ``struct qb_ringbuffer_shared_s``, field by field.

Split from :mod:`pyquorum.ipc.ring` (the chunks and the ring itself): the
header's byte layout, the typed view :class:`RingHeader` both ends read
the pointers, the paths, the attach count and the flow-control word
through, and the formatting a ring's creator does.  Words are accessed
through ``memoryview`` casts (single aligned 32-bit loads and stores, in
host order; see :mod:`pyquorum.ipc.ring`).
"""

from __future__ import annotations

import os
from typing import Final

from pyquorum._buffer import WritableBuffer
from pyquorum.errors import LocalProtocolError
from pyquorum.ipc.sem import SEM_SIZE

__all__ = [
    "DATA_PATH_OFFSET",
    "HDR_PATH_OFFSET",
    "HEADER_FILE_SIZE",
    "HEADER_SIZE",
    "MIN_WORD_SIZE",
    "PATH_MAX",
    "READ_PT_OFFSET",
    "REF_COUNT_OFFSET",
    "SEM_OFFSET",
    "SEM_SIZE",
    "USER_DATA_OFFSET",
    "WORD_SIZE_OFFSET",
    "WRITE_PT_OFFSET",
    "W_READ_PT",
    "W_REF_COUNT",
    "W_USER_DATA",
    "W_WORD_SIZE",
    "W_WRITE_PT",
    "RingHeader",
    "byte_view",
]

# --------------------------------------------------------------------------
# struct qb_ringbuffer_shared_s (libqb's lib/ringbuffer_int.h) on x86_64, as
# the C layout rules place it (tests/ipc/test_ring.py recomputes every offset
# from the C declaration with ctypes):
#
#   offset  size  field
#        0     4  volatile uint32_t write_pt     (writer's)
#        4     4  volatile uint32_t read_pt      (reader's)
#        8     4  uint32_t word_size             (creator's; data words)
#       12  4096  char hdr_path[PATH_MAX]        (creator's)
#     4108  4096  char data_path[PATH_MAX]       (creator's)
#     8204     4  int32_t ref_count
#     8208    32  sem_t posix_sem                (glibc, process-shared)
#     8240     1  char user_data[1]              (i32 flow control, request ring)
#     8241     7  struct tail padding (aligned(8)) -> sizeof = 8248
#   the server creates the file with 4 more bytes of user data: 8252.

WRITE_PT_OFFSET: Final = 0
READ_PT_OFFSET: Final = 4
WORD_SIZE_OFFSET: Final = 8
HDR_PATH_OFFSET: Final = 12
PATH_MAX: Final = 4096
DATA_PATH_OFFSET: Final = 4108
REF_COUNT_OFFSET: Final = 8204
SEM_OFFSET: Final = 8208
USER_DATA_OFFSET: Final = 8240
HEADER_SIZE: Final = 8248
HEADER_FILE_SIZE: Final = 8252

# The same fields as indexes into the header seen as 32-bit words.
W_WRITE_PT: Final = WRITE_PT_OFFSET // 4
W_READ_PT: Final = READ_PT_OFFSET // 4
W_WORD_SIZE: Final = WORD_SIZE_OFFSET // 4
W_REF_COUNT: Final = REF_COUNT_OFFSET // 4
W_USER_DATA: Final = USER_DATA_OFFSET // 4

#: The smallest data area in which a chunk fits at all (4 words: a 1-byte
#: payload needs 13 bytes of free space).
MIN_WORD_SIZE: Final = 4


def byte_view(buf: WritableBuffer | bytes, what: str) -> memoryview:
    """``buf`` as a flat byte view (TypeError if it is not a contiguous buffer)."""
    try:
        view = memoryview(buf)
    except TypeError:
        raise TypeError(
            f"{what} must support the buffer protocol, not {type(buf).__name__}"
        ) from None
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")  # raises TypeError when not C-contiguous
    return view


def _encode_path(path: str | bytes, field: str) -> bytes:
    raw = os.fsencode(path)
    if b"\0" in raw:
        raise LocalProtocolError(f"{field} contains a NUL byte: {path!r}")
    if len(raw) >= PATH_MAX:  # room for the terminating NUL
        raise LocalProtocolError(f"{field} is {len(raw)} bytes; at most {PATH_MAX - 1} fit")
    return raw


class RingHeader:
    """Typed access to a ``qb_ringbuffer_shared_s`` in a buffer (≥ 8248 bytes).

    Properties read the shared memory on every access: the peer changes
    it.  Fields that only the ring's creator may set (``word_size``, the
    paths) are read-only here; :meth:`initialize` writes them.  The pointer
    setters exist for the role that owns each pointer (and for tests); the
    peer trusts them, so write them only in that role.

    Holds a view of ``buf``: call :meth:`release` before closing an mmap.
    """

    __slots__ = ("_bytes", "_i32", "_u32")

    def __init__(self, buf: WritableBuffer | bytes) -> None:
        view = byte_view(buf, "header buffer")
        if view.nbytes < HEADER_SIZE:
            n = view.nbytes
            view.release()
            raise ValueError(f"a ring header needs {HEADER_SIZE} bytes, the buffer has {n}")
        self._bytes = view[:HEADER_SIZE]
        self._u32 = self._bytes.cast("I")
        self._i32 = self._bytes.cast("i")
        if self._u32.itemsize != 4:  # pragma: no cover - every Linux ABI has 32-bit int
            raise RuntimeError("C unsigned int is not 32 bits on this platform")
        view.release()

    @classmethod
    def initialize(
        cls,
        buf: WritableBuffer,
        word_size: int,
        hdr_path: str | bytes,
        data_path: str | bytes,
    ) -> RingHeader:
        """Format a new header in ``buf``, as libqb's creator does, and return a view of it.

        The whole buffer is zeroed (a fresh file is all zeros), then
        ``word_size``, the two paths and ``ref_count = 1`` are set; both
        pointers are 0.  The semaphore is left zeroed: the caller
        ``sem_init``s it next (``PosixSemaphore.init(buf, SEM_OFFSET)``),
        before anyone else maps the file.
        """
        if not MIN_WORD_SIZE <= word_size <= 0xFFFFFFFF:
            raise LocalProtocolError(f"word_size must be within {MIN_WORD_SIZE}..2**32-1")
        hdr_raw = _encode_path(hdr_path, "hdr_path")
        data_raw = _encode_path(data_path, "data_path")
        view = byte_view(buf, "header buffer")
        try:
            if view.nbytes < HEADER_SIZE:
                raise ValueError(
                    f"a ring header needs {HEADER_SIZE} bytes, the buffer has {view.nbytes}"
                )
            view[:] = bytes(view.nbytes)
            view[HDR_PATH_OFFSET : HDR_PATH_OFFSET + len(hdr_raw)] = hdr_raw
            view[DATA_PATH_OFFSET : DATA_PATH_OFFSET + len(data_raw)] = data_raw
        finally:
            view.release()
        header = cls(buf)
        header._u32[W_WORD_SIZE] = word_size
        header._i32[W_REF_COUNT] = 1
        return header

    # -- pointers (u32 word indexes into the data area) ---------------------

    @property
    def write_pt(self) -> int:
        """``write_pt`` (offset 0): next free word; stored only by the writer."""
        return self._u32[W_WRITE_PT]

    @write_pt.setter
    def write_pt(self, value: int) -> None:
        self._u32[W_WRITE_PT] = value

    @property
    def read_pt(self) -> int:
        """``read_pt`` (offset 4): oldest unconsumed chunk; stored only by the reader."""
        return self._u32[W_READ_PT]

    @read_pt.setter
    def read_pt(self, value: int) -> None:
        self._u32[W_READ_PT] = value

    @property
    def word_size(self) -> int:
        """``word_size`` (offset 8): data-area size in 32-bit words.  Never written by a client."""
        return self._u32[W_WORD_SIZE]

    # -- paths (creator's; the server unlinks by them, so never write them) --

    def _path(self, offset: int) -> str:
        raw = self._bytes[offset : offset + PATH_MAX].tobytes()
        return os.fsdecode(raw.split(b"\0", 1)[0])

    @property
    def hdr_path(self) -> str:
        """``hdr_path`` (offset 12, char[4096]): this header file's path."""
        return self._path(HDR_PATH_OFFSET)

    @property
    def data_path(self) -> str:
        """``data_path`` (offset 4108, char[4096]): the data file's path; open *this* one."""
        return self._path(DATA_PATH_OFFSET)

    # -- attach count, flow control, semaphore bytes ------------------------

    @property
    def ref_count(self) -> int:
        """``ref_count`` (offset 8204, i32): 1 at creation, 2 once the client attached."""
        return self._i32[W_REF_COUNT]

    @ref_count.setter
    def ref_count(self, value: int) -> None:
        self._i32[W_REF_COUNT] = value

    @property
    def user_data(self) -> int:
        """``user_data`` (offset 8240, i32): the request ring's flow-control word
        (docs/protocol.md §3.9)."""
        return self._i32[W_USER_DATA]

    @user_data.setter
    def user_data(self, value: int) -> None:
        self._i32[W_USER_DATA] = value

    @property
    def sem_bytes(self) -> bytes:
        """The raw 32-byte ``sem_t`` at offset 8208 (for diagnostics and tests)."""
        return self._bytes[SEM_OFFSET : SEM_OFFSET + SEM_SIZE].tobytes()

    def release(self) -> None:
        """Drop the views of the buffer (idempotent); the object is unusable after."""
        self._i32.release()
        self._u32.release()
        self._bytes.release()

    def __repr__(self) -> str:
        try:
            return (
                f"<RingHeader write_pt={self.write_pt} read_pt={self.read_pt} "
                f"word_size={self.word_size} ref_count={self.ref_count} "
                f"user_data={self.user_data} hdr_path={self.hdr_path!r}>"
            )
        except ValueError:
            return "<RingHeader released>"
