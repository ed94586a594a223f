"""Every membership scenario on a real 3-node cluster, both transports, V1 and V0:
pyquorum delivers exactly the expected events, and exactly what the C
libquorum delivers on the same node at the same time.

See pyquorum/testing/scenarios.py for the walk itself.  Each test judges one
part of the walk's results (the ``walk`` fixture runs it once per transport).
"""

from __future__ import annotations

import re

import pytest

from pyquorum import cli
from pyquorum.capture import read_capture
from pyquorum.formatting import event_to_dict, event_to_json, event_to_text
from pyquorum.messages.constants import Model
from pyquorum.testing.scenarios import (
    MINORITY,
    OBSERVER,
    SNAPSHOT,
    SNAPSHOT_CHANGE,
    STEPS,
    Segment,
    WalkResult,
    check_rings,
    check_segment,
    segment_span,
)

pytestmark = [pytest.mark.corosync, pytest.mark.slow]

STEP_NAMES = [SNAPSHOT, *(s.name for s in STEPS)]
WATCHERS = [(OBSERVER, Model.V1), (OBSERVER, Model.V0), (MINORITY, Model.V1),
            (MINORITY, Model.V0)]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _segments(walk: WalkResult, step: str) -> list[tuple[int, Model, Segment]]:
    found = []
    for (nodeid, model), watcher in walk.watchers.items():
        for segment in watcher.segments:
            if segment.step == step:
                found.append((nodeid, model, segment))
    return found


@pytest.mark.parametrize("step", STEP_NAMES, ids=[_slug(s) for s in STEP_NAMES])
def test_scenario_events_are_exact_and_match_the_c_libquorum(walk: WalkResult,
                                                             step: str) -> None:
    segments = _segments(walk, step)
    assert segments, f"no watcher saw step {step!r}"
    for nodeid, model, segment in segments:
        watcher = walk.watchers[(nodeid, model)]
        check_segment(watcher.label, model, watcher.events, segment)
        span = segment_span(model, watcher.events, segment)
        ours = [event_to_dict(watcher.events[i]) for i in span]
        theirs = walk.c_events[(nodeid, model)][span.start : span.stop]
        assert ours == theirs, f"node {nodeid} {model.name}, step {step!r}: pyquorum vs C"


def test_every_watched_node_saw_every_scenario_it_should(walk: WalkResult) -> None:
    seen = {(n, m): [s.step for s in w.segments] for (n, m), w in walk.watchers.items()}
    assert seen[(OBSERVER, Model.V1)] == STEP_NAMES
    partition = STEP_NAMES.index("partition 1,2 | 3")
    assert seen[(MINORITY, Model.V0)] == [SNAPSHOT, *STEP_NAMES[partition:]]
    for (nodeid, model), watcher in walk.watchers.items():
        assert watcher.segments[0].changes == SNAPSHOT_CHANGE
        expected = {s.name: s.expect.get(nodeid, ()) for s in STEPS}
        for segment in watcher.segments[1:]:
            assert segment.changes == expected[segment.step], (nodeid, model, segment)


@pytest.mark.parametrize("key", WATCHERS, ids=[f"node{n}-{m.name}" for n, m in WATCHERS])
def test_ring_ids_follow_the_membership(walk: WalkResult, key: tuple[int, Model]) -> None:
    watcher = walk.watchers[key]
    check_rings(watcher.label, key[1], watcher.events, watcher.segments)


def test_v0_and_v1_sessions_saw_the_same_rings(walk: WalkResult) -> None:
    for nodeid in (OBSERVER, MINORITY):
        v1 = [e["ring_id"]["seq"] for e in map(event_to_dict, walk.watchers[(nodeid, Model.V1)]
              .events) if e["type"] == "quorum"]
        v0 = [e["ring_seq"] for e in map(event_to_dict, walk.watchers[(nodeid, Model.V0)].events)]
        assert v1 == v0, f"node {nodeid}"


@pytest.mark.parametrize("key", WATCHERS, ids=[f"node{n}-{m.name}" for n, m in WATCHERS])
def test_the_c_libquorum_saw_the_same_whole_stream(walk: WalkResult,
                                                   key: tuple[int, Model]) -> None:
    assert walk.c_calls[key][:2] == [
        {"call": "init", "rc": 1, "quorum_type": 1},
        {"call": "trackstart", "rc": 1},
    ]
    ours = [event_to_dict(e) for e in walk.watchers[key].events]
    assert walk.c_events[key] == ours
    assert walk.extra[key] == [], "events came after the last step had settled"


@pytest.mark.parametrize("key", WATCHERS, ids=[f"node{n}-{m.name}" for n, m in WATCHERS])
def test_each_capture_replays_to_the_live_events(
    walk: WalkResult, key: tuple[int, Model], tmp_path: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    capture = walk.captures[key]
    header = capture.header
    assert (header.transport, header.model) == (walk.transport, key[1])
    assert header.corosync_version and header.libqb_version
    path = f"{tmp_path}/capture.pqcap"
    from pyquorum.capture import write_capture

    write_capture(path, capture)
    assert read_capture(path) == capture
    events = walk.watchers[key].events
    assert cli.main(["replay", path, "--json"]) == 0
    assert capsys.readouterr().out.splitlines() == [event_to_json(e) for e in events]
    assert cli.main(["replay", path]) == 0
    assert capsys.readouterr().out.splitlines() == [event_to_text(e) for e in events]


@pytest.mark.parametrize("model", [Model.V1, Model.V0], ids=["V1-json", "V0-text"])
def test_pyquorum_record_prints_watch_output_and_replays_it(
    walk: WalkResult, model: Model, capsys: pytest.CaptureFixture[str]
) -> None:
    as_json = model is Model.V1
    lines, code, path = walk.recorders[(model, as_json)]
    fmt = event_to_json if as_json else event_to_text
    assert lines == [fmt(e) for e in walk.watchers[(OBSERVER, model)].events]
    assert code == cli.EXIT_INTERRUPTED  # stopped by SIGTERM, as by Ctrl-C
    capture = read_capture(path)
    # Capture format version 2: the transport is the connection's.
    (connection,) = capture.connections
    assert capture.header.model is model and connection.transport == walk.transport
    assert cli.main(["replay", str(path), *(["--json"] if as_json else [])]) == 0
    assert capsys.readouterr().out.splitlines() == lines
