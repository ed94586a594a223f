"""The quorum service's notifications (the event channel), encoded and decoded.

Split from :mod:`pyquorum.messages.quorum`, which re-exports both functions.
The three known formats end in flexible u32 lists whose counts come from
the peer: every count is checked against the header ``size`` before any
list is read, so a hostile count costs nothing.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from pyquorum.errors import CsErrorCode
from pyquorum.messages._codec import (
    Buffer,
    LazyModule,
    as_bytes,
    check_bool,
    check_node_list,
    check_size,
    check_u32,
    check_u64,
    cs_error,
    encode_unknown_notification,
    malformed,
    parse,
    parse_header,
    wrong_type,
)
from pyquorum.messages.constants import RESPONSE_HEADER_SIZE, ResponseId
from pyquorum.messages.types import (
    NodelistNotification,
    Notification,
    QuorumNotification,
    QuorumNotificationV0,
    RingId,
    UnknownNotification,
)

if TYPE_CHECKING:
    from pyquorum.messages import _schema
    from pyquorum.messages._schema import Parsed, Schema
else:
    _schema = LazyModule("pyquorum.messages._schema")

__all__ = ["decode_notification", "decode_notification_by_schema", "encode_notification"]

_OK = int(CsErrorCode.OK)
_NOTIFICATION_IDS = frozenset(
    int(i)
    for i in (
        ResponseId.NOTIFICATION,
        ResponseId.V1_QUORUM_NOTIFICATION,
        ResponseId.V1_NODELIST_NOTIFICATION,
    )
)


def encode_notification(n: Notification) -> bytes:
    """Server side: the bytes of one event.  The header error is CS_OK, as corosync
    sends it, and the 4 bytes after the lists are zero."""
    if isinstance(n, NodelistNotification):
        lists = [
            check_node_list(n.members, "members"),
            check_node_list(n.joined, "joined"),
            check_node_list(n.left, "left"),
        ]
        nodeid, seq = _check_ring_id(n.ring_id)
        return _schema.NODELIST_NOTIFICATION.build(
            {
                "id": int(ResponseId.V1_NODELIST_NOTIFICATION),
                "size": _list_message_size(_schema.NODELIST_NOTIFICATION, *lists),
                "error": _OK,
                "ring_nodeid": nodeid,
                "ring_seq": seq,
                "member_list_entries": len(lists[0]),
                "joined_list_entries": len(lists[1]),
                "left_list_entries": len(lists[2]),
                "member_list": lists[0],
                "joined_list": lists[1],
                "left_list": lists[2],
            }
        )
    if isinstance(n, QuorumNotification):
        view = check_node_list(n.members, "members")
        nodeid, seq = _check_ring_id(n.ring_id)
        return _schema.QUORUM_NOTIFICATION.build(
            {
                "id": int(ResponseId.V1_QUORUM_NOTIFICATION),
                "size": _list_message_size(_schema.QUORUM_NOTIFICATION, view),
                "error": _OK,
                "quorate": check_bool(n.quorate, "quorate"),
                "ring_nodeid": nodeid,
                "ring_seq": seq,
                "view_list_entries": len(view),
                "view_list": view,
            }
        )
    if isinstance(n, QuorumNotificationV0):
        view = check_node_list(n.members, "members")
        return _schema.QUORUM_NOTIFICATION_V0.build(
            {
                "id": int(ResponseId.NOTIFICATION),
                "size": _list_message_size(_schema.QUORUM_NOTIFICATION_V0, view),
                "error": _OK,
                "quorate": check_bool(n.quorate, "quorate"),
                "ring_seq": check_u64(n.ring_seq, "ring_seq"),
                "view_list_entries": len(view),
                "view_list": view,
            }
        )
    if isinstance(n, UnknownNotification):
        return _encode_unknown_notification(n)
    raise wrong_type(n, "a quorum Notification")


def _encode_unknown_notification(n: UnknownNotification) -> bytes:
    return encode_unknown_notification(
        n, n.id, n.error, n.data, _NOTIFICATION_IDS,
        "the notification class for id {ident}", _schema.RESPONSE_HEADER,
    )


def _check_ring_id(ring_id: object) -> tuple[int, int]:
    if not isinstance(ring_id, RingId):
        raise wrong_type(ring_id, "a RingId")
    return (
        check_u32(ring_id.nodeid, "ring_id.nodeid"),
        check_u64(ring_id.seq, "ring_id.seq"),
    )


def _list_message_size(schema: Schema, *lists: list[int]) -> int:
    return check_size(schema.size + 4 * sum(len(x) for x in lists), schema.name)


def decode_notification(data: Buffer) -> Notification:
    """Client side: one event.  Unknown ids become UnknownNotification; a known id
    with a malformed body is a RemoteProtocolError.  The header's error (always
    CS_OK from corosync) is not kept, as libquorum ignores it too.

    Well-formed events of the three known ids are read with :mod:`struct`
    (several times faster than construct's compiled parser); everything else,
    errors included, goes through :func:`decode_notification_by_schema`.
    tests/messages/test_notification_fast_path.py holds the two to the same
    object or the same error on any bytes.
    """
    raw = data if type(data) is bytes else as_bytes(data)
    length = len(raw)
    if length >= _SHORTEST:
        ident, size, _error = _HEADER.unpack_from(raw)
        if size == length:
            # One unpack of the whole event: its fixed part and its n ids (the
            # layout of each length made once), the counts checked against n.
            if ident == _NODELIST_ID:
                layout = _NODELIST_BY_LENGTH.get(length) or _layout(_NODELIST, length)
                if layout is not None:
                    f = layout.unpack_from(raw)
                    m = f[5]
                    j = m + f[6]
                    if j + f[7] == len(f) - 8:
                        ring: RingId = _new(RingId)
                        _set_nodeid(ring, f[3])
                        _set_seq(ring, f[4])
                        nodelist: NodelistNotification = _new(NodelistNotification)
                        _set_ring(nodelist, ring)
                        _set_members(nodelist, f[8 : 8 + m])
                        _set_joined(nodelist, f[8 + m : 8 + j])
                        _set_left(nodelist, f[8 + j :])
                        return nodelist
            elif ident == _QUORUM_ID:
                layout = _QUORUM_BY_LENGTH.get(length) or _layout(_QUORUM, length)
                if layout is not None:
                    f = layout.unpack_from(raw)
                    if f[6] == len(f) - 7:
                        ring = _new(RingId)
                        _set_nodeid(ring, f[4])
                        _set_seq(ring, f[5])
                        quorum: QuorumNotification = _new(QuorumNotification)
                        _set_q_quorate(quorum, f[3] != 0)
                        _set_q_ring(quorum, ring)
                        _set_q_members(quorum, f[7:])
                        return quorum
            elif ident == _V0_ID:
                layout = _V0_BY_LENGTH.get(length) or _layout(_V0, length)
                if layout is not None:
                    f = layout.unpack_from(raw)
                    if f[5] == len(f) - 6:
                        return QuorumNotificationV0(f[3] != 0, f[4], f[6:])
    return decode_notification_by_schema(raw)


def _layout(head: struct.Struct, length: int) -> struct.Struct | None:
    """The layout of a whole ``length``-byte event of fixed part ``head``: the fixed
    part, n u32 ids, 4 more bytes (n from the length); None when no n fits.
    Remembered per length (a bounded table: a hostile peer cannot grow it)."""
    ids, odd = divmod(length - head.size - 4, 4)
    if ids < 0 or odd:
        return None
    layout = struct.Struct(f"{head.format}{ids}I")
    table = _BY_LENGTH[head]
    if len(table) < _LAYOUTS_MAX:
        table[length] = layout
    return layout


# The fast path's layouts: each is the struct format of the construct schema's
# fixed part (Schema.struct_format; tests/messages/test_notification_fast_path.py
# checks they are equal), written out so that decoding needs no construct.
_HEADER = struct.Struct("<i4xi4xi4x")  # RESPONSE_HEADER
_NODELIST = struct.Struct("<i4xi4xi4xI4xQI4xI4xI")  # NODELIST_NOTIFICATION_HEAD, 60 bytes
_QUORUM = struct.Struct("<i4xi4xi4xi4xI4xQI")  # QUORUM_NOTIFICATION_HEAD, 52 bytes
_V0 = struct.Struct("<i4xi4xi4xi4xQI")  # QUORUM_NOTIFICATION_V0_HEAD, 44 bytes
_SHORTEST = _V0.size + 4  # the shortest known event
_NODELIST_BY_LENGTH: dict[int, struct.Struct] = {}
_QUORUM_BY_LENGTH: dict[int, struct.Struct] = {}
_V0_BY_LENGTH: dict[int, struct.Struct] = {}
_BY_LENGTH = {_NODELIST: _NODELIST_BY_LENGTH, _QUORUM: _QUORUM_BY_LENGTH, _V0: _V0_BY_LENGTH}
_LAYOUTS_MAX = 512
_NODELIST_ID = int(ResponseId.V1_NODELIST_NOTIFICATION)
_QUORUM_ID = int(ResponseId.V1_QUORUM_NOTIFICATION)
_V0_ID = int(ResponseId.NOTIFICATION)


# The events are frozen slotted dataclasses, whose __init__ assigns each field
# through object.__setattr__; on the hot path that is half of a decode.  These
# fill the same slots directly: the object is the one the constructor would
# build (equal, same hash and repr; the fast-path test compares them).
_new = object.__new__
_set_nodeid = RingId.__dict__["nodeid"].__set__
_set_seq = RingId.__dict__["seq"].__set__
_set_ring = NodelistNotification.__dict__["ring_id"].__set__
_set_members = NodelistNotification.__dict__["members"].__set__
_set_joined = NodelistNotification.__dict__["joined"].__set__
_set_left = NodelistNotification.__dict__["left"].__set__
_set_q_quorate = QuorumNotification.__dict__["quorate"].__set__
_set_q_ring = QuorumNotification.__dict__["ring_id"].__set__
_set_q_members = QuorumNotification.__dict__["members"].__set__


def decode_notification_by_schema(raw: bytes) -> Notification:
    """:func:`decode_notification` read entirely through the construct schemas:
    the definition the fast path is held to, and the path every message the
    fast path does not take (unknown ids, malformed bytes) goes through."""
    hdr = parse_header("notification", raw, _schema.RESPONSE_HEADER)
    ident = hdr.num("id")
    if ident == ResponseId.V1_NODELIST_NOTIFICATION:
        msg = _parse_lists(
            "V1 nodelist notification", raw,
            _schema.NODELIST_NOTIFICATION_HEAD, _schema.NODELIST_NOTIFICATION,
            ("member_list_entries", "joined_list_entries", "left_list_entries"),
        )
        return NodelistNotification(
            ring_id=RingId(msg.num("ring_nodeid"), msg.num("ring_seq")),
            members=msg.nums("member_list"),
            joined=msg.nums("joined_list"),
            left=msg.nums("left_list"),
        )
    if ident == ResponseId.V1_QUORUM_NOTIFICATION:
        msg = _parse_lists(
            "V1 quorum notification", raw,
            _schema.QUORUM_NOTIFICATION_HEAD, _schema.QUORUM_NOTIFICATION,
            ("view_list_entries",),
        )
        return QuorumNotification(
            quorate=msg.num("quorate") != 0,
            ring_id=RingId(msg.num("ring_nodeid"), msg.num("ring_seq")),
            members=msg.nums("view_list"),
        )
    if ident == ResponseId.NOTIFICATION:
        msg = _parse_lists(
            "V0 quorum notification", raw,
            _schema.QUORUM_NOTIFICATION_V0_HEAD, _schema.QUORUM_NOTIFICATION_V0,
            ("view_list_entries",),
        )
        return QuorumNotificationV0(
            quorate=msg.num("quorate") != 0,
            ring_seq=msg.num("ring_seq"),
            members=msg.nums("view_list"),
        )
    return UnknownNotification(ident, cs_error(hdr.num("error")), raw[RESPONSE_HEADER_SIZE:])


def _parse_lists(
    what: str, raw: bytes, head: Schema, full: Schema, counts: tuple[str, ...]
) -> Parsed:
    """Read the counts with the fixed-part schema, check them against the size
    (which already equals ``len(raw)``), and only then parse the lists."""
    if len(raw) < full.size:
        raise malformed(
            f"{what}: size {len(raw)} is below the {full.size}-byte minimum", raw, "size", 8
        )
    fixed = parse(what, head, raw)
    entries = [fixed.num(name) for name in counts]
    needed = full.size + 4 * sum(entries)
    if needed != len(raw):
        first = counts[0]
        raise malformed(
            f"{what}: {'+'.join(map(str, entries))} list entries need {needed} bytes, "
            f"but the message is {len(raw)}",
            raw,
            first,
            head.fields[first][0],
        )
    return parse(what, full, raw)
