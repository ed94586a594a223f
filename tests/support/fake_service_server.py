"""Any libqb service handler, served in a private network namespace, for tests.

:class:`FakeServiceServer` is what :class:`pyquorum.testing.fake.FakeQuorumServer`
is for the quorum service, for any
:class:`~pyquorum.ipc.server.connection.ServiceHandler` (the fake's cmap
service, first): an :class:`~pyquorum.ipc.server.listener.IpcServer` on its
own loop thread, which first moves into a network namespace of its own, so it
may listen on the real names (``@cmap``) without meeting a real corosync.
Clients get in with :meth:`FakeServiceServer.netns_context` (threads) or
:meth:`~FakeServiceServer.run` / :meth:`~FakeServiceServer.popen` (processes,
such as ``corosync-cmapctl`` or a C oracle).  Needs root.
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from pyquorum.ipc.server.connection import ServiceHandler
from pyquorum.ipc.server.listener import IpcServer
from pyquorum.messages.constants import ConnectionType
from pyquorum.netns import NetNamespace, unshare_net

T = TypeVar("T")

_TRANSPORTS = {"shm": ConnectionType.SHM, "socket": ConnectionType.SOCKET}



class FakeServiceServer:
    """Serves ``handler`` as service ``name`` over ``transport`` ("shm" or
    "socket") in a private network namespace; use it with ``with``."""

    def __init__(self, handler: ServiceHandler, name: str, transport: str = "shm") -> None:
        self.handler = handler
        self.name = name
        self.transport = transport
        self.server = IpcServer(handler, service=name, transport=_TRANSPORTS[transport])
        bind = getattr(handler, "bind", None)  # the fake's services are bound first
        if callable(bind):
            bind(self.server)
        self._netns: NetNamespace | None = None

    def start(self) -> FakeServiceServer:
        try:
            self.server.start(thread_setup=self._enter_netns)
        except BaseException:
            self.stop()
            raise
        return self

    def _enter_netns(self) -> None:
        unshare_net()
        self._netns = NetNamespace.current()

    def stop(self) -> None:
        try:
            self.server.stop()
        finally:
            if self._netns is not None:
                self._netns.close()
                self._netns = None

    def __enter__(self) -> FakeServiceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @contextlib.contextmanager
    def netns_context(self) -> Iterator[None]:
        """Move the calling thread into the server's namespace for the block."""
        if self._netns is None:
            raise RuntimeError("the server is not running")
        with self._netns.entered():
            yield

    def run(self, argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """Run a process to completion in the server's namespace (text output)."""
        kwargs.setdefault("timeout", 30)
        kwargs.setdefault("capture_output", True)
        kwargs.setdefault("text", True)
        with self.netns_context():
            return subprocess.run(list(argv), check=False, **kwargs)

    def popen(self, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[str]:
        """Start a process in the server's namespace (text pipes unless told)."""
        kwargs.setdefault("text", True)
        with self.netns_context():
            return subprocess.Popen(list(argv), **kwargs)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the server's loop thread (where its stores may change)."""
        return self.server.call(fn)

    @property
    def connection_count(self) -> int:
        return self.server.connection_count
