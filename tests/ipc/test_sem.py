"""glibc ``sem_t`` through ctypes: byte layout, counting, timeouts, other processes.

The layout assertions replay fixtures/wire-recordings/glibc-sem-layout.txt: value
(u32) at +0, blocked waiters (u32) at +4, ``private`` at +8 (0x80 when
process-shared), zeros to +32.  corosync's posts and wake-ups rely on
exactly that, so a libc that laid it out differently would show up here.
"""

from __future__ import annotations

import errno
import math
import mmap
import os
import struct
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pyquorum.ipc.sem import SEM_SIZE, PosixSemaphore, Semaphore, ThreadSemaphore

#: Where the sem_t sits inside the test mapping (8-aligned, not at 0, like 8208).
OFF = 64

# Lines of fixtures/wire-recordings/glibc-sem-layout.txt (glibc 2.36 x86_64), as bytes.
IDLE_SHARED = bytes.fromhex("000000000000000080000000") + bytes(20)
TWO_POSTS = bytes.fromhex("020000000000000080000000") + bytes(20)
ONE_WAITER = bytes.fromhex("000000000100000080000000") + bytes(20)
PRIVATE_THREE = bytes.fromhex("030000000000000000000000") + bytes(20)


def sem_bytes(buf: mmap.mmap) -> bytes:
    return buf[OFF : OFF + SEM_SIZE]


def nwaiters(buf: mmap.mmap) -> int:
    (n,) = struct.unpack_from("<I", buf, OFF + 4)
    return int(n)


def wait_until(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``cond`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not reached within {timeout} s")
        time.sleep(0.001)


@pytest.fixture
def shared() -> Iterator[mmap.mmap]:
    """An anonymous MAP_SHARED mapping (what Python's mmap(-1, n) gives)."""
    buf = mmap.mmap(-1, 4096)
    yield buf
    buf.close()


@pytest.fixture
def sem(shared: mmap.mmap) -> Iterator[PosixSemaphore]:
    s = PosixSemaphore.init(shared, OFF)
    yield s
    s.release()


# --------------------------------------------------------------------------- layout


def test_init_writes_glibc_process_shared_layout(shared: mmap.mmap) -> None:
    shared[OFF : OFF + SEM_SIZE] = b"\xff" * SEM_SIZE
    with PosixSemaphore.init(shared, OFF) as s:
        assert sem_bytes(shared) == IDLE_SHARED
        assert s.value() == 0


def test_init_process_private_layout(shared: mmap.mmap) -> None:
    with PosixSemaphore.init(shared, OFF, 3, pshared=False) as s:
        assert sem_bytes(shared) == PRIVATE_THREE
        assert s.value() == 3


def test_posts_count_in_the_value_word(sem: PosixSemaphore, shared: mmap.mmap) -> None:
    sem.post()
    sem.post()
    assert sem_bytes(shared) == TWO_POSTS
    assert sem.value() == 2


def test_trywait_takes_counts_until_zero(sem: PosixSemaphore, shared: mmap.mmap) -> None:
    sem.post()
    sem.post()
    assert sem.trywait()
    assert sem.trywait()
    assert not sem.trywait()
    assert sem_bytes(shared) == IDLE_SHARED


def test_blocked_waiter_shows_in_nwaiters_and_post_wakes_it(
    sem: PosixSemaphore, shared: mmap.mmap
) -> None:
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(sem.timedwait(30.0)))
    waiter.start()
    try:
        wait_until(lambda: nwaiters(shared) == 1)
        assert sem_bytes(shared) == ONE_WAITER
        sem.post()
    finally:
        waiter.join(30.0)
    assert result == [True]
    assert sem_bytes(shared) == IDLE_SHARED


def test_value_reads_what_another_mapping_user_posted(
    sem: PosixSemaphore, shared: mmap.mmap
) -> None:
    # A second PosixSemaphore on the same bytes (as the peer's would be).
    with PosixSemaphore(shared, OFF) as other:
        other.post()
        assert sem.value() == 1
        assert sem.trywait()
        assert other.value() == 0


# --------------------------------------------------------------------------- timeouts


def test_timedwait_returns_false_after_the_timeout(sem: PosixSemaphore) -> None:
    start = time.monotonic()
    assert sem.timedwait(0.05) is False
    elapsed = time.monotonic() - start
    assert 0.04 <= elapsed < 5.0


def test_timedwait_takes_an_available_count_at_once(sem: PosixSemaphore) -> None:
    sem.post()
    assert sem.timedwait(5.0) is True
    assert sem.value() == 0


def test_timedwait_zero_only_tries(sem: PosixSemaphore) -> None:
    assert sem.timedwait(0) is False
    sem.post()
    assert sem.timedwait(0) is True


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_timedwait_refuses_unbounded_or_negative_timeouts(sem: PosixSemaphore, bad: float) -> None:
    with pytest.raises(ValueError):
        sem.timedwait(bad)


def test_huge_timeout_is_clamped_not_overflowed(sem: PosixSemaphore) -> None:
    sem.post()
    assert sem.timedwait(1e300) is True


# --------------------------------------------------------------------------- other processes


_CHILD_POSTS_WHEN_PARENT_WAITS = textwrap.dedent(
    """
    import mmap, struct, sys, time
    from pyquorum.ipc.sem import PosixSemaphore
    fd, off = int(sys.argv[1]), int(sys.argv[2])
    buf = mmap.mmap(fd, 4096)
    sem = PosixSemaphore(buf, off)
    deadline = time.monotonic() + 20
    # Post only once the parent is blocked in the kernel, so the post must
    # wake it through a shared futex rather than find the count on entry.
    while struct.unpack_from("<I", buf, off + 4)[0] == 0:
        if time.monotonic() > deadline:
            sys.exit("parent never blocked")
        time.sleep(0.001)
    sem.post()
    sem.release()
    buf.close()
    """
)


def test_post_from_another_process_wakes_timedwait() -> None:
    fd = os.memfd_create("pyquorum-sem-test")
    try:
        os.ftruncate(fd, 4096)
        buf = mmap.mmap(fd, 4096)
        sem = PosixSemaphore.init(buf, OFF)
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD_POSTS_WHEN_PARENT_WAITS, str(fd), str(OFF)],
            pass_fds=(fd,),
            stderr=subprocess.PIPE,
        )
        try:
            assert sem.timedwait(20.0), "the child's post never woke us"
        finally:
            _, err = child.communicate(timeout=30)
        assert child.returncode == 0, err.decode()
        assert sem_bytes(buf) == IDLE_SHARED
        sem.release()
        buf.close()
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- buffer handling


def test_release_lets_the_mapping_close() -> None:
    buf = mmap.mmap(-1, 4096)
    sem = PosixSemaphore.init(buf, OFF)
    with pytest.raises(BufferError):
        buf.close()
    sem.release()
    sem.release()  # idempotent
    buf.close()
    with pytest.raises(ValueError, match="released"):
        sem.post()


def test_sem_must_lie_inside_the_buffer(shared: mmap.mmap) -> None:
    with pytest.raises(ValueError):
        PosixSemaphore(shared, len(shared) - SEM_SIZE + 1)
    with pytest.raises(ValueError):
        PosixSemaphore(shared, -8)


def test_sem_must_be_aligned(shared: mmap.mmap) -> None:
    with pytest.raises(ValueError, match="aligned"):
        PosixSemaphore(shared, OFF + 4)


def test_sem_needs_a_writable_buffer() -> None:
    with pytest.raises(TypeError):
        PosixSemaphore(bytes(64), 0)  # type: ignore[arg-type]


def _posix_semaphore() -> tuple[Semaphore, Callable[[], None]]:
    buf = mmap.mmap(-1, 4096)
    sem = PosixSemaphore.init(buf, OFF)

    def cleanup() -> None:
        sem.destroy()
        sem.release()
        buf.close()

    return sem, cleanup


def _thread_semaphore() -> tuple[Semaphore, Callable[[], None]]:
    sem = ThreadSemaphore()
    return sem, sem.release


@pytest.mark.parametrize("make", [_posix_semaphore, _thread_semaphore], ids=["posix", "thread"])
def test_both_implementations_behave_alike_through_the_protocol(
    make: Callable[[], tuple[Semaphore, Callable[[], None]]],
) -> None:
    """The ring only sees the Semaphore protocol: both must count, time out and wake alike."""
    sem, cleanup = make()
    try:
        assert isinstance(sem, Semaphore)
        assert sem.value() == 0
        assert sem.trywait() is False
        assert sem.timedwait(0) is False
        start = time.monotonic()
        assert sem.timedwait(0.05) is False
        assert time.monotonic() - start >= 0.04
        sem.post()
        sem.post()
        assert sem.value() == 2
        assert sem.trywait() is True
        assert sem.timedwait(0) is True
        assert sem.value() == 0
        # A post from another thread wakes a waiter (long before its timeout).
        poster = threading.Timer(0.05, sem.post)
        poster.start()
        start = time.monotonic()
        try:
            assert sem.timedwait(10.0) is True
        finally:
            poster.join()
        assert time.monotonic() - start < 5.0
        assert sem.value() == 0
    finally:
        cleanup()


# --------------------------------------------------------------------------- ThreadSemaphore


def test_thread_semaphore_counts() -> None:
    s = ThreadSemaphore(1)
    s.post()
    assert s.value() == 2
    assert s.trywait()
    assert s.timedwait(0)
    assert not s.trywait()
    assert not s.timedwait(0)


def test_thread_semaphore_timedwait_times_out() -> None:
    s = ThreadSemaphore()
    start = time.monotonic()
    assert s.timedwait(0.05) is False
    assert time.monotonic() - start >= 0.04


def test_thread_semaphore_post_wakes_a_waiter() -> None:
    s = ThreadSemaphore()
    result: list[bool] = []
    waiter = threading.Thread(target=lambda: result.append(s.timedwait(30.0)))
    waiter.start()
    s.post()
    waiter.join(30.0)
    assert result == [True]
    assert s.value() == 0


@pytest.mark.parametrize("bad", [-1.0, math.nan, math.inf])
def test_thread_semaphore_refuses_bad_timeouts(bad: float) -> None:
    with pytest.raises(ValueError):
        ThreadSemaphore().timedwait(bad)


# --------------------------------------------------------------------------- clocks


def _timedwait_in_thread(sem: PosixSemaphore, timeout: float) -> tuple[bool | None, float]:
    """(result, seconds taken), the wait run in a thread so a broken clock
    fails the test instead of hanging it."""
    result: list[bool] = []
    started = time.monotonic()
    waiter = threading.Thread(target=lambda: result.append(sem.timedwait(timeout)), daemon=True)
    waiter.start()
    waiter.join(10)
    return (result[0] if result else None), time.monotonic() - started


def test_waits_end_at_a_monotonic_deadline(
    sem: PosixSemaphore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where sem_clockwait exists, timedwait passes it CLOCK_MONOTONIC and an
    absolute deadline ``timeout`` seconds ahead on that clock."""
    import ctypes

    from pyquorum.ipc import _libc

    calls: list[tuple[int, int]] = []

    def recording_clockwait(addr: object, clock: int, pts: Any) -> int:
        ts = pts.contents
        calls.append((clock, ts.tv_sec * 1_000_000_000 + ts.tv_nsec))
        ctypes.set_errno(errno.ETIMEDOUT)
        return -1

    monkeypatch.setattr(_libc, "sem_clockwait", recording_clockwait)
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    assert sem.timedwait(2.5) is False
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    assert len(calls) == 1
    clock, deadline = calls[0]
    assert clock == time.CLOCK_MONOTONIC
    assert before + 2_500_000_000 <= deadline <= after + 2_500_000_000


def test_a_wall_clock_step_does_not_stretch_a_wait(
    sem: PosixSemaphore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As if the wall clock had been stepped back an hour just before the wait:
    a CLOCK_REALTIME deadline would then lie an hour ahead."""
    real = time.clock_gettime_ns

    def skewed(clock: int) -> int:
        hour = 3600 * 1_000_000_000
        return real(clock) + hour if clock == time.CLOCK_REALTIME else real(clock)

    monkeypatch.setattr(time, "clock_gettime_ns", skewed)
    result, took = _timedwait_in_thread(sem, 0.05)
    assert result is False and 0.04 <= took < 5.0


def test_without_sem_clockwait_the_realtime_wait_still_works(
    sem: PosixSemaphore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyquorum.ipc import _libc

    monkeypatch.setattr(_libc, "sem_clockwait", None)
    result, took = _timedwait_in_thread(sem, 0.05)
    assert result is False and 0.04 <= took < 5.0
    threading.Timer(0.05, sem.post).start()
    assert _timedwait_in_thread(sem, 5.0)[0] is True


@pytest.mark.parametrize("call", ["timedwait", "post"])
@pytest.mark.parametrize("private", [0x3039, -1, 0x81])
def test_a_corrupt_private_word_is_refused_before_glibc_aborts_on_it(
    call: str, private: int
) -> None:
    """glibc turns the sem_t's ``private`` word into futex flags and aborts the whole
    process when the futex call then fails; a daemon can write that word.  Run in a
    child: without the check the child dies of SIGABRT instead of printing EINVAL."""
    script = textwrap.dedent(f"""
        import errno, mmap, struct
        from pyquorum.ipc.sem import PosixSemaphore
        buf = mmap.mmap(-1, 64)
        sem = PosixSemaphore.init(buf, 0)
        # a waiter bit, so that post must wake a futex too
        struct.pack_into("=i", buf, 4, 1)
        struct.pack_into("=i", buf, 8, {private})
        try:
            sem.{call}(*([0.05] if "{call}" == "timedwait" else []))
        except OSError as exc:
            print("refused", errno.errorcode[exc.errno])
        else:
            print("no error")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=30, check=False)
    assert (proc.returncode, proc.stdout) == (0, "refused EINVAL\n"), proc.stderr


def test_the_two_private_values_glibc_writes_are_accepted(shared: mmap.mmap) -> None:
    for pshared in (True, False):
        sem = PosixSemaphore.init(shared, 0, pshared=pshared)
        try:
            sem.post()
            assert sem.timedwait(0.01)
        finally:
            sem.release()
