"""Fixtures for the fake-server tests.

Every fake here runs in a private network namespace (``netns=True``), so it
serves ``@quorum`` without ever meeting a real corosync; that needs root,
without which these tests skip (or fail under ``PYQUORUM_REQUIRE_COROSYNC=1``).
After each test, no /dev/shm directory of this process's servers may remain.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from pyquorum.fake import Script, Step
from pyquorum.ipc.wire import SHM_DIR
from pyquorum.messages.types import RingId
from pyquorum.testing.fake import FakeQuorumServer
from pyquorum.testing.fake import fake_quorum as fake_quorum  # the plugin's fixture
from tests.conftest import require_live
from tests.oracle import OracleUnavailable, build_oracle

Factory = Callable[..., FakeQuorumServer]

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


@pytest.fixture(scope="session")
def oracle() -> Path:
    """The C libquorum client (tests/c/quorum_oracle.c), built once."""
    try:
        return build_oracle()
    except OracleUnavailable as exc:
        require_live(exc)


@pytest.fixture
def fake(fake_quorum: Factory) -> Factory:
    """``fake_quorum`` (see pyquorum.testing.fake), for root only: private namespaces."""
    if os.geteuid() != 0:
        require_live("the fake server's private network namespace needs root")
    return fake_quorum


@pytest.fixture(autouse=True)
def _no_debris() -> Iterator[None]:
    before = server_dirs()
    yield
    # Teardown is synchronous when a server stops; a client that closed just
    # now may still be being torn down by a running server, so allow a moment.
    wait_until(lambda: server_dirs() == before, 5.0, "the fake's /dev/shm files to go")


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


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
