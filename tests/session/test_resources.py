"""What a session costs while it exists: file descriptors, mappings, CPU when idle.

The fake server runs in a process of its own (tests/support/fake_process.py),
so everything counted here (fds, mappings, CPU time) is the clients'.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from pyquorum import AsyncQuorumSession, ConnectionLost, QuorumSession
from pyquorum.fake import Script
from pyquorum.ipc.client.connection import IpcConnection
from pyquorum.messages.constants import DispatchMode, Track
from tests.support.fake_process import FakeProcess, fake_process
from tests.support.process_resources import open_fds, shm_mappings

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="a private network namespace needs root")

SCRIPT = Script.build([1, 2, 3])
#: libqb's ring files, the only shared memory a session maps.
QB_FILES = "/dev/shm/qb-"


@pytest.fixture(scope="module", params=["shm", "socket"])
def server(request: pytest.FixtureRequest) -> Iterator[FakeProcess]:
    with fake_process(SCRIPT, name="resources", transport=request.param) as fake:
        yield fake


@pytest.fixture(scope="module")
def shm_server() -> Iterator[FakeProcess]:
    with fake_process(SCRIPT, name="resources-shm", transport="shm") as fake:
        yield fake


def thread_ids() -> set[int]:
    return {int(tid) for tid in os.listdir("/proc/self/task")}


def wakeups(tids: set[int]) -> int:
    """How often these threads have gone to sleep so far (their voluntary context switches).

    A thread that sleeps until an fd is ready adds one; a thread woken by a
    timer every 0.5 s adds two a second.  Counted per thread, so what the
    rest of the test process does (pytest, collectors, other tests' threads)
    cannot move it the way it moves the process's CPU time.
    """
    total = 0
    for tid in tids:
        try:
            with open(f"/proc/self/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        total += int(line.split()[1])
        except FileNotFoundError:  # the thread has ended: it is not idle
            total += 1_000_000
    return total


# -- file descriptors and mappings -------------------------------------------------------


def test_an_shm_session_holds_one_fd_like_libqbs_client(shm_server: FakeProcess) -> None:
    """libqb's client closes each ring file once mapped; so do we (6 fewer fds)."""
    with shm_server.netns_context():
        before = open_fds()
        sessions = [QuorumSession(service=shm_server.name, timeout=10) for _ in range(20)]
        try:
            added = len(open_fds() - before)
            assert added == 20, f"{added / 20} fds per SHM session"
            for s in sessions:
                s.fileno()  # the event fd is the setup socket: nothing new
            assert len(open_fds() - before) == 20
            assert len(shm_mappings(QB_FILES)) == 20 * 6  # three rings, header + data each
        finally:
            for s in sessions:
                s.close()
    assert open_fds() <= before
    assert shm_mappings(QB_FILES) == []


def test_2000_connections_leave_no_fd_and_no_mapping(server: FakeProcess) -> None:
    cycles = 2000 if server.transport == "shm" else 500  # the socket transport maps one file
    with server.netns_context():
        before = open_fds()
        for i in range(cycles):
            conn = IpcConnection.connect(server.name, timeout=10)
            if i % 2:
                conn.fileno()
            conn.close()
    assert open_fds() <= before
    assert shm_mappings(QB_FILES) == []


# -- idle CPU --------------------------------------------------------------------------------


def _idle_blocking(server: FakeProcess, count: int, seconds: float) -> int:
    """Wake-ups of ``count`` threads in ``seconds`` while blocked in dispatch(BLOCKING)."""
    with server.netns_context():
        sessions = [QuorumSession(service=server.name, timeout=10) for _ in range(count)]
    for s in sessions:
        s.trackstart(Track.CHANGES_ONLY)
    errors: list[BaseException] = []
    entered = threading.Semaphore(0)
    tids: set[int] = set()

    def wait(session: QuorumSession) -> None:
        tids.add(threading.get_native_id())
        entered.release()
        try:
            session.dispatch(DispatchMode.BLOCKING)
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=wait, args=(s,), daemon=True) for s in sessions]
    try:
        for t in threads:
            t.start()
        for _ in threads:
            assert entered.acquire(timeout=10)
        threading.Event().wait(0.5)  # let each thread reach its poll()
        start = wakeups(tids)
        threading.Event().wait(seconds)
        woke = wakeups(tids) - start
    finally:
        for s in sessions:
            s.close()  # wakes each dispatch, which then returns
        for t in threads:
            t.join(10)
    assert not [t for t in threads if t.is_alive()]
    assert errors == []
    assert len(tids) == count
    return woke


def test_200_idle_sessions_waiting_for_events_use_no_cpu(shm_server: FakeProcess) -> None:
    """No timer: a waiting session sleeps until a doorbell or a hang-up.

    With a liveness check every 0.5 s the 200 threads woke about 2,000
    times in 5 s; without, none of them wakes.  (What that costs in CPU
    is bench/bench_resources.py's to measure.)
    """
    woke = _idle_blocking(shm_server, 200, 5.0)
    assert woke <= 2, f"200 idle sessions woke {woke} times in 5 s"


def test_idle_socket_transport_sessions_use_no_cpu() -> None:
    """Its wait polls the event socket and the setup socket together, without a timer.

    With a 0.5 s slice, 50 sessions woke about 200 times in 2 s."""
    with fake_process(SCRIPT, name="resources-socket", transport="socket") as fake:
        woke = _idle_blocking(fake, 50, 2.0)
    assert woke <= 2, f"50 idle sessions woke {woke} times in 2 s"


def test_idle_asyncio_sessions_use_no_cpu(server: FakeProcess) -> None:
    """The loop sleeps in its selector until an event fd is ready; no thread the
    sessions made wakes either.  The loop's own thread sleeps once (the
    test's 2 s sleep); a timer checking every 20 ms would wake it 100 times."""
    before = thread_ids() - {threading.get_native_id()}

    async def run() -> int:
        with server.netns_context():
            sessions = [AsyncQuorumSession(service=server.name, timeout=10) for _ in range(50)]
            for s in sessions:
                await s.connect()
        try:
            for s in sessions:
                await s.trackstart(Track.CHANGES_ONLY)
            waiters = [asyncio.create_task(s.next_event()) for s in sessions]
            await asyncio.sleep(0.5)
            tids = thread_ids() - before  # the loop's and any the sessions started
            start = wakeups(tids)
            await asyncio.sleep(2.0)
            woke = wakeups(tids) - start
            assert not any(w.done() for w in waiters)
        finally:
            for s in sessions:
                await s.close()
        assert [await w for w in waiters] == [None] * len(waiters)  # closing ends them
        return woke

    woke = asyncio.run(run())
    assert woke <= 3, f"50 idle asyncio sessions' threads woke {woke} times in 2 s"


# -- a dead daemon is still noticed ---------------------------------------------------------


@pytest.mark.parametrize("transport", ["shm", "socket"])
def test_a_killed_daemon_ends_an_unlimited_wait_at_once(transport: str) -> None:
    """No timer, yet a SIGKILLed server is noticed: the kernel hangs up its sockets."""
    with fake_process(SCRIPT, name="resources-kill", transport=transport) as fake:
        with fake.netns_context():
            session = QuorumSession(service=fake.name, timeout=10)
        session.trackstart(Track.CHANGES_ONLY)
        outcome: list[object] = []

        def wait() -> None:
            try:
                session.dispatch(DispatchMode.BLOCKING)  # no timeout
                outcome.append("returned")
            except BaseException as exc:
                outcome.append(exc)

        waiter = threading.Thread(target=wait, daemon=True)
        waiter.start()
        threading.Event().wait(0.2)
        killed = time.monotonic()
        fake.proc.send_signal(signal.SIGKILL)
        waiter.join(5)
        noticed = time.monotonic() - killed
        # (A wait that never ends keeps the session's locks: closing it would
        # hang too, so it is left to the daemon thread.)
        assert not waiter.is_alive(), "the wait did not notice the dead daemon"
        session.close()
        assert len(outcome) == 1 and isinstance(outcome[0], ConnectionLost), outcome
        assert noticed < 1.0
