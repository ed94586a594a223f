"""The exposition, read back with prometheus_client's own text parser."""

from __future__ import annotations

import pytest
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from pyquorum.exporter.inputs import Reachable, Tracked, Unreachable
from pyquorum.exporter.metrics import registry_for
from pyquorum.exporter.state import ClusterState
from pyquorum.messages import votequorum as vq
from pyquorum.messages.constants import NodeState, VotequorumInfo
from pyquorum.messages.types import RingId
from tests.support.exporter_builders import (
    cmap_nodelist,
    healthy_cluster,
    info,
    knet,
    nodelist,
    quorum,
)

Labels = tuple[tuple[str, str], ...]


def scrape(state: ClusterState) -> dict[str, dict[Labels, float]]:
    """sample name → sorted labels → value; also checks each family's type."""
    text = generate_latest(registry_for(state)).decode()
    samples: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            labels = tuple(sorted(sample.labels.items()))
            samples.setdefault(sample.name, {})[labels] = sample.value
    return samples


def types(state: ClusterState) -> dict[str, str]:
    text = generate_latest(registry_for(state)).decode()
    return {f.name: f.type for f in text_string_to_metric_families(text)}


def one(samples: dict[str, dict[Labels, float]], metric: str, /, **labels: str) -> float:
    return samples[metric][tuple(sorted(labels.items()))]


@pytest.fixture
def state() -> ClusterState:
    state = ClusterState(clock=lambda: 1700000000.0)
    state.apply(Reachable())
    state.apply_all(healthy_cluster())
    return state


def test_the_ha_cluster_exporter_metrics_have_its_names_and_labels(state: ClusterState) -> None:
    samples = scrape(state)
    assert samples["ha_cluster_corosync_quorate"] == {(): 1.0}
    assert samples["ha_cluster_corosync_quorum_votes"] == {
        (("type", "expected_votes"),): 3.0, (("type", "highest_expected"),): 3.0,
        (("type", "total_votes"),): 3.0, (("type", "quorum"),): 2.0,
    }
    assert samples["ha_cluster_corosync_member_votes"] == {
        (("local", "true"), ("node", "node1"), ("node_id", "1")): 1.0,
        (("local", "false"), ("node", "node2"), ("node_id", "2")): 1.0,
        (("local", "false"), ("node", "node3"), ("node_id", "3")): 1.0,
    }
    # one local link, nothing known against it yet: healthy
    assert samples["ha_cluster_corosync_rings"] == {
        (("address", "10.0.0.1"), ("node_id", "1"), ("number", "0"), ("ring_id", "1.9")): 1.0,
    }
    assert samples["ha_cluster_corosync_ring_errors"] == {(): 0.0}
    kinds = types(state)
    for name in ("ha_cluster_corosync_quorate", "ha_cluster_corosync_quorum_votes",
                 "ha_cluster_corosync_member_votes", "ha_cluster_corosync_rings",
                 "ha_cluster_corosync_ring_errors"):
        assert kinds[name] == "gauge"


def test_ring_id_is_printed_in_hex_as_quorumtool_does(state: ClusterState) -> None:
    state.apply(quorum(True, (1, 2, 3), seq=0x4A46B))
    (labels,) = scrape(state)["ha_cluster_corosync_rings"]
    assert dict(labels)["ring_id"] == "1.4a46b"


def test_quorum_loss_shows_and_the_counter_stays(state: ClusterState) -> None:
    state.apply(quorum(False, (1,), seq=10))
    samples = scrape(state)
    assert one(samples, "ha_cluster_corosync_quorate") == 0.0
    assert one(samples, "pyquorum_corosync_quorum_losses_total") == 1.0
    assert one(samples, "pyquorum_corosync_membership_changes_total") == 1.0
    assert one(samples, "pyquorum_corosync_last_change_timestamp_seconds") == 1700000000.0
    state.apply(quorum(True, (1, 2, 3), seq=11))
    samples = scrape(state)
    assert one(samples, "ha_cluster_corosync_quorate") == 1.0
    assert one(samples, "pyquorum_corosync_quorum_losses_total") == 1.0
    kinds = types(state)
    assert kinds["pyquorum_corosync_quorum_losses"] == "counter"
    assert kinds["pyquorum_corosync_membership_changes"] == "counter"


def test_a_member_left_drops_its_votes_and_shows_it_not_member(state: ClusterState) -> None:
    state.apply(nodelist((1, 2), left=(3,), seq=10))
    state.apply(quorum(True, (1, 2), seq=10))
    samples = scrape(state)
    assert {dict(k)["node_id"] for k in samples["ha_cluster_corosync_member_votes"]} == {"1", "2"}
    assert one(samples, "pyquorum_corosync_members") == 2.0
    assert one(samples, "pyquorum_corosync_node_member", node_id="3", node="node3") == 0.0
    assert one(samples, "pyquorum_corosync_node_member", node_id="1", node="node1") == 1.0


def test_a_node_that_left_stays_listed_without_cmap(state: ClusterState) -> None:
    bare = ClusterState()
    bare.apply(Reachable())
    bare.apply(quorum(True, (1, 2, 3)))
    bare.apply(quorum(True, (1, 2), seq=10))
    samples = scrape(bare)
    assert one(samples, "pyquorum_corosync_node_member", node_id="3", node="3") == 0.0
    bare.apply(Unreachable())
    bare.apply(Reachable())
    bare.apply(quorum(True, (1, 2), seq=11))
    keys = scrape(bare)["pyquorum_corosync_node_member"]
    assert {dict(k)["node_id"] for k in keys} == {"1", "2"}


def test_each_votequorum_flag(state: ClusterState) -> None:
    flags = VotequorumInfo.TWONODE | VotequorumInfo.QUORATE | VotequorumInfo.WAIT_FOR_ALL
    state.apply(info(1, local=True, flags=flags))
    samples = scrape(state)["pyquorum_corosync_votequorum_flag"]
    assert {dict(k)["flag"]: v for k, v in samples.items()} == {
        "two_node": 1.0, "quorate": 1.0, "wait_for_all": 1.0, "last_man_standing": 0.0,
        "auto_tie_breaker": 0.0, "allow_downscale": 0.0, "qdevice": 0.0,
    }


def test_the_qdevice(state: ClusterState) -> None:
    samples = scrape(state)
    assert one(samples, "pyquorum_corosync_qdevice_registered") == 0.0
    assert "pyquorum_corosync_qdevice_alive" not in samples
    flags = (VotequorumInfo.QUORATE | VotequorumInfo.QDEVICE_REGISTERED
             | VotequorumInfo.QDEVICE_ALIVE | VotequorumInfo.QDEVICE_CAST_VOTE)
    state.apply(info(1, local=True, flags=flags, qdevice_votes=2, qdevice_name="Qdevice",
                     total=5, expected=5, highest=5, quorum=3))
    samples = scrape(state)
    assert one(samples, "pyquorum_corosync_qdevice_registered") == 1.0
    assert one(samples, "pyquorum_corosync_qdevice_alive", name="Qdevice") == 1.0
    assert one(samples, "pyquorum_corosync_qdevice_cast_vote", name="Qdevice") == 1.0
    assert one(samples, "pyquorum_corosync_qdevice_master_wins", name="Qdevice") == 0.0
    assert one(samples, "pyquorum_corosync_qdevice_votes", name="Qdevice") == 2.0
    assert one(samples, "pyquorum_corosync_votequorum_flag", flag="qdevice") == 1.0
    # corosync-quorumtool's Qdevice row, as ha_cluster_exporter reports it
    assert one(samples, "ha_cluster_corosync_member_votes",
               node_id="0", node="Qdevice", local="false") == 2.0
    # a device that casts no vote (qnetd gone) shows 0 votes there, as the tool does
    state.apply(info(1, local=True, flags=flags & ~VotequorumInfo.QDEVICE_CAST_VOTE,
                     qdevice_votes=2, qdevice_name="Qdevice", total=3, expected=5, highest=5,
                     quorum=3))
    samples = scrape(state)
    assert one(samples, "ha_cluster_corosync_member_votes",
               node_id="0", node="Qdevice", local="false") == 0.0
    assert one(samples, "pyquorum_corosync_qdevice_votes", name="Qdevice") == 2.0
    assert one(samples, "pyquorum_corosync_qdevice_cast_vote", name="Qdevice") == 0.0


def test_knet_links(state: ClusterState) -> None:
    state.apply(cmap_nodelist(1, 2, 3, links=2))
    state.apply(knet({
        (2, 0): {"enabled": 1, "connected": 1, "latency_ave": 250, "latency_min": 100,
                 "latency_max": 900, "down_count": 1, "up_count": 2},
        (2, 1): {"enabled": 1, "connected": 0, "down_count": 3, "up_count": 3},
    }))
    samples = scrape(state)
    link0 = {"node_id": "2", "node": "node2", "link": "0"}
    link1 = {"node_id": "2", "node": "node2", "link": "1"}
    assert one(samples, "pyquorum_corosync_knet_link_connected", **link0) == 1.0
    assert one(samples, "pyquorum_corosync_knet_link_connected", **link1) == 0.0
    assert one(samples, "pyquorum_corosync_knet_link_enabled", **link1) == 1.0
    assert one(samples, "pyquorum_corosync_knet_link_latency_average_seconds",
               **link0) == pytest.approx(250e-6)
    assert one(samples, "pyquorum_corosync_knet_link_latency_min_seconds",
               **link0) == pytest.approx(100e-6)
    assert one(samples, "pyquorum_corosync_knet_link_latency_max_seconds",
               **link0) == pytest.approx(900e-6)
    assert one(samples, "pyquorum_corosync_knet_link_down_total", **link1) == 3.0
    assert one(samples, "pyquorum_corosync_knet_link_up_total", **link0) == 2.0
    assert one(samples, "pyquorum_corosync_stats_timestamp_seconds") == 1700000000.0
    # link 1 is down to member 2: ha_cluster_exporter's ring metrics see a faulty ring
    assert one(samples, "ha_cluster_corosync_rings", ring_id="1.9", node_id="1", number="1",
               address="10.1.0.1") == 0.0
    assert one(samples, "ha_cluster_corosync_rings", ring_id="1.9", node_id="1", number="0",
               address="10.0.0.1") == 1.0
    assert one(samples, "ha_cluster_corosync_ring_errors") == 1.0


def test_node_states_from_votequorum(state: ClusterState) -> None:
    state.apply(vq.QuorumNotification(quorate=True, context=0, nodes=(
        vq.NodeStatus(1, NodeState.MEMBER), vq.NodeStatus(3, NodeState.DEAD))))
    samples = scrape(state)
    assert one(samples, "pyquorum_corosync_node_state", node_id="3", node="node3",
               state="dead") == 1.0
    assert one(samples, "pyquorum_corosync_node_state", node_id="3", node="node3",
               state="member") == 0.0


def test_unreachable_exports_only_reachability_and_counters(state: ClusterState) -> None:
    state.apply(quorum(False, (1,), seq=10))
    state.apply(Unreachable("stopped"))
    samples = scrape(state)
    assert set(samples) == {
        "pyquorum_corosync_reachable", "pyquorum_corosync_quorum_losses_total",
        "pyquorum_corosync_membership_changes_total",
        "pyquorum_corosync_connection_losses_total",
        "pyquorum_corosync_last_change_timestamp_seconds",
    }
    assert one(samples, "pyquorum_corosync_reachable") == 0.0
    assert one(samples, "pyquorum_corosync_connection_losses_total") == 1.0
    assert one(samples, "pyquorum_corosync_quorum_losses_total") == 1.0


def test_a_name_with_quotes_and_a_missing_name_survive_the_exposition(
    state: ClusterState,
) -> None:
    from pyquorum.exporter.inputs import CmapNodelist
    from pyquorum.messages.cmap import CmapValue
    from tests.support.exporter_builders import u32

    state.apply(CmapNodelist({
        "nodelist.node.0.nodeid": u32(1),
        "nodelist.node.0.name": CmapValue.string('we"ird\\name\n'),
        "nodelist.node.1.nodeid": u32(2),
    }))
    samples = scrape(state)
    names = {dict(k)["node_id"]: dict(k)["node"]
             for k in samples["ha_cluster_corosync_member_votes"]}
    assert names == {"1": 'we"ird\\name\n', "2": "2", "3": "3"}


def test_a_member_whose_votes_are_unknown_is_left_out(state: ClusterState) -> None:
    state.apply(nodelist((1, 2, 3, 4), joined=(4,), seq=10))
    keys = scrape(state)["ha_cluster_corosync_member_votes"]
    assert {dict(k)["node_id"] for k in keys} == {"1", "2", "3"}
    state.apply(info(4, votes=2))
    samples = scrape(state)
    assert one(samples, "ha_cluster_corosync_member_votes", node_id="4", node="4",
               local="false") == 2.0


def test_the_collector_reads_the_state_at_each_scrape() -> None:
    state = ClusterState()
    registry = registry_for(state)
    first = generate_latest(registry).decode()
    assert "pyquorum_corosync_reachable 0.0" in first
    state.apply(Reachable())
    state.apply(quorum(True, (1,), seq=RingId(1, 1).seq))
    second = generate_latest(registry).decode()
    assert "pyquorum_corosync_reachable 1.0" in second
    assert "ha_cluster_corosync_quorate 1.0" in second


def test_a_link_without_latency_samples_has_no_latency(state: ClusterState) -> None:
    """knet's link to this node itself is never measured: latency_min stays UINT32_MAX."""
    state.apply(cmap_nodelist(1, 2))
    state.apply(knet({
        (1, 0): {"enabled": 1, "connected": 1, "latency_ave": 0, "latency_min": 4294967295,
                 "latency_max": 0, "latency_samples": 0},
        (2, 0): {"enabled": 1, "connected": 1, "latency_ave": 250, "latency_min": 100,
                 "latency_max": 900, "latency_samples": 12},
    }))
    samples = scrape(state)
    for kind in ("average", "min", "max"):
        name = f"pyquorum_corosync_knet_link_latency_{kind}_seconds"
        assert [dict(labels)["node_id"] for labels in samples[name]] == ["2"]
    assert one(samples, "pyquorum_corosync_knet_link_connected",
               node_id="1", node="node1", link="0") == 1.0


def test_the_services_tracked(state: ClusterState) -> None:
    assert "pyquorum_corosync_service_tracked" not in scrape(state)  # not said: not shown
    state.apply(Tracked({"quorum": True, "votequorum": False}))
    samples = scrape(state)
    assert one(samples, "pyquorum_corosync_service_tracked", service="quorum") == 1.0
    assert one(samples, "pyquorum_corosync_service_tracked", service="votequorum") == 0.0
    state.apply(Unreachable("gone"))
    assert "pyquorum_corosync_service_tracked" not in scrape(state)
    state.apply(Reachable())  # a new connection says it again
    assert "pyquorum_corosync_service_tracked" not in scrape(state)
