"""One corosync daemon in its own network namespace: :class:`Node`.

Each node's corosync runs ``-f`` under ``ip netns exec`` in a private mount
namespace whose /run is the node's own directory (corosync's pid lock
``/run/corosync.pid`` is a fixed path).  ``@quorum`` and the other abstract
sockets are per network namespace, which is what lets N daemons coexist on
one machine and what :meth:`Node.netns_context` uses to point an
in-process client at one node.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from pyquorum.testing.cluster import config, registry
from pyquorum.testing.cluster import procs as _procs
from pyquorum.testing.cluster.common import (
    ADDRESS_PREFIX,
    DEFAULT_TIMEOUT,
    STOP_TIMEOUT,
    ClusterError,
    CommandFailed,
    binary,
    command_env,
)
from pyquorum.testing.cluster.network import Host, find_binary, make_name, netns_context
from pyquorum.testing.cluster.status import QuorumStatus, parse_cmap_members, parse_quorumtool
from pyquorum.testing.cluster.wait import log_tail, wait_until

if TYPE_CHECKING:
    from pyquorum.testing.cluster.cluster import Cluster
    from pyquorum.testing.cluster.qdevice import Qdevice

__all__ = ["Node"]

P = ParamSpec("P")
T = TypeVar("T")

QUORUM_ADDRESS = b"\0quorum".ljust(108, b"\0")
FORCE_FILESYSTEM_SOCKETS = "/etc/libqb/force-filesystem-sockets"
FILESYSTEM_QUORUM_SOCKET = "/tmp/quorum"  # Debian's libqb SOCKETDIR is /tmp
READY_LINE = b"ready to provide service"

class Node:
    """One corosync daemon in its own network namespace.

    ``pid`` is the most recent corosync process of this node; it is kept
    after that process exits so that tests can still find its /dev/shm
    files.  Not thread-safe: drive a node from one thread at a time
    (:meth:`netns_context` itself is per thread and safe anywhere).
    """

    def __init__(self, cluster: Cluster, nodeid: int) -> None:
        self.cluster = cluster
        self.nodeid = nodeid
        self.name = f"node{nodeid}"
        self.netns = make_name(cluster.tag, "n", nodeid)
        self.veth = make_name(cluster.tag, "h", nodeid)
        self.address = f"{ADDRESS_PREFIX}{nodeid}"
        self.dir = cluster.workdir / self.name
        self.config_path = self.dir / "corosync.conf"
        self.log_path = self.dir / "corosync.log"
        self.stderr_path = self.dir / "stderr.log"
        self.state_dir = self.dir / "state"
        self.run_dir = self.dir / "run"
        self._proc: subprocess.Popen[bytes] | None = None
        self._pid: int | None = None
        self._pids: list[int] = []  # every corosync of this node whose debris may remain
        self._log_offset = 0
        self._ready_pid: int | None = None
        self._paused = False
        self.qdevice: Qdevice | None = None  # set by a cluster with a quorum device

    @property
    def entry(self) -> config.NodeEntry:
        """This node as its cluster's nodelist names it."""
        return config.NodeEntry(self.nodeid, self.name, self.address)

    @property
    def host(self) -> Host:
        """This node as a machine on the cluster's switch."""
        return Host(self.netns, self.veth, self.address)

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return f"<Node {self.nodeid} of {self.cluster.tag} {self.netns} pid={self._pid} {state}>"

    # --- process state

    @property
    def pid(self) -> int:
        """Pid of the latest corosync of this node, kept after it exits (so that
        its /dev/shm files can still be found).  ClusterError before any start."""
        if self._pid is None:
            raise ClusterError(f"node {self.nodeid} of {self.cluster.tag} was never started")
        return self._pid

    @property
    def is_running(self) -> bool:
        """True while this node's corosync exists (a paused one counts as running)."""
        if self._proc is not None:
            return self._proc.poll() is None
        return self._pid is not None and _procs.pid_is_corosync(self._pid)

    @property
    def is_paused(self) -> bool:
        return self._paused and self.is_running

    @property
    def returncode(self) -> int | None:
        """Exit status of the latest corosync (negative: killed by that signal)."""
        return None if self._proc is None else self._proc.poll()

    # --- lifecycle

    def start(self, *, wait: bool = True, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Start corosync (again); with ``wait``, return once it is ready.

        The config file is written when the cluster starts and left alone
        afterwards: edit ``config_path`` and restart the node to change it.
        """
        self.cluster._require_started()
        if self.is_running:
            raise ClusterError(f"{self} is already running")
        self._remove_debris()
        if not self.config_path.exists():
            self.write_config()
        try:
            self._log_offset = self.log_path.stat().st_size
        except FileNotFoundError:
            self._log_offset = 0
        script = 'mount --bind "$0" /run && exec "$1" -f -c "$2"'
        argv = [
            binary("ip"),
            "netns",
            "exec",
            self.netns,
            binary("unshare"),
            "--mount",
            "--propagation",
            "private",
            binary("sh"),
            "-c",
            script,
            str(self.run_dir),
            binary("corosync"),
            str(self.config_path),
        ]
        if self.cluster._die_with_parent():
            # If this process dies without tearing down (SIGKILL), so does corosync;
            # sweep_stale() then only has namespaces and files to remove.
            argv = [binary("setpriv"), "--pdeathsig", "KILL", "--", *argv]
        with self.stderr_path.open("ab") as err:
            err.write(f"--- {time.strftime('%H:%M:%S')} starting corosync\n".encode())
            err.flush()
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                start_new_session=True,  # a terminal's ^C reaches us, not the daemons
                env=command_env(),
            )
        # ip netns exec, unshare and sh all exec, so this pid becomes corosync's.
        self._pid = self._proc.pid
        self._pids.append(self._pid)
        self.cluster._all_pids.add(self._pid)
        self._ready_pid = None
        self._paused = False
        registry.RUN_PIDS.add(self._pid)
        self.cluster._save_state()
        if wait:
            self.wait_ready(timeout)

    def write_config(self) -> None:
        """(Re)write this node's corosync.conf from the cluster's settings."""
        for d in (self.dir, self.state_dir, self.run_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.cluster._config_for(self))

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM corosync and wait for it to exit (SIGKILL after ``timeout``).

        A clean exit lets corosync leave the membership at once and remove
        all its /dev/shm files, even those of clients still connected (their
        mappings keep working until they close).
        """
        if not self.is_running:
            self._paused = False
            return
        self._signal(signal.SIGTERM)
        if self._paused:
            self._signal(signal.SIGCONT)  # a stopped process never acts on SIGTERM
        self._paused = False
        if not self._wait_exit(timeout):
            self._signal(signal.SIGKILL)
            self._wait_exit(5.0)
            self._remove_debris()

    def crash(self) -> None:
        """SIGKILL corosync, wait for it, and remove its /dev/shm debris.

        Removes the flight recorder files and every ``qb-<pid>-*``
        connection directory.  A test that checks a *client's* own cleanup
        after a dead server should ``os.kill(node.pid, SIGKILL)`` instead.
        """
        if self.is_running:
            self._signal(signal.SIGKILL)
            if not self._wait_exit(10.0):
                raise ClusterError(f"{self}: corosync survived SIGKILL for 10 s")
        self._paused = False
        self._remove_debris()

    def restart(self, *, wait: bool = True, timeout: float = DEFAULT_TIMEOUT) -> None:
        """:meth:`stop` (if running), then :meth:`start`."""
        self.stop()
        self.start(wait=wait, timeout=timeout)

    def pause(self) -> None:
        """SIGSTOP corosync (it keeps its sockets but answers nothing) and wait until stopped."""
        if not self.is_running:
            raise ClusterError(f"cannot pause {self}: not running")
        self._signal(signal.SIGSTOP)
        self._paused = True
        pid = self.pid
        wait_until(
            lambda: _procs.pid_state(pid) in ("T", "t", None),
            5.0,
            f"{self} to stop (SIGSTOP)",
        )

    def resume(self) -> None:
        """SIGCONT a paused corosync."""
        if self.is_running:
            self._signal(signal.SIGCONT)
        self._paused = False

    def _signal(self, sig: int) -> None:
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, sig)

    def _wait_exit(self, timeout: float) -> bool:
        """Wait until corosync is gone (reaped if it is our child); False on timeout."""
        if self._proc is not None:
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        deadline = time.monotonic() + timeout
        while self.is_running:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def _remove_debris(self) -> list[str]:
        """Remove /dev/shm files of this node's dead corosyncs; forget those pids."""
        removed = _procs.remove_shm_debris(self._pids)
        self._pids = [pid for pid in self._pids if _procs.pid_alive(pid)]
        return removed

    # --- readiness

    def wait_ready(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until corosync logged "ready to provide service" since its latest
        start and ``@quorum`` accepts connections; fail at once if it exits."""

        def ready() -> bool:
            self._check_alive("becoming ready")
            return self._ready_logged() and self._accepting()

        wait_until(
            ready,
            timeout,
            f"corosync of node {self.nodeid} ({self.netns}) to be ready",
            logs=[self.log_path, self.stderr_path],
        )

    def _check_alive(self, doing: str) -> None:
        if not self.is_running:
            raise ClusterError(
                f"corosync of node {self.nodeid} exited (status {self.returncode}) "
                f"before {doing}\n{self._log_tails()}"
            )

    def _ready_logged(self) -> bool:
        if self._ready_pid is not None and self._ready_pid == self._pid:
            return True
        try:
            with self.log_path.open("rb") as f:
                f.seek(self._log_offset)
                found = READY_LINE in f.read()
        except FileNotFoundError:
            return False
        if found:
            self._ready_pid = self._pid
        return found

    def _accepting(self) -> bool:
        try:
            with self.netns_context():
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            with sock:
                sock.settimeout(2.0)
                # A corosync started while libqb's force-filesystem-sockets
                # flag exists listens on a path in libqb's SOCKETDIR instead.
                forced = os.path.exists(FORCE_FILESYSTEM_SOCKETS)
                sock.connect(FILESYSTEM_QUORUM_SOCKET if forced else QUORUM_ADDRESS)
        except OSError:
            return False
        return True

    # --- commands inside the namespace

    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = False,
        timeout: float | None = 30.0,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside this node's network namespace (text in and out).

        ``check=True`` raises :class:`CommandFailed`, whose message includes
        stderr.  A bare command name is looked up in PATH and the sbin
        directories first, as corosync's tools live in /usr/sbin.
        """
        return self._run([], argv, check=check, timeout=timeout, input=input, env=env)

    def run_as(
        self,
        uid: int,
        gid: int,
        argv: Sequence[str],
        *,
        check: bool = False,
        timeout: float | None = 30.0,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Like :meth:`run`, as ``uid``:``gid`` with no supplementary groups (via setpriv)."""
        prefix = [
            binary("setpriv"),
            f"--reuid={uid}",
            f"--regid={gid}",
            "--clear-groups",
            "--",
        ]
        return self._run(prefix, argv, check=check, timeout=timeout, input=input, env=env)

    def _run(
        self,
        prefix: list[str],
        argv: Sequence[str],
        *,
        check: bool,
        timeout: float | None,
        input: str | None,
        env: Mapping[str, str] | None,
    ) -> subprocess.CompletedProcess[str]:
        if not argv:
            raise ValueError("empty argv")
        args = list(argv)
        if "/" not in args[0]:
            args[0] = find_binary(args[0]) or args[0]
        full = [binary("ip"), "netns", "exec", self.netns, *prefix, *args]
        proc = subprocess.run(
            full,
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout,
            env=dict(env) if env is not None else command_env(),
            check=False,
        )
        if check and proc.returncode != 0:
            raise CommandFailed(proc.returncode, args, proc.stdout, proc.stderr)
        return proc

    @contextlib.contextmanager
    def netns_context(self) -> Iterator[Node]:
        """Move the current thread into this node's network namespace for the block.

        Sockets created inside stay in this namespace afterwards, so a
        client connected inside keeps talking to this node.  Only the
        calling thread moves; other threads are unaffected, but threads and
        processes started inside inherit the namespace.
        """
        with netns_context(self.netns):
            yield self

    def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` with the current thread in this node's namespace."""
        with self.netns_context():
            return fn(*args, **kwargs)

    # --- quorum

    def quorum_status(self, timeout: float = 10.0) -> QuorumStatus:
        """This node's view of quorum and membership (see :class:`QuorumStatus`).

        Raises :class:`CommandFailed` while corosync is not answering, and
        ``subprocess.TimeoutExpired`` after ``timeout`` (a paused corosync
        accepts the connection but never answers).
        """
        if not self.cluster.quorum:
            return self._free_status(timeout)
        proc = self.run([binary("corosync-quorumtool"), "-s"], timeout=timeout)
        if proc.returncode not in (0, 2):  # 2 = "not quorate", still a full report
            raise CommandFailed(
                proc.returncode, ["corosync-quorumtool", "-s"], proc.stdout, proc.stderr
            )
        return parse_quorumtool(proc.stdout)

    def _free_status(self, timeout: float) -> QuorumStatus:
        proc = self.run([binary("corosync-cmapctl"), "-b", "runtime.members"], timeout=timeout)
        if proc.returncode != 0:
            raise CommandFailed(
                proc.returncode,
                ["corosync-cmapctl", "-b", "runtime.members"],
                proc.stdout,
                proc.stderr,
            )
        return QuorumStatus(self.nodeid, True, parse_cmap_members(proc.stdout), raw=proc.stdout)

    def start_qdevice(self) -> None:
        """Start this node's corosync-qdevice (the cluster must have a quorum device).

        :meth:`Cluster.start` does this for the nodes it starts; a node started
        or restarted later needs it called again once its corosync is ready.
        """
        if self.qdevice is None:
            raise ClusterError(f"{self.cluster.tag} has no quorum device")
        self.qdevice.start(die_with_parent=self.cluster._die_with_parent())

    def stop_qdevice(self, timeout: float = STOP_TIMEOUT) -> None:
        """Stop this node's corosync-qdevice (SIGTERM, SIGKILL after ``timeout``)."""
        if self.qdevice is not None:
            self.qdevice.stop(timeout)

    def set_votes(self, votes: int, nodeid: int | None = None) -> None:
        """``corosync-quorumtool -v votes [-n nodeid]`` (votequorum only)."""
        argv = [binary("corosync-quorumtool"), "-v", str(votes)]
        if nodeid is not None:
            argv += ["-n", str(nodeid)]
        self.run(argv, check=True, timeout=10)

    def set_expected_votes(self, votes: int) -> None:
        """``corosync-quorumtool -e votes`` (votequorum only)."""
        self.run([binary("corosync-quorumtool"), "-e", str(votes)], check=True, timeout=10)

    def wait_members(
        self, members: Iterable[int], timeout: float = DEFAULT_TIMEOUT
    ) -> QuorumStatus:
        """Wait until this node reports exactly ``members``; returns that status."""
        return self.cluster.wait_members(self.nodeid, members, timeout)

    def wait_quorate(self, quorate: bool = True, timeout: float = DEFAULT_TIMEOUT) -> QuorumStatus:
        """Wait until this node reports ``quorate``; returns that status."""
        return self.cluster.wait_quorate(self.nodeid, quorate, timeout)

    # --- logs

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of this node's corosync log."""
        return log_tail(self.log_path, lines)

    def _log_tails(self) -> str:
        return (
            f"--- tail of {self.log_path} ---\n{log_tail(self.log_path)}\n"
            f"--- tail of {self.stderr_path} ---\n{log_tail(self.stderr_path, 5)}"
        )
