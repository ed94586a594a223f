"""libqb's shared-memory ring buffer, over any writable buffer, for either end.

The header's layout and its typed view live in :mod:`pyquorum.ipc.ring_header`;
this module holds the chunks and :class:`Ring`.

Theory of operation
-------------------
A ring is two regions (docs/protocol.md §3.1-3.4):

* a **header**, ``struct qb_ringbuffer_shared_s`` (8248 bytes; the server's
  file is 8252), holding the two pointers, the data area's size, the two
  file paths, an attach count, a process-shared glibc ``sem_t`` and one
  user word (the request ring's flow-control word);
* a **data area** of ``word_size`` 32-bit words, in which chunks follow one
  another and wrap around the end.

A chunk at word ``p`` is ``[length in bytes][magic][payload padded to 4]``,
every index taken modulo ``word_size``; both header words and the payload
may straddle the end.  The writer owns ``write_pt``, the reader owns
``read_pt``; the semaphore counts chunks committed but not yet consumed.

libqb maps the data file twice back to back so that a straddling chunk is
contiguous.  Here the data area is one buffer (a single ``mmap`` or a
``bytearray``) and every copy that crosses the end is split in two, which
was proven against corosync (docs/protocol.md §3.3, §13.5).

The writer and reader follow libqb's order of stores exactly
(``qb_rb_chunk_alloc``/``qb_rb_chunk_commit`` and ``_rb_chunk_reclaim`` in
lib/ringbuffer.c) because the peer may read the ring at any moment:

* write: word[p] = 0, word[p+1] = ALLOC, payload, word[p] = length,
  write_pt = next, word[p+1] = CHUNK_MAGIC (publish), then ``sem_post``;
* reclaim: word[r] = 0, word[r+1] = DEAD, then read_pt = next, so a fast
  writer never reuses words whose header is still half-cleared.

Words are accessed through a ``memoryview`` cast to ``"I"``: each access
is a single aligned 32-bit load or store (never torn, unlike a bytewise
``struct.pack_into``), which matters because the peer reads our pointer
while we move it.  The byte order is the host's, which is right by
construction: both ends of a ring run on the same machine (x86_64 here, so
the captures read little-endian).

Neither class is thread-safe as a whole, but the writer side (``write``,
``free_bytes``) and the reader side (``peek``, ``reclaim``, ``read``) touch
disjoint state, so one thread may write while another reads.
"""

from __future__ import annotations

import errno
import mmap
import time
from collections.abc import Sequence
from typing import Final, NoReturn

from pyquorum._buffer import Buffer, WritableBuffer
from pyquorum.errors import LocalProtocolError, RemoteProtocolError, TooBigError, TryAgainError
from pyquorum.ipc.ring_header import (
    HDR_PATH_OFFSET,
    MIN_WORD_SIZE,
    READ_PT_OFFSET,
    SEM_OFFSET,
    W_READ_PT,
    W_WRITE_PT,
    WORD_SIZE_OFFSET,
    WRITE_PT_OFFSET,
    RingHeader,
    byte_view,
)
from pyquorum.ipc.sem import Semaphore
from pyquorum.ipc.wire import wrap_i32

__all__ = [
    "CHUNK_HEADER_SIZE",
    "CHUNK_HEADER_WORDS",
    "CHUNK_MAGIC",
    "CHUNK_MAGIC_ALLOC",
    "CHUNK_MAGIC_DEAD",
    "CHUNK_MARGIN",
    "DATA_MARKER",
    "Ring",
    "chunk_words",
    "data_size_for",
    "next_pointer",
]

# --------------------------------------------------------------------------
# Chunks (lib/ringbuffer.c): [u32 length][u32 magic][payload, padded to 4].

CHUNK_MAGIC: Final = 0xA1A1A1A1  # QB_RB_CHUNK_MAGIC: committed, readable
CHUNK_MAGIC_ALLOC: Final = 0xA110CED0  # QB_RB_CHUNK_MAGIC_ALLOC: writer filling it
CHUNK_MAGIC_DEAD: Final = 0xD0D0D0D0  # QB_RB_CHUNK_MAGIC_DEAD: reader consumed it
CHUNK_HEADER_WORDS: Final = 2  # QB_RB_CHUNK_HEADER_WORDS
CHUNK_HEADER_SIZE: Final = 8
#: QB_RB_CHUNK_MARGIN: a chunk of ``n`` bytes is written only if the free
#: space is at least ``n + 12`` (2 header words + 1 word for rounding).
CHUNK_MARGIN: Final = 12
#: libqb writes 5 one word past the end of its double mapping when it
#: creates a ring, which lands in word 0.  It is not a chunk (its magic
#: word is 0); :meth:`Ring.initialize` leaves the same mark.
DATA_MARKER: Final = 5
def chunk_words(length: int) -> int:
    """Words a chunk of ``length`` payload bytes occupies (header included)."""
    return CHUNK_HEADER_WORDS + (length + 3) // 4


def next_pointer(p: int, length: int, word_size: int) -> int:
    """Where the chunk after one of ``length`` bytes at word ``p`` starts (qb_rb_chunk_step)."""
    return (p + CHUNK_HEADER_WORDS + (length + 3) // 4) % word_size


def data_size_for(max_msg_size: int, page_size: int = mmap.PAGESIZE) -> int:
    """The data file size libqb's creator picks for ``max_msg_size`` (in bytes).

    ``qb_rb_open_2`` adds the chunk margin and one byte, then rounds up to
    the page size: ``ROUNDUP(max_msg_size + 13, page)`` (1052672 for 1 MiB).
    ``word_size`` is that divided by 4.
    """
    if max_msg_size <= 0 or page_size <= 0 or page_size % 4:
        raise ValueError("max_msg_size and page_size must be positive (page a multiple of 4)")
    size = max_msg_size + CHUNK_MARGIN + 1
    return -(-size // page_size) * page_size


_NO_CHUNK: Final = -1


class Ring:
    """One libqb ring: header + data area + semaphore, with writer and reader operations.

    ``header_buf`` holds the header (≥ 8248 bytes), ``data_buf`` the data
    area (≥ ``word_size * 4`` bytes, one mapping; a longer buffer's tail is
    ignored), ``sem`` the semaphore living in the header (a
    :class:`~pyquorum.ipc.sem.PosixSemaphore` at :data:`SEM_OFFSET`, or a
    :class:`~pyquorum.ipc.sem.ThreadSemaphore` in-process).

    ``max_msg_size`` is the connection's negotiated maximum: longer chunks
    are neither written nor accepted.  ``word_size`` is read once from the
    header: it never changes, and caching it means a corrupt header can
    never steer an access outside ``data_buf``.

    The same class serves a client and a server; each uses the half that
    matches its role on this ring.  :meth:`release` drops the buffer views
    (not the semaphore; release that separately).
    """

    __slots__ = (
        "_data",
        "_header",
        "_hw",
        "_limit",
        "_max_msg_size",
        "_peek_next",
        "_peek_r",
        "_sem",
        "_size",
        "_words",
        "_ws",
    )

    def __init__(
        self,
        header_buf: WritableBuffer,
        data_buf: WritableBuffer,
        sem: Semaphore,
        *,
        max_msg_size: int,
    ) -> None:
        if max_msg_size <= 0:
            raise ValueError(f"max_msg_size must be positive, not {max_msg_size}")
        header = RingHeader(header_buf)
        try:
            if header._bytes.readonly:
                raise TypeError("the header buffer must be writable")
            ws = header.word_size
            data = byte_view(data_buf, "data buffer")
            if data.readonly:
                data.release()
                raise TypeError("the data buffer must be writable")
            if ws < MIN_WORD_SIZE or data.nbytes < ws * 4:
                have = data.nbytes
                data.release()
                raise RemoteProtocolError(
                    f"ring header says word_size {ws} ({ws * 4} bytes) "
                    f"but the data area has {have} bytes",
                    data=header._bytes[:HDR_PATH_OFFSET].tobytes(),
                    field="word_size",
                    offset=WORD_SIZE_OFFSET,
                )
        except BaseException:
            header.release()
            raise
        self._header = header
        self._hw = header._u32
        self._ws = ws
        self._size = ws * 4
        self._data = data[: self._size]
        data.release()
        self._words = self._data.cast("I")
        self._sem = sem
        self._max_msg_size = max_msg_size
        # The longest payload that may ever be written or read: the
        # negotiated maximum, or what an empty ring can hold (free space is
        # word_size words and the margin is 12 bytes), whichever is less.
        self._limit = min(max_msg_size, self._size - CHUNK_MARGIN)
        self._peek_r = _NO_CHUNK
        self._peek_next = 0

    @staticmethod
    def initialize(
        header_buf: WritableBuffer,
        data_buf: WritableBuffer,
        *,
        word_size: int,
        hdr_path: str | bytes,
        data_path: str | bytes,
        data_is_zero: bool = False,
    ) -> None:
        """Format a brand-new ring (the creator's side, e.g. a fake server).

        Formats the header (:meth:`RingHeader.initialize`), zeroes the data
        area and leaves libqb's word-0 marker (:data:`DATA_MARKER`).  A
        caller whose data area is already all zeros (a file just created and
        sized with ftruncate) says ``data_is_zero`` and spares the writes:
        a megabyte per ring, and page faults on pages nobody else touches.
        The caller then ``sem_init``s the semaphore at :data:`SEM_OFFSET`
        and builds a :class:`Ring` on the buffers.
        """
        data = byte_view(data_buf, "data buffer")
        try:
            if data.nbytes < word_size * 4:
                raise ValueError(
                    f"data buffer has {data.nbytes} bytes; word_size {word_size} "
                    f"needs {word_size * 4}"
                )
            RingHeader.initialize(header_buf, word_size, hdr_path, data_path).release()
            size = word_size * 4
            if not data_is_zero:
                data[:size] = bytes(size)
            words = data[:size].cast("I")
            words[0] = DATA_MARKER
            words.release()
        finally:
            data.release()

    # -- introspection --------------------------------------------------------

    @property
    def header(self) -> RingHeader:
        return self._header

    @property
    def sem(self) -> Semaphore:
        return self._sem

    @property
    def word_size(self) -> int:
        return self._ws

    @property
    def max_msg_size(self) -> int:
        return self._max_msg_size

    @property
    def capacity(self) -> int:
        """The longest payload this ring will ever take: min(max_msg_size, word_size*4 - 12)."""
        return self._limit

    @property
    def user_data(self) -> int:
        """The header's ``user_data`` i32 (flow control on the request ring)."""
        return self._header.user_data

    @user_data.setter
    def user_data(self, value: int) -> None:
        self._header.user_data = value

    @property
    def peeked(self) -> bool:
        """Whether a chunk was peeked and not reclaimed yet."""
        return self._peek_r != _NO_CHUNK

    # -- attach count (docs/protocol.md §3.10) ---------------------------------------

    def attach(self) -> None:
        """Count ourselves in ``ref_count`` (1 → 2), as libqb's client does after mapping.

        libqb increments atomically; a plain read-modify-write is enough
        here because the server writes the field only at creation and at
        teardown.  Like libqb's atomic add, it wraps at INT32_MAX (the value
        is the daemon's to set, and any is possible).
        """
        self._header.ref_count = wrap_i32(self._header.ref_count + 1)

    def detach(self) -> None:
        """Drop the attach count the way libqb does on close: set it to 1, then to 0.

        A client doing this is cosmetic; the server doing it is what tells
        a client that the connection was torn down (``ref_count != 2``).
        """
        self._header.ref_count = 1
        self._header.ref_count = 0

    # -- writer side --------------------------------------------------------------

    def free_bytes(self) -> int:
        """Free space in bytes, by libqb's rule (``qb_rb_space_free``).

        With w = write_pt, r = read_pt (words): w > r gives r - w + ws - 1;
        w < r gives r - w - 1; w == r gives 0 if the semaphore count is
        positive (chunks not yet consumed: the ring is *full*), else ws.
        """
        w = self._hw[W_WRITE_PT]
        r = self._hw[W_READ_PT]
        if w >= self._ws or r >= self._ws:
            raise self._bad_pointer(w, r)
        if w > r:
            return (r - w + self._ws - 1) * 4
        if w < r:
            return (r - w - 1) * 4
        return 0 if self._count() > 0 else self._size

    def _count(self) -> int:
        """The semaphore's count, which the peer may have set to anything.

        glibc reports a count of 2**31 or more as negative; libqb never
        gets there (the count is the number of unread chunks), so such a
        count means the shared semaphore is corrupt.
        """
        value = self._sem.value()
        if value < 0:
            raise RemoteProtocolError(
                f"ring semaphore count is {value & 0xFFFFFFFF} (at least 2**31)",
                data=self._header.sem_bytes,
                field="posix_sem",
                offset=SEM_OFFSET,
            )
        return value

    def write(self, payload: Buffer | Sequence[Buffer]) -> None:
        """Commit one chunk holding ``payload`` and post the semaphore.

        ``payload`` is a bytes-like object or a sequence of them (an iovec,
        written back to back into one chunk).  Raises:

        * :class:`~pyquorum.errors.LocalProtocolError` for an empty payload
          (a zero-length chunk tells a libqb server to disconnect us);
        * :class:`~pyquorum.errors.TooBigError` (errno ``EMSGSIZE``) when it
          is longer than ``max_msg_size`` or than the ring could ever hold;
        * :class:`~pyquorum.errors.TryAgainError` (errno ``EAGAIN``) when it
          does not fit now: the reader has not caught up, retry later;
        * :class:`~pyquorum.errors.RemoteProtocolError` when a pointer in
          the header lies outside the data area.

        Nothing is stored unless the chunk fits.  The stores follow libqb's
        order (module docstring); the magic is published before the post,
        which is what the reader's ``sem_wait`` synchronises with.
        """
        if isinstance(payload, (bytes, bytearray)):
            parts: Sequence[Buffer] | None = None
            n = len(payload)
        elif isinstance(payload, memoryview):
            if payload.format != "B" or payload.ndim != 1:
                payload = payload.cast("B")
            parts = None
            n = payload.nbytes
        else:
            parts = [
                p if isinstance(p, (bytes, bytearray)) else byte_view(p, "payload")
                for p in payload
            ]
            n = sum(len(p) for p in parts)
        if n > self._limit or n == 0:
            self._refuse(n)

        hw = self._hw
        ws = self._ws
        w = hw[W_WRITE_PT]
        r = hw[W_READ_PT]
        if w >= ws or r >= ws:
            raise self._bad_pointer(w, r)
        # qb_rb_space_free, inlined (this is the hot path).
        if w > r:
            free = (r - w + ws - 1) * 4
        elif w < r:
            free = (r - w - 1) * 4
        else:
            free = 0 if self._count() > 0 else self._size
        if free < n + CHUNK_MARGIN:
            raise TryAgainError(
                f"ring full: {free} bytes free, a {n}-byte chunk needs {n + CHUNK_MARGIN}",
                errno=errno.EAGAIN,
            )

        words = self._words
        data = self._data
        size = self._size
        # qb_rb_chunk_alloc: claim the chunk header.
        words[w] = 0
        magic_at = w + 1 if w + 1 < ws else 0
        words[magic_at] = CHUNK_MAGIC_ALLOC
        # Copy the payload in, split where it crosses the end of the area.
        start = w + 2
        if start >= ws:
            start -= ws
        start *= 4
        if parts is None:
            end = start + n
            if end <= size:
                data[start:end] = payload  # type: ignore[assignment]
            else:
                first = size - start
                src = memoryview(payload)  # type: ignore[arg-type]
                data[start:] = src[:first]
                data[: n - first] = src[first:]
                src.release()
        else:
            pos = start
            for part in parts:
                pos = self._copy_in(pos, part)
        # qb_rb_chunk_commit: length, then the pointer, then publish.
        words[w] = n
        nxt = w + CHUNK_HEADER_WORDS + (n + 3) // 4
        if nxt >= ws:
            nxt -= ws
        hw[W_WRITE_PT] = nxt
        words[magic_at] = CHUNK_MAGIC
        self._sem.post()

    def _copy_in(self, pos: int, part: Buffer) -> int:
        """Copy ``part`` to byte ``pos`` of the data area, wrapping; return the byte after it."""
        size = self._size
        n = len(part)
        end = pos + n
        if end <= size:
            self._data[pos:end] = part
            return end if end < size else 0
        first = size - pos
        src = memoryview(part)
        self._data[pos:] = src[:first]
        self._data[: n - first] = src[first:]
        src.release()
        return n - first

    def _refuse(self, n: int) -> NoReturn:
        if n == 0:
            raise LocalProtocolError(
                "refusing to write an empty chunk: libqb reads length 0 as a disconnect"
            )
        if n > self._max_msg_size:
            raise TooBigError(
                f"message of {n} bytes exceeds max_msg_size {self._max_msg_size}",
                errno=errno.EMSGSIZE,
            )
        raise TooBigError(
            f"message of {n} bytes can never fit a ring of {self._size} bytes "
            f"(at most {self._size - CHUNK_MARGIN})",
            errno=errno.EMSGSIZE,
        )

    def _bad_pointer(self, w: int, r: int) -> RemoteProtocolError:
        field, offset, value = (
            ("write_pt", WRITE_PT_OFFSET, w) if w >= self._ws else ("read_pt", READ_PT_OFFSET, r)
        )
        return RemoteProtocolError(
            f"{field} {value} lies outside the data area of {self._ws} words",
            data=self._header._bytes[:HDR_PATH_OFFSET].tobytes(),
            field=field,
            offset=offset,
        )

    # -- reader side ---------------------------------------------------------------

    def spin_until_written(self, seconds: float) -> bool:
        """Busy-wait up to ``seconds`` for the writer to start a chunk; True if it has.

        The writer moves ``write_pt`` past ``read_pt`` just before it
        publishes the chunk's magic and posts the semaphore, so once this
        returns True a :meth:`peek` finds the count at once.  Looking at two
        words of shared memory costs no system call: a reader that expects a
        chunk within microseconds (a response on another CPU) spins here
        rather than sleeping in ``sem_timedwait`` and paying for the futex
        wake-up, which on a virtual machine costs more than the wait.  The
        semaphore stays the only authority: this is a hint.
        """
        hw = self._hw
        if hw[W_WRITE_PT] != hw[W_READ_PT]:
            return True
        clock = time.perf_counter
        end = clock() + seconds
        while clock() < end:
            if hw[W_WRITE_PT] != hw[W_READ_PT]:
                return True
        return False

    def peek(self, timeout: float) -> bytes | None:
        """Wait up to ``timeout`` seconds for a chunk and return a copy of its payload.

        ``0`` only tries (``sem_trywait``); there is no unbounded wait:
        callers wait in slices and check liveness in between.  ``None`` is
        returned when no chunk was posted in time.  The chunk stays in the
        ring until :meth:`reclaim`; peeking again before that is a
        :class:`~pyquorum.errors.LocalProtocolError`.

        A chunk that fails validation (magic not ``CHUNK_MAGIC``; length 0,
        above the limit or running past ``write_pt``) raises
        :class:`~pyquorum.errors.RemoteProtocolError` carrying the chunk
        header bytes, the field (``"magic"``/``"length"``) and its byte
        offset in the data area.  The ring is then left exactly as it was
        before the call: the semaphore count just taken is posted back (as
        libqb's ``qb_rb_chunk_peek`` does), ``read_pt`` and the chunk are
        untouched, so another attempt fails the same way.  The connection
        cannot recover from that; close it.
        """
        if self._peek_r != _NO_CHUNK:
            raise LocalProtocolError("peek() again before reclaim() of the chunk already peeked")
        if not self._sem.timedwait(timeout):
            return None
        try:
            return self._take()
        except BaseException:
            # Give back the count just taken (also on KeyboardInterrupt), so
            # counts and chunks still match one to one.
            self._sem.post()
            raise

    def reclaim(self) -> None:
        """Release the peeked chunk: word[r] = 0, word[r+1] = DEAD, then read_pt = next.

        The header is cleared *before* ``read_pt`` moves so that a writer
        that sees the new pointer can never overwrite a chunk whose old
        magic is still readable (``_rb_chunk_reclaim``).
        """
        r = self._peek_r
        if r == _NO_CHUNK:
            raise LocalProtocolError("reclaim() without a peeked chunk")
        words = self._words
        words[r] = 0
        words[r + 1 if r + 1 < self._ws else 0] = CHUNK_MAGIC_DEAD
        self._hw[W_READ_PT] = self._peek_next
        self._peek_r = _NO_CHUNK

    def try_read(self) -> bytes | None:
        """The next payload if a chunk is there now, else None: :meth:`read` with timeout 0.

        The reader's hot path (a flood of events): one ``sem_trywait`` and
        the chunk's checks, without a deadline or the peek bookkeeping a
        caller could observe.  Same errors and same all-or-nothing rule as
        :meth:`peek`.
        """
        if self._peek_r != _NO_CHUNK:
            raise LocalProtocolError("try_read() before reclaim() of the chunk already peeked")
        if not self._sem.trywait():
            return None
        try:
            data = self._take()
        except BaseException:
            self._sem.post()
            raise
        self.reclaim()
        return data

    def read(self, timeout: float) -> bytes | None:
        """:meth:`peek` then :meth:`reclaim`: the next payload, or None on timeout."""
        data = self.peek(timeout)
        if data is not None:
            self.reclaim()
        return data

    def _take(self) -> bytes:
        """Validate the chunk at read_pt, copy its payload out and remember it for reclaim."""
        hw = self._hw
        ws = self._ws
        words = self._words
        r = hw[W_READ_PT]
        w = hw[W_WRITE_PT]
        if r >= ws or w >= ws:
            raise self._bad_pointer(w, r)
        magic_at = r + 1 if r + 1 < ws else 0
        magic = words[magic_at]
        if magic != CHUNK_MAGIC:
            raise self._bad_chunk(
                r,
                "magic",
                magic_at,
                f"chunk at word {r} has magic {magic:#010x} at word {magic_at}, "
                f"not CHUNK_MAGIC {CHUNK_MAGIC:#010x}",
            )
        n = words[r]
        if n == 0 or n > self._limit:
            why = (
                "zero length (libqb's disconnect marker)"
                if n == 0
                else f"length {n} above the limit of {self._limit}"
            )
            raise self._bad_chunk(r, "length", r, f"chunk at word {r} has {why}")
        nwords = CHUNK_HEADER_WORDS + (n + 3) // 4
        used = w - r if w >= r else w - r + ws
        if nwords > used:
            raise self._bad_chunk(
                r,
                "length",
                r,
                f"chunk at word {r} of length {n} ({nwords} words) runs past "
                f"write_pt {w} ({used} words written)",
            )
        start = r + 2
        if start >= ws:
            start -= ws
        start *= 4
        end = start + n
        data = self._data
        if end <= self._size:
            payload = data[start:end].tobytes()
        else:
            payload = data[start:].tobytes() + data[: end - self._size].tobytes()
        nxt = r + nwords
        if nxt >= ws:
            nxt -= ws
        self._peek_r = r
        self._peek_next = nxt
        return payload

    def _bad_chunk(self, r: int, field: str, word: int, message: str) -> RemoteProtocolError:
        words = self._words
        header = (
            words[r : r + 1].tobytes() + words[r + 1 : r + 2].tobytes()
            if r + 1 < self._ws
            else words[r:].tobytes() + words[:1].tobytes()
        )
        return RemoteProtocolError(message, data=header, field=field, offset=word * 4)

    # -- teardown -----------------------------------------------------------------

    def release(self) -> None:
        """Drop every view of the two buffers (idempotent), so mmaps can be closed.

        The semaphore is the caller's to release.
        """
        self._words.release()
        self._data.release()
        self._header.release()

    def __repr__(self) -> str:
        try:
            return (
                f"<Ring word_size={self._ws} write_pt={self._hw[W_WRITE_PT]} "
                f"read_pt={self._hw[W_READ_PT]} max_msg_size={self._max_msg_size}>"
            )
        except ValueError:
            return f"<Ring word_size={self._ws} released>"
