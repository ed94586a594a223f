"""Small builders shared by the capture tests."""

from __future__ import annotations

import dataclasses
import io
import json
import struct
import zlib

from pyquorum.capture import (
    CAPTURE_VERSION,
    MAGIC,
    Capture,
    CaptureConnection,
    CaptureHeader,
    CaptureRecord,
    Channel,
    CloseReason,
    write_capture,
)
from pyquorum.errors import CsErrorCode
from pyquorum.events import ConnectionLostEvent, Reconnected
from pyquorum.messages.constants import Model, QuorumType, Track
from pyquorum.messages.quorum import encode_notification, encode_request, encode_response
from pyquorum.messages.types import (
    Message,
    ModelGetTypeRequest,
    ModelGetTypeResponse,
    NodelistNotification,
    Notification,
    QuorumNotification,
    Request,
    Response,
    RingId,
    TrackStartRequest,
    TrackStartResponse,
)

OK = CsErrorCode.OK
#: The version-1 tests' preamble and header (version 1: one connection, in the header).
PREAMBLE = MAGIC + b"1\n"
HEADER = CaptureHeader(
    transport="shm", model=Model.V1, version=1, pyquorum_version="0.1.0",
    corosync_version="3.1.7", libqb_version="2.0.6", created="2026-01-02T03:04:05Z",
    max_msg_size=1048576,
)
#: A version-2 header (what pyquorum writes now).
HEADER_V2 = CaptureHeader(
    model=Model.V1, version=CAPTURE_VERSION, pyquorum_version="0.1.0",
    corosync_version="3.1.7", libqb_version="2.0.6", created="2026-01-02T03:04:05Z",
    command=("watch",),
)
R1, R2 = RingId(1, 12), RingId(1, 16)


def record(time: float, message: Message) -> CaptureRecord:
    if isinstance(message, Request):
        return CaptureRecord(Channel.REQUEST, time, encode_request(message))
    if isinstance(message, Response):
        return CaptureRecord(Channel.RESPONSE, time, encode_response(message))
    assert isinstance(message, Notification)
    return CaptureRecord(Channel.EVENT, time, encode_notification(message))


#: A V1 watch: init, TRACKSTART with its snapshot, then node 3 leaving.
V1_EVENTS = (
    NodelistNotification(R1, (1, 2, 3), (), ()),
    QuorumNotification(True, R1, (1, 2, 3)),
    NodelistNotification(R2, (1, 2), (), (3,)),
    QuorumNotification(True, R2, (1, 2)),
)
V1_RECORDS = (
    record(0.001, ModelGetTypeRequest(Model.V1)),
    record(0.002, ModelGetTypeResponse(OK, QuorumType.SET)),
    record(0.003, TrackStartRequest(Track.CURRENT | Track.CHANGES)),
    record(0.004, TrackStartResponse(OK)),
    record(0.005, V1_EVENTS[0]),
    record(0.005, V1_EVENTS[1]),
    record(2.5, V1_EVENTS[2]),
    record(2.5, V1_EVENTS[3]),
)
V1_CAPTURE = Capture(HEADER, V1_RECORDS)


def to_bytes(capture: Capture) -> bytes:
    buffer = io.BytesIO()
    write_capture(buffer, capture)
    return buffer.getvalue()


def frame(kind: int, data: bytes, time: float = 0.0, reserved: bytes = b"\0\0\0") -> bytes:
    """One record framed by hand, with a correct CRC (to test what comes after it)."""
    head = struct.pack("<B3sId", kind, reserved, len(data), time)
    return head + data + struct.pack("<I", zlib.crc32(head + data))


def header_frame(obj: object | None = None) -> bytes:
    return frame(0, json.dumps(HEADER.to_json() if obj is None else obj).encode())


def end_frame(count: int, time: float = 10.0) -> bytes:
    return frame(4, json.dumps({"records": count}).encode(), time)


# ------------------------------------------------------------------ version 2


def vq_record(time: float, message: object, connection: int) -> CaptureRecord:
    """A votequorum message as a record of ``connection``."""
    from pyquorum.messages import votequorum as vq

    if isinstance(message, vq.Request):
        return CaptureRecord(Channel.REQUEST, time, vq.encode_request(message), connection)
    if isinstance(message, vq.Response):
        return CaptureRecord(Channel.RESPONSE, time, vq.encode_response(message), connection)
    assert isinstance(message, vq.Notification)
    return CaptureRecord(Channel.EVENT, time, vq.encode_notification(message), connection)


def on(connection: int, *records: CaptureRecord) -> tuple[CaptureRecord, ...]:
    """Quorum records moved to ``connection``."""
    return tuple(CaptureRecord(r.channel, r.time, r.data, connection) for r in records)


def shifted(by: float, *records: CaptureRecord) -> tuple[CaptureRecord, ...]:
    return tuple(CaptureRecord(r.channel, r.time + by, r.data, r.connection) for r in records)


def _vq_parts() -> tuple[tuple[object, ...], tuple[CaptureRecord, ...]]:
    from pyquorum.messages import votequorum as vq
    from pyquorum.messages.constants import NodeState

    flags = Track.CURRENT | Track.CHANGES
    nodes = tuple(vq.NodeStatus(n, NodeState.MEMBER) for n in (1, 2, 3))
    events: tuple[object, ...] = (
        vq.NodelistNotification(0, R1, (1, 2, 3)),
        vq.QuorumNotification(True, 0, nodes),
        vq.ExpectedVotesNotification(0, 2),
    )
    records = (
        vq_record(0.0042, vq.TrackStartRequest(flags, 0), 1),
        vq_record(0.0044, vq.StatusResponse(OK), 1),
        vq_record(0.0051, events[0], 1),
        vq_record(0.0052, events[1], 1),
        vq_record(1.0, events[2], 1),
    )
    return events, records


VQ_EVENTS, _VQ_RECORDS = _vq_parts()
#: ``watch --votequorum``: a quorum connection (0) and a votequorum one (1), their
#: events interleaved as received: quorum's snapshot, votequorum's, an expected
#: votes change, then node 3 leaving (quorum).
VQ_WATCH = Capture(
    dataclasses.replace(HEADER_V2, command=("watch", "--votequorum")),
    (
        *on(0, *V1_RECORDS[:4]),
        _VQ_RECORDS[0], _VQ_RECORDS[1],
        *on(0, V1_RECORDS[4], V1_RECORDS[5]),
        _VQ_RECORDS[2], _VQ_RECORDS[3], _VQ_RECORDS[4],
        *on(0, V1_RECORDS[6], V1_RECORDS[7]),
    ),
    (
        CaptureConnection(0, "quorum", "shm", 0.0005, 3.0, 1048576),
        CaptureConnection(1, "votequorum", "shm", 0.003, 3.0, 1048576),
    ),
)
VQ_WATCH_PRINTED = (V1_EVENTS[0], V1_EVENTS[1], *VQ_EVENTS, V1_EVENTS[2], V1_EVENTS[3])

LOST = "corosync closed the connection"
#: ``watch --reconnect``: connection 0 sees the snapshot and is lost; connection 1
#: (attempt 2) is refused an answer and lost too (a failed attempt); connection 2
#: (after 4 attempts) sees the new snapshot (node 3 gone) and is closed at the end.
RECONNECT_WATCH = Capture(
    CaptureHeader(model=Model.V1, pyquorum_version="0.1.0", created="2026-01-02T03:04:05Z",
                  command=("watch", "--reconnect")),
    (
        *on(0, *V1_RECORDS[:6]),
        *on(1, *shifted(2.0, V1_RECORDS[0])),
        *on(2, *shifted(4.0, *V1_RECORDS[:4])),
        *on(2, *shifted(4.0, V1_RECORDS[6], V1_RECORDS[7])),
    ),
    (
        CaptureConnection(0, "quorum", "socket", 0.0, 1.0, 8192, 1, CloseReason.LOST, LOST),
        CaptureConnection(1, "quorum", "socket", 2.0, 2.5, 8192, 2, CloseReason.LOST, LOST),
        CaptureConnection(2, "quorum", "socket", 4.0, 9.0, 8192, 4, CloseReason.CLOSED),
    ),
)
RECONNECT_PRINTED = (
    V1_EVENTS[0], V1_EVENTS[1], ConnectionLostEvent(LOST),
    Reconnected(QuorumType.SET, Model.V1, 4), V1_EVENTS[2], V1_EVENTS[3],
)
