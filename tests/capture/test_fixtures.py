"""The committed captures (fixtures/captures/, recorded live by scripts/record-fixtures)
replay to their recorded expectations, with no corosync anywhere.

Each ``.pqcap`` has the events ``pyquorum watch --json`` printed for that
session next to it in ``.jsonl`` (which the C libquorum delivered too, line
for line, when it was recorded).  The header's metadata lists the scenario
steps, so the decoded events are also judged against the scenario itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pyquorum import cli
from pyquorum.capture import Capture, Channel, read_capture
from pyquorum.formatting import event_to_text
from pyquorum.messages.constants import Model, Track
from pyquorum.messages.quorum import decode_notification, decode_request
from pyquorum.messages.types import (
    GetTypeRequest,
    ModelGetTypeRequest,
    NodelistNotification,
    Notification,
    QuorumNotification,
    QuorumNotificationV0,
    RingId,
    TrackStartRequest,
)
from pyquorum.testing.scenarios import (
    MINORITY,
    OBSERVER,
    SNAPSHOT,
    STEPS,
    check_rings,
    check_segment,
    reformations,
    segments_from_metadata,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "captures"
EXPECTED = sorted(
    f"{transport}-node{node}-{model}"
    for transport in ("shm", "socket")
    for node in (OBSERVER, MINORITY)
    for model in ("v1", "v0")
)
NAMES = sorted(p.stem for p in FIXTURES.glob("*.pqcap"))


def test_every_transport_node_and_model_has_a_capture_and_its_events() -> None:
    assert NAMES == EXPECTED
    assert sorted(p.stem for p in FIXTURES.glob("*.jsonl")) == EXPECTED


def load(name: str) -> tuple[Capture, list[str]]:
    capture = read_capture(FIXTURES / f"{name}.pqcap")
    return capture, (FIXTURES / f"{name}.jsonl").read_text().splitlines()


def from_dict(obj: dict[str, Any]) -> Notification:
    """A .jsonl line back into an event (to judge the text output independently)."""
    if obj["type"] == "nodelist":
        ring = RingId(obj["ring_id"]["nodeid"], obj["ring_id"]["seq"])
        return NodelistNotification(ring, tuple(obj["members"]), tuple(obj["joined"]),
                                    tuple(obj["left"]))
    if obj["type"] == "quorum":
        ring = RingId(obj["ring_id"]["nodeid"], obj["ring_id"]["seq"])
        return QuorumNotification(obj["quorate"], ring, tuple(obj["members"]))
    assert obj["type"] == "quorum_v0", obj
    return QuorumNotificationV0(obj["quorate"], obj["ring_seq"], tuple(obj["members"]))


@pytest.mark.parametrize("name", NAMES)
def test_the_header_describes_the_recording(name: str) -> None:
    capture, _ = load(name)
    transport, node, model = name.split("-")
    header = capture.header
    assert header.transport == transport and header.model is Model[model.upper()]
    assert header.metadata["node"] == int(node.removeprefix("node"))
    assert header.corosync_version and header.libqb_version and header.max_msg_size
    requests = [decode_request(r.data) for r in capture.channel(Channel.REQUEST)]
    init = ModelGetTypeRequest(Model.V1) if model == "v1" else GetTypeRequest()
    assert requests == [init, TrackStartRequest(Track.CURRENT | Track.CHANGES)]
    assert len(capture.channel(Channel.RESPONSE)) == 2


@pytest.mark.parametrize("name", NAMES)
def test_replay_json_prints_exactly_the_recorded_events(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, expected = load(name)
    assert cli.main(["replay", str(FIXTURES / f"{name}.pqcap"), "--json"]) == 0
    assert capsys.readouterr().out.splitlines() == expected


@pytest.mark.parametrize("name", NAMES)
def test_replay_text_prints_the_recorded_events_as_watch_does(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, expected = load(name)
    assert cli.main(["replay", str(FIXTURES / f"{name}.pqcap")]) == 0
    text = [event_to_text(from_dict(json.loads(line))) for line in expected]
    assert capsys.readouterr().out.splitlines() == text


@pytest.mark.parametrize("name", NAMES)
def test_the_recorded_events_tell_the_scenario(name: str) -> None:
    capture, expected = load(name)
    events = [decode_notification(r.data) for r in capture.channel(Channel.EVENT)]
    assert [from_dict(json.loads(line)) for line in expected] == events
    segments = segments_from_metadata(capture.header.metadata)
    node = capture.header.metadata["node"]
    steps = [s.name for s in STEPS if node == OBSERVER or s.name in {g.step for g in segments}]
    assert [s.step for s in segments] == [SNAPSHOT, *steps]
    for segment in segments:
        check_segment(name, capture.header.model, events, segment)
    check_rings(name, capture.header.model, events, segments)
    wanted = sum(s.wanted(capture.header.model) for s in segments)
    assert len(events) == wanted + len(reformations(capture.header.model, events))


@pytest.mark.parametrize("name", [n for n in NAMES if n.endswith("-v1")])
def test_the_v0_session_on_the_same_node_saw_the_same_rings(name: str) -> None:
    _, v1 = load(name)
    _, v0 = load(name.removesuffix("-v1") + "-v0")
    v1_seqs = [json.loads(line)["ring_id"]["seq"] for line in v1
               if json.loads(line)["type"] == "quorum"]
    assert v1_seqs == [json.loads(line)["ring_seq"] for line in v0]
