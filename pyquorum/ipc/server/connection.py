"""One accepted libqb IPC connection, server side: what both transports share.

:class:`ServerConnection` is what a service handler sees: the client's
credentials, ``send_response`` / ``send_event``, ``close``.  The two
subclasses (:mod:`~pyquorum.ipc.server.shm_connection`,
:mod:`~pyquorum.ipc.server.socket_connection`) create the per-connection
files and move the bytes; the event loop
(:class:`~pyquorum.ipc.server.loop.EventLoop`) drives them through the small
:class:`Loop` interface below, from its one thread, and the listener
(:class:`~pyquorum.ipc.server.listener.IpcServer`) is told when one closes.
Nothing here is thread-safe: every method runs on the loop thread (use
``IpcServer.call_soon_threadsafe`` from elsewhere).

The per-connection directory follows libqb >= 1.0.4 (docs/protocol.md §2.8):
``/dev/shm/qb-<server pid>-<client pid>-<setup fd>-XXXXXX``, made 0700,
then chmod 0770 and chowned to the client; every file in it is 0600 and
chowned to the client too.  The server pid in the name is what lets a
leak check attribute debris to the process that made it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import socket
import string
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Protocol

from pyquorum.ipc.credentials import Credentials
from pyquorum.messages.constants import ConnectionType

__all__ = [
    "REQUESTS_PER_WAKEUP",
    "RETRY_INTERVAL",
    "Loop",
    "ServerConnection",
    "ServiceHandler",
    "Timer",
    "create_file",
    "give_to_client",
    "make_connection_dir",
    "remove_connection_dir",
]

log = logging.getLogger("pyquorum.ipc.server")

#: How many requests one wake-up processes (corosync's MAX_RECV_MSGS at
#: normal priority).
REQUESTS_PER_WAKEUP = 5

#: How often queued events and responses are retried while a ring or a
#: socket is full (corosync retries from its main loop as well).
RETRY_INTERVAL = 0.02

_RANDOM_CHARS = string.ascii_letters + string.digits


class Timer(Protocol):
    def cancel(self) -> None: ...


class Loop(Protocol):
    """What a connection needs from the event loop that owns it."""

    def watch(self, fd: int, events: int, callback: Callable[[int], None]) -> None:
        """Poll ``fd`` for ``events`` (hang-ups are always reported) and call back."""

    def unwatch(self, fd: int) -> None: ...

    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer: ...


class ServiceHandler(Protocol):
    """A libqb service: told of each connection, each request, each departure.

    ``request`` must answer every request with exactly one
    ``conn.send_response`` (now or later), as libqb clients wait for it;
    a handler that never answers emulates a stalled daemon.  Exceptions
    escaping a handler close that connection (and are logged).
    """

    def connected(self, conn: ServerConnection) -> None: ...

    def request(self, conn: ServerConnection, data: bytes) -> None: ...

    def disconnected(self, conn: ServerConnection) -> None: ...


def make_connection_dir(
    shm_dir: str, server_pid: int, client: Credentials, fd: int
) -> str:
    """mkdir ``<shm_dir>/qb-<spid>-<cpid>-<fd>-XXXXXX`` (0700, then 0770 and the client's).

    Six random characters, as libqb's ``mkdtemp`` template; ownership is only
    changed when we may (root), as a non-root server can only serve itself.
    """
    prefix = os.path.join(shm_dir, f"qb-{server_pid}-{client.pid}-{fd}-")
    for _ in range(100):
        path = prefix + "".join(secrets.choice(_RANDOM_CHARS) for _ in range(6))
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        try:
            os.chmod(path, 0o770)
            give_to_client(path, client)
        except BaseException:
            os.rmdir(path)
            raise
        return path
    raise FileExistsError(f"no free directory name for {prefix}XXXXXX")


def give_to_client(path: str, client: Credentials, fd: int | None = None) -> None:
    """chown a connection file to the client, as corosync does (root only)."""
    if os.geteuid() != 0:
        return
    if fd is not None:
        os.fchown(fd, client.uid, client.gid)
    else:
        os.chown(path, client.uid, client.gid)


def create_file(directory: str, name: str, size: int, client: Credentials) -> int:
    """Create ``directory/name`` (O_EXCL, 0600, the client's) of ``size`` bytes; return its fd."""
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        os.ftruncate(fd, size)
        give_to_client(path, client, fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    return fd


def remove_connection_dir(path: str) -> None:
    """Remove a connection directory and whatever is still in it."""
    shutil.rmtree(path, ignore_errors=True)


class ServerConnection(ABC):
    """One client of an :class:`~pyquorum.ipc.server.listener.IpcServer`, from accept to teardown.

    ``data`` belongs to the service (its per-connection state).  ``transport``
    is the subclass's :class:`ConnectionType`.  ``on_closed`` is called once,
    last, when the connection is torn down (the listener's registry).
    """

    transport: ConnectionType

    def __init__(
        self,
        loop: Loop,
        handler: ServiceHandler,
        sock: socket.socket,
        credentials: Credentials,
        *,
        service: str,
        directory: str,
        max_msg_size: int,
        conn_id: int,
        on_closed: Callable[[ServerConnection], None],
    ) -> None:
        self._loop = loop
        self._on_closed = on_closed
        self._handler = handler
        self.sock = sock
        self.credentials = credentials
        self.service = service
        self.directory = directory
        self.max_msg_size = max_msg_size
        self.id = conn_id
        self.data: object = None
        self.closed = False
        self._reading = True
        self._active = False
        self._open_transport()

    @abstractmethod
    def _open_transport(self) -> None:
        """Create this transport's files and sockets (the constructor's last
        step, once the fields above are set); on failure release what was made
        and raise."""

    # -- what a service uses ----------------------------------------------------

    @property
    def pid(self) -> int:
        return self.credentials.pid

    @property
    def uid(self) -> int:
        return self.credentials.uid

    @property
    def gid(self) -> int:
        return self.credentials.gid

    @abstractmethod
    def send_response(self, data: bytes) -> None:
        """Queue the response to the oldest unanswered request."""

    @abstractmethod
    def send_event(self, data: bytes) -> None:
        """Queue one event (notification) for the client, in order."""

    @property
    def reading(self) -> bool:
        """Whether requests are read; False emulates a stalled daemon for this client."""
        return self._reading

    @reading.setter
    def reading(self, value: bool) -> None:
        if value != self._reading:
            self._reading = value
            if not self.closed:
                self._update_watch()

    def close(self) -> None:
        """Orderly teardown, as libqb's server does it: the client sees its rings
        detached and the setup socket hang up; every file is removed."""
        self._teardown(graceful=True)

    def abort(self) -> None:
        """Drop the connection as a crashed daemon would (no detach, just gone);
        the files are still removed, since this process is not really dead."""
        self._teardown(graceful=False)

    # -- what the loop uses ---------------------------------------------------------

    @abstractmethod
    def response_paths(self) -> tuple[str, str, str]:
        """The request/response/event fields of the connection response."""

    def activate(self) -> None:
        """Called once the connection response is sent: start polling, tell the service."""
        self._active = True
        self._update_watch()
        self._handler.connected(self)

    @abstractmethod
    def _update_watch(self) -> None:
        """(Re)register this connection's fds with the loop."""

    @abstractmethod
    def _release(self, graceful: bool) -> None:
        """Unmap, close and unlink the transport's own resources."""

    def _call_handler(self, data: bytes) -> None:
        try:
            self._handler.request(self, data)
        except Exception:
            log.exception("service handler failed on a request from pid %d", self.pid)
            self.close()

    def _teardown(self, graceful: bool) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError, ValueError):
            self._loop.unwatch(self.sock.fileno())
        if graceful:
            self._release(True)
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
        else:
            self.sock.close()
            self._release(False)
        remove_connection_dir(self.directory)
        if self._active:
            try:
                self._handler.disconnected(self)
            except Exception:
                log.exception("service handler failed on a disconnect")
        self._on_closed(self)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return (
            f"<{type(self).__name__} {self.id} pid={self.pid} uid={self.uid} "
            f"{self.directory} {state}>"
        )
