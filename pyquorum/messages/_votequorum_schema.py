"""votequorum's wire layouts as ``construct`` schemas, one per C struct.

corosync ``include/corosync/ipc_votequorum.h`` (v3.1.7), x86_64 offsets, as
checked against the live daemon (docs/votequorum.md §2).  Unlike the quorum
service, the ``votequorum_node``/``u32`` lists of the notifications start
on an 8-aligned offset equal to ``sizeof`` of their struct, so the messages
are exactly ``sizeof + entries * width`` bytes with no tail overlap.
"""

from __future__ import annotations

from construct import Bytes, Int32sl, Int32ul, Int64ul, Padding, Struct

from pyquorum.messages._schema import Schema
from pyquorum.messages.constants import VOTEQUORUM_QDEVICE_MAX_NAME_LEN

__all__ = [
    "EXPECTEDVOTES_NOTIFICATION",
    "GETINFO_REQUEST",
    "GETINFO_RESPONSE",
    "NODELIST_NOTIFICATION_HEAD",
    "QUORUM_NOTIFICATION_HEAD",
    "SCHEMAS",
    "SETEXPECTED_REQUEST",
    "SETVOTES_REQUEST",
    "TRACKSTART_REQUEST",
]

# qb_ipc_request_header (16) and qb_ipc_response_header (24): docs/votequorum.md §2.1
_REQ = ("id" / Int32sl, Padding(4), "size" / Int32sl, Padding(4))
_RES = (*_REQ, "error" / Int32sl, Padding(4))

# struct req_lib_votequorum_getinfo, 24 bytes
#   field    offset size
#   header      0    16   id 0
#   nodeid     16     4   int; 0 = the local node
#   (pad)      20     4   struct tail padding
GETINFO_REQUEST = Schema(
    "req_lib_votequorum_getinfo", Struct(*_REQ, "nodeid" / Int32ul, Padding(4))
)

# struct req_lib_votequorum_setexpected, 24 bytes
#   header            0   16   id 1
#   expected_votes   16    4   unsigned int
#   (pad)            20    4
SETEXPECTED_REQUEST = Schema(
    "req_lib_votequorum_setexpected", Struct(*_REQ, "expected_votes" / Int32ul, Padding(4))
)

# struct req_lib_votequorum_setvotes, 24 bytes
#   header    0   16   id 2
#   votes    16    4   unsigned int
#   nodeid   20    4   int (0 = the local node)
SETVOTES_REQUEST = Schema(
    "req_lib_votequorum_setvotes",
    Struct(*_REQ, "votes" / Int32ul, "nodeid" / Int32ul),
)

# struct req_lib_votequorum_trackstart, 32 bytes
#   header        0   16   id 3
#   context      16    8   u64, echoed in every notification
#   track_flags  24    4   CS_TRACK_* bits
#   (pad)        28    4
TRACKSTART_REQUEST = Schema(
    "req_lib_votequorum_trackstart",
    Struct(*_REQ, "context" / Int64ul, "track_flags" / Int32ul, Padding(4)),
)

# struct res_lib_votequorum_getinfo, 320 bytes (id 1)
#   field             offset size
#   header               0    24
#   nodeid              24     4
#   state               28     4   VOTEQUORUM_NODESTATE_*
#   votes               32     4
#   expected_votes      36     4
#   highest_expected    40     4
#   total_votes         44     4
#   quorum              48     4
#   flags               52     4   VOTEQUORUM_INFO_*
#   qdevice_votes       56     4
#   qdevice_name        60   255   NUL-terminated
#   (pad)              315     5   struct tail padding
GETINFO_RESPONSE = Schema(
    "res_lib_votequorum_getinfo",
    Struct(
        *_RES,
        "nodeid" / Int32ul,
        "state" / Int32ul,
        "votes" / Int32ul,
        "expected_votes" / Int32ul,
        "highest_expected" / Int32ul,
        "total_votes" / Int32ul,
        "quorum" / Int32ul,
        "flags" / Int32ul,
        "qdevice_votes" / Int32ul,
        "qdevice_name" / Bytes(VOTEQUORUM_QDEVICE_MAX_NAME_LEN),
        Padding(5),
    ),
)

# struct res_lib_votequorum_quorum_notification, sizeof 48, sent as 48 + 8n (id 3)
#   header              0   24
#   quorate            24    4   u32 0/1
#   (pad)              28    4
#   context            32    8   u64
#   node_list_entries  40    4   u32 n
#   (pad)              44    4
#   node_list          48   8n   {u32 nodeid, u32 state}[n]
QUORUM_NOTIFICATION_HEAD = Schema(
    "res_lib_votequorum_quorum_notification",
    Struct(
        *_RES,
        "quorate" / Int32ul,
        Padding(4),
        "context" / Int64ul,
        "node_list_entries" / Int32ul,
        Padding(4),
    ),
)

# struct res_lib_votequorum_nodelist_notification, sizeof 56, sent as 56 + 4n (id 5)
#   header              0   24
#   context            24    8   u64
#   ring_id.nodeid     32    4   u32
#   (pad)              36    4
#   ring_id.seq        40    8   u64
#   node_list_entries  48    4   u32 n
#   (pad)              52    4
#   node_list          56   4n   u32[n]
NODELIST_NOTIFICATION_HEAD = Schema(
    "res_lib_votequorum_nodelist_notification",
    Struct(
        *_RES,
        "context" / Int64ul,
        "ring_nodeid" / Int32ul,
        Padding(4),
        "ring_seq" / Int64ul,
        "node_list_entries" / Int32ul,
        Padding(4),
    ),
)

# struct res_lib_votequorum_expectedvotes_notification, 40 bytes (id 4)
#   header           0   24
#   context         24    8   u64
#   expected_votes  32    4   u32
#   (pad)           36    4
EXPECTEDVOTES_NOTIFICATION = Schema(
    "res_lib_votequorum_expectedvotes_notification",
    Struct(*_RES, "context" / Int64ul, "expected_votes" / Int32ul, Padding(4)),
)

SCHEMAS: tuple[Schema, ...] = (
    GETINFO_REQUEST,
    SETEXPECTED_REQUEST,
    SETVOTES_REQUEST,
    TRACKSTART_REQUEST,
    GETINFO_RESPONSE,
    QUORUM_NOTIFICATION_HEAD,
    NODELIST_NOTIFICATION_HEAD,
    EXPECTEDVOTES_NOTIFICATION,
)
