"""A real Prometheus scrapes the exporter (fed by a ScriptedSource) and its query API
returns the state's numbers.  Needs /usr/bin/prometheus (Debian's package): skips
without it, fails instead under PYQUORUM_REQUIRE_COROSYNC=1 (CI)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pyquorum.exporter.metrics import registry_for
from pyquorum.exporter.runner import Exporter
from pyquorum.exporter.server import MetricsServer
from pyquorum.exporter.source import ScriptedSource
from pyquorum.exporter.state import ClusterState
from pyquorum.messages.constants import VotequorumInfo
from pyquorum.testing.prometheus import PROMETHEUS, PrometheusError, PrometheusServer
from tests.support.exporter_builders import healthy_cluster, info, nodelist, quorum
from tests.support.live import require_live

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass
class Stack:
    source: ScriptedSource
    exporter: Exporter
    server: MetricsServer
    prometheus: PrometheusServer


@pytest.fixture
def stack() -> Iterator[Stack]:
    if not os.access(PROMETHEUS, os.X_OK):
        require_live(f"{PROMETHEUS} is missing (apt-get install prometheus)")
    source = ScriptedSource(healthy_cluster())
    state = ClusterState()
    exporter = Exporter(source, state, stats_interval=5, timeout=1, backoff_initial=0.05,
                        backoff_max=0.2, poll_slice=0.05)
    with exporter, MetricsServer(registry_for(state), "127.0.0.1", 0) as server:
        with PrometheusServer([f"127.0.0.1:{server.port}"], scrape_interval=1,
                              rule_files=[EXAMPLES / "pyquorum-exporter-alerts.yml"]) as prom:
            prom.wait_for("up", lambda s: len(s) == 1 and s[0].value == 1.0)
            directory, pid = prom.directory, prom.pid
            assert directory is not None and pid is not None
            yield Stack(source, exporter, server, prom)
        assert not directory.exists()
        assert not Path(f"/proc/{pid}").exists()


def test_quorum_flip_and_the_loss_counter(stack: Stack) -> None:
    prom, source = stack.prometheus, stack.source
    prom.wait_for_value("ha_cluster_corosync_quorate", 1)
    votes = prom.query("ha_cluster_corosync_quorum_votes")
    assert {s.labels["type"]: s.value for s in votes} == {
        "expected_votes": 3, "highest_expected": 3, "total_votes": 3, "quorum": 2}
    assert prom.value("pyquorum_corosync_quorum_losses_total") == 0

    source.push(nodelist((1,), left=(2, 3), seq=10), quorum(False, (1,), seq=10),
                info(1, local=True, total=1, flags=VotequorumInfo(0)))
    prom.wait_for_value("ha_cluster_corosync_quorate", 0)
    prom.wait_for_value("pyquorum_corosync_quorum_losses_total", 1)
    prom.wait_for_value("count(ha_cluster_corosync_member_votes)", 1)
    prom.wait_for_value('ha_cluster_corosync_quorum_votes{type="total_votes"}', 1)

    source.push(nodelist((1, 2, 3), joined=(2, 3), seq=11), quorum(True, (1, 2, 3), seq=11),
                info(1, local=True))
    prom.wait_for_value("ha_cluster_corosync_quorate", 1)
    prom.wait_for_value("count(ha_cluster_corosync_member_votes)", 3)
    # quorum is back, the counter stays
    assert prom.value("pyquorum_corosync_quorum_losses_total") == 1
    assert prom.value("pyquorum_corosync_membership_changes_total") == 2
    members = prom.query("ha_cluster_corosync_member_votes")
    assert sorted((s.labels["node_id"], s.labels["node"], s.labels["local"]) for s in members) \
        == [("1", "node1", "true"), ("2", "node2", "false"), ("3", "node3", "false")]


def test_a_loss_that_heals_within_one_scrape_interval_is_counted(stack: Stack) -> None:
    prom, source = stack.prometheus, stack.source
    prom.wait_for_value("ha_cluster_corosync_quorate", 1)
    # both in one batch: the loss lasts microseconds, no 1 s scrape can fall inside it
    source.push(quorum(False, (1, 2, 3), seq=10), quorum(True, (1, 2, 3), seq=11))
    prom.wait_for_value("pyquorum_corosync_quorum_losses_total", 1)
    # the gauge never showed the loss: no scrape fell inside it
    assert prom.value("min_over_time(ha_cluster_corosync_quorate[1m])") == 1
    assert prom.value("increase(pyquorum_corosync_quorum_losses_total[1m]) > 0") is not None


def test_corosync_gone_and_back(stack: Stack) -> None:
    prom, source = stack.prometheus, stack.source
    prom.wait_for_value("pyquorum_corosync_reachable", 1)
    source.down()
    prom.wait_for_value("pyquorum_corosync_reachable", 0)
    # stale cluster values are gone from the scrape; the counter is there
    prom.wait_for("ha_cluster_corosync_quorate", lambda s: s == [])
    assert prom.value("pyquorum_corosync_connection_losses_total") == 1
    assert prom.targets_health() == {f"127.0.0.1:{stack.server.port}": "up"}
    source.up()
    prom.wait_for_value("pyquorum_corosync_reachable", 1)
    prom.wait_for_value("ha_cluster_corosync_quorate", 1)


def test_the_example_alert_fires_on_quorum_loss(stack: Stack) -> None:
    prom, source = stack.prometheus, stack.source
    source.push(quorum(False, (1,), seq=10))
    prom.wait_for('ALERTS{alertname="CorosyncQuorumLost"}', lambda s: len(s) == 1)
    source.push(quorum(True, (1, 2, 3), seq=11))
    prom.wait_for('ALERTS{alertname="CorosyncQuorumLost"}', lambda s: s == [])
    # the healed loss still shows through the counter's rule
    prom.wait_for('ALERTS{alertname="CorosyncQuorumLossSeen"}', lambda s: len(s) == 1)


def test_a_bad_query_is_a_prometheus_error(stack: Stack) -> None:
    with pytest.raises(PrometheusError, match="parse error"):
        stack.prometheus.query("sum(")


def test_a_server_that_cannot_start_leaves_nothing(tmp_path: Path) -> None:
    if not os.access(PROMETHEUS, os.X_OK):
        require_live(f"{PROMETHEUS} is missing")
    bad_rules = tmp_path / "bad.yml"
    bad_rules.write_text("groups: [{name: x, rules: [{alert: A, expr: 'sum('}]}]\n")
    server = PrometheusServer(["127.0.0.1:1"], rule_files=[bad_rules], start_timeout=20)
    with pytest.raises(PrometheusError, match="did not become ready"):
        server.start()
    assert server.directory is None and server.pid is None


def test_a_run_killed_by_sigterm_stops_its_prometheus(tmp_path: Path) -> None:
    """Prometheus runs in a session of its own (^C does not reach it), so a test run
    that dies of SIGTERM must stop it through the harness's clean-up registry."""
    if not os.access(PROMETHEUS, os.X_OK):
        require_live(f"{PROMETHEUS} is missing")
    script = (
        "import os, sys, time\n"
        "from pyquorum.testing.prometheus import PrometheusServer\n"
        "server = PrometheusServer(['127.0.0.1:1']).start()\n"
        "print(server.pid, server.directory, flush=True)\n"
        "time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        pid_text, directory = child.stdout.readline().split()
        child.send_signal(signal.SIGTERM)
        assert child.wait(30) == -signal.SIGTERM
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert not Path(f"/proc/{pid_text}").exists()
    assert not Path(directory).exists()
