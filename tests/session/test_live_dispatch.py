"""libquorum's dispatch modes and track flags, live, on both transports and both models."""

from __future__ import annotations

from typing import Any

import pytest

from pyquorum import QuorumSession
from pyquorum.errors import TryAgainError
from pyquorum.messages.constants import DispatchMode, Model, Track
from pyquorum.messages.types import NodelistNotification, QuorumNotification, QuorumNotificationV0

Node = Any

MODELS = [Model.V1, Model.V0]
SNAPSHOT: dict[Model, list[type]] = {
    Model.V1: [NodelistNotification, QuorumNotification],
    Model.V0: [QuorumNotificationV0],
}


def open_recording(node: Node, model: Model) -> tuple[QuorumSession, list[object]]:
    got: list[object] = []

    def record(session: QuorumSession, event: object) -> None:
        got.append(event)

    with node.netns_context():
        session = QuorumSession(
            model, timeout=10, quorum_notify=record, nodelist_notify=record
        )
    return session, got


@pytest.mark.parametrize("model", MODELS, ids=["v1", "v0"])
def test_one_nonblocking_with_nothing_pending_is_try_again(
    corosync_node_any: Node, model: Model
) -> None:
    session, got = open_recording(corosync_node_any, model)
    with session:
        with pytest.raises(TryAgainError):
            session.dispatch(DispatchMode.ONE_NONBLOCKING)
        session.trackstart(Track.CURRENT)
        for expected in SNAPSHOT[model]:
            assert session.dispatch(DispatchMode.ONE_NONBLOCKING) == 1
            assert type(got[-1]) is expected
        with pytest.raises(TryAgainError):
            session.dispatch(DispatchMode.ONE_NONBLOCKING)


@pytest.mark.parametrize("model", MODELS, ids=["v1", "v0"])
def test_all_drains_what_is_pending_and_returns(corosync_node_any: Node, model: Model) -> None:
    session, got = open_recording(corosync_node_any, model)
    with session:
        session.trackstart(Track.CURRENT)
        session.trackstart(Track.CURRENT)  # a second one-shot snapshot, queued behind the first
        assert session.dispatch(DispatchMode.ALL) == 2 * len(SNAPSHOT[model])
        assert [type(e) for e in got] == SNAPSHOT[model] * 2
        assert session.dispatch(DispatchMode.ALL) == 0


@pytest.mark.parametrize("model", MODELS, ids=["v1", "v0"])
def test_one_waits_for_a_single_event(corosync_node_any: Node, model: Model) -> None:
    session, got = open_recording(corosync_node_any, model)
    with session:
        session.trackstart(Track.CURRENT)
        assert session.dispatch(DispatchMode.ONE) == 1
        assert [type(e) for e in got] == SNAPSHOT[model][:1]


@pytest.mark.parametrize("model", MODELS, ids=["v1", "v0"])
def test_blocking_ends_when_a_callback_finalizes(corosync_node_any: Node, model: Model) -> None:
    got: list[object] = []

    def record_and_stop(session: QuorumSession, event: object) -> None:
        got.append(event)
        if len(got) == len(SNAPSHOT[model]):
            session.finalize()

    with corosync_node_any.netns_context():
        session = QuorumSession(
            model, timeout=10, quorum_notify=record_and_stop, nodelist_notify=record_and_stop
        )
    session.trackstart(Track.CURRENT | Track.CHANGES)
    session.dispatch(DispatchMode.BLOCKING)
    assert session.closed
    assert [type(e) for e in got] == SNAPSHOT[model]


@pytest.mark.parametrize("model", MODELS, ids=["v1", "v0"])
def test_changes_only_sends_no_snapshot(corosync_node_any: Node, model: Model) -> None:
    session, _got = open_recording(corosync_node_any, model)
    with session:
        session.trackstart(Track.CHANGES_ONLY)
        assert list(session.events(timeout=0.5)) == []


TRANSPORTS = ["shm", "socket"]


def inquorate_node(cluster3: Any, transport: str) -> Node:
    """A one-node cluster expecting 2 votes: inquorate until expected votes drop to 1.

    corosync refuses an expected-votes change that would make a node
    inquorate, so a quorum-only change is staged upwards, from inquorate.
    """
    cluster = cluster3(1, transport=transport, expected_votes=2, wait_for_quorum=False)
    node = cluster[1]
    node.wait_quorate(False)
    return node


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("model", MODELS, ids=["v1", "v0"])
def test_current_alone_does_not_subscribe(cluster3: Any, transport: str, model: Model) -> None:
    """CURRENT is a one-shot snapshot: a later quorum change is not delivered."""
    node = inquorate_node(cluster3, transport)
    session, _got = open_recording(node, model)
    with session:
        session.trackstart(Track.CURRENT)
        assert [type(e) for e in session.events(timeout=1)] == SNAPSHOT[model]
        node.set_expected_votes(1)
        node.wait_quorate(True)
        assert list(session.events(timeout=1)) == []
        assert session.getquorate()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("model", MODELS, ids=["v1", "v0"])
def test_quorum_only_change_brings_a_quorum_event_only(
    cluster3: Any, transport: str, model: Model
) -> None:
    node = inquorate_node(cluster3, transport)
    session, _got = open_recording(node, model)
    with session:
        assert not session.getquorate()
        session.trackstart(Track.CHANGES_ONLY)
        node.set_expected_votes(1)
        event = next(session.events(timeout=3))
        assert list(session.events(timeout=0.5)) == []  # no node list with it
        assert isinstance(event, QuorumNotification | QuorumNotificationV0)
        assert event.quorate and event.members == (1,)
        assert session.getquorate()
