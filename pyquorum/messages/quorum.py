"""The quorum service's messages: requests, responses and notifications.

Layouts are in :mod:`pyquorum.messages._schema`.  The service-level rules
that live here:

* responses are identified by ``(id, size)``, not by id alone: id 0 is both
  GETQUORATE's answer (32 bytes) and the generic error reply (24 bytes), and
  GETTYPE/MODEL_GETTYPE are answered with ids 4/5 (docs/protocol.md §6.3);
* notifications (the event channel) live in :mod:`._notifications` and are
  re-exported from here, so this module stays the one public entry point;
* unknown request ids (server side) and notification ids (client side)
  decode to ``UnknownRequest``/``UnknownNotification`` rather than failing,
  for forward compatibility; an unknown response cannot be paired with its
  request, so it is a protocol error.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from pyquorum.errors import LocalProtocolError
from pyquorum.messages._codec import (
    Buffer,
    LazyModule,
    as_bytes,
    check_bool,
    check_exact,
    check_i32,
    check_size_field,
    check_u32,
    cs_error,
    encode_unknown_request,
    lookup,
    members,
    parse,
    parse_header,
    truncated,
    unmatched_response,
    wrong_type,
)
from pyquorum.messages._notifications import decode_notification, encode_notification
from pyquorum.messages.constants import (
    REQUEST_HEADER_SIZE,
    RESPONSE_HEADER_SIZE,
    Model,
    QuorumType,
    RequestId,
    ResponseId,
    Track,
)
from pyquorum.messages.types import (
    ErrorResponse,
    GetQuorateRequest,
    GetQuorateResponse,
    GetTypeRequest,
    GetTypeResponse,
    ModelGetTypeRequest,
    ModelGetTypeResponse,
    Request,
    Response,
    TrackStartRequest,
    TrackStartResponse,
    TrackStopRequest,
    TrackStopResponse,
    UnknownRequest,
)

if TYPE_CHECKING:
    from pyquorum.messages import _schema
else:
    _schema = LazyModule("pyquorum.messages._schema")

__all__ = [
    "RESPONSE_ID_FOR_REQUEST",
    "decode_notification",
    "decode_request",
    "decode_response",
    "encode_notification",
    "encode_request",
    "encode_response",
    "request_id_of",
]

#: The id each request is answered with (GETTYPE 3 -> 4, MODEL_GETTYPE 4 -> 5).
#: A request with an unknown id is answered with id 0 and size 24 instead.
RESPONSE_ID_FOR_REQUEST: Mapping[RequestId, ResponseId] = MappingProxyType(
    {
        RequestId.GETQUORATE: ResponseId.GETQUORATE,
        RequestId.TRACKSTART: ResponseId.TRACKSTART,
        RequestId.TRACKSTOP: ResponseId.TRACKSTOP,
        RequestId.GETTYPE: ResponseId.GETTYPE,
        RequestId.MODEL_GETTYPE: ResponseId.MODEL_GETTYPE,
    }
)

_MODELS = members(Model)
_QUORUM_TYPES = members(QuorumType)
_KNOWN_REQUEST_IDS = frozenset(int(i) for i in RequestId)
_KNOWN_RESPONSE_IDS = frozenset(int(i) for i in RESPONSE_ID_FOR_REQUEST.values())


# The requests a session sends are packed with struct, so that a client never
# needs construct (importing it and compiling the schemas would be most of a
# command's start-up).  REQUEST_HEADER, TRACKSTART_REQUEST and
# MODEL_GETTYPE_REQUEST remain the definition: tests/messages/test_fast_path.py
# checks these give the bytes the schemas build.
_REQUEST_HEADER_PACK = struct.Struct("<i4xi4x")  # qb_ipc_request_header, 16 bytes
_U32_REQUEST_PACK = struct.Struct("<i4xi4xI4x")  # header + u32 @16, 24 bytes


def _header_only(ident: RequestId) -> bytes:
    return _REQUEST_HEADER_PACK.pack(int(ident), REQUEST_HEADER_SIZE)


_HEADER_ONLY_REQUESTS: dict[type[Request], bytes] = {
    GetQuorateRequest: _header_only(RequestId.GETQUORATE),
    TrackStopRequest: _header_only(RequestId.TRACKSTOP),
    GetTypeRequest: _header_only(RequestId.GETTYPE),
}
_REQUEST_IDS: dict[type[Request], RequestId] = {
    GetQuorateRequest: RequestId.GETQUORATE,
    TrackStartRequest: RequestId.TRACKSTART,
    TrackStopRequest: RequestId.TRACKSTOP,
    GetTypeRequest: RequestId.GETTYPE,
    ModelGetTypeRequest: RequestId.MODEL_GETTYPE,
}


def request_id_of(req: Request) -> int:
    """The wire id ``req`` is sent with (a RequestId, or an UnknownRequest's own id)."""
    if isinstance(req, UnknownRequest):
        return req.id
    ident = _REQUEST_IDS.get(type(req))
    if ident is None:
        raise wrong_type(req, "a quorum Request")
    return ident


# ------------------------------------------------------------------ requests


def encode_request(req: Request) -> bytes:
    """Client side: the bytes of one request, padding zeroed."""
    fixed = _HEADER_ONLY_REQUESTS.get(type(req))
    if fixed is not None:
        return fixed
    if isinstance(req, TrackStartRequest):
        return _trackstart_request(check_u32(req.flags, "track flags"))
    if isinstance(req, ModelGetTypeRequest):
        if isinstance(req.model, int) and req.model == Model.AUTO:
            raise LocalProtocolError(
                "Model.AUTO is pyquorum's own choice of model and never goes on the wire"
            )
        return _model_gettype_request(check_u32(req.model, "model"))
    if isinstance(req, UnknownRequest):
        return _encode_unknown_request(req)
    raise wrong_type(req, "a quorum Request")


# Sessions send the same few of these over and over (every initialize one
# MODEL_GETTYPE): each distinct value is built once.
@functools.lru_cache(maxsize=64)
def _trackstart_request(flags: int) -> bytes:
    return _U32_REQUEST_PACK.pack(int(RequestId.TRACKSTART), _U32_REQUEST_PACK.size, flags)


@functools.lru_cache(maxsize=64)
def _model_gettype_request(model: int) -> bytes:
    return _U32_REQUEST_PACK.pack(int(RequestId.MODEL_GETTYPE), _U32_REQUEST_PACK.size, model)


def _encode_unknown_request(req: UnknownRequest) -> bytes:
    return encode_unknown_request(
        req, req.id, req.size, req.body, _KNOWN_REQUEST_IDS, RequestId, _schema.REQUEST_HEADER
    )


def decode_request(data: Buffer) -> Request:
    """Server side: one request.  An id the service does not know is an UnknownRequest
    (corosync answers those with the generic error response).

    The well-formed known requests (a header, or a header and one u32, whose
    ``size`` is their length) are read with :mod:`struct`, so that ``replay``,
    which decodes the recorded requests, needs no ``construct``; everything
    else goes through :func:`decode_request_by_schema`.
    tests/messages/test_fast_path.py holds the two to the same object or the
    same error on any bytes."""
    raw = data if type(data) is bytes else as_bytes(data)
    length = len(raw)
    if length == _REQUEST_HEADER_PACK.size:
        ident, size = _REQUEST_HEADER_PACK.unpack(raw)
        if size == length:
            made = _HEADER_ONLY_DECODED.get(ident)
            if made is not None:
                return made()
    elif length == _U32_REQUEST_PACK.size:
        ident, size, value = _U32_REQUEST_PACK.unpack(raw)
        if size == length:
            if ident == _TRACKSTART_ID:
                return TrackStartRequest(Track(value))
            if ident == _MODEL_GETTYPE_ID:
                return ModelGetTypeRequest(lookup(_MODELS, value))
    return decode_request_by_schema(raw)


_HEADER_ONLY_DECODED: dict[int, type[Request]] = {
    int(RequestId.GETQUORATE): GetQuorateRequest,
    int(RequestId.TRACKSTOP): TrackStopRequest,
    int(RequestId.GETTYPE): GetTypeRequest,
}
_TRACKSTART_ID = int(RequestId.TRACKSTART)
_MODEL_GETTYPE_ID = int(RequestId.MODEL_GETTYPE)


def decode_request_by_schema(raw: bytes) -> Request:
    """:func:`decode_request` read entirely through the construct schemas: the
    definition the fast path is held to, and the path of everything else."""
    hdr = parse_header("request", raw, _schema.REQUEST_HEADER)
    ident, size = hdr.num("id"), hdr.num("size")
    if ident == RequestId.GETQUORATE:
        check_exact("GETQUORATE request", raw, _schema.REQUEST_HEADER)
        return GetQuorateRequest()
    if ident == RequestId.TRACKSTOP:
        check_exact("TRACKSTOP request", raw, _schema.REQUEST_HEADER)
        return TrackStopRequest()
    if ident == RequestId.GETTYPE:
        check_exact("GETTYPE request", raw, _schema.REQUEST_HEADER)
        return GetTypeRequest()
    if ident == RequestId.TRACKSTART:
        check_exact("TRACKSTART request", raw, _schema.TRACKSTART_REQUEST)
        msg = parse("TRACKSTART request", _schema.TRACKSTART_REQUEST, raw)
        return TrackStartRequest(Track(msg.num("track_flags")))
    if ident == RequestId.MODEL_GETTYPE:
        check_exact("MODEL_GETTYPE request", raw, _schema.MODEL_GETTYPE_REQUEST)
        msg = parse("MODEL_GETTYPE request", _schema.MODEL_GETTYPE_REQUEST, raw)
        return ModelGetTypeRequest(lookup(_MODELS, msg.num("model")))
    return UnknownRequest(ident, size, raw[REQUEST_HEADER_SIZE:])


# ------------------------------------------------------------------ responses


def encode_response(resp: Response) -> bytes:
    """Server side: the bytes of one response, padding zeroed."""
    if isinstance(resp, GetQuorateResponse):
        return _schema.GETQUORATE_RESPONSE.build(
            {
                "id": int(ResponseId.GETQUORATE),
                "size": _schema.GETQUORATE_RESPONSE.size,
                "error": check_i32(resp.error, "error"),
                "quorate": check_bool(resp.quorate, "quorate"),
            }
        )
    if isinstance(resp, GetTypeResponse | ModelGetTypeResponse):
        gettype = isinstance(resp, GetTypeResponse)
        return _schema.TYPE_RESPONSE.build(
            {
                "id": int(ResponseId.GETTYPE if gettype else ResponseId.MODEL_GETTYPE),
                "size": _schema.TYPE_RESPONSE.size,
                "error": check_i32(resp.error, "error"),
                "quorum_type": check_u32(resp.quorum_type, "quorum_type"),
            }
        )
    bare_id = _BARE_RESPONSE_IDS.get(type(resp))
    if bare_id is None:
        raise wrong_type(resp, "a quorum Response")
    return _schema.RESPONSE_HEADER.build(
        {"id": int(bare_id), "size": RESPONSE_HEADER_SIZE, "error": check_i32(resp.error, "error")}
    )


_BARE_RESPONSE_IDS: dict[type[Response], ResponseId] = {
    TrackStartResponse: ResponseId.TRACKSTART,
    TrackStopResponse: ResponseId.TRACKSTOP,
    ErrorResponse: ResponseId.GETQUORATE,  # the generic reply reuses id 0, with size 24
}


# The hot path of every request: the two response shapes are fixed-size
# (qb_ipc_response_header, 24 bytes; header + u32 at 24, 32 bytes), so they
# are unpacked with struct, which is several times faster than construct's
# compiled parser.  RESPONSE_HEADER and VALUE_RESPONSE remain the definition:
# tests/messages/test_fast_path.py checks these agree with them on any bytes.
_HEADER_FIELDS = struct.Struct("<i4xi4xi4x")
_VALUE_FIELDS = struct.Struct("<i4xi4xi4xI4x")
_GETQUORATE_ID = int(ResponseId.GETQUORATE)


def _fixed_fields(raw: bytes) -> tuple[int, int, int, int]:
    """``(id, size, error, value)`` of a response.

    ``value`` (the u32 at 24) is 0 unless the response is 32 bytes long; it is
    only consulted after ``size`` was checked to be 32 = ``len(raw)``.
    """
    if len(raw) == _VALUE_FIELDS.size:
        ident, size, error, value = _VALUE_FIELDS.unpack(raw)
        return ident, size, error, value
    ident, size, error = _HEADER_FIELDS.unpack_from(raw)
    return ident, size, error, 0


def decode_response(data: Buffer) -> Response:
    """Client side: one response, identified by ``(id, size)``; anything else is a
    RemoteProtocolError, since it cannot be matched to the request it answers."""
    raw = data if type(data) is bytes else as_bytes(data)
    if len(raw) == _VALUE_FIELDS.size:  # getquorate's answer first: every poll reads one
        ident, size, error_value, value = _VALUE_FIELDS.unpack(raw)
        if ident == _GETQUORATE_ID and size == _VALUE_FIELDS.size:
            return GetQuorateResponse(cs_error(error_value), value != 0)
    if len(raw) < RESPONSE_HEADER_SIZE:
        raise truncated("response", raw, _schema.RESPONSE_HEADER)
    ident, size, error_value, value = _fixed_fields(raw)
    check_size_field("response", raw, size)
    error = cs_error(error_value)
    if size == RESPONSE_HEADER_SIZE:
        if ident == ResponseId.GETQUORATE:
            return ErrorResponse(error)
        if ident == ResponseId.TRACKSTART:
            return TrackStartResponse(error)
        if ident == ResponseId.TRACKSTOP:
            return TrackStopResponse(error)
    elif size == _VALUE_FIELDS.size:
        if ident == ResponseId.GETQUORATE:
            return GetQuorateResponse(error, value != 0)
        if ident == ResponseId.GETTYPE:
            return GetTypeResponse(error, lookup(_QUORUM_TYPES, value))
        if ident == ResponseId.MODEL_GETTYPE:
            return ModelGetTypeResponse(error, lookup(_QUORUM_TYPES, value))
    raise unmatched_response("", raw, ident, size, _KNOWN_RESPONSE_IDS)
