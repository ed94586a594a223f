"""The known ways a misbehaving daemon (or the process's own fd limit) let a plain
Python exception out of a public call (issue 15, docs/trust-boundary.md §8),
through :mod:`pyquorum.libquorum`, and the ring paths end to end.

The same cases through :class:`~pyquorum.QuorumSession`, and the checks behind
them, are in tests/ipc/test_trust_boundary.py; here libquorum's C-shaped calls
must return a ``cs_error_t`` for each, as libquorum does.  They run against a
fake server (:class:`FakeQuorumServer`, private network namespace) whose
*shared state* the test then corrupts from outside, exactly as a daemon could:
the socket transport's control file, the request ring's semaphore.  The
handshake case uses a raw setup socket in the test itself, because no server
sends error = INT32_MIN on purpose.

Each case failed with a plain exception before the fix (they were committed
as strict xfails pinned to it) and passes since.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import resource
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyquorum import PyquorumError, QuorumSession, RemoteProtocolError, libquorum
from pyquorum.errors import CsErrorCode
from pyquorum.messages.constants import CONNECTION_REQUEST_SIZE, ConnectionType
from pyquorum.messages.libqb import encode_connection_response
from pyquorum.messages.types import ConnectionResponse
from pyquorum.testing.fake import FakeQuorumServer
from tests.support.live import require_live

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
SEM_VALUE_MAX = 2**31 - 1
SHM_DIR = "/dev/shm"

# struct qb_ringbuffer_shared_s (docs/trust-boundary.md §3): the pointers and
# the glibc sem_t, whose first 32-bit word is the count on 64-bit glibc.
READ_PT_OFFSET = 4
WORD_SIZE_OFFSET = 8
SEM_OFFSET = 8208
# struct ipc_us_control[0].sent (docs/trust-boundary.md §5).
CONTROL_SENT_OFFSET = 0

_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")


@pytest.fixture
def root() -> None:
    if os.geteuid() != 0:
        require_live("the fake server's private network namespace needs root")


@contextlib.contextmanager
def fake_server(transport: str) -> Iterator[FakeQuorumServer]:
    with FakeQuorumServer(transport=transport) as server:  # type: ignore[arg-type]
        yield server


def connection_dir(server: FakeQuorumServer) -> str:
    """The /dev/shm directory of the one connection this process has with ``server``."""
    prefix = f"qb-{server.pid}-{os.getpid()}-"
    dirs = [n for n in os.listdir(SHM_DIR) if n.startswith(prefix)]
    assert len(dirs) == 1, dirs
    return os.path.join(SHM_DIR, dirs[0])


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


def control_file(server: FakeQuorumServer) -> str:
    d = connection_dir(server)
    (name,) = [n for n in os.listdir(d) if n.startswith("qb-control-")]
    return os.path.join(d, name)


def request_ring_header(server: FakeQuorumServer) -> str:
    d = connection_dir(server)
    (name,) = [n for n in os.listdir(d) if n.startswith("qb-request-") and n.endswith("-header")]
    return os.path.join(d, name)


# -- 1. connection response error = INT32_MIN --------------------------------------------


def _serve_one_response(listener: socket.socket, response: bytes) -> threading.Thread:
    """Answer one handshake on ``listener`` with ``response``, then hang up."""

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            got = b""
            while len(got) < CONNECTION_REQUEST_SIZE:
                chunk = conn.recv(CONNECTION_REQUEST_SIZE - len(got))
                if not chunk:
                    return
                got += chunk
            conn.sendall(response)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def _listen(name: str) -> socket.socket:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # An abstract name padded to the whole sun_path, as libqb binds it.
    listener.bind(("\0" + name).encode().ljust(108, b"\0"))
    listener.listen(1)
    return listener


ERROR_INT32_MIN = encode_connection_response(
    ConnectionResponse(
        error=INT32_MIN,
        connection_type=ConnectionType.SHM,
        max_msg_size=1 << 20,
        connection=0,
        request="",
        response="",
        event="",
    )
)


def test_connection_response_error_int32_min_through_libquorum(root: None) -> None:
    # libquorum's quorum_model_initialize must return a cs_error_t, not raise.
    with (
        FakeQuorumServer(name="unused") as server,
        server.netns_context(),
        _listen("quorum") as listener,
    ):
        thread = _serve_one_response(listener, ERROR_INT32_MIN)
        rc, handle, _qtype = libquorum.quorum_initialize(None)
        thread.join(5.0)
    assert (rc, handle) == (CsErrorCode.ERR_MESSAGE_ERROR, 0)


# -- 2. socket transport: control file request counter at INT32_MAX -----------------------


def test_control_counter_at_int32_max_through_libquorum(root: None) -> None:
    with fake_server("socket") as server, server.netns_context():
        rc, handle, _qtype = libquorum.quorum_initialize(None)
        assert rc == CsErrorCode.OK
        try:
            with mapped(control_file(server)) as ctl:
                _I32.pack_into(ctl, CONTROL_SENT_OFFSET, INT32_MAX)
                rc, _quorate = libquorum.quorum_getquorate(handle)
                assert isinstance(rc, CsErrorCode)
        finally:
            libquorum.quorum_finalize(handle)


# -- 3. SHM: request ring semaphore at SEM_VALUE_MAX ----------------------------------------


def _corrupt_request_sem(header: mmap.mmap) -> None:
    """Count at SEM_VALUE_MAX, and read_pt one word behind write_pt (0) so the
    ring does not look full: the client's write reaches its sem_post."""
    word_size = _U32.unpack_from(header, WORD_SIZE_OFFSET)[0]
    _U32.pack_into(header, READ_PT_OFFSET, word_size - 1)
    _U32.pack_into(header, SEM_OFFSET, SEM_VALUE_MAX)


def test_request_semaphore_at_sem_value_max_through_libquorum(root: None) -> None:
    # Already right: libquorum maps EOVERFLOW as qb_to_cs_error does.
    with fake_server("shm") as server, server.netns_context():
        rc, handle, _qtype = libquorum.quorum_initialize(None)
        assert rc == CsErrorCode.OK
        try:
            with mapped(request_ring_header(server)) as header:
                _corrupt_request_sem(header)
                rc, _quorate = libquorum.quorum_getquorate(handle)
                assert rc == CsErrorCode.ERR_NAME_TOO_LONG
        finally:
            libquorum.quorum_finalize(handle)


# -- 4. EMFILE: the process is out of file descriptors -------------------------------------


@contextlib.contextmanager
def no_free_fds() -> Iterator[None]:
    """Use up every fd this process may open (under a lowered soft RLIMIT_NOFILE)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    held: list[int] = []
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 4096), hard))
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


def test_emfile_on_open_through_libquorum_returns_a_code() -> None:
    with no_free_fds():
        rc, handle, _qtype = libquorum.quorum_initialize(None)
    assert handle == 0 and rc != CsErrorCode.OK


# -- found by the audit (docs/trust-boundary.md §8.8) -------------------------------------


def test_ring_paths_outside_libqbs_names_are_refused_and_left_alone(
    root: None, tmp_path: Path
) -> None:
    # Today: the client maps the three named header files (and the data files
    # their headers name) read-write and writes ref_count into each header.
    from pyquorum.ipc.ring import Ring
    from pyquorum.ipc.sem import PosixSemaphore

    bases = [str(tmp_path / f"qb-{ring}-quorum") for ring in ("request", "response", "event")]
    for base in bases:
        header, data = bytearray(8252), bytearray(64 * 4)
        Ring.initialize(
            header, data, word_size=64, hdr_path=base + "-header", data_path=base + "-data"
        )
        PosixSemaphore.init(header, SEM_OFFSET).release()
        Path(base + "-header").write_bytes(header)
        Path(base + "-data").write_bytes(data)
    before = {b: Path(b + "-header").read_bytes() for b in bases}
    response = encode_connection_response(
        ConnectionResponse(0, ConnectionType.SHM, 1 << 20, 0, *bases)
    )
    outcome: PyquorumError | None = None
    with (
        FakeQuorumServer(name="unused") as server,
        server.netns_context(),
        _listen(f"pyquorum-hardening-{os.getpid()}") as listener,
    ):
        thread = _serve_one_response(listener, response)
        try:
            QuorumSession(service=f"pyquorum-hardening-{os.getpid()}", timeout=5.0).finalize()
        except PyquorumError as exc:
            outcome = exc
        thread.join(5.0)
    assert {b: Path(b + "-header").read_bytes() for b in bases} == before, "header written"
    assert isinstance(outcome, RemoteProtocolError) and outcome.field == "request"
