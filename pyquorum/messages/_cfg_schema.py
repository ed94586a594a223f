"""cfg's wire layouts as ``construct`` schemas, one per C struct.

corosync ``include/corosync/ipc_cfg.h`` (v3.1.7), x86_64 offsets, as checked
against the live daemon (docs/cfg.md §2).  Only what ``corosync-quorumtool``
and pyquorum's fake need is described: GET_NODE_ADDRS, LOCAL_GET and the
generic reply (the header alone, :data:`~pyquorum.messages._schema.RESPONSE_HEADER`).
"""

from __future__ import annotations

from construct import Int32sl, Int32ul, Padding, Struct

from pyquorum.messages._schema import Schema

__all__ = [
    "GET_NODE_ADDRS_REQUEST",
    "GET_NODE_ADDRS_RESPONSE_HEAD",
    "LOCAL_GET_RESPONSE",
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

#: Every schema of this module, for the schema tests.
SCHEMAS = (GET_NODE_ADDRS_REQUEST, GET_NODE_ADDRS_RESPONSE_HEAD, LOCAL_GET_RESPONSE)
