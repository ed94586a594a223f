"""What a story adds to a script: the cluster behind votequorum, cmap and cfg.

A version-1 script (:mod:`pyquorum.fake.script`) only knows what the quorum
service shows: members, quorate, ring id.  A story (script version 2) also
gives every state a :class:`Cluster`: the nodelist (each node's name,
addresses, votes, its own expected votes and whether a quorum device is
registered on it), this node's id, the cluster name, votequorum's
configuration (expected votes, the flags, the quorum device's name and
votes; ``None`` for a cluster without a quorum provider) and any extra cmap
keys.  A step may change any of it with a :class:`ClusterChange`.

Everything votequorum, cmap and cfg answer is *derived* from one state here
(:func:`node_info`, :func:`vq_members`), so the services never disagree
with the quorum service: they read the same state at the same moment.  The
numbers follow corosync 3.1.7's votequorum (docs/votequorum.md §3.1,
docs/fake.md §2.1):
total votes are the members' votes plus the quorum device's when it casts
its vote on the node asked about; highest expected is the members' largest
expected votes; quorum is the larger of ``(highest_expected + 2) // 2`` and
``(total_votes + 2) // 2`` (1 for a two_node cluster of at most two
voters), unless the story states it.  The QUORATE flag is the state's
``quorate``: the story says whether the cluster is quorate, and nothing
here second-guesses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from pyquorum.messages._cmap_values import CmapValue
from pyquorum.messages.constants import NodeState, VotequorumInfo

__all__ = [
    "NODE_FIELDS",
    "VOTEQUORUM_FIELDS",
    "Cluster",
    "ClusterChange",
    "Node",
    "NodeInfo",
    "NodeQdevice",
    "ScriptError",
    "Votequorum",
    "default_cluster",
    "node_info",
    "vq_members",
]


class ScriptError(ValueError):
    """A script or story that cannot be read or served; the file reader names the line."""


@dataclass(frozen=True, slots=True)
class NodeQdevice:
    """A quorum device registered on one node: whether it is alive there, casts its
    vote there and has master_wins (the ``A|NA,V|NV,MW|NMW`` cell of quorumtool -p)."""

    alive: bool = True
    cast_vote: bool = True
    master_wins: bool = False


@dataclass(frozen=True, slots=True)
class Node:
    """One nodelist entry.  ``expected_votes`` None: the cluster's;
    ``qdevice`` None: no quorum device registered on that node (``NR``)."""

    nodeid: int
    name: str | None = None
    addrs: tuple[str, ...] = ()
    votes: int = 1
    expected_votes: int | None = None
    qdevice: NodeQdevice | None = None


@dataclass(frozen=True, slots=True)
class Votequorum:
    """votequorum's configuration and numbers; None fields are derived (module docstring).

    ``qdevice_name`` empty: no quorum device configured.
    """

    expected_votes: int | None = None
    highest_expected: int | None = None
    quorum: int | None = None
    two_node: bool = False
    wait_for_all: bool = False
    last_man_standing: bool = False
    auto_tie_breaker: bool = False
    allow_downscale: bool = False
    qdevice_name: str = ""
    qdevice_votes: int = 0
    #: cmap's runtime.votequorum.ev_barrier; None: the nodelist's votes (what
    #: corosync starts with; a SETEXPECTED moves it, docs/fake.md §2.2).
    ev_barrier: int | None = None


def _frozen_items(value: Mapping[Any, Any] | tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(value.items()) if isinstance(value, Mapping) else tuple(value)


@dataclass(frozen=True, slots=True)
class Cluster:
    """Everything but the quorum view, at one moment.

    ``known`` are the nodes votequorum has heard of (members and earlier
    members, which it lists as dead); it grows as steps bring members in.
    ``cmap`` holds the story's extra keys (``(key, value)`` pairs; a
    mapping is accepted).  ``link_mtu`` is the MTU knet reports on the links
    to other nodes (cfg's NODESTATUSGET; 1446 over a 1500-byte network
    without crypto).
    """

    nodes: tuple[Node, ...]
    this_node: int
    cluster_name: str = "pyquorum"
    votequorum: Votequorum | None = field(default_factory=Votequorum)
    cmap: tuple[tuple[str, CmapValue], ...] = ()
    known: tuple[int, ...] = ()
    link_mtu: int = 1446

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "cmap", _frozen_items(self.cmap))
        object.__setattr__(self, "known", tuple(self.known))
        ids = [n.nodeid for n in self.nodes]
        if len(set(ids)) != len(ids):
            raise ScriptError(f"node ids must be unique in the nodelist: {ids}")

    def node(self, nodeid: int) -> Node | None:
        for node in self.nodes:
            if node.nodeid == nodeid:
                return node
        return None

    @property
    def extra_keys(self) -> dict[str, CmapValue]:
        return dict(self.cmap)


#: What a step may change of a node, and of votequorum.
NODE_FIELDS = frozenset(f.name for f in fields(Node)) - {"nodeid"}
VOTEQUORUM_FIELDS = frozenset(f.name for f in fields(Votequorum))


@dataclass(frozen=True, slots=True)
class ClusterChange:
    """What a step changes besides the quorum view.

    ``nodes``: per node id, the fields to change (a new id adds a node);
    ``remove_nodes``: ids leaving the nodelist; ``votequorum``: fields of
    :class:`Votequorum` to change; ``cmap``: extra keys to set (None deletes).
    Mappings are accepted and kept as sorted pairs.
    """

    nodes: tuple[tuple[int, tuple[tuple[str, Any], ...]], ...] = ()
    remove_nodes: tuple[int, ...] = ()
    votequorum: tuple[tuple[str, Any], ...] = ()
    cmap: tuple[tuple[str, CmapValue | None], ...] = ()

    def __post_init__(self) -> None:
        nodes = self.nodes.items() if isinstance(self.nodes, Mapping) else self.nodes
        frozen = tuple((int(i), _frozen_items(f)) for i, f in nodes)
        for nodeid, changes in frozen:
            bad = sorted({k for k, _ in changes} - NODE_FIELDS)
            if bad:
                raise ScriptError(f"node {nodeid}: unknown field(s) {', '.join(bad)}")
        object.__setattr__(self, "nodes", frozen)
        object.__setattr__(self, "remove_nodes", tuple(self.remove_nodes))
        vq = _frozen_items(self.votequorum)
        bad = sorted({k for k, _ in vq} - VOTEQUORUM_FIELDS)
        if bad:
            raise ScriptError(f"votequorum: unknown field(s) {', '.join(bad)}")
        object.__setattr__(self, "votequorum", vq)
        object.__setattr__(self, "cmap", _frozen_items(self.cmap))

    @classmethod
    def of(
        cls,
        nodes: Mapping[int, Mapping[str, Any]] | None = None,
        remove_nodes: tuple[int, ...] = (),
        votequorum: Mapping[str, Any] | None = None,
        cmap: Mapping[str, CmapValue | None] | None = None,
    ) -> ClusterChange:
        """A change from mappings: ``ClusterChange.of(nodes={2: {"votes": 2}},
        votequorum={"expected_votes": 4})``."""
        return cls(
            nodes=tuple((i, tuple(f.items())) for i, f in (nodes or {}).items()),
            remove_nodes=tuple(remove_nodes),
            votequorum=tuple((votequorum or {}).items()),
            cmap=tuple((cmap or {}).items()),
        )

    def __bool__(self) -> bool:
        return bool(self.nodes or self.remove_nodes or self.votequorum or self.cmap)

    def apply(self, before: Cluster) -> Cluster:
        nodes = [n for n in before.nodes if n.nodeid not in self.remove_nodes]
        for nodeid, changes in self.nodes:
            index = next((i for i, n in enumerate(nodes) if n.nodeid == nodeid), None)
            if index is None:
                nodes.append(replace(Node(nodeid), **dict(changes)))
            else:
                nodes[index] = replace(nodes[index], **dict(changes))
        vq = before.votequorum
        if self.votequorum:
            if vq is None:
                raise ScriptError("votequorum changes need a story with votequorum")
            vq = replace(vq, **dict(self.votequorum))
        keys = dict(before.cmap)
        for key, value in self.cmap:
            if value is None:
                keys.pop(key, None)
            else:
                keys[key] = value
        return replace(before, nodes=tuple(nodes), votequorum=vq, cmap=tuple(keys.items()))


def default_cluster(members: tuple[int, ...], all_ids: tuple[int, ...]) -> Cluster:
    """The cluster a version-1 script implies: every node id the script names, called
    ``nodeN`` at 192.0.2.N (a documentation address), one vote each; this node
    is the lowest initial member."""
    ids = sorted(set(all_ids) | set(members))
    nodes = tuple(
        Node(i, f"node{i}", (f"192.0.2.{i}",) if 0 < i < 255 else ()) for i in ids
    )
    return Cluster(nodes, min(members, default=ids[0] if ids else 1), known=members)


def joined_known(cluster: Cluster, members: tuple[int, ...]) -> Cluster:
    """``cluster`` with ``members`` added to the nodes votequorum knows."""
    known = cluster.known + tuple(m for m in members if m not in cluster.known)
    return cluster if known == cluster.known else replace(cluster, known=known)


# -- what votequorum derives -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A GETINFO answer's fields (docs/votequorum.md §2.3)."""

    nodeid: int
    state: NodeState | int
    votes: int
    expected_votes: int
    highest_expected: int
    total_votes: int
    quorum: int
    flags: VotequorumInfo
    qdevice_votes: int
    qdevice_name: str


def node_votes(cluster: Cluster, nodeid: int) -> int:
    node = cluster.node(nodeid)
    return node.votes if node is not None else 1


def cluster_expected(cluster: Cluster) -> int:
    """The cluster's expected votes: stated, else every nodelist vote plus the device's."""
    vq = cluster.votequorum or Votequorum()
    if vq.expected_votes is not None:
        return vq.expected_votes
    return sum(n.votes for n in cluster.nodes) + vq.qdevice_votes


def node_expected(cluster: Cluster, nodeid: int) -> int:
    node = cluster.node(nodeid)
    if node is not None and node.expected_votes is not None:
        return node.expected_votes
    return cluster_expected(cluster)


def _casts(cluster: Cluster, nodeid: int) -> bool:
    node = cluster.node(nodeid)
    return node is not None and node.qdevice is not None and node.qdevice.cast_vote


def node_info(
    cluster: Cluster, members: tuple[int, ...], quorate: bool, nodeid: int
) -> NodeInfo | None:
    """votequorum's GETINFO of ``nodeid`` (0: this node); None when votequorum does not
    know that node (CS_ERR_NOT_EXIST)."""
    vq = cluster.votequorum or Votequorum()
    if nodeid == 0:
        nodeid = cluster.this_node
    if nodeid not in members and nodeid not in cluster.known:
        return None
    total = sum(node_votes(cluster, m) for m in members)
    if _casts(cluster, nodeid):
        total += vq.qdevice_votes
    highest = vq.highest_expected
    if highest is None:
        highest = max((node_expected(cluster, m) for m in members), default=0)
    quorum = vq.quorum
    if quorum is None:
        this_total = sum(node_votes(cluster, m) for m in members)
        voters = len(members)
        if _casts(cluster, cluster.this_node):
            this_total += vq.qdevice_votes
            voters += 1
        quorum = max((highest + 2) // 2, (this_total + 2) // 2)
        if vq.two_node and voters <= 2:
            quorum = 1
    flags = VotequorumInfo(0)
    for on, bit in (
        (vq.two_node, VotequorumInfo.TWONODE),
        (quorate, VotequorumInfo.QUORATE),
        (vq.wait_for_all, VotequorumInfo.WAIT_FOR_ALL),
        (vq.last_man_standing, VotequorumInfo.LAST_MAN_STANDING),
        (vq.auto_tie_breaker, VotequorumInfo.AUTO_TIE_BREAKER),
        (vq.allow_downscale, VotequorumInfo.ALLOW_DOWNSCALE),
    ):
        if on:
            flags |= bit
    node = cluster.node(nodeid)
    if node is not None and node.qdevice is not None:
        flags |= VotequorumInfo.QDEVICE_REGISTERED
        if node.qdevice.alive:
            flags |= VotequorumInfo.QDEVICE_ALIVE
        if node.qdevice.cast_vote:
            flags |= VotequorumInfo.QDEVICE_CAST_VOTE
        if node.qdevice.master_wins:
            flags |= VotequorumInfo.QDEVICE_MASTER_WINS
    return NodeInfo(
        nodeid=nodeid,
        state=NodeState.MEMBER if nodeid in members else NodeState.DEAD,
        votes=node_votes(cluster, nodeid),
        expected_votes=node_expected(cluster, nodeid),
        highest_expected=highest,
        total_votes=total,
        quorum=quorum,
        flags=flags,
        qdevice_votes=vq.qdevice_votes,
        qdevice_name=vq.qdevice_name,
    )


def vq_members(cluster: Cluster, members: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """votequorum's quorum event node list, ``(nodeid, state)``, in corosync's order
    (docs/votequorum.md §3.4): every other node it knows (members, and earlier
    members as dead) by ascending id, then this node, then the quorum device
    (node 0) when it is registered on this node, with state 0 whether alive or
    not: corosync sends a device entry's state, which it never sets."""
    present = set(members)
    known = (set(cluster.known) | present) - {cluster.this_node}
    listed = [(n, int(NodeState.MEMBER if n in present else NodeState.DEAD))
              for n in sorted(known)]
    if cluster.this_node in present:
        listed.append((cluster.this_node, int(NodeState.MEMBER)))
    this = cluster.node(cluster.this_node)
    if this is not None and this.qdevice is not None:
        listed.append((0, 0))
    return tuple(listed)
