"""A minimal cmap handler for tests of the fake corosync, and shared stories.

Only what ``corosync-quorumtool`` and ``pyquorum status`` ask: cmap GET
and iteration (read only).  Used when the fake's own cmap service is not
there (:func:`corosync_class`).
"""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Mapping

from pyquorum.errors import CsErrorCode, RemoteProtocolError
from pyquorum.fake.corosync import FakeCorosync
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


class StubbedCorosync(FakeCorosync):
    """The fake corosync with the stub cmap handler."""

    def _cmap_handler(self) -> ServiceHandler:
        from pyquorum.fake.cmap_view import cmap_keys

        store = StubStore()
        self.cmap_store = store
        self._cmap_keys = cmap_keys(self.script.initial)
        store.apply(dict(self._cmap_keys))
        return StubCmap(store)


def corosync_class() -> type[FakeCorosync]:
    """FakeCorosync if the fake's cmap service exists, else the stubbed one."""
    have = all(importlib.util.find_spec(f"pyquorum.fake.{m}") is not None
               for m in ("cmap_service", "cmap_store"))
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
