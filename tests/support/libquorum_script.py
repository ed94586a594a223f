"""The Python twin of tests/c/quorum_oracle.c's script mode, on pyquorum.libquorum.

Same commands, same JSON lines, same quirks (a failed init leaves the old
quorum_type; getquorate prints -1 when it fails), so a differential test can
run one script through both and compare the outputs line by line.
"""

from __future__ import annotations

import select
from collections.abc import Iterable
from typing import Any

from pyquorum import libquorum as lq
from pyquorum.messages.types import RingId


class ScriptRunner:
    def __init__(self) -> None:
        self.out: list[dict[str, Any]] = []
        self.handle = 0
        self.quorum_type = 0
        self.context_value = 0

    # -- callbacks, printing what the C ones print ------------------------------------

    def _emit_event(self, handle: int, line: dict[str, Any]) -> None:
        _, ctx = lq.quorum_context_get(handle)
        if ctx:
            line["context"] = ctx
        self.out.append(line)

    def v0_notify(self, h: int, quorate: int, ring_seq: int, n: int, view: list[int]) -> None:
        line = {"type": "quorum_v0", "quorate": bool(quorate), "ring_seq": ring_seq,
                "members": view[:n]}
        self._emit_event(h, line)

    def v1_quorum_notify(self, h: int, quorate: int, ring_id: RingId, n: int,
                         members: list[int]) -> None:
        line = {"type": "quorum", "quorate": bool(quorate),
                "ring_id": {"nodeid": ring_id.nodeid, "seq": ring_id.seq}, "members": members[:n]}
        self._emit_event(h, line)

    def v1_nodelist_notify(self, h: int, ring_id: RingId, m: int, members: list[int], j: int,
                           joined: list[int], left_n: int, left: list[int]) -> None:
        line = {"type": "nodelist", "ring_id": {"nodeid": ring_id.nodeid, "seq": ring_id.seq},
                "members": members[:m], "joined": joined[:j], "left": left[:left_n]}
        self._emit_event(h, line)

    # -- commands -------------------------------------------------------------------------

    def _init(self, call: str, rc: int, handle: int, qtype: int) -> None:
        self.handle = handle
        if rc == lq.CS_OK:
            self.quorum_type = int(qtype)
        self.out.append({"call": call, "rc": int(rc), "quorum_type": self.quorum_type})

    def command(self, line: str) -> None:
        words = line.split()
        cmd, arg = words[0], (words[1] if len(words) > 1 else "")
        context = self.context_value or None
        if cmd == "init0":
            rc, h, t = lq.quorum_initialize(lq.QuorumCallbacks(quorum_notify_fn=self.v0_notify))
            self._init("init0", rc, h, t)
        elif cmd == "init" and arg == "v0":
            data0 = lq.QuorumModelV0Data(quorum_notify_fn=self.v0_notify)
            self._init("init", *lq.quorum_model_initialize(lq.QUORUM_MODEL_V0, data0, context))
        elif cmd == "init":
            data1 = lq.QuorumModelV1Data(quorum_notify_fn=self.v1_quorum_notify,
                                         nodelist_notify_fn=self.v1_nodelist_notify)
            self._init("init", *lq.quorum_model_initialize(lq.QUORUM_MODEL_V1, data1, context))
        elif cmd == "getquorate":
            rc, q = lq.quorum_getquorate(self.handle)
            self.out.append({"call": "getquorate", "rc": int(rc),
                             "quorate": q if rc == lq.CS_OK else -1})
        elif cmd == "trackstart":
            rc = lq.quorum_trackstart(self.handle, int(arg))
            self.out.append({"call": "trackstart", "rc": int(rc)})
        elif cmd == "trackstop":
            self.out.append({"call": "trackstop", "rc": int(lq.quorum_trackstop(self.handle))})
        elif cmd == "dispatch":
            rc = lq.quorum_dispatch(self.handle, int(arg))
            self.out.append({"call": "dispatch", "rc": int(rc)})
        elif cmd == "wait":
            _, fd = lq.quorum_fd_get(self.handle)
            ready = fd >= 0 and bool(select.select([fd], [], [], int(arg) / 1000)[0])
            self.out.append({"call": "wait", "ready": ready})
        elif cmd == "fd":
            rc, fd = lq.quorum_fd_get(self.handle)
            self.out.append({"call": "fd", "rc": int(rc), "valid": fd >= 0})
        elif cmd == "context_set":
            self.context_value = int(arg)
            rc = lq.quorum_context_set(self.handle, self.context_value or None)
            self.out.append({"call": "context_set", "rc": int(rc)})
        elif cmd == "context_get":
            rc, ctx = lq.quorum_context_get(self.handle)
            self.out.append({"call": "context_get", "rc": int(rc), "context": ctx or 0})
        elif cmd == "finalize":
            self.out.append({"call": "finalize", "rc": int(lq.quorum_finalize(self.handle))})
        else:
            raise ValueError(f"unknown command: {line}")


def run_script(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Run oracle script lines through pyquorum.libquorum; one dict per output line."""
    runner = ScriptRunner()
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            runner.command(line)
    return runner.out


#: Scripts that run through both libquorums, against corosync and against the fake.
SCRIPTS = {
    "v1_calls_and_snapshot": """
        init v1
        getquorate
        fd
        context_get
        context_set 5
        context_get
        trackstart 3
        wait 1000
        dispatch 2
        trackstart 1
        dispatch 1
        dispatch 1
        dispatch 4
        trackstop
        trackstop
        dispatch 9
        finalize
        finalize
        getquorate
        trackstart 1
        dispatch 2
        fd
        context_get
    """,
    "v0_via_quorum_initialize": """
        init0
        getquorate
        trackstart 1
        wait 1000
        dispatch 4
        dispatch 4
        trackstart 2
        dispatch 2
        trackstart 4
        finalize
    """,
    "v0_model_with_context": """
        context_set 77
        init v0
        context_get
        trackstart 4
        dispatch 4
        trackstart 1
        dispatch 1
        finalize
    """,
    "reinitialize": """
        init v1
        finalize
        init v0
        getquorate
        finalize
        init v1
        trackstart 2
        dispatch 1
        dispatch 1
        finalize
    """,
}
