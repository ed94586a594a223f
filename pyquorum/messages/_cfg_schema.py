"""cfg's wire layouts as ``construct`` schemas, one per C struct.

corosync ``include/corosync/ipc_cfg.h`` (v3.1.7), x86_64 offsets, as checked
against the live daemon (docs/cfg.md §2).  Only what ``corosync-quorumtool``,
``corosync-cfgtool -s``/``-n`` and pyquorum's fake need is described:
GET_NODE_ADDRS, LOCAL_GET, NODESTATUSGET and the generic reply (the header
alone, :data:`~pyquorum.messages._schema.RESPONSE_HEADER`).
"""

from __future__ import annotations

from construct import Array, Bytes, Int8ul, Int32sl, Int32ul, Padding, Struct

from pyquorum.messages._schema import Schema

__all__ = [
    "CFG_MAX_HOST_LEN",
    "CFG_MAX_LINKS",
    "GET_NODE_ADDRS_REQUEST",
    "GET_NODE_ADDRS_RESPONSE_HEAD",
    "LOCAL_GET_RESPONSE",
    "NODESTATUSGET_REQUEST",
    "NODESTATUSGET_RESPONSE_V1",
    "NODESTATUSGET_RESPONSE_VERSION",
    "SCHEMAS",
    "TOTEMIP_ADDRLEN",
]

#: Bytes per address in a GET_NODE_ADDRS answer (``TOTEMIP_ADDRLEN``,
#: ``sizeof(struct in6_addr)``): docs/cfg.md §2.3.
TOTEMIP_ADDRLEN = 16

# qb_ipc_request_header (16) and qb_ipc_response_header (24): docs/cfg.md §2.1
_REQ = ("id" / Int32sl, Padding(4), "size" / Int32sl, Padding(4))
_RES = (*_REQ, "error" / Int32sl, Padding(4))

# struct req_lib_cfg_get_node_addrs, 24 bytes
#   field    offset size
#   header      0    16   id 5
#   nodeid     16     4   unsigned int; 0 = the local node
#   (pad)      20     4   struct tail padding
GET_NODE_ADDRS_REQUEST = Schema(
    "req_lib_cfg_get_node_addrs", Struct(*_REQ, "nodeid" / Int32ul, Padding(4))
)

# struct res_lib_cfg_get_node_addrs, 32 bytes + num_addrs * TOTEMIP_ADDRLEN
#   field      offset size
#   header        0    24   id 11
#   family       24     4   AF_INET (2) or AF_INET6 (10)
#   num_addrs    28     4   how many 16-byte addresses follow
#   addrs[]      32   16n   each the address's bytes, zero-filled to 16
GET_NODE_ADDRS_RESPONSE_HEAD = Schema(
    "res_lib_cfg_get_node_addrs",
    Struct(*_RES, "family" / Int32ul, "num_addrs" / Int32ul),
)

# struct res_lib_cfg_local_get, 32 bytes (id 12)
#   header         0   24
#   local_nodeid  24    4   mar_uint32_t in an 8-aligned slot
#   (pad)         28    4
LOCAL_GET_RESPONSE = Schema(
    "res_lib_cfg_local_get", Struct(*_RES, "local_nodeid" / Int32ul, Padding(4))
)

#: ``CFG_MAX_HOST_LEN`` and ``CFG_MAX_LINKS`` (corosync/cfg.h): docs/cfg.md §2.5.
CFG_MAX_HOST_LEN = 256
CFG_MAX_LINKS = 8

# struct req_lib_cfg_nodestatusget, 32 bytes (id 9)
#   header      0   16
#   nodeid     16    4   unsigned int in an 8-aligned slot
#   version    24    4   CFG_NODE_STATUS_V1 (1), 8-aligned
#   (pad)      28    4
NODESTATUSGET_REQUEST = Schema(
    "req_lib_cfg_nodestatusget",
    Struct(*_REQ, "nodeid" / Int32ul, Padding(4), "version" / Int32ul, Padding(4)),
)

# struct corosync_knet_link_status_v1, 520 bytes
#   enabled 0, connected 1, dynconnected 2 (u8), (pad) 3, mtu 4 (u32),
#   src_ipaddr 8 and dst_ipaddr 264 (char[256], NUL-terminated)
_LINK_STATUS = Struct(
    "enabled" / Int8ul, "connected" / Int8ul, "dynconnected" / Int8ul, Padding(1),
    "mtu" / Int32ul,
    "src_ipaddr" / Bytes(CFG_MAX_HOST_LEN), "dst_ipaddr" / Bytes(CFG_MAX_HOST_LEN),
)

# struct res_lib_cfg_nodestatusget_v1, 4200 bytes (id 16)
#   header          0   24
#   version        24    4   the node_status struct starts here (8-aligned)
#   nodeid         28    4
#   reachable      32    1   then remote 33, external 34, onwire_min 35,
#                            onwire_max 36, onwire_ver 37 (u8 each)
#   (pad)          38    2
#   link_status[8] 40  8 × 520
NODESTATUSGET_RESPONSE_V1 = Schema(
    "res_lib_cfg_nodestatusget_v1",
    Struct(
        *_RES, "version" / Int32ul, "nodeid" / Int32ul,
        "reachable" / Int8ul, "remote" / Int8ul, "external" / Int8ul,
        "onwire_min" / Int8ul, "onwire_max" / Int8ul, "onwire_ver" / Int8ul, Padding(2),
        "links" / Array(CFG_MAX_LINKS, _LINK_STATUS),
    ),
)

# struct res_lib_cfg_nodestatusget_version, 32 bytes (id 16): the answer to an
# unknown node or an unsupported version, the version field never written.
NODESTATUSGET_RESPONSE_VERSION = Schema(
    "res_lib_cfg_nodestatusget_version", Struct(*_RES, "version" / Int32ul, Padding(4))
)

#: Every schema of this module, for the schema tests.
SCHEMAS = (GET_NODE_ADDRS_REQUEST, GET_NODE_ADDRS_RESPONSE_HEAD, LOCAL_GET_RESPONSE,
           NODESTATUSGET_REQUEST, NODESTATUSGET_RESPONSE_V1, NODESTATUSGET_RESPONSE_VERSION)
