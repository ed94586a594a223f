"""Minimal cmap and cfg handlers for tests of the fake corosync, and shared stories.

Only what ``corosync-quorumtool`` and ``pyquorum status`` ask: cmap GET
and iteration (read only), cfg GET_NODE_ADDRS.  Used when the fake's own
cmap or cfg service is not there (:func:`corosync_class`).
"""

from __future__ import annotations

import importlib.util
import itertools
import socket
import struct
from collections.abc import Mapping

from pyquorum.errors import CsErrorCode, RemoteProtocolError
from pyquorum.fake.corosync import FakeCorosync, StoryCfgView
from pyquorum.fake.story import Cluster, Node, Votequorum
from pyquorum.ipc.server.connection import ServerConnection, ServiceHandler
from pyquorum.messages import cmap as cm
from pyquorum.messages._cmap_values import CmapValue, encode_value


class StubStore:
    def __init__(self) -> None:
        self.keys: dict[str, CmapValue] = {}

    def apply(self, changes: Mapping[str, CmapValue | None]) -> None:
        for key, value in changes.items():
            if value is None:
                self.keys.pop(key, None)
            else:
                self.keys[key] = value


class StubCmap:
    def __init__(self, store: StubStore) -> None:
        self.store = store
        self.iters: dict[int, list[str]] = {}
        self.ids = itertools.count(1)

    def connected(self, conn: ServerConnection) -> None:
        pass

    def disconnected(self, conn: ServerConnection) -> None:
        pass

    def request(self, conn: ServerConnection, data: bytes) -> None:
        try:
            req = cm.decode_request(data)
        except RemoteProtocolError:
            conn.send_response(cm.encode_response(cm.SetResponse(CsErrorCode.ERR_INVALID_PARAM)))
            return
        conn.send_response(cm.encode_response(self.answer(req)))

    def answer(self, req: cm.Request) -> cm.Response:
        if isinstance(req, cm.GetRequest):
            value = self.store.keys.get(req.key)
            if value is None:
                return cm.GetResponse(CsErrorCode.ERR_NOT_EXIST, 0, 0, None, req.value_len)
            kind, raw = encode_value(value)
            fits = len(raw) <= req.value_len
            return cm.GetResponse(CsErrorCode.OK, kind, len(raw), value if fits else None,
                                  req.value_len)
        if isinstance(req, cm.IterInitRequest):
            handle = next(self.ids)
            self.iters[handle] = sorted(k for k in self.store.keys if k.startswith(req.prefix))
            return cm.IterInitResponse(CsErrorCode.OK, handle)
        if isinstance(req, cm.IterNextRequest):
            pending = self.iters.get(req.iter_handle)
            if pending is None:
                return cm.IterNextResponse(CsErrorCode.ERR_BAD_HANDLE, "", 0, 0)
            while pending and pending[0] not in self.store.keys:
                pending.pop(0)
            if not pending:
                return cm.IterNextResponse(CsErrorCode.ERR_NO_SECTIONS, "", 0, 0)
            key = pending.pop(0)
            kind, raw = encode_value(self.store.keys[key])
            return cm.IterNextResponse(CsErrorCode.OK, key, len(raw), kind)
        if isinstance(req, cm.IterFinalizeRequest):
            self.iters.pop(req.iter_handle, None)
            return cm.IterFinalizeResponse(CsErrorCode.OK)
        return cm.SetResponse(CsErrorCode.ERR_NOT_SUPPORTED)


# cfg: struct res_lib_cfg_get_node_addrs, id 11 (include/corosync/ipc_cfg.h):
# header, u32 family @24, u32 num_addrs @28, addresses of 28 bytes from @32.
_CFG_RES_GET_NODE_ADDRS = 11
_CFG_REQ_GET_NODE_ADDRS = 5
_ADDRLEN = 28


class StubCfg:
    def __init__(self, view: StoryCfgView) -> None:
        self.view = view

    def connected(self, conn: ServerConnection) -> None:
        pass

    def disconnected(self, conn: ServerConnection) -> None:
        pass

    def request(self, conn: ServerConnection, data: bytes) -> None:
        ident = struct.unpack_from("<i", data, 0)[0] if len(data) >= 4 else -1
        if ident != _CFG_REQ_GET_NODE_ADDRS or len(data) < 20:
            conn.send_response(struct.pack("<q q q", 0, 24, CsErrorCode.ERR_NOT_SUPPORTED))
            return
        nodeid = struct.unpack_from("<I", data, 16)[0]
        addrs = self.view.node_addrs(nodeid)
        if addrs is None:
            body = struct.pack("<II", socket.AF_INET, 0)
            error = CsErrorCode.ERR_NOT_EXIST
        else:
            packed = [socket.inet_aton(a).ljust(_ADDRLEN, b"\0") for a in addrs]
            body = struct.pack("<II", socket.AF_INET, len(packed)) + b"".join(packed)
            error = CsErrorCode.OK
        size = 24 + len(body)
        conn.send_response(struct.pack("<q q q", _CFG_RES_GET_NODE_ADDRS, size, error) + body)


class StubbedCorosync(FakeCorosync):
    """The fake corosync with the stub cmap and cfg handlers."""

    def _cmap_handler(self) -> ServiceHandler:
        from pyquorum.fake.cmap_view import cmap_keys

        store = StubStore()
        self.cmap_store = store
        self._cmap_keys = cmap_keys(self.script.initial)
        store.apply(dict(self._cmap_keys))
        return StubCmap(store)

    def _cfg_handler(self, view: StoryCfgView) -> ServiceHandler:
        return StubCfg(view)


def corosync_class() -> type[FakeCorosync]:
    """FakeCorosync if the fake's cmap and cfg services exist, else the stubbed one."""
    have = all(importlib.util.find_spec(f"pyquorum.fake.{m}") is not None
               for m in ("cmap_service", "cmap_store", "cfg_service"))
    return FakeCorosync if have else StubbedCorosync


# -- stories the tests share ------------------------------------------------------------

def three_nodes(**vq: object) -> Cluster:
    """node1..node3 at 198.18.0.1-3 (the harness's addresses), this node 1."""
    return Cluster(
        tuple(Node(i, f"node{i}", (f"198.18.0.{i}",)) for i in (1, 2, 3)), 1,
        cluster_name="story", votequorum=Votequorum(**vq),  # type: ignore[arg-type]
    )


def tool_lines(text: str) -> list[str]:
    """corosync-quorumtool's output without its Date line (the one line that differs)."""
    return [line for line in text.splitlines() if not line.startswith("Date:")]
