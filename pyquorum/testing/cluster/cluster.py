"""N corosync nodes on one virtual switch: :class:`Cluster`, its waits and its state file.

Layout of one cluster, tagged ``pq<pid>c<n>`` (the creator's pid and a
counter; see :mod:`pyquorum.testing.cluster.network`)::

    netns pq<pid>c<n>s         the "switch": bridge pq<pid>c<n>b0 and the
                               switch ends pq<pid>c<n>h<id> of the veth pairs
    netns pq<pid>c<n>n<id>     one per node: lo and eth0 = 198.18.0.<id>/15;
                               corosync -f runs there in a private mount
                               namespace whose /run is the node's own directory

Addresses come from 198.18.0.0/15 (RFC 2544, benchmarking), which no real
network routes.  Names carry the creator's pid, so
:func:`~pyquorum.testing.cluster.registry.sweep_stale` can remove what a
killed run left behind without touching a live run's clusters.

Every wait polls against a deadline (:func:`~pyquorum.testing.cluster.wait.wait_until`)
and its timeout message carries each node's state and log tail.  A state
file under :data:`RUN_ROOT` lets :meth:`Cluster.attach` (and the CLI) find a
cluster started by another process.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

from pyquorum.testing.cluster import config, network, procs, registry
from pyquorum.testing.cluster.common import (
    DEFAULT_TIMEOUT,
    DEFAULT_TOKEN_MS,
    MAX_NODES,
    PREFIX_LEN,
    RUN_ROOT,
    STOP_TIMEOUT,
    WORK_ROOT,
    ClusterError,
    ClusterUnavailable,
    CommandFailed,
    check_available,
)
from pyquorum.testing.cluster.config import QdeviceConfig, VotequorumOptions
from pyquorum.testing.cluster.network import Host, IpError, find_binary
from pyquorum.testing.cluster.node import Node
from pyquorum.testing.cluster.qdevice import (
    QDEVICE_BINARIES,
    QNETD_ADDRESS,
    Qdevice,
    Qnetd,
    make_certificates,
)
from pyquorum.testing.cluster.status import QuorumStatus
from pyquorum.testing.cluster.wait import wait_until

__all__ = ["Cluster", "TransportName"]

T = TypeVar("T")

#: The same literal as :data:`pyquorum.ipc.wire.TransportName`, spelled here because the
#: harness imports nothing of the client.
TransportName = Literal["shm", "socket"]


class Cluster:
    """N corosync nodes (ids 1..N) on one virtual switch, each in its own netns.

    Use as a context manager (or call :meth:`start` and :meth:`close`)::

        with Cluster(3) as cluster:
            cluster[3].crash()
            cluster.wait_members(1, {1, 2})

    ``quorum=False`` runs without a quorum provider (quorum type FREE).
    ``uidgid`` lists extra uids allowed to use corosync's IPC
    (``uidgid { uid: N }``); ``uidgid_gids`` the same for gids.
    ``votequorum`` sets votequorum's options (:class:`VotequorumOptions`:
    two_node, wait_for_all, last_man_standing, auto_tie_breaker...) and
    ``quorum_options`` adds any other ``key: value`` lines to the ``quorum``
    section; ``extra_config`` is appended verbatim.  ``qdevice`` adds a real
    quorum device (:class:`QdeviceConfig`): corosync-qnetd on a host of its
    own and corosync-qdevice on every node (see
    :mod:`~pyquorum.testing.cluster.qdevice`).  With ``workdir`` the configs
    and logs go there and are left for inspection; by default they live
    under :data:`WORK_ROOT` and go away with the cluster.
    ``persistent=True`` is for clusters that outlive their creator (the
    CLI): no parent-death signal, no teardown at exit, and
    :func:`sweep_stale` leaves them alone.
    """

    def __init__(
        self,
        nodes: int = 3,
        *,
        transport: TransportName = "shm",
        expected_votes: int | None = None,
        quorum: bool = True,
        token_ms: int = DEFAULT_TOKEN_MS,
        wait_for_quorum: bool = True,
        workdir: str | os.PathLike[str] | None = None,
        uidgid: Iterable[int] = (),
        uidgid_gids: Iterable[int] = (),
        quorum_options: Mapping[str, str | int] | None = None,
        votequorum: VotequorumOptions | None = None,
        qdevice: QdeviceConfig | None = None,
        extra_config: str = "",
        debug: bool = False,
        start_timeout: float = DEFAULT_TIMEOUT,
        persistent: bool = False,
    ) -> None:
        self._configure(
            registry.new_tag(),
            nodes=nodes,
            transport=transport,
            expected_votes=expected_votes,
            quorum=quorum,
            token_ms=token_ms,
            wait_for_quorum=wait_for_quorum,
            workdir=None if workdir is None else os.fspath(workdir),
            uidgid=list(uidgid),
            uidgid_gids=list(uidgid_gids),
            quorum_options={**(votequorum.items() if votequorum else {}), **(quorum_options or {})},
            qdevice=None if qdevice is None else qdevice.to_json(),
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
        transport: TransportName,
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
        qdevice: dict[str, Any] | None = None,  # absent from state files of older harnesses
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
            config.check_config_word(key)
            config.check_config_word(str(value))
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
            "qdevice": qdevice,
            "extra_config": extra_config,
            "debug": debug,
            "start_timeout": start_timeout,
            "persistent": persistent,
        }
        self.tag = tag
        self.transport: TransportName = transport
        self.expected_votes = expected_votes
        self.quorum = quorum
        self.token_ms = token_ms
        self.wait_for_quorum = wait_for_quorum
        self.uidgid = tuple(uidgid)
        self.uidgid_gids = tuple(uidgid_gids)
        self.quorum_options = dict(quorum_options)
        self.qdevice = None if qdevice is None else QdeviceConfig.from_json(qdevice)
        if self.qdevice is not None and not quorum:
            raise ValueError("a quorum device needs the votequorum provider (quorum=True)")
        self.extra_config = extra_config
        self.debug = debug
        self.start_timeout = start_timeout
        self.persistent = persistent
        self._switch = network.Switch(tag, PREFIX_LEN)
        self.switch_netns = self._switch.netns
        self.bridge = self._switch.bridge
        self.state_path = RUN_ROOT / tag / "state.json"
        self.workdir = Path(workdir).absolute() if workdir is not None else WORK_ROOT / tag
        if self.workdir.is_relative_to("/run"):
            raise ValueError(f"workdir {self.workdir} is under /run, which each node replaces")
        self._owns_workdir = workdir is None
        self.nodes: tuple[Node, ...] = tuple(Node(self, i) for i in range(1, nodes + 1))
        self.qnetd: Qnetd | None = None
        if self.qdevice is not None:
            self.qnetd = Qnetd(tag, self.workdir, tls=self.qdevice.tls)
            qdevice_db = self.qnetd.etc / "qdevice" / "net" / "nssdb" if self.qdevice.tls else None
            for node in self.nodes:
                node.qdevice = Qdevice(node.nodeid, node.netns, node.dir, qdevice_db)
        self._state: Literal["new", "started", "closed"] = "new"
        self._partition: tuple[frozenset[int], ...] | None = None
        self._all_pids: set[int] = set()  # every corosync this cluster ran
        self._all_seen = False  # every node was in one membership once (wait_for_all)
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

    def start(self, nodes: Iterable[int] | None = None) -> Cluster:
        """Build the network, start every node (or only the node ids ``nodes``; the
        others get their config and can be started later), and wait until they
        are ready and, with ``wait_for_quorum``, agree on their membership (and
        are quorate when the votes allow).  On any failure everything is torn
        down again."""
        if self._state != "new":
            raise ClusterError(f"{self!r} cannot be started again; make a new Cluster")
        starting = [self[i] for i in sorted(set(nodes))] if nodes is not None else self.nodes
        check_available(QDEVICE_BINARIES if self.qdevice is not None else None)
        self._state = "started"
        registry.register(self)
        deadline = time.monotonic() + self.start_timeout
        try:
            (RUN_ROOT / self.tag).mkdir(parents=True, exist_ok=True)
            self.workdir.mkdir(parents=True, exist_ok=True)
            self._save_state()
            self._create_network()
            for node in self.nodes:
                node.write_config()
            for node in starting:
                node.start(wait=False)
            if self.qnetd is not None:
                self._start_qnetd(deadline)
            for node in starting:
                node.wait_ready(max(0.0, deadline - time.monotonic()))
            # The quorum devices register only once the membership has formed:
            # corosync 3.1.7 can abort (votequorum.c, "sender_node != NULL" in the
            # nodeinfo handler) when a device registers while nodes are still joining.
            if self.wait_for_quorum:
                self.wait_formed(timeout=max(0.0, deadline - time.monotonic()))
            if self.qnetd is not None:
                for node in starting:
                    node.start_qdevice()
                if self.wait_for_quorum:
                    self.wait_qdevice(timeout=max(0.0, deadline - time.monotonic()))
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
        self._stop_qdevice(graceful, timeout)
        self._stop_all(graceful, timeout)
        namespaces = [n.netns for n in self.nodes] + [self.switch_netns]
        if self.qnetd is not None:
            namespaces.append(self.qnetd.netns)
        existing = set(network.list_netns())
        stray = [pid for ns in namespaces if ns in existing for pid in network.netns_pids(ns)]
        procs.kill_and_wait(stray)
        for node in self.nodes:
            node._remove_debris()
        doomed = [ns for ns in namespaces if ns in existing]
        if doomed:
            with contextlib.suppress(IpError):
                network.ip_batch([f"netns delete {ns}" for ns in doomed], force=True)
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        shutil.rmtree(RUN_ROOT / self.tag, ignore_errors=True)
        self._state = "closed"
        registry.unregister(self)
        left = registry.leftovers_of(self.tag, self._all_pids)
        left += [p for d in self._qdevice_daemons() for p in d.daemon.leftovers()]
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

    # --- quorum device

    def _qdevice_daemons(self) -> list[Qnetd | Qdevice]:
        found: list[Qnetd | Qdevice] = [n.qdevice for n in self.nodes if n.qdevice is not None]
        return found + ([self.qnetd] if self.qnetd is not None else [])

    def _start_qnetd(self, deadline: float) -> None:
        assert self.qnetd is not None and self.qdevice is not None
        if self.qdevice.tls:
            make_certificates(self.qnetd.etc, self.tag, max(1.0, deadline - time.monotonic()))
        self.qnetd.start(
            die_with_parent=self._die_with_parent(),
            timeout=max(0.0, deadline - time.monotonic()),
        )

    def _stop_qdevice(self, graceful: bool, timeout: float) -> None:
        """The quorum device's daemons go first: a qdevice outliving its corosync only
        logs connection errors until it is killed anyway."""
        for daemon in self._qdevice_daemons():
            # A survivor is reported by the leftovers check of close().
            with contextlib.suppress(ClusterError):
                if graceful:
                    daemon.stop(timeout)
                else:
                    daemon.kill()

    def wait_qdevice(
        self,
        members: Iterable[int] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        votes: int | None = None,
    ) -> dict[int, QuorumStatus]:
        """Wait until every node of ``members`` (default: the running nodes) shows its
        quorum device alive in ``corosync-quorumtool -s`` and the Qdevice row
        with ``votes`` votes (by default: more than none)."""
        want = sorted(members if members is not None else (n.nodeid for n in self.running_nodes()))
        slice_ = _Slicer(timeout)

        def check() -> dict[int, QuorumStatus] | None:
            statuses = {}
            for nodeid in want:
                node = self[nodeid]
                node._check_alive("the quorum device registered")
                if node.qdevice is not None:
                    node.qdevice.daemon.check_alive("casting its vote")
                status = node.quorum_status(slice_())
                counted = status.qdevice_votes
                if not status.qdevice_alive or not counted or votes not in (None, counted):
                    return None
                statuses[nodeid] = status
            return statuses

        return self.wait_until(check, timeout, f"nodes {want} to count the quorum device")

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

    def _hosts(self) -> list[Host]:
        hosts = [n.host for n in self.nodes]
        return hosts + ([self.qnetd.host] if self.qnetd is not None else [])

    def _create_network(self) -> None:
        try:
            self._switch.create(self._hosts())
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
        self._switch.split([[self[i].veth for i in sorted(group)] for group in layout])
        self._partition = tuple(layout)

    def heal(self) -> None:
        """Undo :meth:`partition`: every node back on one switch."""
        self._require_started()
        self._switch.join(n.veth for n in self.nodes)
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
        slice_ = _Slicer(timeout)

        def check() -> dict[int, QuorumStatus] | None:
            statuses = {}
            for nodeid in sorted(want):
                self[nodeid]._check_alive("the membership formed")
                statuses[nodeid] = self[nodeid].quorum_status(slice_())
            rings = {s.ring_id for s in statuses.values()}
            if len(rings) != 1 or any(s.members != want for s in statuses.values()):
                return None
            if want == self.node_ids:
                self._all_seen = True
            expect = quorate
            if expect is None and self.quorum:
                expect = self._would_be_quorate(len(want))
            if expect is not None and any(s.quorate != expect for s in statuses.values()):
                return None
            return statuses

        what = f"nodes {sorted(want)} to form one membership"
        if quorate is not None:
            what += " (quorate)" if quorate else " (inquorate)"
        elif self.quorum:
            what += " (quorate as far as the votes allow)"
        return self.wait_until(check, timeout, what)

    def _would_be_quorate(self, votes: int) -> bool:
        """What votequorum(5) should say for ``votes`` live nodes, for waits that
        are not told: two_node lowers the threshold to one vote, and
        wait_for_all (on by default with two_node) holds quorum back until
        every node was seen once."""
        options = {k: str(v) for k, v in self.quorum_options.items()}
        two_node = options.get("two_node") == "1" and len(self.nodes) == 2
        if options.get("wait_for_all", "1" if two_node else "0") == "1" and not self._all_seen:
            return False
        if two_node:
            return votes >= 1
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
        """corosync.conf for ``node``."""
        return config.render(
            tag=self.tag,
            node=node.entry,
            nodes=[n.entry for n in self.nodes],
            log_path=node.log_path,
            state_dir=node.state_dir,
            transport=self.transport,
            token_ms=self.token_ms,
            quorum=self.quorum,
            expected_votes=self.expected_votes,
            quorum_options=self.quorum_options,
            qdevice=self.qdevice,
            qnetd_host=QNETD_ADDRESS,
            uidgid=self.uidgid,
            uidgid_gids=self.uidgid_gids,
            debug=self.debug,
            extra_config=self.extra_config,
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
        state = registry.load_state(tag)
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
            state = registry.load_state(path.parent.name)
            if state is not None and state.get("persistent"):
                tags.append(path.parent.name)
        return tags


class _Slicer:
    """Timeouts for the commands a wait runs, so that one hung command cannot
    carry the wait far past its own deadline."""

    def __init__(self, timeout: float, longest: float = 5.0) -> None:
        self._deadline = time.monotonic() + timeout
        self._longest = longest

    def __call__(self) -> float:
        return min(self._longest, max(0.5, self._deadline - time.monotonic()))
