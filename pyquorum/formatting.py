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

``pyquorum watch --votequorum`` adds votequorum's three (``state`` is
``member``, ``dead`` or ``leaving``; node id 0 is the quorum device)::

    {"type": "votequorum_quorum", "quorate": true,
     "nodes": [{"nodeid": 1, "state": "member"}, {"nodeid": 3, "state": "dead"}]}
    {"type": "votequorum_nodelist", "ring_id": {"nodeid": 1, "seq": 17}, "members": [1, 2]}
    {"type": "expected_votes", "expected_votes": 3}

Text shows ring ids as corosync-quorumtool does (``nodeid.seq`` in hex).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TypeAlias, TypedDict

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

if TYPE_CHECKING:
    from pyquorum.messages import votequorum

__all__ = [
    "PrintableEvent",
    "RingIdDict",
    "event_to_dict",
    "event_to_json",
    "event_to_text",
]


#: Whatever ``pyquorum watch`` prints: a notification, or what a reconnecting session adds.
#: votequorum's notifications are printable too (``watch --votequorum``); that
#: module is imported only by the commands that receive them.
PrintableEvent: TypeAlias = "Notification | SupervisorEvent | votequorum.Notification"


class RingIdDict(TypedDict):
    nodeid: int
    seq: int


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
    vq = _votequorum_module()
    if vq is not None and isinstance(event, vq.QuorumNotification):
        return {
            "type": "votequorum_quorum",
            "quorate": bool(event.quorate),
            "nodes": [{"nodeid": n.nodeid, "state": _state(n.state)} for n in event.nodes],
        }
    if vq is not None and isinstance(event, vq.NodelistNotification):
        return {
            "type": "votequorum_nodelist",
            "ring_id": _ring(event.ring_id),
            "members": list(event.members),
        }
    if vq is not None and isinstance(event, vq.ExpectedVotesNotification):
        return {"type": "expected_votes", "expected_votes": event.expected_votes}
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
    import json  # (the quorum events above, and status, need none of it)

    return json.dumps(event_to_dict(event))


def _json_ids(ids: tuple[int, ...]) -> str:
    # A capture repeats a handful of member lists over and over: remember how each
    # was written (a bounded table, so a hostile capture cannot grow it).
    text = _JSON_IDS.get(ids)
    if text is None:
        text = ", ".join(map(str, ids))
        if len(_JSON_IDS) < _JSON_IDS_MAX:
            _JSON_IDS[ids] = text
    return text


_JSON_IDS: dict[tuple[int, ...], str] = {}
_JSON_IDS_MAX = 1024


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
    vq = _votequorum_module()
    if vq is not None and isinstance(event, vq.QuorumNotification):
        nodes = " ".join(f"{n.nodeid}:{_state(n.state)}" for n in event.nodes) or "-"
        return f"vq_quorum  quorate {_yes(event.quorate)}  nodes {nodes}"
    if vq is not None and isinstance(event, vq.NodelistNotification):
        return f"vq_nodelist ring {event.ring_id}  members {_ids(event.members)}"
    if vq is not None and isinstance(event, vq.ExpectedVotesNotification):
        return f"expected   votes {event.expected_votes}"
    raise TypeError(f"not a notification: {event!r}")


def _type_name(quorum_type: QuorumType | int) -> str:
    return quorum_type.name.lower() if isinstance(quorum_type, QuorumType) else str(quorum_type)


def _votequorum_module() -> Any:
    """pyquorum.messages.votequorum if something imported it (else no event can be one of
    its notifications, and watch without --votequorum never pays for importing it)."""
    return sys.modules.get("pyquorum.messages.votequorum")


def _state(state: int) -> str | int:
    """A votequorum node state's name (member, dead, leaving), or the number if unknown."""
    from pyquorum.messages.constants import NodeState

    try:
        return NodeState(state).name.lower()
    except ValueError:
        return int(state)
