"""Real corosync clusters, one network namespace per node, for live tests.

Every live test of pyquorum runs against these, and users get the same
harness for their own tests.  It uses the standard library only and imports
nothing else from pyquorum, so a broken client can never break the harness
that is meant to catch it.

Layout of one cluster, tagged ``pq<pid>c<n>`` (the creator's pid and a
counter; see :mod:`pyquorum.testing._netns`)::

    netns pq<pid>c<n>s         the "switch": bridge pq<pid>c<n>b0 and the
                               switch ends pq<pid>c<n>h<id> of the veth pairs
    netns pq<pid>c<n>n<id>     one per node: lo and eth0 = 198.18.0.<id>/15;
                               corosync -f runs there in a private mount
                               namespace whose /run is the node's own directory

Why it is built like this:

- Nothing is created in the caller's network namespace.  Host firewalls
  (br_netfilter with docker's FORWARD policy, for one) never see the
  cluster's frames, all traffic stays in namespaces the harness owns, and
  deleting the namespaces removes every interface.
- corosync's pid lock ``/run/corosync.pid`` is a fixed path, so each node
  gets its own /run by a bind mount in a private mount namespace.
- ``@quorum`` and the other abstract sockets are per network namespace,
  which is what lets N daemons coexist on one machine and what
  :meth:`Node.netns_context` uses to point an in-process client at one node.
- Addresses come from 198.18.0.0/15 (RFC 2544, benchmarking), which no real
  network routes.
- A partition moves nodes' switch ends onto other bridges: links stay up on
  both sides, packets simply stop arriving, as with a cut cable further
  away.  No nftables or tc needed.
- Names carry the creator's pid, so :func:`sweep_stale` can remove what a
  killed run left behind without touching a live run's clusters.

Timing (2-core box, token 1000 ms, also with both cores saturated): a node
is ready 0.4 s after exec; a 3-node cluster is formed and quorate 1.5-1.9 s
after start(); a SIGKILLed, SIGSTOPped or partitioned-off node is dropped
after ~2.2 s; a restarted node is back in the membership after ~1.7 s and a
healed partition after ~0.2 s; a clean SIGTERM stop takes ~1 s.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Literal, ParamSpec, TypeVar

from pyquorum.testing import _netns, _procs
from pyquorum.testing._netns import IpError, find_binary, make_name
from pyquorum.testing._status import QuorumStatus, parse_cmap_members, parse_quorumtool
from pyquorum.testing._wait import WaitTimeout, log_tail, wait_until

__all__ = [
    "DEFAULT_TIMEOUT",
    "DEFAULT_TOKEN_MS",
    "RUN_ROOT",
    "WORK_ROOT",
    "Cluster",
    "ClusterError",
    "ClusterUnavailable",
    "CommandFailed",
    "Node",
    "QuorumStatus",
    "Transport",
    "WaitTimeout",
    "check_available",
    "close_all",
    "leftovers",
    "parse_quorumtool",
    "sweep_stale",
    "wait_until",
]

P = ParamSpec("P")
T = TypeVar("T")

Transport = Literal["shm", "socket"]

#: totem token timeout.  1000 ms keeps membership changes around 2 s while
#: staying clear of false token losses on a loaded 2-core box (corosync
#: runs SCHED_RR as root, so it is rarely starved).
DEFAULT_TOKEN_MS = 1000
#: Default for every wait: generous, since a wait costs only what it needs.
DEFAULT_TIMEOUT = 30.0
#: How long a SIGTERMed corosync may take before it is SIGKILLed.
STOP_TIMEOUT = 15.0
#: State file of every cluster: ``RUN_ROOT/<tag>/state.json``.
RUN_ROOT = Path("/run/pyquorum-cluster")
#: Default work directories (configs, logs, corosync state): ``WORK_ROOT/<tag>``.
#: Not under /run, which each node replaces with its own directory.
WORK_ROOT = Path("/tmp/pyquorum-cluster")

ADDRESS_PREFIX = "198.18.0."
PREFIX_LEN = 15
MAX_NODES = 99
QUORUM_ADDRESS = b"\0quorum".ljust(108, b"\0")
FORCE_FILESYSTEM_SOCKETS = "/etc/libqb/force-filesystem-sockets"
FILESYSTEM_QUORUM_SOCKET = "/tmp/quorum"  # Debian's libqb SOCKETDIR is /tmp
READY_LINE = b"ready to provide service"

_REQUIRED_BINARIES = {
    "ip": "iproute2",
    "corosync": "corosync",
    "corosync-quorumtool": "corosync",
    "corosync-cmapctl": "corosync",
    "unshare": "util-linux",
    "mount": "mount",
    "sh": "dash",
}


class ClusterUnavailable(RuntimeError):
    """This machine cannot run a live cluster (not root, or a tool is missing).

    Test suites turn this into a skip (or a failure where live tests are
    mandatory); it is never raised for a cluster that started and misbehaved.
    """


class ClusterError(RuntimeError):
    """A cluster or node operation failed; the message includes corosync's log tail."""


class CommandFailed(subprocess.CalledProcessError):
    """A command run inside a node's namespace failed; str() includes its stderr."""

    def __str__(self) -> str:
        err = self.stderr.strip() if isinstance(self.stderr, str) else ""
        out = self.stdout.strip() if isinstance(self.stdout, str) else ""
        return f"{super().__str__()}\nstderr: {err or '(empty)'}\nstdout: {out or '(empty)'}"


def check_available() -> None:
    """Raise :class:`ClusterUnavailable` naming everything this machine lacks."""
    missing = []
    if os.geteuid() != 0:
        missing.append(f"root (running as uid {os.geteuid()}; network namespaces need it)")
    if not os.path.exists("/proc/self/ns/net"):
        missing.append("a kernel with network namespaces")
    lacking = sorted({pkg for b, pkg in _REQUIRED_BINARIES.items() if find_binary(b) is None})
    if lacking:
        tools = sorted(b for b, pkg in _REQUIRED_BINARIES.items() if find_binary(b) is None)
        missing.append(f"{', '.join(tools)} (apt-get install {' '.join(lacking)})")
    if missing:
        raise ClusterUnavailable("a live corosync cluster needs " + "; ".join(missing))


def _binary(name: str) -> str:
    path = find_binary(name)
    if path is None:
        raise ClusterUnavailable(f"{name} is not installed")
    return path


# --------------------------------------------------------------------------- node


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
            _binary("ip"),
            "netns",
            "exec",
            self.netns,
            _binary("unshare"),
            "--mount",
            "--propagation",
            "private",
            _binary("sh"),
            "-c",
            script,
            str(self.run_dir),
            _binary("corosync"),
            str(self.config_path),
        ]
        if self.cluster._die_with_parent():
            # If this process dies without tearing down (SIGKILL), so does corosync;
            # sweep_stale() then only has namespaces and files to remove.
            argv = [_binary("setpriv"), "--pdeathsig", "KILL", "--", *argv]
        with self.stderr_path.open("ab") as err:
            err.write(f"--- {time.strftime('%H:%M:%S')} starting corosync\n".encode())
            err.flush()
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=err,
                stderr=err,
                start_new_session=True,  # a terminal's ^C reaches us, not the daemons
                env=_command_env(),
            )
        # ip netns exec, unshare and sh all exec, so this pid becomes corosync's.
        self._pid = self._proc.pid
        self._pids.append(self._pid)
        self.cluster._all_pids.add(self._pid)
        self._ready_pid = None
        self._paused = False
        _RUN_PIDS.add(self._pid)
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
            _binary("setpriv"),
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
        full = [_binary("ip"), "netns", "exec", self.netns, *prefix, *args]
        proc = subprocess.run(
            full,
            capture_output=True,
            text=True,
            input=input,
            timeout=timeout,
            env=dict(env) if env is not None else _command_env(),
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
        with _netns.netns_context(self.netns):
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
        proc = self.run([_binary("corosync-quorumtool"), "-s"], timeout=timeout)
        if proc.returncode not in (0, 2):  # 2 = "not quorate", still a full report
            raise CommandFailed(
                proc.returncode, ["corosync-quorumtool", "-s"], proc.stdout, proc.stderr
            )
        return parse_quorumtool(proc.stdout)

    def _free_status(self, timeout: float) -> QuorumStatus:
        proc = self.run([_binary("corosync-cmapctl"), "-b", "runtime.members"], timeout=timeout)
        if proc.returncode != 0:
            raise CommandFailed(
                proc.returncode,
                ["corosync-cmapctl", "-b", "runtime.members"],
                proc.stdout,
                proc.stderr,
            )
        return QuorumStatus(self.nodeid, True, parse_cmap_members(proc.stdout), raw=proc.stdout)

    def set_expected_votes(self, votes: int) -> None:
        """``corosync-quorumtool -e votes`` (votequorum only)."""
        self.run([_binary("corosync-quorumtool"), "-e", str(votes)], check=True, timeout=10)

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


# --------------------------------------------------------------------------- cluster


class Cluster:
    """N corosync nodes (ids 1..N) on one virtual switch, each in its own netns.

    Use as a context manager (or call :meth:`start` and :meth:`close`)::

        with Cluster(3) as cluster:
            cluster[3].crash()
            cluster.wait_members(1, {1, 2})

    ``quorum=False`` runs without a quorum provider (quorum type FREE).
    ``uidgid`` lists extra uids allowed to use corosync's IPC
    (``uidgid { uid: N }``); ``uidgid_gids`` the same for gids.
    ``quorum_options`` adds ``key: value`` lines to the ``quorum`` section
    (``two_node``, ``wait_for_all``...) and ``extra_config`` is appended
    verbatim.  With ``workdir`` the configs and logs go there and are left
    for inspection; by default they live under :data:`WORK_ROOT` and go away
    with the cluster.  ``persistent=True`` is for clusters that outlive
    their creator (the CLI): no parent-death signal, no teardown at exit,
    and :func:`sweep_stale` leaves them alone.
    """

    def __init__(
        self,
        nodes: int = 3,
        *,
        transport: Transport = "shm",
        expected_votes: int | None = None,
        quorum: bool = True,
        token_ms: int = DEFAULT_TOKEN_MS,
        wait_for_quorum: bool = True,
        workdir: str | os.PathLike[str] | None = None,
        uidgid: Iterable[int] = (),
        uidgid_gids: Iterable[int] = (),
        quorum_options: Mapping[str, str | int] | None = None,
        extra_config: str = "",
        debug: bool = False,
        start_timeout: float = DEFAULT_TIMEOUT,
        persistent: bool = False,
    ) -> None:
        self._configure(
            _new_tag(),
            nodes=nodes,
            transport=transport,
            expected_votes=expected_votes,
            quorum=quorum,
            token_ms=token_ms,
            wait_for_quorum=wait_for_quorum,
            workdir=None if workdir is None else os.fspath(workdir),
            uidgid=list(uidgid),
            uidgid_gids=list(uidgid_gids),
            quorum_options=dict(quorum_options or {}),
            extra_config=extra_config,
            debug=debug,
            start_timeout=start_timeout,
            persistent=persistent,
        )

    def _configure(
        self,
        tag: str,
        *,
        nodes: int,
        transport: Transport,
        expected_votes: int | None,
        quorum: bool,
        token_ms: int,
        wait_for_quorum: bool,
        workdir: str | None,
        uidgid: list[int],
        uidgid_gids: list[int],
        quorum_options: dict[str, str | int],
        extra_config: str,
        debug: bool,
        start_timeout: float,
        persistent: bool,
    ) -> None:
        if not 1 <= nodes <= MAX_NODES:
            raise ValueError(f"nodes must be 1..{MAX_NODES}, not {nodes}")
        if transport not in ("shm", "socket"):
            raise ValueError(f"transport must be 'shm' or 'socket', not {transport!r}")
        if expected_votes is not None and expected_votes < 1:
            raise ValueError(f"expected_votes must be >= 1, not {expected_votes}")
        if token_ms < 100:
            raise ValueError(f"token_ms must be >= 100, not {token_ms}")
        for key, value in quorum_options.items():
            _check_config_word(key)
            _check_config_word(str(value))
        self._params: dict[str, Any] = {
            "nodes": nodes,
            "transport": transport,
            "expected_votes": expected_votes,
            "quorum": quorum,
            "token_ms": token_ms,
            "wait_for_quorum": wait_for_quorum,
            "workdir": workdir,
            "uidgid": uidgid,
            "uidgid_gids": uidgid_gids,
            "quorum_options": quorum_options,
            "extra_config": extra_config,
            "debug": debug,
            "start_timeout": start_timeout,
            "persistent": persistent,
        }
        self.tag = tag
        self.transport: Transport = transport
        self.expected_votes = expected_votes
        self.quorum = quorum
        self.token_ms = token_ms
        self.wait_for_quorum = wait_for_quorum
        self.uidgid = tuple(uidgid)
        self.uidgid_gids = tuple(uidgid_gids)
        self.quorum_options = dict(quorum_options)
        self.extra_config = extra_config
        self.debug = debug
        self.start_timeout = start_timeout
        self.persistent = persistent
        self.switch_netns = make_name(tag, "s")
        self.bridge = make_name(tag, "b", 0)
        self.state_path = RUN_ROOT / tag / "state.json"
        self.workdir = Path(workdir).absolute() if workdir is not None else WORK_ROOT / tag
        if self.workdir.is_relative_to("/run"):
            raise ValueError(f"workdir {self.workdir} is under /run, which each node replaces")
        self._owns_workdir = workdir is None
        self.nodes: tuple[Node, ...] = tuple(Node(self, i) for i in range(1, nodes + 1))
        self._state: Literal["new", "started", "closed"] = "new"
        self._partition: tuple[frozenset[int], ...] | None = None
        self._bridges: list[str] = [self.bridge]
        self._all_pids: set[int] = set()  # every corosync this cluster ran
        self._created_by_thread_main = threading.current_thread() is threading.main_thread()

    def __repr__(self) -> str:
        return f"<Cluster {self.tag} {len(self.nodes)} nodes {self.transport} {self._state}>"

    # --- container protocol

    def __getitem__(self, nodeid: int) -> Node:
        if not 1 <= nodeid <= len(self.nodes):
            raise KeyError(f"no node {nodeid} in {self.tag} (ids 1..{len(self.nodes)})")
        return self.nodes[nodeid - 1]

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    @property
    def node_ids(self) -> frozenset[int]:
        return frozenset(n.nodeid for n in self.nodes)

    def running_nodes(self) -> list[Node]:
        return [n for n in self.nodes if n.is_running]

    @property
    def started(self) -> bool:
        return self._state == "started"

    # --- lifecycle

    def __enter__(self) -> Cluster:
        if self._state == "new":
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.close()
        except Exception as close_error:
            if exc is None:
                raise
            exc.add_note(f"and tearing down {self.tag} failed too: {close_error}")

    def start(self) -> Cluster:
        """Build the network, start every node, and wait until they are ready and,
        with ``wait_for_quorum``, agree on the full membership (and are quorate
        when the votes allow).  On any failure everything is torn down again."""
        if self._state != "new":
            raise ClusterError(f"{self!r} cannot be started again; make a new Cluster")
        check_available()
        self._state = "started"
        _register(self)
        deadline = time.monotonic() + self.start_timeout
        try:
            (RUN_ROOT / self.tag).mkdir(parents=True, exist_ok=True)
            self.workdir.mkdir(parents=True, exist_ok=True)
            self._save_state()
            self._create_network()
            for node in self.nodes:
                node.write_config()
            for node in self.nodes:
                node.start(wait=False)
            for node in self.nodes:
                node.wait_ready(max(0.0, deadline - time.monotonic()))
            if self.wait_for_quorum:
                self.wait_formed(timeout=max(0.0, deadline - time.monotonic()))
        except BaseException as exc:
            try:
                self.close(graceful=False)
            except Exception as close_error:
                exc.add_note(f"and tearing down {self.tag} failed too: {close_error}")
            raise
        return self

    def close(self, *, graceful: bool = True, timeout: float = STOP_TIMEOUT) -> None:
        """Tear everything down; safe to call twice and after a failed start.

        Stops every corosync (SIGTERM in parallel with ``graceful``, else
        SIGKILL), kills anything else left in the namespaces, removes the
        /dev/shm debris of every corosync this cluster ran, deletes the
        namespaces (and with them the bridges and veths) and the work
        directory.  Raises :class:`ClusterError` if something survived.

        Every step tolerates what is already gone, so a close interrupted
        (say by ^C) stays registered and is simply run again at exit.
        """
        if self._state == "closed":
            return
        self._stop_all(graceful, timeout)
        namespaces = [n.netns for n in self.nodes] + [self.switch_netns]
        existing = set(_netns.list_netns())
        stray = [pid for ns in namespaces if ns in existing for pid in _netns.netns_pids(ns)]
        _procs.kill_and_wait(stray)
        for node in self.nodes:
            node._remove_debris()
        doomed = [ns for ns in namespaces if ns in existing]
        if doomed:
            with contextlib.suppress(IpError):
                _netns.ip_batch([f"netns delete {ns}" for ns in doomed], force=True)
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        shutil.rmtree(RUN_ROOT / self.tag, ignore_errors=True)
        self._state = "closed"
        _unregister(self)
        left = _leftovers_of(self.tag, self._all_pids)
        if left:
            raise ClusterError(f"tearing down {self.tag} left: {', '.join(left)}")

    def _stop_all(self, graceful: bool, timeout: float) -> None:
        running = [n for n in self.nodes if n.is_running]
        for node in running:
            node._signal(signal.SIGTERM if graceful else signal.SIGKILL)
            node._signal(signal.SIGCONT)
            node._paused = False
        deadline = time.monotonic() + timeout
        for node in running:
            if not node._wait_exit(max(0.0, deadline - time.monotonic())):
                node._signal(signal.SIGKILL)
                node._wait_exit(5.0)

    def _require_started(self) -> None:
        if self._state != "started":
            raise ClusterError(f"{self!r} is not started")

    def _die_with_parent(self) -> bool:
        # PR_SET_PDEATHSIG fires when the *thread* that forked exits, so it is
        # only safe from the main thread, whose end is the process's end.
        return (
            not self.persistent
            and threading.current_thread() is threading.main_thread()
            and find_binary("setpriv") is not None
        )

    # --- network

    def _create_network(self) -> None:
        try:
            _netns.ip_batch(
                [f"netns add {ns}" for ns in (self.switch_netns, *(n.netns for n in self.nodes))]
            )
        except IpError as exc:
            raise ClusterUnavailable(f"cannot create network namespaces: {exc}") from exc
        try:
            for ns in (self.switch_netns, *(n.netns for n in self.nodes)):
                _disable_ipv6(ns)
            commands = [f"link add {self.bridge} type bridge", f"link set {self.bridge} up"]
            for node in self.nodes:
                commands += [
                    f"link add {node.veth} type veth peer name eth0 netns {node.netns}",
                    f"link set {node.veth} master {self.bridge} up",
                ]
            _netns.ip_batch(commands, netns=self.switch_netns)
            for node in self.nodes:
                _netns.ip_batch(
                    [
                        "link set lo up",
                        f"addr add {node.address}/{PREFIX_LEN} dev eth0",
                        "link set eth0 up",
                    ],
                    netns=node.netns,
                )
        except (IpError, OSError) as exc:
            raise ClusterUnavailable(f"cannot build the cluster network: {exc}") from exc

    def partition(self, *groups: Iterable[int]) -> None:
        """Split the network: each group reaches only its own members.

        Nodes named in no group form one more group together.  For example
        ``partition([3])`` gives {1, 2} | {3}, ``partition([1], [2])`` gives
        {1} | {2} | {3}.  Calling it again re-partitions from scratch.
        """
        self._require_started()
        sets = [frozenset(g) for g in groups]
        named = frozenset().union(*sets) if sets else frozenset()
        if not sets or any(not s for s in sets):
            raise ValueError("partition needs one or more non-empty groups of node ids")
        if sum(len(s) for s in sets) != len(named):
            raise ValueError(f"partition groups overlap: {[sorted(s) for s in sets]}")
        if not named <= self.node_ids:
            raise ValueError(f"no such nodes: {sorted(named - self.node_ids)}")
        rest = self.node_ids - named
        layout = ([rest] if rest else []) + sets
        commands = []
        for index, group in enumerate(layout):
            bridge = make_name(self.tag, "b", index)
            if bridge not in self._bridges:
                commands += [f"link add {bridge} type bridge", f"link set {bridge} up"]
                self._bridges.append(bridge)
            commands += [f"link set {self[i].veth} master {bridge}" for i in sorted(group)]
        _netns.ip_batch(commands, netns=self.switch_netns)
        self._partition = tuple(layout)

    def heal(self) -> None:
        """Undo :meth:`partition`: every node back on one switch."""
        self._require_started()
        commands = [f"link set {n.veth} master {self.bridge}" for n in self.nodes]
        commands += [f"link delete {b}" for b in self._bridges if b != self.bridge]
        _netns.ip_batch(commands, netns=self.switch_netns)
        self._bridges = [self.bridge]
        self._partition = None

    @property
    def partitioned(self) -> tuple[frozenset[int], ...] | None:
        """The current partition's groups (the first is on the main bridge), or None."""
        return self._partition

    # --- waiting

    def wait_until(
        self,
        predicate: Callable[[], T | None],
        timeout: float = DEFAULT_TIMEOUT,
        what: str = "a condition",
        *,
        interval: float = 0.05,
    ) -> T:
        """:func:`wait_until` whose timeout message includes every node's log tail."""
        return wait_until(
            predicate,
            timeout,
            what,
            interval=interval,
            logs=[n.log_path for n in self.nodes],
            describe=self._describe,
            ignore=(CommandFailed, subprocess.TimeoutExpired),
        )

    def wait_members(
        self, nodeid: int, members: Iterable[int], timeout: float = DEFAULT_TIMEOUT
    ) -> QuorumStatus:
        """Wait until node ``nodeid`` reports exactly ``members``; returns that status."""
        node, want = self[nodeid], frozenset(members)
        slice_ = _Slicer(timeout)

        def check() -> QuorumStatus | None:
            node._check_alive(f"reporting members {sorted(want)}")
            status = node.quorum_status(slice_())
            return status if status.members == want else None

        return self.wait_until(check, timeout, f"node {nodeid} to report members {sorted(want)}")

    def wait_quorate(
        self, nodeid: int, quorate: bool = True, timeout: float = DEFAULT_TIMEOUT
    ) -> QuorumStatus:
        """Wait until node ``nodeid`` reports ``quorate``; returns that status."""
        node = self[nodeid]
        slice_ = _Slicer(timeout)

        def check() -> QuorumStatus | None:
            node._check_alive(f"becoming {'quorate' if quorate else 'inquorate'}")
            status = node.quorum_status(slice_())
            return status if status.quorate == quorate else None

        word = "quorate" if quorate else "inquorate"
        return self.wait_until(check, timeout, f"node {nodeid} to be {word}")

    def wait_formed(
        self,
        members: Iterable[int] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        quorate: bool | None = None,
    ) -> dict[int, QuorumStatus]:
        """Wait until every node of ``members`` (default: the running nodes) reports
        exactly ``members`` on the same ring, and ``quorate`` if given (by
        default: quorate when the votes of ``members`` reach quorum)."""
        want = (
            frozenset(members)
            if members is not None
            else frozenset(n.nodeid for n in self.running_nodes())
        )
        if quorate is None and self.quorum:
            quorate = self._would_be_quorate(len(want))
        slice_ = _Slicer(timeout)

        def check() -> dict[int, QuorumStatus] | None:
            statuses = {}
            for nodeid in sorted(want):
                self[nodeid]._check_alive("the membership formed")
                statuses[nodeid] = self[nodeid].quorum_status(slice_())
            rings = {s.ring_id for s in statuses.values()}
            if len(rings) != 1 or any(s.members != want for s in statuses.values()):
                return None
            if quorate is not None and any(s.quorate != quorate for s in statuses.values()):
                return None
            return statuses

        what = f"nodes {sorted(want)} to form one membership"
        if quorate is not None:
            what += " (quorate)" if quorate else " (inquorate)"
        return self.wait_until(check, timeout, what)

    def _would_be_quorate(self, votes: int) -> bool:
        expected = self.expected_votes if self.expected_votes is not None else len(self.nodes)
        expected = max(expected, votes)
        return votes >= expected // 2 + 1

    def _describe(self) -> str:
        lines = []
        for node in self.nodes:
            if not node.is_running:
                lines.append(f"node {node.nodeid}: not running (status {node.returncode})")
                continue
            if node.is_paused:
                lines.append(f"node {node.nodeid}: paused (SIGSTOP)")
                continue
            try:
                lines.append(node.quorum_status(2.0).summary())
            except Exception as exc:
                lines.append(f"node {node.nodeid}: no status ({type(exc).__name__}: {exc})")
        if self._partition:
            lines.append(f"partitioned: {[sorted(g) for g in self._partition]}")
        return "\n  " + "\n  ".join(lines)

    # --- config

    def _config_for(self, node: Node) -> str:
        """corosync.conf for ``node``: one item per line, as corosync's parser needs."""
        nodelist = "".join(
            f"    node {{\n        nodeid: {n.nodeid}\n        name: {n.name}\n"
            f"        ring0_addr: {n.address}\n    }}\n"
            for n in self.nodes
        )
        quorum = ""
        if self.quorum:
            items = {"provider": "corosync_votequorum"}
            if self.expected_votes is not None:
                items["expected_votes"] = str(self.expected_votes)
            items.update({k: str(v) for k, v in self.quorum_options.items()})
            quorum = "quorum {\n" + "".join(f"    {k}: {v}\n" for k, v in items.items()) + "}\n"
        uidgid = "".join(f"uidgid {{\n    uid: {u}\n}}\n" for u in self.uidgid)
        uidgid += "".join(f"uidgid {{\n    gid: {g}\n}}\n" for g in self.uidgid_gids)
        return (
            f"# written by pyquorum.testing.cluster for {self.tag} node {node.nodeid}\n"
            "totem {\n"
            "    version: 2\n"
            f"    cluster_name: {self.tag}\n"
            "    transport: knet\n"
            "    crypto_cipher: none\n"
            "    crypto_hash: none\n"
            f"    token: {self.token_ms}\n"
            # The token must not grow with the node count: tests time their waits on it.
            "    token_coefficient: 0\n"
            "}\n"
            f"nodelist {{\n{nodelist}}}\n"
            f"{quorum}"
            "logging {\n"
            "    to_logfile: yes\n"
            f"    logfile: {node.log_path}\n"
            "    to_syslog: no\n"
            "    to_stderr: no\n"
            "    timestamp: hires\n"
            f"    debug: {'on' if self.debug else 'off'}\n"
            "}\n"
            "system {\n"
            f"    state_dir: {node.state_dir}\n"
            f"    qb_ipc_type: {self.transport}\n"
            "}\n"
            f"{uidgid}"
            f"{self.extra_config}"
        )

    # --- state file (sweep_stale, the CLI)

    def _save_state(self) -> None:
        state = {
            "tag": self.tag,
            "owner_pid": os.getpid(),
            "persistent": self.persistent,
            "params": self._params,
            "switch_netns": self.switch_netns,
            "workdir": str(self.workdir),
            "nodes": [
                {
                    "nodeid": n.nodeid,
                    "netns": n.netns,
                    "address": n.address,
                    "config_path": str(n.config_path),
                    "log_path": str(n.log_path),
                    "pid": n._pid,
                    "pids": n._pids,
                }
                for n in self.nodes
            ],
        }
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.state_path)

    @classmethod
    def attach(cls, tag: str) -> Cluster:
        """A handle on a running cluster started elsewhere (e.g. by the CLI)."""
        state = _load_state(tag)
        if state is None:
            raise ClusterError(f"no cluster {tag!r} under {RUN_ROOT}")
        cluster = cls.__new__(cls)
        cluster._configure(tag, **state["params"])
        cluster._state = "started"
        for entry in state["nodes"]:
            node = cluster[int(entry["nodeid"])]
            node._pid = entry.get("pid")
            node._pids = [int(p) for p in entry.get("pids", [])]
            node._ready_pid = node._pid
        return cluster

    @staticmethod
    def list_persistent() -> list[str]:
        """Tags of the persistent clusters (those started by the CLI)."""
        tags = []
        for path in sorted(RUN_ROOT.glob("*/state.json")):
            state = _load_state(path.parent.name)
            if state is not None and state.get("persistent"):
                tags.append(path.parent.name)
        return tags


# --------------------------------------------------------------------------- helpers


class _Slicer:
    """Timeouts for the commands a wait runs, so that one hung command cannot
    carry the wait far past its own deadline."""

    def __init__(self, timeout: float, longest: float = 5.0) -> None:
        self._deadline = time.monotonic() + timeout
        self._longest = longest

    def __call__(self) -> float:
        return min(self._longest, max(0.5, self._deadline - time.monotonic()))


def _check_config_word(value: str) -> None:
    if not value or any(c in value for c in "{}\n:#") or value != value.strip():
        raise ValueError(f"{value!r} cannot go into corosync.conf as a key or value")


def _command_env() -> dict[str, str]:
    """The environment for corosync and its tools: ours, in the C locale, with sbin on PATH."""
    env = dict(os.environ)
    env["LC_ALL"] = "C"
    path = env.get("PATH", "")
    extra = [d for d in ("/usr/sbin", "/sbin") if d not in path.split(os.pathsep)]
    env["PATH"] = os.pathsep.join([p for p in [path, *extra] if p])
    return env


def _disable_ipv6(netns: str) -> None:
    """No IPv6 in the cluster: no link-local addresses, DAD or MLD chatter to wait on."""
    with _netns.netns_context(netns):
        for scope in ("all", "default"):
            with open(f"/proc/sys/net/ipv6/conf/{scope}/disable_ipv6", "w") as f:
                f.write("1")


def _load_state(tag: str) -> dict[str, Any] | None:
    try:
        data = json.loads((RUN_ROOT / tag / "state.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


_tag_counter = itertools.count()


def _new_tag() -> str:
    """A cluster tag not used by anything on this machine: pq<pid>c<counter>."""
    pid = os.getpid()
    limit = _netns.counter_limit(pid)
    in_use = {_netns.parse_name(n) for n in _netns.list_netns()}
    taken = {t for t, _ in filter(None, in_use)}
    for root in (RUN_ROOT, WORK_ROOT):
        with contextlib.suppress(OSError):
            taken |= set(os.listdir(root))
    for _ in range(limit):
        tag = f"pq{pid}c{next(_tag_counter) % limit}"
        if tag not in taken and tag not in _LIVE:
            return tag
    raise ClusterError(f"all {limit} cluster tags of pid {pid} are in use")


# --------------------------------------------------------------------------- teardown


_LIVE: dict[str, Cluster] = {}
_RUN_PIDS: set[int] = set()  # every corosync this process started
_handlers_installed = False


def _register(cluster: Cluster) -> None:
    if cluster.persistent:
        return
    _LIVE[cluster.tag] = cluster
    _install_signal_handlers()


def _unregister(cluster: Cluster) -> None:
    _LIVE.pop(cluster.tag, None)


def _teardown_all(reason: str) -> None:
    for cluster in list(_LIVE.values()):
        print(f"pyquorum.testing.cluster: tearing down {cluster.tag} ({reason})", file=sys.stderr)
        try:
            cluster.close(graceful=False)
        except Exception as exc:
            print(f"pyquorum.testing.cluster: {exc}", file=sys.stderr)


atexit.register(_teardown_all, "still open at exit")


def _on_fatal_signal(signum: int, frame: FrameType | None) -> None:
    """Tear down, then die of the same signal as if we had never caught it."""
    _teardown_all(f"signal {signal.Signals(signum).name}")
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_signal_handlers() -> None:
    """Catch SIGTERM and SIGHUP so the clusters go away, if nobody else handles them.

    Only replaces the default action, and only from the main thread (where
    Python runs signal handlers).  SIGINT already raises KeyboardInterrupt,
    which the context manager and atexit handle.
    """
    global _handlers_installed
    if _handlers_installed or threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) == signal.SIG_DFL:
            signal.signal(sig, _on_fatal_signal)
    _handlers_installed = True


def close_all() -> list[str]:
    """Close every cluster this process still has open (without waiting for a
    clean exit), remove what is left of any other cluster it made, and the
    /dev/shm files of every dead corosync it started.  For leak checks that
    clean up after reporting; returns what it did.
    """
    done = []
    for cluster in list(_LIVE.values()):
        try:
            cluster.close(graceful=False)
            done.append(f"closed {cluster.tag}")
        except ClusterError as exc:
            done.append(str(exc))
    for tag, owner in sorted(_existing_tags().items()):
        if owner == os.getpid():
            done += _remove_tag(tag, _load_state(tag))
    done += [f"file {p}" for p in _procs.remove_shm_debris(_RUN_PIDS)]
    return done


def leftovers(owner_pid: int | None = None) -> list[str]:
    """What the harness created and has not removed yet, for leak checks.

    Looks at every cluster made by ``owner_pid`` (default: this process):
    network namespaces, interfaces in this namespace, state directories,
    and, for this process only, corosync processes it started, their
    /dev/shm files and clusters still open.
    """
    owner = os.getpid() if owner_pid is None else owner_pid

    def ours(name: str) -> bool:
        parsed = _netns.parse_name(name)
        return parsed is not None and parsed[1] == owner

    found = [f"netns {n}" for n in _netns.list_netns() if ours(n)]
    found += [f"link {n}" for n in _netns.list_root_links() if ours(n)]
    for root in (RUN_ROOT, WORK_ROOT):
        with contextlib.suppress(OSError):
            found += [f"dir {root / d}" for d in os.listdir(root) if _netns.parse_tag(d) == owner]
    if owner == os.getpid():
        found += [f"open cluster {t}" for t in _LIVE]
        found += _process_leftovers(_RUN_PIDS)
    return found


def _leftovers_of(tag: str, pids: Iterable[int]) -> list[str]:
    """What is left of the cluster ``tag`` whose corosyncs were ``pids``."""

    def ours(name: str) -> bool:
        parsed = _netns.parse_name(name)
        return parsed is not None and parsed[0] == tag

    found = [f"netns {n}" for n in _netns.list_netns() if ours(n)]
    found += [f"link {n}" for n in _netns.list_root_links() if ours(n)]
    found += [f"dir {root / tag}" for root in (RUN_ROOT, WORK_ROOT) if (root / tag).exists()]
    return found + _process_leftovers(pids)


def _process_leftovers(pids: Iterable[int]) -> list[str]:
    pids = sorted(set(pids))
    found = [f"corosync pid {p}" for p in pids if _procs.pid_is_corosync(p)]
    return found + [
        f"file {p}" for p in _procs.shm_debris(p for p in pids if not _procs.pid_alive(p))
    ]


def sweep_stale() -> list[str]:
    """Remove what earlier runs left behind when they died without tearing down.

    A cluster is stale when the pid in its name is dead and it is not
    persistent.  Its processes are killed, its namespaces (with their
    interfaces), state directory and the /dev/shm files of its corosyncs
    removed.  Returns a description of what was removed; a no-op without
    root or ``ip``.
    """
    if os.geteuid() != 0 or find_binary("ip") is None:
        return []
    removed: list[str] = []
    for tag, owner in sorted(_existing_tags().items()):
        if _procs.pid_alive(owner) or tag in _LIVE:
            continue
        state = _load_state(tag)
        if state is not None and state.get("persistent"):
            continue
        removed += _remove_tag(tag, state)
    return removed


def _existing_tags() -> dict[str, int]:
    """Tag -> owner pid of every cluster with a namespace, interface or directory here."""
    tags: dict[str, int] = {}
    for name in [*_netns.list_netns(), *_netns.list_root_links()]:
        parsed = _netns.parse_name(name)
        if parsed:
            tags[parsed[0]] = parsed[1]
    for root in (RUN_ROOT, WORK_ROOT):
        with contextlib.suppress(OSError):
            for d in os.listdir(root):
                owner = _netns.parse_tag(d)
                if owner is not None:
                    tags[d] = owner
    return tags


def _remove_tag(tag: str, state: Mapping[str, Any] | None) -> list[str]:
    """Remove every object of the cluster ``tag`` (whose owner is gone)."""
    removed: list[str] = []
    namespaces = [n for n in _netns.list_netns() if (_netns.parse_name(n) or ("",))[0] == tag]
    pids = {int(p) for n in (state or {}).get("nodes", []) for p in n.get("pids", [])}
    in_ns = {pid for ns in namespaces for pid in _netns.netns_pids(ns)}
    _procs.kill_and_wait(in_ns)
    removed += [f"process {pid}" for pid in sorted(in_ns)]
    removed += [f"file {p}" for p in _procs.remove_shm_debris(pids | in_ns)]
    if namespaces:
        with contextlib.suppress(IpError):
            _netns.ip_batch([f"netns delete {ns}" for ns in namespaces], force=True)
        removed += [f"netns {ns}" for ns in namespaces]
    links = [n for n in _netns.list_root_links() if (_netns.parse_name(n) or ("",))[0] == tag]
    for link in links:
        with contextlib.suppress(IpError):
            _netns.ip("link", "delete", link)
        removed.append(f"link {link}")
    # A workdir given by the caller is theirs to keep; only the default one goes.
    for root in (RUN_ROOT, WORK_ROOT):
        if (root / tag).exists():
            shutil.rmtree(root / tag, ignore_errors=True)
            removed.append(f"dir {root / tag}")
    return removed


if __name__ == "__main__":
    from pyquorum.testing._cli import main

    sys.exit(main())
