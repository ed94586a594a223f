"""The exporter on node 1 of a live 3-node corosync cluster, scraped by a real Prometheus.

In process, with the quorum-service part of the source alone
(QuorumServiceSource): quorate, members, ring id and the counters.  The whole
``pyquorum exporter`` (votes, names, knet stats) is tested as a process in
test_live_command.py.  Root, corosync and /usr/bin/prometheus needed:
skips without them, fails instead under PYQUORUM_REQUIRE_COROSYNC=1.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

from pyquorum.exporter.metrics import registry_for
from pyquorum.exporter.quorum_source import QuorumServiceSource
from pyquorum.exporter.runner import Exporter
from pyquorum.exporter.server import MetricsServer
from pyquorum.exporter.state import ClusterState
from pyquorum.messages.constants import Model
from pyquorum.services.quorum.session import QuorumSession
from pyquorum.testing.cluster import Cluster
from pyquorum.testing.prometheus import PROMETHEUS, PrometheusServer
from tests.support.exporter_live import scraped_across_a_restart
from tests.support.live import require_live
from tests.support.process_resources import open_fds

pytestmark = pytest.mark.slow


def test_membership_quorum_and_a_corosync_restart_under_prometheus(
    cluster3: Callable[..., Cluster],
) -> None:
    if not os.access(PROMETHEUS, os.X_OK):
        require_live(f"{PROMETHEUS} is missing (apt-get install prometheus)")
    cluster = cluster3()
    node1 = cluster[1]

    def open_on_node1(timeout: float) -> QuorumSession:
        return node1.call(QuorumSession, Model.V1, timeout=timeout)

    fds_before = open_fds()
    state = ClusterState()
    exporter = Exporter(QuorumServiceSource(open_on_node1), state, timeout=2,
                        backoff_initial=0.1, backoff_max=0.5, poll_slice=0.1)
    with (
        exporter,
        MetricsServer(registry_for(state), "127.0.0.1", 0) as server,
        PrometheusServer([f"127.0.0.1:{server.port}"], scrape_interval=1) as prom,
    ):
        prom.wait_for_value("ha_cluster_corosync_quorate", 1)
        prom.wait_for_value("pyquorum_corosync_members", 3)

        # node 3 leaves and comes back: member changes, quorum kept
        cluster[3].stop()
        prom.wait_for_value("pyquorum_corosync_members", 2)
        prom.wait_for_value('pyquorum_corosync_node_member{node_id="3"}', 0)
        assert prom.value("ha_cluster_corosync_quorate") == 1
        cluster[3].start()
        prom.wait_for_value("pyquorum_corosync_members", 3)
        prom.wait_for_value("pyquorum_corosync_membership_changes_total", 2)

        # nodes 2 and 3 go: quorum lost; node 2 back: quorum back, the counter stays
        cluster[2].stop()
        cluster[3].stop()
        prom.wait_for_value("ha_cluster_corosync_quorate", 0)
        prom.wait_for_value("pyquorum_corosync_quorum_losses_total", 1)
        cluster[2].start()
        prom.wait_for_value("ha_cluster_corosync_quorate", 1)
        assert prom.value("pyquorum_corosync_quorum_losses_total") == 1

        # corosync on node 1 killed and restarted under the exporter
        url = f"http://127.0.0.1:{server.port}/metrics"
        with scraped_across_a_restart(node1, prom, url) as timer:
            prom.wait_for_value("ha_cluster_corosync_quorate", 1, timeout=60)
        assert prom.value("pyquorum_corosync_connection_losses_total") == 1
        assert timer.failures == []
        print(f"\nslowest of {timer.count} scrapes across the restart: "
              f"{timer.slowest * 1000:.1f} ms")
        assert timer.slowest < 0.5
        corosync_pid = node1.pid
    # the exporter's sessions are gone: no fd of ours, no IPC files with node 1's corosync
    ours = f"qb-{corosync_pid}-{os.getpid()}-"
    deadline = time.monotonic() + 5
    while any(n.startswith(ours) for n in os.listdir("/dev/shm")):
        assert time.monotonic() < deadline, sorted(os.listdir("/dev/shm"))
        time.sleep(0.05)
    assert open_fds() - fds_before == set()
