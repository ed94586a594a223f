"""The client's trust boundary (DESIGN.md): what it accepts from the daemon, and how.

First the four cases issue 15 found (a plain Python exception out of a
public call), each driven through the public API; then the checks behind
them, one by one: the error field's range, the counters that wrap, the
names the daemon sends and the files behind them, and the process's own
limits.  The hostile fake (tests/fake/test_hostile.py) covers the same
checks end to end on both transports; the same cases through libquorum's
C-shaped calls are in tests/hardening/test_known_cases.py.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import mmap
import os
import resource
import select
import socket
import stat
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyquorum import PyquorumError, QuorumSession
from pyquorum._deadline import Deadline
from pyquorum.errors import (
    ConnectionLost,
    LibraryError,
    NameTooLongError,
    NoMemoryError,
    NoSpaceError,
    RemoteProtocolError,
    TryAgainError,
)
from pyquorum.ipc.client import handshake, trust
from pyquorum.ipc.client.transport import ClientTransport, map_server_file
from pyquorum.ipc.credentials import Credentials
from pyquorum.ipc.ring import Ring
from pyquorum.ipc.ring_header import REF_COUNT_OFFSET, SEM_OFFSET, RingHeader
from pyquorum.ipc.sem import ThreadSemaphore
from pyquorum.ipc.wire import REQ_SENT, SHM_DIR, wrap_i32
from pyquorum.messages.constants import ConnectionType
from pyquorum.messages.libqb import encode_connection_response
from pyquorum.messages.types import ConnectionResponse
from pyquorum.testing.fake import FakeQuorumServer
from tests.support.fake import wait_until
from tests.support.handshake_listener import listener, replying
from tests.support.live import require_live
from tests.support.process_resources import open_fds

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
SEM_VALUE_MAX = 2**31 - 1
_I32 = struct.Struct("=i")
_U32 = struct.Struct("=I")


@pytest.fixture
def root() -> None:
    if os.geteuid() != 0:
        require_live("the fake server's private network namespace and chown need root")


def _fds_are(expected: set[str]) -> bool:
    return open_fds() == expected


def connection_file(server: FakeQuorumServer, prefix: str) -> str:
    """The one file named ``prefix…`` of this process's one connection to ``server``."""
    dirs = [n for n in os.listdir(SHM_DIR) if n.startswith(f"qb-{server.pid}-{os.getpid()}-")]
    assert len(dirs) == 1, dirs
    d = os.path.join(SHM_DIR, dirs[0])
    (name,) = [n for n in os.listdir(d) if n.startswith(prefix) and not n.endswith("-data")]
    return os.path.join(d, name)


@contextlib.contextmanager
def mapped(path: str) -> Iterator[mmap.mmap]:
    fd = os.open(path, os.O_RDWR)
    try:
        m = mmap.mmap(fd, 0)
    finally:
        os.close(fd)
    try:
        yield m
    finally:
        m.close()


# -- the four cases of issue 15 ---------------------------------------------------


def response(error: int = 0, **fields: object) -> bytes:
    values: dict[str, object] = dict(
        error=error, connection_type=ConnectionType.SHM, max_msg_size=1 << 20, connection=0,
        request="", response="", event="",
    )
    values.update(fields)
    return encode_connection_response(ConnectionResponse(**values))  # type: ignore[arg-type]


@pytest.mark.parametrize("error", [INT32_MIN, INT32_MIN + 1, -4096, INT32_MAX, 1])
def test_error_field_outside_minus_errno_is_a_protocol_error(error: int) -> None:
    # Issue 15 case 1: INT32_MIN reached os.strerror (OverflowError).
    with (
        listener(replying(response(error))) as service,
        pytest.raises(RemoteProtocolError, match="neither 0 nor -errno") as info,
    ):
        QuorumSession(service=service, timeout=3.0)
    assert info.value.field == "error" and info.value.offset == 16


@pytest.mark.parametrize("error", [-1, -errno.ENOENT, -4095])
def test_error_field_within_minus_errno_is_a_typed_refusal(error: int) -> None:
    with listener(replying(response(error))) as service, pytest.raises(PyquorumError) as info:
        handshake.connect(service, max_msg_size=12328, timeout=3.0)
    assert not isinstance(info.value, RemoteProtocolError)
    assert getattr(info.value, "errno", None) == -error


def test_control_counter_at_int32_max_wraps_and_the_rollback_wraps_back(root: None) -> None:
    # Issue 15 case 2: struct.error from packing INT32_MAX + 1 (and from the rollback).
    with FakeQuorumServer(transport="socket") as server:
        session = server.session(timeout=3.0)
        try:
            with mapped(connection_file(server, "qb-control-")) as ctl:
                _I32.pack_into(ctl, REQ_SENT, INT32_MAX)
                assert session.getquorate() is True  # sent wrapped to INT32_MIN, then back
                assert _I32.unpack_from(ctl, REQ_SENT)[0] == INT32_MAX
                server.stop()  # the daemon's sockets go: the send fails, the count rolls back
                with pytest.raises(ConnectionLost):
                    session.getquorate()
                assert _I32.unpack_from(ctl, REQ_SENT)[0] == INT32_MAX
        finally:
            session.finalize()


def test_request_semaphore_at_sem_value_max_is_name_too_long(root: None) -> None:
    # Issue 15 case 3: a bare OSError(EOVERFLOW) from sem_post.  libquorum reports
    # EOVERFLOW as CS_ERR_NAME_TOO_LONG; the connection is unusable after it.
    with (
        FakeQuorumServer(transport="shm") as server,
        server.session(timeout=3.0) as session,
        mapped(connection_file(server, "qb-request-")) as header,
    ):
        view = RingHeader(header)
        ws = view.word_size
        view.release()
        _U32.pack_into(header, 4, ws - 1)  # read_pt one behind write_pt 0: not full
        _U32.pack_into(header, SEM_OFFSET, SEM_VALUE_MAX)
        with pytest.raises(NameTooLongError, match="SEM_VALUE_MAX") as info:
            session.getquorate()
        assert info.value.errno == errno.EOVERFLOW
        with pytest.raises(ConnectionLost, match="unusable"):
            session.getquorate()


@contextlib.contextmanager
def no_free_fds() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    held: list[int] = []
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 1024), hard))
    try:
        while True:
            try:
                held.append(os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC))
            except OSError as exc:
                assert exc.errno == errno.EMFILE
                break
        yield
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_emfile_is_a_library_error_naming_the_limit() -> None:
    # Issue 15 case 4: a bare OSError(EMFILE) from socket().
    with no_free_fds(), pytest.raises(LibraryError) as info:
        QuorumSession(service=f"pyquorum-nobody-{os.getpid()}", timeout=1.0)
    assert info.value.errno == errno.EMFILE
    assert "RLIMIT_NOFILE" in str(info.value) and "ulimit -n" in str(info.value)


class _Injector:
    """Fail the ``n``-th fd- or memory-making call of the calling thread with ``err``.

    Only the test's thread is affected: the fake server runs in the same
    process (on its own thread), and must keep its fds.
    """

    def __init__(self, n: int, err: int) -> None:
        self.n, self.err, self.calls = n, err, 0
        self.thread = threading.get_ident()

    def check(self) -> None:
        if threading.get_ident() != self.thread:
            return
        self.calls += 1
        if self.calls == self.n:
            raise OSError(self.err, os.strerror(self.err))


@contextlib.contextmanager
def injected(monkeypatch: pytest.MonkeyPatch, injector: _Injector) -> Iterator[None]:
    real_open, real_epoll = os.open, select.epoll

    class Socket(socket.socket):
        def __init__(self, *args: object, **kwargs: object) -> None:
            injector.check()
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    class Mmap(mmap.mmap):
        def __new__(cls, *args: Any, **kwargs: Any) -> Mmap:
            injector.check()
            return super().__new__(cls, *args, **kwargs)

    def fake_open(*args: object, **kwargs: object) -> int:
        injector.check()
        return real_open(*args, **kwargs)  # type: ignore[arg-type]

    def fake_epoll(*args: Any, **kwargs: Any) -> select.epoll:
        injector.check()
        return real_epoll(*args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(socket, "socket", Socket)
        m.setattr(mmap, "mmap", Mmap)
        m.setattr(os, "open", fake_open)
        m.setattr(select, "epoll", fake_epoll)
        yield


@pytest.mark.parametrize("err", [errno.EMFILE, errno.ENFILE, errno.ENOMEM])
@pytest.mark.parametrize("transport", ["shm", "socket"])
def test_running_out_anywhere_in_the_setup_leaks_nothing(
    root: None, transport: str, err: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each fd/mapping the client makes fails in turn: a typed error, nothing left open."""
    with FakeQuorumServer(transport=transport) as server:  # type: ignore[arg-type]
        failed = 0
        for n in range(1, 40):
            before = open_fds()
            injector = _Injector(n, err)
            with server.netns_context(), injected(monkeypatch, injector):
                session = None
                try:
                    session = QuorumSession(service=server.name, timeout=3.0)
                    session.fileno()  # the socket transport's epoll fd
                except PyquorumError as exc:
                    failed += 1
                    assert getattr(exc, "errno", None) == err, exc
                    assert trust._HINTS[err] in str(exc)
                finally:
                    if session is not None:
                        session.close()
            # The server (this process too) tears its side down on its own thread.
            server.wait_connections(0)
            wait_until(functools.partial(_fds_are, before), 5.0, f"the fds of attempt {n} to go")
            if injector.calls < n:  # nothing left to fail: every call was tried
                break
        else:
            pytest.fail("the session never came up")
        assert failed >= 2


# -- counters the daemon can leave at a limit ---------------------------------------


@pytest.mark.parametrize(
    ("value", "wrapped"),
    [(INT32_MAX + 1, INT32_MIN), (INT32_MIN - 1, INT32_MAX), (5, 5), (-5, -5), (2**32, 0)],
)
def test_wrap_i32_wraps_as_c_atomics_do(value: int, wrapped: int) -> None:
    assert wrap_i32(value) == wrapped


def test_ref_count_at_int32_max_wraps_on_attach() -> None:
    header, data = bytearray(8252), bytearray(64)
    RingHeader.initialize(header, 16, "/dev/shm/qb-x-header", "/dev/shm/qb-x-data").release()
    _I32.pack_into(header, REF_COUNT_OFFSET, INT32_MAX)
    ring = Ring(header, data, ThreadSemaphore(), max_msg_size=32)
    try:
        ring.attach()
        assert ring.header.ref_count == INT32_MIN
    finally:
        ring.release()


def test_granted_max_msg_size_over_int32_is_a_protocol_error() -> None:
    with (
        listener(replying(response(max_msg_size=INT32_MAX + 1))) as service,
        pytest.raises(RemoteProtocolError, match="max_msg_size 2147483648"),
    ):
        handshake.connect(service, max_msg_size=12328, timeout=3.0)


def test_granted_max_msg_size_over_int32_is_refused_by_a_socket_session() -> None:
    # Issue 15's audit: 2**32 - 1 once reached setsockopt(SO_SNDBUF) in the
    # socket transport (TypeError); the public session refuses it first.
    answer = response(connection_type=ConnectionType.SOCKET, max_msg_size=0xFFFFFFFF)
    with (
        listener(replying(answer, lambda c: None)) as service,
        pytest.raises(RemoteProtocolError, match="max_msg_size 4294967295") as info,
    ):
        QuorumSession(service=service, timeout=3.0)
    assert info.value.field == "max_msg_size"


# -- names and files ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/tmp/qb-x", "not under /dev/shm"),
        ("/dev/shmx/qb-x", "not under /dev/shm"),
        ("relative/qb-x", "not under /dev/shm"),
        ("/dev/shm/qb-a/../qb-b", "nested deeper"),
        ("/dev/shm/qb-a/qb-b/qb-c", "nested deeper"),
        ("/dev/shm/../etc/passwd", "nested deeper"),
        ("/dev/shm/qb-a/..", "not named qb-"),
        ("/dev/shm/x/qb-b", "not named qb-"),
        ("/dev/shm/qb-a/passwd", "not named qb-"),
        ("/dev/shm/qb-a//qb-b", "nested deeper"),
        ("/dev/shm/", "not named qb-"),
    ],
)
def test_only_libqbs_names_pass(path: str, why: str) -> None:
    with pytest.raises(RemoteProtocolError, match=why) as info:
        trust.check_server_path(path, "request")
    assert info.value.field == "request" and info.value.data == os.fsencode(path)


@pytest.mark.parametrize("path", ["/dev/shm/qb-a", "/dev/shm/qb-1-2-3-AbCdEf/qb-request-quorum"])
def test_libqbs_names_pass(path: str) -> None:
    assert trust.check_server_path(path, "request") == path[len("/dev/shm/") :].split("/")


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "qb\0x"])
def test_bare_names_must_be_one_component(name: str) -> None:
    with pytest.raises(RemoteProtocolError, match="not a bare libqb name"):
        trust.check_base_name(name, "response")


@pytest.fixture
def shm_dir() -> Iterator[Path]:
    d = Path(SHM_DIR) / f"qb-trust-test-{os.getpid()}"
    d.mkdir(mode=0o700)
    try:
        yield d
    finally:
        if d.exists():  # remove_server_file may have removed it
            for p in d.iterdir():
                p.unlink()
            d.rmdir()


def refused(path: Path | str, match: str, owners: frozenset[int] | None = None) -> None:
    before = open_fds()
    with pytest.raises(RemoteProtocolError, match=match):
        map_server_file(
            str(path), "ring file", "request", 8, owners=owners or {os.geteuid()}
        )
    assert open_fds() == before


def test_a_regular_file_of_ours_is_mapped(shm_dir: Path) -> None:
    (shm_dir / "qb-ok").write_bytes(bytes(24))
    m = map_server_file(str(shm_dir / "qb-ok"), "control file", "request", 24, 24,
                        owners={os.geteuid()})
    assert len(m) == 24
    m.close()


def test_a_symlinked_file_is_refused(shm_dir: Path) -> None:
    (shm_dir / "qb-real").write_bytes(bytes(24))
    (shm_dir / "qb-link").symlink_to(shm_dir / "qb-real")
    refused(shm_dir / "qb-link", "symbolic link")


def test_a_symlinked_directory_is_refused(shm_dir: Path) -> None:
    (shm_dir / "qb-real").write_bytes(bytes(24))
    link = Path(SHM_DIR) / f"qb-trust-link-{os.getpid()}"
    link.symlink_to(shm_dir)
    try:
        refused(link / "qb-real", "symbolic link")
    finally:
        link.unlink()


def test_a_fifo_is_refused_without_blocking(shm_dir: Path) -> None:
    os.mkfifo(shm_dir / "qb-fifo")
    refused(shm_dir / "qb-fifo", "not a regular file")


def test_a_directory_is_refused(shm_dir: Path) -> None:
    (shm_dir / "qb-dir").mkdir()
    try:
        refused(shm_dir / "qb-dir", "cannot open")
    finally:
        (shm_dir / "qb-dir").rmdir()


def test_a_file_of_another_uid_is_refused(root: None, shm_dir: Path) -> None:
    (shm_dir / "qb-other").write_bytes(bytes(24))
    os.chown(shm_dir / "qb-other", 65534, 65534)
    refused(shm_dir / "qb-other", "belongs to uid 65534")
    # ... and so is a file of ours in a directory of another uid.
    (shm_dir / "qb-mine").write_bytes(bytes(24))
    os.chown(shm_dir, 65534, 65534)
    try:
        refused(shm_dir / "qb-mine", "its directory belongs to uid 65534")
    finally:
        os.chown(shm_dir, 0, 0)


def test_the_daemons_uid_is_accepted_as_owner(root: None, shm_dir: Path) -> None:
    path = shm_dir / "qb-daemons"
    path.write_bytes(bytes(24))
    os.chown(path, 65534, 65534)
    m = map_server_file(str(path), "control file", "request", 24, 24, owners={0, 65534})
    m.close()


def test_a_missing_file_is_a_protocol_error(shm_dir: Path) -> None:
    refused(shm_dir / "qb-absent", "cannot open")


def test_remove_server_file_does_not_follow_a_symlinked_directory(shm_dir: Path) -> None:
    victim = shm_dir / "qb-victim"
    victim.write_bytes(b"keep")
    link = Path(SHM_DIR) / f"qb-trust-link-{os.getpid()}"
    link.symlink_to(shm_dir)
    try:
        trust.remove_server_file(str(link / "qb-victim"))
        assert victim.read_bytes() == b"keep"
    finally:
        link.unlink()
    trust.remove_server_file(str(shm_dir / "qb-victim"))
    assert not victim.exists() and not shm_dir.exists()  # the emptied qb- directory too


def test_remove_server_file_ignores_names_outside_shm(tmp_path: Path) -> None:
    victim = tmp_path / "qb-victim"
    victim.write_bytes(b"keep")
    trust.remove_server_file(str(victim))
    assert victim.exists()


# -- the process's own limits --------------------------------------------------------


@pytest.mark.parametrize(
    ("err", "cls", "words"),
    [
        (errno.EMFILE, LibraryError, "ulimit -n"),
        (errno.ENFILE, LibraryError, "fs.file-max"),
        (errno.ENOMEM, NoMemoryError, "out of memory"),
        (errno.ENOSPC, NoSpaceError, "/dev/shm"),
    ],
)
def test_resource_errors_become_the_class_libquorum_reports(
    err: int, cls: type[Exception], words: str
) -> None:
    exc = trust.local_error(OSError(err, os.strerror(err)), "opening")
    assert type(exc) is cls and exc.errno == err and words in str(exc)


def test_shared_state_eoverflow_is_name_too_long() -> None:
    exc = trust.shared_state_error(OSError(errno.EOVERFLOW, "x"), "the request ring's semaphore")
    assert isinstance(exc, NameTooLongError) and "SEM_VALUE_MAX" in str(exc)


def test_setup_socket_emfile_leaves_no_socket() -> None:
    before = open_fds()
    with no_free_fds(), pytest.raises(LibraryError):
        handshake.connect(f"pyquorum-nobody-{os.getpid()}", max_msg_size=12328, timeout=1.0)
    assert open_fds() == before


def test_the_fifo_check_is_on_what_was_opened(shm_dir: Path) -> None:
    """fstat after open: the mode checked is the opened file's, not a fresh lookup's."""
    path = shm_dir / "qb-file"
    path.write_bytes(bytes(24))
    fd = trust.open_server_file(str(path), "request", "control file", {os.geteuid()})
    try:
        assert stat.S_ISREG(os.fstat(fd).st_mode)
        assert os.get_inheritable(fd) is False
    finally:
        os.close(fd)


def test_socket_control_path_outside_shm_is_refused_and_left_alone(
    tmp_path: Path,
) -> None:
    # Issue 15's audit: the named file was mapped read-write, written by every
    # send and unlinked (with its directory) at close.
    victim = tmp_path / "qb-control-quorum"
    content = b"not the client's to map, write or delete\n"
    victim.write_bytes(content)
    answer = response(
        connection_type=ConnectionType.SOCKET, request=str(victim), response="/dev/shm/qb-x/qb-q"
    )
    before = open_fds()
    with (
        listener(replying(answer, lambda c: None)) as service,
        pytest.raises(RemoteProtocolError, match="not under /dev/shm") as info,
    ):
        QuorumSession(service=service, timeout=3.0)
    assert info.value.field == "request"
    assert victim.read_bytes() == content and open_fds() == before



# -- ring state beyond what libqb produces --------------------------------------------


class _CorruptCount(ThreadSemaphore):
    """A semaphore whose count reads as glibc reports one of 2**31 or more."""

    def value(self) -> int:
        return -(2**31)


def _ring(sem: ThreadSemaphore) -> tuple[Ring, bytearray]:
    header, data = bytearray(8252), bytearray(256)
    RingHeader.initialize(header, 64, "/dev/shm/qb-x-header", "/dev/shm/qb-x-data").release()
    return Ring(header, data, sem, max_msg_size=128), header


def test_a_count_of_2_31_or_more_is_a_corrupt_semaphore() -> None:
    # glibc's sem_getvalue reports it negative: "ring empty" would let the write go on.
    ring, _header = _ring(_CorruptCount())
    try:
        for call in (ring.free_bytes, lambda: ring.write(b"x")):
            with pytest.raises(RemoteProtocolError, match="at least 2\\*\\*31") as info:
                call()
            assert info.value.field == "posix_sem" and info.value.offset == SEM_OFFSET
    finally:
        ring.release()


@pytest.mark.parametrize("offset", [0, 4])
def test_free_bytes_checks_the_pointers(offset: int) -> None:
    ring, header = _ring(ThreadSemaphore())
    try:
        _U32.pack_into(header, offset, 64)
        with pytest.raises(RemoteProtocolError, match="outside the data area"):
            ring.free_bytes()
    finally:
        ring.release()


def test_a_file_writable_by_others_is_refused(shm_dir: Path) -> None:
    path = shm_dir / "qb-open"
    path.write_bytes(bytes(24))
    path.chmod(0o666)
    refused(path, "writable by others")
    path.chmod(0o600)
    shm_dir.chmod(0o777)
    try:
        refused(path, "its directory is writable by others")
    finally:
        shm_dir.chmod(0o700)


class _Bare(ClientTransport):
    """Only the base class's bookkeeping (the data path is not exercised)."""

    def send(self, data: bytes, deadline: Deadline) -> None:
        raise AssertionError("not used")

    def recv_response(self, deadline: Deadline) -> bytes:
        raise AssertionError("not used")

    def recv_event(self, deadline: Deadline) -> bytes | None:
        raise AssertionError("not used")

    def fileno(self) -> int:
        return self.setup.fileno()

    def close(self) -> None:
        self.close_setup()


@pytest.mark.parametrize(
    ("scm", "peer", "expected"),
    [
        (Credentials(1, 0, 0), Credentials(4242, 0, 0), 4242),  # a forged SCM pid loses
        (Credentials(4242, 0, 0), None, 4242),
        (None, Credentials(0, 0, 0), None),  # pid 0 is no process
        (None, None, None),
    ],
)
def test_server_pid_is_the_one_the_kernel_recorded_for_the_listener(
    scm: Credentials | None, peer: Credentials | None, expected: int | None
) -> None:
    a, b = socket.socketpair()
    hs = handshake.Handshake(
        sock=a,
        response=ConnectionResponse(0, ConnectionType.SHM, 1 << 20, 0, "", "", ""),
        credentials=scm,
        service="quorum",
        peer=peer,
    )
    transport = _Bare(hs)
    try:
        assert transport.server_pid == expected
        assert transport.owners == ({os.geteuid(), peer.uid} if peer else {os.geteuid()})
    finally:
        transport.close()
        b.close()


@pytest.mark.parametrize(
    ("err", "cls"), [(errno.ENOBUFS, TryAgainError), (errno.EIO, ConnectionLost)]
)
def test_a_failing_datagram_send_is_typed_and_rolls_the_counter_back(
    root: None, err: int, cls: type[Exception], monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_send(self: socket.socket, *args: object) -> int:
        raise OSError(err, os.strerror(err))

    with (
        FakeQuorumServer(transport="socket") as server,
        server.session(timeout=3.0) as session,
        mapped(connection_file(server, "qb-control-")) as ctl,
    ):
        before = _I32.unpack_from(ctl, REQ_SENT)[0]
        with monkeypatch.context() as m:
            m.setattr(socket.socket, "send", failing_send)
            with pytest.raises(cls):
                session.getquorate()
        assert _I32.unpack_from(ctl, REQ_SENT)[0] == before
        if cls is TryAgainError:  # nothing was sent: the connection goes on
            assert session.getquorate() is True


@pytest.mark.parametrize("transport", ["shm", "socket"])
def test_a_failing_receive_or_doorbell_loses_the_connection(
    root: None, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = "send" if transport == "shm" else "recv_into"
    real = getattr(socket.socket, name)

    def failing(self: socket.socket, *args: object) -> object:
        if self.type == (socket.SOCK_STREAM if transport == "shm" else socket.SOCK_DGRAM):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real(self, *args)

    with (
        FakeQuorumServer(transport=transport) as server,  # type: ignore[arg-type]
        server.session(timeout=3.0) as session,
        monkeypatch.context() as m,
    ):
        m.setattr(socket.socket, name, failing)
        with pytest.raises(ConnectionLost, match="Input/output error"):
            session.getquorate()


def test_a_dead_servers_ring_files_are_removed_without_following_links(shm_dir: Path) -> None:
    from pyquorum.ipc.client.shm_transport import _remove_debris

    ring = [shm_dir / "qb-request-quorum-header", shm_dir / "qb-request-quorum-data"]
    for path in ring:
        path.write_bytes(b"x")
    other = Path(SHM_DIR) / f"qb-trust-other-{os.getpid()}"
    other.mkdir()
    (other / "qb-request-quorum-header").write_bytes(b"keep")
    link = Path(SHM_DIR) / f"qb-trust-link-{os.getpid()}"
    link.symlink_to(other)
    try:
        _remove_debris([*map(str, ring), str(link / "qb-request-quorum-header"), "/tmp/qb-x"])
        assert not shm_dir.exists()  # files and their emptied directory
        assert (other / "qb-request-quorum-header").read_bytes() == b"keep"
    finally:
        link.unlink()
        (other / "qb-request-quorum-header").unlink(missing_ok=True)
        other.rmdir()


def test_remove_server_file_refuses_names_libqb_does_not_make(shm_dir: Path) -> None:
    victim = shm_dir / "qb-victim"
    victim.write_bytes(b"keep")
    for name in (f"{shm_dir}/../{shm_dir.name}/qb-victim", f"{shm_dir}/./qb-victim"):
        trust.remove_server_file(name)
        assert victim.read_bytes() == b"keep", name
    plain = shm_dir / "victim"  # not a qb- name
    plain.write_bytes(b"keep")
    trust.remove_server_file(str(plain))
    assert plain.read_bytes() == b"keep"
