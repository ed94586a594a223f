"""Sessions watching real membership and quorum changes in multi-node clusters."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pyquorum import QuorumSession
from pyquorum.messages.constants import DispatchMode, Model, QuorumType, Track
from pyquorum.messages.types import (
    NodelistNotification,
    QuorumNotification,
    QuorumNotificationV0,
)

Cluster = Any  # pyquorum.testing.cluster.Cluster
ClusterFactory = Callable[..., Cluster]
ROOT = Path(__file__).resolve().parents[2]


def take(session: QuorumSession, count: int, timeout: float = 20.0) -> list[object]:
    """The next ``count`` events, failing if they take longer than ``timeout`` in all."""
    got: list[object] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"only {got} of {count} events within {timeout} s")
        for event in session.events(timeout=left):
            got.append(event)
            if len(got) == count:
                break
    return got


@pytest.mark.parametrize("transport", ["shm", "socket"])
def test_v1_and_v0_sessions_see_a_node_leave_and_rejoin(
    cluster3: ClusterFactory, transport: str
) -> None:
    cluster = cluster3(3, transport=transport)
    node1 = cluster[1]
    with node1.netns_context():
        v1 = QuorumSession(Model.V1, timeout=10)
        v0 = QuorumSession(Model.V0, timeout=10)
    with v1, v0:
        v1.trackstart(Track.CURRENT | Track.CHANGES)
        v0.trackstart(Track.CHANGES)
        nodelist, quorum = take(v1, 2)
        assert isinstance(nodelist, NodelistNotification) and nodelist.members == (1, 2, 3)
        assert isinstance(quorum, QuorumNotification) and quorum.quorate
        (snapshot_v0,) = take(v0, 1)
        assert isinstance(snapshot_v0, QuorumNotificationV0)
        assert snapshot_v0.ring_seq == quorum.ring_id.seq

        cluster[3].crash()
        left, after = take(v1, 2)
        assert isinstance(left, NodelistNotification)
        assert (left.members, left.joined, left.left) == ((1, 2), (), (3,))
        assert isinstance(after, QuorumNotification)
        assert after.quorate and after.members == (1, 2) and after.ring_id == left.ring_id
        assert after.ring_id.seq > quorum.ring_id.seq
        (left_v0,) = take(v0, 1)
        assert isinstance(left_v0, QuorumNotificationV0)
        assert left_v0.members == (1, 2) and left_v0.ring_seq == after.ring_id.seq

        cluster[3].start()
        joined, back = take(v1, 2)
        assert isinstance(joined, NodelistNotification)
        assert (joined.members, joined.joined, joined.left) == ((1, 2, 3), (3,), ())
        assert isinstance(back, QuorumNotification) and back.members == (1, 2, 3)


def test_quorum_only_change_sends_only_a_quorum_event(cluster3: ClusterFactory) -> None:
    cluster = cluster3(3)
    node1 = cluster[1]
    events: list[object] = []
    with node1.netns_context():
        session = QuorumSession(
            quorum_notify=lambda s, e: events.append(e),
            nodelist_notify=lambda s, e: events.append(e),
            timeout=10,
        )
    with session:
        session.trackstart(Track.CHANGES_ONLY)
        cluster[2].crash()
        cluster[3].crash()
        node1.wait_quorate(False)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
            isinstance(e, QuorumNotification) and not e.quorate for e in events
        ):
            session.dispatch(DispatchMode.ALL)
            time.sleep(0.05)
        assert session.getquorate() is False
        session.dispatch(DispatchMode.ALL)
        inquorate = events[-1]
        assert isinstance(inquorate, QuorumNotification) and not inquorate.quorate
        events.clear()
        node1.set_expected_votes(1)
        session.dispatch(DispatchMode.ONE, timeout=10)
        time.sleep(0.5)
        session.dispatch(DispatchMode.ALL)
        (only,) = events
        assert isinstance(only, QuorumNotification)
        assert only.quorate and only.ring_id == inquorate.ring_id


def test_no_quorum_provider_is_quorum_type_free(cluster3: ClusterFactory) -> None:
    cluster = cluster3(1, quorum=False)
    with cluster[1].netns_context():
        session = QuorumSession(timeout=10)
    with session:
        assert session.quorum_type is QuorumType.FREE
        assert session.getquorate() is True


def test_cli_status_without_a_quorum_provider(cluster3: ClusterFactory) -> None:
    cluster = cluster3(1, quorum=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with cluster[1].netns_context():
        proc = subprocess.run([sys.executable, "-m", "pyquorum", "status", "--json"],
                              capture_output=True, text=True, timeout=60, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert status["quorum_type"] == "free" and status["quorate"] is True
