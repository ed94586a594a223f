"""libqb IPC, server side: a listening service any libqb client can talk to.

Theory of operation
-------------------
:class:`IpcServer` listens on a service's setup socket (abstract
``@<service>`` padded to 108 bytes, or ``/tmp/<service>`` when libqb's
force-filesystem-sockets file exists) and runs one single-threaded event
loop (``poll(2)``, timers, a wake-up pipe) that does what libqb's server
does for corosync (protocol.md §2.8):

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
   (:mod:`~pyquorum.ipc.server_shm`, :mod:`~pyquorum.ipc.server_socket`);
6. send the 12328-byte connection response, granting the client's
   ``max_msg_size``;
7. only then tell the service (``handler.connected``).

The service (a :class:`~pyquorum.ipc.server_conn.ServiceHandler`) gets
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

import concurrent.futures
import contextlib
import errno
import functools
import heapq
import itertools
import logging
import os
import select
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pyquorum.errors import RemoteProtocolError
from pyquorum.ipc.handshake import setup_address
from pyquorum.ipc.server_conn import (
    SHM_DIR,
    ClientCredentials,
    ServerConnection,
    ServiceHandler,
    make_connection_dir,
    remove_connection_dir,
)
from pyquorum.ipc.server_shm import ShmServerConnection
from pyquorum.ipc.server_socket import SocketServerConnection
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
    "ClientCredentials",
    "IpcServer",
    "ServerConnection",
    "ServiceHandler",
]

log = logging.getLogger("pyquorum.ipc.server")

T = TypeVar("T")

#: The largest max_msg_size this server grants; larger requests get -ENOMEM
#: (corosync would try to create rings of that size).
MAX_GRANTED_MSG_SIZE = 64 * 1024 * 1024

#: corosync's listen backlog.
_BACKLOG = 128

_UCRED = struct.Struct("=iII")
_CMSG_SPACE_UCRED = socket.CMSG_SPACE(_UCRED.size)

#: How long sending the connection response may take (it fits the socket
#: buffer of a fresh connection, so this only bounds a pathological case).
_HANDSHAKE_SEND_TIMEOUT = 1.0


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """Who may connect (protocol.md §2.2): root (uid 0 or gid 0) always, plus
    the listed uids and gids (corosync's ``uidgid`` entries)."""

    uids: frozenset[int] = frozenset()
    gids: frozenset[int] = frozenset()

    def allows(self, client: ClientCredentials) -> bool:
        return (
            client.uid == 0
            or client.gid == 0
            or client.uid in self.uids
            or client.gid in self.gids
        )


@dataclass(order=True)
class _TimerEntry:
    when: float
    seq: int
    fn: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


@dataclass(slots=True)
class _Pending:
    """An accepted socket whose connection request is still coming in."""

    sock: socket.socket
    buf: bytearray = field(default_factory=lambda: bytearray(CONNECTION_REQUEST_SIZE))
    got: int = 0
    credentials: ClientCredentials | None = None


class IpcServer:
    """A libqb IPC server for one service name.

    ``transport`` is ``ConnectionType.SHM`` (corosync's default) or
    ``ConnectionType.SOCKET``.  ``transform_handshake`` (hostile tests
    only) rewrites the encoded connection response before it is sent; a
    shortened one is sent and the connection then dropped.  ``data_size``
    (SHM, hostile tests only) overrides the size of the ring data files.

    Use :meth:`start` for a background thread, or :meth:`run` to serve in
    the calling thread until :meth:`stop` (which is safe from a signal
    handler and from any thread).
    """

    def __init__(
        self,
        handler: ServiceHandler,
        *,
        service: str = "quorum",
        transport: ConnectionType = ConnectionType.SHM,
        policy: AccessPolicy | None = None,
        shm_dir: str = SHM_DIR,
        transform_handshake: Callable[[bytes], bytes] | None = None,
        data_size: int | None = None,
    ) -> None:
        if transport not in (ConnectionType.SHM, ConnectionType.SOCKET):
            raise ValueError(f"transport must be SHM or SOCKET, not {transport!r}")
        self.handler = handler
        self.service = service
        self.transport = ConnectionType(transport)
        self.policy = policy if policy is not None else AccessPolicy()
        self.shm_dir = shm_dir
        self.transform_handshake = transform_handshake
        self.data_size = data_size
        #: False answers every new connection with -EAGAIN (corosync starting up).
        self.ready = True
        #: True accepts connections but never reads their requests, like a
        #: stopped daemon whose kernel still queues connections.
        self.stall_handshakes = False
        self.pid = os.getpid()
        self._connections: dict[int, ServerConnection] = {}
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)
        self._timers: list[_TimerEntry] = []
        self._timer_seq = itertools.count()
        self._soon: deque[Callable[[], None]] = deque()
        self._callbacks: dict[int, Callable[[int], None]] = {}
        self._poll = select.poll()
        self._listener: socket.socket | None = None
        self._path: str | None = None
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._loop_ident: int | None = None
        self._finished = threading.Event()
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
        return self._loop_ident is not None and not self._finished.is_set()

    def start(
        self, *, thread_setup: Callable[[], None] | None = None, timeout: float = 10.0
    ) -> None:
        """Serve from a daemon thread; return once listening (or raise why not).

        ``thread_setup`` runs first in that thread (e.g. to enter a network
        namespace); every socket of the server is created after it.
        """
        if self._thread is not None:
            raise RuntimeError("the server was already started")
        started: concurrent.futures.Future[None] = concurrent.futures.Future()

        def main() -> None:
            try:
                if thread_setup is not None:
                    thread_setup()
                self._listen()
            except BaseException as exc:
                started.set_exception(exc)
                self._finished.set()
                self._close_wake()
                return
            started.set_result(None)
            self._serve()

        self._thread = threading.Thread(
            target=main, name=f"pyquorum-ipc-server-{self.service}", daemon=True
        )
        self._thread.start()
        started.result(timeout)

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
        self._stopping = True
        if self._loop_ident is None and not self._finished.is_set():
            # Never listened: nothing to tear down but the wake-up pipe.
            self._finished.set()
            self._close_wake()
            return
        self._wake()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                raise TimeoutError("the IPC server thread did not stop in time")

    def __enter__(self) -> IpcServer:
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- cross-thread calls -------------------------------------------------------------

    def call_soon_threadsafe(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the loop thread soon (from any thread)."""
        self._soon.append(fn)
        self._wake()

    def call(self, fn: Callable[[], T], timeout: float | None = 10.0) -> T:
        """Run ``fn`` on the loop thread and return its result (from any thread)."""
        if threading.get_ident() == self._loop_ident or not self.running:
            return fn()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def task() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        self.call_soon_threadsafe(task)
        return future.result(timeout)

    def call_later(self, delay: float, fn: Callable[[], None]) -> _TimerEntry:
        """Run ``fn`` on the loop thread after ``delay`` seconds (loop thread only)."""
        entry = _TimerEntry(time.monotonic() + max(0.0, delay), next(self._timer_seq), fn)
        heapq.heappush(self._timers, entry)
        return entry

    def connections(self) -> list[ServerConnection]:
        """The connected clients (call on the loop thread, or through :meth:`call`)."""
        return list(self._connections.values())

    # -- the Loop interface the connections use ----------------------------------------------

    def watch(self, fd: int, events: int, callback: Callable[[int], None]) -> None:
        if fd in self._callbacks:
            self._poll.modify(fd, events)
        else:
            self._poll.register(fd, events)
        self._callbacks[fd] = callback

    def unwatch(self, fd: int) -> None:
        if self._callbacks.pop(fd, None) is not None:
            self._poll.unregister(fd)

    def connection_closed(self, conn: ServerConnection) -> None:
        if self._connections.pop(conn.id, None) is not None:
            self._count = len(self._connections)

    # -- listening -------------------------------------------------------------------------

    def _listen(self) -> None:
        self._loop_ident = threading.get_ident()
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
        self.watch(sock.fileno(), select.POLLIN, self._on_accept)
        self.watch(self._wake_r, select.POLLIN, self._on_wake)

    # -- the loop ------------------------------------------------------------------------------

    def _serve(self) -> None:
        self._loop_ident = threading.get_ident()
        try:
            while not self._stopping:
                for fd, revents in self._poll.poll(self._poll_timeout()):
                    callback = self._callbacks.get(fd)
                    if callback is not None:
                        self._guard(callback, revents)
                self._run_due()
        finally:
            self._shutdown()

    def _guard(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            log.exception("IPC server callback failed")

    def _poll_timeout(self) -> int | None:
        if self._soon or self._stopping:
            return 0
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        if not self._timers:
            return None
        return max(0, int((self._timers[0].when - time.monotonic()) * 1000.0 + 0.999))

    def _run_due(self) -> None:
        for _ in range(len(self._soon)):
            self._guard(self._soon.popleft())
        now = time.monotonic()
        while self._timers and self._timers[0].when <= now:
            entry = heapq.heappop(self._timers)
            if not entry.cancelled:
                self._guard(entry.fn)

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"\0")

    def _on_wake(self, revents: int) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self._wake_r, 4096):
                pass

    def _close_wake(self) -> None:
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _shutdown(self) -> None:
        for conn in list(self._connections.values()):
            self._guard(conn.close)
        for pending in list(self._pending.values()):
            self._drop_pending(pending)
        if self._listener is not None:
            with contextlib.suppress(OSError, ValueError):
                self.unwatch(self._listener.fileno())
            self._listener.close()
            self._listener = None
        if self._path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._path)
        with contextlib.suppress(OSError, ValueError):
            self.unwatch(self._wake_r)
        self._close_wake()
        self._count = 0
        self._finished.set()

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
            pending = _Pending(sock)
            self._pending[sock.fileno()] = pending
            if not self.stall_handshakes:
                on_request = functools.partial(self._on_request, pending)
                self.watch(sock.fileno(), select.POLLIN, on_request)

    def _drop_pending(self, pending: _Pending) -> None:
        fd = pending.sock.fileno()
        self._pending.pop(fd, None)
        with contextlib.suppress(OSError, ValueError):
            self.unwatch(fd)
        pending.sock.close()

    def _on_request(self, pending: _Pending, revents: int) -> None:
        view = memoryview(pending.buf)[pending.got :]
        try:
            nbytes, ancdata, _flags, _addr = pending.sock.recvmsg_into([view], _CMSG_SPACE_UCRED)
        except BlockingIOError:
            return
        except OSError:
            nbytes, ancdata = 0, []
        for level, kind, data in ancdata:
            if (
                level == socket.SOL_SOCKET
                and kind == socket.SCM_CREDENTIALS
                and len(data) >= _UCRED.size
                and pending.credentials is None
            ):
                pending.credentials = ClientCredentials(*_UCRED.unpack_from(data))
        if nbytes == 0:
            self._drop_pending(pending)
            return
        pending.got += nbytes
        if pending.got < CONNECTION_REQUEST_SIZE:
            return
        fd = pending.sock.fileno()
        self._pending.pop(fd, None)
        self.unwatch(fd)
        sock = pending.sock
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 0)
            request = decode_connection_request(bytes(pending.buf))
        except (OSError, RemoteProtocolError) as exc:
            log.info("dropping a connection attempt: %s", exc)
            sock.close()
            return
        credentials = pending.credentials or _peer_credentials(sock)
        self._establish(sock, credentials, request)

    def _establish(
        self, sock: socket.socket, client: ClientCredentials, request: ConnectionRequest
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
        conn: ServerConnection
        try:
            if self.transport == ConnectionType.SHM:
                conn = ShmServerConnection(
                    self, self.handler, sock, client, service=self.service,
                    directory=directory, max_msg_size=granted, conn_id=conn_id,
                    data_size=self.data_size,
                )
            else:
                conn = SocketServerConnection(
                    self, self.handler, sock, client, service=self.service,
                    directory=directory, max_msg_size=granted, conn_id=conn_id,
                )
        except OSError as exc:
            log.warning("cannot set up a connection for pid %d: %s", client.pid, exc)
            remove_connection_dir(directory)
            self._refuse(sock, -(exc.errno or errno.EIO))
            return
        request_path, response_path, event_path = conn.response_paths()
        raw = encode_connection_response(
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
        if self.transform_handshake is not None:
            raw = self.transform_handshake(raw)
        self._connections[conn_id] = conn
        self._count = len(self._connections)
        if not _send_handshake(sock, raw) or len(raw) < CONNECTION_RESPONSE_SIZE:
            conn.abort()
            return
        conn.activate()

    def _refuse(self, sock: socket.socket, error: int) -> None:
        raw = encode_connection_response(ConnectionResponse(error, 0, 0, 0, "", "", ""))
        if self.transform_handshake is not None:
            raw = self.transform_handshake(raw)
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


def _peer_credentials(sock: socket.socket) -> ClientCredentials:
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    return ClientCredentials(*_UCRED.unpack(raw))


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
