"""pyquorum against the C libquorum, same daemon, same run.

Starts a one-node corosync per transport (shm, then socket) in its own
network namespace, then times, best of several rounds:

* ``getquorate``: N round trips on one open session;
* ``cycles``: M model-initialize + finalize cycles.

The C side is tests/c/quorum_oracle.c (built against Debian's
libquorum-dev), which times its own loop, so process start-up is not
counted on either side.  Prints a table and the pyquorum/C ratios.
Run as root:  .venv/bin/python bench/bench_vs_c.py [--calls N] [--cycles M]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyquorum import QuorumSession
from pyquorum.messages.constants import Model
from pyquorum.testing.cluster import Cluster, Node
from tests.oracle import build_oracle

TARGETS = {("getquorate", "shm"): 1.25, ("getquorate", "socket"): 1.5,
           ("cycles", "shm"): 1.0, ("cycles", "socket"): 1.0}


def c_time(node: Node, oracle: Path, mode: str, n: int) -> float:
    proc = node.run([str(oracle), mode, str(n)])
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--cycles", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    oracle = build_oracle()
    rows = []
    failed = False
    for transport in ("shm", "socket"):
        with Cluster(1, transport=transport) as cluster:
            node = cluster.nodes[0]
            for mode, n, py in (("getquorate", args.calls, py_getquorate),
                                ("cycles", args.cycles, py_cycles)):
                c_best = min(c_time(node, oracle, "bench" if mode == "getquorate" else mode, n)
                             for _ in range(args.rounds))
                py_best = min(py(node, n) for _ in range(args.rounds))
                ratio = py_best / c_best
                target = TARGETS[(mode, transport)]
                ok = ratio <= target
                failed |= not ok
                rows.append((transport, mode, n, c_best / n * 1e6, py_best / n * 1e6,
                             ratio, target, ok))
    print(f"{'transport':9} {'what':10} {'n':>6} {'C us':>8} {'py us':>8} "
          f"{'ratio':>6} {'target':>6}")
    for transport, mode, n, c_us, py_us, ratio, target, ok in rows:
        print(f"{transport:9} {mode:10} {n:6d} {c_us:8.1f} {py_us:8.1f} "
              f"{ratio:6.2f} {target:6.2f} {'ok' if ok else 'MISSED'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
