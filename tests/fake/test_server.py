"""The IPC server under load and abuse: many clients, killed clients, full sockets and rings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pyquorum import Model, Track
from pyquorum.fake import Script, Step
from pyquorum.ipc.client.connection import IpcConnection
from pyquorum.messages.quorum import decode_notification, encode_request
from pyquorum.messages.types import (
    Notification,
    QuorumNotificationV0,
    RingId,
    TrackStartRequest,
)
from tests.support.fake import Factory, server_dirs, wait_until
from tests.support.process_resources import open_fds

SCRIPT = Script.build([1, 2, 3], ring_id=RingId(1, 8))
ROOT = Path(__file__).resolve().parents[2]


def test_fifty_concurrent_clients(fake: Factory, transport: str) -> None:
    server = fake(SCRIPT, transport=transport)
    errors: list[BaseException] = []
    results: list[int] = []
    barrier = threading.Barrier(50, timeout=20)

    def client() -> None:
        try:
            with server.session(Model.V1, timeout=20) as session:
                barrier.wait()
                for _ in range(20):
                    assert session.getquorate() is True
                session.trackstart(Track.CURRENT)
                results.append(len(list(session.events(timeout=0.5))))
                barrier.wait()
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=client) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors[0]
    assert results == [2] * 50
    server.wait_connections(0)


def test_the_server_holds_one_fd_per_client(fake: Factory, transport: str) -> None:
    """Its ring or control files are mapped without keeping their fds (docs/protocol.md
    §3.12): with client and server in this process, a client costs two fds in all
    (its setup socket at each end; the socket transport's datagram sockets on top)."""
    server = fake(SCRIPT, transport=transport)
    per_client = 2 if transport == "shm" else 2 + 4
    before = len(open_fds())
    sessions = [server.session(Model.V1, timeout=10) for _ in range(10)]
    try:
        server.wait_connections(10)
        added = len(open_fds()) - before
        assert added == 10 * per_client, f"{added / 10} fds per client"
    finally:
        for session in sessions:
            session.close()
    server.wait_connections(0)


CLIENT = """
import sys, time
from pyquorum import QuorumSession, Model, Track
s = QuorumSession(Model(int(sys.argv[1])), timeout=10)
s.trackstart(Track.CURRENT | Track.CHANGES)
print("ready", flush=True)
while True:
    s.getquorate()
    time.sleep(0.001)
"""


def test_clients_killed_mid_session_leave_nothing_behind(fake: Factory, transport: str) -> None:
    server = fake(SCRIPT, transport=transport)
    procs = [
        server.popen([sys.executable, "-c", CLIENT, str(i % 2)], stdout=subprocess.PIPE,
                     text=True, cwd=ROOT)
        for i in range(10)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        server.wait_connections(10)
        assert len(server.shm_files()) == 10
        # Changes keep flowing while clients die mid-request.
        for i, proc in enumerate(procs):
            proc.send_signal(signal.SIGKILL)
            server.apply(Step(0, quorate=bool(i % 2)))
    finally:
        for proc in procs:
            proc.kill()
            proc.wait(10)
            if proc.stdout is not None:
                proc.stdout.close()
    server.wait_connections(0)
    wait_until(lambda: server.shm_files() == [], 5, "the killed clients' files to go")
    with server.session() as session:  # still serving
        assert session.getquorate() is True


def test_stopping_the_server_disconnects_clients_and_removes_every_file(
    fake: Factory, transport: str
) -> None:
    from pyquorum import ConnectionLost

    server = fake(SCRIPT, transport=transport)
    sessions = [server.session() for _ in range(5)]
    assert len(server.shm_files()) == 5
    server.stop()
    assert server.shm_files() == []
    for session in sessions:
        with pytest.raises(ConnectionLost):
            session.getquorate(timeout=5)
        session.close()


@pytest.mark.parametrize("max_msg_size", [12328, 1048576], ids=["small-ring", "big-ring"])
def test_events_beyond_a_full_ring_and_socket_are_queued_in_order(
    fake: Factory, transport: str, max_msg_size: int
) -> None:
    """A client that does not read: with a small ring the event ring fills (the server
    queues events); with a big one, in SHM, the doorbell bytes overflow the setup socket
    (the server counts what it owes).  Everything arrives later, in order.
    (The raw connection never asks for V1, so it gets V0 notifications.)"""
    server = fake(SCRIPT, transport=transport)
    with server.netns_context():
        conn = IpcConnection.connect("quorum", max_msg_size=max_msg_size, timeout=5)
    with conn:
        conn.request(encode_request(TrackStartRequest(Track.CHANGES_ONLY)), timeout=5)
        count = 2000

        def flood() -> None:
            for i in range(count):
                server.service.apply(Step(0, quorate=bool(i % 2)))

        server.call(flood)
        got: list[Notification] = []
        deadline = time.monotonic() + 30
        while len(got) < count and time.monotonic() < deadline:
            data = conn.recv_event(timeout=1)
            if data is not None:
                got.append(decode_notification(data))
        assert [e.quorate for e in got if isinstance(e, QuorumNotificationV0)] == [
            bool(i % 2) for i in range(count)
        ]
        assert conn.recv_event(timeout=0.1) is None
        # Doorbells and chunks still match one to one afterwards.
        server.apply(Step(0, members=(1, 2)))
        assert conn.recv_event(timeout=2) is not None  # one V0 notification per change
        assert conn.recv_event(timeout=0.1) is None


def test_a_disconnect_request_and_a_zero_length_chunk_end_the_connection(fake: Factory) -> None:
    from pyquorum import ConnectionLost
    from pyquorum.messages.libqb import encode_request_header

    server = fake(SCRIPT, transport="shm")
    with server.netns_context():
        conn = IpcConnection.connect("quorum", timeout=5)
    with conn, pytest.raises((ConnectionLost, TimeoutError)):
        conn.request(encode_request_header(-3, 16), timeout=2)
    server.wait_connections(0)


def test_files_are_the_clients_with_corosyncs_modes(fake: Factory, transport: str) -> None:
    server = fake(SCRIPT, transport=transport)
    with server.session():
        (directory,) = server.shm_files()
        name = os.path.basename(directory)
        assert name.startswith(f"qb-{os.getpid()}-{os.getpid()}-")
        assert len(name.rsplit("-", 1)[1]) == 6
        assert os.stat(directory).st_mode & 0o777 == 0o770
        files = sorted(os.listdir(directory))
        for f in files:
            assert os.stat(os.path.join(directory, f)).st_mode & 0o777 == 0o600
        if transport == "shm":
            assert files == sorted(
                f"qb-{ch}-quorum-{part}"
                for ch in ("request", "response", "event") for part in ("header", "data")
            )
            assert os.path.getsize(os.path.join(directory, "qb-event-quorum-header")) == 8252
            assert os.path.getsize(os.path.join(directory, "qb-event-quorum-data")) == 1052672
        else:
            assert files == ["qb-control-quorum"]
    assert server_dirs() == [] or directory not in server_dirs()


ACCESS_CLIENT = """
import os, sys
from pyquorum import AccessError, QuorumSession
try:
    with QuorumSession(timeout=10) as s:
        d = [n for n in os.listdir("/dev/shm") if n.startswith(f"qb-{sys.argv[1]}-{os.getpid()}-")]
        st = os.stat("/dev/shm/" + d[0])
        print("ok", s.getquorate(), st.st_uid, st.st_gid, oct(st.st_mode & 0o777))
except AccessError as exc:
    print("denied", exc.errno)
"""


@pytest.mark.parametrize("allowed", [False, True], ids=["denied", "listed-uid"])
def test_uid_policy_root_and_listed_ids_only(fake: Factory, transport: str, allowed: bool) -> None:
    nobody = 65534
    server = fake(SCRIPT, transport=transport, uids=[nobody] if allowed else [])
    setpriv = [
        "setpriv", f"--reuid={nobody}", f"--regid={nobody}", "--clear-groups", "--",
    ]
    proc = server.run(
        [*setpriv, sys.executable, "-c", ACCESS_CLIENT, str(os.getpid())],
        capture_output=True, text=True, cwd=ROOT, timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    if allowed:
        assert proc.stdout.split() == ["ok", "True", str(nobody), str(nobody), "0o770"]
    else:
        assert proc.stdout.split() == ["denied", "13"]
    server.wait_connections(0)
