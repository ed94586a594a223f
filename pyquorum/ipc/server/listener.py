"""libqb IPC, server side: a listening service any libqb client can talk to.

Theory of operation
-------------------
:class:`IpcServer` listens on a service's setup socket (abstract
``@<service>`` padded to 108 bytes, or ``/tmp/<service>`` when libqb's
force-filesystem-sockets file exists) and runs one single-threaded event
loop (:class:`~pyquorum.ipc.server.loop.EventLoop`) that does what libqb's
server does for corosync (docs/protocol.md §2.8):

1. accept, make the socket non-blocking, turn ``SO_PASSCRED`` on;
2. read the 24-byte connection request with the client's
   ``SCM_CREDENTIALS`` (``SO_PEERCRED`` if none came), ``SO_PASSCRED`` off;
   anything but ``QB_IPC_MSG_AUTHENTICATE`` closes the socket;
3. mkdir ``/dev/shm/qb-<server pid>-<client pid>-<fd>-XXXXXX``;
4. authorise: uid 0 or gid 0, or a uid/gid the :class:`AccessPolicy`
   lists; anything else gets ``-EACCES`` (a server that is not
   :attr:`~IpcServer.ready` answers ``-EAGAIN`` first, like a corosync
   still starting); the directory goes again;
5. create the transport's files and sockets
   (:mod:`~pyquorum.ipc.server.shm_connection`,
   :mod:`~pyquorum.ipc.server.socket_connection`);
6. send the 12328-byte connection response, granting the client's
   ``max_msg_size``;
7. only then tell the service (``handler.connected``).

The service (a :class:`~pyquorum.ipc.server.connection.ServiceHandler`) gets
each request's bytes and answers with ``conn.send_response``; it sends
events with ``conn.send_event``.  Everything runs on the loop thread;
other threads use :meth:`IpcServer.call_soon_threadsafe` or
:meth:`IpcServer.call`.

Sockets belong to the network namespace of the thread that creates them,
so the loop thread creates every one of them: start the server with a
``thread_setup`` that enters a namespace and it serves ``@quorum`` there
(abstract names are per network namespace).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import itertools
import logging
import os
import select
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

from pyquorum.errors import RemoteProtocolError
from pyquorum.ipc.address import setup_address
from pyquorum.ipc.credentials import (
    CMSG_SPACE_UCRED,
    Credentials,
    from_ancdata,
    peer_credentials,
)
from pyquorum.ipc.server.connection import (
    ServerConnection,
    ServiceHandler,
    make_connection_dir,
    remove_connection_dir,
)
from pyquorum.ipc.server.loop import EventLoop, LoopThread, TimerHandle
from pyquorum.ipc.server.shm_connection import ShmServerConnection
from pyquorum.ipc.server.socket_connection import SocketServerConnection
from pyquorum.ipc.wire import SHM_DIR
from pyquorum.messages.constants import (
    CONNECTION_REQUEST_SIZE,
    CONNECTION_RESPONSE_SIZE,
    ConnectionType,
)
from pyquorum.messages.libqb import decode_connection_request, encode_connection_response
from pyquorum.messages.types import ConnectionRequest, ConnectionResponse

__all__ = [
    "MAX_GRANTED_MSG_SIZE",
    "AccessPolicy",
    "IpcServer",
    "PendingHandshake",
]

log = logging.getLogger("pyquorum.ipc.server")

T = TypeVar("T")

#: The largest max_msg_size this server grants; larger requests get -ENOMEM
#: (corosync would try to create rings of that size).
MAX_GRANTED_MSG_SIZE = 64 * 1024 * 1024

#: corosync's listen backlog.
_BACKLOG = 128

#: How long sending the connection response may take (it fits the socket
#: buffer of a fresh connection, so this only bounds a pathological case).
_HANDSHAKE_SEND_TIMEOUT = 1.0


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """Who may connect (docs/protocol.md §2.2): root (uid 0 or gid 0) always, plus
    the listed uids and gids (corosync's ``uidgid`` entries)."""

    uids: frozenset[int] = frozenset()
    gids: frozenset[int] = frozenset()

    def allows(self, client: Credentials) -> bool:
        return (
            client.uid == 0
            or client.gid == 0
            or client.uid in self.uids
            or client.gid in self.gids
        )


@dataclass(slots=True)
class PendingHandshake:
    """An accepted socket whose connection request is still coming in."""

    sock: socket.socket
    buf: bytearray = field(default_factory=lambda: bytearray(CONNECTION_REQUEST_SIZE))
    got: int = 0
    credentials: Credentials | None = None



class IpcServer:
    """A libqb IPC server for one service name: listener, handshake, registry.

    ``transport`` is ``ConnectionType.SHM`` (corosync's default) or
    ``ConnectionType.SOCKET``.  The loop (:attr:`loop`) is an
    :class:`~pyquorum.ipc.server.loop.EventLoop` of its own; the methods
    that run code on it (:meth:`call_soon_threadsafe`, :meth:`call`,
    :meth:`call_later`) are forwarded for the services' convenience.

    Use :meth:`start` for a background thread, or :meth:`run` to serve in
    the calling thread until :meth:`stop` (which is safe from a signal
    handler and from any thread).

    Subclasses (a test server) may override :meth:`_begin_handshake`,
    :meth:`_encode_response` and :attr:`connection_classes`.
    """

    #: The :class:`ServerConnection` class serving each transport.
    connection_classes: ClassVar[Mapping[ConnectionType, type[ServerConnection]]] = {
        ConnectionType.SHM: ShmServerConnection,
        ConnectionType.SOCKET: SocketServerConnection,
    }

    def __init__(
        self,
        handler: ServiceHandler,
        *,
        service: str = "quorum",
        transport: ConnectionType = ConnectionType.SHM,
        policy: AccessPolicy | None = None,
        shm_dir: str = SHM_DIR,
        loop: EventLoop | None = None,
    ) -> None:
        if transport not in (ConnectionType.SHM, ConnectionType.SOCKET):
            raise ValueError(f"transport must be SHM or SOCKET, not {transport!r}")
        self.handler = handler
        self.service = service
        self.transport = ConnectionType(transport)
        self.policy = policy if policy is not None else AccessPolicy()
        self.shm_dir = shm_dir
        #: False answers every new connection with -EAGAIN (corosync starting up).
        self.ready = True
        self.pid = os.getpid()
        #: Several servers may share one loop (one thread serving several
        #: services, as corosync does): see :mod:`pyquorum.ipc.server.group`.
        #: A server given its loop never closes it.
        self.loop = loop if loop is not None else EventLoop()
        self._owns_loop = loop is None
        self._connections: dict[int, ServerConnection] = {}
        self._pending: dict[int, PendingHandshake] = {}
        self._ids = itertools.count(1)
        self._listener: socket.socket | None = None
        self._path: str | None = None
        self._runner = LoopThread(self.loop, f"pyquorum-ipc-server-{service}")
        self._count = 0

    # -- lifecycle ----------------------------------------------------------------

    @property
    def address(self) -> str:
        """Where it listens, as people write it: ``@quorum`` or a path."""
        return self._path if self._path is not None else "@" + self.service

    @property
    def connection_count(self) -> int:
        """How many clients are connected (thread-safe snapshot)."""
        return self._count

    @property
    def running(self) -> bool:
        return self.loop.running

    def start(
        self, *, thread_setup: Callable[[], None] | None = None, timeout: float = 10.0
    ) -> None:
        """Serve from a daemon thread; return once listening (or raise why not).

        ``thread_setup`` runs first in that thread (e.g. to enter a network
        namespace); every socket of the server is created after it.
        """
        self._runner.start(self._listen, self._serve, thread_setup=thread_setup, timeout=timeout)

    def run(self) -> None:
        """Listen and serve in the calling thread until :meth:`stop`."""
        self.listen()
        self.serve_forever()

    def listen(self) -> None:
        """Bind and listen (in the calling thread's network namespace); OSError if taken."""
        self._listen()

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`stop` (after :meth:`listen`)."""
        self._serve()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving: every client is disconnected and every file removed.

        Thread-safe and idempotent; waits up to ``timeout`` for the loop
        thread started by :meth:`start`.
        """
        self._runner.stop(timeout)

    def __enter__(self) -> IpcServer:
        if not self._runner.started:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- running code on the loop ----------------------------------------------------

    def call_soon_threadsafe(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the loop thread soon (from any thread)."""
        self.loop.call_soon_threadsafe(fn)

    def call(self, fn: Callable[[], T], timeout: float | None = 10.0) -> T:
        """Run ``fn`` on the loop thread and return its result (from any thread)."""
        return self.loop.call(fn, timeout)

    def call_later(self, delay: float, fn: Callable[[], None]) -> TimerHandle:
        """Run ``fn`` on the loop thread after ``delay`` seconds (loop thread only)."""
        return self.loop.call_later(delay, fn)

    def connections(self) -> list[ServerConnection]:
        """The connected clients (call on the loop thread, or through :meth:`call`)."""
        return list(self._connections.values())

    def _connection_closed(self, conn: ServerConnection) -> None:
        if self._connections.pop(conn.id, None) is not None:
            self._count = len(self._connections)

    # -- listening -------------------------------------------------------------------------

    def _listen(self) -> None:
        self.loop.claim()
        address = setup_address(self.service)
        sock = socket.socket(
            socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC
        )
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            if isinstance(address, str):
                _remove_stale_socket(address)
            try:
                sock.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise OSError(
                        exc.errno,
                        f"another server (corosync?) already listens on {self.address} "
                        "in this network namespace",
                    ) from None
                raise
            if isinstance(address, str):
                self._path = address
            sock.listen(_BACKLOG)
        except BaseException:
            sock.close()
            raise
        self._listener = sock
        self.loop.watch(sock.fileno(), select.POLLIN, self._on_accept)

    def _serve(self) -> None:
        try:
            self.loop.run()
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        self.teardown()
        if self._owns_loop:
            self.loop.close()

    def teardown(self) -> None:
        """Disconnect every client, stop listening, remove the files (loop thread,
        after the loop stopped); the loop itself stays open."""
        for conn in list(self._connections.values()):
            self.loop.guard(conn.close)
        for pending in list(self._pending.values()):
            self._drop_pending(pending)
        if self._listener is not None:
            with contextlib.suppress(OSError, ValueError):
                self.loop.unwatch(self._listener.fileno())
            self._listener.close()
            self._listener = None
        if self._path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._path)
        self._count = 0

    # -- handshake -------------------------------------------------------------------------------

    def _on_accept(self, revents: int) -> None:
        assert self._listener is not None
        for _ in range(_BACKLOG):
            try:
                sock, _addr = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                # EMFILE and friends: corosync keeps listening too.
                log.warning("accept failed: %s", exc)
                return
            sock.setblocking(False)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            except OSError:
                sock.close()
                continue
            pending = PendingHandshake(sock)
            self._pending[sock.fileno()] = pending
            self._begin_handshake(pending)

    def _begin_handshake(self, pending: PendingHandshake) -> None:
        """Start reading the connection request of a socket just accepted."""
        on_request = functools.partial(self._on_request, pending)
        self.loop.watch(pending.sock.fileno(), select.POLLIN, on_request)

    def _drop_pending(self, pending: PendingHandshake) -> None:
        fd = pending.sock.fileno()
        self._pending.pop(fd, None)
        with contextlib.suppress(OSError, ValueError):
            self.loop.unwatch(fd)
        pending.sock.close()

    def _on_request(self, pending: PendingHandshake, revents: int) -> None:
        view = memoryview(pending.buf)[pending.got :]
        try:
            nbytes, ancdata, _flags, _addr = pending.sock.recvmsg_into([view], CMSG_SPACE_UCRED)
        except BlockingIOError:
            return
        except OSError:
            nbytes, ancdata = 0, []
        if pending.credentials is None:
            pending.credentials = from_ancdata(ancdata)
        if nbytes == 0:
            self._drop_pending(pending)
            return
        pending.got += nbytes
        if pending.got < CONNECTION_REQUEST_SIZE:
            return
        fd = pending.sock.fileno()
        self._pending.pop(fd, None)
        self.loop.unwatch(fd)
        sock = pending.sock
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 0)
            request = decode_connection_request(bytes(pending.buf))
        except (OSError, RemoteProtocolError) as exc:
            log.info("dropping a connection attempt: %s", exc)
            sock.close()
            return
        credentials = pending.credentials or peer_credentials(sock)
        self._establish(sock, credentials, request)

    def _establish(
        self, sock: socket.socket, client: Credentials, request: ConnectionRequest
    ) -> None:
        try:
            directory = make_connection_dir(self.shm_dir, self.pid, client, sock.fileno())
        except OSError as exc:
            self._refuse(sock, -(exc.errno or errno.EIO))
            return
        error = 0
        if not self.ready:
            error = -errno.EAGAIN
        elif not self.policy.allows(client):
            error = -errno.EACCES
        elif request.max_msg_size <= 0:
            error = -errno.EINVAL
        elif request.max_msg_size > MAX_GRANTED_MSG_SIZE:
            error = -errno.ENOMEM
        if error:
            remove_connection_dir(directory)
            self._refuse(sock, error)
            return
        # corosync sets no minimum, so the client's size is granted as asked.
        granted = request.max_msg_size
        conn_id = next(self._ids)
        try:
            conn = self._new_connection(
                sock, client, directory=directory, max_msg_size=granted, conn_id=conn_id
            )
        except OSError as exc:
            log.warning("cannot set up a connection for pid %d: %s", client.pid, exc)
            remove_connection_dir(directory)
            self._refuse(sock, -(exc.errno or errno.EIO))
            return
        request_path, response_path, event_path = conn.response_paths()
        raw = self._encode_response(
            ConnectionResponse(
                error=0,
                connection_type=self.transport,
                max_msg_size=granted,
                connection=conn_id,
                request=request_path,
                response=response_path,
                event=event_path,
            )
        )
        self._connections[conn_id] = conn
        self._count = len(self._connections)
        # A response shorter than libqb's would leave the client waiting: drop it.
        if not _send_handshake(sock, raw) or len(raw) < CONNECTION_RESPONSE_SIZE:
            conn.abort()
            return
        conn.activate()

    def _new_connection(
        self,
        sock: socket.socket,
        client: Credentials,
        *,
        directory: str,
        max_msg_size: int,
        conn_id: int,
    ) -> ServerConnection:
        """Create the transport's files and sockets for a client being accepted."""
        return self.connection_classes[self.transport](
            self.loop, self.handler, sock, client, service=self.service,
            directory=directory, max_msg_size=max_msg_size, conn_id=conn_id,
            on_closed=self._connection_closed,
        )

    def _encode_response(self, response: ConnectionResponse) -> bytes:
        """The connection response's bytes, as they go on the setup socket."""
        return encode_connection_response(response)

    def _refuse(self, sock: socket.socket, error: int) -> None:
        raw = self._encode_response(ConnectionResponse(error, 0, 0, 0, "", "", ""))
        _send_handshake(sock, raw)
        sock.close()


def _send_handshake(sock: socket.socket, raw: bytes) -> bool:
    try:
        sock.settimeout(_HANDSHAKE_SEND_TIMEOUT)
        sock.sendall(raw, socket.MSG_NOSIGNAL)
        sock.setblocking(False)
    except OSError as exc:
        log.info("connection response not delivered: %s", exc)
        return False
    return True


def _remove_stale_socket(path: str) -> None:
    """Unlink a path socket nobody listens on any more (libqb's servers do the same)."""
    if not os.path.exists(path):
        return
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        probe.connect(path)
    except ConnectionRefusedError:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    except OSError:
        pass
    finally:
        probe.close()
