"""VotequorumSession and CmapSession against hostile servers: a typed error, in time, no leak.

Each :class:`ServiceHostility` wraps a minimal, correct in-test service (its
answers are encoded with pyquorum/messages/votequorum.py and cmap.py) and
mangles what it sends.  The session must raise the pyquorum error listed in
:data:`EXPECTED` (docs/trust-boundary.md §11.1 says why each) at the call
that meets the bad bytes, within :data:`BOUND` seconds, over both
transports, and leave no file descriptor and no /dev/shm file behind.
"""

from __future__ import annotations

import os
import time
from typing import cast

import pytest

from pyquorum.errors import (
    CsErrorCode,
    InvalidParamError,
    LibraryError,
    PyquorumError,
    RemoteProtocolError,
)
from pyquorum.fake.hostile_services import HostileService, ServiceHostility
from pyquorum.ipc.server.connection import ServerConnection, ServiceHandler
from pyquorum.messages import cmap as cm
from pyquorum.messages import votequorum as vq
from pyquorum.messages.constants import CmapTrack, CmapValueType, NodeState, Track, VotequorumInfo
from pyquorum.messages.types import RingId
from pyquorum.services.cmap.session import CmapSession
from pyquorum.services.votequorum.session import VotequorumSession
from tests.support.fake import wait_until
from tests.support.fake_service_server import FakeServiceServer
from tests.support.live import require_live
from tests.support.process_resources import open_fds

#: No case may take longer than this.
BOUND = 3.0
KEY = "testing.pyquorum.value"
VALUE = cm.CmapValue(CmapValueType.UINT32, 5)


# ------------------------------------------------------------------ the correct services


class MiniVotequorum:
    """GETINFO answers a quorate 3-node view; TRACKSTART queues a nodelist and a
    quorum event, then answers OK (docs/votequorum.md §3.3); the rest answer OK."""

    def connected(self, conn: ServerConnection) -> None:
        pass

    def disconnected(self, conn: ServerConnection) -> None:
        pass

    def request(self, conn: ServerConnection, data: bytes) -> None:
        req = vq.decode_request(data)
        resp: vq.Response = vq.StatusResponse(CsErrorCode.OK)
        if isinstance(req, vq.GetInfoRequest):
            resp = vq.GetInfoResponse(CsErrorCode.OK, 1, NodeState.MEMBER, 1, 3, 3, 3, 2,
                                      VotequorumInfo.QUORATE, 0, "")
        elif isinstance(req, vq.TrackStartRequest):
            conn.send_event(vq.encode_notification(
                vq.NodelistNotification(req.context, RingId(1, 8), (1, 2, 3))))
            conn.send_event(vq.encode_notification(vq.QuorumNotification(
                True, req.context, tuple(vq.NodeStatus(n, NodeState.MEMBER) for n in (1, 2, 3)))))
        conn.send_response(vq.encode_response(resp))


class MiniCmap:
    """GET of any key is the UINT32 5 (sized by the request's room, docs/cmap.md §3.1);
    TRACK_ADD answers OK, then reports one MODIFY of the key (5 to 6)."""

    def connected(self, conn: ServerConnection) -> None:
        pass

    def disconnected(self, conn: ServerConnection) -> None:
        pass

    def request(self, conn: ServerConnection, data: bytes) -> None:
        req = cm.decode_request(data)
        if isinstance(req, cm.GetRequest):
            room = req.value_len
            if room == 0:
                resp: cm.Response = cm.GetResponse(CsErrorCode.OK, VALUE.type, 4, None, 0)
            elif room >= 4:
                resp = cm.GetResponse(CsErrorCode.OK, VALUE.type, 4, VALUE, room)
            else:
                resp = cm.GetResponse(CsErrorCode.ERR_INVALID_PARAM, VALUE.type, 4, None, room)
            conn.send_response(cm.encode_response(resp))
        elif isinstance(req, cm.TrackAddRequest):
            conn.send_response(cm.encode_response(cm.TrackAddResponse(CsErrorCode.OK, 0x77)))
            conn.send_event(cm.encode_notification(cm.NotifyCallback(
                req.track_inst_handle, req.key, CmapTrack.MODIFY,
                cm.CmapValue(CmapValueType.UINT32, 6), VALUE)))
        else:
            conn.send_response(cm.encode_response(cm.SetResponse(CsErrorCode.OK)))


# ------------------------------------------------------------------ what each case gives

#: The error each case must end in, on both services and both transports.
EXPECTED: dict[ServiceHostility, type[PyquorumError]] = {
    ServiceHostility.RESPONSE_SHORT: RemoteProtocolError,
    ServiceHostility.RESPONSE_LONG: RemoteProtocolError,
    ServiceHostility.RESPONSE_SHRUNK: RemoteProtocolError,
    ServiceHostility.RESPONSE_GROWN: RemoteProtocolError,
    ServiceHostility.RESPONSE_UNKNOWN_ID: RemoteProtocolError,
    ServiceHostility.RESPONSE_OTHER_CALL: RemoteProtocolError,
    ServiceHostility.EVENT_SHORT: RemoteProtocolError,
    ServiceHostility.EVENT_LONG: RemoteProtocolError,
    ServiceHostility.EVENT_UNKNOWN_ID: LibraryError,
    ServiceHostility.VQ_QUORUM_COUNT_HUGE: RemoteProtocolError,
    ServiceHostility.VQ_NODELIST_COUNT_HUGE: RemoteProtocolError,
    ServiceHostility.VQ_QUORUM_COUNT_PLUS_ONE: RemoteProtocolError,
    ServiceHostility.CMAP_GET_LEN_HUGE: RemoteProtocolError,
    ServiceHostility.CMAP_GET_LEN_PLUS_ONE: InvalidParamError,
    ServiceHostility.CMAP_GET_TYPE_ZERO: RemoteProtocolError,
    ServiceHostility.CMAP_GET_TYPE_UNKNOWN: InvalidParamError,
    ServiceHostility.CMAP_GET_TYPE_WIDTH: RemoteProtocolError,
    ServiceHostility.CMAP_NOTIFY_LEN_HUGE: RemoteProtocolError,
    ServiceHostility.CMAP_NOTIFY_TYPE_ZERO: RemoteProtocolError,
    ServiceHostility.CMAP_NOTIFY_TYPE_WIDTH: RemoteProtocolError,
    ServiceHostility.CMAP_NOTIFY_KEY_LEN_HUGE: RemoteProtocolError,
}

#: A fragment of each error's message: the check that caught it.
MATCH: dict[ServiceHostility, str] = {
    ServiceHostility.RESPONSE_SHORT: "does not match",
    ServiceHostility.RESPONSE_LONG: "does not match",
    ServiceHostility.RESPONSE_SHRUNK: "never has size|must be",
    ServiceHostility.RESPONSE_GROWN: "never has size|must be|8 bytes of room, not the 0",
    ServiceHostility.RESPONSE_UNKNOWN_ID: "unknown .*response id 99",
    ServiceHostility.RESPONSE_OTHER_CALL: "expected .* got .* with CS_OK",
    ServiceHostility.EVENT_SHORT: "does not match",
    ServiceHostility.EVENT_LONG: "does not match",
    ServiceHostility.EVENT_UNKNOWN_ID: "no notification id 42",
    ServiceHostility.VQ_QUORUM_COUNT_HUGE: "4294967295 nodes",
    ServiceHostility.VQ_NODELIST_COUNT_HUGE: "4294967295 members",
    ServiceHostility.VQ_QUORUM_COUNT_PLUS_ONE: "4 nodes must be",
    ServiceHostility.CMAP_GET_LEN_HUGE: "18446744073709551615 bytes, more than any answer",
    ServiceHostility.CMAP_GET_LEN_PLUS_ONE: "kept growing over 3 tries",
    ServiceHostility.CMAP_GET_TYPE_ZERO: "type 0",
    ServiceHostility.CMAP_GET_TYPE_UNKNOWN: "the value is 99",
    ServiceHostility.CMAP_GET_TYPE_WIDTH: "value is 2 bytes, not 4",
    ServiceHostility.CMAP_NOTIFY_LEN_HUGE: "must be",
    ServiceHostility.CMAP_NOTIFY_TYPE_ZERO: "type 0",
    ServiceHostility.CMAP_NOTIFY_TYPE_WIDTH: "value is 2 bytes, not 4",
    ServiceHostility.CMAP_NOTIFY_KEY_LEN_HUGE: "key length 65535",
}

CASES = [
    pytest.param(case, service, transport, id=f"{case.value}-{service}-{transport}")
    for case in ServiceHostility
    for service in ((case.service,) if case.service else ("votequorum", "cmap"))
    for transport in ("shm", "socket")
]


@pytest.fixture
def root() -> None:
    if os.geteuid() != 0:
        require_live("a private network namespace needs root")


def test_every_case_has_an_expectation() -> None:
    assert set(EXPECTED) == set(ServiceHostility) == set(MATCH)


def _meet(case: ServiceHostility, service: str, served: FakeServiceServer) -> None:
    """Open a session in the server's namespace and make the call that meets ``case``."""
    if service == "votequorum":
        with served.netns_context():
            vsession = VotequorumSession(timeout=BOUND)
        with vsession:
            if case.direction == "response":
                vsession.getinfo()
            else:
                vsession.trackstart(Track.CURRENT, context=7)
                list(vsession.events(timeout=BOUND))
        return
    with served.netns_context():
        csession = CmapSession(timeout=BOUND)
    with csession:
        if case.direction == "response":
            csession.get(KEY, CmapValueType.UINT32)
        else:
            csession.track_add(KEY)
            list(csession.events(timeout=BOUND))


@pytest.mark.parametrize(("case", "service", "transport"), CASES)
def test_hostile_service_ends_in_a_typed_error(
    root: None, case: ServiceHostility, service: str, transport: str
) -> None:
    inner: ServiceHandler = MiniVotequorum() if service == "votequorum" else MiniCmap()
    with FakeServiceServer(HostileService(inner, case), service, transport) as served:
        before = open_fds()
        began = time.monotonic()
        with pytest.raises(EXPECTED[case], match=MATCH[case]):
            _meet(case, service, served)
        elapsed = time.monotonic() - began
        assert elapsed < BOUND, f"{case.value} took {elapsed:.2f} s"
        wait_until(lambda: served.server.connection_count == 0, 5.0, "the client to be gone")
        assert open_fds() == before, "the session left file descriptors open"


@pytest.mark.parametrize("service", ["votequorum", "cmap"])
@pytest.mark.parametrize("transport", ["shm", "socket"])
def test_the_wrapped_services_are_correct(root: None, service: str, transport: str) -> None:
    """Without mangling the same calls succeed: every failure above is the case's doing."""
    inner: ServiceHandler = MiniVotequorum() if service == "votequorum" else MiniCmap()
    with FakeServiceServer(inner, service, transport) as served:
        if service == "votequorum":
            with served.netns_context():
                vsession = VotequorumSession(timeout=BOUND)
            with vsession:
                assert vsession.getinfo().quorum == 2
                vsession.trackstart(Track.CURRENT, context=7)
                events = list(vsession.events(timeout=0.3))
                assert [type(e) for e in events] == [vq.NodelistNotification,
                                                     vq.QuorumNotification]
        else:
            with served.netns_context():
                csession = CmapSession(timeout=BOUND)
            with csession:
                assert csession.get(KEY, CmapValueType.UINT32) == VALUE
                csession.track_add(KEY)
                changes = list(csession.events(timeout=0.3))
                assert [c.new for c in changes] == [cm.CmapValue(CmapValueType.UINT32, 6)]


def test_a_mangled_stand_in_passes_everything_else_through() -> None:
    """Events of another kind than the case names, and the other direction, are unchanged."""
    note = vq.encode_notification(vq.ExpectedVotesNotification(1, 3))
    assert ServiceHostility.VQ_QUORUM_COUNT_HUGE.mangle(note) == note
    get = cm.encode_response(cm.SetResponse(CsErrorCode.OK))
    assert ServiceHostility.CMAP_GET_TYPE_ZERO.mangle(get) == get
    assert {c.direction for c in ServiceHostility} == {"response", "event"}



class _Recorder:
    """A stand-in connection: what was sent, and the attributes a handler sets."""

    def __init__(self) -> None:
        self.id = 3
        self.data: object = None
        self.sent: list[tuple[str, bytes]] = []

    def send_response(self, data: bytes) -> None:
        self.sent.append(("response", data))

    def send_event(self, data: bytes) -> None:
        self.sent.append(("event", data))


def test_the_wrapped_handler_sees_the_real_connection_but_for_the_sends() -> None:
    seen: list[ServerConnection] = []

    class Stateful:
        def connected(self, conn: ServerConnection) -> None:
            conn.data = "mine"  # per-connection state goes to the real connection

        def request(self, conn: ServerConnection, data: bytes) -> None:
            seen.append(conn)
            conn.send_event(data)
            conn.send_response(data)

        def disconnected(self, conn: ServerConnection) -> None:
            seen.append(conn)

    real = _Recorder()
    conn = cast(ServerConnection, real)
    wrapped = HostileService(Stateful(), ServiceHostility.RESPONSE_UNKNOWN_ID)
    wrapped.connected(conn)
    assert real.data == "mine"
    msg = vq.encode_response(vq.StatusResponse(CsErrorCode.OK))
    wrapped.request(conn, msg)
    wrapped.request(conn, msg)
    wrapped.disconnected(conn)
    assert seen[0] is seen[1] is seen[2] and seen[0].data == "mine"  # one stand-in
    assert real.sent == [("event", msg), ("response", b"\x63" + msg[1:])] * 2


@pytest.mark.parametrize("transport", ["shm", "socket"])
def test_the_quorum_service_wrapped_too(root: None, transport: str) -> None:
    """Any handler: the fake's own stateful quorum service, its answers mangled."""
    from pyquorum import QuorumSession
    from pyquorum.fake import Script
    from pyquorum.fake.service import QuorumService

    script = Script.build([1, 2, 3], ring_id=RingId(1, 8))
    for case, error in ((ServiceHostility.RESPONSE_UNKNOWN_ID, RemoteProtocolError),
                        (ServiceHostility.EVENT_UNKNOWN_ID, LibraryError)):
        wrapped = HostileService(QuorumService(script), case)
        with FakeServiceServer(wrapped, "quorum", transport) as served, pytest.raises(error):
            with served.netns_context():
                session = QuorumSession(timeout=BOUND)
            with session:
                session.trackstart(Track.CURRENT)
                list(session.events(timeout=BOUND))
