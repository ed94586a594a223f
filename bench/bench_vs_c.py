"""pyquorum against the C libquorum, same daemon, same run.

Starts a one-node corosync per transport (shm, then socket) in its own
network namespace, then times, best of several rounds:

* ``getquorate``: N round trips on one open session;
* ``cycles``: M model-initialize + finalize cycles.

The C side is tests/c/quorum_oracle.c (built against Debian's
libquorum-dev), which times its own loop, so process start-up is not
counted on either side.  C and pyquorum rounds alternate.  Prints a table
and the pyquorum/C ratios.

Where the scheduler puts the client and corosync decides a round trip's
cost more than anything either client does (on the 2-core VM, 11 µs or
70 µs for the same C code): on one CPU, the real-time corosync preempts
the client at its doorbell and has answered when the client runs again; on
two, the client waits for a wake-up.  So each placement is measured on its
own, with both clients pinned alike (``--placement``):

* ``split``: corosync on CPU 0, the client on CPU 1 (a real host: the
  daemon has its own core);
* ``shared``: both on CPU 0;
* ``free``: no pinning (what the scheduler happens to do; noisy).

Run as root:  .venv/bin/python bench/bench_vs_c.py [--calls N] [--cycles M]
[--placement split,shared]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyquorum import QuorumSession
from pyquorum.messages.constants import Model
from pyquorum.testing.cluster import Cluster, Node
from tests.oracle import build_oracle

TARGETS = {("getquorate", "shm"): 1.25, ("getquorate", "socket"): 1.5,
           ("cycles", "shm"): 1.0, ("cycles", "socket"): 1.0}


PLACEMENTS = ("split", "shared", "free")


def pin_daemon(node: Node, cpu: int | None) -> None:
    """Pin every thread of the node's corosync to ``cpu`` (None: all CPUs)."""
    cpus = set(range(os.cpu_count() or 1)) if cpu is None else {cpu}
    for task in os.listdir(f"/proc/{node.pid}/task"):
        os.sched_setaffinity(int(task), cpus)


@contextlib.contextmanager
def client_on(cpu: int | None) -> Iterator[None]:
    """Run this thread (the pyquorum client) on ``cpu`` for the block."""
    before = os.sched_getaffinity(0)
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def c_time(node: Node, oracle: Path, mode: str, n: int, cpu: int | None) -> float:
    argv = [str(oracle), mode, str(n)]
    if cpu is not None:
        argv = ["taskset", "-c", str(cpu), *argv]
    proc = node.run(argv)
    return float(json.loads(proc.stdout)["seconds"])


def py_getquorate(node: Node, n: int) -> float:
    with node.netns_context():
        session = QuorumSession(model=Model.V1)
    with session:
        session.getquorate()
        start = time.perf_counter()
        for _ in range(n):
            session.getquorate()
        return time.perf_counter() - start


def py_cycles(node: Node, n: int) -> float:
    with node.netns_context():
        start = time.perf_counter()
        for _ in range(n):
            QuorumSession(model=Model.V1).close()
        return time.perf_counter() - start


def cpus_for(placement: str) -> tuple[int | None, int | None]:
    """(daemon CPU, client CPU) of a placement."""
    if placement == "split":
        return 0, 1
    if placement == "shared":
        return 0, 0
    return None, None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--cycles", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--placement", default="split,shared",
                        help=f"comma-separated, of {', '.join(PLACEMENTS)} (default split,shared)")
    args = parser.parse_args()
    placements = [p for p in args.placement.split(",") if p]
    if not placements or any(p not in PLACEMENTS for p in placements):
        parser.error(f"--placement takes {', '.join(PLACEMENTS)}")
    if "split" in placements and len(os.sched_getaffinity(0)) < 2:
        print("bench: one CPU only; skipping the split placement", file=sys.stderr)
        placements.remove("split")
    oracle = build_oracle()
    rows = []
    failed = False
    for transport in ("shm", "socket"):
        with Cluster(1, transport=transport) as cluster:
            node = cluster.nodes[0]
            for placement in placements:
                daemon_cpu, client_cpu = cpus_for(placement)
                pin_daemon(node, daemon_cpu)
                for mode, n, py in (("getquorate", args.calls, py_getquorate),
                                    ("cycles", args.cycles, py_cycles)):
                    c_mode = "bench" if mode == "getquorate" else mode
                    c_runs, py_runs = [], []
                    for _ in range(args.rounds):
                        c_runs.append(c_time(node, oracle, c_mode, n, client_cpu))
                        with client_on(client_cpu):
                            py_runs.append(py(node, n))
                    c_best, py_best = min(c_runs), min(py_runs)
                    ratio = py_best / c_best
                    target = TARGETS[(mode, transport)]
                    ok = ratio <= target
                    failed |= not ok
                    rows.append((transport, placement, mode, n, c_best / n * 1e6,
                                 py_best / n * 1e6, ratio, target, ok))
    print(f"{'transport':9} {'placement':9} {'what':10} {'n':>6} {'C us':>8} {'py us':>8} "
          f"{'ratio':>6} {'target':>6}")
    for transport, placement, mode, n, c_us, py_us, ratio, target, ok in rows:
        print(f"{transport:9} {placement:9} {mode:10} {n:6d} {c_us:8.1f} {py_us:8.1f} "
              f"{ratio:6.2f} {target:6.2f} {'ok' if ok else 'MISSED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
