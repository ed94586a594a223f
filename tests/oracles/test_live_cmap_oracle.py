"""tests/c/cmap_oracle.c against a real corosync: what libcmap sees.

These pin the daemon's behaviour (corosync 3.1, Debian's libcmap) for every
oracle command, so that pyquorum's CmapSession can later be compared with
the oracle call for call.  tests/oracles/README.md sums the facts up.  Keys
the tests write live under a per-test prefix and are deleted afterwards, so
the shared node is left as it was.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.oracle import OracleFailed, run_cmap_oracle, watch_oracle

Node = Any  # pyquorum.testing.cluster.Node

pytestmark = pytest.mark.usefixtures("oracles_built")

CS_OK = 1
CS_ERR_TRY_AGAIN = 6
CS_ERR_INVALID_PARAM = 7
CS_ERR_BAD_HANDLE = 9
CS_ERR_ACCESS = 11
CS_ERR_NOT_EXIST = 12
CS_ERR_NAME_TOO_LONG = 13
CS_ERR_NO_SECTIONS = 27
CS_ERR_NOT_SUPPORTED = 19

TRACK_DELETE, TRACK_MODIFY, TRACK_ADD, TRACK_PREFIX = 1, 2, 4, 8
TRACK_ALL = TRACK_DELETE | TRACK_MODIFY | TRACK_ADD | TRACK_PREFIX

#: (type name, type id, value as the oracle's `set` takes it, value as `get` prints it, length)
VALUES = [
    ("i8", 1, "-5", -5, 1),
    ("u8", 2, "255", 255, 1),
    ("i16", 3, "-300", -300, 2),
    ("u16", 4, "65535", 65535, 2),
    ("i32", 5, "-70000", -70000, 4),
    ("u32", 6, "4000000000", 4000000000, 4),
    ("i64", 7, "-9223372036854775808", -(2**63), 8),
    ("u64", 8, "18446744073709551615", 2**64 - 1, 8),
    ("flt", 9, "0.1", 0.10000000149011612, 4),  # the float nearest 0.1, widened
    ("dbl", 10, "0.1", 0.1, 8),
    ("str", 11, "hello  world", "hello  world", 13),  # the NUL is part of the value
    ("bin", 12, "00ff10", "00ff10", 3),
]

_counter = itertools.count()


def calls(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if "call" in line]


@pytest.fixture
def prefix(corosync_node_any: Node) -> Iterator[str]:
    """A fresh key prefix for the test; every key under it is deleted afterwards."""
    name = f"pqoracle.t{os.getpid()}x{next(_counter)}."
    yield name
    keys = keys_under(corosync_node_any, name)
    if keys:
        run_cmap_oracle(corosync_node_any, ["init", *(f"delete {k}" for k in keys)])
    assert keys_under(corosync_node_any, name) == []


def keys_under(node: Node, prefix: str) -> list[str]:
    listed = run_cmap_oracle(node, ["init", f"iter {prefix}"])
    return [line["key"] for line in listed if line.get("call") == "iter_next" and "key" in line]


def value_line(call: str, key: str, type_name: str, type_id: int, value: Any, length: int,
               buffer: int = 16384) -> dict[str, Any]:
    line = {"call": call, "key": key, "buffer": buffer, "rc": CS_OK, "type": type_id,
            "type_name": type_name, "value_len": length, "value": value}
    if type_name == "str":
        line["hex"] = (str(value).encode() + b"\0").hex()
    return line


def test_get_of_runtime_keys(corosync_node_any: Node) -> None:
    key = "runtime.votequorum.this_node_id"
    lines = run_cmap_oracle(corosync_node_any, [
        "init",
        f"get {key}",
        f"get_len {key}",
        f"get_small {key} 4",
        f"get_small {key} 3",
        f"get_small {key} 0",
        f"get_u32 {key}",
        f"get_i32 {key}",
        f"get_u8 {key}",
        f"get_str {key}",
        "get_str totem.cluster_name",
        "get totem.cluster_name",
        "get pq.no.such.key",
        "get_len pq.no.such.key",
        "get_u32 pq.no.such.key",
        "get_str pq.no.such.key",
        "get_small pq.no.such.key 0",
        "finalize",
    ])
    tag = corosync_node_any.cluster.tag
    assert lines == [
        {"call": "init", "rc": CS_OK},
        value_line("get", key, "u32", 6, 1, 4),
        {"call": "get_len", "key": key, "rc": CS_OK, "type": 6, "type_name": "u32",
         "value_len": 4},
        value_line("get_small", key, "u32", 6, 1, 4, buffer=4),
        {"call": "get_small", "key": key, "buffer": 3, "rc": CS_ERR_INVALID_PARAM},
        # A zero-sized buffer is a length probe: rc OK with the length and the type.
        {"call": "get_small", "key": key, "buffer": 0, "rc": CS_OK, "type": 6,
         "type_name": "u32", "value_len": 4},
        {"call": "get_u32", "key": key, "rc": CS_OK, "value": 1},
        {"call": "get_i32", "key": key, "rc": CS_ERR_INVALID_PARAM},  # wrong type
        {"call": "get_u8", "key": key, "rc": CS_ERR_INVALID_PARAM},
        {"call": "get_str", "key": key, "rc": CS_ERR_INVALID_PARAM},
        {"call": "get_str", "key": "totem.cluster_name", "rc": CS_OK, "value": tag},
        value_line("get", "totem.cluster_name", "str", 11, tag, len(tag) + 1),
        {"call": "get", "key": "pq.no.such.key", "buffer": 16384, "rc": CS_ERR_NOT_EXIST},
        {"call": "get_len", "key": "pq.no.such.key", "rc": CS_ERR_NOT_EXIST},
        {"call": "get_u32", "key": "pq.no.such.key", "rc": CS_ERR_NOT_EXIST},
        {"call": "get_str", "key": "pq.no.such.key", "rc": CS_ERR_NOT_EXIST},
        {"call": "get_small", "key": "pq.no.such.key", "buffer": 0, "rc": CS_ERR_NOT_EXIST},
        {"call": "finalize", "rc": CS_OK},
    ]


def test_set_get_round_trip_of_all_twelve_types(corosync_node_any: Node, prefix: str) -> None:
    script = ["init"]
    for name, _, text, _, _ in VALUES:
        script.append(f"set {prefix}{name} {name} {text}")
    for name, *_ in VALUES:
        script += [f"get {prefix}{name}", f"get_len {prefix}{name}"]
        if name != "bin":
            script.append(f"get_{name} {prefix}{name}")
    script.append(f"iter {prefix}")
    lines = run_cmap_oracle(corosync_node_any, script)
    expected: list[dict[str, Any]] = [{"call": "init", "rc": CS_OK}]
    for name, *_ in VALUES:
        expected.append({"call": "set", "key": prefix + name, "type": name, "rc": CS_OK})
    for name, type_id, _, value, length in VALUES:
        key = prefix + name
        expected.append(value_line("get", key, name, type_id, value, length))
        expected.append({"call": "get_len", "key": key, "rc": CS_OK, "type": type_id,
                         "type_name": name, "value_len": length})
        if name != "bin":
            expected.append({"call": f"get_{name}", "key": key, "rc": CS_OK, "value": value})
    expected.append({"call": "iter_init", "prefix": prefix, "rc": CS_OK})
    for name, type_id, _, _, length in sorted(VALUES):  # iteration is in key order
        expected.append({"call": "iter_next", "rc": CS_OK, "key": prefix + name,
                         "type": type_id, "type_name": name, "value_len": length})
    expected += [{"call": "iter_next", "rc": CS_ERR_NO_SECTIONS},
                 {"call": "iter_finalize", "rc": CS_OK}]
    assert lines == expected


def test_edge_values(corosync_node_any: Node, prefix: str) -> None:
    lines = run_cmap_oracle(corosync_node_any, [
        "init",
        f"set {prefix}nan dbl nan",
        f"set {prefix}inf flt -inf",
        f"set {prefix}estr str",
        f"set {prefix}ebin bin",
        f"set {prefix}utf str caf\u00e9",
        # A string set without its NUL comes back with one.
        f"set_raw {prefix}raw 11 616263",
        f"get {prefix}nan", f"get {prefix}inf", f"get {prefix}estr", f"get {prefix}ebin",
        f"get {prefix}utf", f"get {prefix}raw",
    ])
    gets = [line for line in lines if line["call"] == "get"]
    assert math.isnan(gets[0]["value"]) and gets[0]["type_name"] == "dbl"
    assert gets[1]["value"] == -math.inf and gets[1]["type_name"] == "flt"
    assert gets[2] == value_line("get", f"{prefix}estr", "str", 11, "", 1)
    assert gets[3] == value_line("get", f"{prefix}ebin", "bin", 12, "", 0)
    # Non-ASCII bytes print as \u00XX escapes, one per byte; "hex" has the raw bytes.
    assert gets[4]["value"] == "caf\u00c3\u00a9" and gets[4]["hex"] == "636166c3a900"
    assert gets[5] == value_line("get", f"{prefix}raw", "str", 11, "abc", 4)


def test_set_errors_inc_dec_delete(corosync_node_any: Node, prefix: str) -> None:
    p = prefix
    lines = run_cmap_oracle(corosync_node_any, [
        "init",
        f"set {p}u8 u8 255", f"inc {p}u8", f"get_u8 {p}u8", f"dec {p}u8", f"get_u8 {p}u8",
        f"set {p}i8 i8 127", f"inc {p}i8", f"get_i8 {p}i8",
        f"set {p}s str abc", f"inc {p}s", f"set {p}f flt 1.5", f"dec {p}f",
        f"inc {p}missing", f"dec {p}missing",
        f"set {p}u8 i16 -2", f"get_len {p}u8",  # set may change a key's type
        f"set_raw {p}short 6 0102", f"set_raw {p}empty 6", f"set_raw {p}t0 0 01",
        f"set_raw {p}t99 99 01",
        "set ab u32 1", "set a!b u32 1",
        "set nodelist.node.0.nodeid u32 7", "delete nodelist.local_node_pos",
        "inc runtime.config.totem.token", "set system.pq u32 1",
        f"delete {p}s", f"delete {p}s", f"get {p}s",
    ])
    assert [line["rc"] for line in lines[1:]] == [
        CS_OK, CS_OK, CS_OK, CS_OK, CS_OK,
        CS_OK, CS_OK, CS_OK,
        CS_OK, CS_ERR_INVALID_PARAM, CS_OK, CS_ERR_INVALID_PARAM,
        CS_ERR_NOT_EXIST, CS_ERR_NOT_EXIST,
        CS_OK, CS_OK,
        CS_ERR_INVALID_PARAM, CS_ERR_INVALID_PARAM, CS_ERR_INVALID_PARAM,
        CS_ERR_INVALID_PARAM,
        CS_ERR_NAME_TOO_LONG, CS_ERR_NAME_TOO_LONG,  # too short / bad character
        CS_ERR_ACCESS, CS_ERR_ACCESS,
        CS_ERR_ACCESS, CS_ERR_ACCESS,
        CS_OK, CS_ERR_NOT_EXIST, CS_ERR_NOT_EXIST,
    ]
    # Increments wrap around, in both directions.
    assert [line["value"] for line in lines if line["call"] in ("get_u8", "get_i8")] == [
        0, 255, -128]
    assert lines[16]["type_name"] == "i16"


def test_iterating_the_nodelist(corosync_node_any: Node) -> None:
    lines = run_cmap_oracle(corosync_node_any, ["init", "iter nodelist.", "iter pq.nothing.",
                                                "iter nodelist.node.0.name", "finalize"])
    keys = [(line["key"], line["type_name"], line["value_len"])
            for line in lines if "key" in line]
    assert keys == [
        ("nodelist.local_node_pos", "u32", 4),
        ("nodelist.node.0.name", "str", len("node1") + 1),
        ("nodelist.node.0.nodeid", "u32", 4),
        ("nodelist.node.0.ring0_addr", "str", len(corosync_node_any.address) + 1),
        ("nodelist.node.0.name", "str", len("node1") + 1),
    ]
    # An empty prefix match is no error at init, only at the first next.
    assert lines[8:11] == [
        {"call": "iter_init", "prefix": "pq.nothing.", "rc": CS_OK},
        {"call": "iter_next", "rc": CS_ERR_NO_SECTIONS},
        {"call": "iter_finalize", "rc": CS_OK},
    ]


def test_tracking_within_a_script(corosync_node_any: Node, prefix: str) -> None:
    p = prefix
    lines = run_cmap_oracle(corosync_node_any, [
        "init",
        f"set {p}k u32 1",
        f"track_add {p} {TRACK_ALL} 77",
        f"track_add {p}k {TRACK_MODIFY}",
        f"track_add {p} 0",  # tracks nothing
        f"set {p}k u32 1",  # same value: no event
        f"inc {p}k",
        f"set {p}k i8 5",
        f"set {p}new str x",
        f"delete {p}k",
        "dispatch 2",
        "track_delete 0",
        "track_delete 0",
        f"set {p}new str y",
        "dispatch 4",
        "finalize",
        "track_add pq.key 2",
        "dispatch 2",
    ])
    k = p + "k"

    def val(type_name: str, type_id: int, length: int, value: Any = None) -> dict[str, Any]:
        v: dict[str, Any] = {"type": type_id, "type_name": type_name, "value_len": length}
        if value is not None:
            v["value"] = value
        if type_name == "str":
            v["hex"] = (value.encode() + b"\0").hex()
        return v

    none = {"type": 0, "type_name": "unknown", "value_len": 0}

    def event(track: int, user: int, ev: int, key: str, new: Any, old: Any) -> dict[str, Any]:
        return {"type": "cmap_track", "track": track, "user_data": user, "event": ev,
                "key": key, "new": new, "old": old}

    u32 = val("u32", 6, 4, 1), val("u32", 6, 4, 2)
    assert lines == [
        {"call": "init", "rc": CS_OK},
        {"call": "set", "key": k, "type": "u32", "rc": CS_OK},
        {"call": "track_add", "key": p, "track_type": TRACK_ALL, "user_data": 77, "rc": CS_OK,
         "track": 0},
        # Without USERDATA the oracle passes the track's index as user data.
        {"call": "track_add", "key": k, "track_type": TRACK_MODIFY, "user_data": 1,
         "rc": CS_OK, "track": 1},
        {"call": "track_add", "key": p, "track_type": 0, "user_data": 2, "rc": CS_OK,
         "track": 2},
        {"call": "set", "key": k, "type": "u32", "rc": CS_OK},
        {"call": "inc", "key": k, "rc": CS_OK},
        {"call": "set", "key": k, "type": "i8", "rc": CS_OK},
        {"call": "set", "key": p + "new", "type": "str", "rc": CS_OK},
        {"call": "delete", "key": k, "rc": CS_OK},
        # A key's own track is told before the prefix track.
        event(1, 1, TRACK_MODIFY, k, u32[1], u32[0]),
        event(0, 77, TRACK_MODIFY, k, u32[1], u32[0]),
        event(1, 1, TRACK_MODIFY, k, val("i8", 1, 1, 5), u32[1]),
        event(0, 77, TRACK_MODIFY, k, val("i8", 1, 1, 5), u32[1]),
        event(0, 77, TRACK_ADD, p + "new", val("str", 11, 2, "x"), none),
        event(0, 77, TRACK_DELETE, k, none, val("i8", 1, 1, 5)),
        {"call": "dispatch", "rc": CS_OK},
        {"call": "track_delete", "track": 0, "rc": CS_OK},
        {"call": "track_delete", "track": 0, "rc": CS_ERR_BAD_HANDLE},
        {"call": "set", "key": p + "new", "type": "str", "rc": CS_OK},
        {"call": "dispatch", "rc": CS_ERR_TRY_AGAIN},
        {"call": "finalize", "rc": CS_OK},
        {"call": "track_add", "key": "pq.key", "track_type": 2, "user_data": 0,
         "rc": CS_ERR_BAD_HANDLE},
        {"call": "dispatch", "rc": CS_ERR_BAD_HANDLE},
    ]


def test_a_cmapctl_change_arrives_with_old_and_new_value(
    corosync_node_any: Node, prefix: str
) -> None:
    node = corosync_node_any
    key = prefix + "k"
    with watch_oracle("cmap", node, prefix, TRACK_ALL, 3, 20000) as watch:
        assert watch.next() == {"call": "init", "rc": CS_OK}
        assert watch.next() == {"call": "track_add", "key": prefix, "track_type": TRACK_ALL,
                                "user_data": 0, "rc": CS_OK, "track": 0}
        for argv in (["-s", key, "u32", "5"], ["-s", key, "u32", "7"], ["-d", key]):
            node.run(["corosync-cmapctl", *argv], check=True)
        got = watch.finish()
    five = {"type": 6, "type_name": "u32", "value_len": 4, "value": 5}
    seven = {**five, "value": 7}
    none = {"type": 0, "type_name": "unknown", "value_len": 0}
    base = {"type": "cmap_track", "track": 0, "user_data": 0, "key": key}
    assert got == [
        {**base, "event": TRACK_ADD, "new": five, "old": none},
        {**base, "event": TRACK_MODIFY, "new": seven, "old": five},
        {**base, "event": TRACK_DELETE, "new": none, "old": seven},
    ]


def test_the_stats_map(corosync_node_any: Node) -> None:
    lines = run_cmap_oracle(corosync_node_any, [
        "initialize_map stats",
        "get_len stats.srp.mcast_tx",
        "get_u64 stats.srp.mcast_tx",
        "iter stats.ipcs.global",
        "get runtime.votequorum.this_node_id",  # not in the stats map
        "set stats.srp.mcast_tx u64 5",
        "delete stats.srp.mcast_tx",
        "inc stats.srp.mcast_tx",
        "set stats.pq u32 1",
        f"track_add stats.srp. {TRACK_MODIFY | TRACK_PREFIX}",
        "finalize",
        "initialize_map icmap",
        "get_len stats.srp.mcast_tx",  # not in the default map
        "finalize",
        # An unknown map: rc NOT_EXIST, yet the handle is initialized (on the default map).
        "initialize_map 7",
        "get_u32 runtime.votequorum.this_node_id",
        "finalize",
    ])
    assert lines[0] == {"call": "initialize_map", "map": 1, "rc": CS_OK}
    assert lines[1] == {"call": "get_len", "key": "stats.srp.mcast_tx", "rc": CS_OK,
                        "type": 8, "type_name": "u64", "value_len": 8}
    assert lines[2]["rc"] == CS_OK and lines[2]["value"] > 0
    assert [line.get("key") for line in lines[3:7]] == [
        None, "stats.ipcs.global.active", "stats.ipcs.global.closed", None]
    assert lines[7] == {"call": "iter_finalize", "rc": CS_OK}
    assert lines[8:16] == [
        {"call": "get", "key": "runtime.votequorum.this_node_id", "buffer": 16384,
         "rc": CS_ERR_NOT_EXIST},
        {"call": "set", "key": "stats.srp.mcast_tx", "type": "u64", "rc": CS_ERR_ACCESS},
        {"call": "delete", "key": "stats.srp.mcast_tx", "rc": CS_ERR_ACCESS},
        {"call": "inc", "key": "stats.srp.mcast_tx", "rc": CS_ERR_ACCESS},
        {"call": "set", "key": "stats.pq", "type": "u32", "rc": CS_ERR_ACCESS},
        {"call": "track_add", "key": "stats.srp.", "track_type": TRACK_MODIFY | TRACK_PREFIX,
         "user_data": 0, "rc": CS_ERR_NOT_SUPPORTED},
        {"call": "finalize", "rc": CS_OK},
        {"call": "initialize_map", "map": 0, "rc": CS_OK},
    ]
    assert lines[16:] == [
        {"call": "get_len", "key": "stats.srp.mcast_tx", "rc": CS_ERR_NOT_EXIST},
        {"call": "finalize", "rc": CS_OK},
        {"call": "initialize_map", "map": 7, "rc": CS_ERR_NOT_EXIST},
        {"call": "get_u32", "key": "runtime.votequorum.this_node_id", "rc": CS_OK, "value": 1},
        {"call": "finalize", "rc": CS_OK},
    ]


def test_handle_calls(corosync_node_any: Node) -> None:
    lines = run_cmap_oracle(corosync_node_any, [
        "init", "fd", "context_get", "context_set 9", "context_get", "dispatch 4", "dispatch 2",
        "wait 50", "finalize", "finalize", "fd", "get totem.cluster_name", "iter totem.",
    ])
    assert lines == [
        {"call": "init", "rc": CS_OK},
        {"call": "fd", "rc": CS_OK, "valid": True},
        {"call": "context_get", "rc": CS_OK, "context": 0},
        {"call": "context_set", "rc": CS_OK},
        {"call": "context_get", "rc": CS_OK, "context": 9},
        {"call": "dispatch", "rc": CS_ERR_TRY_AGAIN},
        {"call": "dispatch", "rc": CS_OK},
        {"call": "wait", "ready": False},
        {"call": "finalize", "rc": CS_OK},
        {"call": "finalize", "rc": CS_ERR_BAD_HANDLE},
        {"call": "fd", "rc": CS_ERR_BAD_HANDLE, "valid": False},
        {"call": "get", "key": "totem.cluster_name", "buffer": 16384, "rc": CS_ERR_BAD_HANDLE},
        {"call": "iter_init", "prefix": "totem.", "rc": CS_ERR_BAD_HANDLE},
    ]


@pytest.mark.parametrize("bad", [
    "frobnicate", "get", "get a b", "get_small k", "get_small k x", "get_small k 99999",
    "get_bin k", "set k u8 256", "set k i8 -129", "set k u32 -1", "set k bin abc",
    "set k bin zz", "set k nosuchtype 1", "set k flt x", "set_raw k x", "track_delete 0",
    "track_add k x", "initialize_map bogus", "iter a b", "dispatch -1",
])
def test_a_bad_line_ends_the_script(corosync_node: Node, bad: str) -> None:
    with pytest.raises(OracleFailed, match="exited 2"):
        run_cmap_oracle(corosync_node, ["init", bad, "finalize"])
