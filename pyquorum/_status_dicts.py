"""The shapes of ``pyquorum status --json`` (:func:`pyquorum.status.status_to_dict`).

Kept apart from :mod:`pyquorum.status`, which names them but imports this
module only when one is asked for: making a TypedDict compiles each of its
fields, which ``pyquorum status`` need not pay for.
"""

from __future__ import annotations

from typing import TypedDict

__all__ = ["NodeDict", "QdeviceDict", "RingIdDict", "StatusDict", "VotequorumDict"]


class RingIdDict(TypedDict):
    nodeid: int
    seq: int


class QdeviceDict(TypedDict):
    name: str
    votes: int
    alive: bool
    cast_vote: bool
    master_wins: bool


class VotequorumDict(TypedDict):
    expected_votes: int
    highest_expected: int
    total_votes: int
    quorum: int
    flags: list[str]
    qdevice: QdeviceDict | None


class NodeDict(TypedDict):
    nodeid: int
    votes: int | None
    name: str | None
    local: bool


class StatusDict(TypedDict):
    """``pyquorum status --json``: one object, keys in this order."""

    quorum_type: str
    provider: str | None
    quorate: bool
    node_id: int | None
    ring_id: RingIdDict
    members: list[int]
    votequorum: VotequorumDict | None
    nodes: list[NodeDict]
