"""What the fake-server tests share: the factory type, the debris check, a story.

:data:`STORY` and the ``expected_events_*`` functions give the events a watcher
must see for a :class:`~pyquorum.fake.Script`, as the JSON lines printed by
``pyquorum watch --json`` and by the C oracle.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import pytest

from pyquorum.fake import Script, Step
from pyquorum.ipc.wire import SHM_DIR
from pyquorum.messages.types import RingId
from pyquorum.testing.fake import FakeCorosyncServer, FakeQuorumServer

Factory = Callable[..., FakeQuorumServer]
CorosyncFactory = Callable[..., FakeCorosyncServer]

TRANSPORTS = ["shm", "socket"]


def server_dirs() -> list[str]:
    """/dev/shm connection directories made by a server in this process."""
    prefix = f"qb-{os.getpid()}-"
    return sorted(n for n in os.listdir(SHM_DIR) if n.startswith(prefix))


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    """Poll ``predicate`` until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(0.005)


#: A small story: 3 nodes, node 3 leaves, a quorum-only change, node 3 rejoins.
STORY = Script.build(
    [1, 2, 3],
    quorate=True,
    ring_id=RingId(1, 8),
    steps=[
        Step(0.05, members=(1, 2)),
        Step(0.10, quorate=False),
        Step(0.15, members=(1, 2, 3), quorate=True),
    ],
    name="story",
)


def expected_events_v1(script: Script) -> list[dict[str, Any]]:
    """The JSON lines (pyquorum watch --json / the C oracle) a V1 watcher must see."""
    s = script.initial
    out = [_nodelist(s.ring_id, s.members, (), ()), _quorum(s.quorate, s.ring_id, s.members)]
    for change in script.changes:
        st = change.state
        if change.membership:
            out.append(_nodelist(st.ring_id, st.members, change.joined, change.left))
        out.append(_quorum(st.quorate, st.ring_id, st.members))
    return out


def expected_events_v0(script: Script) -> list[dict[str, Any]]:
    states = [script.initial] + [c.state for c in script.changes]
    return [
        {"type": "quorum_v0", "quorate": s.quorate, "ring_seq": s.ring_id.seq,
         "members": list(s.members)}
        for s in states
    ]


def _ring(r: RingId) -> dict[str, int]:
    return {"nodeid": r.nodeid, "seq": r.seq}


def _nodelist(r: RingId, m: tuple[int, ...], j: tuple[int, ...], lft: tuple[int, ...]
              ) -> dict[str, Any]:
    return {"type": "nodelist", "ring_id": _ring(r), "members": list(m), "joined": list(j),
            "left": list(lft)}


def _quorum(q: bool, r: RingId, m: tuple[int, ...]) -> dict[str, Any]:
    return {"type": "quorum", "quorate": q, "ring_id": _ring(r), "members": list(m)}
