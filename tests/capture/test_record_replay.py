"""Recording a session (RecordingConnection) and playing it back (PlaybackConnection)."""

from __future__ import annotations

import io
import os
import select

import pytest

from pyquorum import QuorumSession
from pyquorum.capture import (
    Capture,
    CaptureError,
    CaptureRecord,
    CaptureWriter,
    Channel,
    PlaybackConnection,
    RecordingConnection,
    capture_from_bytes,
)
from pyquorum.errors import BadHandleError, ConnectionLost, CsTimeoutError
from pyquorum.messages.constants import Model, QuorumType, Track
from pyquorum.messages.quorum import decode_notification, decode_request, decode_response
from pyquorum.messages.types import (
    ErrorResponse,
    GetQuorateRequest,
    GetQuorateResponse,
    GetTypeRequest,
    GetTypeResponse,
    ModelGetTypeRequest,
    QuorumNotificationV0,
    TrackStartRequest,
    TrackStartResponse,
)
from tests.support.capture import HEADER, OK, V1_CAPTURE, V1_EVENTS, record
from tests.support.session_fakes import HANG, FakeConnection, Reply, v1_init


def recorded(fake: FakeConnection, model: Model = Model.V1) -> tuple[QuorumSession, io.BytesIO,
                                                                       CaptureWriter]:
    buffer = io.BytesIO()
    writer = CaptureWriter(buffer, HEADER)
    session = QuorumSession(model, connection=RecordingConnection(fake, writer), timeout=1)
    return session, buffer, writer


def test_every_request_response_and_event_is_recorded_in_order() -> None:
    fake = FakeConnection(v1_init(), Reply(TrackStartResponse(OK), V1_EVENTS[:2]),
                          GetQuorateResponse(OK, True))
    session, buffer, writer = recorded(fake)
    with session:
        session.trackstart(Track.CURRENT | Track.CHANGES)
        assert list(session.events(timeout=0)) == list(V1_EVENTS[:2])
        assert session.getquorate() is True
    writer.close()
    assert fake.closed  # the session closed the wrapped connection
    records = capture_from_bytes(buffer.getvalue()).records
    channels = [r.channel.name for r in records]
    assert channels == ["REQUEST", "RESPONSE", "REQUEST", "RESPONSE", "EVENT", "EVENT",
                        "REQUEST", "RESPONSE"]
    assert decode_request(records[0].data) == ModelGetTypeRequest(Model.V1)
    assert decode_request(records[2].data) == TrackStartRequest(Track.CURRENT | Track.CHANGES)
    assert decode_response(records[7].data) == GetQuorateResponse(OK, True)
    assert [decode_notification(r.data) for r in records[4:6]] == list(V1_EVENTS[:2])
    times = [r.time for r in records]
    assert times == sorted(times)


def test_a_failed_request_is_recorded_without_a_response() -> None:
    fake = FakeConnection(v1_init(), HANG)
    session, buffer, writer = recorded(fake)
    with session, pytest.raises(CsTimeoutError):
        session.getquorate(timeout=0.05)
    writer.close()
    records = capture_from_bytes(buffer.getvalue()).records
    assert [r.channel for r in records] == [Channel.REQUEST, Channel.RESPONSE, Channel.REQUEST]


def test_an_event_wait_that_ends_empty_records_nothing() -> None:
    fake = FakeConnection(v1_init())
    session, buffer, writer = recorded(fake)
    with session:
        assert list(session.events(timeout=0.01)) == []
        fake.lose()
        with pytest.raises(ConnectionLost):
            list(session.events(timeout=1))
    writer.close()
    assert len(capture_from_bytes(buffer.getvalue()).records) == 2


def test_the_recording_connection_passes_fileno_through() -> None:
    fake = FakeConnection()
    wrapped = RecordingConnection(fake, CaptureWriter(io.BytesIO(), HEADER))
    assert wrapped.fileno() == fake.fileno()
    assert "RecordingConnection" in repr(wrapped)
    wrapped.close()
    assert fake.closed


# ------------------------------------------------------------------ playback


def test_a_session_over_a_playback_gets_the_recorded_events() -> None:
    playback = PlaybackConnection(V1_CAPTURE)
    with QuorumSession(Model.V1, connection=playback) as session:
        assert session.quorum_type is QuorumType.SET
        readable, _, _ = select.select([session.fileno()], [], [], 0)
        assert readable
        session.trackstart(Track.CURRENT | Track.CHANGES)
        assert list(session.events(timeout=0)) == list(V1_EVENTS)
        assert playback.pending() == 0
        readable, _, _ = select.select([session.fileno()], [], [], 0)
        assert not readable
    assert playback.closed


def test_playback_skips_recorded_requests_the_session_does_not_repeat() -> None:
    records = list(V1_CAPTURE.records)
    records[2:2] = [record(0.003, GetQuorateRequest()), record(0.003, GetQuorateResponse(OK, True))]
    with QuorumSession(Model.V1, connection=PlaybackConnection(
            Capture(HEADER, tuple(records)))) as session:
        session.trackstart(Track.CURRENT | Track.CHANGES)
        assert len(list(session.events(timeout=0))) == 4


def test_playback_of_an_auto_session_that_fell_back_to_v0() -> None:
    event = QuorumNotificationV0(True, 12, (1, 2))
    capture = Capture(HEADER, (
        record(0, ModelGetTypeRequest(Model.V1)), record(0, ErrorResponse(7)),
        record(0, GetTypeRequest()), record(0, GetTypeResponse(OK, QuorumType.SET)),
        record(0, TrackStartRequest(Track.CHANGES)), record(0, event),
        record(0, TrackStartResponse(OK)),
    ))
    with QuorumSession(Model.AUTO, connection=PlaybackConnection(capture)) as session:
        assert session.model is Model.V0
        session.trackstart(Track.CHANGES)
        assert list(session.events(timeout=0)) == [event]


def test_playback_names_a_request_it_cannot_answer() -> None:
    playback = PlaybackConnection(V1_CAPTURE)
    with pytest.raises(CaptureError, match="holds no request 0c00"):
        playback.request(bytes.fromhex("0c00"))
    cut = Capture(HEADER, V1_CAPTURE.records[:1])
    with pytest.raises(CaptureError, match="record 0: this request got no response"):
        PlaybackConnection(cut).request(V1_CAPTURE.records[0].data)
    playback.close()
    with pytest.raises(BadHandleError):
        playback.request(b"")
    assert playback.recv_event(None) is None


def test_playback_without_events_is_not_readable() -> None:
    playback = PlaybackConnection(Capture(HEADER, (CaptureRecord(Channel.REQUEST, 0, b""),)))
    fd = playback.fileno()
    assert select.select([fd], [], [], 0)[0] == []
    playback.close()
    with pytest.raises(OSError):
        os.fstat(fd)
