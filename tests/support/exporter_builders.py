"""Typed inputs for the exporter's tests: a 3-node cluster's messages, built by hand."""

from __future__ import annotations

from pyquorum.errors import CsErrorCode
from pyquorum.exporter.inputs import CmapNodelist, Input, KnetStats, NodeInfo
from pyquorum.messages import votequorum as vq
from pyquorum.messages.cmap import CmapValue
from pyquorum.messages.constants import CmapValueType, NodeState, VotequorumInfo
from pyquorum.messages.types import NodelistNotification, QuorumNotification, RingId


def quorum(quorate: bool, members: tuple[int, ...], seq: int = 9) -> QuorumNotification:
    return QuorumNotification(quorate=quorate, ring_id=RingId(members[0] if members else 1, seq),
                              members=members)


def nodelist(members: tuple[int, ...], joined: tuple[int, ...] = (),
             left: tuple[int, ...] = (), seq: int = 9) -> NodelistNotification:
    return NodelistNotification(ring_id=RingId(members[0], seq), members=members,
                                joined=joined, left=left)


def info(
    nodeid: int, *, local: bool = False, votes: int = 1, expected: int = 3, highest: int = 3,
    total: int = 3, quorum: int = 2, flags: VotequorumInfo = VotequorumInfo.QUORATE,
    qdevice_votes: int = 0, qdevice_name: str = "", error: int = CsErrorCode.OK,
    state: NodeState | int = NodeState.MEMBER,
) -> NodeInfo:
    return NodeInfo(vq.GetInfoResponse(
        error=error, nodeid=nodeid, state=state, votes=votes, expected_votes=expected,
        highest_expected=highest, total_votes=total, quorum=quorum, flags=flags,
        qdevice_votes=qdevice_votes, qdevice_name=qdevice_name,
    ), local=local)


def u32(value: int) -> CmapValue:
    return CmapValue(CmapValueType.UINT32, value)


def u8(value: int) -> CmapValue:
    return CmapValue(CmapValueType.UINT8, value)


def cmap_nodelist(*nodes: int, named: bool = True, links: int = 1) -> CmapNodelist:
    values: dict[str, CmapValue] = {}
    for index, nodeid in enumerate(nodes):
        values[f"nodelist.node.{index}.nodeid"] = u32(nodeid)
        if named:
            values[f"nodelist.node.{index}.name"] = CmapValue.string(f"node{nodeid}")
        for link in range(links):
            values[f"nodelist.node.{index}.ring{link}_addr"] = CmapValue.string(
                f"10.{link}.0.{nodeid}")
    return CmapNodelist(values)


def knet(links: dict[tuple[int, int], dict[str, int]]) -> KnetStats:
    values: dict[str, CmapValue] = {}
    for (nodeid, link), fields in links.items():
        for name, value in fields.items():
            kind = u8 if name in ("enabled", "connected") else u32
            values[f"stats.knet.node{nodeid}.link{link}.{name}"] = kind(value)
    return KnetStats(values)


def healthy_cluster(local: int = 1) -> list[Input]:
    """What a corosync-backed source's connect() gives on node ``local`` of a healthy
    3-node cluster."""
    return [
        nodelist((1, 2, 3)),
        quorum(True, (1, 2, 3)),
        info(local, local=True),
        *(info(n) for n in (1, 2, 3)),
        cmap_nodelist(1, 2, 3),
    ]
