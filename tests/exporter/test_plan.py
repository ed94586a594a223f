"""ReadPlanner: what a corosync-backed source reads after each notification."""

from __future__ import annotations

from pyquorum.exporter.plan import GetInfo, ReadKnetStats, ReadNodelist, ReadPlanner
from pyquorum.messages import votequorum as vq
from pyquorum.messages.constants import NodeState
from pyquorum.messages.types import RingId
from tests.support.exporter_builders import healthy_cluster, info, nodelist, quorum

LOCAL = GetInfo(0)


def test_after_connect_every_member_then_the_nodelist() -> None:
    planner = ReadPlanner()
    assert planner.after_connect(healthy_cluster()) == [
        LOCAL, GetInfo(1), GetInfo(2), GetInfo(3), ReadNodelist()]


def test_a_membership_change_reads_the_members_votes() -> None:
    planner = ReadPlanner()
    planner.after_connect([quorum(True, (1, 2, 3))])
    assert planner.after(nodelist((1, 2), left=(3,), seq=10)) == [LOCAL, GetInfo(1), GetInfo(2)]
    # the quorum notification of the same ring: members already known, nothing more
    assert planner.after(quorum(True, (1, 2), seq=10)) == []
    # a quorum notification with other members (no nodelist tracked): read
    assert planner.after(quorum(True, (1, 2, 4), seq=11)) == [
        LOCAL, GetInfo(1), GetInfo(2), GetInfo(4)]


def test_votequorum_notifications() -> None:
    planner = ReadPlanner()
    planner.after_connect([quorum(True, (2, 1))])
    assert planner.after(vq.ExpectedVotesNotification(context=0, expected_votes=5)) == [LOCAL]
    assert planner.after(vq.QuorumNotification(
        quorate=True, context=0, nodes=(vq.NodeStatus(0, NodeState.MEMBER),))) == [
        LOCAL, GetInfo(1), GetInfo(2)]
    assert planner.after(vq.NodelistNotification(
        context=0, ring_id=RingId(1, 12), members=(3, 1, 0))) == [
        LOCAL, GetInfo(1), GetInfo(3)]  # no getinfo for id 0 as a member: that is the local id


def test_answers_need_no_reads() -> None:
    planner = ReadPlanner()
    planner.after_connect(healthy_cluster())
    assert planner.after(info(2)) == []


def test_cmap_changes() -> None:
    assert ReadPlanner.after_cmap_change("nodelist.node.3.name") == [ReadNodelist()]
    assert ReadPlanner.after_cmap_change("totem.token") == []


def test_refresh_reads_stats_and_every_members_info() -> None:
    planner = ReadPlanner()
    planner.after_connect([quorum(True, (1, 3))])
    assert planner.refresh() == [ReadKnetStats(), LOCAL, GetInfo(1), GetInfo(3)]
