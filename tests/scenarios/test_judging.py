"""The walk's judging, on made-up streams (no corosync): re-formations are
skipped, everything else must be exact, and ring ids must move as corosync moves them.

The re-formation stream is the one node 3 delivered live in about one walk
in four: while a partition healed, it first formed a ring of its own again.
"""

from __future__ import annotations

import pytest

from pyquorum.messages.constants import Model
from pyquorum.messages.types import (
    NodelistNotification,
    Notification,
    QuorumNotification,
    QuorumNotificationV0,
    RingId,
)
from pyquorum.testing.scenarios import (
    ALL,
    SNAPSHOT,
    SNAPSHOT_CHANGE,
    Change,
    ScenarioMismatch,
    Segment,
    check_rings,
    check_segment,
    reformations,
    segment_span,
)


def v1(seq: int, members: tuple[int, ...], quorate: bool, joined: tuple[int, ...] = (),
       left: tuple[int, ...] = ()) -> list[Notification]:
    ring = RingId(min(members), seq)
    return [NodelistNotification(ring, members, joined, left),
            QuorumNotification(quorate, ring, members)]


def v0(seq: int, members: tuple[int, ...], quorate: bool) -> list[Notification]:
    return [QuorumNotificationV0(quorate, seq, members)]


HEAL = Segment("heal", 0, (Change(ALL, True, joined=(1, 2)),))
QUORUM_ONLY = (Change((3,), True, kind="quorum"),)


def minority_v1(*, reformation: bool) -> tuple[list[Notification], list[Segment]]:
    events = [*v1(44, ALL, True), *v1(48, (3,), False, left=(1, 2)),
              QuorumNotification(True, RingId(3, 48), (3,))]
    if reformation:
        events += v1(52, (3,), True)
    events += v1(56, ALL, True, joined=(1, 2))
    segments = [
        Segment(SNAPSHOT, 0, SNAPSHOT_CHANGE),
        Segment("partition", 2, (Change((3,), False, left=(1, 2)),)),
        Segment("votes", 4, QUORUM_ONLY),
        Segment("heal", 5, HEAL.changes),
    ]
    return events, segments


@pytest.mark.parametrize("reformation", [False, True])
def test_a_heal_through_a_lone_ring_is_judged_as_the_heal(reformation: bool) -> None:
    events, segments = minority_v1(reformation=reformation)
    assert reformations(Model.V1, events) == ({5, 6} if reformation else set())
    for segment in segments:
        check_segment("minority", Model.V1, events, segment)
    check_rings("minority", Model.V1, events, segments)
    assert segment_span(Model.V1, events, segments[-1]) == range(5, len(events))


def test_the_v0_stream_of_the_same_heal() -> None:
    events = [*v0(44, ALL, True), *v0(48, (3,), False), *v0(48, (3,), True),
              *v0(52, (3,), True), *v0(56, ALL, True)]
    assert reformations(Model.V0, events) == {3}
    segments = [Segment(SNAPSHOT, 0, SNAPSHOT_CHANGE),
                Segment("partition", 1, (Change((3,), False, left=(1, 2)),)),
                Segment("votes", 2, QUORUM_ONLY), Segment("heal", 3, HEAL.changes)]
    for segment in segments:
        check_segment("minority", Model.V0, events, segment)
    check_rings("minority", Model.V0, events, segments)


def test_a_repeated_event_is_not_a_reformation() -> None:
    events = [*v1(44, ALL, True), *v1(44, ALL, True), *v1(48, (1, 2), True, left=(3,))]
    assert reformations(Model.V1, events) == set()
    with pytest.raises(ScenarioMismatch, match="expected"):
        check_segment("n1", Model.V1, events,
                      Segment("leave", 2, (Change((1, 2), True, left=(3,)),)))


def test_a_reformation_that_changes_quorum_is_a_real_change() -> None:
    events = [*v1(44, (3,), True), *v1(48, (3,), False)]
    assert reformations(Model.V1, events) == set()


def test_a_missing_event_is_still_caught() -> None:
    events, segments = minority_v1(reformation=True)
    with pytest.raises(ScenarioMismatch, match="heal"):
        check_segment("minority", Model.V1, events[:-1], segments[-1])


def test_a_quorum_only_change_may_not_move_the_ring() -> None:
    events, segments = minority_v1(reformation=False)
    events[4] = QuorumNotification(True, RingId(3, 50), (3,))
    with pytest.raises(ScenarioMismatch, match="quorum-only change moved ring"):
        check_rings("minority", Model.V1, events, segments)


def test_a_reformation_must_bring_a_new_ring() -> None:
    events, segments = minority_v1(reformation=True)
    events[7:9] = v1(50, ALL, True, joined=(1, 2))  # seq 50 after the lone ring's 52
    with pytest.raises(ScenarioMismatch, match="ring seq 50 after 52"):
        check_rings("minority", Model.V1, events, segments)
