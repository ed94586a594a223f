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
  ``quorum.*`` keys (u8 1), unless the story's extra keys hold ``quorum.*``
  keys (configuration such as ``quorum.expected_votes`` or
  ``quorum.device.*``): then those are the configuration;
* ``runtime.votequorum.this_node_id``, ``ev_barrier`` (the nodelist's
  votes), ``lowest_node_id``, ``highest_node_id`` (u32, once quorate) and
  ``two_node`` (u8), with a quorum device ``qdevice_can_operate`` and
  ``qdevice_master_wins`` (u8), with wait_for_all ``wait_for_all_status``
  (u8, 0 when quorate), with auto_tie_breaker ``atb_type`` (u32 1), with
  allow_downscale ``ev_tracking_barrier`` (u32);
* ``runtime.members.ID.ip`` (str ``r(0) ip(ADDR) ``),
  ``.join_count`` (u32), ``.status`` (str ``joined``, ``left`` once gone)
  and ``.config_version`` (u64 0) for every node votequorum has known;
* then the story's extra keys, which may override any of these.
"""

from __future__ import annotations

from pyquorum.fake.script import State
from pyquorum.fake.story import Cluster
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
    # The options as corosync.conf would set them, unless the story gives its own
    # configuration keys (a recorded node's: its flags and its configuration differ,
    # e.g. two_node is configured but off with last_man_standing).
    if not any(key.startswith("quorum.") for key, _ in cluster.cmap):
        for option in ("two_node", "wait_for_all", "last_man_standing", "auto_tie_breaker",
                       "allow_downscale"):
            if getattr(vq, option):
                keys[f"quorum.{option}"] = _u8(1)
    runtime = "runtime.votequorum."
    keys[runtime + "this_node_id"] = _u32(cluster.this_node)
    keys[runtime + "two_node"] = _u8(1 if vq.two_node else 0)
    # The configured nodes' votes (the quorum device's not counted), as a live node has it.
    barrier = vq.ev_barrier if vq.ev_barrier is not None else sum(n.votes for n in cluster.nodes)
    keys[runtime + "ev_barrier"] = _u32(barrier)
    if vq.wait_for_all:
        keys[runtime + "wait_for_all_status"] = _u8(0 if state.quorate else 1)
    if vq.auto_tie_breaker:
        keys[runtime + "atb_type"] = _u32(1)  # the lowest node id wins (the default)
    if vq.allow_downscale:
        keys[runtime + "ev_tracking_barrier"] = _u32(barrier)
    # corosync sets these from the configuration: a device configured (its name
    # known, or quorum.device.* among the story's keys), registered or not.
    if vq.qdevice_name or any(k.startswith("quorum.device.") for k, _ in cluster.cmap):
        this = cluster.node(cluster.this_node)
        master_wins = this is not None and this.qdevice is not None and this.qdevice.master_wins
        keys[runtime + "qdevice_can_operate"] = _u8(1)
        keys[runtime + "qdevice_master_wins"] = _u8(1 if master_wins else 0)
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
