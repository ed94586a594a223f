"""Model-based test of the ring: writer and reader against a ``deque``.

Small rings (64..300 words), a random start word, and payload sizes drawn
up to past the ring's capacity, so chunks straddle the end all the time and
writes that cannot fit (now, or ever) are exercised as often as ones that
can.  The model predicts, from the queue alone, the free space libqb's rule
must report and therefore exactly which writes succeed.
"""

from __future__ import annotations

import sys
from collections import deque

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from pyquorum._buffer import Buffer
from pyquorum.errors import LocalProtocolError, TooBigError, TryAgainError
from pyquorum.ipc.ring import CHUNK_MAGIC, CHUNK_MARGIN, Ring, chunk_words
from pyquorum.ipc.ring_header import HEADER_FILE_SIZE
from pyquorum.ipc.sem import ThreadSemaphore


class RingMachine(RuleBasedStateMachine):
    ring: Ring
    sem: ThreadSemaphore
    data: bytearray
    ws: int
    max_msg_size: int

    def __init__(self) -> None:
        super().__init__()
        self.model: deque[bytes] = deque()
        self.used_words = 0  # words held by chunks not yet consumed
        self.write_pt = 0  # where the model says the next chunk starts
        self.serial = 0

    @initialize(
        ws=st.integers(64, 300),
        max_msg_size=st.integers(1, 1400),
        start=st.integers(0, 299),
    )
    def make_ring(self, ws: int, max_msg_size: int, start: int) -> None:
        header = bytearray(HEADER_FILE_SIZE)
        self.data = bytearray(ws * 4)
        Ring.initialize(header, self.data, word_size=ws, hdr_path="/h", data_path="/d")
        self.sem = ThreadSemaphore()
        self.ring = Ring(header, self.data, self.sem, max_msg_size=max_msg_size)
        self.ws = ws
        self.max_msg_size = max_msg_size
        self.write_pt = start % ws
        self.ring.header.write_pt = self.write_pt
        self.ring.header.read_pt = self.write_pt

    # -- the model ----------------------------------------------------------

    def expected_free(self) -> int:
        # Pointers equal only when empty; otherwise ws - used - 1 words.
        return self.ws * 4 if not self.model else (self.ws - self.used_words - 1) * 4

    def payload(self, n: int) -> bytes:
        self.serial += 1
        stamp = self.serial.to_bytes(4, "little")
        return (stamp * (n // 4 + 1))[:n]

    def attempt(self, payload: Buffer | list[Buffer], whole: bytes) -> None:
        n = len(whole)
        limit = min(self.max_msg_size, self.ws * 4 - CHUNK_MARGIN)
        expected: type[Exception] | None
        if n == 0:
            expected = LocalProtocolError
        elif n > limit:
            expected = TooBigError
        elif n + CHUNK_MARGIN > self.expected_free():
            expected = TryAgainError
        else:
            expected = None
        before = bytes(self.data)
        try:
            self.ring.write(payload)
        except (LocalProtocolError, TooBigError, TryAgainError) as exc:
            assert type(exc) is expected, f"{n} bytes: got {exc!r}, expected {expected}"
            assert bytes(self.data) == before, "a refused write changed the ring"
            return
        assert expected is None, f"{n} bytes were written; expected {expected}"
        self.model.append(whole)
        self.used_words += chunk_words(n)
        self.write_pt = (self.write_pt + chunk_words(n)) % self.ws

    def consumed(self, got: bytes | None) -> None:
        if not self.model:
            assert got is None
            return
        expected = self.model.popleft()
        assert got == expected
        self.used_words -= chunk_words(len(expected))

    # -- rules ----------------------------------------------------------------

    @rule(n=st.integers(0, 1400))
    def write(self, n: int) -> None:
        data = self.payload(n)
        self.attempt(data, data)

    @rule(sizes=st.lists(st.integers(0, 300), min_size=1, max_size=4))
    def write_iovec(self, sizes: list[int]) -> None:
        parts: list[Buffer] = [self.payload(n) for n in sizes]
        parts[0] = memoryview(parts[0])
        self.attempt(parts, b"".join(bytes(p) for p in parts))

    @rule()
    def read(self) -> None:
        self.consumed(self.ring.read(0))

    @rule()
    def peek_then_reclaim(self) -> None:
        read_pt = self.ring.header.read_pt
        got = self.ring.peek(0)
        if got is not None:
            assert self.ring.header.read_pt == read_pt  # not consumed until reclaim
            self.ring.reclaim()
        self.consumed(got)

    # -- invariants -----------------------------------------------------------

    @invariant()
    def free_space_is_libqbs(self) -> None:
        assert self.ring.free_bytes() == self.expected_free()

    @invariant()
    def one_post_per_queued_chunk(self) -> None:
        assert self.sem.value() == len(self.model)

    @invariant()
    def pointers_bracket_the_queued_chunks(self) -> None:
        header = self.ring.header
        assert header.write_pt == self.write_pt
        assert (header.write_pt - header.read_pt) % self.ws == self.used_words
        assert self.used_words <= self.ws - 1

    @invariant()
    def queued_chunks_are_committed_in_place(self) -> None:
        p = self.ring.header.read_pt
        for payload in self.model:
            n = int.from_bytes(self.data[p * 4 : p * 4 + 4], sys.byteorder)
            m = (p + 1) % self.ws
            magic = int.from_bytes(self.data[m * 4 : m * 4 + 4], sys.byteorder)
            assert (n, magic) == (len(payload), CHUNK_MAGIC)
            p = (p + chunk_words(n)) % self.ws
        assert p == self.ring.header.write_pt


RingMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=60, deadline=None)
TestRing = RingMachine.TestCase
