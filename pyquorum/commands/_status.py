"""Reading one status snapshot: what ``pyquorum status`` prints, and what
``pyquorum record --status`` records and ``pyquorum replay`` prints again.

:func:`run_status` takes the connections from a ``connect`` callable when
given (a recording one, or one playing a capture back): the same reads,
over whatever carries them, print the same status.

Three services answer it, as they answer the C tool: cmap (the quorum
provider, this node's id, the nodes' names from ``nodelist.node.*``, never
reverse DNS), quorum (quorate, ring id, members) and votequorum (votes,
quorum, flags, the quorum device).  votequorum is asked only when cmap's
``quorum.provider`` is ``corosync_votequorum``, as the C tool does.

**One snapshot.**  The quorum and votequorum views are read, then every
member's GETINFO, then both views again (TRACKSTART CURRENT, whose
notifications come before its answer); the result is printed only when
both reads saw the same ring, the quorum and votequorum views agree on it
(ring id, members, quorate) and no member vanished in between.  A
membership change racing the reads makes it read again, up to
:data:`ATTEMPTS` times, then fail.

**Without cmap.**  A daemon that serves only the quorum service (pyquorum's
fake corosync) has no cmap endpoint: status then prints what the quorum
service says, with provider, votequorum, node id, names and votes null
(``unknown`` in text) and a ``Note:`` line saying why, and exits as usual.
"""

from __future__ import annotations

import argparse
import re
import time
from typing import TYPE_CHECKING

from pyquorum._frozen import frozen
from pyquorum.commands._common import EXIT_NOT_QUORATE, EXIT_OK, Failure, Output

if TYPE_CHECKING:
    from collections.abc import Callable

    from pyquorum import QuorumSession
    from pyquorum.frontend.blocking import Connection
    from pyquorum.messages.types import QuorumNotification
    from pyquorum.messages.votequorum import GetInfoResponse, NodelistNotification
    from pyquorum.services.cmap.session import CmapSession
    from pyquorum.services.votequorum.session import VotequorumSession
    from pyquorum.status import Status

__all__ = [
    "ATTEMPTS",
    "STATUS_MAX_MSG_SIZE",
    "VOTEQUORUM",
    "ClusterFacts",
    "open_cmap",
    "open_votequorum",
    "read_facts",
    "read_status",
    "run_status",
]

#: How many times the snapshot is read while the membership keeps changing under it.
ATTEMPTS = 8
#: The pause between two reads that raced a membership change (seconds).
RETRY_PAUSE = 0.25
#: cmap's ``quorum.provider`` naming votequorum.
VOTEQUORUM = "corosync_votequorum"

#: The max_msg_size status asks for on the quorum, cmap and votequorum
#: connections it opens (``connect`` not given).
#: The daemon makes every channel of a connection that size
#: (docs/protocol.md §2.5): libcmap's 1 MiB cost corosync
#: about 4 ms to set up and 1 ms to tear down per connection on the development
#: VM, 64 KiB about 1.3 and 0.3 ms.  What status receives is far smaller: a
#: votequorum event is 48 + 8 bytes a node (docs/votequorum.md §2.5), a GETINFO
#: answer 320 bytes, a cmap answer 40 bytes plus the value read
#: (docs/cmap.md §3.1), the values being a provider's name, node ids and node
#: names or addresses; a quorum V1 node-list event of corosync's 384 nodes is
#: 4672 bytes (docs/protocol.md §6.4); and its only events are TRACKSTART
#: CURRENT's snapshot.
STATUS_MAX_MSG_SIZE = 65536

_NODELIST_KEY = re.compile(r"nodelist\.node\.(\d+)\.(\w+)$")


@frozen
class ClusterFacts:
    """What cmap says: the provider (None: none configured), this node's id
    (None: unknown) and each node's name (``name``, else ``ring0_addr``)."""

    provider: str | None
    node_id: int | None
    names: dict[int, str]


def read_facts(cmap: CmapSession) -> ClusterFacts:
    """The provider, this node's id and the names, from cmap."""
    from pyquorum.errors import NotExistError

    def get(key: str) -> str | int | None:
        try:
            value = cmap.get(key).value
        except NotExistError:
            return None
        return value if isinstance(value, str | int) else None

    provider = get("quorum.provider")
    this_node = get("runtime.votequorum.this_node_id")
    fields: dict[int, dict[str, str | int]] = {}
    for key, value in cmap.items("nodelist.node."):
        m = _NODELIST_KEY.match(key)
        if m and isinstance(value.value, str | int):
            fields.setdefault(int(m[1]), {})[m[2]] = value.value
    names: dict[int, str] = {}
    ids: dict[int, int] = {}
    for position, entry in fields.items():
        nodeid = entry.get("nodeid")
        if not isinstance(nodeid, int):
            continue
        ids[position] = nodeid
        name = entry.get("name", entry.get("ring0_addr"))
        if isinstance(name, str):
            names[nodeid] = name
    node_id = this_node if isinstance(this_node, int) else None
    if node_id is None:
        # No votequorum: this node is the nodelist entry at nodelist.local_node_pos.
        local_pos = get("nodelist.local_node_pos")
        node_id = ids.get(local_pos) if isinstance(local_pos, int) else None
    return ClusterFacts(provider if isinstance(provider, str) else None, node_id, names)


def _quorum_snapshot(session: QuorumSession, timeout: float | None) -> QuorumNotification:
    """TRACKSTART(CURRENT) on a V1 session: its QUORUM notification carries quorate,
    ring id and members together."""
    from pyquorum import QuorumNotification, Track
    from pyquorum.errors import CsTimeoutError

    session.trackstart(Track.CURRENT, timeout=timeout)
    for event in session.events(timeout=timeout):
        if isinstance(event, QuorumNotification):
            return event
    raise CsTimeoutError(f"status: corosync sent no quorum snapshot within {timeout} s")


def _votequorum_snapshot(
    session: VotequorumSession, timeout: float | None
) -> tuple[NodelistNotification, bool]:
    """votequorum's TRACKSTART(CURRENT): its node list and whether it is quorate."""
    from pyquorum import Track
    from pyquorum.errors import CsTimeoutError
    from pyquorum.messages.votequorum import NodelistNotification, QuorumNotification

    session.trackstart(Track.CURRENT, timeout=timeout)
    nodelist: NodelistNotification | None = None
    quorate: bool | None = None
    for event in session.events(timeout=timeout):
        if isinstance(event, NodelistNotification):
            nodelist = event
        elif isinstance(event, QuorumNotification):
            quorate = bool(event.quorate)
        if nodelist is not None and quorate is not None:
            return nodelist, quorate
    raise CsTimeoutError(f"status: votequorum sent no snapshot within {timeout} s")


def read_status(
    quorum: QuorumSession,
    votequorum: VotequorumSession | None,
    facts: ClusterFacts | None,
    timeout: float | None,
    notes: tuple[str, ...] = (),
) -> Status:
    """One coherent snapshot (see the module docstring); Failure when the
    membership kept changing over :data:`ATTEMPTS` reads."""
    from pyquorum.status import NodeStatus, Status

    names = facts.names if facts is not None else {}
    provider = facts.provider if facts is not None else None
    if votequorum is None:
        q = _quorum_snapshot(quorum, timeout)
        node_id = facts.node_id if facts is not None else None
        nodes = tuple(NodeStatus(n, None, names.get(n), n == node_id) for n in q.members)
        if facts is not None and facts.provider is None and not q.members:
            notes += ("without a quorum provider the quorum service names no members "
                      "(corosync-cmapctl -b runtime.members lists them)",)
        return Status(quorum.quorum_type, provider, bool(q.quorate), node_id, q.ring_id,
                      q.members, None, nodes, notes)
    from pyquorum._deadline import Deadline

    deadline = Deadline(timeout)  # the whole read, retries included, within --timeout
    why = ""
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(deadline.slice(RETRY_PAUSE))
        q = _quorum_snapshot(quorum, deadline.remaining())
        nodelist, vq_quorate = _votequorum_snapshot(votequorum, deadline.remaining())
        infos = _member_infos(votequorum, q.members, deadline.remaining())
        q_after = _quorum_snapshot(quorum, deadline.remaining())
        nodelist_after, _ = _votequorum_snapshot(votequorum, deadline.remaining())
        why = _incoherence(q, q_after, nodelist, nodelist_after, vq_quorate, infos)
        if not why:
            assert infos is not None
            return _build(quorum, q, provider, facts, names, infos, notes)
    raise Failure(
        f"the membership kept changing while status read it ({why}, {ATTEMPTS} tries); "
        "try again once the cluster has settled"
    )


def _member_infos(
    votequorum: VotequorumSession, members: tuple[int, ...], timeout: float | None
) -> dict[int, GetInfoResponse] | None:
    """GETINFO of this node (key 0) and of every member; None if one has gone meanwhile."""
    from pyquorum.errors import NotExistError

    try:
        infos = {0: votequorum.getinfo(0, timeout=timeout)}
        for nodeid in members:
            infos[nodeid] = votequorum.getinfo(nodeid, timeout=timeout)
    except NotExistError:
        return None
    return infos


def _incoherence(
    q: QuorumNotification,
    q_after: QuorumNotification,
    nodelist: NodelistNotification,
    nodelist_after: NodelistNotification,
    vq_quorate: bool,
    infos: dict[int, GetInfoResponse] | None,
) -> str:
    """Why these reads are not one snapshot ("" when they are)."""
    from pyquorum.messages.constants import VotequorumInfo

    if (q.ring_id, q.members, q.quorate) != (q_after.ring_id, q_after.members, q_after.quorate):
        return "the quorum view changed during the reads"
    if (nodelist.ring_id, nodelist.members) != (nodelist_after.ring_id, nodelist_after.members):
        return "votequorum's node list changed during the reads"
    if nodelist.ring_id != q.ring_id or sorted(nodelist.members) != sorted(q.members):
        return "the quorum and votequorum views were of different rings"
    if infos is None:
        return "a member left during the reads"
    local_quorate = bool(infos[0].flags & VotequorumInfo.QUORATE)
    if not bool(q.quorate) == vq_quorate == local_quorate:
        return "quorum and votequorum disagreed on quorate"
    return ""


def _build(
    quorum: QuorumSession,
    q: QuorumNotification,
    provider: str | None,
    facts: ClusterFacts | None,
    names: dict[int, str],
    infos: dict[int, GetInfoResponse],
    notes: tuple[str, ...],
) -> Status:
    from pyquorum.messages.constants import VotequorumInfo as Info
    from pyquorum.status import NodeStatus, QdeviceStatus, Status, VotequorumStatus

    local = infos[0]
    node_id = facts.node_id if facts is not None and facts.node_id is not None else local.nodeid
    flags = Info(local.flags)
    # A device registered on any member is shown, as corosync-quorumtool shows it
    # (its name and votes from a member where it is registered); alive, cast_vote
    # and master_wins are this node's view of it.
    registered = [infos[n] for n in (0, *q.members) if infos[n].flags & Info.QDEVICE_REGISTERED]
    qdevice = None
    if registered:
        qdevice = QdeviceStatus(
            registered[0].qdevice_name, registered[0].qdevice_votes,
            bool(flags & Info.QDEVICE_ALIVE), bool(flags & Info.QDEVICE_CAST_VOTE),
            bool(flags & Info.QDEVICE_MASTER_WINS),
        )
    vq = VotequorumStatus(local.expected_votes, local.highest_expected, local.total_votes,
                          local.quorum, flags, qdevice)
    nodes = tuple(
        NodeStatus(n, infos[n].votes, names.get(n), n == node_id, Info(infos[n].flags))
        for n in q.members
    )
    return Status(quorum.quorum_type, provider, bool(q.quorate), node_id, q.ring_id, q.members,
                  vq, nodes, notes)


def open_cmap(
    timeout: float, connect: Callable[[str], Connection] | None = None
) -> tuple[CmapSession | None, tuple[str, ...]]:
    """A cmap session (over ``connect("cmap")`` when given, else connected with
    :data:`STATUS_MAX_MSG_SIZE`), or None and a note when nothing serves cmap here."""
    from pyquorum.errors import CorosyncNotRunning
    from pyquorum.services.cmap.session import CmapSession

    try:
        connection = connect("cmap") if connect is not None else None
        return CmapSession(timeout=timeout, connection=connection,
                           max_msg_size=STATUS_MAX_MSG_SIZE), ()
    except CorosyncNotRunning:
        return None, (
            "this daemon serves the quorum service but not cmap (pyquorum's fake does "
            "that), so the provider, node id, names and votes are unknown",
        )


def open_votequorum(
    timeout: float, connect: Callable[[str], Connection] | None = None
) -> VotequorumSession:
    """A votequorum session (over ``connect("votequorum")`` when given, else
    connected with :data:`STATUS_MAX_MSG_SIZE`)."""
    from pyquorum.services.votequorum.session import VotequorumSession

    connection = connect("votequorum") if connect is not None else None
    return VotequorumSession(timeout=timeout, connection=connection,
                             max_msg_size=STATUS_MAX_MSG_SIZE)


def run_status(
    args: argparse.Namespace, out: Output, connect: Callable[[str], Connection] | None = None
) -> int:
    """``pyquorum status`` (``args.json``, ``args.timeout``), its sessions over
    ``connect``'s connections when given."""
    import contextlib

    from pyquorum import Model
    from pyquorum.commands._watching import open_session
    from pyquorum.status import status_to_json, status_to_text

    hint = "status needs corosync 3.1 or later (pyquorum watch --model v0 works)"
    with contextlib.ExitStack() as stack:
        first = connect("quorum") if connect is not None else None
        session = stack.enter_context(open_session(Model.V1, args.timeout, hint, first,
                                                   max_msg_size=STATUS_MAX_MSG_SIZE))
        cmap, notes = open_cmap(args.timeout, connect)
        facts = None
        if cmap is not None:
            stack.enter_context(cmap)
            facts = read_facts(cmap)
        votequorum = None
        if facts is not None and facts.provider == VOTEQUORUM:
            votequorum = stack.enter_context(open_votequorum(args.timeout, connect))
        status = read_status(session, votequorum, facts, args.timeout, notes)
    out.line(status_to_json(status) if args.json else status_to_text(status))
    return EXIT_OK if status.quorate else EXIT_NOT_QUORATE
