"""The libqb ring on plain buffers: layout, wrap-around, free space, bad chunks, processes.

Most tests use a ``bytearray`` ring with a :class:`ThreadSemaphore`, so
every position, including chunks whose header words or payload straddle
the end of the data area, can be set up directly.  Byte layouts are checked
against chunks captured from corosync 3.1.7 / libqb 2.0.6
(fixtures/wire-recordings/shm-python-roundtrips.txt, Part B).  The last tests
share a file-backed ring with another process through glibc semaphores.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pyquorum._buffer import Buffer
from pyquorum.errors import LocalProtocolError, RemoteProtocolError, TooBigError, TryAgainError
from pyquorum.ipc.ring import (
    CHUNK_MAGIC,
    CHUNK_MAGIC_ALLOC,
    CHUNK_MAGIC_DEAD,
    DATA_MARKER,
    Ring,
    chunk_words,
    data_size_for,
    next_pointer,
)
from pyquorum.ipc.ring_header import (
    DATA_PATH_OFFSET,
    HDR_PATH_OFFSET,
    HEADER_FILE_SIZE,
    HEADER_SIZE,
    PATH_MAX,
    READ_PT_OFFSET,
    REF_COUNT_OFFSET,
    SEM_OFFSET,
    USER_DATA_OFFSET,
    WORD_SIZE_OFFSET,
    WRITE_PT_OFFSET,
    RingHeader,
)
from pyquorum.ipc.sem import SEM_SIZE, PosixSemaphore, ThreadSemaphore
from tests.support.ring import N_MESSAGES, message, pattern

HDR_PATH = "/dev/shm/qb-1-2-3-abcdef/qb-request-test-header"
DATA_PATH = "/dev/shm/qb-1-2-3-abcdef/qb-request-test-data"


@dataclass
class Rig:
    """A ring on bytearrays, with raw access to its memory for assertions."""

    ring: Ring
    header: bytearray
    data: bytearray
    sem: ThreadSemaphore

    @property
    def ws(self) -> int:
        return self.ring.word_size

    def word(self, i: int) -> int:
        i %= self.ws
        return int.from_bytes(self.data[i * 4 : i * 4 + 4], sys.byteorder)

    def set_word(self, i: int, value: int) -> None:
        i %= self.ws
        self.data[i * 4 : i * 4 + 4] = value.to_bytes(4, sys.byteorder)

    def span(self, word: int, n: int) -> bytes:
        """``n`` bytes from word ``word`` on, wrapping at the end of the area."""
        start = (word % self.ws) * 4
        doubled = bytes(self.data) * 2
        return doubled[start : start + n]

    def place(self, word: int, raw: bytes) -> None:
        """Store ``raw`` from word ``word`` on, wrapping (as a peer's writer would)."""
        start = (word % self.ws) * 4
        size = self.ws * 4
        for k, b in enumerate(raw):
            self.data[(start + k) % size] = b

    def empty_at(self, p: int) -> None:
        """Make the ring empty with both pointers at word ``p``."""
        self.ring.header.write_pt = p
        self.ring.header.read_pt = p


def make_rig(word_size: int = 64, max_msg_size: int | None = None) -> Rig:
    header = bytearray(HEADER_FILE_SIZE)
    data = bytearray(word_size * 4)
    Ring.initialize(header, data, word_size=word_size, hdr_path=HDR_PATH, data_path=DATA_PATH)
    sem = ThreadSemaphore()
    ring = Ring(header, data, sem, max_msg_size=max_msg_size or word_size * 4)
    return Rig(ring, header, data, sem)


# --------------------------------------------------------------------------- header


class _SemT(ctypes.Union):
    """glibc's ``sem_t`` (bits/semaphore.h): ``union { char __size[32]; long int __align; }``."""

    _fields_ = (("size", ctypes.c_char * 32), ("align", ctypes.c_long))


class _RingbufferShared(ctypes.Structure):
    """libqb's ``struct qb_ringbuffer_shared_s`` (lib/ringbuffer_int.h), written from the
    C declaration, so ctypes (the platform's C layout rules) computes the offsets."""

    _fields_ = (
        ("write_pt", ctypes.c_uint32),
        ("read_pt", ctypes.c_uint32),
        ("word_size", ctypes.c_uint32),
        ("hdr_path", ctypes.c_char * 4096),  # PATH_MAX from <linux/limits.h>
        ("data_path", ctypes.c_char * 4096),
        ("ref_count", ctypes.c_int32),
        ("posix_sem", _SemT),
        ("user_data", ctypes.c_char * 1),
    )


def test_layout_constants_match_the_c_struct_layout() -> None:
    """Each offset constant against the C layout of the struct, computed by ctypes.

    ``__attribute__((aligned(8)))`` on the struct changes nothing ctypes does not
    already do: sem_t's ``long`` makes its natural alignment 8 on LP64.
    """
    c = _RingbufferShared
    assert ctypes.alignment(c) == 8
    assert c.write_pt.offset == WRITE_PT_OFFSET
    assert c.read_pt.offset == READ_PT_OFFSET
    assert c.word_size.offset == WORD_SIZE_OFFSET
    assert c.hdr_path.offset == HDR_PATH_OFFSET
    assert c.data_path.offset == DATA_PATH_OFFSET
    assert c.hdr_path.size == PATH_MAX
    assert c.ref_count.offset == REF_COUNT_OFFSET
    assert c.posix_sem.offset == SEM_OFFSET
    assert ctypes.sizeof(_SemT) == SEM_SIZE
    assert c.user_data.offset == USER_DATA_OFFSET
    assert ctypes.sizeof(c) == HEADER_SIZE
    # The server's header file adds the request ring's int32 flow-control word.
    assert ctypes.sizeof(c) + ctypes.sizeof(ctypes.c_int32) == HEADER_FILE_SIZE


def test_header_properties_read_their_offsets() -> None:
    buf = bytearray(HEADER_FILE_SIZE)
    buf[0:12] = (7).to_bytes(4, "little") + (3).to_bytes(4, "little") + (99).to_bytes(4, "little")
    buf[12:16] = b"/hdr"
    buf[4108:4113] = b"/data"
    buf[8204:8208] = (-1).to_bytes(4, "little", signed=True)
    buf[8208:8240] = bytes(range(32))
    buf[8240:8244] = (2).to_bytes(4, "little")
    h = RingHeader(buf)
    assert (h.write_pt, h.read_pt, h.word_size) == (7, 3, 99)
    assert (h.hdr_path, h.data_path) == ("/hdr", "/data")
    assert h.ref_count == -1
    assert h.sem_bytes == bytes(range(32))
    assert h.user_data == 2
    h.write_pt, h.read_pt, h.ref_count, h.user_data = 1, 2, 3, -4
    assert buf[0:8] == bytes.fromhex("01000000 02000000")
    assert buf[8204:8208] == bytes.fromhex("03000000")
    assert buf[8240:8244] == bytes.fromhex("fcffffff")
    h.release()


def test_header_works_on_a_truncated_8248_byte_file() -> None:
    # libqb's client truncates response/event headers to 8248; user_data still fits.
    h = RingHeader(bytearray(HEADER_SIZE))
    assert h.user_data == 0
    with pytest.raises(ValueError):
        RingHeader(bytearray(HEADER_SIZE - 1))


def test_initialize_formats_like_libqb_creator() -> None:
    rig = make_rig(word_size=64)
    h = rig.ring.header
    assert (h.write_pt, h.read_pt, h.word_size) == (0, 0, 64)
    assert (h.hdr_path, h.data_path) == (HDR_PATH, DATA_PATH)
    assert h.ref_count == 1
    assert h.user_data == 0
    assert h.sem_bytes == bytes(32)
    assert rig.header[HEADER_SIZE:] == bytes(4)
    # word 0 = 5: libqb's write one past its double mapping; not a chunk (magic 0).
    assert rig.word(0) == DATA_MARKER
    assert rig.word(1) == 0
    assert rig.data[4:] == bytes(len(rig.data) - 4)


def test_initialize_overwrites_old_contents() -> None:
    header = bytearray(b"\xee" * HEADER_FILE_SIZE)
    data = bytearray(b"\xee" * 256)
    Ring.initialize(header, data, word_size=64, hdr_path="/a", data_path="/b")
    h = RingHeader(header)
    assert (h.write_pt, h.read_pt, h.hdr_path, h.data_path) == (0, 0, "/a", "/b")
    assert header[16:4108] == bytes(4092)
    assert data[4:] == bytes(252)


def test_initialize_of_a_data_area_known_to_be_zero_only_sets_the_marker() -> None:
    header = bytearray(b"\xee" * HEADER_FILE_SIZE)
    data = bytearray(b"\xee" * 256)  # a lie, to see that nothing else is written
    Ring.initialize(header, data, word_size=64, hdr_path="/a", data_path="/b", data_is_zero=True)
    assert int.from_bytes(data[:4], sys.byteorder) == DATA_MARKER
    assert data[4:] == b"\xee" * 252
    assert RingHeader(header).word_size == 64 and header[16:4108] == bytes(4092)


@pytest.mark.parametrize("path", ["/x" * 2048, "/with\0nul"], ids=["too-long", "nul"])
def test_initialize_refuses_unstorable_paths(path: str) -> None:
    with pytest.raises(LocalProtocolError):
        RingHeader.initialize(bytearray(HEADER_FILE_SIZE), 64, path, "/data")


def test_longest_path_that_fits_keeps_its_nul() -> None:
    path = "/" + "p" * (PATH_MAX - 2)
    h = RingHeader.initialize(bytearray(HEADER_FILE_SIZE), 64, path, path)
    assert h.hdr_path == path
    assert h.data_path == path


def test_ring_refuses_a_data_area_smaller_than_word_size() -> None:
    header = bytearray(HEADER_FILE_SIZE)
    Ring.initialize(header, bytearray(1024), word_size=256, hdr_path="/a", data_path="/b")
    with pytest.raises(RemoteProtocolError) as info:
        Ring(header, bytearray(1020), ThreadSemaphore(), max_msg_size=100)
    assert info.value.field == "word_size"
    assert info.value.offset == WORD_SIZE_OFFSET


def test_ring_ignores_the_tail_of_a_longer_data_buffer() -> None:
    header = bytearray(HEADER_FILE_SIZE)
    data = bytearray(4096)
    Ring.initialize(header, data, word_size=16, hdr_path="/a", data_path="/b")
    ring = Ring(header, data, ThreadSemaphore(), max_msg_size=1000)
    assert ring.free_bytes() == 64
    assert ring.capacity == 64 - 12


def test_ring_needs_writable_buffers() -> None:
    header = bytearray(HEADER_FILE_SIZE)
    Ring.initialize(header, bytearray(64), word_size=16, hdr_path="/a", data_path="/b")
    with pytest.raises(TypeError):
        Ring(header, bytes(64), ThreadSemaphore(), max_msg_size=10)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- helpers


def test_sizes_libqb_picks_for_the_data_file() -> None:
    # docs/protocol.md §8 and §13.5.
    assert data_size_for(1048576, 4096) == 1052672
    assert data_size_for(12328, 4096) == 16384
    assert data_size_for(100, 4096) == 4096


def test_pointer_step_rounds_up_to_words_and_wraps() -> None:
    assert chunk_words(24) == 8
    assert chunk_words(1) == 3
    assert chunk_words(68) == 19
    assert next_pointer(0, 24, 263168) == 8
    assert next_pointer(19, 60, 263168) == 36  # the capture's event write_pt
    assert next_pointer(62, 5, 64) == 2


# --------------------------------------------------------------------------- captured bytes

# Part B of fixtures/wire-recordings/shm-python-roundtrips.txt: (what, word, chunk bytes as found
# in the ring).
CAPTURED_REQUESTS = [
    ("MODEL_GETTYPE(1)", 0, "18000000a1a1a1a1040000000000000018000000000000000100000000000000"),
    ("GETQUORATE", 8, "10000000a1a1a1a100000000000000001000000000000000"),
    ("GETTYPE", 14, "10000000a1a1a1a103000000000000001000000000000000"),
    ("MODEL_GETTYPE(7)", 20, "18000000a1a1a1a1040000000000000018000000000000000700000000000000"),
    ("MODEL_GETTYPE(1)", 28, "18000000a1a1a1a1040000000000000018000000000000000100000000000000"),
    ("INVALID id=99", 36, "10000000a1a1a1a163000000000000001000000000000000"),
    ("TRACKSTART(3)", 42, "18000000a1a1a1a1010000000000000018000000000000000300000000000000"),
    ("TRACKSTART(1)", 50, "18000000a1a1a1a1010000000000000018000000000000000100000000000000"),
    ("TRACKSTOP", 58, "10000000a1a1a1a102000000000000001000000000000000"),
    ("TRACKSTOP", 64, "10000000a1a1a1a102000000000000001000000000000000"),
    ("TRACKSTART(4)", 70, "18000000a1a1a1a1010000000000000018000000000000000400000000000000"),
]

CAPTURED_RESPONSES = [
    (
        "MODEL_GETTYPE(1)",
        0,
        "20000000a1a1a1a105000000c955000020000000c9550000010000002c7f00000100000000000000",
    ),
    (
        "GETQUORATE",
        10,
        "20000000a1a1a1a100000000fd7f00002000000072c27af801000000000000000100000000000000",
    ),
    (
        "GETTYPE",
        20,
        "20000000a1a1a1a104000000fd7f00002000000072c27af801000000000000000100000000000000",
    ),
    (
        "MODEL_GETTYPE(7)",
        30,
        "20000000a1a1a1a105000000c955000020000000c9550000070000002c7f00000100000000000000",
    ),
    (
        "MODEL_GETTYPE(1)",
        40,
        "20000000a1a1a1a105000000c955000020000000c9550000010000002c7f00000100000000000000",
    ),
    ("INVALID id=99", 50, "18000000a1a1a1a10000000000000000180000002c7f00000700000000000000"),
    ("TRACKSTART(3)", 58, "18000000a1a1a1a1010000002c7f0000180000000000000001000000fd7f0000"),
    ("TRACKSTART(1)", 66, "18000000a1a1a1a1010000002c7f000018000000000000000e000000fd7f0000"),
    ("TRACKSTOP", 74, "18000000a1a1a1a102000000fd7f00001800000072c27af80100000000000000"),
    ("TRACKSTOP", 82, "18000000a1a1a1a102000000fd7f00001800000072c27af80100000000000000"),
    ("TRACKSTART(4)", 90, "18000000a1a1a1a1010000002c7f0000180000000000000001000000fd7f0000"),
]

CAPTURED_EVENTS = [
    (
        "V1_NODELIST_NOTIFICATION",
        0,
        "44000000a1a1a1a1070000000000000044000000000000000100000000000000"
        "01000000000000000a0000000000000001000000000000000000000000000000"
        "000000000100000000000000",
    ),
    (
        "V1_QUORUM_NOTIFICATION",
        19,
        "3c000000a1a1a1a106000000000000003c000000000000000100000000000000"
        "01000000c955000001000000000000000a000000000000000100000001000000"
        "01000000",
    ),
]

#: word_size of the captured rings (1 MiB max_msg_size).
CAPTURED_WORD_SIZE = 263168


@pytest.mark.parametrize(
    "captured",
    [CAPTURED_REQUESTS, CAPTURED_RESPONSES, CAPTURED_EVENTS],
    ids=["request-ring", "response-ring", "event-ring"],
)
def test_writer_lays_chunks_out_as_captured(captured: list[tuple[str, int, str]]) -> None:
    rig = make_rig(CAPTURED_WORD_SIZE, max_msg_size=1048576)
    for what, word, hexed in captured:
        chunk = bytes.fromhex(hexed)
        assert rig.ring.header.write_pt == word, what
        rig.ring.write(chunk[8:])
        assert rig.span(word, len(chunk)) == chunk, what
        assert rig.ring.header.write_pt == next_pointer(word, len(chunk) - 8, rig.ws)
        # The peer consumes each one before the next is sent (one request in flight).
        assert rig.ring.read(0) == chunk[8:], what
        assert rig.span(word, 8) == bytes.fromhex("00000000 d0d0d0d0"), what


@pytest.mark.parametrize(
    "captured",
    [CAPTURED_RESPONSES, CAPTURED_EVENTS],
    ids=["response-ring", "event-ring"],
)
def test_reader_takes_captured_chunks_in_order(captured: list[tuple[str, int, str]]) -> None:
    rig = make_rig(CAPTURED_WORD_SIZE, max_msg_size=1048576)
    # As corosync left them: all committed, one post each, nothing consumed yet.
    for _what, word, hexed in captured:
        rig.place(word, bytes.fromhex(hexed))
        rig.sem.post()
    _, last_word, last_hex = captured[-1]
    rig.ring.header.write_pt = next_pointer(last_word, len(last_hex) // 2 - 8, rig.ws)
    for what, word, hexed in captured:
        chunk = bytes.fromhex(hexed)
        assert rig.ring.header.read_pt == word, what
        assert rig.ring.read(0) == chunk[8:], what
    assert rig.ring.read(0) is None
    assert rig.ring.header.read_pt == rig.ring.header.write_pt
    assert rig.sem.value() == 0


# --------------------------------------------------------------------------- wrap-around

WRAP_LENGTHS = [1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 24, 31, 100, 240, 244]


@pytest.mark.parametrize("n", WRAP_LENGTHS)
def test_chunk_at_every_position_round_trips(n: int) -> None:
    """Every start word of a 64-word ring, so header words and payload straddle the end."""
    rig = make_rig(64)
    for p in range(rig.ws):
        rig.empty_at(p)
        payload = pattern(n, seed=p)
        rig.ring.write(payload)
        assert rig.word(p) == n
        assert rig.word(p + 1) == CHUNK_MAGIC
        assert rig.span(p + 2, n) == payload
        nxt = next_pointer(p, n, rig.ws)
        assert rig.ring.header.write_pt == nxt
        assert rig.sem.value() == 1
        assert rig.ring.read(0) == payload
        assert rig.ring.header.read_pt == nxt
        assert rig.word(p) == 0
        assert rig.word(p + 1) == CHUNK_MAGIC_DEAD
        assert rig.sem.value() == 0


@pytest.mark.parametrize("p", [61, 62, 63, 0])
def test_iovec_parts_are_written_back_to_back_across_the_end(p: int) -> None:
    rig = make_rig(64)
    rig.empty_at(p)
    parts: list[Buffer] = [
        pattern(5, 1),
        memoryview(pattern(11, 2)),
        bytearray(pattern(3, 3)),
        b"",
        pattern(9, 4),
    ]
    rig.ring.write(parts)
    whole = b"".join(bytes(x) for x in parts)
    assert rig.word(p) == len(whole)
    assert rig.span(p + 2, len(whole)) == whole
    assert rig.ring.read(0) == whole


def test_memoryview_of_other_formats_is_written_as_bytes() -> None:
    rig = make_rig(64)
    rig.empty_at(60)
    view = memoryview(bytearray(pattern(16))).cast("I")
    rig.ring.write(view)
    assert rig.ring.read(0) == pattern(16)


def test_many_chunks_wrap_many_times() -> None:
    rig = make_rig(37)
    for i in range(2000):
        payload = pattern(1 + i % 30, seed=i)
        rig.ring.write(payload)
        if i % 3 == 2:  # keep up to three in flight
            for _ in range(3):
                assert rig.ring.read(0) is not None
    while rig.ring.read(0) is not None:
        pass
    assert rig.ring.header.read_pt == rig.ring.header.write_pt


# --------------------------------------------------------------------------- free space


@pytest.mark.parametrize(
    ("w", "r", "posted", "expected_words"),
    [
        (10, 5, 0, 5 - 10 + 64 - 1),  # w > r
        (63, 0, 0, 0),  # w > r, just full
        (5, 10, 0, 10 - 5 - 1),  # w < r
        (0, 1, 0, 0),
        (7, 7, 0, 64),  # w == r, nothing posted: empty
        (7, 7, 1, 0),  # w == r with a positive count: full
    ],
)
def test_free_space_follows_libqb(w: int, r: int, posted: int, expected_words: int) -> None:
    rig = make_rig(64)
    rig.ring.header.write_pt = w
    rig.ring.header.read_pt = r
    for _ in range(posted):
        rig.sem.post()
    assert rig.ring.free_bytes() == expected_words * 4


def test_equal_pointers_with_a_posted_count_refuse_writes() -> None:
    """The trap-8 state: chunks consumed without a wait make an empty ring look full."""
    rig = make_rig(64)
    rig.empty_at(20)
    rig.sem.post()
    with pytest.raises(TryAgainError):
        rig.ring.write(b"x")


@pytest.mark.parametrize("p", [0, 30, 55, 60, 62, 63])
@pytest.mark.parametrize("first", [1, 40, 100])
def test_exact_fit_then_one_byte_too_many(p: int, first: int) -> None:
    rig = make_rig(64)
    rig.empty_at(p)
    rig.ring.write(pattern(first))
    free = rig.ring.free_bytes()
    fit = free - 12
    before = (bytes(rig.header), bytes(rig.data), rig.sem.value())
    with pytest.raises(TryAgainError) as info:
        rig.ring.write(pattern(fit + 1))
    assert info.value.errno == errno.EAGAIN
    assert info.value.retriable
    assert (bytes(rig.header), bytes(rig.data), rig.sem.value()) == before
    rig.ring.write(pattern(fit, seed=9))
    assert rig.ring.free_bytes() == 4  # the one rounding word of the margin
    assert rig.ring.read(0) == pattern(first)
    assert rig.ring.read(0) == pattern(fit, seed=9)
    assert rig.ring.free_bytes() == rig.ws * 4


def test_empty_ring_takes_its_capacity_and_not_a_byte_more() -> None:
    rig = make_rig(64)
    rig.empty_at(17)
    assert rig.ring.capacity == 64 * 4 - 12
    with pytest.raises(TooBigError) as info:
        rig.ring.write(pattern(rig.ring.capacity + 1))
    assert info.value.errno == errno.EMSGSIZE
    rig.ring.write(pattern(rig.ring.capacity))
    assert rig.ring.free_bytes() == 0
    assert rig.ring.read(0) == pattern(rig.ring.capacity)


def test_longer_than_max_msg_size_is_too_big_not_try_again() -> None:
    rig = make_rig(64, max_msg_size=20)
    rig.ring.write(pattern(20))
    with pytest.raises(TooBigError) as info:
        rig.ring.write(pattern(21))
    assert info.value.errno == errno.EMSGSIZE
    assert not info.value.retriable


def test_empty_payload_is_refused() -> None:
    rig = make_rig(64)
    with pytest.raises(LocalProtocolError, match="disconnect"):
        rig.ring.write(b"")
    with pytest.raises(LocalProtocolError):
        rig.ring.write([b"", memoryview(b"")])
    assert rig.sem.value() == 0
    assert rig.ring.header.write_pt == 0


# --------------------------------------------------------------------------- order of stores


class SpySemaphore(ThreadSemaphore):
    """Records what a peer would see in the ring at the moment of each post."""

    def __init__(self) -> None:
        super().__init__()
        self.rig: Rig | None = None
        self.seen: list[tuple[int, int, int, bytes]] = []

    def post(self) -> None:
        assert self.rig is not None
        w = self.rig.ring.header.write_pt
        self.seen.append((w, self.rig.word(62), self.rig.word(63), self.rig.span(0, 8)))
        super().post()


def test_chunk_is_published_before_the_post() -> None:
    header = bytearray(HEADER_FILE_SIZE)
    data = bytearray(64 * 4)
    Ring.initialize(header, data, word_size=64, hdr_path="/a", data_path="/b")
    spy = SpySemaphore()
    ring = Ring(header, data, spy, max_msg_size=256)
    spy.rig = Rig(ring, header, data, spy)
    spy.rig.empty_at(62)
    ring.write(pattern(8))
    # At post time: length and magic (at words 62, 63) are final and
    # write_pt has moved past the payload (words 0, 1).
    assert spy.seen == [(2, 8, CHUNK_MAGIC, pattern(8))]


# --------------------------------------------------------------------------- reader


def test_peek_keeps_the_chunk_until_reclaim() -> None:
    rig = make_rig(64)
    rig.ring.write(b"abcde")
    assert rig.ring.peek(0) == b"abcde"
    assert rig.ring.peeked
    assert rig.ring.header.read_pt == 0
    assert rig.word(1) == CHUNK_MAGIC
    with pytest.raises(LocalProtocolError):
        rig.ring.peek(0)
    rig.ring.reclaim()
    assert not rig.ring.peeked
    assert rig.ring.header.read_pt == 4
    assert (rig.word(0), rig.word(1)) == (0, CHUNK_MAGIC_DEAD)
    with pytest.raises(LocalProtocolError):
        rig.ring.reclaim()


def test_nothing_posted_means_none() -> None:
    rig = make_rig(64)
    assert rig.ring.peek(0) is None
    assert rig.ring.read(0) is None
    assert rig.ring.read(0.01) is None
    assert not rig.ring.peeked


def test_reader_blocked_in_another_thread_gets_the_chunk() -> None:
    rig = make_rig(64)
    got: list[bytes | None] = []
    reader = threading.Thread(target=lambda: got.append(rig.ring.read(30.0)))
    reader.start()
    rig.ring.write(b"wake up")
    reader.join(30.0)
    assert got == [b"wake up"]


def assert_untouched_after_error(rig: Rig, before: tuple[bytes, bytes], posted: int) -> None:
    assert (bytes(rig.header), bytes(rig.data)) == before
    assert rig.sem.value() == posted  # the count taken was given back
    assert not rig.ring.peeked


@pytest.mark.parametrize("p", [10, 63])
@pytest.mark.parametrize(
    "magic",
    [CHUNK_MAGIC_ALLOC, CHUNK_MAGIC_DEAD, 0, 0xA1A1A1A0],
    ids=["alloc", "dead", "zero", "off-by-one"],
)
def test_bad_magic_is_a_remote_protocol_error(p: int, magic: int) -> None:
    rig = make_rig(64)
    rig.empty_at(p)
    rig.ring.write(b"payload!")
    rig.set_word(p + 1, magic)
    before = (bytes(rig.header), bytes(rig.data))
    with pytest.raises(RemoteProtocolError) as info:
        rig.ring.peek(0)
    err = info.value
    magic_word = (p + 1) % rig.ws
    assert err.field == "magic"
    assert err.offset == magic_word * 4
    assert f"word {magic_word}" in str(err)
    assert err.data == (8).to_bytes(4, sys.byteorder) + magic.to_bytes(4, sys.byteorder)
    assert_untouched_after_error(rig, before, posted=1)
    # The state is stable: a second attempt fails the same way.
    with pytest.raises(RemoteProtocolError):
        rig.ring.read(0)


def test_post_before_publish_is_caught_as_alloc_magic() -> None:
    """A writer that posts while the chunk is still being filled (trap 7)."""
    rig = make_rig(64)
    rig.set_word(0, 0)
    rig.set_word(1, CHUNK_MAGIC_ALLOC)
    rig.sem.post()
    with pytest.raises(RemoteProtocolError, match="magic"):
        rig.ring.read(0)


def test_spurious_post_over_a_reclaimed_chunk_finds_dead_magic() -> None:
    rig = make_rig(64)
    rig.ring.write(b"once")
    assert rig.ring.read(0) == b"once"
    rig.ring.header.read_pt = 0  # a reader that forgot to move on sees the DEAD header
    rig.sem.post()
    with pytest.raises(RemoteProtocolError) as info:
        rig.ring.read(0)
    assert info.value.field == "magic"


@pytest.mark.parametrize(
    ("length", "why"),
    [(0, "zero length"), (101, "above the limit"), (40, "runs past write_pt")],
)
def test_bad_length_is_a_remote_protocol_error(length: int, why: str) -> None:
    rig = make_rig(64, max_msg_size=100)
    rig.empty_at(62)
    rig.ring.write(pattern(20))
    rig.set_word(62, length)
    before = (bytes(rig.header), bytes(rig.data))
    with pytest.raises(RemoteProtocolError, match=why) as info:
        rig.ring.peek(0)
    assert info.value.field == "length"
    assert info.value.offset == 62 * 4
    assert info.value.data[:4] == length.to_bytes(4, sys.byteorder)
    assert_untouched_after_error(rig, before, posted=1)


def test_length_beyond_the_ring_is_refused_even_with_a_large_max() -> None:
    rig = make_rig(16, max_msg_size=1 << 20)
    rig.ring.write(b"x")
    rig.set_word(0, 16 * 4)
    with pytest.raises(RemoteProtocolError, match="above the limit"):
        rig.ring.peek(0)


def test_pointer_outside_the_area_is_a_remote_protocol_error() -> None:
    rig = make_rig(64)
    rig.ring.header.read_pt = 64
    rig.sem.post()
    with pytest.raises(RemoteProtocolError) as info:
        rig.ring.peek(0)
    assert info.value.field == "read_pt"
    assert rig.sem.value() == 1
    with pytest.raises(RemoteProtocolError) as info:
        rig.ring.write(b"x")
    assert info.value.field == "read_pt"
    rig.ring.header.read_pt = 0
    rig.ring.header.write_pt = 1000
    with pytest.raises(RemoteProtocolError) as info:
        rig.ring.write(b"x")
    assert info.value.field == "write_pt"


# --------------------------------------------------------------------------- ref_count, user_data


def test_attach_and_detach_move_ref_count_like_libqb() -> None:
    rig = make_rig(64)
    assert rig.ring.header.ref_count == 1
    rig.ring.attach()
    assert rig.ring.header.ref_count == 2
    rig.ring.detach()
    assert rig.ring.header.ref_count == 0


def test_user_data_is_the_flow_control_word() -> None:
    rig = make_rig(64)
    rig.header[USER_DATA_OFFSET : USER_DATA_OFFSET + 4] = (1).to_bytes(4, sys.byteorder)
    assert rig.ring.user_data == 1
    rig.ring.user_data = 2
    assert rig.ring.header.user_data == 2


# --------------------------------------------------------------------------- mmap and processes


@pytest.fixture
def ring_files(tmp_path: Path) -> Iterator[tuple[Path, Path, int]]:
    """A fresh ring in two files, formatted and with its semaphore initialized."""
    ws = 256
    hdr_path, data_path = tmp_path / "ring-header", tmp_path / "ring-data"
    hdr_path.write_bytes(bytes(HEADER_FILE_SIZE))
    data_path.write_bytes(bytes(ws * 4))
    with open(hdr_path, "r+b") as hf, open(data_path, "r+b") as df:
        hdr = mmap.mmap(hf.fileno(), 0)
        data = mmap.mmap(df.fileno(), 0)
    Ring.initialize(hdr, data, word_size=ws, hdr_path=str(hdr_path), data_path=str(data_path))
    PosixSemaphore.init(hdr, SEM_OFFSET).release()
    hdr.close()
    data.close()
    yield hdr_path, data_path, ws


def map_ring(
    hdr_path: Path, max_msg_size: int
) -> tuple[Ring, PosixSemaphore, mmap.mmap, mmap.mmap]:
    with open(hdr_path, "r+b") as hf:
        hdr = mmap.mmap(hf.fileno(), 0)
    header = RingHeader(hdr)
    with open(header.data_path, "r+b") as df:  # through data_path, as libqb does
        data = mmap.mmap(df.fileno(), 0)
    header.release()
    sem = PosixSemaphore(hdr, SEM_OFFSET)
    return Ring(hdr, data, sem, max_msg_size=max_msg_size), sem, hdr, data


def test_release_lets_the_mappings_close(ring_files: tuple[Path, Path, int]) -> None:
    ring, sem, hdr, data = map_ring(ring_files[0], 100)
    ring.write(b"x")
    with pytest.raises(BufferError):
        data.close()
    ring.release()
    ring.release()  # idempotent
    sem.release()
    hdr.close()
    data.close()


_WRITER_CHILD = textwrap.dedent(
    """
    import mmap, os, sys, time
    from pyquorum.errors import TryAgainError
    from pyquorum.ipc.ring import Ring
    from pyquorum.ipc.ring_header import SEM_OFFSET, RingHeader
    from pyquorum.ipc.sem import PosixSemaphore
    from tests.support.ring import N_MESSAGES, message

    with open(sys.argv[1], "r+b") as hf:
        hdr = mmap.mmap(hf.fileno(), 0)
    header = RingHeader(hdr)
    with open(header.data_path, "r+b") as df:
        data = mmap.mmap(df.fileno(), 0)
    header.release()
    sem = PosixSemaphore(hdr, SEM_OFFSET)
    ring = Ring(hdr, data, sem, max_msg_size=400)
    ring.attach()
    full = 0
    for i in range(N_MESSAGES):
        deadline = time.monotonic() + 20
        while True:
            try:
                ring.write(message(i))
                break
            except TryAgainError:
                full += 1
                ring.user_data = full  # tells the reader we are waiting for it
                if time.monotonic() > deadline:
                    sys.exit(f"reader stopped reading at message {i}")
                os.sched_yield()
    print(full)
    ring.release()
    sem.release()
    hdr.close()
    data.close()
    """
)


def test_another_process_writes_a_stream_we_read_in_order(
    ring_files: tuple[Path, Path, int],
) -> None:
    hdr_path, _, _ = ring_files
    ring, sem, hdr, data = map_ring(hdr_path, 400)
    repo = Path(__file__).resolve().parents[2]
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER_CHILD, str(hdr_path)],
        cwd=repo,
        env={**os.environ, "PYTHONPATH": str(repo)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # Read nothing until the writer has found the ring full (it counts
        # its TryAgainErrors in the otherwise unused user_data word), so
        # the cross-process full-ring path is certainly taken.
        deadline = time.monotonic() + 20
        while ring.user_data == 0:
            assert time.monotonic() < deadline, "the writer never found the ring full"
            assert child.poll() is None, child.communicate()[1].decode()
            time.sleep(0.001)
        for i in range(N_MESSAGES):
            got = ring.read(20.0)
            assert got == message(i), f"message {i}"
        assert ring.read(0) is None
    finally:
        out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err.decode()
    assert int(out) > 0  # the writer really found the ring full
    assert ring.header.ref_count == 2  # the writer attached
    assert ring.header.read_pt == ring.header.write_pt
    assert sem.value() == 0
    ring.release()
    sem.release()
    hdr.close()
    data.close()


# --------------------------------------------------------------------------- spinning


def test_spin_sees_a_chunk_already_written_at_once() -> None:
    rig = make_rig()
    rig.empty_at(10)
    rig.ring.write(b"abcd")
    started = time.perf_counter()
    assert rig.ring.spin_until_written(5.0)
    assert time.perf_counter() - started < 1.0
    assert rig.ring.read(0) == b"abcd"  # the spin took nothing


def test_spin_on_an_empty_ring_gives_up_after_its_time() -> None:
    rig = make_rig()
    rig.empty_at(7)
    started = time.perf_counter()
    assert not rig.ring.spin_until_written(0.02)
    assert time.perf_counter() - started >= 0.02
    assert not rig.ring.spin_until_written(0)
    assert (rig.ring.header.write_pt, rig.ring.header.read_pt, rig.sem.value()) == (7, 7, 0)


def test_spin_ends_when_a_writer_in_another_thread_moves_write_pt() -> None:
    rig = make_rig()
    rig.empty_at(0)
    writer = threading.Timer(0.05, rig.ring.write, args=(b"late",))
    writer.start()
    try:
        started = time.perf_counter()
        assert rig.ring.spin_until_written(10.0)
        assert time.perf_counter() - started < 5.0
    finally:
        writer.join()
    assert rig.ring.read(1.0) == b"late"
