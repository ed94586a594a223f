"""The JSON of a story's cluster (script version 2, docs/fake.md §1.2-1.3).

Reads and writes the keys a story adds to a script's initial state and
steps (:data:`CLUSTER_KEYS`, :data:`CHANGE_KEYS`); :mod:`pyquorum.fake.script`
reads the lines and calls these.  Errors are
:class:`~pyquorum.fake.story.ScriptError`\\ s the reader prefixes with the line.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import fields
from typing import Any

from pyquorum.fake.story import (
    VOTEQUORUM_FIELDS,
    Cluster,
    ClusterChange,
    Node,
    NodeQdevice,
    ScriptError,
    Votequorum,
)
from pyquorum.messages._cmap_values import CmapValue
from pyquorum.messages.constants import CmapValueType

__all__ = [
    "CHANGE_KEYS",
    "CLUSTER_KEYS",
    "CMAP_TYPE_NAMES",
    "change_from_json",
    "change_to_json",
    "cluster_from_json",
    "cluster_to_json",
    "cmap_value_from_json",
    "cmap_value_to_json",
]

CMAP_TYPE_NAMES: dict[str, CmapValueType] = {
    "i8": CmapValueType.INT8, "u8": CmapValueType.UINT8,
    "i16": CmapValueType.INT16, "u16": CmapValueType.UINT16,
    "i32": CmapValueType.INT32, "u32": CmapValueType.UINT32,
    "i64": CmapValueType.INT64, "u64": CmapValueType.UINT64,
    "flt": CmapValueType.FLOAT, "dbl": CmapValueType.DOUBLE,
    "str": CmapValueType.STRING, "bin": CmapValueType.BINARY,
}
_TYPE_WORDS = {v: k for k, v in CMAP_TYPE_NAMES.items()}
_INT_BITS = {
    CmapValueType.INT8: (True, 8), CmapValueType.UINT8: (False, 8),
    CmapValueType.INT16: (True, 16), CmapValueType.UINT16: (False, 16),
    CmapValueType.INT32: (True, 32), CmapValueType.UINT32: (False, 32),
    CmapValueType.INT64: (True, 64), CmapValueType.UINT64: (False, 64),
}


def cmap_value_from_json(obj: object, what: str) -> CmapValue:
    if not isinstance(obj, dict) or set(obj) != {"type", "value"}:
        raise ScriptError(f'{what} must be {{"type": T, "value": V}} (T one of '
                         f'{", ".join(CMAP_TYPE_NAMES)})')
    kind = CMAP_TYPE_NAMES.get(obj["type"]) if isinstance(obj["type"], str) else None
    if kind is None:
        raise ScriptError(f"{what}: unknown type {obj['type']!r}")
    value = obj["value"]
    if kind in _INT_BITS:
        signed, bits = _INT_BITS[kind]
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1)) if signed else (0, 2**bits)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value < high:
            raise ScriptError(f"{what}: {obj['type']} must be an integer in [{low}, {high})")
        return CmapValue(kind, value)
    if kind in (CmapValueType.FLOAT, CmapValueType.DOUBLE):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScriptError(f"{what}: {obj['type']} must be a number")
        return CmapValue(kind, float(value))
    if not isinstance(value, str):
        raise ScriptError(f"{what}: {obj['type']} must be a string (hex for bin)")
    if kind == CmapValueType.BINARY:
        try:
            return CmapValue.binary(bytes.fromhex(value))
        except ValueError:
            raise ScriptError(f"{what}: bin must be hex digits") from None
    return CmapValue.string(value)


def cmap_value_to_json(value: CmapValue) -> dict[str, Any]:
    if not isinstance(value.type, CmapValueType):
        raise ScriptError(f"cmap value type {value.type} has no name in the story format")
    raw = value.value
    shown: Any = raw.hex() if isinstance(raw, bytes) else raw
    return {"type": _TYPE_WORDS[value.type], "value": shown}


def _str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ScriptError(f"{what} must be a string, not {value!r}")
    return value


def _nat(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
        raise ScriptError(f"{what} must be an integer 0..2**32-1, not {value!r}")
    return value


def _flag(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise ScriptError(f"{what} must be true or false, not {value!r}")
    return value


def _extra(obj: Mapping[str, Any], allowed: Set[str], what: str) -> None:
    bad = sorted(set(obj) - allowed)
    if bad:
        raise ScriptError(f"{what}: unknown key(s) {', '.join(bad)} "
                          f"(allowed: {', '.join(sorted(allowed))})")


def _qdevice_from_json(obj: object, what: str) -> NodeQdevice | None:
    if obj is None:
        return None
    if not isinstance(obj, dict):
        raise ScriptError(f"{what} must be an object or null")
    _extra(obj, {"alive", "cast_vote", "master_wins"}, what)
    return NodeQdevice(**{k: _flag(v, f"{what}.{k}") for k, v in obj.items()})


_NODE_JSON = {"nodeid", "name", "addrs", "votes", "expected_votes", "qdevice"}


def _node_fields(obj: object, what: str) -> tuple[int, dict[str, Any]]:
    if not isinstance(obj, dict) or "nodeid" not in obj:
        raise ScriptError(f"{what} must be an object with a nodeid")
    _extra(obj, _NODE_JSON, what)
    nodeid = _nat(obj["nodeid"], f"{what}.nodeid")
    out: dict[str, Any] = {}
    for key, value in obj.items():
        where = f"{what}.{key}"
        if key == "name":
            out[key] = None if value is None else _str(value, where)
        elif key == "addrs":
            if not isinstance(value, list):
                raise ScriptError(f"{where} must be a list of addresses")
            out[key] = tuple(_str(a, where) for a in value)
        elif key == "votes":
            out[key] = _nat(value, where)
        elif key == "expected_votes":
            out[key] = None if value is None else _nat(value, where)
        elif key == "qdevice":
            out[key] = _qdevice_from_json(value, where)
    return nodeid, out


_VQ_BOOLS = {"two_node", "wait_for_all", "last_man_standing", "auto_tie_breaker",
             "allow_downscale"}


def _vq_fields(obj: object, what: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ScriptError(f"{what} must be an object")
    _extra(obj, VOTEQUORUM_FIELDS, what)
    out: dict[str, Any] = {}
    for key, value in obj.items():
        where = f"{what}.{key}"
        if key in _VQ_BOOLS:
            out[key] = _flag(value, where)
        elif key == "qdevice_name":
            out[key] = _str(value, where)
        elif key == "qdevice_votes":
            out[key] = _nat(value, where)
        else:
            out[key] = None if value is None else _nat(value, where)
    return out


def _cmap_from_json(obj: object, what: str, *, deletes: bool) -> dict[str, CmapValue | None]:
    if not isinstance(obj, dict):
        raise ScriptError(f"{what} must be an object of keys")
    out: dict[str, CmapValue | None] = {}
    for key, value in obj.items():
        if value is None and deletes:
            out[key] = None
        else:
            out[key] = cmap_value_from_json(value, f"{what}[{key!r}]")
    return out


CLUSTER_KEYS = {"this_node", "cluster_name", "nodes", "votequorum", "cmap", "known",
                "link_mtu"}
CHANGE_KEYS = {"nodes", "remove_nodes", "votequorum", "cmap"}


def cluster_from_json(obj: Mapping[str, Any], members: tuple[int, ...]) -> Cluster:
    """The cluster of a story's initial state (the keys of :data:`CLUSTER_KEYS`)."""
    nodes: list[Node] = []
    raw_nodes = obj.get("nodes", [])
    if not isinstance(raw_nodes, list):
        raise ScriptError("nodes must be a list of node objects")
    for i, entry in enumerate(raw_nodes):
        nodeid, node_fields = _node_fields(entry, f"nodes[{i}]")
        nodes.append(Node(nodeid, **node_fields))
    if "this_node" not in obj:
        raise ScriptError("a story's initial state needs this_node (this node's id)")
    vq: Votequorum | None = Votequorum()
    if "votequorum" in obj:
        vq = None if obj["votequorum"] is None else Votequorum(
            **_vq_fields(obj["votequorum"], "votequorum"))
    keys = _cmap_from_json(obj.get("cmap", {}), "cmap", deletes=False)
    known = members
    if "known" in obj:
        if not isinstance(obj["known"], list):
            raise ScriptError("known must be a list of node ids")
        known = tuple(_nat(k, "known") for k in obj["known"])
    return Cluster(
        tuple(nodes),
        _nat(obj["this_node"], "this_node"),
        cluster_name=_str(obj.get("cluster_name", "pyquorum"), "cluster_name"),
        votequorum=vq,
        cmap=tuple((k, v) for k, v in keys.items() if v is not None),
        known=known,
        link_mtu=_nat(obj.get("link_mtu", 1446), "link_mtu"),
    )


def change_from_json(obj: Mapping[str, Any]) -> ClusterChange:
    nodes: dict[int, dict[str, Any]] = {}
    raw_nodes = obj.get("nodes", [])
    if not isinstance(raw_nodes, list):
        raise ScriptError("nodes must be a list of node objects")
    for i, entry in enumerate(raw_nodes):
        nodeid, node_fields = _node_fields(entry, f"nodes[{i}]")
        nodes[nodeid] = node_fields
    remove = obj.get("remove_nodes", [])
    if not isinstance(remove, list):
        raise ScriptError("remove_nodes must be a list of node ids")
    return ClusterChange(
        nodes=tuple((k, tuple(v.items())) for k, v in nodes.items()),
        remove_nodes=tuple(_nat(r, "remove_nodes") for r in remove),
        votequorum=tuple(_vq_fields(obj.get("votequorum", {}), "votequorum").items()),
        cmap=tuple(_cmap_from_json(obj.get("cmap", {}), "cmap", deletes=True).items()),
    )


def _node_json(node: Node) -> dict[str, Any]:
    out: dict[str, Any] = {"nodeid": node.nodeid}
    for key, default in (("name", None), ("addrs", ()), ("votes", 1),
                         ("expected_votes", None), ("qdevice", None)):
        value = getattr(node, key)
        if value != default:
            out[key] = _jsonable(key, value)
    return out


def _jsonable(key: str, value: Any) -> Any:
    if isinstance(value, NodeQdevice):
        return {"alive": value.alive, "cast_vote": value.cast_vote,
                "master_wins": value.master_wins}
    if isinstance(value, tuple):
        return list(value)
    return value


def cluster_to_json(cluster: Cluster, members: tuple[int, ...]) -> dict[str, Any]:
    """The initial state's cluster keys; ``known`` only when it is not the members."""
    out: dict[str, Any] = {
        "this_node": cluster.this_node,
        "cluster_name": cluster.cluster_name,
        "nodes": [_node_json(n) for n in cluster.nodes],
    }
    vq = cluster.votequorum
    if vq is None:
        out["votequorum"] = None
    elif vq != Votequorum():
        out["votequorum"] = {f.name: getattr(vq, f.name) for f in fields(Votequorum)
                             if getattr(vq, f.name) != f.default}
    if cluster.cmap:
        out["cmap"] = {k: cmap_value_to_json(v) for k, v in cluster.cmap}
    if cluster.known != members:
        out["known"] = list(cluster.known)
    if cluster.link_mtu != 1446:
        out["link_mtu"] = cluster.link_mtu
    return out


def change_to_json(change: ClusterChange) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if change.nodes:
        out["nodes"] = [
            {"nodeid": nodeid, **{k: _jsonable(k, v) for k, v in node_fields}}
            for nodeid, node_fields in change.nodes
        ]
    if change.remove_nodes:
        out["remove_nodes"] = list(change.remove_nodes)
    if change.votequorum:
        out["votequorum"] = dict(change.votequorum)
    if change.cmap:
        out["cmap"] = {k: None if v is None else cmap_value_to_json(v) for k, v in change.cmap}
    return out
