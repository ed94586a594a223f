"""Small builders shared by the capture tests."""

from __future__ import annotations

import io
import json
import struct
import zlib

from pyquorum.capture import (
    CAPTURE_VERSION,
    MAGIC,
    Capture,
    CaptureHeader,
    CaptureRecord,
    Channel,
    write_capture,
)
from pyquorum.errors import CsErrorCode
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
