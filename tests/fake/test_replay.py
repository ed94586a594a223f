"""Serving a capture: records of a client session become a script the fake serves.

Records are built here with the message encoders, as ``pyquorum record``
would store a real session (channel, time, raw bytes); the captures of real
clusters are served in test_serve_capture.py.
"""

from __future__ import annotations

import pytest

from pyquorum import Model, Track
from pyquorum.capture import CaptureRecord, Channel
from pyquorum.errors import CsErrorCode
from pyquorum.fake import ScriptError
from pyquorum.fake.replay import script_from_records
from pyquorum.formatting import event_to_dict
from pyquorum.messages.constants import QuorumType
from pyquorum.messages.types import (
    ErrorResponse,
    GetTypeRequest,
    GetTypeResponse,
    Message,
    ModelGetTypeRequest,
    ModelGetTypeResponse,
    NodelistNotification,
    QuorumNotification,
    QuorumNotificationV0,
    RingId,
    TrackStartRequest,
    TrackStartResponse,
)
from tests.support.capture import record
from tests.support.fake import Factory

OK = CsErrorCode.OK


def records(*items: tuple[float, Message]) -> list[CaptureRecord]:
    return [record(t, msg) for t, msg in items]


R1, R2, R3 = RingId(1, 12), RingId(1, 16), RingId(1, 20)

V1_SESSION = records(
    (10.0, ModelGetTypeRequest(Model.V1)),
    (10.0, ModelGetTypeResponse(OK, QuorumType.SET)),
    (10.1, TrackStartRequest(Track.CURRENT | Track.CHANGES)),
    (10.1, NodelistNotification(R1, (1, 2, 3), (), ())),
    (10.1, QuorumNotification(True, R1, (1, 2, 3))),
    (10.1, TrackStartResponse(OK)),
    (11.1, NodelistNotification(R2, (1, 2), (), (3,))),
    (11.1, QuorumNotification(True, R2, (1, 2))),
    (11.6, QuorumNotification(False, R2, (1, 2))),
    (12.1, NodelistNotification(R3, (1, 2, 3), (3,), ())),
    (12.1, QuorumNotification(True, R3, (1, 2, 3))),
)


def test_a_v1_capture_becomes_its_story() -> None:
    script = script_from_records(V1_SESSION)
    assert script.model_v1 and script.quorum_type is QuorumType.SET
    assert (script.initial.members, script.initial.ring_id) == ((1, 2, 3), R1)
    assert [round(s.at, 3) for s in script.steps] == [1.0, 1.5, 2.0]
    first, second, third = script.changes
    assert first.membership and first.left == (3,) and first.state.ring_id == R2
    assert not second.membership and second.state.quorate is False
    assert third.joined == (3,) and third.state.quorate is True


def test_an_old_corosync_capture_serves_v0_only() -> None:
    session = records(
        (0.0, ModelGetTypeRequest(Model.V1)),
        (0.0, ErrorResponse(CsErrorCode.ERR_INVALID_PARAM)),
        (0.0, GetTypeRequest()),
        (0.0, GetTypeResponse(OK, QuorumType.FREE)),
        (0.1, TrackStartRequest(Track.CHANGES)),
        (0.1, QuorumNotificationV0(True, 12, (1, 2))),
        (0.1, TrackStartResponse(OK)),
        (0.6, QuorumNotificationV0(True, 16, (1,))),
        (0.9, QuorumNotificationV0(False, 16, (1,))),
    )
    script = script_from_records(session)
    assert script.model_v1 is False and script.quorum_type is QuorumType.FREE
    assert [c.membership for c in script.changes] == [True, False]
    assert script.changes[0].left == (2,)


def test_a_capture_without_events_is_refused() -> None:
    with pytest.raises(ScriptError, match="no quorum state"):
        script_from_records(V1_SESSION[:3])


def test_damaged_bytes_are_a_script_error() -> None:
    broken = [*V1_SESSION[:6], CaptureRecord(Channel.EVENT, 11.0, b"\x07\x00")]
    with pytest.raises(ScriptError, match="cannot decode"):
        script_from_records(broken)


def test_a_replayed_capture_reaches_both_models(fake: Factory, transport: str) -> None:
    script = script_from_records(V1_SESSION)
    server = fake(script, transport=transport, speed=20)
    with server.session(Model.V1) as v1:
        v1.trackstart(Track.CURRENT | Track.CHANGES)
        seen = []
        for event in v1.events(timeout=2):
            seen.append(event_to_dict(event))
            if len(seen) == 7:
                break
    recorded = [
        event_to_dict(e) for e in (
            NodelistNotification(R1, (1, 2, 3), (), ()),
            QuorumNotification(True, R1, (1, 2, 3)),
            NodelistNotification(R2, (1, 2), (), (3,)),
            QuorumNotification(True, R2, (1, 2)),
            QuorumNotification(False, R2, (1, 2)),
            NodelistNotification(R3, (1, 2, 3), (3,), ()),
            QuorumNotification(True, R3, (1, 2, 3)),
        )
    ]
    assert seen == recorded
