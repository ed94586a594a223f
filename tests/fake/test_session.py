"""pyquorum's QuorumSession against the fake server, on both libqb transports.

Each test checks one rule of corosync's quorum service as the fake serves
it (docs/protocol.md §6), through the real client over real IPC.
"""

from __future__ import annotations

import time

import pytest

from pyquorum import (
    CsTimeoutError,
    ExistError,
    InvalidParamError,
    Model,
    QuorumType,
    Track,
    TryAgainError,
)
from pyquorum.errors import CsErrorCode
from pyquorum.fake import Script, Step
from pyquorum.formatting import event_to_dict
from pyquorum.ipc.client.connection import IpcConnection
from pyquorum.messages.quorum import decode_response, encode_request
from pyquorum.messages.types import (
    ErrorResponse,
    GetTypeRequest,
    GetTypeResponse,
    ModelGetTypeRequest,
    ModelGetTypeResponse,
    NodelistNotification,
    QuorumNotification,
    QuorumNotificationV0,
    Request,
    Response,
    RingId,
    TrackStartRequest,
    TrackStartResponse,
    UnknownRequest,
)
from tests.support.fake import STORY, Factory, expected_events_v0, expected_events_v1

STILL = Script.build([1, 2, 3], ring_id=RingId(1, 8))


def test_every_event_of_a_script_reaches_a_v1_session(fake: Factory, transport: str) -> None:
    server = fake(STORY, transport=transport)
    with server.session(Model.V1) as session:
        assert session.model is Model.V1 and session.quorum_type is QuorumType.SET
        assert session.getquorate() is True
        session.trackstart(Track.CURRENT | Track.CHANGES)
        seen = []
        for event in session.events(timeout=2.0):
            seen.append(event_to_dict(event))
            if len(seen) == len(expected_events_v1(STORY)):
                break
        server.wait_finished()
        assert list(session.events(timeout=0.1)) == []
        assert session.getquorate() is True
    assert seen == expected_events_v1(STORY)


def test_every_event_of_a_script_reaches_a_v0_session(fake: Factory, transport: str) -> None:
    server = fake(STORY, transport=transport)
    with server.session(Model.V0) as session:
        session.trackstart(Track.CHANGES)
        seen = []
        for event in session.events(timeout=2.0):
            seen.append(event_to_dict(event))
            if len(seen) == 4:
                break
    assert seen == expected_events_v0(STORY)


def test_getquorate_follows_the_state(fake: Factory, transport: str) -> None:
    server = fake(STILL, transport=transport)
    with server.session() as session:
        assert session.getquorate() is True
        server.apply(Step(0, quorate=False))
        assert session.getquorate() is False


def test_quorum_type_free_is_served(fake: Factory, transport: str) -> None:
    script = Script.build([1], quorum_type=QuorumType.FREE)
    with fake(script, transport=transport).session(Model.V0) as session:
        assert session.quorum_type is QuorumType.FREE


def test_trackstart_current_is_a_snapshot_without_subscription(
    fake: Factory, transport: str
) -> None:
    server = fake(STILL, transport=transport)
    with server.session() as session:
        session.trackstart(Track.CURRENT)
        snapshot = list(session.events(timeout=0.2))
        assert snapshot == [
            NodelistNotification(RingId(1, 8), (1, 2, 3), (), ()),
            QuorumNotification(True, RingId(1, 8), (1, 2, 3)),
        ]
        server.apply(Step(0, members=(1, 2)))
        assert list(session.events(timeout=0.2)) == []
        # Not subscribed, so a second TRACKSTART is no EXIST.
        session.trackstart(Track.CHANGES)
        assert [type(e) for e in session.events(timeout=0.2)] == [
            NodelistNotification, QuorumNotification,
        ]


def test_second_trackstart_reports_exist_and_still_sends_the_snapshot(
    fake: Factory, transport: str
) -> None:
    server = fake(STILL, transport=transport)
    with server.session() as session:
        session.trackstart(Track.CHANGES)
        assert len(list(session.events(timeout=0.2))) == 2
        with pytest.raises(ExistError):
            session.trackstart(Track.CURRENT)
        assert len(list(session.events(timeout=0.2))) == 2
        # The subscription is unchanged: changes still come.
        server.apply(Step(0, quorate=False))
        assert list(session.events(timeout=0.2)) == [
            QuorumNotification(False, RingId(1, 8), (1, 2, 3))
        ]


def test_changes_only_sends_no_snapshot_but_every_change(fake: Factory, transport: str) -> None:
    server = fake(STILL, transport=transport)
    with server.session() as session:
        session.trackstart(Track.CHANGES_ONLY)
        assert list(session.events(timeout=0.2)) == []
        change = server.apply(Step(0, members=(1, 3)))
        assert list(session.events(timeout=0.5)) == [
            NodelistNotification(change.state.ring_id, (1, 3), (), (2,)),
            QuorumNotification(True, change.state.ring_id, (1, 3)),
        ]


def test_a_quorum_only_change_sends_quorum_alone(fake: Factory, transport: str) -> None:
    server = fake(STILL, transport=transport)
    with server.session(Model.V1) as v1, server.session(Model.V0) as v0:
        v1.trackstart(Track.CHANGES_ONLY)
        v0.trackstart(Track.CHANGES_ONLY)
        server.apply(Step(0, quorate=False))
        assert list(v1.events(timeout=0.3)) == [QuorumNotification(False, RingId(1, 8), (1, 2, 3))]
        assert list(v0.events(timeout=0.3)) == [QuorumNotificationV0(False, 8, (1, 2, 3))]


def test_trackstop_always_answers_ok_and_stops_changes(fake: Factory, transport: str) -> None:
    server = fake(STILL, transport=transport)
    with server.session() as session:
        session.trackstop()  # not tracking: still OK
        session.trackstart(Track.CHANGES_ONLY)
        session.trackstop()
        session.trackstop()
        server.apply(Step(0, quorate=False))
        assert list(session.events(timeout=0.2)) == []
        session.trackstart(Track.CHANGES_ONLY)  # no EXIST after a stop


def _raw_request(conn: IpcConnection, request: Request) -> Response:
    return decode_response(conn.request(encode_request(request), timeout=5))


def test_raw_requests_follow_corosync(fake: Factory, transport: str) -> None:
    """A connection starts V0; MODEL_GETTYPE switches it; a bad model or id gets error 7."""
    server = fake(STILL, transport=transport)
    with server.netns_context():
        conn = IpcConnection.connect("quorum", timeout=5)
    with conn:
        assert _raw_request(conn, GetTypeRequest()) == GetTypeResponse(
            CsErrorCode.OK, QuorumType.SET
        )
        assert _raw_request(conn, ModelGetTypeRequest(7)) == ModelGetTypeResponse(
            CsErrorCode.ERR_INVALID_PARAM, QuorumType.SET
        )
        assert _raw_request(conn, UnknownRequest(99, 16, b"")) == ErrorResponse(
            CsErrorCode.ERR_INVALID_PARAM
        )
        raw = conn.request(encode_request(UnknownRequest(99, 16, b"")), timeout=5)
        assert len(raw) == 24
        # Still V0 after the invalid model: a snapshot is one id 3.
        assert _raw_request(conn, TrackStartRequest(Track.CURRENT)) == TrackStartResponse(
            CsErrorCode.OK
        )
        event = conn.recv_event(timeout=1)
        assert event is not None and event[:4] == bytes([3, 0, 0, 0])


def test_auto_falls_back_to_v0_on_an_old_corosync(fake: Factory, transport: str) -> None:
    old = Script(STORY.initial, STORY.steps, model_v1=False)
    server = fake(old, transport=transport)
    with pytest.raises(InvalidParamError):
        server.session(Model.V1)
    with server.session(Model.AUTO) as session:
        assert session.model is Model.V0
        session.trackstart(Track.CURRENT | Track.CHANGES)
        seen = []
        for event in session.events(timeout=2.0):
            seen.append(event_to_dict(event))
            if len(seen) == 4:
                break
    assert seen == expected_events_v0(STORY)


def test_a_stalled_daemon_times_out_requests(fake: Factory, transport: str) -> None:
    server = fake(STILL, transport=transport, stall="requests")
    began = time.monotonic()
    with pytest.raises(CsTimeoutError):
        server.session(timeout=0.4)
    assert 0.35 <= time.monotonic() - began < 3.0
    server.wait_connections(0)


def test_a_stalled_handshake_times_out(fake: Factory, transport: str) -> None:
    server = fake(STILL, transport=transport, stall="handshake")
    began = time.monotonic()
    with pytest.raises(CsTimeoutError):
        server.session(timeout=0.4)
    assert 0.35 <= time.monotonic() - began < 3.0


def test_a_slow_daemon_answers_late_and_a_timed_out_answer_is_not_misdelivered(
    fake: Factory, transport: str
) -> None:
    server = fake(STILL, transport=transport, response_delay=0.3)
    began = time.monotonic()
    with server.session(timeout=5) as session:
        assert time.monotonic() - began >= 0.3
        with pytest.raises(CsTimeoutError):
            session.getquorate(timeout=0.1)
        server.apply(Step(0, quorate=False))
        # The late answer to the timed-out call (quorate) is discarded, not returned here.
        assert session.getquorate(timeout=5) is False


def test_a_daemon_not_ready_answers_try_again(fake: Factory, transport: str) -> None:
    server = fake(STILL, transport=transport)
    server.server.ready = False
    with pytest.raises(TryAgainError):
        server.session()
    server.server.ready = True
    with server.session() as session:
        assert session.getquorate()
