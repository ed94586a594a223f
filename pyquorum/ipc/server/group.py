"""Several libqb IPC servers served by one thread, on one event loop.

corosync serves every service (quorum, votequorum, cmap, cfg) from one
thread: a client of two services sees their answers in the order the daemon
made them, and a service's state never changes between two of its answers
unless the loop got there.  :class:`ServerGroup` does the same for
:class:`~pyquorum.ipc.server.listener.IpcServer`\\ s built on one shared
:class:`~pyquorum.ipc.server.loop.EventLoop` (their ``loop=`` argument):
it listens on all of them from one thread (so in one network namespace),
runs the loop, and tears every one down when stopped.  It knows no service.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyquorum.ipc.server.listener import IpcServer
from pyquorum.ipc.server.loop import EventLoop, LoopThread

__all__ = ["ServerGroup"]


class ServerGroup:
    """``servers``, all built with the same ``loop``, listened on and served together.

    :meth:`start` serves from a daemon thread (after an optional
    ``thread_setup``, e.g. entering a network namespace); :meth:`listen` +
    :meth:`serve_forever` serve from the calling thread; :meth:`stop` is
    thread- and signal-safe.
    """

    def __init__(self, servers: Sequence[IpcServer]) -> None:
        if not servers:
            raise ValueError("a server group needs at least one server")
        loop = servers[0].loop
        if any(s.loop is not loop for s in servers):
            raise ValueError("the servers of a group must share one EventLoop (loop=)")
        self.servers = tuple(servers)
        self.loop: EventLoop = loop
        names = "+".join(s.service for s in self.servers)
        self._runner = LoopThread(loop, f"pyquorum-ipc-servers-{names}")

    @property
    def running(self) -> bool:
        return self.loop.running

    def listen(self) -> None:
        """Listen on every server (calling thread's namespace); if one cannot, none does."""
        done: list[IpcServer] = []
        try:
            for server in self.servers:
                server.listen()
                done.append(server)
        except BaseException:
            for server in done:
                server.teardown()
            raise

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` (after :meth:`listen`)."""
        try:
            self.loop.run()
        finally:
            for server in self.servers:
                self.loop.guard(server.teardown)
            self.loop.close()

    def start(
        self, *, thread_setup: Callable[[], None] | None = None, timeout: float = 10.0
    ) -> None:
        """Serve from a daemon thread; return once every server listens (or raise why not)."""
        self._runner.start(self.listen, self.serve_forever, thread_setup=thread_setup,
                           timeout=timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving: every client of every server disconnected, every file removed."""
        self._runner.stop(timeout)

    def __enter__(self) -> ServerGroup:
        if not self._runner.started:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
