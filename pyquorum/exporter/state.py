"""The exporter's picture of the cluster: a sans-I/O state fed typed inputs.

:class:`ClusterState` is the only thing a scrape reads, and it reads a
frozen :class:`ClusterSnapshot` taken under a short lock, so a scrape never
waits on corosync.  Inputs (:mod:`pyquorum.exporter.inputs`) come from a
source on another thread; :meth:`ClusterState.apply` folds each one in.

Why one authority for quorate and members: the quorum service and
votequorum both announce a quorum change, on two connections with no order
between them.  Taking both would let an old "inquorate" from one arrive
after a fresh "quorate" from the other and count one loss twice.  So once a
quorum-service notification has been seen in an epoch, votequorum's quorate
and member list are ignored (votequorum's node states and votes are still
used); without the quorum service, votequorum's notifications drive both.

Counters never go back: a quorum loss counts at the notification that
reports it, so a loss that heals before the next scrape is still seen.
Across a lost connection the last quorate and member list are kept, so the
first view after reconnecting is compared with the last one before.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from dataclasses import replace as _replace
from types import MappingProxyType

from pyquorum.errors import CsErrorCode
from pyquorum.exporter.inputs import (
    CmapNodelist,
    Input,
    KnetStats,
    NodeInfo,
    Reachable,
    Tracked,
    Unreachable,
)
from pyquorum.messages import votequorum as vq
from pyquorum.messages.cmap import CmapValue
from pyquorum.messages.constants import NodeState, VotequorumInfo
from pyquorum.messages.types import NodelistNotification, QuorumNotification, RingId

__all__ = [
    "FLAG_NAMES",
    "ClusterSnapshot",
    "ClusterState",
    "KnetLink",
    "NodeConfig",
    "Qdevice",
    "Votequorum",
]

#: The votequorum flags, named and ordered as ``pyquorum status --json`` names them.
FLAG_NAMES: tuple[tuple[str, VotequorumInfo], ...] = (
    ("two_node", VotequorumInfo.TWONODE),
    ("quorate", VotequorumInfo.QUORATE),
    ("wait_for_all", VotequorumInfo.WAIT_FOR_ALL),
    ("last_man_standing", VotequorumInfo.LAST_MAN_STANDING),
    ("auto_tie_breaker", VotequorumInfo.AUTO_TIE_BREAKER),
    ("allow_downscale", VotequorumInfo.ALLOW_DOWNSCALE),
    ("qdevice", VotequorumInfo.QDEVICE_REGISTERED),
)

_NODELIST_KEY = re.compile(r"nodelist\.node\.(\d+)\.(nodeid|name|ring(\d+)_addr)")
_KNET_KEY = re.compile(r"stats\.knet\.node(\d+)\.link(\d+)\.([a-z_]+)")
_KNET_FIELDS = frozenset(
    ("enabled", "connected", "latency_min", "latency_max", "latency_ave",
     "latency_samples", "down_count", "up_count")
)


@dataclass(frozen=True, slots=True)
class Qdevice:
    """The registered quorum device, from the local getinfo answer."""

    name: str
    votes: int
    alive: bool
    cast_vote: bool
    master_wins: bool


@dataclass(frozen=True, slots=True)
class Votequorum:
    """The cluster-wide votequorum numbers, from the local getinfo answer."""

    expected_votes: int
    highest_expected: int
    total_votes: int
    quorum: int
    flags: VotequorumInfo
    qdevice: Qdevice | None


@dataclass(frozen=True, slots=True)
class NodeConfig:
    """One ``nodelist.node.X`` entry of cmap: its name and its address per link."""

    nodeid: int
    name: str | None
    addresses: Mapping[int, str]


@dataclass(frozen=True, slots=True)
class KnetLink:
    """``stats.knet.nodeN.linkM.*``: the fields the exporter uses; None when absent."""

    enabled: bool | None = None
    connected: bool | None = None
    latency_min_us: int | None = None
    latency_max_us: int | None = None
    latency_ave_us: int | None = None
    latency_samples: int | None = None
    down_count: int | None = None
    up_count: int | None = None


@dataclass(frozen=True)
class ClusterSnapshot:
    """What one scrape reports: immutable, taken under the state's lock.

    While corosync is not reachable, the epoch fields are empty (None or
    empty maps) and only ``reachable``, the counters and ``last_change``
    carry values.  ``seen`` is every node that was a member since corosync
    was last reached, so a node that left is still listed (as not a member).
    """

    reachable: bool = False
    quorate: bool | None = None
    ring_id: RingId | None = None
    members: tuple[int, ...] | None = None
    seen: frozenset[int] = frozenset()
    local_nodeid: int | None = None
    votequorum: Votequorum | None = None
    node_votes: Mapping[int, int] = field(default_factory=dict)
    node_states: Mapping[int, NodeState | int] = field(default_factory=dict)
    nodes: Mapping[int, NodeConfig] = field(default_factory=dict)
    links: Mapping[tuple[int, int], KnetLink] = field(default_factory=dict)
    stats_time: float | None = None
    tracked: Mapping[str, bool] = field(default_factory=dict)
    membership_changes: int = 0
    quorum_losses: int = 0
    connection_losses: int = 0
    last_change: float | None = None

    def node_name(self, nodeid: int) -> str:
        """The name cmap's nodelist gives (``name``, else ``ring0_addr``), else the id."""
        config = self.nodes.get(nodeid)
        if config is not None:
            if config.name:
                return config.name
            if 0 in config.addresses:
                return config.addresses[0]
        return str(nodeid)

    def faulty_links(self) -> frozenset[int]:
        """This node's links that fail a member another link still reaches.

        A link is faulty when some other current member has it enabled and
        not connected: the node is in the membership, so it is the link
        that is down, not the node.  A node that left is not a link fault.
        """
        if self.members is None or self.local_nodeid is None:
            return frozenset()
        others = set(self.members) - {self.local_nodeid}
        return frozenset(
            link for (nodeid, link), stats in self.links.items()
            if nodeid in others and stats.enabled and stats.connected is False
        )


def _int(value: CmapValue | None) -> int | None:
    if value is None:
        return None
    raw = value.value
    if isinstance(raw, bool):
        return int(raw)
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    return None


def _str(value: CmapValue | None) -> str | None:
    if value is None or not isinstance(value.value, str):
        return None
    return value.value


def parse_nodelist(values: Mapping[str, CmapValue]) -> dict[int, NodeConfig]:
    """``nodelist.node.X.*`` keys → node id → :class:`NodeConfig`.

    An entry without a usable ``nodeid`` is skipped (corosync 3 requires one
    with knet); a non-string name or address is ignored.
    """
    entries: dict[str, dict[str, CmapValue]] = {}
    for key, value in values.items():
        match = _NODELIST_KEY.fullmatch(key)
        if match:
            entries.setdefault(match.group(1), {})[match.group(2)] = value
    nodes: dict[int, NodeConfig] = {}
    for fields in entries.values():
        nodeid = _int(fields.get("nodeid"))
        if nodeid is None:
            continue
        addresses: dict[int, str] = {}
        for name, value in fields.items():
            match = re.fullmatch(r"ring(\d+)_addr", name)
            address = _str(value)
            if match and address is not None:
                addresses[int(match.group(1))] = address
        nodes[nodeid] = NodeConfig(
            nodeid, _str(fields.get("name")), MappingProxyType(dict(sorted(addresses.items())))
        )
    return nodes


def parse_knet(values: Mapping[str, CmapValue]) -> dict[tuple[int, int], KnetLink]:
    """``stats.knet.nodeN.linkM.*`` keys → ``(N, M)`` → :class:`KnetLink`."""
    raw: dict[tuple[int, int], dict[str, int]] = {}
    for key, value in values.items():
        match = _KNET_KEY.fullmatch(key)
        if not match or match.group(3) not in _KNET_FIELDS:
            continue
        number = _int(value)
        if number is not None:
            raw.setdefault((int(match.group(1)), int(match.group(2))), {})[match.group(3)] = number
    links: dict[tuple[int, int], KnetLink] = {}
    for where, fields in sorted(raw.items()):
        links[where] = KnetLink(
            enabled=None if "enabled" not in fields else bool(fields["enabled"]),
            connected=None if "connected" not in fields else bool(fields["connected"]),
            latency_min_us=fields.get("latency_min"),
            latency_max_us=fields.get("latency_max"),
            latency_ave_us=fields.get("latency_ave"),
            latency_samples=fields.get("latency_samples"),
            down_count=fields.get("down_count"),
            up_count=fields.get("up_count"),
        )
    return links


class ClusterState:
    """Folds inputs into a snapshot; thread-safe, never blocks on anything but its lock.

    ``clock`` gives wall-clock seconds (``time.time``): it stamps the last
    change and the last stats refresh, which are exported as timestamps.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot = ClusterSnapshot()
        # What survives an epoch: to compare the first view after a reconnect.
        self._last_quorate: bool | None = None
        self._last_members: frozenset[int] | None = None
        self._quorum_service_seen = False

    def snapshot(self) -> ClusterSnapshot:
        """The current picture; immutable, so the caller may read it at leisure."""
        with self._lock:
            return self._snapshot

    def apply(self, item: Input) -> None:
        """Fold one input in.  Unknown types raise TypeError (a source bug)."""
        with self._lock:
            self._snapshot = self._next(self._snapshot, item)

    def apply_all(self, items: tuple[Input, ...] | list[Input]) -> None:
        for item in items:
            self.apply(item)

    # ------------------------------------------------------------------ rules

    def _next(self, snap: ClusterSnapshot, item: Input) -> ClusterSnapshot:
        now = self._clock()
        if isinstance(item, Reachable):
            self._quorum_service_seen = False
            return _new_epoch(snap, reachable=True, connection_losses=snap.connection_losses)
        if isinstance(item, Unreachable):
            losses = snap.connection_losses + (1 if snap.reachable else 0)
            self._quorum_service_seen = False
            return _new_epoch(snap, reachable=False, connection_losses=losses)
        if isinstance(item, QuorumNotification):
            self._quorum_service_seen = True
            snap = self._quorate(snap, item.quorate, now)
            return self._members(snap, item.members, item.ring_id, now)
        if isinstance(item, NodelistNotification):
            self._quorum_service_seen = True
            return self._members(snap, item.members, item.ring_id, now)
        if isinstance(item, vq.QuorumNotification):
            states = dict(snap.node_states)
            states.update((n.nodeid, n.state) for n in item.nodes if n.nodeid != 0)
            snap = _replace(snap, node_states=MappingProxyType(states))
            if self._quorum_service_seen:
                return snap
            return self._quorate(snap, item.quorate, now)
        if isinstance(item, vq.NodelistNotification):
            if self._quorum_service_seen:
                return snap
            return self._members(snap, item.members, item.ring_id, now)
        if isinstance(item, vq.ExpectedVotesNotification):
            if snap.votequorum is None:
                return snap
            return _replace(
                snap, votequorum=_replace(snap.votequorum, expected_votes=item.expected_votes)
            )
        if isinstance(item, NodeInfo):
            return self._node_info(snap, item)
        if isinstance(item, CmapNodelist):
            return _replace(snap, nodes=MappingProxyType(parse_nodelist(item.values)))
        if isinstance(item, Tracked):
            return _replace(snap, tracked=item.services)
        if isinstance(item, KnetStats):
            return _replace(snap, links=MappingProxyType(parse_knet(item.values)), stats_time=now)
        raise TypeError(f"not an exporter input: {type(item).__name__}")

    def _quorate(self, snap: ClusterSnapshot, quorate: bool, now: float) -> ClusterSnapshot:
        quorate = bool(quorate)
        losses, last_change = snap.quorum_losses, snap.last_change
        if self._last_quorate is not None and quorate != self._last_quorate:
            last_change = now
            if not quorate:
                losses += 1
        self._last_quorate = quorate
        return _replace(snap, quorate=quorate, quorum_losses=losses, last_change=last_change)

    def _members(
        self, snap: ClusterSnapshot, members: tuple[int, ...], ring_id: RingId, now: float
    ) -> ClusterSnapshot:
        current = frozenset(members)
        changes, last_change = snap.membership_changes, snap.last_change
        if self._last_members is not None and current != self._last_members:
            changes += 1
            last_change = now
        self._last_members = current
        return _replace(
            snap, members=tuple(sorted(current)), seen=snap.seen | current, ring_id=ring_id,
            membership_changes=changes, last_change=last_change,
        )

    @staticmethod
    def _node_info(snap: ClusterSnapshot, item: NodeInfo) -> ClusterSnapshot:
        info = item.info
        if info.error != CsErrorCode.OK:
            return snap
        votes = dict(snap.node_votes)
        votes[info.nodeid] = info.votes
        states = dict(snap.node_states)
        states[info.nodeid] = info.state
        snap = _replace(
            snap, node_votes=MappingProxyType(votes), node_states=MappingProxyType(states)
        )
        if not item.local:
            return snap
        flags = VotequorumInfo(info.flags)
        qdevice = None
        if flags & VotequorumInfo.QDEVICE_REGISTERED:
            qdevice = Qdevice(
                name=info.qdevice_name,
                votes=info.qdevice_votes,
                alive=bool(flags & VotequorumInfo.QDEVICE_ALIVE),
                cast_vote=bool(flags & VotequorumInfo.QDEVICE_CAST_VOTE),
                master_wins=bool(flags & VotequorumInfo.QDEVICE_MASTER_WINS),
            )
        return _replace(
            snap,
            local_nodeid=info.nodeid,
            votequorum=Votequorum(
                expected_votes=info.expected_votes,
                highest_expected=info.highest_expected,
                total_votes=info.total_votes,
                quorum=info.quorum,
                flags=flags,
                qdevice=qdevice,
            ),
        )


def _new_epoch(
    snap: ClusterSnapshot, *, reachable: bool, connection_losses: int
) -> ClusterSnapshot:
    """Nothing known of the cluster; the counters and the last change carry over."""
    return ClusterSnapshot(
        reachable=reachable,
        membership_changes=snap.membership_changes,
        quorum_losses=snap.quorum_losses,
        connection_losses=connection_losses,
        last_change=snap.last_change,
    )
