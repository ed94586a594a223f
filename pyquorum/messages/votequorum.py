"""The votequorum service's messages: requests, responses and notifications.

Layouts are in :mod:`pyquorum.messages._votequorum_schema` and
docs/votequorum.md §2.  The rules that live here:

* responses are identified by ``(id, size)``: id 0 with 24 bytes is the
  STATUS reply shared by SETEXPECTED, SETVOTES, TRACKSTART and TRACKSTOP
  (and corosync's generic reply to an unknown request); id 1 with 320 bytes
  is GETINFO's answer.  Anything else is a protocol error, since it cannot
  be matched to its request;
* notifications (ids 3, 4, 5) carry the ``context`` given to TRACKSTART;
  an unknown notification id decodes to :class:`UnknownNotification`;
* a GETINFO answer with an error carries uninitialized fields (the daemon
  fills them only on success, docs/votequorum.md §3.1): they are decoded as
  they are and must not be trusted;
* the qdevice registration calls (request ids 5-9) are not modelled: they
  decode, on the server side, as :class:`UnknownRequest`.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from pyquorum._frozen import frozen
from pyquorum.errors import CsErrorCode, LocalProtocolError
from pyquorum.messages._codec import (
    Buffer,
    LazyModule,
    as_bytes,
    check_bool,
    check_exact,
    check_i32,
    check_length,
    check_size,
    check_u32,
    check_u64,
    cs_error,
    encode_c_string,
    encode_unknown_notification,
    encode_unknown_request,
    lookup,
    members,
    parse,
    parse_head,
    parse_header,
    u32s,
    unmatched_response,
    wrong_type,
)
from pyquorum.messages.constants import (
    REQUEST_HEADER_SIZE,
    RESPONSE_HEADER_SIZE,
    VOTEQUORUM_QDEVICE_MAX_NAME_LEN,
    NodeState,
    Track,
    VotequorumInfo,
)
from pyquorum.messages.constants import VotequorumRequestId as RequestId
from pyquorum.messages.constants import VotequorumResponseId as ResponseId
from pyquorum.messages.types import Message, RingId

# The construct schemas are the definition of every layout; the client's calls
# (requests, responses, notifications) take struct fast paths held to them by
# tests/messages/test_votequorum_fast_path.py, so a client never imports construct.
if TYPE_CHECKING:
    from pyquorum.messages import _schema
    from pyquorum.messages import _votequorum_schema as _vs
else:
    _schema = LazyModule("pyquorum.messages._schema")
    _vs = LazyModule("pyquorum.messages._votequorum_schema")

__all__ = [
    "ExpectedVotesNotification",
    "GetInfoRequest",
    "GetInfoResponse",
    "NodeStatus",
    "NodelistNotification",
    "Notification",
    "QuorumNotification",
    "Request",
    "Response",
    "SetExpectedRequest",
    "SetVotesRequest",
    "StatusResponse",
    "TrackStartRequest",
    "TrackStopRequest",
    "UnknownNotification",
    "UnknownRequest",
    "decode_notification",
    "decode_request",
    "decode_response",
    "encode_notification",
    "encode_request",
    "encode_response",
]

_NODE_STATES = members(NodeState)
#: Every event goes out with header error CS_OK (1), as corosync sends it.
_OK = int(CsErrorCode.OK)
_KNOWN_REQUEST_IDS = frozenset(
    int(i) for i in (RequestId.GETINFO, RequestId.SETEXPECTED, RequestId.SETVOTES,
                     RequestId.TRACKSTART, RequestId.TRACKSTOP)
)
_KNOWN_RESPONSE_IDS = frozenset((int(ResponseId.STATUS), int(ResponseId.GETINFO)))
_NOTIFICATION_IDS = frozenset(
    int(i) for i in (ResponseId.QUORUM_NOTIFICATION, ResponseId.EXPECTEDVOTES_NOTIFICATION,
                     ResponseId.NODELIST_NOTIFICATION)
)
#: No list can be longer than this and still fit an i32 ``size``.
_MAX_ENTRIES = 2**31 // 8


# ---------------------------------------------------------------- dataclasses


class Request(Message):
    """A votequorum request (client → server)."""

    __slots__ = ()


@frozen
class GetInfoRequest(Request):
    """``struct req_lib_votequorum_getinfo`` (24 bytes), id 0: nodeid @16; 0 = this node."""

    nodeid: int = 0


@frozen
class SetExpectedRequest(Request):
    """``struct req_lib_votequorum_setexpected`` (24 bytes), id 1: expected_votes @16."""

    expected_votes: int


@frozen
class SetVotesRequest(Request):
    """``struct req_lib_votequorum_setvotes`` (24 bytes), id 2: votes @16, nodeid @20."""

    nodeid: int
    votes: int


@frozen
class TrackStartRequest(Request):
    """``struct req_lib_votequorum_trackstart`` (32 bytes), id 3: u64 context @16,
    u32 track_flags @24."""

    flags: Track
    context: int = 0


@frozen
class TrackStopRequest(Request):
    """``struct req_lib_votequorum_general`` (16 bytes), id 4."""


@frozen
class UnknownRequest(Request):
    """A request id this module does not model (among them the qdevice calls 5-9)."""

    id: int
    size: int
    body: bytes


class Response(Message):
    """A votequorum response; ``error`` is a cs_error_t."""

    __slots__ = ()
    error: int


@frozen
class StatusResponse(Response):
    """``struct res_lib_votequorum_status`` (24 bytes), id 0: the answer to SETEXPECTED,
    SETVOTES, TRACKSTART, TRACKSTOP, and to an unknown request."""

    error: int


@frozen
class GetInfoResponse(Response):
    """``struct res_lib_votequorum_getinfo`` (320 bytes), id 1: nine u32 from @24, then
    ``qdevice_name[255]`` @60.  Only meaningful when ``error`` is CS_OK."""

    error: int
    nodeid: int
    state: NodeState | int
    votes: int
    expected_votes: int
    highest_expected: int
    total_votes: int
    quorum: int
    flags: VotequorumInfo
    qdevice_votes: int
    qdevice_name: str


class Notification(Message):
    """A votequorum event (TRACKSTART's notifications)."""

    __slots__ = ()


@frozen
class NodeStatus:
    """``struct votequorum_node``: u32 nodeid, u32 state (nodeid 0 is the qdevice)."""

    nodeid: int
    state: NodeState | int


@frozen
class QuorumNotification(Notification):
    """``struct res_lib_votequorum_quorum_notification``, id 3, 48 + 8n bytes:
    u32 quorate @24, u64 context @32, u32 node_list_entries @40, nodes @48."""

    quorate: bool
    context: int
    nodes: tuple[NodeStatus, ...]


@frozen
class NodelistNotification(Notification):
    """``struct res_lib_votequorum_nodelist_notification``, id 5, 56 + 4n bytes:
    u64 context @24, ring_id @32 (nodeid @32, seq @40), u32 entries @48, ids @56."""

    context: int
    ring_id: RingId
    members: tuple[int, ...]


@frozen
class ExpectedVotesNotification(Notification):
    """``struct res_lib_votequorum_expectedvotes_notification``, id 4, 40 bytes:
    u64 context @24, u32 expected_votes @32."""

    context: int
    expected_votes: int


@frozen
class UnknownNotification(Notification):
    """An event id this version of pyquorum does not know (forward compatibility)."""

    id: int
    error: int
    data: bytes


# ---------------------------------------------------------------- helpers


def _encode_name(value: object) -> bytes:
    """``qdevice_name``: at most 254 bytes, so the NUL fits the 255-byte field."""
    raw = encode_c_string(value, "qdevice_name")
    if len(raw) >= VOTEQUORUM_QDEVICE_MAX_NAME_LEN:
        raise LocalProtocolError(
            f"qdevice_name is {len(raw)} bytes; at most "
            f"{VOTEQUORUM_QDEVICE_MAX_NAME_LEN - 1} fit with the NUL"
        )
    return raw.ljust(VOTEQUORUM_QDEVICE_MAX_NAME_LEN, b"\0")


def _decode_name(raw: bytes) -> str:
    """Up to the first NUL (the daemon copies a C string into a zeroed field).

    A field without a NUL (uninitialized bytes of an error reply) is cut at 254 bytes,
    so that every decoded name can be encoded again.
    """
    end = raw.find(b"\0")
    text = raw[: VOTEQUORUM_QDEVICE_MAX_NAME_LEN - 1] if end < 0 else raw[:end]
    return text.decode("utf-8", "surrogateescape")


def _header(ident: int, size: int) -> bytes:
    return _schema.REQUEST_HEADER.build({"id": ident, "size": size})


def _res_header(ident: int, size: int, error: int) -> dict[str, int]:
    return {"id": ident, "size": size, "error": check_i32(error, "error")}


# ---------------------------------------------------------------- requests


# The requests packed with struct, and the responses read with it: the struct
# formats of GETINFO_REQUEST, SETEXPECTED_REQUEST, SETVOTES_REQUEST,
# TRACKSTART_REQUEST, REQUEST_HEADER and GETINFO_RESPONSE (Schema.struct_format;
# tests/messages/test_votequorum_fast_path.py checks they are equal, and that both
# paths give the same bytes, object or error).
_REQ_U32 = struct.Struct("<i4xi4xI4x")  # GETINFO_REQUEST, SETEXPECTED_REQUEST: 24 bytes
_REQ_SETVOTES = struct.Struct("<i4xi4xII")  # SETVOTES_REQUEST: 24 bytes
_REQ_TRACKSTART = struct.Struct("<i4xi4xQI4x")  # TRACKSTART_REQUEST: 32 bytes
_REQ_HEADER = struct.Struct("<i4xi4x")  # REQUEST_HEADER: 16 bytes
_RES_GETINFO = struct.Struct(
    f"<i4xi4xi4xIIIIIIIII{VOTEQUORUM_QDEVICE_MAX_NAME_LEN}s5x"
)  # GETINFO_RESPONSE: 320 bytes
_GETINFO_ID = int(ResponseId.GETINFO)
_STATUS_ID = int(ResponseId.STATUS)


def encode_request(req: Request) -> bytes:
    """Client side: the bytes of one request, padding zeroed (packed with struct;
    :func:`encode_request_by_schema` is the definition it is held to)."""
    kind = type(req)
    if kind is GetInfoRequest:
        assert isinstance(req, GetInfoRequest)
        return _REQ_U32.pack(
            int(RequestId.GETINFO), _REQ_U32.size, check_u32(req.nodeid, "nodeid")
        )
    if kind is SetExpectedRequest:
        assert isinstance(req, SetExpectedRequest)
        return _REQ_U32.pack(
            int(RequestId.SETEXPECTED), _REQ_U32.size,
            check_u32(req.expected_votes, "expected_votes"),
        )
    if kind is SetVotesRequest:
        assert isinstance(req, SetVotesRequest)
        return _REQ_SETVOTES.pack(
            int(RequestId.SETVOTES), _REQ_SETVOTES.size,
            check_u32(req.votes, "votes"), check_u32(req.nodeid, "nodeid"),
        )
    if kind is TrackStartRequest:
        assert isinstance(req, TrackStartRequest)
        return _REQ_TRACKSTART.pack(
            int(RequestId.TRACKSTART), _REQ_TRACKSTART.size,
            check_u64(req.context, "context"), check_u32(req.flags, "track flags"),
        )
    if kind is TrackStopRequest:
        return _REQ_HEADER.pack(int(RequestId.TRACKSTOP), REQUEST_HEADER_SIZE)
    return encode_request_by_schema(req)


def encode_request_by_schema(req: Request) -> bytes:
    """:func:`encode_request` built through the construct schemas (the definition)."""
    if isinstance(req, GetInfoRequest):
        return _vs.GETINFO_REQUEST.build(
            {"id": int(RequestId.GETINFO), "size": _vs.GETINFO_REQUEST.size,
             "nodeid": check_u32(req.nodeid, "nodeid")}
        )
    if isinstance(req, SetExpectedRequest):
        return _vs.SETEXPECTED_REQUEST.build(
            {"id": int(RequestId.SETEXPECTED), "size": _vs.SETEXPECTED_REQUEST.size,
             "expected_votes": check_u32(req.expected_votes, "expected_votes")}
        )
    if isinstance(req, SetVotesRequest):
        return _vs.SETVOTES_REQUEST.build(
            {"id": int(RequestId.SETVOTES), "size": _vs.SETVOTES_REQUEST.size,
             "votes": check_u32(req.votes, "votes"), "nodeid": check_u32(req.nodeid, "nodeid")}
        )
    if isinstance(req, TrackStartRequest):
        return _vs.TRACKSTART_REQUEST.build(
            {"id": int(RequestId.TRACKSTART), "size": _vs.TRACKSTART_REQUEST.size,
             "context": check_u64(req.context, "context"),
             "track_flags": check_u32(req.flags, "track flags")}
        )
    if isinstance(req, TrackStopRequest):
        return _header(int(RequestId.TRACKSTOP), REQUEST_HEADER_SIZE)
    if isinstance(req, UnknownRequest):
        return encode_unknown_request(
            req, req.id, req.size, req.body, _KNOWN_REQUEST_IDS, RequestId, _schema.REQUEST_HEADER
        )
    raise wrong_type(req, "a votequorum Request")


def decode_request(data: Buffer) -> Request:
    """Server side: one request; ids it does not model are UnknownRequest."""
    raw = as_bytes(data)
    hdr = parse_header("votequorum request", raw, _schema.REQUEST_HEADER)
    ident, size = hdr.num("id"), hdr.num("size")
    if ident == RequestId.GETINFO:
        check_exact("GETINFO request", raw, _vs.GETINFO_REQUEST)
        return GetInfoRequest(parse("GETINFO", _vs.GETINFO_REQUEST, raw).num("nodeid"))
    if ident == RequestId.SETEXPECTED:
        check_exact("SETEXPECTED request", raw, _vs.SETEXPECTED_REQUEST)
        msg = parse("SETEXPECTED", _vs.SETEXPECTED_REQUEST, raw)
        return SetExpectedRequest(msg.num("expected_votes"))
    if ident == RequestId.SETVOTES:
        check_exact("SETVOTES request", raw, _vs.SETVOTES_REQUEST)
        msg = parse("SETVOTES", _vs.SETVOTES_REQUEST, raw)
        return SetVotesRequest(nodeid=msg.num("nodeid"), votes=msg.num("votes"))
    if ident == RequestId.TRACKSTART:
        check_exact("TRACKSTART request", raw, _vs.TRACKSTART_REQUEST)
        msg = parse("TRACKSTART", _vs.TRACKSTART_REQUEST, raw)
        return TrackStartRequest(Track(msg.num("track_flags")), msg.num("context"))
    if ident == RequestId.TRACKSTOP:
        check_exact("TRACKSTOP request", raw, _schema.REQUEST_HEADER)
        return TrackStopRequest()
    return UnknownRequest(ident, size, raw[REQUEST_HEADER_SIZE:])


# ---------------------------------------------------------------- responses


def encode_response(resp: Response) -> bytes:
    """Server side: the bytes of one response, padding zeroed."""
    if isinstance(resp, StatusResponse):
        return _schema.RESPONSE_HEADER.build(
            _res_header(int(ResponseId.STATUS), RESPONSE_HEADER_SIZE, resp.error)
        )
    if isinstance(resp, GetInfoResponse):
        values: dict[str, object] = dict(
            _res_header(int(ResponseId.GETINFO), _vs.GETINFO_RESPONSE.size, resp.error)
        )
        for name in ("nodeid", "state", "votes", "expected_votes", "highest_expected",
                     "total_votes", "quorum", "flags", "qdevice_votes"):
            values[name] = check_u32(getattr(resp, name), name)
        values["qdevice_name"] = _encode_name(resp.qdevice_name)
        return _vs.GETINFO_RESPONSE.build(values)
    raise wrong_type(resp, "a votequorum Response")


def decode_response(data: Buffer) -> Response:
    """Client side: one response, identified by ``(id, size)``.

    Well-formed responses are read with :mod:`struct`; everything else goes
    through :func:`decode_response_by_schema`, the definition it is held to."""
    raw = data if type(data) is bytes else as_bytes(data)
    length = len(raw)
    if length >= RESPONSE_HEADER_SIZE:
        ident, size, error = _VQ_HEADER.unpack_from(raw)
        if size == length:
            if ident == _STATUS_ID and size == RESPONSE_HEADER_SIZE:
                return StatusResponse(cs_error(error))
            if ident == _GETINFO_ID and size == _RES_GETINFO.size:
                (_, _, _, nodeid, state, votes, expected, highest, total, quorum, flags,
                 qdevice_votes, name) = _RES_GETINFO.unpack(raw)
                return GetInfoResponse(
                    error=cs_error(error), nodeid=nodeid, state=lookup(_NODE_STATES, state),
                    votes=votes, expected_votes=expected, highest_expected=highest,
                    total_votes=total, quorum=quorum, flags=VotequorumInfo(flags),
                    qdevice_votes=qdevice_votes, qdevice_name=_decode_name(name),
                )
    return decode_response_by_schema(raw)


def decode_response_by_schema(data: Buffer) -> Response:
    """:func:`decode_response` read through the construct schemas."""
    raw = as_bytes(data)
    hdr = parse_header("votequorum response", raw, _schema.RESPONSE_HEADER)
    ident, size = hdr.num("id"), hdr.num("size")
    error = cs_error(hdr.num("error"))
    if ident == ResponseId.STATUS and size == RESPONSE_HEADER_SIZE:
        return StatusResponse(error)
    if ident == ResponseId.GETINFO and size == _vs.GETINFO_RESPONSE.size:
        msg = parse("GETINFO response", _vs.GETINFO_RESPONSE, raw)
        return GetInfoResponse(
            error=error,
            nodeid=msg.num("nodeid"),
            state=lookup(_NODE_STATES, msg.num("state")),
            votes=msg.num("votes"),
            expected_votes=msg.num("expected_votes"),
            highest_expected=msg.num("highest_expected"),
            total_votes=msg.num("total_votes"),
            quorum=msg.num("quorum"),
            flags=VotequorumInfo(msg.num("flags")),
            qdevice_votes=msg.num("qdevice_votes"),
            qdevice_name=_decode_name(msg.raw("qdevice_name")),
        )
    raise unmatched_response("votequorum", raw, ident, size, _KNOWN_RESPONSE_IDS)


# ---------------------------------------------------------------- notifications


def encode_notification(note: Notification) -> bytes:
    """Server side: one event's bytes, padding zeroed."""
    if isinstance(note, QuorumNotification):
        nodes = note.nodes
        if not isinstance(nodes, tuple | list) or len(nodes) > _MAX_ENTRIES:
            raise LocalProtocolError("nodes must be a tuple of NodeStatus")
        body = bytearray()
        for i, node in enumerate(nodes):
            if not isinstance(node, NodeStatus):
                raise wrong_type(node, f"NodeStatus at nodes[{i}]")
            body += check_u32(node.nodeid, f"nodes[{i}].nodeid").to_bytes(4, "little")
            body += check_u32(node.state, f"nodes[{i}].state").to_bytes(4, "little")
        size = check_size(_vs.QUORUM_NOTIFICATION_HEAD.size + len(body), "quorum notification")
        head = _vs.QUORUM_NOTIFICATION_HEAD.build(
            {**_res_header(int(ResponseId.QUORUM_NOTIFICATION), size, _OK),
             "quorate": check_bool(note.quorate, "quorate"),
             "context": check_u64(note.context, "context"), "node_list_entries": len(nodes)}
        )
        return head + bytes(body)
    if isinstance(note, NodelistNotification):
        ids = note.members
        if not isinstance(ids, tuple | list) or len(ids) > _MAX_ENTRIES:
            raise LocalProtocolError("members must be a tuple of u32 node ids")
        id_bytes = b"".join(
            check_u32(v, f"members[{i}]").to_bytes(4, "little") for i, v in enumerate(ids)
        )
        if not isinstance(note.ring_id, RingId):
            raise wrong_type(note.ring_id, "a RingId")
        size = check_size(
            _vs.NODELIST_NOTIFICATION_HEAD.size + len(id_bytes), "nodelist notification"
        )
        head = _vs.NODELIST_NOTIFICATION_HEAD.build(
            {**_res_header(int(ResponseId.NODELIST_NOTIFICATION), size, _OK),
             "context": check_u64(note.context, "context"),
             "ring_nodeid": check_u32(note.ring_id.nodeid, "ring_id.nodeid"),
             "ring_seq": check_u64(note.ring_id.seq, "ring_id.seq"), "node_list_entries": len(ids)}
        )
        return head + id_bytes
    if isinstance(note, ExpectedVotesNotification):
        return _vs.EXPECTEDVOTES_NOTIFICATION.build(
            {**_res_header(int(ResponseId.EXPECTEDVOTES_NOTIFICATION),
                           _vs.EXPECTEDVOTES_NOTIFICATION.size, _OK),
             "context": check_u64(note.context, "context"),
             "expected_votes": check_u32(note.expected_votes, "expected_votes")}
        )
    if isinstance(note, UnknownNotification):
        return encode_unknown_notification(
            note, note.id, note.error, note.data, _NOTIFICATION_IDS,
            "the notification class for id {ident}", _schema.RESPONSE_HEADER,
        )
    raise wrong_type(note, "a votequorum Notification")


def decode_notification(data: Buffer) -> Notification:
    """Client side: one event.  Counts are checked against the length before any list
    is read, so a hostile count cannot make us loop.

    Well-formed events of the three known ids are read with :mod:`struct`;
    everything else, errors included, goes through
    :func:`decode_notification_by_schema`.  tests/messages/test_votequorum_fast_path.py
    holds the two to the same object or the same error on any bytes.
    """
    raw = data if type(data) is bytes else as_bytes(data)
    length = len(raw)
    if length >= _VQ_EXPECTED.size:  # the shortest known event
        ident, size, _error = _VQ_HEADER.unpack_from(raw)
        if size == length:
            if ident == _NODELIST_ID and length >= _VQ_NODELIST.size:
                _, _, _, context, nodeid, seq, n = _VQ_NODELIST.unpack_from(raw)
                if length == _VQ_NODELIST.size + 4 * n:
                    ids = u32s(n).unpack_from(raw, _VQ_NODELIST.size)
                    return NodelistNotification(context, RingId(nodeid, seq), ids)
            elif ident == _QUORUM_ID and length >= _VQ_QUORUM.size:
                _, _, _, quorate, context, n = _VQ_QUORUM.unpack_from(raw)
                if length == _VQ_QUORUM.size + 8 * n:
                    words = u32s(2 * n).unpack_from(raw, _VQ_QUORUM.size)
                    nodes = tuple(
                        NodeStatus(words[i], lookup(_NODE_STATES, words[i + 1]))
                        for i in range(0, 2 * n, 2)
                    )
                    return QuorumNotification(quorate != 0, context, nodes)
            elif ident == _EXPECTED_ID and length == _VQ_EXPECTED.size:
                _, _, _, context, expected = _VQ_EXPECTED.unpack(raw)
                return ExpectedVotesNotification(context, expected)
    return decode_notification_by_schema(raw)


# The fast path's layouts: the struct formats of the schemas' fixed parts
# (Schema.struct_format; the fast-path test checks they are equal).
_VQ_HEADER = struct.Struct("<i4xi4xi4x")  # RESPONSE_HEADER
_VQ_QUORUM = struct.Struct("<i4xi4xi4xI4xQI4x")  # QUORUM_NOTIFICATION_HEAD, 48 bytes
_VQ_NODELIST = struct.Struct("<i4xi4xi4xQI4xQI4x")  # NODELIST_NOTIFICATION_HEAD, 56 bytes
_VQ_EXPECTED = struct.Struct("<i4xi4xi4xQI4x")  # EXPECTEDVOTES_NOTIFICATION, 40 bytes
_QUORUM_ID = int(ResponseId.QUORUM_NOTIFICATION)
_NODELIST_ID = int(ResponseId.NODELIST_NOTIFICATION)
_EXPECTED_ID = int(ResponseId.EXPECTEDVOTES_NOTIFICATION)


def decode_notification_by_schema(raw: bytes) -> Notification:
    """:func:`decode_notification` read through the construct schemas: the
    definition the fast path is held to, and the path of everything else."""
    hdr = parse_header("votequorum notification", raw, _schema.RESPONSE_HEADER)
    ident = hdr.num("id")
    if ident == ResponseId.QUORUM_NOTIFICATION:
        head_schema = _vs.QUORUM_NOTIFICATION_HEAD
        head = parse_head("quorum notification", raw, head_schema)
        n = head.num("node_list_entries")
        check_length(
            f"quorum notification with {n} nodes", raw, head_schema.size + 8 * n,
            "node_list_entries", 40,
        )
        words = struct.unpack_from(f"<{2 * n}I", raw, head_schema.size)
        nodes = tuple(
            NodeStatus(words[2 * i], lookup(_NODE_STATES, words[2 * i + 1])) for i in range(n)
        )
        return QuorumNotification(head.num("quorate") != 0, head.num("context"), nodes)
    if ident == ResponseId.NODELIST_NOTIFICATION:
        head_schema = _vs.NODELIST_NOTIFICATION_HEAD
        head = parse_head("nodelist notification", raw, head_schema)
        n = head.num("node_list_entries")
        check_length(
            f"nodelist notification with {n} members", raw, head_schema.size + 4 * n,
            "node_list_entries", 48,
        )
        ids = struct.unpack_from(f"<{n}I", raw, head_schema.size)
        return NodelistNotification(
            head.num("context"), RingId(head.num("ring_nodeid"), head.num("ring_seq")), ids
        )
    if ident == ResponseId.EXPECTEDVOTES_NOTIFICATION:
        check_exact("expected votes notification", raw, _vs.EXPECTEDVOTES_NOTIFICATION)
        msg = parse("expected votes notification", _vs.EXPECTEDVOTES_NOTIFICATION, raw)
        return ExpectedVotesNotification(msg.num("context"), msg.num("expected_votes"))
    return UnknownNotification(ident, cs_error(hdr.num("error")), raw[RESPONSE_HEADER_SIZE:])
