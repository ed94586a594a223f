"""The cfg service's messages, as much as ``corosync-quorumtool`` and
``corosync-cfgtool -s``/``-n`` need.

Layouts are in :mod:`pyquorum.messages._cfg_schema` and docs/cfg.md §2.  The
rules that live here:

* requests: GET_NODE_ADDRS (id 5, 24 bytes), LOCAL_GET (id 6, 16 bytes) and
  NODESTATUSGET (id 9, 32 bytes) are modelled; every other id decodes, on
  the server side, as :class:`UnknownRequest` (corosync answers ids >= 12 with the generic reply,
  docs/cfg.md §3.4, and the fake answers the unmodelled ones the same way);
* responses are identified by ``(id, size)``: id 11 with ``32 + 16n`` bytes is
  GET_NODE_ADDRS's answer, id 12 with 32 bytes LOCAL_GET's, id 16 with 4200
  bytes NODESTATUSGET's (32 bytes when it failed: an unknown node or
  version, docs/cfg.md §3.5), id 0 with 24 bytes the generic reply.  An
  error answer to GET_NODE_ADDRS is 32 bytes whose ``family`` and
  ``num_addrs`` are not initialized by the daemon (docs/cfg.md §3.2): they
  are decoded as they are, with no addresses;
* cfg has events (shutdown callbacks), but corosync-quorumtool never asks for
  them: none is modelled.
"""

from __future__ import annotations

import ipaddress
from enum import IntEnum

from pyquorum._frozen import frozen
from pyquorum.errors import CsErrorCode, LocalProtocolError
from pyquorum.messages._cfg_schema import (
    CFG_MAX_HOST_LEN,
    CFG_MAX_LINKS,
    GET_NODE_ADDRS_REQUEST,
    GET_NODE_ADDRS_RESPONSE_HEAD,
    LOCAL_GET_RESPONSE,
    NODESTATUSGET_REQUEST,
    NODESTATUSGET_RESPONSE_V1,
    NODESTATUSGET_RESPONSE_VERSION,
    TOTEMIP_ADDRLEN,
)
from pyquorum.messages._codec import (
    Buffer,
    as_bytes,
    check_exact,
    check_i32,
    check_size,
    check_u32,
    cs_error,
    encode_unknown_request,
    malformed,
    parse,
    parse_head,
    parse_header,
    unmatched_response,
    wrong_type,
)
from pyquorum.messages._schema import REQUEST_HEADER, RESPONSE_HEADER
from pyquorum.messages.constants import REQUEST_HEADER_SIZE, RESPONSE_HEADER_SIZE
from pyquorum.messages.types import Message

__all__ = [
    "AF_INET",
    "AF_INET6",
    "CfgRequestId",
    "CfgResponseId",
    "ErrorResponse",
    "GetNodeAddrsRequest",
    "GetNodeAddrsResponse",
    "LinkStatus",
    "LocalGetRequest",
    "LocalGetResponse",
    "NodeStatusGetRequest",
    "NodeStatusGetResponse",
    "Request",
    "Response",
    "UnknownRequest",
    "decode_request",
    "decode_response",
    "encode_request",
    "encode_response",
    "format_address",
    "pack_addresses",
]

#: The address families the daemon sends in ``family`` (Linux's values, docs/cfg.md §2.3).
AF_INET = 2
AF_INET6 = 10
#: At most this many addresses fit a response whose size is an i32.
_MAX_ADDRS = (2**31 - 1 - GET_NODE_ADDRS_RESPONSE_HEAD.size) // TOTEMIP_ADDRLEN


class CfgRequestId(IntEnum):
    """``MESSAGE_REQ_CFG_*`` (docs/cfg.md §1.3)."""

    RINGSTATUSGET = 0
    RINGREENABLE = 1
    KILLNODE = 2
    TRYSHUTDOWN = 3
    REPLYTOSHUTDOWN = 4
    GET_NODE_ADDRS = 5
    LOCAL_GET = 6
    RELOAD_CONFIG = 7
    REOPEN_LOG_FILES = 8
    NODESTATUSGET = 9
    TRACKSTART = 10
    TRACKSTOP = 11


class CfgResponseId(IntEnum):
    """``MESSAGE_RES_CFG_*`` that pyquorum models (docs/cfg.md §1.3); 0 is also the
    id of corosync's generic reply."""

    GENERIC = 0
    GET_NODE_ADDRS = 11
    LOCAL_GET = 12
    NODESTATUSGET = 16


#: ``CFG_NODE_STATUS_V1``: the one node-status layout corosync 3.1 knows.
NODE_STATUS_V1 = 1

_KNOWN_REQUEST_IDS = frozenset((int(CfgRequestId.GET_NODE_ADDRS), int(CfgRequestId.LOCAL_GET),
                                int(CfgRequestId.NODESTATUSGET)))
_KNOWN_RESPONSE_IDS = frozenset(int(i) for i in CfgResponseId)


# ---------------------------------------------------------------- dataclasses


class Request(Message):
    """A cfg request (client → server)."""

    __slots__ = ()


@frozen
class GetNodeAddrsRequest(Request):
    """``struct req_lib_cfg_get_node_addrs`` (24 bytes), id 5: nodeid @16; 0 = this node."""

    nodeid: int = 0


@frozen
class LocalGetRequest(Request):
    """``struct req_lib_cfg_local_get`` (16 bytes, the header alone), id 6."""


@frozen
class NodeStatusGetRequest(Request):
    """``struct req_lib_cfg_nodestatusget`` (32 bytes), id 9: nodeid @16, version @24."""

    nodeid: int
    version: int = NODE_STATUS_V1


@frozen
class UnknownRequest(Request):
    """A request id this module does not model."""

    id: int
    size: int
    body: bytes


class Response(Message):
    """A cfg response; ``error`` is a cs_error_t."""

    __slots__ = ()
    error: int


@frozen
class GetNodeAddrsResponse(Response):
    """``struct res_lib_cfg_get_node_addrs``, id 11, 32 + 16n bytes: family @24,
    num_addrs @28, ``addrs`` (16 bytes each) from @32.

    ``addrs`` holds the raw 16-byte fields (an IPv4 address is 4 bytes then
    zeros); :func:`format_address` turns one into text.  In an error answer
    ``family`` and ``num_addrs`` are whatever the daemon's buffer held and
    ``addrs`` is empty (docs/cfg.md §3.2).
    """

    error: int
    family: int
    num_addrs: int
    addrs: tuple[bytes, ...] = ()


@frozen
class LocalGetResponse(Response):
    """``struct res_lib_cfg_local_get`` (32 bytes), id 12: local_nodeid @24."""

    error: int
    local_nodeid: int


@frozen
class LinkStatus:
    """``struct corosync_knet_link_status_v1`` (520 bytes): one knet link to a node,
    as this node sees it.  The addresses are the text before the first NUL."""

    enabled: bool = False
    connected: bool = False
    dynconnected: bool = False
    mtu: int = 0
    src_ipaddr: str = ""
    dst_ipaddr: str = ""


@frozen
class NodeStatusGetResponse(Response):
    """``struct res_lib_cfg_nodestatusget_v1`` (4200 bytes), id 16: a node as knet
    sees it, with ``CFG_MAX_LINKS`` (8) links (docs/cfg.md §2.5).

    A failed answer (an unknown node: CS_ERR_FAILED_OPERATION; another
    version: CS_ERR_NOT_SUPPORTED) is 32 bytes: it decodes with the
    ``error``, the ``version`` field as it is (the daemon never writes it,
    docs/cfg.md §3.5) and no links; any answer whose ``error`` is not CS_OK
    is encoded that way.
    """

    error: int
    version: int = NODE_STATUS_V1
    nodeid: int = 0
    reachable: bool = False
    remote: bool = False
    external: bool = False
    onwire_min: int = 0
    onwire_max: int = 0
    onwire_ver: int = 0
    links: tuple[LinkStatus, ...] = ()


@frozen
class ErrorResponse(Response):
    """corosync's generic reply (24 bytes, id 0): an unknown request id (docs/cfg.md §3.4)."""

    error: int


# ---------------------------------------------------------------- addresses


def pack_addresses(addresses: list[str] | tuple[str, ...]) -> tuple[int, tuple[bytes, ...]]:
    """``(family, addrs)`` for a GET_NODE_ADDRS answer listing ``addresses``.

    The answer has one ``family`` for all its addresses (the first one's,
    docs/cfg.md §2.3), so they must all be IPv4 or all IPv6.
    """
    packed: list[bytes] = []
    family = AF_INET
    for i, text in enumerate(addresses):
        try:
            addr = ipaddress.ip_address(text)
        except ValueError:
            raise LocalProtocolError(f"addresses[{i}] is not an IP address: {text!r}") from None
        this = AF_INET if addr.version == 4 else AF_INET6
        if i == 0:
            family = this
        elif this != family:
            raise LocalProtocolError(
                f"addresses[{i}] ({text}) is not of the first address's family: one answer "
                "carries one family"
            )
        packed.append(addr.packed.ljust(TOTEMIP_ADDRLEN, b"\0"))
    return family, tuple(packed)


def format_address(family: int, raw: bytes) -> str | None:
    """The text of one 16-byte ``addrs`` field, as libcfg reads it (docs/cfg.md §2.3):
    the first 4 bytes for AF_INET, 16 for AF_INET6; None for another family."""
    if len(raw) != TOTEMIP_ADDRLEN:
        raise LocalProtocolError(f"an address field is {TOTEMIP_ADDRLEN} bytes, not {len(raw)}")
    if family == AF_INET:
        return str(ipaddress.IPv4Address(raw[:4]))
    if family == AF_INET6:
        return str(ipaddress.IPv6Address(raw))
    return None


# ---------------------------------------------------------------- requests


def encode_request(req: Request) -> bytes:
    """Client side: the bytes of one request, padding zeroed."""
    if isinstance(req, GetNodeAddrsRequest):
        return GET_NODE_ADDRS_REQUEST.build(
            {"id": int(CfgRequestId.GET_NODE_ADDRS), "size": GET_NODE_ADDRS_REQUEST.size,
             "nodeid": check_u32(req.nodeid, "nodeid")}
        )
    if isinstance(req, LocalGetRequest):
        return REQUEST_HEADER.build(
            {"id": int(CfgRequestId.LOCAL_GET), "size": REQUEST_HEADER_SIZE}
        )
    if isinstance(req, NodeStatusGetRequest):
        return NODESTATUSGET_REQUEST.build(
            {"id": int(CfgRequestId.NODESTATUSGET), "size": NODESTATUSGET_REQUEST.size,
             "nodeid": check_u32(req.nodeid, "nodeid"),
             "version": check_u32(req.version, "version")}
        )
    if isinstance(req, UnknownRequest):
        return encode_unknown_request(
            req, req.id, req.size, req.body, _KNOWN_REQUEST_IDS, CfgRequestId, REQUEST_HEADER
        )
    raise wrong_type(req, "a cfg Request")


def decode_request(data: Buffer) -> Request:
    """Server side: one request; ids it does not model are UnknownRequest.

    The two modelled requests must have libcfg's exact sizes: the daemon does
    not check them (docs/cfg.md §3.4), but a shorter GET_NODE_ADDRS has no
    nodeid to read.
    """
    raw = as_bytes(data)
    hdr = parse_header("cfg request", raw, REQUEST_HEADER)
    ident, size = hdr.num("id"), hdr.num("size")
    if ident == CfgRequestId.GET_NODE_ADDRS:
        check_exact("GET_NODE_ADDRS request", raw, GET_NODE_ADDRS_REQUEST)
        msg = parse("GET_NODE_ADDRS", GET_NODE_ADDRS_REQUEST, raw)
        return GetNodeAddrsRequest(msg.num("nodeid"))
    if ident == CfgRequestId.LOCAL_GET:
        check_exact("LOCAL_GET request", raw, REQUEST_HEADER)
        return LocalGetRequest()
    if ident == CfgRequestId.NODESTATUSGET:
        check_exact("NODESTATUSGET request", raw, NODESTATUSGET_REQUEST)
        msg = parse("NODESTATUSGET", NODESTATUSGET_REQUEST, raw)
        return NodeStatusGetRequest(msg.num("nodeid"), msg.num("version"))
    return UnknownRequest(ident, size, raw[REQUEST_HEADER_SIZE:])


# ---------------------------------------------------------------- responses


def _res_header(ident: int, size: int, error: object) -> dict[str, object]:
    return {"id": ident, "size": size, "error": check_i32(error, "error")}


def encode_response(resp: Response) -> bytes:
    """Server side: the bytes of one response, padding zeroed."""
    if isinstance(resp, GetNodeAddrsResponse):
        addrs = resp.addrs
        if not isinstance(addrs, tuple | list) or len(addrs) > _MAX_ADDRS:
            raise LocalProtocolError("addrs must be a tuple of 16-byte address fields")
        for i, one in enumerate(addrs):
            if not isinstance(one, bytes) or len(one) != TOTEMIP_ADDRLEN:
                raise LocalProtocolError(f"addrs[{i}] must be {TOTEMIP_ADDRLEN} bytes")
        if addrs and check_u32(resp.num_addrs, "num_addrs") != len(addrs):
            raise LocalProtocolError(
                f"num_addrs is {resp.num_addrs} but {len(addrs)} addresses are given"
            )
        size = check_size(
            GET_NODE_ADDRS_RESPONSE_HEAD.size + TOTEMIP_ADDRLEN * len(addrs),
            "GET_NODE_ADDRS response",
        )
        head = GET_NODE_ADDRS_RESPONSE_HEAD.build(
            {**_res_header(int(CfgResponseId.GET_NODE_ADDRS), size, resp.error),
             "family": check_u32(resp.family, "family"),
             "num_addrs": check_u32(resp.num_addrs, "num_addrs")}
        )
        return head + b"".join(addrs)
    if isinstance(resp, LocalGetResponse):
        return LOCAL_GET_RESPONSE.build(
            {**_res_header(int(CfgResponseId.LOCAL_GET), LOCAL_GET_RESPONSE.size, resp.error),
             "local_nodeid": check_u32(resp.local_nodeid, "local_nodeid")}
        )
    if isinstance(resp, NodeStatusGetResponse):
        return _encode_node_status(resp)
    if isinstance(resp, ErrorResponse):
        return RESPONSE_HEADER.build(
            _res_header(int(CfgResponseId.GENERIC), RESPONSE_HEADER_SIZE, resp.error)
        )
    raise wrong_type(resp, "a cfg Response")


def decode_response(data: Buffer) -> Response:
    """Client side: one response, identified by ``(id, size)``; a GET_NODE_ADDRS
    answer's ``num_addrs`` is checked against its length before any address is read."""
    raw = as_bytes(data)
    hdr = parse_header("cfg response", raw, RESPONSE_HEADER)
    ident, size = hdr.num("id"), hdr.num("size")
    error = cs_error(hdr.num("error"))
    if ident == CfgResponseId.GENERIC and size == RESPONSE_HEADER_SIZE:
        return ErrorResponse(error)
    if ident == CfgResponseId.LOCAL_GET and size == LOCAL_GET_RESPONSE.size:
        msg = parse("LOCAL_GET response", LOCAL_GET_RESPONSE, raw)
        return LocalGetResponse(error, msg.num("local_nodeid"))
    if ident == CfgResponseId.NODESTATUSGET and size == NODESTATUSGET_RESPONSE_V1.size:
        return _decode_node_status(raw, error)
    if ident == CfgResponseId.NODESTATUSGET and size == NODESTATUSGET_RESPONSE_VERSION.size:
        short = parse("NODESTATUSGET response", NODESTATUSGET_RESPONSE_VERSION, raw)
        return NodeStatusGetResponse(error, short.num("version"))
    if ident == CfgResponseId.GET_NODE_ADDRS and size >= GET_NODE_ADDRS_RESPONSE_HEAD.size:
        head = parse_head("GET_NODE_ADDRS response", raw, GET_NODE_ADDRS_RESPONSE_HEAD)
        family, n = head.num("family"), head.num("num_addrs")
        base = GET_NODE_ADDRS_RESPONSE_HEAD.size
        if error != CsErrorCode.OK and size == base:
            return GetNodeAddrsResponse(error, family, n)
        if size != base + TOTEMIP_ADDRLEN * n:
            raise malformed(
                f"GET_NODE_ADDRS response with {n} addresses must be "
                f"{base + TOTEMIP_ADDRLEN * n} bytes, not {size}",
                raw, "num_addrs", 28,
            )
        addrs = tuple(
            raw[base + TOTEMIP_ADDRLEN * i : base + TOTEMIP_ADDRLEN * (i + 1)] for i in range(n)
        )
        return GetNodeAddrsResponse(error, family, n, addrs)
    raise unmatched_response("cfg", raw, ident, size, _KNOWN_RESPONSE_IDS)


# ---------------------------------------------------------------- node status


def _host(text: object, field: str) -> bytes:
    if not isinstance(text, str):
        raise LocalProtocolError(f"{field} must be a str, not {type(text).__name__}")
    raw = text.encode()
    if b"\0" in raw or len(raw) >= CFG_MAX_HOST_LEN:
        raise LocalProtocolError(
            f"{field} must be under {CFG_MAX_HOST_LEN} bytes without NUL: {text!r}")
    return raw.ljust(CFG_MAX_HOST_LEN, b"\0")


def _u8(value: object, field: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if not isinstance(value, int) or not 0 <= value <= 0xFF:
        raise LocalProtocolError(f"{field} must be a u8, not {value!r}")
    return value


def _encode_node_status(resp: NodeStatusGetResponse) -> bytes:
    ident = int(CfgResponseId.NODESTATUSGET)
    if resp.error != CsErrorCode.OK:
        # A failed answer is the short "version" struct (docs/cfg.md §3.5).
        return NODESTATUSGET_RESPONSE_VERSION.build(
            {**_res_header(ident, NODESTATUSGET_RESPONSE_VERSION.size, resp.error),
             "version": check_u32(resp.version, "version")}
        )
    links = tuple(resp.links)
    if len(links) > CFG_MAX_LINKS or not all(isinstance(k, LinkStatus) for k in links):
        raise LocalProtocolError(f"links must be at most {CFG_MAX_LINKS} LinkStatus")
    padded = links + (LinkStatus(),) * (CFG_MAX_LINKS - len(links))
    return NODESTATUSGET_RESPONSE_V1.build({
        **_res_header(ident, NODESTATUSGET_RESPONSE_V1.size, resp.error),
        "version": check_u32(resp.version, "version"),
        "nodeid": check_u32(resp.nodeid, "nodeid"),
        **{name: _u8(getattr(resp, name), name) for name in (
            "reachable", "remote", "external", "onwire_min", "onwire_max", "onwire_ver")},
        "links": [
            {"enabled": _u8(k.enabled, "enabled"), "connected": _u8(k.connected, "connected"),
             "dynconnected": _u8(k.dynconnected, "dynconnected"),
             "mtu": check_u32(k.mtu, "mtu"),
             "src_ipaddr": _host(k.src_ipaddr, "src_ipaddr"),
             "dst_ipaddr": _host(k.dst_ipaddr, "dst_ipaddr")}
            for k in padded
        ],
    })


def _text(raw: bytes) -> str:
    # libcfg's callers print the field as a C string: up to the first NUL.
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def _decode_node_status(raw: bytes, error: int) -> NodeStatusGetResponse:
    msg = parse("NODESTATUSGET response", NODESTATUSGET_RESPONSE_V1, raw)
    links = []
    for k in msg.structs("links"):
        links.append(LinkStatus(
            bool(k.num("enabled")), bool(k.num("connected")), bool(k.num("dynconnected")),
            k.num("mtu"), _text(k.raw("src_ipaddr")), _text(k.raw("dst_ipaddr"))))
    # Trailing links that are all zeros are the unused slots of the array.
    while links and links[-1] == LinkStatus():
        links.pop()
    return NodeStatusGetResponse(
        error, msg.num("version"), msg.num("nodeid"), bool(msg.num("reachable")),
        bool(msg.num("remote")), bool(msg.num("external")), msg.num("onwire_min"),
        msg.num("onwire_max"), msg.num("onwire_ver"), tuple(links))
