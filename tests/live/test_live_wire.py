"""The wire layer against a real corosync, on both libqb transports.

Each test gets a fresh single-node corosync in its own network namespace
(fixtures in tests/conftest.py) and talks to it through ``ipc/`` and
``messages/`` directly, without the session on top.
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from pyquorum.errors import (
    AccessError,
    ConnectionLost,
    CorosyncNotRunning,
    CsErrorCode,
    CsTimeoutError,
)
from pyquorum.ipc.client.connection import IpcConnection
from pyquorum.messages import (
    ErrorResponse,
    GetQuorateRequest,
    GetQuorateResponse,
    GetTypeRequest,
    GetTypeResponse,
    Model,
    ModelGetTypeRequest,
    ModelGetTypeResponse,
    NodelistNotification,
    QuorumNotification,
    QuorumNotificationV0,
    QuorumType,
    Track,
    TrackStartRequest,
    TrackStartResponse,
    TrackStopRequest,
    TrackStopResponse,
    decode_notification,
    decode_response,
    encode_request,
)
from pyquorum.messages.constants import ConnectionType

Node = Any  # pyquorum.testing.cluster.Node


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@contextmanager
def connected(node: Node, **kw: Any) -> Iterator[IpcConnection]:
    with node.netns_context():
        conn = IpcConnection.connect("quorum", **kw)
    try:
        yield conn
    finally:
        conn.close()


def client_dirs(node: Node) -> set[str]:
    """This process's per-connection directories of ``node``'s corosync in /dev/shm."""
    prefix = f"qb-{node.pid}-{os.getpid()}-"
    return {n for n in os.listdir("/dev/shm") if n.startswith(prefix)}


def call(conn: IpcConnection, request: Any, timeout: float = 5.0) -> Any:
    return decode_response(conn.request(encode_request(request), timeout))


def expected_type(node: Node) -> ConnectionType:
    return ConnectionType.SOCKET if node.cluster.transport == "socket" else ConnectionType.SHM


def test_handshake_reports_transport_and_server(corosync_node_any: Node) -> None:
    node = corosync_node_any
    with connected(node) as conn:
        assert conn.connection_type == expected_type(node)
        assert conn.max_msg_size == 1048576
        assert conn.server_pid == node.pid
        assert conn.credentials is not None and conn.credentials.uid == 0
        assert len(client_dirs(node)) == 1
    # corosync removes the connection's files once it sees the hang-up.
    wait_until(lambda: not client_dirs(node), 5, "corosync to remove the client's files")


def test_v1_session_round_trips_and_snapshot(corosync_node_any: Node) -> None:
    node = corosync_node_any
    with connected(node) as conn:
        resp = call(conn, ModelGetTypeRequest(Model.V1))
        assert resp == ModelGetTypeResponse(CsErrorCode.OK, QuorumType.SET)
        assert call(conn, GetQuorateRequest()) == GetQuorateResponse(CsErrorCode.OK, True)
        assert conn.recv_event(0) is None
        resp = call(conn, TrackStartRequest(Track.CURRENT | Track.CHANGES))
        assert resp == TrackStartResponse(CsErrorCode.OK)
        # The snapshot is queued before the response: nodelist, then quorum.
        first = decode_notification(_must(conn.recv_event(2)))
        second = decode_notification(_must(conn.recv_event(2)))
        assert isinstance(first, NodelistNotification)
        assert first.members == (1,) and first.joined == () and first.left == ()
        assert isinstance(second, QuorumNotification)
        assert second.quorate and second.members == (1,)
        assert second.ring_id == first.ring_id and second.ring_id.nodeid == 1
        assert conn.recv_event(0.2) is None
        assert call(conn, TrackStopRequest()) == TrackStopResponse(CsErrorCode.OK)
        # corosync answers TRACKSTOP with OK even when nothing is tracked.
        assert call(conn, TrackStopRequest()) == TrackStopResponse(CsErrorCode.OK)


def test_v0_gettype_and_snapshot(corosync_node_any: Node) -> None:
    with connected(corosync_node_any) as conn:
        assert call(conn, GetTypeRequest()) == GetTypeResponse(CsErrorCode.OK, QuorumType.SET)
        assert call(conn, TrackStartRequest(Track.CURRENT)) == TrackStartResponse(CsErrorCode.OK)
        event = decode_notification(_must(conn.recv_event(2)))
        assert isinstance(event, QuorumNotificationV0)
        assert event.quorate and event.members == (1,)
        assert conn.recv_event(0.2) is None


def test_second_trackstart_reports_exist_after_its_snapshot(corosync_node_any: Node) -> None:
    with connected(corosync_node_any) as conn:
        call(conn, ModelGetTypeRequest(Model.V1))
        call(conn, TrackStartRequest(Track.CHANGES))
        for _ in range(2):
            assert conn.recv_event(2) is not None
        resp = call(conn, TrackStartRequest(Track.CURRENT))
        assert resp == TrackStartResponse(CsErrorCode.ERR_EXIST)
        kinds = [type(decode_notification(_must(conn.recv_event(2)))) for _ in range(2)]
        assert kinds == [NodelistNotification, QuorumNotification]


def test_unknown_request_id_gets_generic_error(corosync_node_any: Node) -> None:
    with connected(corosync_node_any) as conn:
        raw = (99).to_bytes(4, "little") + bytes(4) + (16).to_bytes(4, "little") + bytes(4)
        assert decode_response(conn.request(raw, 5)) == ErrorResponse(
            CsErrorCode.ERR_INVALID_PARAM
        )
        # An invalid model: the model is refused, quorum_type still filled in.
        raw = bytes.fromhex("04000000 00000000 18000000 00000000 07000000 00000000")
        assert decode_response(conn.request(raw, 5)) == ModelGetTypeResponse(
            CsErrorCode.ERR_INVALID_PARAM, QuorumType.SET
        )


def test_fileno_polls_readable_only_while_events_are_pending(corosync_node_any: Node) -> None:
    with connected(corosync_node_any) as conn:
        call(conn, ModelGetTypeRequest(Model.V1))
        assert select.select([conn.fileno()], [], [], 0)[0] == []
        call(conn, TrackStartRequest(Track.CURRENT))
        assert select.select([conn.fileno()], [], [], 2)[0] == [conn.fileno()]
        assert conn.recv_event(0) is not None
        assert conn.recv_event(2) is not None
        assert select.select([conn.fileno()], [], [], 0.2)[0] == []


def test_small_rings_wrap_around(corosync_node_any: Node) -> None:
    """12328 bytes is the smallest size accepted: a 4096-word ring wraps every ~200 calls."""
    with connected(corosync_node_any, max_msg_size=12328) as conn:
        assert conn.max_msg_size == 12328
        call(conn, ModelGetTypeRequest(Model.V1))
        for i in range(1500):
            assert call(conn, GetQuorateRequest()) == GetQuorateResponse(CsErrorCode.OK, True)
            if i % 10 == 0:
                call(conn, TrackStartRequest(Track.CURRENT))
                for _ in range(2):
                    assert conn.recv_event(2) is not None


def test_no_daemon_is_a_typed_error(corosync_node_any: Node) -> None:
    node = corosync_node_any
    node.stop()
    with node.netns_context(), pytest.raises(CorosyncNotRunning) as info:
        IpcConnection.connect("quorum", timeout=2)
    assert "not running" in str(info.value)


def test_unknown_service_is_not_running(corosync_node_any: Node) -> None:
    with corosync_node_any.netns_context(), pytest.raises(CorosyncNotRunning):
        IpcConnection.connect("pyquorum-no-such-service", timeout=2)


def connect_as_nobody(node: Node) -> str:
    """Fork a child that drops to nobody (65534), connects from the node's netns,
    makes one GETQUORATE round trip and reports what happened."""
    read_fd, write_fd = os.pipe()
    with node.netns_context():
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            try:
                os.close(read_fd)
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                try:
                    with IpcConnection.connect("quorum", timeout=5) as conn:
                        resp = call(conn, GetQuorateRequest())
                    result = f"connected:{resp.quorate}"
                except AccessError as exc:
                    result = f"AccessError:{exc.errno}:{exc}"
                except BaseException as exc:
                    result = f"{type(exc).__name__}:{exc}"
                os.write(write_fd, result.encode())
            finally:
                os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as f:
        result = f.read().decode()
    os.waitpid(pid, 0)
    return result


def test_non_root_without_uidgid_is_denied(corosync_node: Node) -> None:
    result = connect_as_nobody(corosync_node)
    assert result.startswith("AccessError:13:"), result
    assert "uidgid" in result and "65534" in result


@pytest.mark.parametrize("transport", ["shm", "socket"])
def test_non_root_listed_in_uidgid_is_served(cluster3: Any, transport: str) -> None:
    """The ring files are chowned to the client: nobody can map and use them."""
    node = cluster3(1, transport=transport, uidgid=(65534,))[1]
    assert connect_as_nobody(node) == "connected:True"


def test_daemon_killed_while_a_response_is_awaited(corosync_node_any: Node) -> None:
    node = corosync_node_any
    with connected(node) as conn:
        call(conn, ModelGetTypeRequest(Model.V1))
        dirs = client_dirs(node)
        outcome: list[BaseException | bytes] = []
        node.pause()  # SIGSTOP: the request is queued but never answered
        request = encode_request(GetQuorateRequest())
        waiter = threading.Thread(
            target=lambda: outcome.append(_catch(conn.request, request)),
        )
        waiter.start()
        time.sleep(0.3)  # let the request be written; the waiter is parked
        assert waiter.is_alive()
        killed_at = time.monotonic()
        os.kill(node.pid, signal.SIGKILL)
        waiter.join(10)
        detected = time.monotonic() - killed_at
        assert not waiter.is_alive()
        assert isinstance(outcome[0], ConnectionLost), outcome
        assert detected < 3.0, f"took {detected:.2f} s to notice"
        if expected_type(node) == ConnectionType.SHM:
            assert dirs and all(os.path.isdir(f"/dev/shm/{d}") for d in dirs)
    # Closing after the crash removes what the dead server left behind.
    assert not client_dirs(node)


def test_request_timeout_then_late_response_is_not_misdelivered(corosync_node_any: Node) -> None:
    node = corosync_node_any
    with connected(node) as conn:
        call(conn, ModelGetTypeRequest(Model.V1))
        node.pause()
        try:
            with pytest.raises(CsTimeoutError):
                conn.request(encode_request(GetTypeRequest()), 0.3)
        finally:
            node.resume()
        # The late GETTYPE answer is discarded, not returned for GETQUORATE.
        assert call(conn, GetQuorateRequest()) == GetQuorateResponse(CsErrorCode.OK, True)


def test_events_are_delivered_before_a_hangup_is_reported(corosync_node_any: Node) -> None:
    node = corosync_node_any
    with connected(node) as conn:
        call(conn, ModelGetTypeRequest(Model.V1))
        call(conn, TrackStartRequest(Track.CURRENT | Track.CHANGES))
        node.stop()
        assert conn.recv_event(2) is not None
        assert conn.recv_event(2) is not None
        with pytest.raises(ConnectionLost):
            conn.recv_event(5)


def _catch(fn: Any, *args: Any) -> BaseException | bytes:
    try:
        result: bytes = fn(*args)
        return result
    except BaseException as exc:
        return exc


def _must(data: bytes | None) -> bytes:
    assert data is not None, "expected an event"
    return data


def _set_flow_control(conn: IpcConnection, value: int) -> None:
    """Write the server-owned flow-control word, as corosync would."""
    transport: Any = conn._transport
    if conn.connection_type == ConnectionType.SHM:
        transport._req.header.user_data = value  # request ring header user_data @8240
    else:
        transport._ctl[4:8] = value.to_bytes(4, "little")  # ctl[0].flow_control @4


def test_flow_control_word_is_honoured(corosync_node_any: Node) -> None:
    from pyquorum.errors import TryAgainError

    with connected(corosync_node_any) as conn:
        call(conn, ModelGetTypeRequest(Model.V1))
        _set_flow_control(conn, 1)  # QB_IPCS_RATE_OFF: hold off
        with pytest.raises(TryAgainError):
            conn.request(encode_request(GetQuorateRequest()), 2)
        _set_flow_control(conn, 2)  # QB_IPCS_RATE_OFF_2: libqb still sends
        assert call(conn, GetQuorateRequest()) == GetQuorateResponse(CsErrorCode.OK, True)
        _set_flow_control(conn, 0)
        assert call(conn, GetQuorateRequest()) == GetQuorateResponse(CsErrorCode.OK, True)
