"""cmap's wire layouts as ``construct`` schemas, one per C struct.

corosync ``include/corosync/ipc_cmap.h`` (v3.1.7), x86_64 offsets, checked
against the live daemon (docs/cmap.md §2).  Every field sits in its own
8-aligned slot.  Keys travel as ``mar_name_t`` (264 bytes): a u16 length,
6 bytes of padding, then 256 bytes of name, NUL-padded (docs/cmap.md §2.2).
"""

from __future__ import annotations

from construct import Bytes, Int8ul, Int16ul, Int32sl, Int64ul, Padding, Struct

from pyquorum.messages._schema import Schema
from pyquorum.messages.constants import CS_MAX_NAME_LENGTH

__all__ = [
    "ADJUST_INT_REQUEST",
    "GET_REQUEST",
    "GET_RESPONSE_HEAD",
    "HANDLE_REQUEST",
    "HANDLE_RESPONSE",
    "ITER_NEXT_RESPONSE",
    "KEY_REQUEST",
    "NAME_SIZE",
    "NOTIFY_CALLBACK_HEAD",
    "SCHEMAS",
    "SET_CURRENT_MAP_REQUEST",
    "SET_REQUEST_HEAD",
    "TRACK_ADD_REQUEST",
]

_REQ = ("id" / Int32sl, Padding(4), "size" / Int32sl, Padding(4))
_RES = (*_REQ, "error" / Int32sl, Padding(4))


def _name(prefix: str) -> tuple[object, ...]:
    # mar_name_t (corosync mar_gen.h), 264 bytes, aligned(8)
    #   length   0     2   u16, the name's bytes without a NUL
    #   (pad)    2     6
    #   value    8   256   the name, NUL-padded
    return (
        f"{prefix}_length" / Int16ul,
        Padding(6),
        f"{prefix}_value" / Bytes(CS_MAX_NAME_LENGTH),
    )


NAME_SIZE = 8 + CS_MAX_NAME_LENGTH

# req_lib_cmap_delete (id 1) and req_lib_cmap_iter_init (id 4, the prefix), 280 bytes
#   header     0   16
#   key_name  16  264   mar_name_t
KEY_REQUEST = Schema("req_lib_cmap_delete", Struct(*_REQ, *_name("key")))

# struct req_lib_cmap_set, sizeof 296, sent as 296 + value_len (id 0)
#   header      0   16
#   key_name   16  264
#   value_len 280    8   u64
#   type      288    1   u8 cmap_value_types_t
#   (pad)     289    7
#   value     296    -   value_len bytes, unpadded
SET_REQUEST_HEAD = Schema(
    "req_lib_cmap_set",
    Struct(*_REQ, *_name("key"), "value_len" / Int64ul, "type" / Int8ul, Padding(7)),
)

# struct req_lib_cmap_get, 288 bytes (id 2)
#   header      0   16
#   key_name   16  264
#   value_len 280    8   u64: the room the client has; 0 asks only for length and type
GET_REQUEST = Schema("req_lib_cmap_get", Struct(*_REQ, *_name("key"), "value_len" / Int64ul))

# struct req_lib_cmap_adjust_int, 288 bytes (id 3)
#   header     0   16
#   key_name  16  264
#   step     280    4   i32 (+1 inc, -1 dec)
#   (pad)    284    4
ADJUST_INT_REQUEST = Schema(
    "req_lib_cmap_adjust_int", Struct(*_REQ, *_name("key"), "step" / Int32sl, Padding(4))
)

# req_lib_cmap_iter_next (5), _iter_finalize (6) and _track_delete (8), 24 bytes
#   header   0   16
#   handle  16    8   u64 iter_handle / track_handle
HANDLE_REQUEST = Schema("req_lib_cmap_iter_next", Struct(*_REQ, "handle" / Int64ul))

# struct req_lib_cmap_track_add, 296 bytes (id 7)
#   header              0   16
#   key_name           16  264   key or prefix; length 0 = every key
#   track_type        280    4   i32 CMAP_TRACK_* bits
#   (pad)             284    4
#   track_inst_handle 288    8   u64, the client's, echoed in each notification
TRACK_ADD_REQUEST = Schema(
    "req_lib_cmap_track_add",
    Struct(
        *_REQ, *_name("key"), "track_type" / Int32sl, Padding(4),
        "track_inst_handle" / Int64ul,
    ),
)

# struct req_lib_cmap_set_current_map, 24 bytes (id 9)
#   header   0   16
#   map     16    4   i32 CMAP_MAP_*
#   (pad)   20    4
SET_CURRENT_MAP_REQUEST = Schema(
    "req_lib_cmap_set_current_map", Struct(*_REQ, "map" / Int32sl, Padding(4))
)

# struct res_lib_cmap_get, sizeof 40, sent as 40 + the request's value_len (id 2)
#   header      0   24
#   value_len  24    8   u64, the value's real length
#   type       32    1   u8
#   (pad)      33    7
#   value      40    -   value_len bytes, then zeros up to the requested room
GET_RESPONSE_HEAD = Schema(
    "res_lib_cmap_get", Struct(*_RES, "value_len" / Int64ul, "type" / Int8ul, Padding(7))
)

# res_lib_cmap_iter_init (4), _track_add (7), _track_delete (8), 32 bytes
#   header   0   24
#   handle  24    8   u64 iter_handle / track_handle / track_inst_handle
HANDLE_RESPONSE = Schema("res_lib_cmap_iter_init", Struct(*_RES, "handle" / Int64ul))

# struct res_lib_cmap_iter_next, 304 bytes (id 5)
#   header      0   24
#   key_name   24  264
#   value_len 288    8   u64
#   type      296    1   u8
#   (pad)     297    7
ITER_NEXT_RESPONSE = Schema(
    "res_lib_cmap_iter_next",
    Struct(*_RES, *_name("key"), "value_len" / Int64ul, "type" / Int8ul, Padding(7)),
)

# struct res_lib_cmap_notify_callback, sizeof 336, sent as 336 + new_len + old_len (id 9)
#   header              0   24
#   track_inst_handle  24    8   u64
#   key_name           32  264
#   event             296    4   i32 CMAP_TRACK_ADD/DELETE/MODIFY
#   (pad)             300    4
#   new_value_type    304    1   u8
#   (pad)             305    7
#   old_value_type    312    1   u8
#   (pad)             313    7
#   new_value_len     320    8   u64
#   old_value_len     328    8   u64
#   new value, then old value, back to back from 336, unpadded
NOTIFY_CALLBACK_HEAD = Schema(
    "res_lib_cmap_notify_callback",
    Struct(
        *_RES, "track_inst_handle" / Int64ul, *_name("key"), "event" / Int32sl, Padding(4),
        "new_type" / Int8ul, Padding(7), "old_type" / Int8ul, Padding(7),
        "new_len" / Int64ul, "old_len" / Int64ul,
    ),
)

SCHEMAS: tuple[Schema, ...] = (
    KEY_REQUEST,
    SET_REQUEST_HEAD,
    GET_REQUEST,
    ADJUST_INT_REQUEST,
    HANDLE_REQUEST,
    TRACK_ADD_REQUEST,
    SET_CURRENT_MAP_REQUEST,
    GET_RESPONSE_HEAD,
    HANDLE_RESPONSE,
    ITER_NEXT_RESPONSE,
    NOTIFY_CALLBACK_HEAD,
)
