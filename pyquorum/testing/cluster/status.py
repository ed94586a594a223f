"""What ``corosync-quorumtool -s`` and cmap say about quorum, as data.

Why parse the tools' text rather than ask corosync directly: the harness
must not depend on the client it is there to test, and the tools are what
an administrator would trust.  Decimal node ids only (no ``-H``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["QuorumStatus", "parse_cmap_members", "parse_quorumtool"]


@dataclass(frozen=True, slots=True)
class QuorumStatus:
    """One node's view of quorum and membership, from ``corosync-quorumtool -s``.

    With ``quorum=False`` (no provider, quorum type FREE) the tool has nothing
    to say, so members come from cmap's ``runtime.members`` and ``quorate``
    is always true, as it is for the quorum service's clients.
    """

    nodeid: int
    quorate: bool
    members: frozenset[int]
    ring_id: tuple[int, int] | None = None  # (representative nodeid, sequence)
    provider: str | None = None
    expected_votes: int | None = None
    highest_expected: int | None = None
    total_votes: int | None = None
    quorum: int | None = None
    flags: frozenset[str] = frozenset()
    votes: Mapping[int, int] = field(default_factory=dict)
    qdevice_votes: int | None = None  # the "Qdevice" row's votes, None without one
    #: Each member's quorum device state as this node sees it: the Qdevice
    #: column's flags, e.g. {"A", "V", "NMW"} (alive, casting its vote, no master wins).
    qdevice_states: Mapping[int, frozenset[str]] = field(default_factory=dict)
    raw: str = field(default="", repr=False, compare=False)

    @property
    def qdevice_alive(self) -> bool:
        """Whether this node's own quorum device daemon is alive (its ``A`` flag)."""
        return "A" in self.qdevice_states.get(self.nodeid, frozenset())

    def summary(self) -> str:
        """One line for logs and failure messages."""
        ring = "?" if self.ring_id is None else f"{self.ring_id[0]:x}.{self.ring_id[1]:x}"
        return (
            f"node {self.nodeid}: {'quorate' if self.quorate else 'NOT quorate'}, "
            f"members {sorted(self.members)}, ring {ring}, expected {self.expected_votes}"
        )


_FIELD_RE = re.compile(r"^([A-Za-z][A-Za-z ]*?):\s*(.*?)\s*$")


def parse_quorumtool(text: str) -> QuorumStatus:
    """Parse ``corosync-quorumtool -s`` output (decimal node ids, i.e. without ``-H``)."""
    fields: dict[str, str] = {}
    members: set[int] = set()
    votes: dict[int, int] = {}
    qdevice_votes: int | None = None
    qdevice_states: dict[int, frozenset[str]] = {}
    in_members = qdevice_column = False
    for line in text.splitlines():
        if line.strip().startswith("Nodeid"):
            in_members = True
            qdevice_column = "Qdevice" in line.split()
            continue
        if in_members:
            words = line.split()
            if len(words) >= 3 and words[0] == "0" and words[1].isdigit() and "Qdevice" in words:
                qdevice_votes = int(words[1])  # the device's row: node id 0, name Qdevice
            elif len(words) >= 2 and words[0].isdigit() and words[1].isdigit():
                members.add(int(words[0]))
                if qdevice_column and len(words) >= 3:
                    qdevice_states[int(words[0])] = frozenset(words[2].split(","))
                votes[int(words[0])] = int(words[1])
            continue
        m = _FIELD_RE.match(line)
        if m:
            fields.setdefault(m[1], m[2])
    if "Node ID" not in fields or "Quorate" not in fields:
        raise ValueError(f"not corosync-quorumtool -s output:\n{text}")

    def number(key: str) -> int | None:
        value = fields.get(key, "").split()
        return int(value[0]) if value and value[0].isdigit() else None

    ring: tuple[int, int] | None = None
    ring_text = fields.get("Ring ID", "")
    if "." in ring_text:
        rep, seq = ring_text.split(".", 1)
        ring = (int(rep, 16), int(seq, 16))
    return QuorumStatus(
        nodeid=int(fields["Node ID"], 0),
        quorate=fields["Quorate"].lower() == "yes",
        members=frozenset(members),
        ring_id=ring,
        provider=fields.get("Quorum provider"),
        expected_votes=number("Expected votes"),
        highest_expected=number("Highest expected"),
        total_votes=number("Total votes"),
        quorum=number("Quorum"),
        flags=frozenset(fields.get("Flags", "").split()),
        votes=votes,
        qdevice_votes=qdevice_votes,
        qdevice_states=qdevice_states,
        raw=text,
    )


_CMAP_MEMBER_RE = re.compile(r"^runtime\.members\.(\d+)\.status \(str\) = (\w+)", re.MULTILINE)


def parse_cmap_members(text: str) -> frozenset[int]:
    """Node ids whose status is ``joined`` in ``corosync-cmapctl -b runtime.members``."""
    return frozenset(int(i) for i, status in _CMAP_MEMBER_RE.findall(text) if status == "joined")
