"""ClusterState: typed inputs in, snapshot out; no I/O, a fake clock."""

from __future__ import annotations

import pytest

from pyquorum.errors import CsErrorCode
from pyquorum.exporter.inputs import CmapNodelist, KnetStats, Reachable, Unreachable
from pyquorum.exporter.state import ClusterState, KnetLink, Qdevice, parse_knet, parse_nodelist
from pyquorum.messages import votequorum as vq
from pyquorum.messages.cmap import CmapValue
from pyquorum.messages.constants import NodeState, VotequorumInfo
from pyquorum.messages.types import RingId
from tests.support.exporter_builders import (
    cmap_nodelist,
    healthy_cluster,
    info,
    knet,
    nodelist,
    quorum,
    u32,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> ClusterState:
    state = ClusterState(clock=clock)
    state.apply(Reachable())
    state.apply_all(healthy_cluster())
    return state


def test_a_fresh_state_knows_nothing_and_is_not_reachable() -> None:
    snap = ClusterState().snapshot()
    assert snap.reachable is False
    assert snap.quorate is None and snap.members is None and snap.votequorum is None
    assert (snap.membership_changes, snap.quorum_losses, snap.connection_losses) == (0, 0, 0)
    assert snap.last_change is None


def test_the_healthy_snapshot(state: ClusterState) -> None:
    snap = state.snapshot()
    assert snap.reachable is True
    assert snap.quorate is True
    assert snap.members == (1, 2, 3)
    assert snap.ring_id == RingId(1, 9)
    assert snap.local_nodeid == 1
    assert snap.votequorum is not None
    assert (snap.votequorum.expected_votes, snap.votequorum.highest_expected,
            snap.votequorum.total_votes, snap.votequorum.quorum) == (3, 3, 3, 2)
    assert snap.votequorum.qdevice is None
    assert dict(snap.node_votes) == {1: 1, 2: 1, 3: 1}
    assert [snap.node_name(n) for n in (1, 2, 3, 7)] == ["node1", "node2", "node3", "7"]
    # the first picture is not a change
    assert (snap.membership_changes, snap.quorum_losses, snap.last_change) == (0, 0, None)


def test_a_quorum_loss_counts_once_and_stays_counted(state: ClusterState, clock: Clock) -> None:
    clock.now = 1010.0
    state.apply(nodelist((1,), left=(2, 3), seq=10))
    state.apply(quorum(False, (1,), seq=10))
    snap = state.snapshot()
    assert snap.quorate is False and snap.members == (1,)
    assert snap.quorum_losses == 1 and snap.membership_changes == 1
    assert snap.last_change == 1010.0
    clock.now = 1020.0
    state.apply(nodelist((1, 2, 3), joined=(2, 3), seq=11))
    state.apply(quorum(True, (1, 2, 3), seq=11))
    snap = state.snapshot()
    assert snap.quorate is True
    assert snap.quorum_losses == 1 and snap.membership_changes == 2
    assert snap.last_change == 1020.0


def test_a_loss_that_heals_before_anyone_looks_is_counted(state: ClusterState) -> None:
    state.apply(quorum(False, (1, 2, 3), seq=10))
    state.apply(quorum(True, (1, 2, 3), seq=11))
    snap = state.snapshot()
    assert snap.quorate is True and snap.quorum_losses == 1


def test_repeating_the_same_view_changes_nothing(state: ClusterState, clock: Clock) -> None:
    clock.now = 2000.0
    state.apply(quorum(True, (3, 2, 1)))
    state.apply(nodelist((1, 2, 3)))
    snap = state.snapshot()
    assert (snap.membership_changes, snap.quorum_losses, snap.last_change) == (0, 0, None)


def test_votequorum_does_not_double_count_once_the_quorum_service_speaks(
    state: ClusterState,
) -> None:
    """Two connections, no order between them: votequorum's late "inquorate" after the
    quorum service's "quorate again" must not count a second loss."""
    state.apply(quorum(False, (1,), seq=10))
    state.apply(quorum(True, (1, 2, 3), seq=11))
    state.apply(vq.QuorumNotification(quorate=False, context=0, nodes=()))
    state.apply(vq.NodelistNotification(context=0, ring_id=RingId(1, 10), members=(1,)))
    state.apply(vq.QuorumNotification(quorate=True, context=0, nodes=()))
    snap = state.snapshot()
    assert snap.quorum_losses == 1 and snap.membership_changes == 2
    assert snap.quorate is True and snap.members == (1, 2, 3)


def test_without_the_quorum_service_votequorum_drives_quorate_and_members(
    clock: Clock,
) -> None:
    state = ClusterState(clock=clock)
    state.apply(Reachable())
    state.apply(vq.NodelistNotification(context=0, ring_id=RingId(1, 4), members=(1, 2)))
    state.apply(vq.QuorumNotification(quorate=True, context=0, nodes=(
        vq.NodeStatus(1, NodeState.MEMBER), vq.NodeStatus(2, NodeState.MEMBER),
        vq.NodeStatus(3, NodeState.DEAD), vq.NodeStatus(0, NodeState.MEMBER))))
    state.apply(vq.QuorumNotification(quorate=False, context=0, nodes=()))
    snap = state.snapshot()
    assert snap.members == (1, 2) and snap.ring_id == RingId(1, 4)
    assert snap.quorate is False and snap.quorum_losses == 1
    # the qdevice's entry (node id 0) is not a node
    assert dict(snap.node_states) == {1: NodeState.MEMBER, 2: NodeState.MEMBER,
                                      3: NodeState.DEAD}


def test_expected_votes_notification_updates_the_view(state: ClusterState) -> None:
    state.apply(vq.ExpectedVotesNotification(context=0, expected_votes=5))
    view = state.snapshot().votequorum
    assert view is not None and view.expected_votes == 5 and view.quorum == 2


def test_an_expected_votes_notification_before_getinfo_is_dropped(clock: Clock) -> None:
    state = ClusterState(clock=clock)
    state.apply(Reachable())
    state.apply(vq.ExpectedVotesNotification(context=0, expected_votes=5))
    assert state.snapshot().votequorum is None


def test_flags_and_qdevice_come_from_the_local_getinfo(state: ClusterState) -> None:
    flags = (VotequorumInfo.QUORATE | VotequorumInfo.WAIT_FOR_ALL
             | VotequorumInfo.QDEVICE_REGISTERED | VotequorumInfo.QDEVICE_ALIVE
             | VotequorumInfo.QDEVICE_MASTER_WINS)
    state.apply(info(2, flags=VotequorumInfo.TWONODE, expected=9))  # not local: ignored
    state.apply(info(1, local=True, flags=flags, qdevice_votes=2, qdevice_name="Qdevice",
                     total=5, expected=5, highest=5, quorum=3))
    view = state.snapshot().votequorum
    assert view is not None
    assert view.flags == flags
    assert (view.expected_votes, view.total_votes, view.quorum) == (5, 5, 3)
    assert view.qdevice == Qdevice(name="Qdevice", votes=2, alive=True, cast_vote=False,
                                   master_wins=True)


def test_a_failed_getinfo_is_ignored(state: ClusterState) -> None:
    state.apply(info(2, votes=7, error=CsErrorCode.ERR_NOT_EXIST))
    state.apply(info(1, local=True, expected=99, error=CsErrorCode.ERR_TRY_AGAIN))
    snap = state.snapshot()
    assert snap.node_votes[2] == 1
    assert snap.votequorum is not None and snap.votequorum.expected_votes == 3


def test_unreachable_forgets_the_cluster_but_keeps_the_counters(
    state: ClusterState, clock: Clock
) -> None:
    state.apply(quorum(False, (1, 2, 3), seq=10))
    state.apply(Unreachable("gone"))
    snap = state.snapshot()
    assert snap.reachable is False and snap.connection_losses == 1
    assert snap.quorate is None and snap.members is None and snap.votequorum is None
    assert not snap.node_votes and not snap.nodes and not snap.links
    assert snap.quorum_losses == 1 and snap.last_change == 1000.0
    state.apply(Unreachable("still gone"))  # retries while down: one loss only
    assert state.snapshot().connection_losses == 1


def test_what_changed_while_away_is_counted_after_the_reconnect(
    state: ClusterState, clock: Clock
) -> None:
    state.apply(Unreachable())
    clock.now = 1100.0
    state.apply(Reachable())
    state.apply(nodelist((1, 2), left=(3,), seq=12))
    state.apply(quorum(True, (1, 2), seq=12))
    snap = state.snapshot()
    assert snap.membership_changes == 1 and snap.last_change == 1100.0
    state.apply(Unreachable())
    state.apply(Reachable())
    state.apply(quorum(False, (1,), seq=14))
    snap = state.snapshot()
    assert snap.quorum_losses == 1 and snap.membership_changes == 2
    assert snap.connection_losses == 2


def test_the_same_view_after_a_reconnect_is_no_change(state: ClusterState) -> None:
    state.apply(Unreachable())
    state.apply(Reachable())
    state.apply_all(healthy_cluster())
    snap = state.snapshot()
    assert (snap.membership_changes, snap.quorum_losses) == (0, 0)
    assert snap.members == (1, 2, 3) and snap.votequorum is not None


def test_parse_nodelist_names_addresses_and_bad_entries() -> None:
    values = {
        "nodelist.node.0.nodeid": u32(1),
        "nodelist.node.0.name": CmapValue.string("alpha"),
        "nodelist.node.0.ring0_addr": CmapValue.string("10.0.0.1"),
        "nodelist.node.0.ring1_addr": CmapValue.string("10.1.0.1"),
        "nodelist.node.1.nodeid": CmapValue.string("2"),  # a string id still reads
        "nodelist.node.1.ring0_addr": CmapValue.string("10.0.0.2"),
        "nodelist.node.2.ring0_addr": CmapValue.string("10.0.0.3"),  # no nodeid: skipped
        "nodelist.node.3.nodeid": CmapValue.string("x"),  # not a number: skipped
        "nodelist.node.4.nodeid": u32(5),
        "nodelist.node.4.name": u32(5),  # not a string: no name
        "nodelist.local_node_pos": u32(0),
    }
    nodes = parse_nodelist(values)
    assert sorted(nodes) == [1, 2, 5]
    assert nodes[1].name == "alpha" and dict(nodes[1].addresses) == {0: "10.0.0.1",
                                                                      1: "10.1.0.1"}
    assert nodes[2].name is None and dict(nodes[2].addresses) == {0: "10.0.0.2"}
    assert nodes[5].name is None and not nodes[5].addresses
    state = ClusterState()
    state.apply(Reachable())
    state.apply(CmapNodelist(values))
    snap = state.snapshot()
    assert [snap.node_name(n) for n in (1, 2, 5)] == ["alpha", "10.0.0.2", "5"]


def test_parse_knet_links_and_ignored_keys() -> None:
    stats = knet({(2, 0): {"enabled": 1, "connected": 0, "latency_ave": 250,
                           "latency_min": 100, "latency_max": 900, "down_count": 3,
                           "up_count": 4, "mtu": 1397}})
    values = dict(stats.values)
    values["stats.knet.handle.tx_crypt_packets"] = u32(9)
    values["stats.srp.mcast_tx"] = u32(1)
    links = parse_knet(values)
    assert links == {(2, 0): KnetLink(enabled=True, connected=False, latency_min_us=100,
                                      latency_max_us=900, latency_ave_us=250,
                                      down_count=3, up_count=4)}


def test_stats_replace_the_previous_read_and_stamp_it(state: ClusterState, clock: Clock) -> None:
    clock.now = 1234.0
    state.apply(knet({(2, 0): {"connected": 1}, (3, 0): {"connected": 1}}))
    assert set(state.snapshot().links) == {(2, 0), (3, 0)}
    clock.now = 1244.0
    state.apply(KnetStats(knet({(2, 0): {"connected": 1}}).values))
    snap = state.snapshot()
    assert set(snap.links) == {(2, 0)} and snap.stats_time == 1244.0


def test_faulty_links_are_links_down_to_a_member(state: ClusterState) -> None:
    state.apply(cmap_nodelist(1, 2, 3, links=2))
    state.apply(knet({
        (1, 0): {"enabled": 1, "connected": 1}, (1, 1): {"enabled": 1, "connected": 1},
        (2, 0): {"enabled": 1, "connected": 1}, (2, 1): {"enabled": 1, "connected": 0},
        (3, 0): {"enabled": 1, "connected": 1}, (3, 1): {"enabled": 1, "connected": 1},
    }))
    assert state.snapshot().faulty_links() == {1}
    # node 3 leaves: its links going down are a node fault, not a link fault
    state.apply(nodelist((1, 2), left=(3,), seq=10))
    state.apply(knet({(2, 0): {"enabled": 1, "connected": 1},
                      (3, 0): {"enabled": 1, "connected": 0}}))
    assert state.snapshot().faulty_links() == frozenset()


def test_snapshots_are_immutable_values(state: ClusterState) -> None:
    before = state.snapshot()
    state.apply(quorum(False, (1,), seq=10))
    assert before.quorate is True and before.members == (1, 2, 3)
    with pytest.raises(TypeError):
        before.node_votes[1] = 5  # type: ignore[index]


def test_an_unknown_input_is_a_type_error(state: ClusterState) -> None:
    with pytest.raises(TypeError, match="not an exporter input"):
        state.apply("quorate")  # type: ignore[arg-type]

