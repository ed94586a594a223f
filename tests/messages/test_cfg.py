"""cfg messages: the recorded bytes, the layouts, round trips, and typed errors only.

The fixtures in fixtures/cfg/ were recorded from corosync 3.1.7 by
scripts/record-service-fixtures; their JSON forms were checked there against
corosync-cfgtool, corosync-cmapctl and the harness's node addresses.  The
layout offsets below are typed in from docs/cfg.md §2, not computed from the
schemas.
"""

from __future__ import annotations

import contextlib
import ipaddress
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyquorum.errors import CsErrorCode, LocalProtocolError, RemoteProtocolError
from pyquorum.messages import _cfg_schema as schema
from pyquorum.messages import cfg
from pyquorum.messages._schema import Schema
from tests.support.cfg_fixtures import NAMES, garbage, load, zero_garbage


def _decoder(name: str) -> Any:
    return cfg.decode_request if name.startswith("request") else cfg.decode_response


def _encoder(name: str) -> Any:
    return cfg.encode_request if name.startswith("request") else cfg.encode_response


def test_the_recordings_are_there() -> None:
    assert {"request_get_node_addrs_libcfg", "response_get_node_addrs_local",
            "response_get_node_addrs_unknown", "response_local_get",
            "response_unknown", "request_nodestatusget_local", "response_nodestatusget_local",
            "response_nodestatusget_node2", "response_nodestatusget_unknown",
            "response_nodestatusget_version2"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_decodes_as_recorded(name: str) -> None:
    data, expected = load(name)
    assert _decoder(name)(data) == expected
    assert _decoder(name)(memoryview(bytearray(data))) == expected


@pytest.mark.parametrize("name", NAMES)
def test_encodes_to_the_recorded_bytes_without_garbage(name: str) -> None:
    data, expected = load(name)
    assert _encoder(name)(expected) == zero_garbage(data, expected)


def test_live_facts() -> None:
    """What the daemon said, as docs/cfg.md §3 describes it."""
    _, local = load("response_get_node_addrs_local")
    assert isinstance(local, cfg.GetNodeAddrsResponse)
    assert local.error == CsErrorCode.OK and local.family == cfg.AF_INET
    assert [cfg.format_address(local.family, a) for a in local.addrs] == ["198.18.0.1"]
    data, unknown = load("response_get_node_addrs_unknown")
    assert isinstance(unknown, cfg.GetNodeAddrsResponse)
    assert unknown.error == CsErrorCode.ERR_NOT_EXIST and len(data) == 32
    assert unknown.addrs == () and unknown.num_addrs > 0  # uninitialized: docs/cfg.md §3.2
    _, me = load("response_local_get")
    assert me == cfg.LocalGetResponse(CsErrorCode.OK, 1)
    for name in ("response_unknown", "response_trackstop_unmodelled"):
        assert load(name)[1] == cfg.ErrorResponse(CsErrorCode.ERR_INVALID_PARAM)
    # NODESTATUSGET (docs/cfg.md §3.5): this node's one link to itself, a peer's,
    # and the short answers.
    data, me = load("response_nodestatusget_local")
    assert len(data) == 4200 and isinstance(me, cfg.NodeStatusGetResponse)
    assert (me.nodeid, me.reachable, me.onwire_ver) == (1, True, 0)
    assert me.links == (cfg.LinkStatus(True, True, False, 65535, "198.18.0.1", "198.18.0.1"),)
    _, two = load("response_nodestatusget_node2")
    assert isinstance(two, cfg.NodeStatusGetResponse) and len(two.links) == 1
    link = two.links[0]
    assert (link.connected, link.src_ipaddr, link.dst_ipaddr) == (True, "198.18.0.1",
                                                                   "198.18.0.2")
    for name, error in (("response_nodestatusget_unknown", CsErrorCode.ERR_FAILED_OPERATION),
                        ("response_nodestatusget_version2", CsErrorCode.ERR_NOT_SUPPORTED)):
        data, short = load(name)
        assert len(data) == 32 and isinstance(short, cfg.NodeStatusGetResponse)
        assert (short.error, short.links) == (error, ())  # its version: stack bytes
    libcfg, ours = load("request_get_node_addrs_libcfg")[0], load("request_local_get")[0]
    assert libcfg[:24] == bytes.fromhex("05000000 00000000 18000000 00000000 01000000 00000000")
    assert ours == bytes.fromhex("06000000 00000000 10000000 00000000")


LAYOUTS: list[tuple[Schema, int, dict[str, tuple[int, int]]]] = [
    (schema.GET_NODE_ADDRS_REQUEST, 24, {"id": (0, 4), "size": (8, 4), "nodeid": (16, 4)}),
    (schema.GET_NODE_ADDRS_RESPONSE_HEAD, 32,
     {"error": (16, 4), "family": (24, 4), "num_addrs": (28, 4)}),
    (schema.LOCAL_GET_RESPONSE, 32, {"error": (16, 4), "local_nodeid": (24, 4)}),
    (schema.NODESTATUSGET_REQUEST, 32, {"size": (8, 4), "nodeid": (16, 4), "version": (24, 4)}),
    (schema.NODESTATUSGET_RESPONSE_V1, 4200,
     {"error": (16, 4), "version": (24, 4), "nodeid": (28, 4), "reachable": (32, 1),
      "remote": (33, 1), "external": (34, 1), "onwire_min": (35, 1), "onwire_max": (36, 1),
      "onwire_ver": (37, 1), "links": (40, 4160)}),
    (schema.NODESTATUSGET_RESPONSE_VERSION, 32, {"error": (16, 4), "version": (24, 4)}),
]


@pytest.mark.parametrize("sch,size,where", LAYOUTS, ids=lambda v: getattr(v, "name", ""))
def test_layout(sch: Schema, size: int, where: dict[str, tuple[int, int]]) -> None:
    assert sch.size == size
    for name, spot in where.items():
        assert sch.fields[name] == spot, name


def test_every_schema_is_checked() -> None:
    assert {id(s) for s, _, _ in LAYOUTS} == {id(s) for s in schema.SCHEMAS}


# ---------------------------------------------------------------- round trips

u32 = st.integers(0, 2**32 - 1)
i32 = st.integers(-(2**31), 2**31 - 1)
errors = st.one_of(st.sampled_from(list(CsErrorCode)), i32)
addr_field = st.binary(min_size=16, max_size=16)


def requests() -> st.SearchStrategy[cfg.Request]:
    unknown_ids = i32.filter(lambda i: i not in (5, 6, 9))
    return st.one_of(
        st.builds(cfg.GetNodeAddrsRequest, u32),
        st.just(cfg.LocalGetRequest()),
        st.builds(cfg.NodeStatusGetRequest, u32, u32),
        st.builds(lambda i, b: cfg.UnknownRequest(i, 16 + len(b), b), unknown_ids,
                  st.binary(max_size=64)),
    )


def responses() -> st.SearchStrategy[cfg.Response]:
    with_addrs = st.builds(
        lambda e, f, a: cfg.GetNodeAddrsResponse(e, f, len(a), tuple(a)),
        errors.filter(lambda e: e != CsErrorCode.OK) | st.just(CsErrorCode.OK), u32,
        st.lists(addr_field, min_size=1, max_size=8),
    )
    error_only = st.builds(
        lambda e, f, n: cfg.GetNodeAddrsResponse(e, f, n),
        errors.filter(lambda e: e != CsErrorCode.OK), u32, u32,
    )
    host = st.text(st.characters(codec="ascii", exclude_characters="\0"), max_size=40)
    link = st.builds(cfg.LinkStatus, st.booleans(), st.booleans(), st.booleans(), u32,
                     host, host)
    links = st.lists(link, max_size=8).map(
        lambda ls: tuple(ls[:max((i + 1 for i, k in enumerate(ls) if k != cfg.LinkStatus()),
                                 default=0)]))
    u8 = st.integers(0, 255)
    node_status = st.builds(cfg.NodeStatusGetResponse, st.just(CsErrorCode.OK), u32, u32,
                            st.booleans(), st.booleans(), st.booleans(), u8, u8, u8, links)
    failed_status = st.builds(lambda e, v: cfg.NodeStatusGetResponse(e, v),
                              errors.filter(lambda e: e != CsErrorCode.OK), u32)
    return st.one_of(
        with_addrs, error_only, node_status, failed_status,
        st.builds(cfg.GetNodeAddrsResponse, st.just(CsErrorCode.OK), u32, st.just(0)),
        st.builds(cfg.LocalGetResponse, errors, u32),
        st.builds(cfg.ErrorResponse, errors),
    )


@given(requests())
def test_request_roundtrip(req: cfg.Request) -> None:
    data = cfg.encode_request(req)
    assert struct.unpack_from("<i", data, 8)[0] == len(data)
    assert cfg.decode_request(data) == req


@given(responses())
def test_response_roundtrip(resp: cfg.Response) -> None:
    data = cfg.encode_response(resp)
    assert struct.unpack_from("<i", data, 8)[0] == len(data)
    assert cfg.decode_response(data) == resp
    for start, end in garbage(resp):
        assert data[start:end] == bytes(end - start)


@given(st.lists(st.ip_addresses(v=4).map(str), min_size=1, max_size=4)
       | st.lists(st.ip_addresses(v=6).map(str), min_size=1, max_size=4))
def test_addresses_roundtrip(addresses: list[str]) -> None:
    family, addrs = cfg.pack_addresses(addresses)
    resp = cfg.decode_response(cfg.encode_response(
        cfg.GetNodeAddrsResponse(CsErrorCode.OK, family, len(addrs), addrs)))
    assert isinstance(resp, cfg.GetNodeAddrsResponse)
    assert [cfg.format_address(resp.family, a) for a in resp.addrs] == [
        str(ipaddress.ip_address(a)) for a in addresses]


# ---------------------------------------------------------------- typed errors


@given(st.binary(max_size=128))
def test_any_bytes_decode_or_raise_remote_protocol_error(data: bytes) -> None:
    for decode in (cfg.decode_request, cfg.decode_response):
        with contextlib.suppress(RemoteProtocolError):
            decode(data)


def _addrs_answer(num_addrs: int, size: int, error: int = 1, extra: int = 0) -> bytes:
    head = struct.pack("<i4xi4xi4xII", 11, size, error, 2, num_addrs)
    return head + bytes(extra)


@pytest.mark.parametrize("data,field", [
    (_addrs_answer(2**32 - 1, 48, extra=16), "num_addrs"),   # a huge count
    (_addrs_answer(2, 48, extra=16), "num_addrs"),            # one address short
    (_addrs_answer(1, 32), "num_addrs"),                      # OK with no room
    (_addrs_answer(1, 64, extra=32), "num_addrs"),            # one too many
    (struct.pack("<i4xi4xi4xI4x", 12, 40, 1, 1) + bytes(8), "size"),  # LOCAL_GET too long
    (struct.pack("<i4xi4xi4x", 12, 24, 1), "size"),           # LOCAL_GET too short
    (struct.pack("<i4xi4xi4x", 7, 24, 1), "id"),              # an id nobody sends
    (struct.pack("<i4xi4xi4x", 0, 25, 1) + b"\0", "size"),   # generic reply, wrong size
])
def test_bad_responses(data: bytes, field: str) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        cfg.decode_response(data)
    assert info.value.field == field


@pytest.mark.parametrize("data", [
    struct.pack("<i4xi4x", 5, 16),                     # GET_NODE_ADDRS without a nodeid
    struct.pack("<i4xi4xI4x", 6, 24, 0),               # LOCAL_GET with a body
    struct.pack("<i4xi4xI", 5, 24, 1),                 # size says 24, 20 given
])
def test_bad_requests(data: bytes) -> None:
    with pytest.raises(RemoteProtocolError):
        cfg.decode_request(data)


@pytest.mark.parametrize("msg", [
    cfg.GetNodeAddrsRequest(-1),
    cfg.GetNodeAddrsRequest(2**32),
    cfg.UnknownRequest(5, 24, bytes(8)),
    cfg.UnknownRequest(99, 17, b""),
])
def test_bad_requests_to_encode(msg: cfg.Request) -> None:
    with pytest.raises(LocalProtocolError):
        cfg.encode_request(msg)


@pytest.mark.parametrize("msg", [
    cfg.GetNodeAddrsResponse(1, 2, 2, (bytes(16),)),
    cfg.GetNodeAddrsResponse(1, 2, 1, (bytes(4),)),
    cfg.GetNodeAddrsResponse(1, -1, 0),
    cfg.GetNodeAddrsResponse(1, 2, 1, "not a tuple"),  # type: ignore[arg-type]
    cfg.LocalGetResponse(2**31, 1),
    cfg.ErrorResponse("OK"),  # type: ignore[arg-type]
])
def test_bad_responses_to_encode(msg: cfg.Response) -> None:
    with pytest.raises(LocalProtocolError):
        cfg.encode_response(msg)


def test_pack_addresses_refuses_mixed_families_and_non_addresses() -> None:
    assert cfg.pack_addresses([]) == (cfg.AF_INET, ())
    with pytest.raises(LocalProtocolError):
        cfg.pack_addresses(["198.18.0.1", "fe80::1"])
    with pytest.raises(LocalProtocolError):
        cfg.pack_addresses(["node1"])
    assert cfg.format_address(99, bytes(16)) is None
