"""Which reads a corosync-backed source owes after each notification (sans-I/O).

Notifications alone do not keep the picture complete: votequorum's
notifications carry no votes and no expected/total votes, a node's votes can
change (``corosync-quorumtool -v``) with no notification at all, and a
nodelist change in cmap says only which key changed.  :class:`ReadPlanner`
tells the source what to read after each input, and what the periodic
refresh reads, so the source itself only performs reads:

* a new member list (quorum or votequorum nodelist, or quorum notification
  with other members): getinfo for this node and for every member;
* a votequorum quorum notification: the same (quorate, flags and votes may
  have moved);
* an expected-votes notification: getinfo for this node;
* a change under ``nodelist.`` in cmap: the nodelist again;
* the periodic refresh: the knet stats, and getinfo for this node and every
  member, which repairs what no notification announced.

Each plan is ordered and free of duplicates; getinfo for this node (id 0)
comes first, as its answer tells the state which node is local.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyquorum.exporter.inputs import Input
from pyquorum.messages import votequorum as vq
from pyquorum.messages.types import NodelistNotification, QuorumNotification

__all__ = ["GetInfo", "Read", "ReadKnetStats", "ReadNodelist", "ReadPlanner"]


@dataclass(frozen=True, slots=True)
class GetInfo:
    """votequorum getinfo for ``nodeid``; 0 is this node (answer with ``local=True``)."""

    nodeid: int


@dataclass(frozen=True, slots=True)
class ReadNodelist:
    """Read every key under ``nodelist.node.`` (a :class:`~.inputs.CmapNodelist`)."""


@dataclass(frozen=True, slots=True)
class ReadKnetStats:
    """Read every key under ``stats.knet.`` of the stats map (a :class:`~.inputs.KnetStats`)."""


Read = GetInfo | ReadNodelist | ReadKnetStats

_LOCAL = GetInfo(0)


class ReadPlanner:
    """Remembers the member list to plan getinfo reads; one per connection."""

    def __init__(self) -> None:
        self.members: tuple[int, ...] = ()

    def _infos(self) -> list[Read]:
        return [_LOCAL, *(GetInfo(n) for n in self.members if n != 0)]

    def after_connect(self, inputs: list[Input] | tuple[Input, ...]) -> list[Read]:
        """The reads that complete a first picture (tracking already started)."""
        for item in inputs:
            self._note_members(item)
        return [*self._infos(), ReadNodelist()]

    def _note_members(self, item: Input) -> bool:
        if isinstance(item, QuorumNotification | NodelistNotification | vq.NodelistNotification):
            members = tuple(sorted(set(item.members)))
            changed = members != self.members
            self.members = members
            return changed
        return False

    def after(self, item: Input) -> list[Read]:
        """The reads owed after ``item`` arrived."""
        changed = self._note_members(item)
        if isinstance(item, NodelistNotification | vq.NodelistNotification) or (
            isinstance(item, QuorumNotification) and changed
        ):
            return self._infos()
        if isinstance(item, vq.QuorumNotification):
            return self._infos()
        if isinstance(item, vq.ExpectedVotesNotification):
            return [_LOCAL]
        return []

    @staticmethod
    def after_cmap_change(key: str) -> list[Read]:
        """The reads owed after a tracked cmap key changed."""
        return [ReadNodelist()] if key.startswith("nodelist.") else []

    def refresh(self) -> list[Read]:
        """The periodic reads."""
        return [ReadKnetStats(), *self._infos()]
