"""The wire layouts as ``construct`` schemas, one per C struct.

The C headers put every integer of a header (and most body fields) in an
8-byte slot (``__attribute__((aligned(8)))``): the value in the low 4 bytes,
then 4 bytes that the server never initializes (docs/protocol.md §6.1, trap 3).
``Padding(4)`` skips those bytes on parse without reading them and writes
zeros on build, which is exactly the rule we want: ignore the peer's
garbage, send zeros.

The flexible arrays of the notifications start 4 bytes *before* the end of
their struct (they overlap its tail padding), while the server still sends
``sizeof(struct) + 4 * entries`` bytes; so each notification ends with 4
bytes that belong to no field.  The schemas model that tail as a final
``Padding(4)``.

Each :class:`Schema` keeps the construct form (read by the layout tests),
the compiled form used at run time (about 4x faster on parse and build,
compiled when first used), and a field table.  Nothing here leaves the package.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from construct import (
    Array,
    Bytes,
    FormatField,
    Int32sl,
    Int32ul,
    Int64sl,
    Int64ul,
    Padded,
    Padding,
    Pass,
    SizeofError,
    Struct,
    this,
)

from pyquorum.messages.constants import PATH_MAX

__all__ = [
    "CONNECTION_REQUEST",
    "CONNECTION_RESPONSE",
    "ERROR_RESPONSE",
    "GETQUORATE_RESPONSE",
    "MODEL_GETTYPE_REQUEST",
    "NODELIST_NOTIFICATION",
    "NODELIST_NOTIFICATION_HEAD",
    "QUORUM_NOTIFICATION",
    "QUORUM_NOTIFICATION_HEAD",
    "QUORUM_NOTIFICATION_V0",
    "QUORUM_NOTIFICATION_V0_HEAD",
    "REQUEST_HEADER",
    "RESPONSE_HEADER",
    "SCHEMAS",
    "TRACKSTART_REQUEST",
    "TYPE_RESPONSE",
    "VALUE_RESPONSE",
    "Parsed",
    "Schema",
]


class Parsed:
    """Typed read access to one parsed struct, so construct's ``Any`` stays in here."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = values

    def num(self, name: str) -> int:
        value: int = self._values[name]
        return value

    def nums(self, name: str) -> tuple[int, ...]:
        return tuple(self._values[name])

    def raw(self, name: str) -> bytes:
        value: bytes = self._values[name]
        return value

    def structs(self, name: str) -> tuple[Parsed, ...]:
        """An array of structs, each read the same way."""
        return tuple(Parsed(v) for v in self._values[name])


class Schema:
    """One C struct: its construct form, its compiled form, and its field table.

    ``fields`` maps each named field to ``(offset, size)``; a flexible array
    has size ``None`` and fields after it have no fixed offset, so they are
    left out.  ``size`` is the struct's length with every list empty.
    """

    __slots__ = ("_compiled", "fields", "name", "size", "struct")

    def __init__(self, name: str, struct: Any) -> None:
        self.name = name
        self.struct = struct
        self._compiled: Any = None
        self.fields: dict[str, tuple[int, int | None]] = {}
        offset: int | None = 0
        size = 0
        for sub in struct.subcons:
            try:
                width: int | None = int(sub.sizeof())
            except SizeofError:
                width = None  # an Array counted by an earlier field
            if offset is not None and sub.name is not None:
                self.fields[sub.name] = (offset, width)
            if width is None:
                offset = None
            else:
                size += width
                if offset is not None:
                    offset += width
        self.size = size

    @property
    def compiled(self) -> Any:
        """The compiled form, made on first use: compiling every schema costs
        tens of milliseconds, and a command uses only a few of them (most
        decoding takes the struct fast paths)."""
        if self._compiled is None:
            self._compiled = self.struct.compile()
        return self._compiled

    def parse(self, data: bytes) -> Parsed:
        """Parse ``data`` (already length-checked by the caller).

        construct raises only if a caller's length check is missing; the codecs
        turn that into ``RemoteProtocolError`` as a last line of defence.
        """
        return Parsed(self.compiled.parse(data))

    def build(self, values: Mapping[str, object]) -> bytes:
        return bytes(self.compiled.build(values))

    def struct_format(self) -> str:
        """This fixed-size struct as a :mod:`struct` format (``<``, one code per
        integer, ``Ns`` per fixed byte string, ``Nx`` per padding), so a
        hand-written fast path can be checked against the schema it shortcuts."""
        codes = ["<"]
        for sub in self.struct.subcons:
            inner = getattr(sub, "subcon", sub)
            if isinstance(inner, FormatField):
                codes.append(inner.fmtstr.lstrip("<"))
            elif isinstance(inner, Bytes) and isinstance(inner.length, int):
                codes.append(f"{inner.length}s")
            elif isinstance(sub, Padded) and isinstance(inner, Pass.__class__):
                codes.append(f"{sub.length}x")
            else:
                raise TypeError(f"{self.name}: {sub!r} has no fixed struct format")
        return "".join(codes).replace("l", "i").replace("L", "I")

    def first_field_beyond(self, length: int) -> tuple[str | None, int]:
        """The first field that does not fit in ``length`` bytes, and its offset."""
        for name, (offset, width) in self.fields.items():
            if offset + (width or 0) > length:
                return name, offset
        return None, length

    def __repr__(self) -> str:
        return f"<Schema {self.name} {self.size} bytes>"


# ------------------------------------------------------------------ libqb

# struct qb_ipc_request_header (libqb qbipc_common.h), 16 bytes
#   field  offset size
#   id        0     4   i32 message id (libqb's own ids are negative)
#   (pad)     4     4   high half of the 8-byte slot
#   size      8     4   i32 length of the whole message, header included
#   (pad)    12     4
_REQUEST_HEADER = ("id" / Int32sl, Padding(4), "size" / Int32sl, Padding(4))

# struct qb_ipc_response_header (libqb qbipc_common.h), 24 bytes
#   field  offset size
#   id        0     4   i32
#   (pad)     4     4
#   size      8     4   i32, header included
#   (pad)    12     4
#   error    16     4   i32: cs_error_t for a service, -errno for libqb's handshake
#   (pad)    20     4
_RESPONSE_HEADER = (*_REQUEST_HEADER, "error" / Int32sl, Padding(4))

REQUEST_HEADER = Schema("qb_ipc_request_header", Struct(*_REQUEST_HEADER))
RESPONSE_HEADER = Schema("qb_ipc_response_header", Struct(*_RESPONSE_HEADER))

# struct qb_ipc_connection_request (libqb ipc_int.h), 24 bytes, aligned(8)
#   field         offset size
#   hdr.id           0     4   -1 (QB_IPC_MSG_AUTHENTICATE)
#   hdr.size         8     4   24
#   max_msg_size    16     4   u32
#   (pad)           20     4   struct tail padding
CONNECTION_REQUEST = Schema(
    "qb_ipc_connection_request",
    Struct(*_REQUEST_HEADER, "max_msg_size" / Int32ul, Padding(4)),
)

# struct qb_ipc_connection_response (libqb ipc_int.h), 12328 bytes, aligned(8)
#   field            offset  size
#   hdr.id              0      4   -1
#   hdr.size            8      4   12328
#   hdr.error          16      4   0 or -errno
#   connection_type    24      4   i32 enum qb_ipc_type
#   max_msg_size       28      4   u32, as granted
#   connection         32      8   intptr_t, the server's pointer (opaque)
#   request            40   4096   char[PATH_MAX], NUL-terminated
#   response         4136   4096
#   event            8232   4096
CONNECTION_RESPONSE = Schema(
    "qb_ipc_connection_response",
    Struct(
        *_RESPONSE_HEADER,
        "connection_type" / Int32sl,
        "max_msg_size" / Int32ul,
        "connection" / Int64sl,
        "request" / Bytes(PATH_MAX),
        "response" / Bytes(PATH_MAX),
        "event" / Bytes(PATH_MAX),
    ),
)

# ------------------------------------------------------------------ quorum requests

# req_lib_quorum_getquorate / _trackstop / _gettype (corosync ipc_quorum.h) are a
# bare qb_ipc_request_header (16 bytes): REQUEST_HEADER is their schema.

# struct req_lib_quorum_trackstart, 24 bytes
#   field        offset size
#   header          0    16   id 1, size 24
#   track_flags    16     4   u32 CS_TRACK_* bits
#   (pad)          20     4   struct tail padding
TRACKSTART_REQUEST = Schema(
    "req_lib_quorum_trackstart",
    Struct(*_REQUEST_HEADER, "track_flags" / Int32ul, Padding(4)),
)

# struct req_lib_quorum_model_gettype, 24 bytes
#   field   offset size
#   header     0    16   id 4, size 24
#   model     16     4   u32 quorum_model_t
#   (pad)     20     4
MODEL_GETTYPE_REQUEST = Schema(
    "req_lib_quorum_model_gettype",
    Struct(*_REQUEST_HEADER, "model" / Int32ul, Padding(4)),
)

# ------------------------------------------------------------------ quorum responses

# The generic error reply and the TRACKSTART/TRACKSTOP replies are a bare
# qb_ipc_response_header (24 bytes): RESPONSE_HEADER is their schema.
ERROR_RESPONSE = RESPONSE_HEADER

# struct res_lib_quorum_getquorate, 32 bytes
#   field    offset size
#   header      0    24   id 0, size 32
#   quorate    24     4   u32, 0 or 1
#   (pad)      28     4
GETQUORATE_RESPONSE = Schema(
    "res_lib_quorum_getquorate",
    Struct(*_RESPONSE_HEADER, "quorate" / Int32ul, Padding(4)),
)

# struct res_lib_quorum_gettype (id 4) and res_lib_quorum_model_gettype (id 5), 32 bytes
#   field        offset size
#   header          0    24
#   quorum_type    24     4   u32 (QUORUM_FREE 0 / QUORUM_SET 1)
#   (pad)          28     4
TYPE_RESPONSE = Schema(
    "res_lib_quorum_gettype",
    Struct(*_RESPONSE_HEADER, "quorum_type" / Int32ul, Padding(4)),
)

# res_lib_quorum_getquorate, _gettype and _model_gettype share one shape: a u32
# at 24 in 32 bytes.  The response decoder reads any 32-byte response with this
# schema, header and value in one parse, and only then looks at the id.
#   header    0   24
#   value    24    4   quorate (id 0) or quorum_type (ids 4 and 5)
#   (pad)    28    4
VALUE_RESPONSE = Schema(
    "32-byte quorum response",
    Struct(*_RESPONSE_HEADER, "value" / Int32ul, Padding(4)),
)

# ------------------------------------------------------------------ notifications

# struct res_lib_quorum_notification (V0, id 3), sizeof 48, sent as 48 + 4n bytes
#   field               offset size
#   header                 0    24
#   quorate               24     4   i32
#   (pad)                 28     4
#   ring_seq              32     8   u64
#   view_list_entries     40     4   u32 n
#   view_list             44    4n   u32[n], over the struct's tail padding
#   (tail)            44+4n     4   belongs to no field; uninitialized
_V0_HEAD = (
    *_RESPONSE_HEADER,
    "quorate" / Int32sl,
    Padding(4),
    "ring_seq" / Int64ul,
    "view_list_entries" / Int32ul,
)
QUORUM_NOTIFICATION_V0_HEAD = Schema("res_lib_quorum_notification head", Struct(*_V0_HEAD))
QUORUM_NOTIFICATION_V0 = Schema(
    "res_lib_quorum_notification",
    Struct(*_V0_HEAD, "view_list" / Array(this.view_list_entries, Int32ul), Padding(4)),
)

# mar_quorum_ring_id_t (corosync ipc_quorum.h), 16 bytes: u32 nodeid @0, (pad) @4, u64 seq @8

# struct res_lib_quorum_v1_quorum_notification (id 6), sizeof 56, sent as 56 + 4n bytes
#   field               offset size
#   header                 0    24
#   quorate               24     4   i32
#   (pad)                 28     4
#   ring_id.nodeid        32     4   u32
#   (pad)                 36     4
#   ring_id.seq           40     8   u64
#   view_list_entries     48     4   u32 n
#   view_list             52    4n   u32[n]
#   (tail)            52+4n     4   belongs to no field; uninitialized
_V1_QUORUM_HEAD = (
    *_RESPONSE_HEADER,
    "quorate" / Int32sl,
    Padding(4),
    "ring_nodeid" / Int32ul,
    Padding(4),
    "ring_seq" / Int64ul,
    "view_list_entries" / Int32ul,
)
QUORUM_NOTIFICATION_HEAD = Schema(
    "res_lib_quorum_v1_quorum_notification head", Struct(*_V1_QUORUM_HEAD)
)
QUORUM_NOTIFICATION = Schema(
    "res_lib_quorum_v1_quorum_notification",
    Struct(*_V1_QUORUM_HEAD, "view_list" / Array(this.view_list_entries, Int32ul), Padding(4)),
)

# struct res_lib_quorum_v1_nodelist_notification (id 7), sizeof 64, sent as 64 + 4(m+j+l)
#   field                  offset      size
#   header                    0         24
#   ring_id.nodeid           24          4   u32
#   (pad)                    28          4
#   ring_id.seq              32          8   u64
#   member_list_entries      40          4   u32 m
#   (pad)                    44          4
#   joined_list_entries      48          4   u32 j
#   (pad)                    52          4
#   left_list_entries        56          4   u32 l
#   member_list              60         4m   u32[m], then joined[j] and left[l] back to back
#   (tail)           60+4(m+j+l)         4   belongs to no field (zero in every capture)
_NODELIST_HEAD = (
    *_RESPONSE_HEADER,
    "ring_nodeid" / Int32ul,
    Padding(4),
    "ring_seq" / Int64ul,
    "member_list_entries" / Int32ul,
    Padding(4),
    "joined_list_entries" / Int32ul,
    Padding(4),
    "left_list_entries" / Int32ul,
)
NODELIST_NOTIFICATION_HEAD = Schema(
    "res_lib_quorum_v1_nodelist_notification head", Struct(*_NODELIST_HEAD)
)
NODELIST_NOTIFICATION = Schema(
    "res_lib_quorum_v1_nodelist_notification",
    Struct(
        *_NODELIST_HEAD,
        "member_list" / Array(this.member_list_entries, Int32ul),
        "joined_list" / Array(this.joined_list_entries, Int32ul),
        "left_list" / Array(this.left_list_entries, Int32ul),
        Padding(4),
    ),
)

#: Every schema, for the layout tests.
SCHEMAS: tuple[Schema, ...] = (
    REQUEST_HEADER,
    RESPONSE_HEADER,
    CONNECTION_REQUEST,
    CONNECTION_RESPONSE,
    TRACKSTART_REQUEST,
    MODEL_GETTYPE_REQUEST,
    GETQUORATE_RESPONSE,
    TYPE_RESPONSE,
    QUORUM_NOTIFICATION_V0,
    QUORUM_NOTIFICATION,
    NODELIST_NOTIFICATION,
)
