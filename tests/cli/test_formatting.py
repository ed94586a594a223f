"""Event and status formatting: the JSON lines scripts parse, and the text people read."""

from __future__ import annotations

import json

import pytest

from pyquorum.formatting import event_to_dict, event_to_json, event_to_text
from pyquorum.messages import votequorum as vq
from pyquorum.messages.constants import NodeState
from pyquorum.messages.types import (
    NodelistNotification,
    QuorumNotification,
    QuorumNotificationV0,
    RingId,
    UnknownNotification,
)

RING = RingId(1, 17)


def test_nodelist_json_is_exactly_the_documented_line() -> None:
    event = NodelistNotification(RING, (1, 2), (), (3,))
    assert event_to_json(event) == (
        '{"type": "nodelist", "ring_id": {"nodeid": 1, "seq": 17}, "members": [1, 2], '
        '"joined": [], "left": [3]}'
    )


def test_quorum_json_is_exactly_the_documented_line() -> None:
    event = QuorumNotification(True, RING, (1, 2))
    assert event_to_json(event) == (
        '{"type": "quorum", "quorate": true, "ring_id": {"nodeid": 1, "seq": 17}, '
        '"members": [1, 2]}'
    )


def test_v0_json() -> None:
    event = QuorumNotificationV0(False, 17, (1,))
    assert event_to_json(event) == (
        '{"type": "quorum_v0", "quorate": false, "ring_seq": 17, "members": [1]}'
    )


def test_unknown_notification_json_round_trips_through_json() -> None:
    event = UnknownNotification(42, 1, b"\x01\x02")
    assert json.loads(event_to_json(event)) == {
        "type": "unknown", "id": 42, "error": 1, "data": "0102",
    }


def test_text_lines() -> None:
    assert event_to_text(NodelistNotification(RingId(1, 35), (1, 2), (2,), ())) == (
        "nodelist   ring 1.23  members 1 2  joined 2  left -"
    )
    assert event_to_text(QuorumNotification(False, RingId(1, 35), ())) == (
        "quorum     ring 1.23  quorate no  members -"
    )
    assert event_to_text(QuorumNotificationV0(True, 35, (1,))) == (
        "quorum_v0  ring_seq 23  quorate yes  members 1"
    )
    assert event_to_text(UnknownNotification(9, 1, b"abc")).startswith("unknown    id 9")


def test_non_events_are_refused() -> None:
    with pytest.raises(TypeError):
        event_to_dict(RING)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        event_to_text(RING)  # type: ignore[arg-type]


def test_votequorum_events_json_and_text() -> None:
    quorum = vq.QuorumNotification(True, 7, (vq.NodeStatus(1, NodeState.MEMBER),
                                             vq.NodeStatus(3, NodeState.DEAD),
                                             vq.NodeStatus(4, 9)))
    assert event_to_json(quorum) == (
        '{"type": "votequorum_quorum", "quorate": true, "nodes": [{"nodeid": 1, "state": '
        '"member"}, {"nodeid": 3, "state": "dead"}, {"nodeid": 4, "state": 9}]}'
    )
    assert event_to_text(quorum) == "vq_quorum  quorate yes  nodes 1:member 3:dead 4:9"
    nodelist = vq.NodelistNotification(7, RING, (1, 2))
    assert event_to_json(nodelist) == (
        '{"type": "votequorum_nodelist", "ring_id": {"nodeid": 1, "seq": 17}, "members": [1, 2]}'
    )
    assert event_to_text(nodelist) == "vq_nodelist ring 1.11  members 1 2"
    expected = vq.ExpectedVotesNotification(7, 5)
    assert event_to_json(expected) == '{"type": "expected_votes", "expected_votes": 5}'
    assert event_to_text(expected) == "expected   votes 5"
