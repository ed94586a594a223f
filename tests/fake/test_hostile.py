"""pyquorum against a hostile server: every bad byte ends in an error, never a crash or hang.

Each :class:`Hostility` breaks the protocol at one known call (the
handshake, GETQUORATE's response, or the TRACKSTART snapshot).  The client
must raise a ProtocolError or ConnectionLost there (an unknown notification
id is libquorum's CS_ERR_LIBRARY) within a bounded time, and the server
must stay up for the next client.
"""

from __future__ import annotations

import time

import pytest

from pyquorum import ConnectionLost, LibraryError, Model, RemoteProtocolError, Track
from pyquorum.errors import NameTooLongError
from pyquorum.fake import Hostility, Script
from pyquorum.messages.constants import ConnectionType
from pyquorum.messages.types import RingId
from tests.support.fake import Factory

SCRIPT = Script.build([1, 2, 3], ring_id=RingId(1, 8))

#: What the client raises for each case, per transport (same for both unless a pair);
#: None: the call succeeds (the client copes with the state as libqb does).
EXPECTED: dict[
    Hostility, type[Exception] | tuple[type[Exception], type[Exception]] | None
] = {
    Hostility.BAD_HANDSHAKE_ID: RemoteProtocolError,
    Hostility.TRUNCATED_HANDSHAKE: RemoteProtocolError,
    Hostility.BAD_MAGIC: RemoteProtocolError,
    Hostility.CHUNK_PAST_RING: RemoteProtocolError,
    Hostility.CHUNK_OVER_MAX_MSG: (RemoteProtocolError, ConnectionLost),
    Hostility.CHUNK_PAST_WRITE_PT: RemoteProtocolError,
    Hostility.TRUNCATED_RESPONSE: RemoteProtocolError,
    Hostility.UNKNOWN_RESPONSE_ID: RemoteProtocolError,
    Hostility.DEAD_MID_RESPONSE: ConnectionLost,
    Hostility.BAD_MAGIC_EVENT: RemoteProtocolError,
    Hostility.DOORBELL_WITHOUT_EVENT: RemoteProtocolError,
    Hostility.TRUNCATED_NOTIFICATION: RemoteProtocolError,
    Hostility.COUNT_TOO_LARGE: RemoteProtocolError,
    Hostility.UNKNOWN_NOTIFICATION_ID: LibraryError,
    Hostility.OVERSIZE_EVENT: (RemoteProtocolError, ConnectionLost),
    # shared state and names (the client's trust boundary)
    Hostility.ERROR_INT32_MIN: RemoteProtocolError,
    Hostility.ERROR_INT32_MAX: RemoteProtocolError,
    Hostility.MAX_MSG_SIZE_OVER_INT32: RemoteProtocolError,
    Hostility.NAME_ELSEWHERE: RemoteProtocolError,
    Hostility.NAME_ESCAPING: RemoteProtocolError,
    Hostility.NAME_SYMLINK: RemoteProtocolError,
    Hostility.NAME_FIFO: RemoteProtocolError,
    Hostility.NAME_OTHER_UID: RemoteProtocolError,
    Hostility.WORD_SIZE_HUGE: RemoteProtocolError,
    Hostility.DATA_PATH_ELSEWHERE: RemoteProtocolError,
    Hostility.REF_COUNT_MAX: ConnectionLost,
    Hostility.REQUEST_SEM_MAX: NameTooLongError,
    Hostility.CONTROL_SENT_MAX: None,
    Hostility.WRITE_PT_PAST_RING: RemoteProtocolError,
    Hostility.CHUNK_LENGTH_U32_MAX: RemoteProtocolError,
}

#: A fragment of the message: the check that caught it (so a case cannot pass by accident).
MATCH: dict[Hostility, str] = {
    Hostility.BAD_HANDSHAKE_ID: "QB_IPC_MSG_AUTHENTICATE",
    Hostility.TRUNCATED_HANDSHAKE: "truncated connection response",
    Hostility.BAD_MAGIC: "not CHUNK_MAGIC",
    Hostility.CHUNK_PAST_RING: "above the limit",
    Hostility.CHUNK_OVER_MAX_MSG: "above the limit|over max_msg_size",
    Hostility.CHUNK_PAST_WRITE_PT: "runs past write_pt",
    Hostility.TRUNCATED_RESPONSE: "shorter than",
    Hostility.UNKNOWN_RESPONSE_ID: "unknown response id 99",
    Hostility.DEAD_MID_RESPONSE: "hung up",
    Hostility.BAD_MAGIC_EVENT: "not CHUNK_MAGIC",
    Hostility.DOORBELL_WITHOUT_EVENT: "without an event",
    Hostility.TRUNCATED_NOTIFICATION: "does not match",
    Hostility.COUNT_TOO_LARGE: "list entries need",
    Hostility.UNKNOWN_NOTIFICATION_ID: "notification id 42",
    Hostility.OVERSIZE_EVENT: "above the limit|over max_msg_size",
    Hostility.ERROR_INT32_MIN: "error -2147483648 is neither 0 nor -errno",
    Hostility.ERROR_INT32_MAX: "error 2147483647 is neither 0 nor -errno",
    Hostility.MAX_MSG_SIZE_OVER_INT32: "granted max_msg_size 2147483648",
    Hostility.NAME_ELSEWHERE: "is not under /dev/shm",
    Hostility.NAME_ESCAPING: "nested deeper",
    Hostility.NAME_SYMLINK: "symbolic link",
    Hostility.NAME_FIFO: "not a regular file",
    Hostility.NAME_OTHER_UID: "belongs to uid 65534",
    Hostility.WORD_SIZE_HUGE: "expected at least 17179869180",
    Hostility.DATA_PATH_ELSEWHERE: "is not beside its header",
    Hostility.REF_COUNT_MAX: r"torn down \(ref_count != 2\)",
    Hostility.REQUEST_SEM_MAX: "SEM_VALUE_MAX",
    Hostility.CONTROL_SENT_MAX: "",
    Hostility.WRITE_PT_PAST_RING: "write_pt .* lies outside the data area",
    Hostility.CHUNK_LENGTH_U32_MAX: "length 4294967295 above the limit",
}

CASES = [
    pytest.param(case, transport, id=f"{case.value}-{transport}")
    for case in Hostility
    for transport, ctype in (("shm", ConnectionType.SHM), ("socket", ConnectionType.SOCKET))
    if ctype in case.transports
]

#: No case may take longer than this (the doorbell one waits out the client's 1 s grace).
BOUND = 3.0


def _expected(case: Hostility, transport: str) -> type[Exception] | None:
    expected = EXPECTED[case]
    if isinstance(expected, tuple):
        return expected[0] if transport == "shm" else expected[1]
    return expected


def test_every_case_has_an_expectation() -> None:
    assert set(EXPECTED) == set(Hostility) == set(MATCH)


@pytest.mark.parametrize(("case", "transport"), CASES)
def test_hostile_bytes_end_in_an_error(fake: Factory, case: Hostility, transport: str) -> None:
    server = fake(SCRIPT, transport=transport, hostile=case)
    expected = _expected(case, transport)
    began = time.monotonic()
    if expected is None:
        with server.session(Model.V1, timeout=BOUND) as session:
            assert session.getquorate() is True
            assert session.getquorate() is True
        server.wait_connections(0)
        return
    with pytest.raises(expected, match=MATCH[case]) as info:
        if case.phase == "handshake":
            server.session(timeout=BOUND)
        else:
            with server.session(Model.V1, timeout=BOUND) as session:
                if case.phase == "response":
                    session.getquorate()
                else:
                    session.trackstart(Track.CURRENT)
                    list(session.events(timeout=BOUND))
    elapsed = time.monotonic() - began
    assert elapsed < BOUND, f"{case.value} took {elapsed:.2f} s"
    if expected is LibraryError:
        assert not isinstance(info.value, ConnectionLost)
    # The server is still there for the next client, and the last one left no files.
    server.wait_connections(0)
    if case.phase != "handshake":
        with server.session(timeout=BOUND) as session:
            assert session.model is Model.V1
        server.wait_connections(0)


@pytest.mark.parametrize("case", [Hostility.COUNT_TOO_LARGE, Hostility.TRUNCATED_NOTIFICATION])
def test_hostile_v0_notifications_end_in_an_error(
    fake: Factory, case: Hostility, transport: str
) -> None:
    server = fake(SCRIPT, transport=transport, hostile=case)
    with server.session(Model.V0, timeout=BOUND) as session:
        session.trackstart(Track.CURRENT)
        with pytest.raises(RemoteProtocolError, match=MATCH[case]):
            list(session.events(timeout=BOUND))


def test_a_case_refuses_a_transport_it_does_not_exist_in() -> None:
    from pyquorum.testing.fake import FakeQuorumServer

    with pytest.raises(ValueError, match="does not exist"):
        FakeQuorumServer(SCRIPT, transport="socket", hostile=Hostility.BAD_MAGIC)


def test_the_hostile_behaviours_live_in_the_fake_not_in_ipc() -> None:
    """The production server and connections carry no test-only parameter or method."""
    import inspect

    from pyquorum.fake.hostile_ipc import HostileIpcServer
    from pyquorum.ipc.server.listener import IpcServer
    from pyquorum.ipc.server.shm_connection import ShmServerConnection
    from pyquorum.ipc.server.socket_connection import SocketServerConnection

    hooks = {"transform_handshake", "stall_handshakes", "data_size"}
    assert hooks.isdisjoint(inspect.signature(IpcServer).parameters)
    assert {"transform_handshake", "stall_handshakes"} <= set(
        inspect.signature(HostileIpcServer).parameters
    )
    for cls in (ShmServerConnection, SocketServerConnection):
        assert hooks.isdisjoint(inspect.signature(cls).parameters)
        for method in ("forge_chunk", "send_datagram", "send_oversize", "ring"):
            assert not hasattr(cls, method), f"{cls.__name__}.{method}"
