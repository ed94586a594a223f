"""``pyquorum exporter`` as a process on node 1 of a live 3-node corosync cluster.

The exporter runs in node 1's network namespace, listening on its loopback;
the real Prometheus that scrapes it runs there too, and so does this test's
thread while it talks to either over HTTP.  Root, corosync and
/usr/bin/prometheus needed: skips without them, fails instead under
PYQUORUM_REQUIRE_COROSYNC=1.
"""

from __future__ import annotations

import os
import time

import pytest

from pyquorum.testing.cluster import CommandFailed, Node, QdeviceConfig, wait_until
from pyquorum.testing.prometheus import PROMETHEUS, PrometheusServer
from tests.support.exporter_live import (
    Key,
    RunningExporter,
    exporter_on,
    exporter_view,
    key,
    scraped_across_a_restart,
    tools_view,
)
from tests.support.live import ClusterFactory, require_live

pytestmark = pytest.mark.slow

OPTIONS = ("--stats-interval", "1", "--timeout", "2")


def require_prometheus() -> None:
    if not os.access(PROMETHEUS, os.X_OK):
        require_live(f"{PROMETHEUS} is missing (apt-get install prometheus)")


def assert_same_numbers_as_the_tools(node: Node, exporter: RunningExporter,
                                     attempts: int = 8) -> dict[Key, float]:
    """Every value the tools also report equals theirs, read at the same moment.

    The same moment: the tools before, a scrape whose stats were read after
    that, the tools again; only a window in which the tools' numbers did not
    move counts, and in such a window every number must match.
    """
    mismatch: tuple[dict[Key, float], dict[Key, float]] | None = None
    for _ in range(attempts):
        try:
            before = tools_view(node)
        except CommandFailed:  # the tools fail now and then (seen: CS_ERR_NOT_EXIST)
            time.sleep(0.5)
            continue
        read_after = time.time()
        deadline = time.monotonic() + 10
        while True:
            samples = exporter.scrape()
            stamp = samples.get(key("pyquorum_corosync_stats_timestamp_seconds"), 0.0)
            if stamp > read_after:
                break
            assert time.monotonic() < deadline, "the stats map was not read again"
            time.sleep(0.1)
        try:
            after = tools_view(node)
        except CommandFailed:
            continue
        if before != after:
            continue
        ours = exporter_view(samples)
        if ours == before:
            assert samples[key("pyquorum_corosync_reachable")] == 1
            return samples
        mismatch = (before, ours)
    assert mismatch is not None, f"the tools' numbers never held still in {attempts} tries"
    tools, ours = mismatch
    differ = {k: (tools.get(k), ours.get(k)) for k in tools.keys() | ours.keys()
              if tools.get(k) != ours.get(k)}
    raise AssertionError(f"tools vs exporter differ: {differ}")


def test_prometheus_sees_membership_votes_quorum_and_a_corosync_restart(
    cluster3: ClusterFactory,
) -> None:
    require_prometheus()
    cluster = cluster3()
    node1 = cluster[1]
    with exporter_on(node1, *OPTIONS) as exporter, node1.netns_context(), \
            PrometheusServer([f"127.0.0.1:{exporter.port}"], scrape_interval=1) as prom:
        prom.wait_for_value("ha_cluster_corosync_quorate", 1)
        prom.wait_for_value('ha_cluster_corosync_quorum_votes{type="total_votes"}', 3)
        samples = assert_same_numbers_as_the_tools(node1, exporter)
        assert samples[key("ha_cluster_corosync_member_votes", node_id="1", node="node1",
                           local="true")] == 1

        # node 3 leaves and comes back: member and vote changes, quorum kept
        cluster[3].stop()
        prom.wait_for_value('ha_cluster_corosync_quorum_votes{type="total_votes"}', 2)
        prom.wait_for("ha_cluster_corosync_member_votes",
                      lambda s: sorted(x.labels["node_id"] for x in s) == ["1", "2"])
        prom.wait_for_value('pyquorum_corosync_node_member{node_id="3"}', 0)
        assert prom.value("ha_cluster_corosync_quorate") == 1
        cluster[3].start()
        prom.wait_for_value('ha_cluster_corosync_quorum_votes{type="total_votes"}', 3)
        prom.wait_for_value('ha_cluster_corosync_member_votes{node_id="3"}', 1)
        prom.wait_for_value("pyquorum_corosync_membership_changes_total", 2)

        # node 3 gets 2 votes (no membership change): votes and total follow
        node1.set_votes(2, nodeid=3)
        prom.wait_for_value('ha_cluster_corosync_member_votes{node_id="3"}', 2)
        prom.wait_for_value('ha_cluster_corosync_quorum_votes{type="total_votes"}', 4)
        assert_same_numbers_as_the_tools(node1, exporter)
        prom.wait_for_value('ha_cluster_corosync_quorum_votes{type="expected_votes"}', 4)
        # back to 1 vote, and expected votes back to 3 (votequorum raised them to 4)
        node1.set_votes(1, nodeid=3)
        prom.wait_for_value('ha_cluster_corosync_quorum_votes{type="total_votes"}', 3)
        node1.set_expected_votes(3)
        prom.wait_for_value('ha_cluster_corosync_quorum_votes{type="expected_votes"}', 3)
        assert_same_numbers_as_the_tools(node1, exporter)

        # nodes 2 and 3 go: quorum lost; node 2 back: quorum back, the counter stays
        cluster[2].stop()
        cluster[3].stop()
        prom.wait_for_value("ha_cluster_corosync_quorate", 0)
        prom.wait_for_value("pyquorum_corosync_quorum_losses_total", 1)
        assert_same_numbers_as_the_tools(node1, exporter)
        cluster[2].start()
        prom.wait_for_value("ha_cluster_corosync_quorate", 1)
        assert prom.value("pyquorum_corosync_quorum_losses_total") == 1
        cluster[3].start()
        prom.wait_for_value("pyquorum_corosync_members", 3)

        # corosync on node 1 killed and restarted under the exporter
        fds, shm = exporter.fds(), len(exporter.shm_files())
        assert shm > 0 or cluster.transport == "socket"
        with scraped_across_a_restart(node1, prom, exporter.url) as timer:
            prom.wait_for_value("pyquorum_corosync_members", 3, timeout=60)
            prom.wait_for_value('ha_cluster_corosync_quorum_votes{type="total_votes"}', 3)
        assert timer.failures == []
        print(f"\nslowest of {timer.count} scrapes of `pyquorum exporter` across a corosync "
              f"kill and restart: {timer.slowest * 1000:.1f} ms")
        assert timer.slowest < 0.5
        assert prom.value("pyquorum_corosync_connection_losses_total") == 1
        assert prom.value("pyquorum_corosync_quorum_losses_total") == 1
        assert_same_numbers_as_the_tools(node1, exporter)
        # the sessions to the dead daemon are gone: as many fds and IPC files as before
        assert exporter.fds() == fds
        assert len(exporter.shm_files()) == shm
        pid = exporter.proc.pid
    assert not any(f"-{pid}-" in name for name in os.listdir("/dev/shm"))


def test_a_quorum_device_shows_in_the_metrics(cluster3: ClusterFactory) -> None:
    cluster = cluster3(qdevice=QdeviceConfig(algorithm="ffsplit", tls=False))
    node1 = cluster[1]
    qdevice = {"name": "Qdevice"}
    with exporter_on(node1, *OPTIONS) as exporter, node1.netns_context():

        def counted() -> dict[Key, float] | None:
            samples = exporter.scrape()
            votes = samples.get(key("pyquorum_corosync_qdevice_votes", **qdevice))
            return samples if votes == 1 else None

        samples = wait_until(counted, 20, "the quorum device's vote in /metrics")
        assert samples[key("pyquorum_corosync_qdevice_registered")] == 1
        assert samples[key("pyquorum_corosync_votequorum_flag", flag="qdevice")] == 1
        for name in ("alive", "cast_vote"):
            assert samples[key(f"pyquorum_corosync_qdevice_{name}", **qdevice)] == 1
        assert samples[key("pyquorum_corosync_qdevice_master_wins", **qdevice)] == 0
        samples = assert_same_numbers_as_the_tools(node1, exporter)
        assert samples[key("ha_cluster_corosync_member_votes", node_id="0", node="Qdevice",
                           local="false")] == 1
        assert samples[key("ha_cluster_corosync_quorum_votes", type="total_votes")] == 4

        # qnetd goes: the device stays registered and alive but casts no vote
        assert cluster.qnetd is not None
        cluster.qnetd.stop()
        wait_until(lambda: exporter.scrape().get(
            key("pyquorum_corosync_qdevice_cast_vote", **qdevice)) == 0,
            20, "the quorum device to stop casting its vote")
        samples = assert_same_numbers_as_the_tools(node1, exporter)
        assert samples[key("ha_cluster_corosync_quorum_votes", type="total_votes")] == 3
        assert samples[key("pyquorum_corosync_qdevice_alive", **qdevice)] == 1
        assert samples[key("pyquorum_corosync_connection_losses_total")] == 0
