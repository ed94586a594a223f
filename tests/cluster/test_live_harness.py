"""The cluster harness itself, against real corosync.

Every other live test trusts this harness to start what it says, to see
membership changes, and to leave nothing behind; these tests check exactly
that.  The few that need no corosync (naming, parsing, prerequisites) run
anywhere.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from pyquorum.testing import cluster as harness
from pyquorum.testing.cluster import (
    Cluster,
    ClusterError,
    ClusterUnavailable,
    Node,
    WaitTimeout,
    common,
    parse_quorumtool,
    registry,
    sweep_stale,
    wait_until,
)
from pyquorum.testing.cluster import network as _netns
from pyquorum.testing.cluster import procs as _procs
from tests.support.live import ClusterFactory, require_corosync

QUORUM = b"\0quorum".ljust(108, b"\0")
ROOT = Path(__file__).resolve().parents[2]

live = pytest.mark.corosync


def traces_of(cluster: Cluster, pids: list[int]) -> list[str]:
    """Everything of ``cluster`` still on the machine (empty when torn down)."""
    found = [n for n in _netns.list_netns() if n.startswith(cluster.tag)]
    found += [str(p) for p in (harness.RUN_ROOT / cluster.tag, cluster.workdir) if p.exists()]
    found += [f"pid {p}" for p in pids if _procs.pid_alive(p)]
    found += _procs.shm_debris(pids)
    return found


def quorum_connect() -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        s.connect(QUORUM)


def net_inode() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


# --------------------------------------------------------------------------- single node


@live
def test_one_node_starts_ready_and_stops_leaving_nothing() -> None:
    require_corosync()
    with Cluster(1) as cluster:
        node = cluster[1]
        assert node.is_running and _procs.pid_is_corosync(node.pid)
        assert node.netns in _netns.list_netns()
        assert node.address == "198.18.0.1"
        assert "ready to provide service" in node.log_path.read_text()
        status = node.quorum_status()
        assert status.quorate and status.members == {1} and status.nodeid == 1
        assert status.provider == "corosync_votequorum" and status.ring_id is not None
        # libqb's flight recorder is there while corosync runs.
        assert any("blackbox" in p for p in _procs.shm_debris([node.pid]))
        pid = node.pid
    assert not node.is_running
    assert traces_of(cluster, [pid]) == []
    assert cluster.tag not in registry.LIVE


def test_socket_transport_is_configured(corosync_node_any: Node) -> None:
    proc = corosync_node_any.run(["corosync-cmapctl", "-g", "system.qb_ipc_type"], check=True)
    assert proc.stdout.strip().endswith(f"= {corosync_node_any.cluster.transport}")


def test_stop_then_start_again_on_the_same_node(corosync_node: Node) -> None:
    first = corosync_node.pid
    corosync_node.stop()
    assert not corosync_node.is_running
    assert _procs.shm_debris([first]) == [], "a clean exit removes its own files"
    corosync_node.start()
    assert corosync_node.is_running and corosync_node.pid != first
    assert corosync_node.quorum_status().quorate


def libqb_connect() -> socket.socket:
    """A libqb handshake by hand (docs/protocol.md §2.3), so corosync makes a connection dir."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect(QUORUM)
    sock.sendall(bytes.fromhex("ffffffff00000000 1800000000000000 0000100000000000"))
    response = b""
    while len(response) < 12328:
        chunk = sock.recv(12328 - len(response))
        assert chunk, "corosync closed the connection during the handshake"
        response += chunk
    assert response[16:20] == bytes(4), "corosync refused the connection"
    return sock


def test_crash_removes_the_daemons_debris(corosync_node: Node) -> None:
    node = corosync_node
    pid = node.pid
    with node.call(libqb_connect):  # a client still connected when corosync dies
        debris = _procs.shm_debris([pid])
        assert any(f"/qb-{pid}-{os.getpid()}-" in p for p in debris), debris
        node.crash()
        assert not node.is_running and node.returncode == -signal.SIGKILL
        assert _procs.shm_debris([pid]) == []


def test_pause_and_resume(corosync_node: Node) -> None:
    node = corosync_node
    node.pause()
    try:
        assert node.is_paused and _procs.pid_state(node.pid) == "T"
        assert node.is_running
    finally:
        node.resume()
    assert not node.is_paused
    assert node.quorum_status().quorate


def test_netns_context_reaches_only_that_nodes_quorum_socket(corosync_node: Node) -> None:
    home = net_inode()
    with pytest.raises(ConnectionRefusedError):  # nothing listens in our own namespace
        quorum_connect()
    with corosync_node.netns_context():
        assert net_inode() != home
        quorum_connect()
        inside = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    assert net_inode() == home
    # A socket keeps the namespace it was created in.
    with inside:
        inside.settimeout(2)
        inside.connect(QUORUM)
    with pytest.raises(OSError) as info:
        quorum_connect()
    assert info.value.errno == errno.ECONNREFUSED
    corosync_node.call(quorum_connect)
    assert net_inode() == home


def test_netns_context_moves_only_the_calling_thread(corosync_node: Node) -> None:
    home = net_inode()
    seen: list[int] = []
    go = threading.Event()

    def look() -> None:
        go.wait(10)
        seen.append(net_inode())

    bystander = threading.Thread(target=look)
    bystander.start()
    with corosync_node.netns_context():
        inside = net_inode()
        go.set()
        bystander.join()
        # A thread started inside inherits the namespace, as a forked child does.
        child = threading.Thread(target=lambda: seen.append(net_inode()))
        child.start()
        child.join()
    assert inside != home
    assert seen == [home, inside]


def test_run_as_nobody_is_denied_without_uidgid(corosync_node: Node) -> None:
    ident = corosync_node.run_as(65534, 65534, ["id", "-u"], check=True)
    assert ident.stdout.strip() == "65534"
    denied = corosync_node.run_as(65534, 65534, ["corosync-quorumtool", "-s"])
    assert denied.returncode != 0
    assert "Cannot initialize CMAP service" in denied.stderr


def test_uidgid_lets_another_uid_in(cluster3: ClusterFactory) -> None:
    cluster = cluster3(1, uidgid=[65534])
    proc = cluster[1].run_as(65534, 65534, ["corosync-quorumtool", "-s"])
    assert proc.returncode == 0, proc.stderr
    assert parse_quorumtool(proc.stdout).quorate


def test_no_quorum_provider_reports_members_from_cmap(cluster3: ClusterFactory) -> None:
    cluster = cluster3(2, quorum=False)
    assert "quorum {" not in cluster[1].config_path.read_text()
    status = cluster[1].quorum_status()
    assert status.quorate and status.members == {1, 2} and status.provider is None
    cluster[2].crash()
    assert cluster.wait_members(1, {1}, timeout=15).quorate


@live
def test_teardown_after_an_exception_leaves_nothing() -> None:
    require_corosync()
    with pytest.raises(RuntimeError, match="boom"), Cluster(2) as cluster:
        pids = [n.pid for n in cluster]
        cluster[2].pause()  # even a stopped daemon goes away
        raise RuntimeError("boom")
    assert traces_of(cluster, pids) == []


def test_wait_timeout_names_what_and_shows_the_logs(corosync_node: Node) -> None:
    cluster = corosync_node.cluster
    began = time.monotonic()
    with pytest.raises(WaitTimeout) as info:
        cluster.wait_until(lambda: False, 0.3, "the impossible")
    assert time.monotonic() - began < 2
    text = str(info.value)
    assert "waiting for the impossible" in text
    assert "ready to provide service" in text  # the tail of corosync.log
    assert "node 1: quorate" in text  # the cluster's state at the time
    assert isinstance(info.value, TimeoutError)


def test_a_wait_on_a_paused_daemon_keeps_its_deadline(corosync_node: Node) -> None:
    corosync_node.pause()  # quorumtool now hangs: corosync accepts but never answers
    began = time.monotonic()
    try:
        with pytest.raises(WaitTimeout, match="paused"):
            corosync_node.wait_quorate(False, timeout=1.0)
    finally:
        corosync_node.resume()
    assert time.monotonic() - began < 3


def test_dead_daemon_fails_a_wait_at_once(corosync_node: Node) -> None:
    node = corosync_node
    os.kill(node.pid, signal.SIGKILL)
    began = time.monotonic()
    with pytest.raises(ClusterError, match="exited"):
        node.wait_quorate(True, timeout=20)
    assert time.monotonic() - began < 5


# --------------------------------------------------------------------------- three nodes


def test_three_nodes_form_a_quorate_cluster(cluster3: ClusterFactory) -> None:
    cluster = cluster3()
    rings = set()
    for node in cluster:
        status = node.quorum_status()
        assert status.quorate and status.members == {1, 2, 3}
        assert status.votes == {1: 1, 2: 1, 3: 1} and status.expected_votes == 3
        rings.add(status.ring_id)
    assert len(rings) == 1
    assert [n.address for n in cluster] == ["198.18.0.1", "198.18.0.2", "198.18.0.3"]
    assert len({n.netns for n in cluster}) == 3
    assert cluster[2].run(["ip", "-br", "addr", "show", "eth0"]).stdout.count("198.18.0.2/15")


def test_crash_is_seen_by_the_others_and_the_node_can_rejoin(cluster3: ClusterFactory) -> None:
    cluster = cluster3()
    pid = cluster[3].pid
    cluster[3].crash()
    assert _procs.shm_debris([pid]) == []
    for nodeid in (1, 2):
        status = cluster.wait_members(nodeid, {1, 2}, timeout=15)
        assert status.quorate
    cluster[3].start()
    cluster.wait_formed({1, 2, 3}, timeout=15, quorate=True)


def test_partition_leaves_the_minority_inquorate_and_heal_restores_it(
    cluster3: ClusterFactory,
) -> None:
    cluster = cluster3()
    cluster.partition([3])
    assert cluster.partitioned == (frozenset({1, 2}), frozenset({3}))
    cluster.wait_formed({1, 2}, timeout=15, quorate=True)
    status = cluster.wait_members(3, {3}, timeout=15)
    assert not status.quorate and status.expected_votes == 3
    # The classic way out for a lone node: lower its expected votes.
    cluster[3].set_expected_votes(1)
    assert cluster.wait_quorate(3, True, timeout=10).members == {3}
    cluster.heal()
    assert cluster.partitioned is None
    statuses = cluster.wait_formed({1, 2, 3}, timeout=15, quorate=True)
    assert all(s.members == {1, 2, 3} for s in statuses.values())


# --------------------------------------------------------------------------- processes


def _child(code: str) -> subprocess.Popen[str]:
    """A Python child that runs ``code`` with the harness imported."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


_START_AND_WAIT = """
    import sys, time
    from pyquorum.testing.cluster import Cluster
    cluster = Cluster(1).start()
    print(cluster.tag, cluster[1].pid, flush=True)
    time.sleep(60)
"""


@live
def test_sigterm_tears_the_cluster_down() -> None:
    require_corosync()
    child = _child(_START_AND_WAIT)
    assert child.stdout is not None
    tag, pid = child.stdout.readline().split()
    child.send_signal(signal.SIGTERM)
    assert child.wait(20) == -signal.SIGTERM  # dies of the signal, after tearing down
    assert not [n for n in _netns.list_netns() if n.startswith(tag)]
    assert not _procs.pid_alive(int(pid))
    assert _procs.shm_debris([int(pid)]) == []
    assert not (harness.WORK_ROOT / tag).exists()


@live
def test_sweep_stale_removes_what_a_killed_run_left() -> None:
    require_corosync()
    child = _child(_START_AND_WAIT)
    assert child.stdout is not None
    tag, pid = child.stdout.readline().split()
    child.kill()
    child.wait(10)
    # The parent-death signal takes corosync down with its creator...
    wait_until(lambda: not _procs.pid_alive(int(pid)), 10, "corosync to die with its parent")
    # ...but the namespaces, files and blackbox stay until someone sweeps.
    assert [n for n in _netns.list_netns() if n.startswith(tag)]
    assert _procs.shm_debris([int(pid)])
    removed = sweep_stale()
    assert f"netns {tag}n1" in removed
    assert not [n for n in _netns.list_netns() if n.startswith(tag)]
    assert _procs.shm_debris([int(pid)]) == []
    assert not (harness.WORK_ROOT / tag).exists() and not (harness.RUN_ROOT / tag).exists()


@live
def test_cli_up_status_down() -> None:
    require_corosync()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pyquorum.testing.cluster", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            check=False,
        )

    up = cli("up", "1", "--transport", "socket")
    assert up.returncode == 0, up.stderr
    tag = up.stdout.split()[1].rstrip(":")
    try:
        assert f"ip netns exec {tag}n1 corosync-quorumtool -s" in up.stdout
        assert not any(tag in item for item in sweep_stale())  # persistent: not stale
        status = cli("status", tag)
        assert status.returncode == 0 and "node 1: quorate" in status.stdout, status.stdout
        attached = Cluster.attach(tag)
        assert attached.transport == "socket" and attached[1].is_running
        attached[1].call(quorum_connect)
    finally:
        down = cli("down", tag)
    assert down.returncode == 0, down.stderr
    assert not [n for n in _netns.list_netns() if n.startswith(tag)]
    assert not (harness.RUN_ROOT / tag).exists()


# --------------------------------------------------------------------------- no corosync needed


def test_names_fit_interface_names_even_with_the_largest_pid() -> None:
    pid = 4194304  # PID_MAX_LIMIT on 64-bit
    limit = _netns.counter_limit(pid)
    tag = f"pq{pid}c{limit - 1}"
    for kind in "bh":
        name = _netns.make_name(tag, kind, 99)
        assert len(name) <= _netns.IFNAMSIZ
        assert _netns.parse_name(name) == (tag, pid)
    assert _netns.parse_tag(tag) == pid
    assert _netns.parse_name("pqsomething") is None and _netns.parse_name("eth0") is None


def test_tags_are_unique_within_a_process() -> None:
    tags = {Cluster(1).tag for _ in range(5)}
    assert len(tags) == 5 and all(t.startswith(f"pq{os.getpid()}c") for t in tags)


def test_missing_prerequisites_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(common, "find_binary", lambda name: None)
    with pytest.raises(ClusterUnavailable) as info:
        harness.check_available()
    text = str(info.value)
    assert "root" in text and "uid 1000" in text
    assert "corosync" in text and "apt-get install" in text and "iproute2" in text


def test_quorumtool_output_is_parsed() -> None:
    text = textwrap.dedent("""\
        Quorum information
        ------------------
        Date:             Wed Nov 25 06:23:18 2026
        Quorum provider:  corosync_votequorum
        Nodes:            2
        Node ID:          3
        Ring ID:          1.1a
        Quorate:          No

        Votequorum information
        ----------------------
        Expected votes:   5
        Highest expected: 5
        Total votes:      2
        Quorum:           3 Activity blocked
        Flags:            WaitForAll

        Membership information
        ----------------------
            Nodeid      Votes Name
                 1          1 node1
                 3          1 node3 (local)
        """)
    status = parse_quorumtool(text)
    assert status.nodeid == 3 and not status.quorate
    assert status.members == {1, 3} and status.votes == {1: 1, 3: 1}
    assert status.ring_id == (1, 0x1A)
    assert (status.expected_votes, status.total_votes, status.quorum) == (5, 2, 3)
    assert status.flags == {"WaitForAll"}
    with pytest.raises(ValueError):
        parse_quorumtool("Cannot initialize QUORUM service")


def test_wait_until_returns_the_value_and_tries_at_least_once() -> None:
    calls = iter([0, None, "done"])
    assert wait_until(lambda: next(calls), 5, "a value", interval=0.001) == "done"
    assert wait_until(lambda: 7, 0, "at once") == 7
    with pytest.raises(WaitTimeout, match=r"(?s)after 0\.05 s waiting for never.*last seen: 0"):
        wait_until(lambda: 0, 0.05, "never")
