"""The fake's votequorum service through pyquorum's VotequorumSession (docs/votequorum.md §3).

Every answer comes from the story's current state, which the quorum
service's timeline moves: the two services must report the same rings,
members and quorate, and votequorum's SETEXPECTED/SETVOTES change the story.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any

import pytest

from pyquorum import QuorumNotification as QuorumV1Notification
from pyquorum.errors import ExistError, InvalidParamError, NameNotFoundError, NotExistError
from pyquorum.fake import Script, Step
from pyquorum.fake.story import ClusterChange, NodeQdevice
from pyquorum.messages.constants import NodeState, Track, VotequorumInfo
from pyquorum.messages.types import RingId
from pyquorum.messages.votequorum import (
    ExpectedVotesNotification,
    NodelistNotification,
    NodeStatus,
    QuorumNotification,
)
from pyquorum.services.votequorum.session import VotequorumSession
from pyquorum.testing.fake import FakeCorosyncServer
from tests.support.corosync_story import three_nodes
from tests.support.fake import CorosyncFactory

STORY = Script.build([1, 2, 3], True, RingId(1, 8), cluster=three_nodes(), steps=[
    Step(0.05, members=(1, 2)),
    Step(0.10, quorate=False),
    Step(0.15, cluster=ClusterChange.of(votequorum={"expected_votes": 5})),
    Step(0.20, members=(1, 2, 3), quorate=True),
])


def _session(server: FakeCorosyncServer) -> VotequorumSession:
    with server.netns_context():
        return VotequorumSession(timeout=10.0)


def _take(session: Any, count: int, timeout: float = 5.0) -> list[Any]:
    return list(itertools.islice(session.events(timeout=timeout), count))


def _nodes(*pairs: tuple[int, NodeState | int]) -> tuple[NodeStatus, ...]:
    return tuple(NodeStatus(n, s) for n, s in pairs)


M, D = NodeState.MEMBER, NodeState.DEAD


def test_getinfo_of_this_node_and_of_others(corosync: CorosyncFactory, transport: str) -> None:
    server = corosync(Script.build([1, 2], True, RingId(1, 8), cluster=ClusterChange.of(
        nodes={2: {"votes": 2, "expected_votes": 7}}).apply(three_nodes())),
        transport=transport)
    with _session(server) as vq:
        this = vq.getinfo(0)
        assert (this.nodeid, this.state, this.votes, this.expected_votes) == (1, M, 1, 4)
        assert (this.highest_expected, this.total_votes, this.quorum) == (7, 3, 4)
        assert this.flags == VotequorumInfo.QUORATE
        assert vq.getinfo(1) == this
        two = vq.getinfo(2)
        # The asked node's own votes and expected votes; the rest is this node's view.
        assert (two.nodeid, two.votes, two.expected_votes, two.total_votes) == (2, 2, 7, 3)
        with pytest.raises(NotExistError):
            vq.getinfo(3)  # in the nodelist, but never a member: votequorum never heard of it
        with pytest.raises(NotExistError):
            vq.getinfo(99)


def test_trackstart_snapshot_then_every_change(corosync: CorosyncFactory) -> None:
    server = corosync(STORY)
    with _session(server) as vq:
        vq.trackstart(Track.CURRENT | Track.CHANGES, context=77)
        events = _take(vq, 8)
    assert events == [
        NodelistNotification(77, RingId(1, 8), (1, 2, 3)),
        QuorumNotification(True, 77, _nodes((2, M), (3, M), (1, M))),
        # node 3 leaves: a new ring, and votequorum lists it as dead
        NodelistNotification(77, RingId(1, 12), (1, 2)),
        QuorumNotification(True, 77, _nodes((2, M), (3, D), (1, M))),
        QuorumNotification(False, 77, _nodes((2, M), (3, D), (1, M))),
        ExpectedVotesNotification(77, 5),
        NodelistNotification(77, RingId(1, 16), (1, 2, 3)),
        QuorumNotification(True, 77, _nodes((2, M), (3, M), (1, M))),
    ]


def test_the_quorum_service_sees_the_same_rings(corosync: CorosyncFactory) -> None:
    """A quorum watcher and a votequorum tracker of one fake: same rings, same members,
    same quorate, change after change (the cluster-only step reaches votequorum only)."""
    server = corosync(STORY)
    with server.session() as quorum, _session(server) as vq:
        quorum.trackstart(Track.CHANGES_ONLY)
        vq.trackstart(Track.CHANGES_ONLY, context=1)
        server.start_timeline()
        server.wait_finished()
        q_events = [e for e in _take(quorum, 20, timeout=0.5)
                    if isinstance(e, QuorumV1Notification)]
        vq_events = _take(vq, 20, timeout=0.5)
    rings = [n.ring_id for n in vq_events if isinstance(n, NodelistNotification)]
    assert [(e.ring_id, e.members, e.quorate) for e in q_events] == [
        (RingId(1, 12), (1, 2), True), (RingId(1, 12), (1, 2), False),
        (RingId(1, 16), (1, 2, 3), True)]
    assert rings == [RingId(1, 12), RingId(1, 16)]
    vq_quorate = [e.quorate for e in vq_events if isinstance(e, QuorumNotification)]
    assert vq_quorate == [e.quorate for e in q_events]


def test_trackstart_twice_and_trackstop(corosync: CorosyncFactory) -> None:
    server = corosync(STORY)
    with _session(server) as vq:
        with pytest.raises(NotExistError):
            vq.trackstop()
        vq.trackstart(Track.CHANGES, context=5)
        with pytest.raises(ExistError):
            vq.trackstart(Track.CURRENT, context=6)
        # the refused TRACKSTART still queued its snapshot, with its own context
        contexts = [e.context for e in _take(vq, 4)]
        assert contexts == [5, 5, 6, 6]
        vq.trackstop()
        with pytest.raises(NotExistError):
            vq.trackstop()


def test_setexpected(corosync: CorosyncFactory) -> None:
    server = corosync(Script.build([1, 2, 3], True, RingId(1, 8), cluster=three_nodes()))
    with _session(server) as vq:
        vq.trackstart(Track.CHANGES_ONLY, context=3)
        with pytest.raises(InvalidParamError):
            vq.setexpected(2)  # below the 3 votes present
        with pytest.raises(InvalidParamError):
            vq.setexpected(10)  # quorum 6 > 3 votes: a quorate cluster would lose quorum
        vq.setexpected(4)
        assert _take(vq, 1) == [ExpectedVotesNotification(3, 4)]
        info = vq.getinfo(0)
        assert (info.expected_votes, info.highest_expected, info.quorum) == (4, 4, 3)
        vq.setexpected(4)  # the same value: accepted, and the trackers are told again
        assert _take(vq, 1) == [ExpectedVotesNotification(3, 4)]
    cluster = server.call(lambda: server.service.state.cluster)
    assert cluster is not None and cluster.votequorum is not None
    assert cluster.votequorum.expected_votes == 4


def test_setvotes(corosync: CorosyncFactory) -> None:
    server = corosync(Script.build([1, 2, 3], True, RingId(1, 8), cluster=three_nodes()))
    with _session(server) as vq:
        vq.trackstart(Track.CHANGES_ONLY, context=9)
        with pytest.raises(NameNotFoundError):
            vq.setvotes(42, 1)
        vq.setvotes(2, 3)
        # 5 votes present > 3 expected: expected votes follow, and trackers hear it
        assert _take(vq, 1) == [ExpectedVotesNotification(9, 5)]
        assert vq.getinfo(2).votes == 3
        info = vq.getinfo(0)
        assert (info.total_votes, info.expected_votes, info.quorum) == (5, 5, 3)
        # Only this node's expected votes rose; the others keep theirs, as a live
        # 3-node cluster answered (docs/fake.md §2.1).
        two = vq.getinfo(2)
        assert (two.votes, two.expected_votes, two.highest_expected) == (3, 3, 5)
        assert vq.getinfo(3).expected_votes == 3


def test_setvotes_refused_when_quorum_would_exceed_the_votes(corosync: CorosyncFactory) -> None:
    """Expected 10 with 3 votes present: the quorum (6) exceeds the votes whatever one
    node gets, so corosync refuses every SETVOTES that keeps the total below 10."""
    cluster = ClusterChange.of(votequorum={"expected_votes": 10}).apply(three_nodes())
    server = corosync(Script.build([1, 2, 3], False, RingId(1, 8), cluster=cluster))
    with _session(server) as vq:
        with pytest.raises(InvalidParamError):
            vq.setvotes(2, 2)
        assert vq.getinfo(2).votes == 1
        vq.setvotes(2, 8)  # 10 votes present: quorum 6 fits
        assert vq.getinfo(0).total_votes == 10


def _lone_node(**vq: object) -> Script:
    """Node 1 alone of three (2 and 3 known, dead), inquorate."""
    cluster = replace(three_nodes(**vq), known=(1, 2, 3))
    return Script.build([1], False, RingId(1, 12), cluster=cluster)


def test_setexpected_lets_a_lone_node_regain_quorum(corosync: CorosyncFactory) -> None:
    """corosync recalculates after SETEXPECTED (docs/votequorum.md §3.6): quorum 1 of 1
    vote present; the expected-votes event, then a quorum event on both services."""
    server = corosync(_lone_node())
    with server.session() as quorum, _session(server) as vq:
        quorum.trackstart(Track.CHANGES_ONLY)
        vq.trackstart(Track.CHANGES_ONLY, context=5)
        assert not quorum.getquorate()
        vq.setexpected(1)
        assert _take(vq, 2) == [
            ExpectedVotesNotification(5, 1),
            QuorumNotification(True, 5, _nodes((2, D), (3, D), (1, M))),
        ]
        [event] = _take(quorum, 1)
        assert isinstance(event, QuorumV1Notification)
        assert (event.ring_id, event.members, event.quorate) == (RingId(1, 12), (1,), True)
        assert quorum.getquorate()
        info = vq.getinfo(0)
        assert (info.quorum, info.total_votes) == (1, 1)
        assert info.flags & VotequorumInfo.QUORATE


def test_a_configured_device_counts_when_expected_votes_are_raised(
    corosync: CorosyncFactory,
) -> None:
    """A device configured but not registered: corosync raises expected votes to the
    votes present with the device's (2, with its event), so 1 vote stays inquorate;
    two votes for node 1 then make quorum 2 of 2 (as a live node did, docs/votequorum.md §3.6)."""
    server = corosync(_lone_node(qdevice_name="Qdevice", qdevice_votes=1))
    with server.session() as quorum, _session(server) as vq:
        vq.trackstart(Track.CHANGES_ONLY, context=5)
        vq.setexpected(1)
        assert _take(vq, 3, timeout=0.5) == [ExpectedVotesNotification(5, 1),
                                             ExpectedVotesNotification(5, 2)]
        assert not quorum.getquorate()
        vq.setvotes(1, 2)
        assert _take(vq, 2) == [
            ExpectedVotesNotification(5, 3),
            QuorumNotification(True, 5, _nodes((2, D), (3, D), (1, M))),
        ]
        assert quorum.getquorate()


def test_wait_for_all_keeps_waiting_until_every_expected_vote_is_present(
    corosync: CorosyncFactory,
) -> None:
    """Without wait_for_all, 2 of 3 votes would be quorate after the recalculation."""
    cluster = replace(three_nodes(wait_for_all=True), known=(1, 2, 3))
    server = corosync(Script.build([1, 2], False, RingId(1, 12), cluster=cluster))
    with server.session() as quorum, _session(server) as vq:
        vq.trackstart(Track.CHANGES_ONLY, context=5)
        vq.setvotes(2, 1)  # accepted, nothing changes, and corosync recalculates
        assert _take(vq, 1, timeout=0.3) == []
        assert not quorum.getquorate()
        vq.setexpected(2)  # now every expected vote is present
        assert _take(vq, 2) == [ExpectedVotesNotification(5, 2),
                                QuorumNotification(True, 5, _nodes((2, M), (3, D), (1, M)))]
        assert quorum.getquorate()


def test_quorum_device_flags_and_node_zero(corosync: CorosyncFactory) -> None:
    cluster = ClusterChange.of(
        nodes={1: {"qdevice": NodeQdevice(master_wins=True)},
               2: {"qdevice": NodeQdevice(alive=True, cast_vote=False)}},
        votequorum={"qdevice_name": "Qdevice", "qdevice_votes": 2},
    ).apply(three_nodes())
    server = corosync(Script.build([1, 2, 3], True, RingId(1, 8), cluster=cluster))
    q = VotequorumInfo
    with _session(server) as vq:
        this = vq.getinfo(0)
        assert this.flags == (q.QUORATE | q.QDEVICE_REGISTERED | q.QDEVICE_ALIVE
                              | q.QDEVICE_CAST_VOTE | q.QDEVICE_MASTER_WINS)
        assert (this.qdevice_name, this.qdevice_votes, this.total_votes) == ("Qdevice", 2, 5)
        two = vq.getinfo(2)
        assert two.flags == q.QUORATE | q.QDEVICE_REGISTERED | q.QDEVICE_ALIVE
        assert two.total_votes == 3  # the device does not vote on node 2
        assert vq.getinfo(3).flags == q.QUORATE
        vq.trackstart(Track.CURRENT)
        events = _take(vq, 2)
    assert events[1] == QuorumNotification(True, 0, _nodes((2, M), (3, M), (1, M), (0, 0)))


def test_unknown_and_malformed_requests(corosync: CorosyncFactory) -> None:
    """The quorum device's calls (ids 5-9) and any other id: the 24-byte STATUS with
    CS_ERR_INVALID_PARAM; the connection stays usable (docs/votequorum.md §3.5)."""
    from pyquorum.messages.votequorum import StatusResponse, encode_response

    server = corosync(STORY)
    answers: list[bytes] = []

    class Conn:
        closed = False
        data: object = None

        def send_response(self, raw: bytes) -> None:
            answers.append(raw)

    service = server.corosync.votequorum
    assert service is not None
    for raw in (
        (5).to_bytes(4, "little") + b"\0" * 4 + (16).to_bytes(4, "little") + b"\0" * 4,
        (42).to_bytes(4, "little") + b"\0" * 4 + (16).to_bytes(4, "little") + b"\0" * 4,
        b"\x01\x02",
    ):
        server.call(lambda raw=raw: service.request(Conn(), raw))  # type: ignore[arg-type,misc]
    invalid = encode_response(StatusResponse(7))
    assert answers == [invalid, invalid, invalid]
    with _session(server) as vq:
        assert vq.getinfo(0).nodeid == 1
