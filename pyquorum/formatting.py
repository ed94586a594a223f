"""How events and status print: one JSON object or one text line each.

Kept apart from the CLI so that anything showing events (``pyquorum
watch``, a replay of captured events) prints them identically.  The JSON
matches the C oracle's (tests/c/quorum_oracle.c) field for field::

    {"type": "nodelist", "ring_id": {"nodeid": 1, "seq": 17}, "members": [1, 2],
     "joined": [], "left": [3]}
    {"type": "quorum", "quorate": true, "ring_id": {"nodeid": 1, "seq": 17}, "members": [1, 2]}
    {"type": "quorum_v0", "quorate": true, "ring_seq": 17, "members": [1, 2]}

A reconnecting session (:mod:`pyquorum.reconnect`) adds its own two, which
the C oracle has no counterpart for::

    {"type": "connection_lost", "reason": "the daemon hung up"}
    {"type": "reconnected", "quorum_type": "set"}

Text shows ring ids as corosync-quorumtool does (``nodeid.seq`` in hex).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeAlias, TypedDict

from pyquorum.events import ConnectionLostEvent, Reconnected, SupervisorEvent
from pyquorum.messages.constants import QuorumType
from pyquorum.messages.types import (
    NodelistNotification,
    Notification,
    QuorumNotification,
    QuorumNotificationV0,
    RingId,
    UnknownNotification,
)

__all__ = [
    "PrintableEvent",
    "RingIdDict",
    "Status",
    "StatusDict",
    "event_to_dict",
    "event_to_json",
    "event_to_text",
    "status_to_dict",
    "status_to_json",
    "status_to_text",
]


#: Whatever ``pyquorum watch`` prints: a notification, or what a reconnecting session adds.
PrintableEvent: TypeAlias = Notification | SupervisorEvent


@dataclass(frozen=True, slots=True)
class Status:
    """What ``pyquorum status`` reports: one consistent snapshot.

    A new field goes here, into :class:`StatusDict` (the ``--json`` shape,
    keys in printed order) and into :func:`status_to_text`, together.
    """

    quorum_type: QuorumType | int
    quorate: bool
    ring_id: RingId
    members: tuple[int, ...]


class RingIdDict(TypedDict):
    nodeid: int
    seq: int


class StatusDict(TypedDict):
    """``pyquorum status --json``: one object, keys in this order."""

    quorum_type: str
    quorate: bool
    ring_id: RingIdDict
    members: list[int]


def _ring(ring_id: RingId) -> RingIdDict:
    return {"nodeid": ring_id.nodeid, "seq": ring_id.seq}


def event_to_dict(event: PrintableEvent) -> dict[str, Any]:
    """The JSON-ready form of an event (key order is the printed order)."""
    if isinstance(event, ConnectionLostEvent):
        return {"type": "connection_lost", "reason": event.reason}
    if isinstance(event, Reconnected):
        return {"type": "reconnected", "quorum_type": _type_name(event.quorum_type)}
    if isinstance(event, NodelistNotification):
        return {
            "type": "nodelist",
            "ring_id": _ring(event.ring_id),
            "members": list(event.members),
            "joined": list(event.joined),
            "left": list(event.left),
        }
    if isinstance(event, QuorumNotification):
        return {
            "type": "quorum",
            "quorate": bool(event.quorate),
            "ring_id": _ring(event.ring_id),
            "members": list(event.members),
        }
    if isinstance(event, QuorumNotificationV0):
        return {
            "type": "quorum_v0",
            "quorate": bool(event.quorate),
            "ring_seq": event.ring_seq,
            "members": list(event.members),
        }
    if isinstance(event, UnknownNotification):
        return {"type": "unknown", "id": event.id, "error": event.error, "data": event.data.hex()}
    raise TypeError(f"not a notification: {event!r}")


def event_to_json(event: PrintableEvent) -> str:
    """One line of JSON (no newline).

    The three quorum events are written directly (``json.dumps`` costs more
    than decoding them, which matters to ``replay --json`` of a long capture);
    the text is exactly ``json.dumps(event_to_dict(event))``, which every other
    event goes through and which tests/cli/test_formatting.py holds them to.
    """
    kind = type(event)
    if kind is NodelistNotification:
        assert isinstance(event, NodelistNotification)
        ring = event.ring_id
        return (
            f'{{"type": "nodelist", "ring_id": {{"nodeid": {ring.nodeid:d}, '
            f'"seq": {ring.seq:d}}}, "members": [{_json_ids(event.members)}], '
            f'"joined": [{_json_ids(event.joined)}], "left": [{_json_ids(event.left)}]}}'
        )
    if kind is QuorumNotification:
        assert isinstance(event, QuorumNotification)
        ring = event.ring_id
        return (
            f'{{"type": "quorum", "quorate": {"true" if event.quorate else "false"}, '
            f'"ring_id": {{"nodeid": {ring.nodeid:d}, "seq": {ring.seq:d}}}, '
            f'"members": [{_json_ids(event.members)}]}}'
        )
    if kind is QuorumNotificationV0:
        assert isinstance(event, QuorumNotificationV0)
        return (
            f'{{"type": "quorum_v0", "quorate": {"true" if event.quorate else "false"}, '
            f'"ring_seq": {event.ring_seq:d}, "members": [{_json_ids(event.members)}]}}'
        )
    return json.dumps(event_to_dict(event))


def _json_ids(ids: tuple[int, ...]) -> str:
    return ", ".join(map(str, ids))


def _ids(ids: tuple[int, ...]) -> str:
    return " ".join(str(i) for i in ids) if ids else "-"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def event_to_text(event: PrintableEvent) -> str:
    """One human-readable line (no newline)."""
    if isinstance(event, ConnectionLostEvent):
        return f"lost       connection to corosync: {event.reason}; reconnecting"
    if isinstance(event, Reconnected):
        return f"reconnected  quorum type {_type_name(event.quorum_type)}"
    if isinstance(event, NodelistNotification):
        return (
            f"nodelist   ring {event.ring_id}  members {_ids(event.members)}"
            f"  joined {_ids(event.joined)}  left {_ids(event.left)}"
        )
    if isinstance(event, QuorumNotification):
        return (
            f"quorum     ring {event.ring_id}  quorate {_yes(event.quorate)}"
            f"  members {_ids(event.members)}"
        )
    if isinstance(event, QuorumNotificationV0):
        return (
            f"quorum_v0  ring_seq {event.ring_seq:x}  quorate {_yes(event.quorate)}"
            f"  members {_ids(event.members)}"
        )
    if isinstance(event, UnknownNotification):
        return f"unknown    id {event.id}  error {event.error}  {len(event.data)} bytes"
    raise TypeError(f"not a notification: {event!r}")


def _type_name(quorum_type: QuorumType | int) -> str:
    return quorum_type.name.lower() if isinstance(quorum_type, QuorumType) else str(quorum_type)


_PROVIDER: dict[int, str] = {
    QuorumType.SET: "set (a quorum provider decides)",
    QuorumType.FREE: "free (no quorum provider: always quorate)",
}


def status_to_dict(status: Status) -> StatusDict:
    """The JSON-ready form of a status (key order is the printed order)."""
    return {
        "quorum_type": _type_name(status.quorum_type),
        "quorate": status.quorate,
        "ring_id": _ring(status.ring_id),
        "members": list(status.members),
    }


def status_to_json(status: Status) -> str:
    """One line of JSON (no newline)."""
    return json.dumps(status_to_dict(status))


def status_to_text(status: Status) -> str:
    """Lines in the spirit of ``corosync-quorumtool -s`` (no final newline)."""
    provider = _PROVIDER.get(int(status.quorum_type), str(int(status.quorum_type)))
    return "\n".join(
        [
            f"Quorum type:  {provider}",
            f"Quorate:      {'Yes' if status.quorate else 'No'}",
            f"Ring ID:      {status.ring_id}",
            f"Nodes:        {len(status.members)}",
            f"Members:      {_ids(status.members)}",
        ]
    )
