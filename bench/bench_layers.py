"""Where a getquorate round trip's time goes, layer by layer, against C.

Times, on one corosync and the same placement (see bench_vs_c.py):

* ``C``: the C libquorum's quorum_getquorate (tests/c/quorum_oracle.c);
* ``transport``: pyquorum's bare transport, ``send`` + ``recv_response``
  of the request's bytes (no connection locks, no session, no decoding);
* ``connection``: ``IpcConnection.request`` (locks, deadlines, owed
  responses);
* ``session``: ``QuorumSession.getquorate`` (the sans-I/O core, decoding,
  errors).

With corosync on the client's CPU ("shared"), the round trip is pure CPU
work, and the transport line is the interpreter's floor: what pure Python
cannot go below however thin the layers above it.
Run as root:  .venv/bin/python bench/bench_layers.py [--calls N]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._timing import best_per_call
from bench.bench_vs_c import PLACEMENTS, c_time, client_on, cpus_for, pin_daemon
from pyquorum import QuorumSession
from pyquorum._deadline import Deadline
from pyquorum.ipc.client.connection import IpcConnection
from pyquorum.messages.constants import Model
from pyquorum.messages.quorum import encode_request
from pyquorum.messages.types import GetQuorateRequest
from pyquorum.testing.cluster import Cluster, Node
from tests.oracle import build_oracle

REQUEST = encode_request(GetQuorateRequest())


def best_of(rounds: int, n: int, call: Callable[[], object]) -> float:
    """Best time per call, in µs, over ``rounds`` loops of ``n`` calls."""
    return best_per_call(rounds, n, call) * 1e6


def layers(node: Node, n: int, rounds: int) -> dict[str, float]:
    with node.netns_context():
        session = QuorumSession(model=Model.V1)
        connection = IpcConnection.connect("quorum")
    try:
        transport = connection._transport  # the layer under the connection
        deadline = Deadline(None)

        def bare() -> bytes:
            transport.send(REQUEST, deadline)
            return transport.recv_response(deadline)

        return {
            "transport": best_of(rounds, n, bare),
            "connection": best_of(rounds, n, lambda: connection.request(REQUEST)),
            "session": best_of(rounds, n, session.getquorate),
        }
    finally:
        connection.close()
        session.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--placement", default="shared,split",
                        help=f"comma-separated, of {', '.join(PLACEMENTS)}")
    args = parser.parse_args()
    oracle = build_oracle()
    print(f"{'transport':9} {'placement':9} {'C':>7} {'transport':>9} {'connection':>10} "
          f"{'session':>8}  (µs per getquorate)")
    for transport in ("shm", "socket"):
        with Cluster(1, transport=transport) as cluster:
            node = cluster.nodes[0]
            for placement in args.placement.split(","):
                daemon_cpu, client_cpu = cpus_for(placement)
                pin_daemon(node, daemon_cpu)
                c_us = min(c_time(node, oracle, "bench", args.calls, client_cpu)
                           for _ in range(args.rounds)) / args.calls * 1e6
                with client_on(client_cpu):
                    times = layers(node, args.calls, args.rounds)
                print(f"{transport:9} {placement:9} {c_us:7.1f} {times['transport']:9.1f} "
                      f"{times['connection']:10.1f} {times['session']:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
