"""How ``pyquorum status`` reads one coherent snapshot, with scripted sessions.

The sessions here are plain objects with the methods status calls; each
TRACKSTART(CURRENT) hands out the next scripted view, so a test can make
the membership change between the reads and watch status read again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pyquorum.commands import _status as status_command
from pyquorum.commands._common import Failure
from pyquorum.commands._status import ClusterFacts, read_facts, read_status
from pyquorum.errors import NotExistError
from pyquorum.messages import votequorum as vq
from pyquorum.messages.cmap import CmapValue
from pyquorum.messages.constants import CmapValueType, NodeState, QuorumType, VotequorumInfo
from pyquorum.messages.types import NodelistNotification, QuorumNotification, RingId

Q = VotequorumInfo.QUORATE
FACTS = ClusterFacts("corosync_votequorum", 1, {1: "node1", 2: "node2", 3: "node3"})


class Quorum:
    """The quorum session: each trackstart queues the next (ring seq, members, quorate)."""

    quorum_type = QuorumType.SET

    def __init__(self, *views: tuple[int, tuple[int, ...], bool]) -> None:
        self.views = list(views)
        self.pending: list[object] = []
        self.reads = 0

    def trackstart(self, flags: int, *, timeout: float | None = None) -> None:
        seq, members, quorate = self.views.pop(0) if len(self.views) > 1 else self.views[0]
        self.reads += 1
        ring = RingId(1, seq)
        self.pending = [NodelistNotification(ring, members, (), ()),
                        QuorumNotification(quorate, ring, members)]

    def events(self, timeout: float | None = None) -> Iterator[object]:
        while self.pending:
            yield self.pending.pop(0)


class Votequorum:
    """The votequorum session: views as Quorum's; getinfo answers from the current one."""

    def __init__(self, *views: tuple[int, tuple[int, ...], bool],
                 missing: set[int] | None = None) -> None:
        self.views = list(views)
        self.current = views[0]
        self.pending: list[object] = []
        self.missing = set(missing or ())  # node ids whose next getinfo is NotExist

    def trackstart(self, flags: int, context: int = 0, *, timeout: float | None = None) -> None:
        self.current = self.views.pop(0) if len(self.views) > 1 else self.views[0]
        seq, members, quorate = self.current
        self.pending = [vq.NodelistNotification(0, RingId(1, seq), members),
                        vq.QuorumNotification(quorate, 0, tuple(
                            vq.NodeStatus(n, NodeState.MEMBER) for n in members))]

    def events(self, timeout: float | None = None) -> Iterator[object]:
        while self.pending:
            yield self.pending.pop(0)

    def getinfo(self, nodeid: int = 0, *, timeout: float | None = None) -> vq.GetInfoResponse:
        if nodeid in self.missing:
            self.missing.discard(nodeid)
            raise NotExistError("gone")
        _, members, quorate = self.current
        flags = Q if quorate else VotequorumInfo(0)
        return vq.GetInfoResponse(1, nodeid or 1, NodeState.MEMBER, 1, 3, 3, len(members), 2,
                                  flags, 0, "")


@pytest.fixture(autouse=True)
def _no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status_command, "RETRY_PAUSE", 0)


def read(quorum: Any, votequorum: Any) -> Any:
    return read_status(quorum, votequorum, FACTS, 1.0)


def test_a_settled_cluster_is_read_once() -> None:
    view = (9, (1, 2, 3), True)
    quorum = Quorum(view)
    status = read(quorum, Votequorum(view))
    assert quorum.reads == 2  # before and after the GETINFOs
    assert (status.quorate, status.ring_id, status.members) == (True, RingId(1, 9), (1, 2, 3))
    assert status.votequorum is not None and status.votequorum.total_votes == 3
    assert [(n.nodeid, n.votes, n.name, n.local) for n in status.nodes] == [
        (1, 1, "node1", True), (2, 1, "node2", False), (3, 1, "node3", False)]


def test_a_change_between_the_reads_is_read_again() -> None:
    # Node 3 leaves after the first quorum read: both services then agree on ring 10.
    quorum = Quorum((9, (1, 2, 3), True), (10, (1, 2), True), (10, (1, 2), True))
    votequorum = Votequorum((10, (1, 2), True))
    status = read(quorum, votequorum)
    assert quorum.reads == 4
    assert (status.ring_id.seq, status.members) == (10, (1, 2))
    assert status.votequorum is not None and status.votequorum.total_votes == 2


def test_views_of_different_rings_are_never_printed_together() -> None:
    quorum = Quorum((9, (1, 2, 3), True), (9, (1, 2, 3), True), (10, (1, 2), True))
    votequorum = Votequorum((10, (1, 2), True))  # already on the next ring
    status = read(quorum, votequorum)
    assert (status.ring_id.seq, status.members) == (10, (1, 2))


def test_quorate_must_agree() -> None:
    quorum = Quorum((9, (1, 2, 3), True))
    with pytest.raises(Failure, match=r"disagreed on quorate.*8 tries"):
        read(quorum, Votequorum((9, (1, 2, 3), False)))
    assert quorum.reads == 2 * status_command.ATTEMPTS


def test_a_member_gone_before_its_getinfo_is_read_again() -> None:
    view = (9, (1, 2, 3), True)
    quorum = Quorum(view)
    status = read(quorum, Votequorum(view, missing={3}))
    assert quorum.reads == 4 and status.members == (1, 2, 3)


def test_a_membership_that_never_settles_fails_with_one_line() -> None:
    quorum = Quorum(*[(seq, (1, 2), True) for seq in range(100)])
    with pytest.raises(Failure, match="quorum view changed during the reads") as info:
        read(quorum, Votequorum((1, (1, 2), True)))
    assert "\n" not in str(info.value)


class Cmap:
    def __init__(self, keys: dict[str, int | str]) -> None:
        self.keys = {k: CmapValue(CmapValueType.UINT32 if isinstance(v, int)
                                  else CmapValueType.STRING, v) for k, v in keys.items()}

    def get(self, key: str) -> CmapValue:
        if key not in self.keys:
            raise NotExistError(key)
        return self.keys[key]

    def items(self, prefix: str = "") -> Iterator[tuple[str, CmapValue]]:
        return iter(sorted((k, v) for k, v in self.keys.items() if k.startswith(prefix)))


def test_facts_come_from_cmap_names_first_then_ring0_addr() -> None:
    cmap = Cmap({
        "quorum.provider": "corosync_votequorum",
        "runtime.votequorum.this_node_id": 2,
        "nodelist.local_node_pos": 0,
        "nodelist.node.0.nodeid": 1, "nodelist.node.0.name": "alpha",
        "nodelist.node.0.ring0_addr": "10.0.0.1",
        "nodelist.node.1.nodeid": 2, "nodelist.node.1.ring0_addr": "10.0.0.2",
        "nodelist.node.2.ring0_addr": "10.0.0.3",  # no node id: cannot be named
    })
    assert read_facts(cmap) == ClusterFacts(  # type: ignore[arg-type]
        "corosync_votequorum", 2, {1: "alpha", 2: "10.0.0.2"})


def test_without_votequorum_the_node_id_is_the_local_nodelist_entry() -> None:
    cmap = Cmap({"nodelist.local_node_pos": 1,
                 "nodelist.node.0.nodeid": 4, "nodelist.node.1.nodeid": 7})
    assert read_facts(cmap) == ClusterFacts(None, 7, {})  # type: ignore[arg-type]
