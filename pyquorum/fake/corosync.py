"""A fake corosync: quorum, votequorum, cmap and cfg from one story, on one loop.

:class:`FakeCorosync` puts four libqb IPC servers on one
:class:`~pyquorum.ipc.server.loop.EventLoop` (a
:class:`~pyquorum.ipc.server.group.ServerGroup`), as corosync serves its
services from one thread:

* ``@quorum``: the fake's :class:`~pyquorum.fake.service.QuorumService`,
  which also *plays* the story: its timeline moves the one current state;
* ``@votequorum``: :class:`~pyquorum.fake.votequorum_service.VotequorumService`,
  reading that state (absent when the story has no votequorum, as corosync
  without a quorum provider has no such endpoint);
* ``@cmap``: the keys :func:`~pyquorum.fake.cmap_view.cmap_keys` derives
  from that state, kept in a cmap store whose trackers hear every change;
* ``@cfg``: the addresses and local node id of the story's nodelist.

Each change of the timeline goes first to the quorum service's subscribers,
then to votequorum's trackers, then into cmap: every client sees the same
rings and members.  Stock tools (``corosync-quorumtool``,
``corosync-cmapctl``) and pyquorum's own sessions talk to it as to corosync.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Literal, TypeVar

from pyquorum.fake.cmap_view import cmap_keys
from pyquorum.fake.hostile import Hostility
from pyquorum.fake.hostile_services import HostileService, ServiceHostility
from pyquorum.fake.script import Change, Script, State, Step
from pyquorum.fake.server import Stall, TransportName, make_server, transport_type
from pyquorum.fake.service import QuorumService
from pyquorum.fake.votequorum_service import VotequorumService
from pyquorum.ipc.server.connection import ServiceHandler
from pyquorum.ipc.server.group import ServerGroup
from pyquorum.ipc.server.listener import AccessPolicy, IpcServer
from pyquorum.ipc.server.loop import EventLoop
from pyquorum.messages._cmap_values import CmapValue
from pyquorum.messages.cfg import LinkStatus

if TYPE_CHECKING:
    from pyquorum.fake.cmap_store import CmapStore

__all__ = ["SERVICES", "FakeCorosync", "ServiceName", "StoryCfgView"]

T = TypeVar("T")

ServiceName = Literal["quorum", "votequorum", "cmap", "cfg"]
#: Every service the fake corosync serves, in the order they are set up.
SERVICES: tuple[ServiceName, ...] = ("quorum", "votequorum", "cmap", "cfg")


class StoryCfgView:
    """What the cfg service tells of the story: this node's id and each node's
    addresses (None for a node the nodelist does not have)."""

    def __init__(self, timeline: QuorumService) -> None:
        self.timeline = timeline

    def _state(self) -> State:
        return self.timeline.state

    def local_nodeid(self) -> int:
        cluster = self._state().cluster
        assert cluster is not None
        return cluster.this_node

    def node_addrs(self, nodeid: int) -> list[str] | None:
        cluster = self._state().cluster
        assert cluster is not None
        node = cluster.node(nodeid)
        return None if node is None else list(node.addrs)

    def node_status(self, nodeid: int) -> tuple[bool, tuple[LinkStatus, ...]] | None:
        """knet's view from this node (docs/cfg.md §3.5): a link per address the two
        nodes share a position for; this node reaches itself over its own address
        (MTU 65535), a member over each link (``link_mtu``), a node that is not a
        member over none (its links stay configured)."""
        state = self._state()
        cluster = state.cluster
        assert cluster is not None
        node, this = cluster.node(nodeid), cluster.node(cluster.this_node)
        if node is None or this is None:
            return None
        if nodeid == cluster.this_node:
            return True, tuple(LinkStatus(True, True, False, 65535, a, a) for a in this.addrs)
        up = nodeid in state.members
        return up, tuple(LinkStatus(True, up, False, cluster.link_mtu, src, dst)
                         for src, dst in zip(this.addrs, node.addrs, strict=False))


class FakeCorosync:
    """The four services of ``script`` (a story; a version-1 script gets the
    cluster it implies, :meth:`Script.as_story`), not started yet.

    ``services`` picks which to serve (the quorum service always: it plays
    the story).  ``quorum_name`` renames the quorum endpoint; the others keep
    corosync's names.  ``speed``, ``response_delay``, ``stall`` and
    ``hostile`` are the quorum service's (:func:`~pyquorum.fake.server.make_server`);
    ``hostile_services`` breaks votequorum's or cmap's messages
    (:class:`~pyquorum.fake.hostile_services.ServiceHostility`, by service name).
    Serve with :meth:`start` (a thread) or :meth:`listen` + :meth:`serve_forever`.
    """

    def __init__(
        self,
        script: Script,
        *,
        transport: TransportName = "shm",
        services: tuple[ServiceName, ...] = SERVICES,
        quorum_name: str = "quorum",
        speed: float = 1.0,
        response_delay: float = 0.0,
        stall: Stall | None = None,
        hostile: Hostility | None = None,
        policy: AccessPolicy | None = None,
        hostile_services: Mapping[str, ServiceHostility] | None = None,
    ) -> None:
        unknown = set(services) - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown service(s): {', '.join(sorted(unknown))}")
        self.hostile_services = dict(hostile_services or {})
        for name, case in self.hostile_services.items():
            if name not in ("votequorum", "cmap") or case.service not in (None, name):
                raise ValueError(f"hostility {case.value} does not exist in the {name} service")
        self.script = script.as_story()
        self.transport = transport
        self.loop = EventLoop()
        self.policy = policy
        self.server, self.quorum = make_server(
            self.script, name=quorum_name, transport=transport, speed=speed,
            response_delay=response_delay, stall=stall, hostile=hostile, policy=policy,
            loop=self.loop,
        )
        self.servers: dict[str, IpcServer] = {"quorum": self.server}
        self.votequorum: VotequorumService | None = None
        self.cmap_store: CmapStore | None = None
        self._cmap_keys: dict[str, CmapValue] = {}
        cluster = self.script.initial.cluster
        assert cluster is not None
        if "votequorum" in services and cluster.votequorum is not None:
            self.votequorum = VotequorumService(self.quorum)
            self._add("votequorum", self.votequorum)
            self.quorum.observers.append(self.votequorum.publish)
        if "cmap" in services:
            self._add("cmap", self._cmap_handler())
            self.quorum.observers.append(self._sync_cmap)
        if "cfg" in services:
            self._add("cfg", self._cfg_handler(StoryCfgView(self.quorum)))
        self.group = ServerGroup(list(self.servers.values()))

    def _add(self, name: str, handler: ServiceHandler) -> IpcServer:
        case = self.hostile_services.get(name)
        if case is not None:
            handler = HostileService(handler, case)
        server = IpcServer(handler, service=name, transport=transport_type(self.transport),
                           policy=self.policy, loop=self.loop)
        bind = getattr(handler, "bind", None)
        if bind is not None:
            bind(server)
        self.servers[name] = server
        return server

    # -- the cmap and cfg services (their own modules) ------------------------------------

    def _cmap_handler(self) -> ServiceHandler:
        """cmap's handler, over a store holding the initial state's keys."""
        from pyquorum.fake.cmap_service import CmapService
        from pyquorum.fake.cmap_store import CmapStore

        self._cmap_keys = cmap_keys(self.script.initial)
        self.cmap_store = CmapStore(self._cmap_keys)
        return CmapService(self.cmap_store)

    def _cfg_handler(self, view: StoryCfgView) -> ServiceHandler:
        from pyquorum.fake.cfg_service import CfgService

        return CfgService(view)

    def _sync_cmap(self, change: Change) -> None:
        """Put the keys of the new state into cmap: changed keys set, vanished ones deleted."""
        new = cmap_keys(change.state)
        changes: dict[str, CmapValue | None] = {
            k: v for k, v in new.items() if self._cmap_keys.get(k) != v
        }
        changes.update({k: None for k in self._cmap_keys if k not in new})
        self._cmap_keys = new
        if changes:
            self.apply_cmap(changes)

    def apply_cmap(self, changes: Mapping[str, CmapValue | None]) -> None:
        """Change cmap keys directly (loop thread): None deletes."""
        if self.cmap_store is not None:
            self.cmap_store.apply(changes)

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def pid(self) -> int:
        return self.server.pid

    @property
    def address(self) -> str:
        return ", ".join(s.address for s in self.servers.values())

    @property
    def connection_count(self) -> int:
        return sum(s.connection_count for s in self.servers.values())

    @property
    def state(self) -> State:
        return self.quorum.state

    def start(
        self, *, thread_setup: Callable[[], None] | None = None, timeout: float = 10.0
    ) -> None:
        self.group.start(thread_setup=thread_setup, timeout=timeout)

    def listen(self) -> None:
        self.group.listen()

    def serve_forever(self) -> None:
        self.group.serve_forever()

    def stop(self, timeout: float = 10.0) -> None:
        self.group.stop(timeout)

    def call(self, fn: Callable[[], T], timeout: float | None = 10.0) -> T:
        return self.loop.call(fn, timeout)

    def call_soon_threadsafe(self, fn: Callable[[], None]) -> None:
        self.loop.call_soon_threadsafe(fn)

    def apply(self, step: Step) -> Change:
        """Apply a change now (loop thread): every service's clients hear of it."""
        return self.quorum.apply(step)

    def __repr__(self) -> str:
        return f"<FakeCorosync {self.address} {self.transport}>"


