"""Real corosync clusters, one network namespace per node, for live tests.

Every live test of pyquorum runs against these, and users get the same
harness for their own tests.  It uses the standard library only and imports
nothing of pyquorum's client (only :mod:`pyquorum.netns`, itself
stdlib-only), so a broken client can never break the harness that is meant
to catch it.

The package, by concern:

- :mod:`~pyquorum.testing.cluster.config`: corosync.conf (votequorum
  options, a quorum device);
- :mod:`~pyquorum.testing.cluster.network`: namespace names, ``ip``, the
  switch and its partitions;
- :mod:`~pyquorum.testing.cluster.node` and
  :mod:`~pyquorum.testing.cluster.cluster`: the daemons, the waits, the
  state file;
- :mod:`~pyquorum.testing.cluster.qdevice`: corosync-qnetd and
  corosync-qdevice with their certificates;
- :mod:`~pyquorum.testing.cluster.registry`: the process-wide clean-up;
- :mod:`~pyquorum.testing.cluster.status` and
  :mod:`~pyquorum.testing.cluster.wait`: what the tools report, and polling.

Why it is built like this: nothing is created in the caller's network
namespace (host firewalls never see the cluster's frames, and deleting the
namespaces removes every interface); addresses come from 198.18.0.0/15,
which no real network routes; names carry the creator's pid, so a killed
run's leftovers can be swept without touching a live run's clusters.

Timing (2-core box, token 1000 ms, also with both cores saturated): a node
is ready 0.4 s after exec; a 3-node cluster is formed and quorate 1.5-1.9 s
after start(); a SIGKILLed, SIGSTOPped or partitioned-off node is dropped
after ~2.2 s; a restarted node is back in the membership after ~1.7 s and a
healed partition after ~0.2 s; a clean SIGTERM stop takes ~1 s.

``python -m pyquorum.testing.cluster up 3|status|down`` starts, shows and
stops clusters by hand.
"""

from pyquorum.testing.cluster.cluster import Cluster, TransportName
from pyquorum.testing.cluster.common import (
    DEFAULT_TIMEOUT,
    DEFAULT_TOKEN_MS,
    RUN_ROOT,
    WORK_ROOT,
    ClusterError,
    ClusterUnavailable,
    CommandFailed,
    check_available,
)
from pyquorum.testing.cluster.config import QdeviceConfig, VotequorumOptions
from pyquorum.testing.cluster.node import Node
from pyquorum.testing.cluster.registry import close_all, leftovers, sweep_stale
from pyquorum.testing.cluster.status import QuorumStatus, parse_quorumtool
from pyquorum.testing.cluster.wait import WaitTimeout, wait_until

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOKEN_MS",
    "RUN_ROOT",
    "WORK_ROOT",
    "Cluster",
    "ClusterError",
    "ClusterUnavailable",
    "CommandFailed",
    "Node",
    "QdeviceConfig",
    "QuorumStatus",
    "TransportName",
    "VotequorumOptions",
    "WaitTimeout",
    "check_available",
    "close_all",
    "leftovers",
    "parse_quorumtool",
    "sweep_stale",
    "wait_until",
]
