"""The handshake's failure modes, against a scripted listener (no corosync needed).

Each test listens on a unique abstract name in this process's network
namespace, answers the connection request the way the test wants, and checks
the typed error the client raises.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
import time

import pytest

from pyquorum.errors import (
    AccessError,
    ConnectionLost,
    CorosyncNotRunning,
    CsTimeoutError,
    LibraryError,
    NotSupportedError,
    RemoteProtocolError,
    TryAgainError,
)
from pyquorum.ipc import address
from pyquorum.ipc.client import handshake
from pyquorum.ipc.client.shm_transport import _header_path
from pyquorum.messages.constants import CONNECTION_RESPONSE_SIZE, ConnectionType
from pyquorum.messages.libqb import decode_connection_request, encode_connection_response
from pyquorum.messages.types import ConnectionResponse
from tests.support.handshake_listener import denial, listener, read_request, replying


def test_abstract_address_is_nul_padded_to_the_full_sun_path() -> None:
    addr = address.abstract_address("quorum")
    assert len(addr) == 108 and addr.startswith(b"\0quorum\0") and set(addr[7:]) == {0}


def test_nothing_listening_is_corosync_not_running() -> None:
    with pytest.raises(CorosyncNotRunning) as info:
        handshake.connect(f"pyquorum-absent-{os.getpid()}", max_msg_size=12328, timeout=1)
    assert info.value.errno == errno.ECONNREFUSED
    assert "network namespace" in str(info.value)


@pytest.mark.parametrize(
    ("error", "cls", "words"),
    [
        (-errno.EAGAIN, TryAgainError, "not ready"),
        (-errno.EACCES, AccessError, "uidgid"),
        (-errno.ENOSYS, NotSupportedError, "not loaded"),
        (-errno.EMFILE, LibraryError, "refused"),
    ],
)
def test_denials_become_typed_errors(error: int, cls: type[Exception], words: str) -> None:
    with listener(replying(denial(error))) as service, pytest.raises(cls) as info:
        handshake.connect(service, max_msg_size=12328, timeout=5)
    assert words in str(info.value)
    assert getattr(info.value, "errno", None) == -error


def test_request_carries_max_msg_size_and_credentials_reach_the_server() -> None:
    seen: dict[str, int] = {}

    def answer(conn: socket.socket) -> None:
        data, anc, _flags, _addr = conn.recvmsg(24, socket.CMSG_SPACE(12))
        seen["max"] = decode_connection_request(data).max_msg_size
        seen["pid"] = int.from_bytes(anc[0][2][:4], "little") if anc else -1
        conn.sendall(denial(-errno.EAGAIN))

    with listener(answer) as service, pytest.raises(TryAgainError):
        handshake.connect(service, max_msg_size=123456, timeout=5)
    assert seen == {"max": 123456, "pid": os.getpid()}


def test_a_silent_server_times_out() -> None:
    release = threading.Event()

    def answer(conn: socket.socket) -> None:
        read_request(conn)
        release.wait(5)

    with listener(answer) as service:
        started = time.monotonic()
        with pytest.raises(CsTimeoutError):
            handshake.connect(service, max_msg_size=12328, timeout=0.3)
        assert time.monotonic() - started < 2
        release.set()


def test_hang_up_mid_response_is_connection_lost() -> None:
    ok = encode_connection_response(
        ConnectionResponse(0, ConnectionType.SHM, 12328, 0, "/a", "/b", "/c")
    )
    with listener(replying(ok[:10])) as service, pytest.raises(ConnectionLost):
        handshake.connect(service, max_msg_size=12328, timeout=5)


def test_response_split_into_pieces_is_reassembled() -> None:
    response = ConnectionResponse(0, ConnectionType.SHM, 12328, 0, "/a", "/b", "/c")
    raw = encode_connection_response(response)

    def answer(conn: socket.socket) -> None:
        read_request(conn)
        for i in range(0, len(raw), 1000):
            conn.sendall(raw[i : i + 1000])
            time.sleep(0.001)

    with listener(answer) as service:
        result = handshake.connect(service, max_msg_size=12328, timeout=5)
    result.sock.close()
    assert result.response == response
    assert result.credentials is not None and result.credentials.pid == os.getpid()


@pytest.mark.parametrize(
    ("ctype", "cls"),
    [(ConnectionType.POSIX_MQ, NotSupportedError), (ConnectionType.SYSV_MQ, NotSupportedError),
     (9, RemoteProtocolError)],
)
def test_transports_pyquorum_cannot_use_are_refused(ctype: int, cls: type[Exception]) -> None:
    raw = encode_connection_response(ConnectionResponse(0, ctype, 12328, 0, "/a", "/b", "/c"))
    with listener(replying(raw)) as service, pytest.raises(cls):
        handshake.connect(service, max_msg_size=12328, timeout=5)


def test_garbage_response_is_a_remote_protocol_error() -> None:
    garbage = bytes([0x5A]) * CONNECTION_RESPONSE_SIZE
    with listener(replying(garbage)) as service, pytest.raises(RemoteProtocolError):
        handshake.connect(service, max_msg_size=12328, timeout=5)


def test_filesystem_sockets_when_forced(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    flag = os.path.join(str(tmp_path), "force-filesystem-sockets")
    monkeypatch.setattr(address, "FORCE_FILESYSTEM_SOCKETS", flag)
    monkeypatch.setattr(address, "SOCKET_DIR", str(tmp_path))
    assert isinstance(address.setup_address("quorum"), bytes)
    open(flag, "w").close()
    assert address.setup_address("quorum") == os.path.join(str(tmp_path), "quorum")
    # With the flag set and no such path socket, it is "not running" too.
    with pytest.raises(CorosyncNotRunning):
        handshake.connect("quorum", max_msg_size=12328, timeout=1)


def test_old_libqb_relative_ring_names_live_directly_in_dev_shm() -> None:
    # libqb <= 1.0.3 sent bare names; newer ones send absolute base paths.
    assert _header_path("quorum-request-7-8-9") == "/dev/shm/qb-quorum-request-7-8-9-header"
    assert (
        _header_path("/dev/shm/qb-7-8-9-abc/qb-request-quorum")
        == "/dev/shm/qb-7-8-9-abc/qb-request-quorum-header"
    )
