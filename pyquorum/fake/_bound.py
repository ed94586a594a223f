"""What every fake service shares: the server it is bound to.

A service handler is made before its :class:`~pyquorum.ipc.server.listener.IpcServer`
(the server takes the handler), so the server is handed over afterwards with
:meth:`BoundToServer.bind`; the service then uses it for its loop's timers.
"""

from __future__ import annotations

from pyquorum.ipc.server.listener import IpcServer

__all__ = ["BoundToServer"]


class BoundToServer:
    """Mixed into each fake service: :meth:`bind` once, then :attr:`server`."""

    _server: IpcServer | None = None

    def bind(self, server: IpcServer) -> None:
        self._server = server

    @property
    def server(self) -> IpcServer:
        if self._server is None:
            raise RuntimeError("the service is not bound to a server (call bind())")
        return self._server
