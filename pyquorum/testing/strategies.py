"""Hypothesis strategies for every message pyquorum encodes or decodes.

For property tests of pyquorum itself and of code built on it (a fake
server, a session driven with arbitrary events).  Values come out the way
the decoders produce them (a known error is a ``CsErrorCode``, an unknown
one a plain ``int``; likewise ``QuorumType``, ``Model`` and
``ConnectionType``), so ``decode(encode(x)) == x`` holds field by field,
types included.

This is the only module of pyquorum that imports hypothesis.
"""

from __future__ import annotations

import os
from enum import IntEnum
from typing import TypeVar

from hypothesis import strategies as st

from pyquorum.errors import CsErrorCode
from pyquorum.messages.constants import (
    PATH_MAX,
    REQUEST_HEADER_SIZE,
    RESPONSE_HEADER_SIZE,
    ConnectionType,
    Model,
    QuorumType,
    RequestId,
    ResponseId,
    Track,
)
from pyquorum.messages.types import (
    ConnectionRequest,
    ConnectionResponse,
    ErrorResponse,
    GetQuorateRequest,
    GetQuorateResponse,
    GetTypeRequest,
    GetTypeResponse,
    ModelGetTypeRequest,
    ModelGetTypeResponse,
    NodelistNotification,
    Notification,
    QuorumNotification,
    QuorumNotificationV0,
    Request,
    RequestHeader,
    Response,
    ResponseHeader,
    RingId,
    TrackStartRequest,
    TrackStartResponse,
    TrackStopRequest,
    TrackStopResponse,
    UnknownNotification,
    UnknownRequest,
)

__all__ = [
    "connection_requests",
    "connection_responses",
    "cs_errors",
    "error_responses",
    "getquorate_requests",
    "getquorate_responses",
    "gettype_requests",
    "gettype_responses",
    "model_gettype_requests",
    "model_gettype_responses",
    "node_lists",
    "nodelist_notifications",
    "notifications",
    "paths",
    "quorum_notifications",
    "quorum_notifications_v0",
    "quorum_types",
    "request_headers",
    "requests",
    "response_headers",
    "responses",
    "ring_ids",
    "trackstart_requests",
    "trackstart_responses",
    "trackstop_requests",
    "trackstop_responses",
    "unknown_notifications",
    "unknown_requests",
]

_E = TypeVar("_E", bound=IntEnum)

_I32 = st.integers(-(2**31), 2**31 - 1)
_U32 = st.integers(0, 2**32 - 1)
_U64 = st.integers(0, 2**64 - 1)
_I64 = st.integers(-(2**63), 2**63 - 1)
#: Lists stay short by default: long ones exercise nothing new and slow the tests.
_MAX_NODES = 16


def _known_or_int(enum: type[_E], values: st.SearchStrategy[int]) -> st.SearchStrategy[_E | int]:
    """Known members half the time (they are what matters), any wire value otherwise."""
    table = {int(m): m for m in enum}
    return st.one_of(
        st.sampled_from(sorted(table.values())),
        values.map(lambda v: table.get(v, v)),
    )


# ------------------------------------------------------------------ field values


def cs_errors() -> st.SearchStrategy[CsErrorCode | int]:
    """A response ``error``: any i32, as a CsErrorCode when it is one."""
    return _known_or_int(CsErrorCode, _I32)


def quorum_types() -> st.SearchStrategy[QuorumType | int]:
    return _known_or_int(QuorumType, _U32)


def node_lists(max_size: int = _MAX_NODES) -> st.SearchStrategy[tuple[int, ...]]:
    return st.lists(_U32, max_size=max_size).map(tuple)


def ring_ids() -> st.SearchStrategy[RingId]:
    return st.builds(RingId, nodeid=_U32, seq=_U64)


def paths(max_bytes: int = 128) -> st.SearchStrategy[str]:
    """Paths as the decoder returns them: ``os.fsdecode`` of NUL-free bytes.

    ``max_bytes`` may be raised up to PATH_MAX - 1; the default keeps examples cheap.
    """
    limit = min(max_bytes, PATH_MAX - 1)
    return st.binary(max_size=limit).map(lambda b: os.fsdecode(b.replace(b"\0", b"")))


# ------------------------------------------------------------------ libqb


def connection_requests() -> st.SearchStrategy[ConnectionRequest]:
    return st.builds(ConnectionRequest, max_msg_size=_U32)


def connection_responses() -> st.SearchStrategy[ConnectionResponse]:
    return st.builds(
        ConnectionResponse,
        error=st.one_of(st.just(0), st.integers(-4095, -1), _I32),
        connection_type=_known_or_int(ConnectionType, _I32),
        max_msg_size=_U32,
        connection=_I64,
        request=paths(),
        response=paths(),
        event=paths(),
    )


def request_headers() -> st.SearchStrategy[RequestHeader]:
    return st.builds(RequestHeader, id=_I32, size=st.integers(REQUEST_HEADER_SIZE, 2**31 - 1))


def response_headers() -> st.SearchStrategy[ResponseHeader]:
    return st.builds(
        ResponseHeader,
        id=_I32,
        size=st.integers(RESPONSE_HEADER_SIZE, 2**31 - 1),
        error=cs_errors(),
    )


# ------------------------------------------------------------------ requests


def getquorate_requests() -> st.SearchStrategy[GetQuorateRequest]:
    return st.just(GetQuorateRequest())


def trackstart_requests() -> st.SearchStrategy[TrackStartRequest]:
    flags = st.one_of(st.sampled_from([1, 2, 3, 4, 5, 6, 7]), _U32)
    return st.builds(TrackStartRequest, flags=flags.map(Track))


def trackstop_requests() -> st.SearchStrategy[TrackStopRequest]:
    return st.just(TrackStopRequest())


def gettype_requests() -> st.SearchStrategy[GetTypeRequest]:
    return st.just(GetTypeRequest())


def model_gettype_requests() -> st.SearchStrategy[ModelGetTypeRequest]:
    wire_models = st.one_of(st.sampled_from([Model.V0, Model.V1]), _U32.map(_model))
    return st.builds(ModelGetTypeRequest, model=wire_models)


def _model(value: int) -> Model | int:
    return Model(value) if value in (Model.V0, Model.V1) else value


def unknown_requests(max_body: int = 64) -> st.SearchStrategy[UnknownRequest]:
    known = {int(i) for i in RequestId}
    ids = _I32.filter(lambda i: i not in known)
    return st.builds(
        lambda ident, body: UnknownRequest(ident, REQUEST_HEADER_SIZE + len(body), body),
        ids,
        st.binary(max_size=max_body),
    )


def requests() -> st.SearchStrategy[Request]:
    return st.one_of(
        getquorate_requests(),
        trackstart_requests(),
        trackstop_requests(),
        gettype_requests(),
        model_gettype_requests(),
        unknown_requests(),
    )


# ------------------------------------------------------------------ responses


def getquorate_responses() -> st.SearchStrategy[GetQuorateResponse]:
    return st.builds(GetQuorateResponse, error=cs_errors(), quorate=st.booleans())


def trackstart_responses() -> st.SearchStrategy[TrackStartResponse]:
    return st.builds(TrackStartResponse, error=cs_errors())


def trackstop_responses() -> st.SearchStrategy[TrackStopResponse]:
    return st.builds(TrackStopResponse, error=cs_errors())


def gettype_responses() -> st.SearchStrategy[GetTypeResponse]:
    return st.builds(GetTypeResponse, error=cs_errors(), quorum_type=quorum_types())


def model_gettype_responses() -> st.SearchStrategy[ModelGetTypeResponse]:
    return st.builds(ModelGetTypeResponse, error=cs_errors(), quorum_type=quorum_types())


def error_responses() -> st.SearchStrategy[ErrorResponse]:
    return st.builds(ErrorResponse, error=cs_errors())


def responses() -> st.SearchStrategy[Response]:
    return st.one_of(
        getquorate_responses(),
        trackstart_responses(),
        trackstop_responses(),
        gettype_responses(),
        model_gettype_responses(),
        error_responses(),
    )


# ------------------------------------------------------------------ notifications


def quorum_notifications_v0() -> st.SearchStrategy[QuorumNotificationV0]:
    return st.builds(
        QuorumNotificationV0, quorate=st.booleans(), ring_seq=_U64, members=node_lists()
    )


def quorum_notifications() -> st.SearchStrategy[QuorumNotification]:
    return st.builds(
        QuorumNotification, quorate=st.booleans(), ring_id=ring_ids(), members=node_lists()
    )


def nodelist_notifications() -> st.SearchStrategy[NodelistNotification]:
    return st.builds(
        NodelistNotification,
        ring_id=ring_ids(),
        members=node_lists(),
        joined=node_lists(),
        left=node_lists(),
    )


def unknown_notifications(max_data: int = 64) -> st.SearchStrategy[UnknownNotification]:
    known = {
        int(ResponseId.NOTIFICATION),
        int(ResponseId.V1_QUORUM_NOTIFICATION),
        int(ResponseId.V1_NODELIST_NOTIFICATION),
    }
    return st.builds(
        UnknownNotification,
        id=_I32.filter(lambda i: i not in known),
        error=cs_errors(),
        data=st.binary(max_size=max_data),
    )


def notifications() -> st.SearchStrategy[Notification]:
    return st.one_of(
        quorum_notifications_v0(),
        quorum_notifications(),
        nodelist_notifications(),
        unknown_notifications(),
    )
