"""``pyquorum status``'s two forms: the exact ``--json`` shape, and text with
corosync-quorumtool's lines (compared with the tool's real output, recorded
from Debian 12's corosync 3.1.7 on the test clusters)."""

from __future__ import annotations

import json

import pytest

from pyquorum.messages.constants import QuorumType, VotequorumInfo
from pyquorum.messages.types import RingId
from pyquorum.status import (
    NodeStatus,
    QdeviceStatus,
    Status,
    VotequorumStatus,
    flag_names,
    status_to_dict,
    status_to_json,
    status_to_text,
)

Q = VotequorumInfo.QUORATE
RING = RingId(1, 9)
QD = (VotequorumInfo.QDEVICE_REGISTERED | VotequorumInfo.QDEVICE_ALIVE
      | VotequorumInfo.QDEVICE_CAST_VOTE)


def three_nodes(vq: VotequorumStatus, quorate: bool = True, node_flags: VotequorumInfo = Q,
                ring: RingId = RING) -> Status:
    nodes = tuple(NodeStatus(n, 1, f"node{n}", n == 1, node_flags) for n in (1, 2, 3))
    return Status(QuorumType.SET, "corosync_votequorum", quorate, 1, ring, (1, 2, 3), vq, nodes)


def test_json_is_exactly_the_documented_object() -> None:
    status = three_nodes(VotequorumStatus(3, 3, 3, 2, Q, None))
    assert status_to_json(status) == (
        '{"quorum_type": "set", "provider": "corosync_votequorum", "quorate": true, '
        '"node_id": 1, "ring_id": {"nodeid": 1, "seq": 9}, "members": [1, 2, 3], '
        '"votequorum": {"expected_votes": 3, "highest_expected": 3, "total_votes": 3, '
        '"quorum": 2, "flags": ["quorate"], "qdevice": null}, '
        '"nodes": [{"nodeid": 1, "votes": 1, "name": "node1", "local": true}, '
        '{"nodeid": 2, "votes": 1, "name": "node2", "local": false}, '
        '{"nodeid": 3, "votes": 1, "name": "node3", "local": false}]}'
    )


def test_flag_names_in_order_and_qdevice_object() -> None:
    every = VotequorumInfo(0x3FF)
    assert flag_names(every) == ["two_node", "quorate", "wait_for_all", "last_man_standing",
                                 "auto_tie_breaker", "allow_downscale", "qdevice"]
    assert flag_names(VotequorumInfo(0)) == []
    qdevice = QdeviceStatus("Qdevice", 1, True, False, True)
    status = three_nodes(VotequorumStatus(4, 4, 3, 3, Q | QD, qdevice))
    assert status_to_dict(status)["votequorum"] == {
        "expected_votes": 4, "highest_expected": 4, "total_votes": 3, "quorum": 3,
        "flags": ["quorate", "qdevice"],
        "qdevice": {"name": "Qdevice", "votes": 1, "alive": True, "cast_vote": False,
                    "master_wins": True},
    }


def test_without_provider_or_cmap_the_unknowns_are_null() -> None:
    nodes = (NodeStatus(1, None, None, False), NodeStatus(2, None, None, False))
    status = Status(QuorumType.SET, None, True, None, RingId(1, 8), (1, 2), None, nodes,
                    ("no cmap here",))
    assert json.loads(status_to_json(status)) == {
        "quorum_type": "set", "provider": None, "quorate": True, "node_id": None,
        "ring_id": {"nodeid": 1, "seq": 8}, "members": [1, 2], "votequorum": None,
        "nodes": [{"nodeid": 1, "votes": None, "name": None, "local": False},
                  {"nodeid": 2, "votes": None, "name": None, "local": False}],
    }
    text = status_to_text(status)
    assert "Quorum provider:  unknown\n" in text and "Node ID:          unknown\n" in text
    assert "Votequorum" not in text
    assert text.endswith("    Nodeid Name\n         1 \n         2 \n\nNote: no cmap here")
    free = Status(QuorumType.FREE, None, True, 1, RingId(1, 8), (1,), None,
                  (NodeStatus(1, None, "node1", True),))
    assert "Quorum type:      free\nQuorum provider:  Not configured\n" in status_to_text(free)
    assert status_to_dict(Status(5, None, True, 1, RingId(1, 8), (), None, ()))[
        "quorum_type"] == "5"


#: corosync-quorumtool -s on node 1 of a healthy 3-node test cluster (its Date line and
#: trailing spaces dropped).
QUORUMTOOL_HEALTHY = """\
Quorum information
------------------
Quorum provider:  corosync_votequorum
Nodes:            3
Node ID:          1
Ring ID:          1.d
Quorate:          Yes

Votequorum information
----------------------
Expected votes:   3
Highest expected: 3
Total votes:      3
Quorum:           2
Flags:            Quorate

Membership information
----------------------
    Nodeid      Votes Name
         1          1 node1 (local)
         2          1 node2
         3          1 node3
"""

#: The same with a quorum device (ffsplit, 1 vote), all alive and voting.
QUORUMTOOL_QDEVICE = """\
Quorum information
------------------
Quorum provider:  corosync_votequorum
Nodes:            3
Node ID:          1
Ring ID:          1.9
Quorate:          Yes

Votequorum information
----------------------
Expected votes:   4
Highest expected: 4
Total votes:      4
Quorum:           3
Flags:            Quorate Qdevice

Membership information
----------------------
    Nodeid      Votes    Qdevice Name
         1          1    A,V,NMW node1 (local)
         2          1    A,V,NMW node2
         3          1    A,V,NMW node3
         0          1            Qdevice
"""


def _ours(status: Status) -> list[str]:
    """Our text without the line quorumtool does not print."""
    return [line for line in status_to_text(status).splitlines()
            if not line.startswith("Quorum type:")]


def _theirs(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def test_text_has_quorumtool_lines() -> None:
    status = three_nodes(VotequorumStatus(3, 3, 3, 2, Q, None), ring=RingId(1, 0xD))
    assert _ours(status) == _theirs(QUORUMTOOL_HEALTHY)


def test_text_with_a_qdevice_has_its_column_and_row() -> None:
    qdevice = QdeviceStatus("Qdevice", 1, True, True, False)
    status = three_nodes(VotequorumStatus(4, 4, 4, 3, Q | QD, qdevice), node_flags=Q | QD)
    assert _ours(status) == _theirs(QUORUMTOOL_QDEVICE)


def test_text_when_the_qdevice_does_not_vote_here_and_inquorate() -> None:
    flags = VotequorumInfo.QDEVICE_REGISTERED
    qdevice = QdeviceStatus("Qdevice", 1, False, False, False)
    status = three_nodes(VotequorumStatus(4, 4, 3, 3, flags, qdevice), quorate=False,
                         node_flags=flags)
    lines = status_to_text(status).splitlines()
    assert "Quorum:           3 Activity blocked" in lines
    assert "Flags:            Qdevice" in lines
    # (corosync-quorumtool cuts this cell to 8 characters, "NA,NV,NM"; not here.)
    assert "         1          1  NA,NV,NMW node1 (local)" in lines
    # As corosync-quorumtool: votes not cast here show as 0, with the configured count.
    assert lines[-1] == "         0          0            Qdevice (votes 1)"
    other = three_nodes(VotequorumStatus(4, 4, 3, 3, flags, qdevice), node_flags=Q)
    assert "         2          1         NR node2" in status_to_text(other).splitlines()


def test_the_json_shapes_are_named_by_the_status_module_and_made_when_asked_for() -> None:
    """``pyquorum.status.StatusDict`` and the others still resolve (type hints
    included), but only their own module makes them: importing pyquorum.status
    does not (each TypedDict field is compiled when made)."""
    import subprocess
    import sys
    import typing

    import pyquorum.status

    code = ("import sys, pyquorum.status; "
            "assert 'pyquorum._status_dicts' not in sys.modules, 'made'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert (proc.returncode, proc.stderr) == (0, "")
    shape = pyquorum.status.StatusDict
    assert list(typing.get_type_hints(shape)) == [
        "quorum_type", "provider", "quorate", "node_id", "ring_id", "members", "votequorum",
        "nodes"]
    ring = typing.get_type_hints(shape)["ring_id"]
    assert ring is pyquorum.status.RingIdDict
    assert status_to_dict(three_nodes(VotequorumStatus(3, 3, 3, 2, Q, None)))["ring_id"] == {
        "nodeid": 1, "seq": 9}
    with pytest.raises(AttributeError):
        pyquorum.status.NoSuchDict  # noqa: B018
