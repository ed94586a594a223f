"""Serve any libqb ServiceHandler in a private network namespace, for a test.

A handler listening on a real corosync name (``@cfg``, ``@cmap``...) must
never meet the host's daemon: the server's thread unshares its network
namespace first (as :mod:`pyquorum.testing.fake` does for the quorum
service), and clients join that namespace through :meth:`NetnsService.netns_context`
or run there with :meth:`NetnsService.run`.  Needs root (CAP_SYS_ADMIN).

    with NetnsService(CfgService(view), "cfg", "socket") as served:
        with served.netns_context():
            conn = IpcConnection.connect("cfg", timeout=5)
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from pyquorum.ipc.server.connection import ServiceHandler
from pyquorum.ipc.server.listener import IpcServer
from pyquorum.messages.constants import ConnectionType
from pyquorum.netns import NetNamespace, unshare_net

__all__ = ["TRANSPORT_TYPES", "NetnsService"]

TRANSPORT_TYPES = {"shm": ConnectionType.SHM, "socket": ConnectionType.SOCKET}


class _Bindable(Protocol):
    def bind(self, server: IpcServer) -> None: ...


class NetnsService:
    """``handler`` served as ``name`` over ``transport`` ("shm" or "socket").

    A handler with a ``bind(server)`` method is bound before the server starts.
    """

    def __init__(self, handler: ServiceHandler, name: str, transport: str = "shm") -> None:
        self.handler = handler
        self.name = name
        self.server = IpcServer(handler, service=name, transport=TRANSPORT_TYPES[transport])
        bind = getattr(handler, "bind", None)
        if callable(bind):
            bind(self.server)
        self._netns: NetNamespace | None = None

    def _enter(self) -> None:
        unshare_net()
        self._netns = NetNamespace.current()

    def start(self) -> NetnsService:
        try:
            self.server.start(thread_setup=self._enter)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        try:
            self.server.stop()
        finally:
            if self._netns is not None:
                self._netns.close()
                self._netns = None

    def __enter__(self) -> NetnsService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @contextlib.contextmanager
    def netns_context(self) -> Iterator[None]:
        """The calling thread in the server's namespace for the block."""
        if self._netns is None:
            raise RuntimeError("the service is not running")
        with self._netns.entered():
            yield

    def run(self, argv: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        """Run a process to completion in the server's namespace (60 s by default)."""
        kwargs.setdefault("timeout", 60)
        with self.netns_context():
            return subprocess.run(list(argv), check=False, **kwargs)
