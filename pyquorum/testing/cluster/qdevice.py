"""A real quorum device for a harness cluster: corosync-qnetd and corosync-qdevice.

Layout: corosync-qnetd runs in a namespace of its own (``pq<pid>c<n>q``, on
the cluster's switch as 198.18.0.254, veth ``pq<pid>c<n>h0``), the way an
arbitrator sits on a third machine; corosync-qdevice runs in each node's
namespace, where it reaches that node's corosync (votequorum, cmap) over
the namespace's abstract sockets and qnetd over TCP (port 5403).

Nothing touches /etc: the TLS certificates are made by Debian's
``corosync-qnetd-certutil`` and ``corosync-qdevice-net-certutil``, which
only know ``/etc/corosync``, so they run in a private mount namespace
whose /etc/corosync is a directory of the cluster's work dir.  The daemons
are then pointed at those databases, and at lock and IPC socket files in
the work dir, with their ``-S`` settings (corosync-qnetd(8),
corosync-qdevice(8)).

A partition keeps qnetd on the main bridge, i.e. with the first group of
:meth:`Cluster.partition <pyquorum.testing.cluster.Cluster.partition>`.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from pyquorum.testing.cluster import procs
from pyquorum.testing.cluster.common import (
    ADDRESS_PREFIX,
    STOP_TIMEOUT,
    ClusterError,
    CommandFailed,
    binary,
    command_env,
)
from pyquorum.testing.cluster.network import Host, make_name, netns_context
from pyquorum.testing.cluster.wait import log_tail, wait_until

__all__ = [
    "QDEVICE_BINARIES",
    "QNETD_ADDRESS",
    "QNETD_PORT",
    "Daemon",
    "Qdevice",
    "Qnetd",
    "make_certificates",
]

QNETD_ADDRESS = f"{ADDRESS_PREFIX}254"
QNETD_PORT = 5403
#: What a cluster with a quorum device needs besides corosync (binary -> Debian package).
QDEVICE_BINARIES = {
    "corosync-qnetd": "corosync-qnetd",
    "corosync-qnetd-certutil": "corosync-qnetd",
    "corosync-qnetd-tool": "corosync-qnetd",
    "corosync-qdevice": "corosync-qdevice",
    "corosync-qdevice-net-certutil": "corosync-qdevice",
    "corosync-qdevice-tool": "corosync-qdevice",
    "certutil": "libnss3-tools",
}

# The whole certificate dance of corosync-qdevice(8) "MODEL NET TLS
# CONFIGURATION", run once with /etc/corosync replaced by "$0": the qnetd
# database and CA, one qdevice database trusting that CA, the cluster's
# certificate request signed by qnetd and imported back (with its key).
_CERT_SCRIPT = """
set -e
mount --bind "$0" /etc/corosync
corosync-qnetd-certutil -i
corosync-qdevice-net-certutil -i -c /etc/corosync/qnetd/nssdb/qnetd-cacert.crt
corosync-qdevice-net-certutil -r -n "$1"
corosync-qnetd-certutil -s -c /etc/corosync/qdevice/net/nssdb/qdevice-net-node.crq -n "$1"
corosync-qdevice-net-certutil -M -c "/etc/corosync/qnetd/nssdb/cluster-$1.crt"
"""


def make_certificates(etc: Path, cluster_name: str, timeout: float = 60.0) -> tuple[Path, Path]:
    """Make the qnetd and qdevice NSS databases under ``etc`` (never /etc).

    Returns (qnetd database, qdevice database).  Raises :class:`CommandFailed`
    with the tools' output if any step fails.
    """
    etc.mkdir(parents=True, exist_ok=True)
    argv = [
        binary("unshare"),
        "--mount",
        "--propagation",
        "private",
        binary("sh"),
        "-c",
        _CERT_SCRIPT,
        str(etc),
        cluster_name,
    ]
    proc = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, env=command_env(), check=False
    )
    if proc.returncode != 0:
        raise CommandFailed(proc.returncode, argv, proc.stdout, proc.stderr)
    return etc / "qnetd" / "nssdb", etc / "qdevice" / "net" / "nssdb"


class Daemon:
    """One foreground daemon in a network namespace, its output in a log file.

    The harness's corosyncs have their own class (:class:`Node`); this is
    the plain case: start, stop with a deadline (SIGTERM, then SIGKILL),
    kill, and a parent-death signal when ``die_with_parent``.
    """

    def __init__(self, name: str, netns: str, log_path: Path) -> None:
        self.name = name
        self.netns = netns
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self.pids: list[int] = []

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.poll()

    def start(self, argv: Sequence[str], *, die_with_parent: bool) -> None:
        if self.is_running:
            raise ClusterError(f"{self.name} in {self.netns} is already running")
        full = [binary("ip"), "netns", "exec", self.netns, *argv]
        if die_with_parent:
            full = [binary("setpriv"), "--pdeathsig", "KILL", "--", *full]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"--- {time.strftime('%H:%M:%S')} starting {self.name}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                full,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
                env=command_env(),
            )
        self.pids.append(self._proc.pid)  # ip netns exec execs: this pid is the daemon's

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, and SIGKILL if it is still there after ``timeout``."""
        self._end(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """SIGKILL and reap."""
        self._end(signal.SIGKILL, 5.0)

    def _end(self, sig: int, timeout: float) -> None:
        proc = self._proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            try:
                proc.wait(5.0)
            except subprocess.TimeoutExpired as exc:
                raise ClusterError(f"{self.name} (pid {proc.pid}) survived SIGKILL") from exc

    def check_alive(self, doing: str) -> None:
        if not self.is_running:
            raise ClusterError(
                f"{self.name} in {self.netns} exited (status {self.returncode}) before "
                f"{doing}\n--- tail of {self.log_path} ---\n{log_tail(self.log_path)}"
            )

    def leftovers(self) -> list[str]:
        return [f"{self.name} pid {p}" for p in self.pids if procs.pid_alive(p)]


class Qnetd:
    """corosync-qnetd on its own host of the cluster's switch."""

    def __init__(self, tag: str, workdir: Path, *, tls: bool) -> None:
        self.tag = tag
        self.tls = tls
        self.netns = make_name(tag, "q")
        self.veth = make_name(tag, "h", 0)
        self.address = QNETD_ADDRESS
        self.dir = workdir / "qnetd"
        self.etc = workdir / "etc-corosync"
        self.nss_db = self.etc / "qnetd" / "nssdb"
        self.socket_path = self.dir / "qnetd.sock"
        self.daemon = Daemon("corosync-qnetd", self.netns, self.dir / "qnetd.log")

    @property
    def host(self) -> Host:
        return Host(self.netns, self.veth, self.address)

    @property
    def is_running(self) -> bool:
        return self.daemon.is_running

    def start(self, *, die_with_parent: bool, timeout: float) -> None:
        """Start qnetd and wait until it accepts TCP connections (fails fast if it exits)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        settings = [
            f"lock_file={self.dir / 'qnetd.pid'}",
            f"local_socket_file={self.socket_path}",
        ]
        if self.tls:
            settings.append(f"nss_db_dir={self.nss_db}")
        argv = [
            binary("corosync-qnetd"),
            "-f",
            "-4",
            "-l",
            self.address,
            "-p",
            str(QNETD_PORT),
            "-s",
            "req" if self.tls else "off",  # "req": TLS required (the man page spells it out)
            "-S",
            ",".join(settings),
        ]
        self.daemon.start(argv, die_with_parent=die_with_parent)

        def listening() -> bool:
            self.daemon.check_alive("listening")
            with netns_context(self.netns):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            with sock:
                sock.settimeout(1.0)
                try:
                    sock.connect((self.address, QNETD_PORT))
                except OSError:
                    return False
            return True

        wait_until(listening, timeout, "corosync-qnetd to listen", logs=[self.daemon.log_path])

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        self.daemon.stop(timeout)

    def kill(self) -> None:
        self.daemon.kill()

    def tool(self, *args: str, timeout: float = 10.0) -> str:
        """``corosync-qnetd-tool ARGS`` against this qnetd; its stdout."""
        argv = [binary("corosync-qnetd-tool"), "-p", str(self.socket_path), *args]
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=command_env(), check=False
        )
        if proc.returncode != 0:
            raise CommandFailed(proc.returncode, argv, proc.stdout, proc.stderr)
        return proc.stdout


class Qdevice:
    """corosync-qdevice of one node, in that node's namespace."""

    def __init__(self, nodeid: int, netns: str, node_dir: Path, qdevice_db: Path | None) -> None:
        self.nodeid = nodeid
        self.dir = node_dir / "qdevice"
        self.socket_path = self.dir / "qdevice.sock"
        self.source_db = qdevice_db
        self.nss_db = self.dir / "nssdb"
        self.daemon = Daemon(f"corosync-qdevice of node {nodeid}", netns, self.dir / "qdevice.log")

    @property
    def is_running(self) -> bool:
        return self.daemon.is_running

    def start(self, *, die_with_parent: bool) -> None:
        """Start corosync-qdevice (its node's corosync must be ready)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        settings = [
            f"lock_file={self.dir / 'qdevice.pid'}",
            f"local_socket_file={self.socket_path}",
        ]
        if self.source_db is not None:
            # A copy per node, as if each had imported the cluster certificate itself.
            if not self.nss_db.exists():
                shutil.copytree(self.source_db, self.nss_db)
            settings.append(f"net_nss_db_dir={self.nss_db}")
        argv = [binary("corosync-qdevice"), "-f", "-d", "-S", ",".join(settings)]
        self.daemon.start(argv, die_with_parent=die_with_parent)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        self.daemon.stop(timeout)

    def kill(self) -> None:
        self.daemon.kill()

    def tool(self, *args: str, timeout: float = 10.0) -> str:
        """``corosync-qdevice-tool ARGS`` against this daemon; its stdout."""
        argv = [binary("corosync-qdevice-tool"), "-p", str(self.socket_path), *args]
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=command_env(), check=False
        )
        if proc.returncode != 0:
            raise CommandFailed(proc.returncode, argv, proc.stdout, proc.stderr)
        return proc.stdout

