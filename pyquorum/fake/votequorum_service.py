"""corosync's votequorum service, as a libqb service handler playing a story.

It follows corosync 3.1.7's votequorum (docs/votequorum.md §3, and
docs/fake.md §2.1 for what it derives and how SETVOTES validates), reading
every answer from the story's current state (:mod:`pyquorum.fake.story`),
which the quorum service's timeline moves on (:class:`Timeline`): the two
services never disagree about rings, members or quorate.

* GETINFO: the asked node's votes and expected votes, this node's view of
  total votes, highest expected, quorum and flags (docs/votequorum.md §3.1); node id 0 is this
  node; a node votequorum never heard of answers CS_ERR_NOT_EXIST with the
  fields zeroed; a node that left is listed with state 2 (dead);
* SETEXPECTED: refuses (CS_ERR_INVALID_PARAM) a value below the total
  votes or one that would make a quorate cluster inquorate (docs/votequorum.md §3.2), else
  makes it every member's expected votes and tells every tracker, even
  when the value did not change; then recalculates as corosync does
  (docs/votequorum.md §3.6): so an inquorate cluster told to expect
  fewer votes regains quorum, with a quorum event on both services;
* SETVOTES: CS_ERR_NAME_NOT_FOUND for an unknown node (docs/votequorum.md §3.5),
  CS_ERR_INVALID_PARAM when the new quorum would exceed the total votes or
  fall below half of them, else the node's votes change and it
  recalculates as after SETEXPECTED;
* TRACKSTART with CURRENT or CHANGES queues a nodelist then a quorum event
  before the answer; again answers CS_ERR_EXIST (events still queued);
  TRACKSTOP answers CS_ERR_NOT_EXIST when not tracking (docs/votequorum.md §3.3);
* anything else (the quorum device's calls, unknown ids, undecodable bytes)
  gets the 24-byte STATUS answer with CS_ERR_INVALID_PARAM (docs/votequorum.md §3.5);
* a membership change goes to trackers as nodelist then quorum event, a
  quorate change as a quorum event, a change of this node's expected votes
  as an expected-votes event; each carries the tracker's context.

Every method runs on the server's loop thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from pyquorum.errors import CsErrorCode, RemoteProtocolError
from pyquorum.fake.script import Change, Script, State, Step
from pyquorum.fake.story import (
    Cluster,
    ClusterChange,
    ScriptError,
    Votequorum,
    cluster_expected,
    node_expected,
    node_info,
    node_votes,
    vq_members,
)
from pyquorum.ipc.server.connection import ServerConnection
from pyquorum.messages.constants import Track, VotequorumInfo
from pyquorum.messages.votequorum import (
    ExpectedVotesNotification,
    GetInfoRequest,
    GetInfoResponse,
    NodelistNotification,
    NodeStatus,
    Notification,
    QuorumNotification,
    Request,
    Response,
    SetExpectedRequest,
    SetVotesRequest,
    StatusResponse,
    TrackStartRequest,
    TrackStopRequest,
    decode_request,
    encode_notification,
    encode_response,
)

__all__ = ["Timeline", "VotequorumClient", "VotequorumService"]

log = logging.getLogger("pyquorum.fake")

_OK = CsErrorCode.OK
_SNAPSHOT_FLAGS = Track.CURRENT | Track.CHANGES
_SUBSCRIBE_FLAGS = Track.CHANGES | Track.CHANGES_ONLY


class Timeline(Protocol):
    """Who plays the story (the fake's quorum service): its current state, its
    script, a way to start it and to apply a change now (telling every service)."""

    state: State
    script: Script

    def start_timeline(self) -> None: ...

    def apply(self, step: Step) -> Change: ...


@dataclass(slots=True)
class VotequorumClient:
    """votequorum's per-connection data (corosync's ``quorum_pd``)."""

    tracking: bool = False
    flags: int = 0
    context: int = 0


class VotequorumService:
    """Serves votequorum from ``timeline``'s story; add :meth:`publish` to the
    timeline's observers and :meth:`bind` nothing: it answers through connections."""

    def __init__(self, timeline: Timeline) -> None:
        if timeline.state.cluster is None:
            raise ScriptError("votequorum needs a story (a script whose states have a cluster)")
        self.timeline = timeline
        self.clients: dict[int, ServerConnection] = {}
        #: How many requests were handled.
        self.requests_handled = 0

    @property
    def state(self) -> State:
        return self.timeline.state

    @property
    def cluster(self) -> Cluster:
        cluster = self.timeline.state.cluster
        assert cluster is not None
        return cluster

    # -- ServiceHandler -----------------------------------------------------------------------

    def connected(self, conn: ServerConnection) -> None:
        conn.data = VotequorumClient()
        self.clients[conn.id] = conn

    def disconnected(self, conn: ServerConnection) -> None:
        self.clients.pop(conn.id, None)

    def request(self, conn: ServerConnection, data: bytes) -> None:
        if conn.closed:
            return
        self.requests_handled += 1
        try:
            request = decode_request(data)
        except RemoteProtocolError as exc:
            log.info("votequorum: answering an undecodable request with the generic error: %s",
                     exc)
            self.respond(conn, StatusResponse(CsErrorCode.ERR_INVALID_PARAM))
            return
        self.respond(conn, self.answer(conn, _client(conn), request))

    def answer(self, conn: ServerConnection, client: VotequorumClient,
               request: Request) -> Response:
        """The response to ``request``, after queuing any events it causes."""
        if isinstance(request, GetInfoRequest):
            return self.getinfo(request.nodeid)
        if isinstance(request, SetExpectedRequest):
            return StatusResponse(self.set_expected(request.expected_votes))
        if isinstance(request, SetVotesRequest):
            return StatusResponse(self.set_votes(request.nodeid, request.votes))
        if isinstance(request, TrackStartRequest):
            return self._trackstart(conn, client, int(request.flags) & 0xFF, request.context)
        if isinstance(request, TrackStopRequest):
            if not client.tracking:
                return StatusResponse(CsErrorCode.ERR_NOT_EXIST)
            client.tracking = False
            return StatusResponse(_OK)
        return StatusResponse(CsErrorCode.ERR_INVALID_PARAM)

    # -- requests -------------------------------------------------------------------------

    def getinfo(self, nodeid: int) -> GetInfoResponse:
        state = self.state
        info = node_info(self.cluster, state.members, state.quorate, nodeid)
        if info is None:
            return GetInfoResponse(CsErrorCode.ERR_NOT_EXIST, 0, 0, 0, 0, 0, 0, 0,
                                   VotequorumInfo(0), 0, "")
        return GetInfoResponse(
            _OK, info.nodeid, info.state, info.votes, info.expected_votes,
            info.highest_expected, info.total_votes, info.quorum, info.flags,
            info.qdevice_votes, info.qdevice_name,
        )

    def _this_info(self) -> tuple[int, int]:
        """This node's (total votes, highest expected) right now."""
        info = node_info(self.cluster, self.state.members, self.state.quorate, 0)
        assert info is not None
        return info.total_votes, info.highest_expected

    def set_expected(self, expected: int) -> CsErrorCode:
        total, _ = self._this_info()
        newquorum = max((expected + 2) // 2, (total + 2) // 2)
        if expected < total or (self.state.quorate and newquorum > total):
            return CsErrorCode.ERR_INVALID_PARAM
        members = set(self.state.members)
        change = ClusterChange(
            nodes=tuple((n.nodeid, (("expected_votes", None),))
                        for n in self.cluster.nodes if n.nodeid in members),
            votequorum=(("expected_votes", expected), ("highest_expected", None),
                        ("quorum", None), ("ev_barrier", expected)),
        )
        applied = self.timeline.apply(Step(0.0, cluster=change))
        if not applied.expected_changed:
            # corosync tells the trackers even when the value stays (docs/votequorum.md §3.2).
            self.notify_expected()
        self._recalculate()
        return _OK

    def _recalculate(self) -> None:
        """What corosync does after a change of votes or expected votes
        (docs/votequorum.md §3.6): this node's expected votes rise to the votes
        present, a configured quorum device's counted whether or not it casts
        them (with an expected-votes event; the other nodes keep theirs); then
        quorate is decided anew: the quorum (counting the device only while it
        casts) at most the total votes, except that wait_for_all keeps an
        inquorate cluster inquorate until every expected vote is present.  A
        quorate change is a quorum-only step: a quorum event on both services."""
        cluster, state = self.cluster, self.state
        vq = cluster.votequorum or Votequorum()
        present = sum(node_votes(cluster, m) for m in state.members) + vq.qdevice_votes
        if present > node_expected(cluster, cluster.this_node):
            self.timeline.apply(Step(0.0, cluster=ClusterChange.of(
                nodes={cluster.this_node: {"expected_votes": present}},
                votequorum={"expected_votes": cluster_expected(cluster), "quorum": None,
                            "highest_expected": None},
            )))
        info = node_info(self.cluster, state.members, state.quorate, 0)
        assert info is not None
        quorate = info.quorum <= info.total_votes
        if (quorate and not state.quorate and vq.wait_for_all
                and info.total_votes != info.expected_votes):
            quorate = False
        if quorate != state.quorate:
            self.timeline.apply(Step(0.0, quorate=quorate))

    def set_votes(self, nodeid: int, votes: int) -> CsErrorCode:
        cluster, state = self.cluster, self.state
        if node_info(cluster, state.members, state.quorate, nodeid) is None:
            return CsErrorCode.ERR_NAME_NOT_FOUND
        trial = ClusterChange(
            nodes=((nodeid, (("votes", votes),)),), votequorum=(("quorum", None),)
        )
        after = trial.apply(cluster)
        info = node_info(after, state.members, state.quorate, 0)
        assert info is not None
        newquorum = max((info.highest_expected + 2) // 2, (info.total_votes + 2) // 2)
        if newquorum < info.total_votes // 2 or newquorum > info.total_votes:
            return CsErrorCode.ERR_INVALID_PARAM
        # The cluster's expected votes stay what they were: stated, or derived now
        # (a derived value would follow the new votes).
        self.timeline.apply(Step(0.0, cluster=ClusterChange.of(
            nodes={nodeid: {"votes": votes}},
            votequorum={"expected_votes": cluster_expected(cluster), "quorum": None,
                        "highest_expected": None},
        )))
        self._recalculate()
        return _OK

    def _trackstart(self, conn: ServerConnection, client: VotequorumClient, flags: int,
                    context: int) -> Response:
        if flags & _SNAPSHOT_FLAGS:
            self.send(conn, self._nodelist(context))
            self.send(conn, self._quorum(context))
        if client.tracking:
            return StatusResponse(CsErrorCode.ERR_EXIST)
        if flags & _SUBSCRIBE_FLAGS:
            client.tracking = True
            client.flags = flags
            client.context = context
            if self.timeline.script.start == "track":
                self.timeline.start_timeline()
        return StatusResponse(_OK)

    # -- events ------------------------------------------------------------------------------

    def _nodelist(self, context: int) -> NodelistNotification:
        return NodelistNotification(context, self.state.ring_id, self.state.members)

    def _quorum(self, context: int) -> QuorumNotification:
        nodes = tuple(NodeStatus(n, s) for n, s in vq_members(self.cluster, self.state.members))
        return QuorumNotification(self.state.quorate, context, nodes)

    def _expected(self, context: int) -> ExpectedVotesNotification:
        return ExpectedVotesNotification(context, node_expected(self.cluster,
                                                                self.cluster.this_node))

    def publish(self, change: Change) -> None:
        """Tell the trackers about ``change`` (a timeline observer)."""
        for conn, client in self._trackers():
            if change.membership:
                self.send(conn, self._nodelist(client.context))
            if change.membership or change.quorum_view:
                self.send(conn, self._quorum(client.context))
            if change.expected_changed:
                self.send(conn, self._expected(client.context))

    def notify_expected(self) -> None:
        for conn, client in self._trackers():
            self.send(conn, self._expected(client.context))

    def _trackers(self) -> list[tuple[ServerConnection, VotequorumClient]]:
        out = []
        for conn in list(self.clients.values()):
            client = _client(conn)
            if client.tracking and not conn.closed:
                out.append((conn, client))
        return out

    def respond(self, conn: ServerConnection, response: Response) -> None:
        conn.send_response(encode_response(response))

    def send(self, conn: ServerConnection, event: Notification) -> None:
        conn.send_event(encode_notification(event))


def _client(conn: ServerConnection) -> VotequorumClient:
    data = conn.data
    if not isinstance(data, VotequorumClient):
        data = conn.data = VotequorumClient()
    return data
