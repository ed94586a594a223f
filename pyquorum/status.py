"""What ``pyquorum status`` reports, as data, and its two printed forms.

:class:`Status` is one coherent snapshot of a node's view of the cluster:
the quorum service's (quorate, ring id, members), votequorum's (expected
and total votes, quorum, flags, the quorum device, each member's votes)
and cmap's (the quorum provider, this node's id, the nodes' names), all
belonging to one ring.  :mod:`pyquorum.commands.status` reads it
(:func:`pyquorum.commands.status.read_status`); this module only shapes it.

``--json`` is :func:`status_to_dict`, one object with exactly these keys::

    {"quorum_type": "set", "provider": "corosync_votequorum", "quorate": true,
     "node_id": 1, "ring_id": {"nodeid": 1, "seq": 9}, "members": [1, 2, 3],
     "votequorum": {"expected_votes": 3, "highest_expected": 3, "total_votes": 3,
                    "quorum": 2, "flags": ["quorate"], "qdevice": null},
     "nodes": [{"nodeid": 1, "votes": 1, "name": "node1", "local": true}, ...]}

``provider`` and ``votequorum`` are null without a quorum provider, and
also when cmap cannot be asked (a daemon that serves only the quorum
service, such as pyquorum's fake): ``node_id``, the names and the votes are
then null too, and the text form says why in a ``Note:`` line.

The text form (:func:`status_to_text`) has the lines of
``corosync-quorumtool -s`` with the same labels and the same membership
table (Nodeid, Votes, the Qdevice column ``A|NA,V|NV,MW|NMW`` or ``NR``,
Name, ``(local)``, and the quorum device's row), minus its Date line, plus
``Quorum type``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyquorum._frozen import frozen
from pyquorum.messages.constants import QuorumType, VotequorumInfo
from pyquorum.messages.types import RingId

if TYPE_CHECKING:
    from pyquorum._status_dicts import StatusDict, VotequorumDict

__all__ = [
    "FLAG_NAMES",
    "NodeStatus",
    "QdeviceStatus",
    "Status",
    "StatusDict",
    "VotequorumStatus",
    "flag_names",
    "status_to_dict",
    "status_to_json",
    "status_to_text",
]

#: ``--json`` flag names, in printed order, with their bits and quorumtool's words.
FLAG_NAMES: tuple[tuple[VotequorumInfo, str, str], ...] = (
    (VotequorumInfo.TWONODE, "two_node", "2Node"),
    (VotequorumInfo.QUORATE, "quorate", "Quorate"),
    (VotequorumInfo.WAIT_FOR_ALL, "wait_for_all", "WaitForAll"),
    (VotequorumInfo.LAST_MAN_STANDING, "last_man_standing", "LastManStanding"),
    (VotequorumInfo.AUTO_TIE_BREAKER, "auto_tie_breaker", "AutoTieBreaker"),
    (VotequorumInfo.ALLOW_DOWNSCALE, "allow_downscale", "AllowDownscale"),
    (VotequorumInfo.QDEVICE_REGISTERED, "qdevice", "Qdevice"),
)

#: votequorum's node id for the quorum device's row (VOTEQUORUM_QDEVICE_NODEID).
QDEVICE_NODEID = 0


@frozen
class QdeviceStatus:
    """The quorum device registered on this node or another member: its name and
    configured votes, and whether it is alive, casts its vote and has master_wins
    here (False on a node whose corosync-qdevice is not running)."""

    name: str
    votes: int
    alive: bool
    cast_vote: bool
    master_wins: bool


@frozen
class VotequorumStatus:
    """votequorum's numbers for this node (its GETINFO answer)."""

    expected_votes: int
    highest_expected: int
    total_votes: int
    quorum: int
    flags: VotequorumInfo
    qdevice: QdeviceStatus | None


@frozen
class NodeStatus:
    """One member: its votes (None without votequorum), its name from cmap's
    nodelist (None when cmap has none), whether it is this node, and its
    votequorum flags (for the Qdevice column; None without votequorum)."""

    nodeid: int
    votes: int | None
    name: str | None
    local: bool
    flags: VotequorumInfo | None = None


@frozen
class Status:
    """What ``pyquorum status`` reports: one coherent snapshot (see the module docstring).

    ``notes`` says what could not be read (text form only).
    """

    quorum_type: QuorumType | int
    provider: str | None
    quorate: bool
    node_id: int | None
    ring_id: RingId
    members: tuple[int, ...]
    votequorum: VotequorumStatus | None
    nodes: tuple[NodeStatus, ...]
    notes: tuple[str, ...] = ()


#: The TypedDicts of the JSON form, in :mod:`pyquorum._status_dicts`: made the first
#: time they are asked for here, as each of their fields is compiled then (a typing
#: ForwardRef), which cost every ``pyquorum status`` a millisecond or more.
_DICTS = ("NodeDict", "QdeviceDict", "RingIdDict", "StatusDict", "VotequorumDict")


def __getattr__(name: str) -> object:
    if name in _DICTS:
        from pyquorum import _status_dicts

        return getattr(_status_dicts, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def flag_names(flags: VotequorumInfo | int) -> list[str]:
    """The ``--json`` names of the flags set, in :data:`FLAG_NAMES` order."""
    return [name for bit, name, _ in FLAG_NAMES if flags & bit]


def _type_name(quorum_type: QuorumType | int) -> str:
    return quorum_type.name.lower() if isinstance(quorum_type, QuorumType) else str(quorum_type)


def status_to_dict(status: Status) -> StatusDict:
    """The JSON-ready form of a status (key order is the printed order)."""
    vq = status.votequorum
    vq_dict: VotequorumDict | None = None
    if vq is not None:
        qd = vq.qdevice
        vq_dict = {
            "expected_votes": vq.expected_votes,
            "highest_expected": vq.highest_expected,
            "total_votes": vq.total_votes,
            "quorum": vq.quorum,
            "flags": flag_names(vq.flags),
            "qdevice": None if qd is None else {
                "name": qd.name, "votes": qd.votes, "alive": qd.alive,
                "cast_vote": qd.cast_vote, "master_wins": qd.master_wins,
            },
        }
    return {
        "quorum_type": _type_name(status.quorum_type),
        "provider": status.provider,
        "quorate": status.quorate,
        "node_id": status.node_id,
        "ring_id": {"nodeid": status.ring_id.nodeid, "seq": status.ring_id.seq},
        "members": list(status.members),
        "votequorum": vq_dict,
        "nodes": [
            {"nodeid": n.nodeid, "votes": n.votes, "name": n.name, "local": n.local}
            for n in status.nodes
        ],
    }


def status_to_json(status: Status) -> str:
    """One line of JSON (no newline)."""
    import json  # only for --json: the text form needs none of it

    return json.dumps(status_to_dict(status))


def _pad(text: object) -> str:
    """A table cell as corosync-quorumtool prints it: right-aligned in 10, then a space."""
    return f"{text!s:>10} "


def _qdevice_cell(flags: VotequorumInfo | None) -> str:
    if flags is None or not flags & VotequorumInfo.QDEVICE_REGISTERED:
        return "NR"
    return ",".join((
        "A" if flags & VotequorumInfo.QDEVICE_ALIVE else "NA",
        "V" if flags & VotequorumInfo.QDEVICE_CAST_VOTE else "NV",
        "MW" if flags & VotequorumInfo.QDEVICE_MASTER_WINS else "NMW",
    ))


def _provider_text(status: Status) -> str:
    if status.provider is not None:
        return status.provider
    # corosync-quorumtool's words when there is no provider; unknown when cmap was not asked.
    return "Not configured" if status.quorum_type == QuorumType.FREE else "unknown"


def status_to_text(status: Status) -> str:
    """The lines of ``corosync-quorumtool -s`` without its Date (no final newline)."""
    lines = [
        "Quorum information",
        "------------------",
        f"Quorum type:      {_type_name(status.quorum_type)}",
        f"Quorum provider:  {_provider_text(status)}",
        f"Nodes:            {len(status.members)}",
        f"Node ID:          {'unknown' if status.node_id is None else status.node_id}",
        f"Ring ID:          {status.ring_id}",
        f"Quorate:          {'Yes' if status.quorate else 'No'}",
    ]
    vq = status.votequorum
    if vq is not None:
        blocked = "" if vq.flags & VotequorumInfo.QUORATE else " Activity blocked"
        lines += [
            "",
            "Votequorum information",
            "----------------------",
            f"Expected votes:   {vq.expected_votes}",
            f"Highest expected: {vq.highest_expected}",
            f"Total votes:      {vq.total_votes}",
            f"Quorum:           {vq.quorum}{blocked}",
            f"Flags:            {' '.join(word for bit, _, word in FLAG_NAMES if vq.flags & bit)}",
        ]
    lines += ["", "Membership information", "----------------------"]
    show_qdevice = vq is not None and vq.qdevice is not None
    header = _pad("Nodeid")
    if vq is not None:
        header += _pad("Votes") + (_pad("Qdevice") if show_qdevice else "")
    lines.append(header + "Name")
    for node in status.nodes:
        row = _pad(node.nodeid)
        if vq is not None:
            row += _pad("" if node.votes is None else node.votes)
            if show_qdevice:
                row += _pad(_qdevice_cell(node.flags))
        row += node.name or ""
        lines.append(row + (" (local)" if node.local else ""))
    if vq is not None and vq.qdevice is not None:
        # As corosync-quorumtool: the device's votes count only while it casts them here.
        qd = vq.qdevice
        counted = bool(vq.flags & VotequorumInfo.QDEVICE_CAST_VOTE)
        row = _pad(QDEVICE_NODEID) + _pad(qd.votes if counted else 0) + " " * 11 + qd.name
        lines.append(row + ("" if counted else f" (votes {qd.votes})"))
    if status.notes:
        lines.append("")
        lines += [f"Note: {note}" for note in status.notes]
    return "\n".join(lines)

