"""The cmap service's messages: requests, responses and the track notification.

Layouts are in :mod:`pyquorum.messages._cmap_schema`, keys and values in
:mod:`pyquorum.messages._cmap_values`, both described in docs/cmap.md §2.
The rules that live here:

* every response has its request's id (SET_CURRENT_MAP's is 10) and one
  size, except GET's, which is 40 bytes plus the room the request asked for
  (docs/cmap.md §3.1), so a GET answer is recognised by id alone;
* a GET answer carries the value only when it fits the room asked for: with
  room 0 it tells the length and type (``value`` is None), the daemon's way
  of sizing a buffer, and with too little room the daemon answers
  CS_ERR_INVALID_PARAM;
* NOTIFY_CALLBACK (id 9) is the only event; other ids decode to
  :class:`UnknownNotification`.  Unknown response ids are a protocol error,
  as for the quorum service.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from pyquorum._frozen import frozen
from pyquorum.errors import CsErrorCode, LocalProtocolError
from pyquorum.messages._cmap_values import (
    CmapValue,
    decode_key,
    decode_value,
    encode_key,
    encode_value,
)
from pyquorum.messages._codec import (
    I32_MAX,
    Buffer,
    LazyModule,
    as_bytes,
    check_exact,
    check_i32,
    check_int,
    check_length,
    check_size,
    check_u64,
    cs_error,
    encode_unknown_notification,
    encode_unknown_request,
    lookup,
    members,
    parse,
    parse_head,
    parse_header,
    unmatched_response,
    wrong_type,
)
from pyquorum.messages.constants import (
    REQUEST_HEADER_SIZE,
    RESPONSE_HEADER_SIZE,
    CmapMap,
    CmapTrack,
    CmapValueType,
)
from pyquorum.messages.constants import CmapRequestId as RequestId
from pyquorum.messages.constants import CmapResponseId as ResponseId
from pyquorum.messages.types import Message

# The construct schemas are the definition of every layout; the calls a client
# makes most (GET, the iteration, tracking's notifications) take struct fast
# paths held to them by tests/messages/test_cmap_fast_path.py, so a client that
# only reads cmap (``pyquorum status``) never imports construct.
if TYPE_CHECKING:
    from pyquorum.messages import _cmap_schema as _cs
    from pyquorum.messages import _schema
    from pyquorum.messages._schema import Parsed, Schema
else:
    _cs = LazyModule("pyquorum.messages._cmap_schema")
    _schema = LazyModule("pyquorum.messages._schema")

# CmapValue is public here; its home module is an implementation detail.
CmapValue.__module__ = __name__

__all__ = [
    "AdjustIntRequest",
    "AdjustIntResponse",
    "CmapValue",
    "DeleteRequest",
    "DeleteResponse",
    "GetRequest",
    "GetResponse",
    "IterFinalizeRequest",
    "IterFinalizeResponse",
    "IterInitRequest",
    "IterInitResponse",
    "IterNextRequest",
    "IterNextResponse",
    "Notification",
    "NotifyCallback",
    "Request",
    "Response",
    "SetCurrentMapRequest",
    "SetCurrentMapResponse",
    "SetRequest",
    "SetResponse",
    "TrackAddRequest",
    "TrackAddResponse",
    "TrackDeleteRequest",
    "TrackDeleteResponse",
    "UnknownNotification",
    "UnknownRequest",
    "decode_notification",
    "decode_request",
    "decode_response",
    "encode_notification",
    "encode_request",
    "encode_response",
]

_MAPS = members(CmapMap)
#: The largest GET room whose answer (40 + room bytes) still fits an i32 size.
_MAX_ROOM = I32_MAX - 40  # GET_RESPONSE_HEAD.size (the fast-path test checks it)
_VALUE_TYPES = members(CmapValueType)
_EVENTS = {int(e): e for e in (CmapTrack.ADD, CmapTrack.DELETE, CmapTrack.MODIFY)}
_NOTIFICATION_IDS = frozenset((int(ResponseId.NOTIFY_CALLBACK),))


# ---------------------------------------------------------------- requests


class Request(Message):
    """A cmap request (client → server)."""

    __slots__ = ()


@frozen
class SetRequest(Request):
    """``struct req_lib_cmap_set``, id 0, 296 + value_len bytes: key @16,
    u64 value_len @280, u8 type @288, value @296."""

    key: str
    value: CmapValue


@frozen
class DeleteRequest(Request):
    """``struct req_lib_cmap_delete`` (280 bytes), id 1: key @16."""

    key: str


@frozen
class GetRequest(Request):
    """``struct req_lib_cmap_get`` (288 bytes), id 2: key @16, u64 value_len @280 (the
    room for the value; 0 asks for length and type only)."""

    key: str
    value_len: int = 0


@frozen
class AdjustIntRequest(Request):
    """``struct req_lib_cmap_adjust_int`` (288 bytes), id 3: key @16, i32 step @280."""

    key: str
    step: int


@frozen
class IterInitRequest(Request):
    """``struct req_lib_cmap_iter_init`` (280 bytes), id 4: prefix @16 ("" = every key)."""

    prefix: str = ""


@frozen
class IterNextRequest(Request):
    """``struct req_lib_cmap_iter_next`` (24 bytes), id 5: u64 iter_handle @16."""

    iter_handle: int


@frozen
class IterFinalizeRequest(Request):
    """``struct req_lib_cmap_iter_finalize`` (24 bytes), id 6: u64 iter_handle @16."""

    iter_handle: int


@frozen
class TrackAddRequest(Request):
    """``struct req_lib_cmap_track_add`` (296 bytes), id 7: key @16 ("" = every key),
    i32 track_type @280, u64 track_inst_handle @288."""

    key: str
    track_type: CmapTrack | int
    track_inst_handle: int = 0


@frozen
class TrackDeleteRequest(Request):
    """``struct req_lib_cmap_track_delete`` (24 bytes), id 8: u64 track_handle @16."""

    track_handle: int


@frozen
class SetCurrentMapRequest(Request):
    """``struct req_lib_cmap_set_current_map`` (24 bytes), id 9: i32 map @16."""

    map: CmapMap | int


@frozen
class UnknownRequest(Request):
    """A request id cmap does not know (a server sees it)."""

    id: int
    size: int
    body: bytes


# ---------------------------------------------------------------- responses


class Response(Message):
    """A cmap response; ``error`` is a cs_error_t."""

    __slots__ = ()
    error: int


@frozen
class SetResponse(Response):
    """``struct res_lib_cmap_set`` (24 bytes), id 0."""

    error: int


@frozen
class DeleteResponse(Response):
    """``struct res_lib_cmap_delete`` (24 bytes), id 1."""

    error: int


@frozen
class GetResponse(Response):
    """``struct res_lib_cmap_get``, id 2, 40 + ``room`` bytes: u64 value_len @24,
    u8 type @32, value @40.

    ``room`` is the value_len of the request (the daemon sizes its answer by it);
    ``value`` is None on an error and when the value did not fit (a length probe).
    """

    error: int
    value_type: CmapValueType | int
    value_len: int
    value: CmapValue | None
    room: int


@frozen
class AdjustIntResponse(Response):
    """``struct res_lib_cmap_adjust_int`` (24 bytes), id 3."""

    error: int


@frozen
class IterInitResponse(Response):
    """``struct res_lib_cmap_iter_init`` (32 bytes), id 4: u64 iter_handle @24."""

    error: int
    iter_handle: int


@frozen
class IterNextResponse(Response):
    """``struct res_lib_cmap_iter_next`` (304 bytes), id 5: key @24, u64 value_len @288,
    u8 type @296.  No value: a caller GETs each key.  The end is CS_ERR_NO_SECTIONS."""

    error: int
    key: str
    value_len: int
    value_type: CmapValueType | int


@frozen
class IterFinalizeResponse(Response):
    """``struct res_lib_cmap_iter_finalize`` (24 bytes), id 6."""

    error: int


@frozen
class TrackAddResponse(Response):
    """``struct res_lib_cmap_track_add`` (32 bytes), id 7: u64 track_handle @24."""

    error: int
    track_handle: int


@frozen
class TrackDeleteResponse(Response):
    """``struct res_lib_cmap_track_delete`` (32 bytes), id 8: u64 track_inst_handle @24."""

    error: int
    track_inst_handle: int


@frozen
class SetCurrentMapResponse(Response):
    """A bare ``qb_ipc_response_header`` (24 bytes), id 10."""

    error: int


# ---------------------------------------------------------------- notifications


class Notification(Message):
    """A cmap event."""

    __slots__ = ()


@frozen
class NotifyCallback(Notification):
    """``struct res_lib_cmap_notify_callback``, id 9, 336 + new_len + old_len bytes:
    u64 track_inst_handle @24, key @32, i32 event @296, u8 types @304/@312,
    u64 lengths @320/@328, new value then old value from 336.

    A side without a value (the new one of a DELETE, the old one of an ADD)
    is None: type 0, length 0 on the wire.
    """

    track_inst_handle: int
    key: str
    event: CmapTrack | int
    new_value: CmapValue | None
    old_value: CmapValue | None


@frozen
class UnknownNotification(Notification):
    """An event id this version of pyquorum does not know."""

    id: int
    error: int
    data: bytes


# ---------------------------------------------------------------- helpers


def _key_fields(key: object, what: str = "key", allow_empty: bool = False) -> dict[str, object]:
    length, value = encode_key(key, what, allow_empty=allow_empty)
    return {"key_length": length, "key_value": value}


def _key(msg: Parsed, raw: bytes, schema: Schema) -> str:
    offset = schema.fields["key_length"][0]
    return decode_key(msg.num("key_length"), msg.raw("key_value"), raw, offset)


def _hdr(ident: int, size: int) -> dict[str, object]:
    return {"id": ident, "size": size}


_KEY_REQUESTS: dict[type[Request], RequestId] = {
    DeleteRequest: RequestId.DELETE,
    IterInitRequest: RequestId.ITER_INIT,
}
_HANDLE_REQUESTS: dict[type[Request], tuple[RequestId, str]] = {
    IterNextRequest: (RequestId.ITER_NEXT, "iter_handle"),
    IterFinalizeRequest: (RequestId.ITER_FINALIZE, "iter_handle"),
    TrackDeleteRequest: (RequestId.TRACK_DELETE, "track_handle"),
}


# The fast paths' layouts: the struct formats of the schemas
# (Schema.struct_format; tests/messages/test_cmap_fast_path.py checks they are
# equal, and that both paths give the same bytes, object or error on any input).
_RES_HEADER = struct.Struct("<i4xi4xi4x")  # RESPONSE_HEADER, 24 bytes
_KEY_REQUEST = struct.Struct("<i4xi4xH6x256s")  # KEY_REQUEST, 280 bytes
_GET_REQUEST = struct.Struct("<i4xi4xH6x256sQ")  # GET_REQUEST, 288 bytes
_HANDLE_REQUEST = struct.Struct("<i4xi4xQ")  # HANDLE_REQUEST, 24 bytes
_HANDLE_RESPONSE = struct.Struct("<i4xi4xi4xQ")  # HANDLE_RESPONSE, 32 bytes
_GET_RESPONSE_HEAD = struct.Struct("<i4xi4xi4xQB7x")  # GET_RESPONSE_HEAD, 40 bytes
_ITER_NEXT_RESPONSE = struct.Struct("<i4xi4xi4xH6x256sQB7x")  # ITER_NEXT_RESPONSE, 304 bytes
_NOTIFY_HEAD = struct.Struct("<i4xi4xi4xQH6x256si4xB7xB7xQQ")  # NOTIFY_CALLBACK_HEAD, 336
_GET_ID = int(ResponseId.GET)
_ITER_NEXT_ID = int(ResponseId.ITER_NEXT)
_NOTIFY_ID = int(ResponseId.NOTIFY_CALLBACK)
_OK = int(CsErrorCode.OK)


def encode_request(req: Request) -> bytes:
    """Client side: the bytes of one request, padding zeroed.

    GET, ITER_INIT, DELETE and the handle requests are packed with struct;
    :func:`encode_request_by_schema` (every request) is the definition."""
    kind = type(req)
    if kind is GetRequest:
        assert isinstance(req, GetRequest)
        length, key = encode_key(req.key, "key")
        return _GET_REQUEST.pack(
            int(RequestId.GET), _GET_REQUEST.size, length, key,
            check_int(req.value_len, "value_len", 0, _MAX_ROOM),
        )
    if kind is IterInitRequest or kind is DeleteRequest:
        if isinstance(req, IterInitRequest):
            length, key = encode_key(req.prefix, "prefix", allow_empty=True)
            ident = RequestId.ITER_INIT
        else:
            assert isinstance(req, DeleteRequest)
            length, key = encode_key(req.key, "key")
            ident = RequestId.DELETE
        return _KEY_REQUEST.pack(int(ident), _KEY_REQUEST.size, length, key)
    handle = _HANDLE_REQUESTS.get(kind)
    if handle is not None:
        ident, field = handle
        return _HANDLE_REQUEST.pack(
            int(ident), _HANDLE_REQUEST.size, check_u64(getattr(req, field), field)
        )
    return encode_request_by_schema(req)


def encode_request_by_schema(req: Request) -> bytes:
    """:func:`encode_request` built through the construct schemas."""
    if isinstance(req, SetRequest):
        kind, payload = encode_value(req.value)
        size = check_size(_cs.SET_REQUEST_HEAD.size + len(payload), "SET request")
        return _cs.SET_REQUEST_HEAD.build(
            {**_hdr(int(RequestId.SET), size), **_key_fields(req.key),
             "value_len": len(payload), "type": kind}
        ) + payload
    if isinstance(req, DeleteRequest):
        return _cs.KEY_REQUEST.build(
            {**_hdr(int(RequestId.DELETE), _cs.KEY_REQUEST.size), **_key_fields(req.key)}
        )
    if isinstance(req, IterInitRequest):
        return _cs.KEY_REQUEST.build(
            {**_hdr(int(RequestId.ITER_INIT), _cs.KEY_REQUEST.size),
             **_key_fields(req.prefix, "prefix", allow_empty=True)}
        )
    if isinstance(req, GetRequest):
        return _cs.GET_REQUEST.build(
            {**_hdr(int(RequestId.GET), _cs.GET_REQUEST.size), **_key_fields(req.key),
             # the daemon answers with 40 + value_len bytes: keep that under an i32
             "value_len": check_int(req.value_len, "value_len", 0, _MAX_ROOM)}
        )
    if isinstance(req, AdjustIntRequest):
        return _cs.ADJUST_INT_REQUEST.build(
            {**_hdr(int(RequestId.ADJUST_INT), _cs.ADJUST_INT_REQUEST.size), **_key_fields(req.key),
             "step": check_i32(req.step, "step")}
        )
    if isinstance(req, TrackAddRequest):
        return _cs.TRACK_ADD_REQUEST.build(
            {**_hdr(int(RequestId.TRACK_ADD), _cs.TRACK_ADD_REQUEST.size),
             **_key_fields(req.key, allow_empty=True),
             "track_type": check_i32(req.track_type, "track_type"),
             "track_inst_handle": check_u64(req.track_inst_handle, "track_inst_handle")}
        )
    if isinstance(req, SetCurrentMapRequest):
        return _cs.SET_CURRENT_MAP_REQUEST.build(
            {**_hdr(int(RequestId.SET_CURRENT_MAP), _cs.SET_CURRENT_MAP_REQUEST.size),
             "map": check_i32(req.map, "map")}
        )
    handle = _HANDLE_REQUESTS.get(type(req))
    if handle is not None:
        ident, field = handle
        return _cs.HANDLE_REQUEST.build(
            {**_hdr(int(ident), _cs.HANDLE_REQUEST.size),
             "handle": check_u64(getattr(req, field), field)}
        )
    if isinstance(req, UnknownRequest):
        return encode_unknown_request(
            req, req.id, req.size, req.body, _REQUEST_IDS, RequestId, _schema.REQUEST_HEADER
        )
    raise wrong_type(req, "a cmap Request")


_REQUEST_IDS = frozenset(int(i) for i in RequestId)


def decode_request(data: Buffer) -> Request:
    """Server side: one request; an unknown id is an UnknownRequest."""
    raw = as_bytes(data)
    hdr = parse_header("cmap request", raw, _schema.REQUEST_HEADER)
    ident, size = hdr.num("id"), hdr.num("size")
    if ident == RequestId.SET:
        head = _cs.SET_REQUEST_HEAD
        msg = parse_head("SET request", raw, head)
        value_len = msg.num("value_len")
        check_length(
            f"SET request with value_len {value_len}", raw, head.size + value_len,
            "value_len", 280,
        )
        value = decode_value(msg.num("type"), raw[head.size:], raw, 288)
        return SetRequest(_key(msg, raw, head), value)
    if ident in (RequestId.DELETE, RequestId.ITER_INIT):
        check_exact("cmap key request", raw, _cs.KEY_REQUEST)
        key = _key(parse("cmap key request", _cs.KEY_REQUEST, raw), raw, _cs.KEY_REQUEST)
        if ident == RequestId.DELETE:
            return DeleteRequest(key)
        return IterInitRequest(key)
    if ident == RequestId.GET:
        check_exact("GET request", raw, _cs.GET_REQUEST)
        msg = parse("GET request", _cs.GET_REQUEST, raw)
        return GetRequest(_key(msg, raw, _cs.GET_REQUEST), msg.num("value_len"))
    if ident == RequestId.ADJUST_INT:
        check_exact("ADJUST_INT request", raw, _cs.ADJUST_INT_REQUEST)
        msg = parse("ADJUST_INT request", _cs.ADJUST_INT_REQUEST, raw)
        return AdjustIntRequest(_key(msg, raw, _cs.ADJUST_INT_REQUEST), msg.num("step"))
    if ident == RequestId.TRACK_ADD:
        check_exact("TRACK_ADD request", raw, _cs.TRACK_ADD_REQUEST)
        msg = parse("TRACK_ADD request", _cs.TRACK_ADD_REQUEST, raw)
        track_type = msg.num("track_type")
        return TrackAddRequest(
            _key(msg, raw, _cs.TRACK_ADD_REQUEST),
            # IntFlag would fold a negative i32 into its known bits: keep those as ints
            CmapTrack(track_type) if track_type >= 0 else track_type,
            msg.num("track_inst_handle"),
        )
    if ident == RequestId.SET_CURRENT_MAP:
        check_exact("SET_CURRENT_MAP request", raw, _cs.SET_CURRENT_MAP_REQUEST)
        msg = parse("SET_CURRENT_MAP request", _cs.SET_CURRENT_MAP_REQUEST, raw)
        return SetCurrentMapRequest(lookup(_MAPS, msg.num("map")))
    if ident in (RequestId.ITER_NEXT, RequestId.ITER_FINALIZE, RequestId.TRACK_DELETE):
        check_exact("cmap handle request", raw, _cs.HANDLE_REQUEST)
        handle = parse("cmap handle request", _cs.HANDLE_REQUEST, raw).num("handle")
        if ident == RequestId.ITER_NEXT:
            return IterNextRequest(handle)
        if ident == RequestId.ITER_FINALIZE:
            return IterFinalizeRequest(handle)
        return TrackDeleteRequest(handle)
    return UnknownRequest(ident, size, raw[REQUEST_HEADER_SIZE:])


# ---------------------------------------------------------------- responses

_BARE: dict[type[Response], ResponseId] = {
    SetResponse: ResponseId.SET,
    DeleteResponse: ResponseId.DELETE,
    AdjustIntResponse: ResponseId.ADJUST_INT,
    IterFinalizeResponse: ResponseId.ITER_FINALIZE,
    SetCurrentMapResponse: ResponseId.SET_CURRENT_MAP,
}
_BARE_BY_ID: dict[int, type[Response]] = {int(v): k for k, v in _BARE.items()}
_HANDLE_RESPONSES: dict[type[Response], tuple[ResponseId, str]] = {
    IterInitResponse: (ResponseId.ITER_INIT, "iter_handle"),
    TrackAddResponse: (ResponseId.TRACK_ADD, "track_handle"),
    TrackDeleteResponse: (ResponseId.TRACK_DELETE, "track_inst_handle"),
}
_HANDLE_BY_ID: dict[int, type[Response]] = {int(v[0]): k for k, v in _HANDLE_RESPONSES.items()}
_RESPONSE_IDS = frozenset(int(i) for i in ResponseId) - {int(ResponseId.NOTIFY_CALLBACK)}


def encode_response(resp: Response) -> bytes:
    """Server side: the bytes of one response, padding zeroed."""
    error = check_i32(resp.error, "error") if isinstance(resp, Response) else 0
    bare = _BARE.get(type(resp))
    if bare is not None:
        return _schema.RESPONSE_HEADER.build(
            {**_hdr(int(bare), RESPONSE_HEADER_SIZE), "error": error}
        )
    handle = _HANDLE_RESPONSES.get(type(resp))
    if handle is not None:
        ident, field = handle
        return _cs.HANDLE_RESPONSE.build(
            {**_hdr(int(ident), _cs.HANDLE_RESPONSE.size), "error": error,
             "handle": check_u64(getattr(resp, field), field)}
        )
    if isinstance(resp, IterNextResponse):
        return _cs.ITER_NEXT_RESPONSE.build(
            {**_hdr(int(ResponseId.ITER_NEXT), _cs.ITER_NEXT_RESPONSE.size), "error": error,
             **_key_fields(resp.key, allow_empty=True),
             "value_len": check_u64(resp.value_len, "value_len"),
             "type": check_int(resp.value_type, "value_type", 0, 255)}
        )
    if isinstance(resp, GetResponse):
        return _encode_get_response(resp, error)
    raise wrong_type(resp, "a cmap Response")


def _encode_get_response(resp: GetResponse, error: int) -> bytes:
    room = check_int(resp.room, "room", 0, _MAX_ROOM)
    kind = check_int(resp.value_type, "value_type", 0, 255)
    value_len = check_u64(resp.value_len, "value_len")
    payload = b""
    if resp.value is not None:
        if error != CsErrorCode.OK:
            raise LocalProtocolError("a GET response with an error carries no value")
        kind_out, payload = encode_value(resp.value)
        if (kind_out, len(payload)) != (kind, value_len):
            raise LocalProtocolError(
                f"value_type/value_len ({kind}, {value_len}) do not match the value "
                f"({kind_out}, {len(payload)})"
            )
        if value_len > room:
            raise LocalProtocolError(f"a {value_len}-byte value does not fit room {room}")
    elif error == CsErrorCode.OK and value_len <= room:
        raise LocalProtocolError("a successful GET whose value fits the room must carry it")
    head = _cs.GET_RESPONSE_HEAD.build(
        {**_hdr(int(ResponseId.GET), _cs.GET_RESPONSE_HEAD.size + room), "error": error,
         "value_len": value_len, "type": kind}
    )
    return head + payload.ljust(room, b"\0")


def decode_response(data: Buffer) -> Response:
    """Client side: one response, by id (and size, which every id but GET fixes).

    Read with :mod:`struct` when the header's size is the length; everything
    else goes through :func:`decode_response_by_schema`, the definition.  Both
    call the same key and value decoders with the same arguments, so a bad key
    or value gives the same error either way."""
    raw = data if type(data) is bytes else as_bytes(data)
    length = len(raw)
    if length >= RESPONSE_HEADER_SIZE:
        ident, size, error_value = _RES_HEADER.unpack_from(raw)
        if size == length:
            error = cs_error(error_value)
            bare = _BARE_BY_ID.get(ident)
            if bare is not None and size == RESPONSE_HEADER_SIZE:
                return bare(error)  # type: ignore[call-arg]
            handle = _HANDLE_BY_ID.get(ident)
            if handle is not None and size == _HANDLE_RESPONSE.size:
                return handle(error, _HANDLE_RESPONSE.unpack(raw)[3])  # type: ignore[call-arg]
            if ident == _ITER_NEXT_ID and size == _ITER_NEXT_RESPONSE.size:
                _, _, _, key_length, key, value_len, kind = _ITER_NEXT_RESPONSE.unpack(raw)
                return IterNextResponse(
                    error, decode_key(key_length, key, raw, 24), value_len,
                    lookup(_VALUE_TYPES, kind),
                )
            if ident == _GET_ID and size >= _GET_RESPONSE_HEAD.size:
                _, _, _, value_len, kind = _GET_RESPONSE_HEAD.unpack_from(raw)
                room = size - _GET_RESPONSE_HEAD.size
                value: CmapValue | None = None
                if error == CsErrorCode.OK and value_len <= room:
                    value = decode_value(kind, raw[40 : 40 + value_len], raw, 40)
                return GetResponse(error, lookup(_VALUE_TYPES, kind), value_len, value, room)
    return decode_response_by_schema(raw)


def decode_response_by_schema(data: Buffer) -> Response:
    """:func:`decode_response` read through the construct schemas."""
    raw = as_bytes(data)
    hdr = parse_header("cmap response", raw, _schema.RESPONSE_HEADER)
    ident, size = hdr.num("id"), hdr.num("size")
    error = cs_error(hdr.num("error"))
    bare = _BARE_BY_ID.get(ident)
    if bare is not None and size == RESPONSE_HEADER_SIZE:
        return bare(error)  # type: ignore[call-arg]
    handle = _HANDLE_BY_ID.get(ident)
    if handle is not None and size == _cs.HANDLE_RESPONSE.size:
        handle_value = parse("cmap response", _cs.HANDLE_RESPONSE, raw).num("handle")
        return handle(error, handle_value)  # type: ignore[call-arg]
    if ident == ResponseId.ITER_NEXT and size == _cs.ITER_NEXT_RESPONSE.size:
        msg = parse("ITER_NEXT response", _cs.ITER_NEXT_RESPONSE, raw)
        return IterNextResponse(
            error, _key(msg, raw, _cs.ITER_NEXT_RESPONSE), msg.num("value_len"),
            lookup(_VALUE_TYPES, msg.num("type")),
        )
    if ident == ResponseId.GET and size >= _cs.GET_RESPONSE_HEAD.size:
        head = _cs.GET_RESPONSE_HEAD
        msg = parse("GET response", head, raw[: head.size])
        room = size - head.size
        kind, value_len = msg.num("type"), msg.num("value_len")
        value: CmapValue | None = None
        if error == CsErrorCode.OK and value_len <= room:
            value = decode_value(kind, raw[head.size : head.size + value_len], raw, head.size)
        return GetResponse(error, lookup(_VALUE_TYPES, kind), value_len, value, room)
    raise unmatched_response("cmap", raw, ident, size, _RESPONSE_IDS)


# ---------------------------------------------------------------- notifications


def _side(value: CmapValue | None, what: str) -> tuple[int, bytes]:
    if value is None:
        return 0, b""
    return encode_value(value)


def encode_notification(note: Notification) -> bytes:
    """Server side: one event's bytes, padding zeroed."""
    if isinstance(note, NotifyCallback):
        new_type, new = _side(note.new_value, "new_value")
        old_type, old = _side(note.old_value, "old_value")
        size = check_size(_cs.NOTIFY_CALLBACK_HEAD.size + len(new) + len(old), "notification")
        return _cs.NOTIFY_CALLBACK_HEAD.build(
            {**_hdr(int(ResponseId.NOTIFY_CALLBACK), size), "error": int(CsErrorCode.OK),
             "track_inst_handle": check_u64(note.track_inst_handle, "track_inst_handle"),
             **_key_fields(note.key), "event": check_i32(note.event, "event"),
             "new_type": new_type, "old_type": old_type,
             "new_len": len(new), "old_len": len(old)}
        ) + new + old
    if isinstance(note, UnknownNotification):
        return encode_unknown_notification(
            note, note.id, note.error, note.data, _NOTIFICATION_IDS,
            "NotifyCallback for id {ident}", _schema.RESPONSE_HEADER,
        )
    raise wrong_type(note, "a cmap Notification")


def decode_notification(data: Buffer) -> Notification:
    """Client side: one event; lengths are checked against the bytes before slicing.

    A NOTIFY_CALLBACK whose lengths add up is read with :mod:`struct`; everything
    else goes through :func:`decode_notification_by_schema`, the definition."""
    raw = data if type(data) is bytes else as_bytes(data)
    length = len(raw)
    if length >= _NOTIFY_HEAD.size:
        (ident, size, _error, handle, key_length, key, event, new_type, old_type, new_len,
         old_len) = _NOTIFY_HEAD.unpack_from(raw)
        if ident == _NOTIFY_ID and size == length == _NOTIFY_HEAD.size + new_len + old_len:
            middle = _NOTIFY_HEAD.size + new_len
            return NotifyCallback(
                track_inst_handle=handle,
                key=decode_key(key_length, key, raw, 32),
                event=_EVENTS.get(event, event),
                new_value=_decode_side(new_type, raw[_NOTIFY_HEAD.size : middle], raw, 304),
                old_value=_decode_side(old_type, raw[middle:], raw, 312),
            )
    return decode_notification_by_schema(raw)


def decode_notification_by_schema(data: Buffer) -> Notification:
    """:func:`decode_notification` read through the construct schemas."""
    raw = as_bytes(data)
    hdr = parse_header("cmap notification", raw, _schema.RESPONSE_HEADER)
    ident = hdr.num("id")
    if ident != ResponseId.NOTIFY_CALLBACK:
        return UnknownNotification(ident, cs_error(hdr.num("error")), raw[RESPONSE_HEADER_SIZE:])
    head = _cs.NOTIFY_CALLBACK_HEAD
    msg = parse_head("cmap notification", raw, head)
    new_len, old_len = msg.num("new_len"), msg.num("old_len")
    check_length(
        f"notification with values of {new_len} and {old_len} bytes", raw,
        head.size + new_len + old_len, "new_value_len", 320,
    )
    new_raw = raw[head.size : head.size + new_len]
    old_raw = raw[head.size + new_len :]
    event = msg.num("event")
    return NotifyCallback(
        track_inst_handle=msg.num("track_inst_handle"),
        key=_key(msg, raw, head),
        event=_EVENTS.get(event, event),
        new_value=_decode_side(msg.num("new_type"), new_raw, raw, 304),
        old_value=_decode_side(msg.num("old_type"), old_raw, raw, 312),
    )


def _decode_side(kind: int, value: bytes, raw: bytes, offset: int) -> CmapValue | None:
    if kind == 0 and not value:
        return None
    return decode_value(kind, value, raw, offset)
