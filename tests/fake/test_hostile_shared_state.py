"""The trust boundary as a property: whatever the daemon does, only pyquorum errors come out.

For any hostile behaviour of the fake server (one of its :class:`Hostility`
cases, or none) combined with any writes into the connection's shared files
(ring headers, semaphores, data areas, the control file) at any of three
moments, every public call made in a session's life (construction,
``getquorate``, ``trackstart``, ``events``) returns or raises a
:class:`~pyquorum.PyquorumError`, and does so within its timeout (plus the
client's fixed grace for a late doorbell).  Any other exception, or a call
that overstays, fails the property.  Nothing may leak either: the fds of
the process are the same after each session.
"""

from __future__ import annotations

import mmap
import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pyquorum import Model, PyquorumError, Track
from pyquorum.fake import Hostility, Script
from pyquorum.ipc.ring_header import (
    READ_PT_OFFSET,
    REF_COUNT_OFFSET,
    SEM_OFFSET,
    USER_DATA_OFFSET,
    WORD_SIZE_OFFSET,
    WRITE_PT_OFFSET,
)
from pyquorum.ipc.wire import REQ_FLOW_CONTROL, REQ_SENT, SHM_DIR
from pyquorum.messages.constants import ConnectionType
from pyquorum.messages.types import RingId
from pyquorum.testing.fake import FakeQuorumServer
from tests.support.fake import wait_until
from tests.support.live import require_live
from tests.support.process_resources import open_fds

SCRIPT = Script.build([1, 2, 3], ring_id=RingId(1, 8))

#: Each public call's timeout, and what a call may take beyond it: the
#: client's one fixed grace (an event doorbell whose chunk is late, 1 s) and
#: scheduling on a loaded 2-core machine.
TIMEOUT = 0.5
SLACK = 1.5
#: events() always waits this long for one more event; kept short for speed.
EVENTS_TIMEOUT = 0.1

Moment = Literal["connected", "after-getquorate", "after-trackstart"]
MOMENTS: tuple[Moment, ...] = ("connected", "after-getquorate", "after-trackstart")

#: Offsets where a header or control file holds something the client reads.
KEY_OFFSETS = (
    WRITE_PT_OFFSET,
    READ_PT_OFFSET,
    WORD_SIZE_OFFSET,
    REF_COUNT_OFFSET,
    SEM_OFFSET,
    SEM_OFFSET + 4,
    USER_DATA_OFFSET,
    REQ_SENT,
    REQ_FLOW_CONTROL,
)
#: 32-bit values at the edges of every range a field can have.
EDGE_WORDS = tuple(
    struct.pack("=I", v & 0xFFFFFFFF)
    for v in (0, 1, 2, 3, 4, 5, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xA1A1A1A1, 0xA110CED0)
)


@dataclass(frozen=True)
class Write:
    """Bytes written into one of the connection's files at one moment."""

    moment: Moment
    file: int  # index into the connection's files, sorted by name (modulo their count)
    offset: int  # clamped into the file
    data: bytes


writes = st.builds(
    Write,
    moment=st.sampled_from(MOMENTS),
    file=st.integers(0, 7),
    offset=st.one_of(st.sampled_from(KEY_OFFSETS), st.integers(0, (1 << 20) + 8192)),
    data=st.one_of(st.sampled_from(EDGE_WORDS), st.binary(min_size=1, max_size=16)),
)


@st.composite
def behaviours(draw: st.DrawFn) -> tuple[str, Hostility | None, list[Write]]:
    transport = draw(st.sampled_from(["shm", "socket"]))
    ctype = ConnectionType.SHM if transport == "shm" else ConnectionType.SOCKET
    cases = [h for h in Hostility if ctype in h.transports]
    case = draw(st.sampled_from([None, *cases]))
    return transport, case, draw(st.lists(writes, max_size=4))


def connection_files(server: FakeQuorumServer) -> list[str]:
    prefix = f"qb-{server.pid}-{os.getpid()}-"
    out: list[str] = []
    for d in sorted(n for n in os.listdir(SHM_DIR) if n.startswith(prefix)):
        path = os.path.join(SHM_DIR, d)
        try:
            names = os.listdir(path)
        except FileNotFoundError:
            continue  # an earlier connection's directory, removed as we looked
        out += sorted(
            os.path.join(path, n)
            for n in names
            if os.path.isfile(os.path.join(path, n)) and not os.path.islink(os.path.join(path, n))
        )
    return out


def apply(server: FakeQuorumServer, moment: Moment, todo: list[Write]) -> None:
    files = connection_files(server)
    for w in todo:
        if w.moment != moment or not files:
            continue
        path = files[w.file % len(files)]
        try:
            fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
        except OSError:
            continue  # the connection is being torn down
        try:
            size = os.fstat(fd).st_size
            if size < len(w.data):
                continue
            m = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        offset = min(w.offset, size - len(w.data))
        m[offset : offset + len(w.data)] = w.data
        m.close()


def bounded(what: str, call: Callable[[], object]) -> bool:
    """Run one public call: True if it returned, False if it raised a PyquorumError."""
    began = time.monotonic()
    try:
        call()
        ok = True
    except PyquorumError:
        ok = False
    elapsed = time.monotonic() - began
    assert elapsed < TIMEOUT + SLACK, f"{what} took {elapsed:.2f} s"
    return ok


@pytest.fixture
def root() -> None:
    if os.geteuid() != 0:
        require_live("the fake server's private network namespace needs root")


#: Every hostile case on each of its transports runs as an explicit example,
#: so the known behaviours are always covered; the search adds the writes.
KNOWN: list[tuple[str, Hostility | None, list[Write]]] = [
    (name, case, [])
    for case in Hostility
    for name, ctype in (("shm", ConnectionType.SHM), ("socket", ConnectionType.SOCKET))
    if ctype in case.transports
]


def _with_known_examples(test: Callable[..., None]) -> Callable[..., None]:
    for behaviour in KNOWN:
        test = example(behaviour=behaviour)(test)
    return test


@pytest.mark.usefixtures("root")
@settings(
    deadline=None,
    max_examples=len(KNOWN) + 40,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(behaviour=behaviours())
@_with_known_examples
def test_any_daemon_behaviour_ends_in_a_return_or_a_pyquorum_error(
    behaviour: tuple[str, Hostility | None, list[Write]],
) -> None:
    transport, case, todo = behaviour
    before = open_fds()
    with FakeQuorumServer(SCRIPT, transport=transport, hostile=case) as server:  # type: ignore[arg-type]
        session = None

        def construct() -> None:
            nonlocal session
            session = server.session(Model.V1, timeout=TIMEOUT)

        if bounded("QuorumSession()", construct):
            assert session is not None
            with session:
                apply(server, "connected", todo)
                bounded("getquorate()", session.getquorate)
                apply(server, "after-getquorate", todo)
                bounded("trackstart()", lambda: session.trackstart(Track.CURRENT))
                apply(server, "after-trackstart", todo)
                bounded("events()", lambda: list(session.events(timeout=EVENTS_TIMEOUT)))
    wait_until(lambda: open_fds() == before, 5.0, "the session's fds to be closed")
