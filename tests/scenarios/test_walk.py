"""A 3-node cluster walked through every membership scenario, watched by pyquorum and C.

One cluster per transport, to keep CI time down: the steps run in order on
the same cluster, and each step names itself in its assertion messages.
Node 1 is watched throughout by pyquorum (V1 and V0 sessions) and by the C
libquorum (the oracle, V1 and V0) at the same time; at the end the two
event streams must be identical, event for event.  The 2|1 partition is
also watched from the minority node.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest

from pyquorum import Model, QuorumSession, Track
from pyquorum.formatting import event_to_dict
from pyquorum.messages.types import (
    NodelistNotification,
    Notification,
    QuorumNotification,
    QuorumNotificationV0,
)
from tests.conftest import require_live
from tests.oracle import OracleUnavailable, build_oracle

Node = Any
Cluster = Any
STEP_TIMEOUT = 30.0


class Watcher:
    """A pyquorum session on one node, collecting every event it delivers."""

    def __init__(self, node: Node, model: Model) -> None:
        with node.netns_context():
            self.session = QuorumSession(model, timeout=10)
        self.session.trackstart(Track.CURRENT | Track.CHANGES)
        self.events: list[Notification] = []

    def wait_for(self, step: str, done: Callable[[Notification], bool]) -> None:
        """Collect events until one satisfies ``done`` (or fail naming ``step``)."""
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            for event in self.session.events(timeout=0.5):
                self.events.append(event)
                if done(event):
                    return
        raise AssertionError(f"step {step!r}: no matching event; got {self.events[-6:]}")

    def drain(self, quiet: float = 1.5) -> None:
        self.events.extend(self.session.events(timeout=quiet))


def c_watcher(node: Node, oracle: str, model: str) -> subprocess.Popen[str]:
    with node.netns_context():
        return subprocess.Popen(
            [oracle, "watch", model, "3", "1000", "600000"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def c_events(proc: subprocess.Popen[str]) -> list[dict[str, Any]]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    calls = [line for line in lines if "call" in line]
    assert calls[:2] == [
        {"call": "init", "rc": 1, "quorum_type": 1},
        {"call": "trackstart", "rc": 1},
    ], (calls, err)
    return [line for line in lines if "call" not in line]


def quorum(quorate: bool, members: tuple[int, ...]) -> Callable[[Notification], bool]:
    def done(event: Notification) -> bool:
        return (
            isinstance(event, QuorumNotification | QuorumNotificationV0)
            and event.quorate == quorate
            and event.members == members
        )

    return done


def check_pairs(events: list[Notification]) -> None:
    """V1: every node list is followed by a quorum event of the same ring."""
    ring_seqs = []
    for i, event in enumerate(events):
        if isinstance(event, NodelistNotification):
            follower = events[i + 1]
            assert isinstance(follower, QuorumNotification), events[i : i + 2]
            assert follower.ring_id == event.ring_id
            assert follower.members == event.members
            ring_seqs.append(event.ring_id.seq)
    assert ring_seqs == sorted(ring_seqs) and len(set(ring_seqs)) == len(ring_seqs)


def nodelist_changes(events: list[Notification]) -> list[tuple[tuple[int, ...], ...]]:
    return [
        (e.members, e.joined, e.left) for e in events if isinstance(e, NodelistNotification)
    ]


@pytest.mark.parametrize("transport", ["shm", "socket"])
def test_every_scenario_matches_the_c_libquorum(cluster3: Any, transport: str) -> None:
    try:
        oracle = str(build_oracle())
    except OracleUnavailable as exc:
        require_live(exc)
    cluster = cluster3(3, transport=transport)
    n1, n2, n3 = cluster[1], cluster[2], cluster[3]
    c_v1, c_v0 = c_watcher(n1, oracle, "v1"), c_watcher(n1, oracle, "v0")
    try:
        v1, v0 = Watcher(n1, Model.V1), Watcher(n1, Model.V0)
        v1.wait_for("snapshot", quorum(True, (1, 2, 3)))
        v0.wait_for("snapshot", quorum(True, (1, 2, 3)))

        starts: list[tuple[str, int]] = [("snapshot", 0)]

        def step(name: str, action: Callable[[], object], quorate: bool,
                 members: tuple[int, ...]) -> None:
            starts.append((name, len(v1.events)))
            action()
            v1.wait_for(name, quorum(quorate, members))
            v0.wait_for(name, quorum(quorate, members))

        step("node 3 leaves", n3.stop, True, (1, 2))
        step("node 3 rejoins", n3.start, True, (1, 2, 3))
        step("node 3 crashes", n3.crash, True, (1, 2))
        step("node 3 rejoins after its crash", n3.start, True, (1, 2, 3))
        step("quorum lost: 2 of 3 gone", lambda: (n2.stop(), n3.stop()), False, (1,))
        step("quorum regained", lambda: (n2.start(), n3.start()), True, (1, 2, 3))
        cluster.wait_formed({1, 2, 3}, quorate=True)

        minority = Watcher(n3, Model.V1)
        minority.wait_for("minority snapshot", quorum(True, (1, 2, 3)))
        step("partition 1,2 | 3", lambda: cluster.partition({1, 2}, {3}), True, (1, 2))
        minority.wait_for("partition, minority side", quorum(False, (3,)))
        before = len(minority.events)
        n3.set_expected_votes(1)  # the isolated node regains quorum on its own
        minority.wait_for("expected votes 1 on the minority", quorum(True, (3,)))
        assert not any(
            isinstance(e, NodelistNotification) for e in minority.events[before:]
        ), "an expected-votes change is a quorum-only change: no node list"
        step("heal", cluster.heal, True, (1, 2, 3))
        minority.wait_for("heal, minority side", quorum(True, (1, 2, 3)))

        for watcher in (v1, v0):
            watcher.drain()
        check_pairs(v1.events)
        check_pairs(minority.events)
        segments = {
            name: v1.events[start:end]
            for (name, start), (_, end) in zip(
                starts, [*starts[1:], ("end", len(v1.events))], strict=True
            )
        }
        # A single node going or coming: exactly one change with exact lists.
        exact = {
            "snapshot": ((1, 2, 3), (), ()),
            "node 3 leaves": ((1, 2), (), (3,)),
            "node 3 rejoins": ((1, 2, 3), (3,), ()),
            "node 3 crashes": ((1, 2), (), (3,)),
            "node 3 rejoins after its crash": ((1, 2, 3), (3,), ()),
        }
        for name, change in exact.items():
            assert nodelist_changes(segments[name]) == [change], name
        # Two nodes at once, a partition, a heal: one change or several,
        # depending on timing, but the lists must add up to the end state.
        for name, start_members, end_members in (
            ("quorum lost: 2 of 3 gone", (1, 2, 3), (1,)),
            ("quorum regained", (1,), (1, 2, 3)),
            ("partition 1,2 | 3", (1, 2, 3), (1, 2)),
            ("heal", (1, 2), (1, 2, 3)),
        ):
            check_changes(name, nodelist_changes(segments[name]), start_members, end_members)
        # The C libquorum on the same node saw exactly the same events
        # (8 changes at least, each a node list and a quorum event in V1).
        assert len(v1.events) >= 18 and len(v0.events) >= 9
        assert c_events(c_v1) == [event_to_dict(e) for e in v1.events]
        assert c_events(c_v0) == [event_to_dict(e) for e in v0.events]
        for watcher in (v1, v0, minority):
            watcher.session.close()
    finally:
        for proc in (c_v1, c_v0):
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def check_changes(
    step: str,
    changes: list[tuple[tuple[int, ...], ...]],
    members: tuple[int, ...],
    end: tuple[int, ...],
) -> None:
    """Each change's members = previous - left + joined, ending at ``end``."""
    assert changes, f"step {step!r}: no membership change"
    for new, joined, left in changes:
        assert set(new) == (set(members) - set(left)) | set(joined), (step, changes)
        members = new
    assert members == end, (step, changes)
