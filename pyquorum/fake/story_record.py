"""A story from a running corosync: what a node reports now, as the fake's initial state.

:func:`story_from_node` reads, with pyquorum's own sessions in the calling
thread's network namespace, the snapshot ``pyquorum status`` prints (one
coherent read of quorum, votequorum and cmap, see
:mod:`pyquorum.commands._status`), plus the cmap keys the status does not
keep (cluster name, each node's addresses, each node's own expected votes),
and returns a one-state story.  Served by the fake, it makes
``corosync-quorumtool`` and ``pyquorum status`` print what they print
against that node.  :func:`story_from_snapshot` does the same from data
already read, which is how a recording becomes a story.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from pyquorum.fake.script import Script
from pyquorum.fake.story import Cluster, Node, NodeQdevice, Votequorum
from pyquorum.messages._cmap_values import CmapValue
from pyquorum.messages.constants import QuorumType, VotequorumInfo
from pyquorum.status import Status

__all__ = ["NodeSnapshot", "story_from_node", "story_from_snapshot"]

_NODELIST = re.compile(r"nodelist\.node\.(\d+)\.(\w+)$")
_RING_ADDR = re.compile(r"ring(\d+)_addr$")
_MEMBER_KEY = re.compile(r"runtime\.members\.(\d+)\.")
_LAST_QUORATE_KEYS = ("runtime.votequorum.lowest_node_id", "runtime.votequorum.highest_node_id")


@dataclass(frozen=True, slots=True)
class NodeSnapshot:
    """What a node reported: the status snapshot, its cmap keys (at least
    ``totem.`` and ``nodelist.``), and each known node's own expected votes."""

    status: Status
    cmap: Mapping[str, CmapValue]
    expected_votes: Mapping[int, int]
    #: This node's quorum device as its own GETINFO names it, (name, votes):
    #: configured, registered or not.  The status keeps a device only while one
    #: is registered, but corosync counts a configured device's votes when it
    #: raises expected votes (docs/votequorum.md §3.6).
    device: tuple[str, int] | None = None
    #: The MTU knet reports on this node's first link to another member (cfg's
    #: NODESTATUSGET, docs/cfg.md §3.5); None: not read.
    link_mtu: int | None = None


def story_from_snapshot(
    snapshot: NodeSnapshot, *, extra_keys: Sequence[str] = (), name: str = ""
) -> Script:
    """The one-state story of ``snapshot``; ``extra_keys`` are cmap prefixes whose
    keys the story carries verbatim (beyond those the state implies, and the
    ``quorum.`` configuration, always kept)."""
    status, keys = snapshot.status, snapshot.cmap
    entries: dict[int, dict[str, str | int]] = {}
    for key, value in keys.items():
        m = _NODELIST.match(key)
        if m and isinstance(value.value, str | int):
            entries.setdefault(int(m[1]), {})[m[2]] = value.value
    infos = {n.nodeid: n for n in status.nodes}
    vq = status.votequorum
    this_expected = vq.expected_votes if vq is not None else 0
    nodes: list[Node] = []
    for _pos, entry in sorted(entries.items()):
        nodeid = entry.get("nodeid")
        if not isinstance(nodeid, int):
            continue
        addrs = [
            (int(r[1]), v) for k, v in entry.items()
            if (r := _RING_ADDR.match(k)) and isinstance(v, str)
        ]
        name_value = entry.get("name")
        info = infos.get(nodeid)
        qdevice = None
        if info is not None and info.flags is not None and (
            info.flags & VotequorumInfo.QDEVICE_REGISTERED
        ):
            qdevice = NodeQdevice(
                alive=bool(info.flags & VotequorumInfo.QDEVICE_ALIVE),
                cast_vote=bool(info.flags & VotequorumInfo.QDEVICE_CAST_VOTE),
                master_wins=bool(info.flags & VotequorumInfo.QDEVICE_MASTER_WINS),
            )
        expected = snapshot.expected_votes.get(nodeid)
        nodes.append(Node(
            nodeid,
            name=name_value if isinstance(name_value, str) else None,
            addrs=tuple(a for _, a in sorted(addrs)),
            votes=info.votes if info is not None and info.votes is not None else 1,
            expected_votes=None if expected in (None, this_expected) else expected,
            qdevice=qdevice,
        ))
    votequorum = None
    if vq is not None:
        flags = vq.flags
        votequorum = Votequorum(
            expected_votes=vq.expected_votes,
            highest_expected=vq.highest_expected,
            quorum=vq.quorum,
            two_node=bool(flags & VotequorumInfo.TWONODE),
            wait_for_all=bool(flags & VotequorumInfo.WAIT_FOR_ALL),
            last_man_standing=bool(flags & VotequorumInfo.LAST_MAN_STANDING),
            auto_tie_breaker=bool(flags & VotequorumInfo.AUTO_TIE_BREAKER),
            allow_downscale=bool(flags & VotequorumInfo.ALLOW_DOWNSCALE),
            qdevice_name=vq.qdevice.name if vq.qdevice is not None else "",
            qdevice_votes=vq.qdevice.votes if vq.qdevice is not None else 0,
        )
        if vq.qdevice is None and snapshot.device is not None:
            votequorum = replace(votequorum, qdevice_name=snapshot.device[0],
                                 qdevice_votes=snapshot.device[1])
        barrier = keys.get("runtime.votequorum.ev_barrier")
        if barrier is not None and isinstance(barrier.value, int) and barrier.value != sum(
            n.votes for n in nodes
        ):
            votequorum = replace(votequorum, ev_barrier=barrier.value)
    cluster_name = keys.get("totem.cluster_name")
    this_node = status.node_id if status.node_id is not None else min(status.members, default=1)
    # The node's quorum configuration is kept as it is: its flags alone do not say it.
    prefixes = ("quorum.", *extra_keys)
    kept = {k for k in keys if any(k.startswith(p) for p in prefixes)} - {"quorum.provider"}
    if not status.quorate:
        # Set when the node was last quorate: history a single state does not hold.
        kept |= {k for k in keys if k in _LAST_QUORATE_KEYS}
    extras = tuple((k, v) for k, v in sorted(keys.items()) if k in kept)
    # Every node this one has known (runtime.members.ID.*): the dead ones stay listed.
    known = [*status.members]
    for key in keys:
        m = _MEMBER_KEY.match(key)
        if m and int(m[1]) not in known:
            known.append(int(m[1]))
    mtu = {} if snapshot.link_mtu is None else {"link_mtu": snapshot.link_mtu}
    cluster = Cluster(
        tuple(nodes),
        this_node,
        **mtu,
        cluster_name=cluster_name.value if cluster_name is not None
        and isinstance(cluster_name.value, str) else "pyquorum",
        votequorum=votequorum,
        cmap=extras,
        known=tuple(known),
    )
    quorum_type = status.quorum_type
    return Script.build(
        status.members, status.quorate, status.ring_id, cluster=cluster,
        quorum_type=quorum_type if isinstance(quorum_type, QuorumType) else int(quorum_type),
        name=name,
    )


def story_from_node(
    *, timeout: float = 10.0, extra_keys: Sequence[str] = (), name: str = ""
) -> Script:
    """The story of the corosync serving the calling thread's network namespace now."""
    import contextlib

    from pyquorum import Model
    from pyquorum.commands._status import (
        VOTEQUORUM,
        open_cmap,
        open_votequorum,
        read_facts,
        read_status,
    )
    from pyquorum.errors import CsError
    from pyquorum.services.quorum.session import QuorumSession

    with contextlib.ExitStack() as stack:
        quorum = stack.enter_context(QuorumSession(Model.V1, timeout=timeout))
        cmap, notes = open_cmap(timeout)
        if cmap is None:
            raise ValueError(f"a story needs cmap: {notes[0]}")
        stack.enter_context(cmap)
        facts = read_facts(cmap)
        votequorum = None
        if facts.provider == VOTEQUORUM:
            votequorum = stack.enter_context(open_votequorum(timeout))
        status = read_status(quorum, votequorum, facts, timeout, notes)
        keys = dict(cmap.items(""))
        expected: dict[int, int] = {}
        device = None
        if votequorum is not None:
            this = votequorum.getinfo(0)
            device = (this.qdevice_name, this.qdevice_votes) if this.qdevice_name else None
            for nodeid in status.members:
                with contextlib.suppress(CsError):
                    expected[nodeid] = votequorum.getinfo(nodeid).expected_votes
        others = [n for n in status.members if n != status.node_id]
        link_mtu = _link_mtu(others[0], timeout) if others else None
    return story_from_snapshot(
        NodeSnapshot(status, keys, expected, device, link_mtu), extra_keys=extra_keys,
        name=name,
    )


def _link_mtu(nodeid: int, timeout: float) -> int | None:
    """knet's MTU on the first link to ``nodeid``, asked of cfg; None when cfg does
    not answer it (no cfg service, or no link)."""
    from pyquorum.errors import PyquorumError
    from pyquorum.ipc.client.connection import IpcConnection
    from pyquorum.messages import cfg

    try:
        with IpcConnection.connect("cfg", timeout=timeout) as conn:
            answer = cfg.decode_response(
                conn.request(cfg.encode_request(cfg.NodeStatusGetRequest(nodeid)), timeout))
    except PyquorumError:
        return None
    if not isinstance(answer, cfg.NodeStatusGetResponse) or not answer.links:
        return None
    return answer.links[0].mtu
