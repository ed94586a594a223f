"""Per-message cost of the pure-Python ring, without corosync.

Times, best of several rounds:

* ``local``: write + read of one chunk in the same process, on a
  ``bytearray`` with a ThreadSemaphore and on an ``mmap`` with glibc's
  semaphore (the latter is the client's real per-message ring work);
* ``pingpong``: round trips between two processes over a request ring and
  a response ring (glibc semaphores, futex wake-ups), which is the SHM
  transport's data path minus the setup-socket doorbell.

Run:  .venv/bin/python bench/bench_ring.py [--n N] [--rounds R]
"""

from __future__ import annotations

import argparse
import mmap
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyquorum.ipc.ring import Ring, data_size_for
from pyquorum.ipc.ring_header import HEADER_FILE_SIZE, SEM_OFFSET
from pyquorum.ipc.sem import PosixSemaphore, Semaphore, ThreadSemaphore

MAX_MSG = 1 << 20
SIZES = (16, 32, 4672)  # a request, a response, the largest notification


def shm_ring() -> tuple[Ring, Callable[[], None]]:
    """A 1 MiB ring on anonymous shared maps with a process-shared glibc semaphore."""
    size = data_size_for(MAX_MSG)
    hdr = mmap.mmap(-1, HEADER_FILE_SIZE)
    data = mmap.mmap(-1, size)
    Ring.initialize(hdr, data, word_size=size // 4, hdr_path="/bench-h", data_path="/bench-d")
    sem = PosixSemaphore.init(hdr, SEM_OFFSET)
    ring = Ring(hdr, data, sem, max_msg_size=MAX_MSG)

    def close() -> None:
        ring.release()
        sem.release()
        hdr.close()
        data.close()

    return ring, close


def local_ring() -> tuple[Ring, Callable[[], None]]:
    size = data_size_for(MAX_MSG)
    hdr, data = bytearray(HEADER_FILE_SIZE), bytearray(size)
    Ring.initialize(hdr, data, word_size=size // 4, hdr_path="/bench-h", data_path="/bench-d")
    sem: Semaphore = ThreadSemaphore()
    ring = Ring(hdr, data, sem, max_msg_size=MAX_MSG)
    return ring, ring.release


def best(rounds: int, n: int, once: Callable[[], None]) -> float:
    """Best per-iteration time in microseconds over ``rounds`` rounds of ``n``."""
    results = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            once()
        results.append((time.perf_counter() - start) / n * 1e6)
    return min(results)


def bench_local(n: int, rounds: int) -> None:
    for name, make in (("bytearray+thread-sem", local_ring), ("mmap+glibc-sem", shm_ring)):
        ring, close = make()
        for size in SIZES:
            payload = bytes(size)

            def once(ring: Ring = ring, payload: bytes = payload) -> None:
                ring.write(payload)
                ring.read(0)

            print(f"local    {name:22} {size:5d} B  {best(rounds, n, once):7.2f} us/msg")
        close()


def bench_pingpong(n: int, rounds: int) -> None:
    req, close_req = shm_ring()
    resp, close_resp = shm_ring()
    pid = os.fork()
    if pid == 0:  # the echo server
        code = 0
        try:
            for _ in range(n * rounds + 1):
                msg = None
                while msg is None:
                    msg = req.read(1.0)
                resp.write(msg)
        except BaseException:
            code = 1
        os._exit(code)
    try:
        payload = bytes(16)

        def once() -> None:
            req.write(payload)
            got = None
            while got is None:
                got = resp.read(1.0)

        once()  # warm-up, and proves the child is up
        per_trip = best(rounds, n, once)
        print(f"pingpong 2 processes, 16 B request/echo  {per_trip:7.2f} us/round trip")
    finally:
        _, status = os.waitpid(pid, 0)
        close_req()
        close_resp()
    if status:
        raise SystemExit(f"echo child failed: {status:#x}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50000, help="messages per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bench_local(args.n, args.rounds)
    bench_pingpong(args.n // 5, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
