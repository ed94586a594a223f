"""What a :class:`~pyquorum.exporter.source.Source` feeds into the exporter's state.

The exporter's state never talks to corosync: it is driven by typed values
only.  Most are the services' own decoded messages (the quorum service's
notifications, votequorum's notifications); the few wrappers here add what a
message alone does not say (whether a getinfo answer is about this node) or
bundle a read of several cmap keys into one value (a nodelist or a stats
map read in one go, so that a node or link that is gone disappears).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from pyquorum.messages import votequorum as vq
from pyquorum.messages.cmap import CmapValue
from pyquorum.messages.types import NodelistNotification, QuorumNotification

__all__ = [
    "CmapNodelist",
    "Input",
    "KnetStats",
    "NodeInfo",
    "Reachable",
    "Tracked",
    "Unreachable",
]


def _frozen(values: Mapping[str, CmapValue]) -> Mapping[str, CmapValue]:
    return MappingProxyType(dict(values))


@dataclass(frozen=True, slots=True)
class Reachable:
    """The source is connected and tracking: a new epoch of knowledge starts.

    Everything learnt in an earlier epoch (members, votes, stats) is dropped;
    only the counters and the last quorate/members (to see what changed
    while corosync was away) survive.
    """


@dataclass(frozen=True, slots=True)
class Unreachable:
    """The source lost corosync (or never reached it); ``reason`` is for logs."""

    reason: str = ""


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A votequorum getinfo answer; ``local`` when it was asked for this node (id 0).

    The cluster-wide numbers (expected and total votes, quorum, flags,
    qdevice) are taken from the local answer only; any answer gives its
    node's votes and state.  An answer whose ``error`` is not CS_OK carries
    uninitialised fields (docs/votequorum.md §3, GETINFO) and is ignored.
    """

    info: vq.GetInfoResponse
    local: bool = False


@dataclass(frozen=True)
class CmapNodelist:
    """Every key under ``nodelist.node.`` of cmap's default map, read in one go.

    ``nodelist.node.X.nodeid`` ties entry X to a node id; ``.name``, else
    ``.ring0_addr``, names it; ``.ringN_addr`` is its address on link N.
    """

    values: Mapping[str, CmapValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", _frozen(self.values))


@dataclass(frozen=True)
class KnetStats:
    """Every key under ``stats.knet.`` of cmap's stats map, read in one go.

    The stats map is the one SET_CURRENT_MAP 1 selects (docs/cmap.md §3).

    Per node N and link M: ``stats.knet.nodeN.linkM.{enabled, connected,
    latency_min, latency_max, latency_ave, latency_samples, down_count,
    up_count, ...}``; latencies are in microseconds.  Other keys are ignored.
    """

    values: Mapping[str, CmapValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", _frozen(self.values))


@dataclass(frozen=True)
class Tracked:
    """Which services the source tracks on this connection: name → tracked.

    A corosync that does not serve one of them (votequorum when it is not the
    quorum provider, pyquorum's fake server) still gives the rest; this says
    what is missing, so an absent metric has an explanation.
    """

    services: Mapping[str, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "services", MappingProxyType(dict(self.services)))


#: Every value the state accepts.
Input = (
    QuorumNotification
    | NodelistNotification
    | vq.QuorumNotification
    | vq.NodelistNotification
    | vq.ExpectedVotesNotification
    | NodeInfo
    | CmapNodelist
    | KnetStats
    | Tracked
    | Reachable
    | Unreachable
)
