"""A fake corosync quorum service for tests: :class:`FakeQuorumServer`, and a pytest fixture.

The server speaks real libqb IPC (SHM rings or the socket transport), so
anything that talks to corosync's quorum service talks to it: pyquorum's
sessions, the C libquorum, ``corosync-quorumtool``.  It serves a
:class:`~pyquorum.fake.script.Script` and runs in a thread of the test
process.

Abstract socket names are per network namespace.  By default
(``netns=True``) the server's thread moves into a **private network
namespace** of its own (``unshare(CLONE_NEWNET)``), so it can listen on
``@quorum`` without ever meeting a real corosync on the host, and nothing
is left behind: the namespace disappears with its last user.  Clients must
then be in that namespace:

* :meth:`FakeQuorumServer.session` opens a :class:`~pyquorum.QuorumSession` there;
* ``with server.netns_context():`` moves the calling thread there
  (sockets created inside stay there);
* :meth:`FakeQuorumServer.popen` / :meth:`~FakeQuorumServer.run` start a
  process there (the C libquorum, ``corosync-quorumtool``).

``netns="name"`` joins a named namespace (``/run/netns/name``) instead, and
``netns=None`` stays in the caller's: then choose a ``name`` no real
daemon uses.  A private namespace needs root (CAP_SYS_ADMIN).

The pytest fixture ``fake_quorum`` (enable with
``pytest_plugins = ["pyquorum.testing.fake"]``) is a factory: each call
starts a server, and every server is stopped after the test::

    def test_failover(fake_quorum):
        server = fake_quorum(Script.build([1, 2, 3], steps=[Step(0.1, members=(1, 2))]))
        with server.session() as session:
            session.trackstart()
            ...
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pyquorum import QuorumSession
from pyquorum.fake.corosync import SERVICES, FakeCorosync, ServiceName
from pyquorum.fake.hostile import Hostility
from pyquorum.fake.hostile_services import ServiceHostility
from pyquorum.fake.script import Change, Script, Step
from pyquorum.fake.server import Stall, TransportName, example_script, make_server
from pyquorum.fake.service import QuorumService
from pyquorum.ipc.server.listener import AccessPolicy, IpcServer
from pyquorum.ipc.wire import SHM_DIR
from pyquorum.messages.constants import Model
from pyquorum.netns import NetNamespace, unshare_net

__all__ = ["FakeCorosyncServer", "FakeQuorumServer", "fake_corosync", "fake_quorum"]

T = TypeVar("T")


class _Runner(Protocol):
    """What serves: one IpcServer, or the fake corosync's group of them."""

    @property
    def connection_count(self) -> int: ...

    def start(
        self, *, thread_setup: Callable[[], None] | None = None, timeout: float = 10.0
    ) -> None: ...

    def stop(self, timeout: float = 10.0) -> None: ...


class FakeQuorumServer:
    """A fake quorum service; start it with ``with`` or :meth:`start`.

    ``script`` is a :class:`Script`, a path to a script file, or None for
    the built-in 3-node demo script.  ``name`` is the service (socket) name,
    ``transport`` ``"shm"`` or ``"socket"``.  ``speed`` divides the script's
    times.  ``response_delay`` answers every request that late (a slow
    daemon); ``stall="requests"`` completes handshakes but never answers,
    ``stall="handshake"`` never even answers the handshake.  ``hostile``
    picks one :class:`~pyquorum.fake.hostile.Hostility`.  ``uids``/``gids``
    are allowed besides root; other clients get EACCES.
    """

    def __init__(
        self,
        script: Script | str | Path | None = None,
        *,
        name: str = "quorum",
        transport: TransportName = "shm",
        netns: bool | str | None = True,
        speed: float = 1.0,
        response_delay: float = 0.0,
        stall: Stall | None = None,
        hostile: Hostility | None = None,
        uids: Sequence[int] = (),
        gids: Sequence[int] = (),
    ) -> None:
        if script is None:
            script = example_script()
        elif not isinstance(script, Script):
            script = Script.load(script)
        self.script = script
        self.name = name
        self.transport = transport
        self.netns = netns
        self.server: IpcServer
        self.service: QuorumService
        self.server, self.service = make_server(
            script,
            name=name,
            transport=transport,
            speed=speed,
            response_delay=response_delay,
            stall=stall,
            hostile=hostile,
            policy=AccessPolicy(frozenset(uids), frozenset(gids)),
        )
        self._runner: _Runner = self.server
        self._netns: NetNamespace | None = None
        self._started = False

    # -- lifecycle -----------------------------------------------------------------

    @property
    def pid(self) -> int:
        """The server's pid, as it appears in its /dev/shm names."""
        return self.server.pid

    def start(self) -> FakeQuorumServer:
        if self._started:
            raise RuntimeError("the fake server was already started")
        self._started = True
        self._runner.start(thread_setup=self._enter_netns)
        return self

    def _enter_netns(self) -> None:
        if self.netns is True:
            unshare_net()
        elif isinstance(self.netns, str):
            with NetNamespace.open(self.netns) as named:
                named.enter()
        if self.netns:
            # Held open: it keeps a private namespace alive and lets others enter it.
            self._netns = NetNamespace.current()

    def stop(self) -> None:
        """Disconnect every client, remove every file, release the namespace."""
        try:
            self._runner.stop()
        finally:
            if self._netns is not None:
                self._netns.close()
                self._netns = None

    def __enter__(self) -> FakeQuorumServer:
        return self if self._started else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- clients --------------------------------------------------------------------

    @contextlib.contextmanager
    def netns_context(self) -> Iterator[None]:
        """Move the calling thread into the server's network namespace for the block."""
        if self._netns is None:
            yield
            return
        with self._netns.entered():
            yield

    def enter_netns(self) -> None:
        """Move the calling thread into the server's network namespace for good
        (a ``thread_setup`` for another server that must listen beside this one)."""
        if self._netns is not None:
            self._netns.enter()

    def session(self, model: Model | int = Model.V1, **kwargs: Any) -> QuorumSession:
        """A :class:`QuorumSession` connected to this server (``timeout`` defaults to 10 s)."""
        kwargs.setdefault("timeout", 10.0)
        with self.netns_context():
            return QuorumSession(model, service=self.name, **kwargs)

    def popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start a process inside the server's network namespace."""
        with self.netns_context():
            return subprocess.Popen(list(argv), **kwargs)

    def run(self, argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        """Run a process to completion inside the server's network namespace."""
        kwargs.setdefault("timeout", 60)
        with self.netns_context():
            return subprocess.run(list(argv), check=False, **kwargs)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the server's loop thread and return its result."""
        return self.server.loop.call(fn)

    # -- driving the story -----------------------------------------------------------------

    def apply(self, step: Step) -> Change:
        """Apply a change now (the step's ``at`` is ignored) and notify the subscribers."""
        return self.call(lambda: self.service.apply(step))

    def start_timeline(self) -> None:
        """Start the script's timeline now (it starts on the first subscription otherwise)."""
        self.call(self.service.start_timeline)

    def wait_finished(self, timeout: float = 10.0) -> None:
        """Wait until every step of the script was applied."""
        if not self.service.finished.wait(timeout):
            raise TimeoutError(f"the script did not finish within {timeout} s")

    @property
    def connection_count(self) -> int:
        return self._runner.connection_count

    def wait_connections(self, count: int, timeout: float = 10.0) -> None:
        """Wait until exactly ``count`` clients are connected."""
        deadline = time.monotonic() + timeout
        while self.connection_count != count:
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{self.connection_count} clients connected, not {count}, "
                    f"after {timeout} s"
                )
            time.sleep(0.005)

    def shm_files(self) -> list[str]:
        """This process's server directories in /dev/shm (``qb-<pid>-...``)."""
        prefix = f"qb-{self.pid}-"
        with contextlib.suppress(OSError):
            return sorted(
                os.path.join(SHM_DIR, n) for n in os.listdir(SHM_DIR) if n.startswith(prefix)
            )
        return []

    def __repr__(self) -> str:
        return (
            f"<FakeQuorumServer {self.server.address} {self.transport} "
            f"clients={self.connection_count}>"
        )


class FakeCorosyncServer(FakeQuorumServer):
    """A fake corosync: quorum, votequorum, cmap and cfg from one story
    (:class:`~pyquorum.fake.corosync.FakeCorosync`), with
    :class:`FakeQuorumServer`'s namespace and client helpers.

    ``script`` may be a version-1 script (it gets the cluster it implies).
    ``services`` picks the services (quorum always); ``corosync_class``
    builds the fake (tests may pass a subclass); ``hostile_services`` breaks
    votequorum's or cmap's messages, one
    :class:`~pyquorum.fake.hostile_services.ServiceHostility` per service name.
    """

    def __init__(
        self,
        script: Script | str | Path | None = None,
        *,
        name: str = "quorum",
        transport: TransportName = "shm",
        netns: bool | str | None = True,
        speed: float = 1.0,
        response_delay: float = 0.0,
        stall: Stall | None = None,
        hostile: Hostility | None = None,
        uids: Sequence[int] = (),
        gids: Sequence[int] = (),
        services: tuple[ServiceName, ...] = SERVICES,
        corosync_class: type[FakeCorosync] = FakeCorosync,
        hostile_services: Mapping[str, ServiceHostility] | None = None,
    ) -> None:
        if script is None:
            script = example_script()
        elif not isinstance(script, Script):
            script = Script.load(script)
        self.corosync = corosync_class(
            script, transport=transport, services=services, quorum_name=name, speed=speed,
            response_delay=response_delay, stall=stall, hostile=hostile,
            policy=AccessPolicy(frozenset(uids), frozenset(gids)),
            hostile_services=hostile_services,
        )
        self.script = self.corosync.script
        self.name = name
        self.transport = transport
        self.netns = netns
        self.server = self.corosync.server
        self.service = self.corosync.quorum
        self._runner = self.corosync
        self._netns = None
        self._started = False

    @classmethod
    def from_capture(cls, capture: str | Path, **options: Any) -> FakeCorosyncServer:
        """A fake corosync serving what ``capture`` (a ``pyquorum record`` file)
        recorded, every service of it (:mod:`pyquorum.fake.capture_story`)."""
        from pyquorum.fake.capture_story import story_from_capture

        return cls(story_from_capture(capture), **options)

    def start(self) -> FakeCorosyncServer:
        super().start()
        return self

    def __enter__(self) -> FakeCorosyncServer:
        return self if self._started else self.start()

    def __repr__(self) -> str:
        return f"<FakeCorosyncServer {self.corosync.address} {self.transport}>"


# -- pytest ---------------------------------------------------------------------------

try:
    import pytest
except ImportError:  # pragma: no cover - pytest is only needed for the fixture
    pass
else:

    @pytest.fixture
    def fake_quorum() -> Iterator[Callable[..., FakeQuorumServer]]:
        """A factory of started :class:`FakeQuorumServer`\\ s, all stopped after the test.

        ``fake_quorum(script=None, **options)`` takes FakeQuorumServer's arguments.
        """
        servers: list[FakeQuorumServer] = []

        def make(script: Script | str | Path | None = None, **options: Any) -> FakeQuorumServer:
            server = FakeQuorumServer(script, **options)
            servers.append(server)
            return server.start()

        yield make
        _stop_all(servers)

    @pytest.fixture
    def fake_corosync() -> Iterator[Callable[..., FakeCorosyncServer]]:
        """A factory of started :class:`FakeCorosyncServer`\\ s, all stopped after the test.

        ``fake_corosync(script=None, **options)`` takes FakeCorosyncServer's arguments.
        """
        servers: list[FakeCorosyncServer] = []

        def make(
            script: Script | str | Path | None = None, **options: Any
        ) -> FakeCorosyncServer:
            server = FakeCorosyncServer(script, **options)
            servers.append(server)
            return server.start()

        yield make
        _stop_all(servers)


def _stop_all(servers: Sequence[FakeQuorumServer]) -> None:
    errors: list[BaseException] = []
    for server in servers:
        try:
            server.stop()
        except Exception as exc:
            errors.append(exc)
    if errors:
        raise errors[0]
