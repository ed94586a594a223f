"""The cmap keys a story's state implies: what a corosync 3.1.7 node would hold.

:func:`cmap_keys` maps one :class:`~pyquorum.fake.script.State` of a story
to the keys of cmap's main map, with the types a live node has (checked
with ``corosync-cmapctl`` on a harness cluster, docs/fake.md §2.2):

* ``totem.cluster_name`` (str);
* ``nodelist.local_node_pos`` (u32, this node's position) and, per nodelist
  entry at position N, ``nodelist.node.N.nodeid`` (u32),
  ``nodelist.node.N.name`` (str, when named) and
  ``nodelist.node.N.ringK_addr`` (str, one per address);
* ``quorum.provider`` = ``corosync_votequorum`` (absent without votequorum),
  and the votequorum options the story turns on as corosync.conf's
  ``quorum.*`` keys (u8 1; ``quorum.expected_votes`` u32 when stated);
* ``runtime.votequorum.this_node_id``, ``ev_barrier``,
  ``lowest_node_id``, ``highest_node_id`` (u32) and ``two_node`` (u8);
* ``runtime.members.ID.ip`` (str ``r(0) ip(ADDR) ``),
  ``.join_count`` (u32), ``.status`` (str ``joined``, ``left`` once gone)
  and ``.config_version`` (u64 0) for every node votequorum has known;
* then the story's extra keys, which may override any of these.
"""

from __future__ import annotations

from pyquorum.fake.script import State
from pyquorum.fake.story import Cluster, cluster_expected, node_expected
from pyquorum.messages._cmap_values import CmapValue
from pyquorum.messages.constants import CmapValueType

__all__ = ["VOTEQUORUM_PROVIDER", "cmap_keys"]

#: ``quorum.provider`` when votequorum is the provider.
VOTEQUORUM_PROVIDER = "corosync_votequorum"


def _u8(value: int) -> CmapValue:
    return CmapValue(CmapValueType.UINT8, value)


def _u32(value: int) -> CmapValue:
    return CmapValue(CmapValueType.UINT32, value)


def _str(value: str) -> CmapValue:
    return CmapValue.string(value)


def cmap_keys(state: State) -> dict[str, CmapValue]:
    """Every key of the main map for ``state`` (which must belong to a story)."""
    cluster = state.cluster
    if cluster is None:
        raise ValueError("cmap keys need a story (a state with a cluster)")
    keys: dict[str, CmapValue] = {"totem.cluster_name": _str(cluster.cluster_name)}
    for pos, node in enumerate(cluster.nodes):
        prefix = f"nodelist.node.{pos}."
        if node.nodeid == cluster.this_node:
            keys["nodelist.local_node_pos"] = _u32(pos)
        if node.name is not None:
            keys[prefix + "name"] = _str(node.name)
        keys[prefix + "nodeid"] = _u32(node.nodeid)
        for ring, addr in enumerate(node.addrs):
            keys[prefix + f"ring{ring}_addr"] = _str(addr)
    _votequorum_keys(keys, cluster, state)
    _member_keys(keys, cluster, state)
    keys.update(cluster.cmap)
    return dict(sorted(keys.items()))


def _votequorum_keys(keys: dict[str, CmapValue], cluster: Cluster, state: State) -> None:
    vq = cluster.votequorum
    if vq is None:
        return
    keys["quorum.provider"] = _str(VOTEQUORUM_PROVIDER)
    for option in ("two_node", "wait_for_all", "last_man_standing", "auto_tie_breaker",
                   "allow_downscale"):
        if getattr(vq, option):
            keys[f"quorum.{option}"] = _u8(1)
    if vq.expected_votes is not None:
        keys["quorum.expected_votes"] = _u32(vq.expected_votes)
    runtime = "runtime.votequorum."
    keys[runtime + "this_node_id"] = _u32(cluster.this_node)
    keys[runtime + "two_node"] = _u8(1 if vq.two_node else 0)
    keys[runtime + "ev_barrier"] = _u32(
        node_expected(cluster, cluster.this_node) if cluster.node(cluster.this_node)
        else cluster_expected(cluster)
    )
    if state.quorate and state.members:
        keys[runtime + "lowest_node_id"] = _u32(min(state.members))
        keys[runtime + "highest_node_id"] = _u32(max(state.members))


def _member_keys(keys: dict[str, CmapValue], cluster: Cluster, state: State) -> None:
    for nodeid in sorted(set(cluster.known) | set(state.members)):
        node = cluster.node(nodeid)
        addrs = node.addrs if node is not None else ()
        prefix = f"runtime.members.{nodeid}."
        keys[prefix + "config_version"] = CmapValue(CmapValueType.UINT64, 0)
        keys[prefix + "ip"] = _str(
            "".join(f"r({i}) ip({a}) " for i, a in enumerate(addrs))
        )
        keys[prefix + "join_count"] = _u32(1)
        keys[prefix + "status"] = _str("joined" if nodeid in state.members else "left")
