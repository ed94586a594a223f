"""libqb's socket transport, server side (connection_type 0).

Per connection (docs/protocol.md §4): a 24-byte control file
``<dir>/qb-control-<service>`` (three ``{i32 sent; i32 flow_control}``
records) and two datagram sockets bound, *before* the connection response
goes out, to the abstract names ``B-request`` and ``B-event-tx`` where B
is ``<dir>/qb-<service>``.  The server connects to the client's
``B-response`` lazily when it first answers, and to ``B-event`` when it
first sends an event; libqb retries that connect for up to 1 s
(10 × 100 ms), and so does this server, without blocking its loop.

``ctl[0].sent`` is the client's count of requests sent; the server reads
up to min(sent, 5) datagrams per wake-up (at least one) and decrements it
per datagram.  A datagram the client's queue cannot take
(``net.unix.max_dgram_qlen``) is queued and sent when the socket drains.
Nothing is written to the setup socket after the handshake: it only tells
the server that the client went away.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import select
import socket
import time
from collections import deque
from typing import Literal

from pyquorum.ipc.address import abstract_address
from pyquorum.ipc.disconnect import is_disconnect_request
from pyquorum.ipc.mapping import map_shared_fd
from pyquorum.ipc.server.connection import (
    REQUESTS_PER_WAKEUP,
    ServerConnection,
    Timer,
    create_file,
)
from pyquorum.ipc.wire import CONTROL_I32, CONTROL_SIZE, REQ_SENT, wrap_i32
from pyquorum.messages.constants import ConnectionType

__all__ = ["Outgoing", "SocketServerConnection"]

log = logging.getLogger("pyquorum.ipc.server")

#: libqb's server retries connecting to a client's socket 10 × 100 ms.
_CONNECT_RETRY = 0.1
_CONNECT_PATIENCE = 1.0

#: The two directions a server sends in, each over its own datagram socket.
Outgoing = Literal["response", "event"]


class _Peer:
    """One outgoing direction: our bound socket, the client's name, a queue."""

    __slots__ = ("connected", "first_try", "name", "queue", "sock")

    def __init__(self, sock: socket.socket, name: str) -> None:
        self.sock = sock
        self.name = name
        self.connected = False
        self.first_try: float | None = None
        self.queue: deque[bytes] = deque()


def _dgram(name: str, max_msg_size: int) -> socket.socket:
    sock = socket.socket(
        socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC
    )
    try:
        sock.bind(abstract_address(name))
        for opt in (socket.SO_SNDBUF, socket.SO_RCVBUF):
            if sock.getsockopt(socket.SOL_SOCKET, opt) <= max_msg_size:
                sock.setsockopt(socket.SOL_SOCKET, opt, max_msg_size)
    except BaseException:
        sock.close()
        raise
    return sock


class SocketServerConnection(ServerConnection):
    """A client served over datagram sockets and a control file."""

    transport = ConnectionType.SOCKET

    def _open_transport(self) -> None:
        directory, service = self.directory, self.service
        max_msg_size, credentials = self.max_msg_size, self.credentials
        self._base = os.path.join(directory, f"qb-{service}")
        self._control_path = os.path.join(directory, f"qb-control-{service}")
        fd = create_file(directory, f"qb-control-{service}", CONTROL_SIZE, credentials)
        try:
            self._ctl = map_shared_fd(fd, CONTROL_SIZE)  # holds no fd (docs/protocol.md §3.12)
        finally:
            os.close(fd)
        self._socks: list[socket.socket] = []
        try:
            self._req = _dgram(self._base + "-request", max_msg_size)
            self._socks.append(self._req)
            evt = _dgram(self._base + "-event-tx", max_msg_size)
            self._socks.append(evt)
        except BaseException:
            self._release(False)
            raise
        self._peers: dict[Outgoing, _Peer] = {
            "response": _Peer(self._req, self._base + "-response"),
            "event": _Peer(evt, self._base + "-event"),
        }
        self._buf = bytearray(max_msg_size + 1)
        self._retry: Timer | None = None

    def response_paths(self) -> tuple[str, str, str]:
        return (self._control_path, self._base, "")

    # -- polling ---------------------------------------------------------------

    def _update_watch(self) -> None:
        # The setup socket only ever says "gone" (EOF or hang-up) here.
        self._loop.watch(self.sock.fileno(), select.POLLIN, self._on_setup)
        req_events = select.POLLIN if self._reading else 0
        if self._peers["response"].queue and self._peers["response"].connected:
            req_events |= select.POLLOUT
        self._loop.watch(self._req.fileno(), req_events, self._on_request)
        evt = self._peers["event"]
        if evt.queue and evt.connected:
            self._loop.watch(evt.sock.fileno(), select.POLLOUT, self._on_event_sock)
        else:
            self._loop.unwatch(evt.sock.fileno())

    def _on_setup(self, revents: int) -> None:
        try:
            data = self.sock.recv(4096, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.close()

    def _on_request(self, revents: int) -> None:
        if revents & select.POLLERR:
            self._clear_error(self._req)
        if revents & select.POLLOUT:
            self._flush("response")
        if self.closed or not (revents & select.POLLIN) or not self._reading:
            return
        pending = CONTROL_I32.unpack_from(self._ctl, REQ_SENT)[0]
        for _ in range(max(1, min(pending, REQUESTS_PER_WAKEUP))):
            try:
                n = self._req.recv_into(self._buf, 0, socket.MSG_TRUNC)
            except BlockingIOError:
                return
            except OSError as exc:
                log.info("closing connection of pid %d: %s", self.pid, exc)
                self.close()
                return
            sent = CONTROL_I32.unpack_from(self._ctl, REQ_SENT)[0]
            # Wraps as libqb's atomic decrement does (the client may have wrapped it).
            CONTROL_I32.pack_into(self._ctl, REQ_SENT, wrap_i32(sent - 1))
            if n == 0 or n > self.max_msg_size:
                log.info("closing connection of pid %d: %d-byte request", self.pid, n)
                self.close()
                return
            data = bytes(self._buf[:n])
            if is_disconnect_request(data):
                self.close()
                return
            self._call_handler(data)
            if self.closed or not self._reading:
                return

    def _on_event_sock(self, revents: int) -> None:
        if revents & select.POLLERR:
            self._clear_error(self._peers["event"].sock)
        if revents & select.POLLOUT:
            self._flush("event")

    @staticmethod
    def _clear_error(sock: socket.socket) -> None:
        # A datagram peer that went away leaves ECONNRESET pending; the setup
        # socket decides when the client is gone, so just clear it.
        with contextlib.suppress(OSError):
            sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)

    # -- sending -----------------------------------------------------------------

    def send_response(self, data: bytes) -> None:
        self._send("response", data)

    def send_event(self, data: bytes) -> None:
        self._send("event", data)

    def _send(self, kind: Outgoing, data: bytes) -> None:
        if self.closed:
            return
        peer = self._peers[kind]
        peer.queue.append(data)
        self._flush(kind)

    def _flush(self, kind: Outgoing) -> None:
        peer = self._peers[kind]
        if not peer.connected and not self._connect(peer):
            return
        while peer.queue:
            try:
                peer.sock.send(peer.queue[0])
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.EMSGSIZE:
                    log.warning("dropping a %d-byte %s: %s", len(peer.queue[0]), kind, exc)
                    peer.queue.popleft()
                    continue
                log.info("closing connection of pid %d: %s failed: %s", self.pid, kind, exc)
                self.close()
                return
            peer.queue.popleft()
        if not self.closed:
            self._update_watch()

    def _connect(self, peer: _Peer) -> bool:
        try:
            peer.sock.connect(abstract_address(peer.name))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            now = time.monotonic()
            if peer.first_try is None:
                peer.first_try = now
            if now - peer.first_try >= _CONNECT_PATIENCE:
                log.info("closing connection of pid %d: cannot reach %s: %s",
                         self.pid, peer.name, exc.strerror)
                self.close()
            elif self._retry is None:
                self._retry = self._loop.call_later(_CONNECT_RETRY, self._retry_connect)
            return False
        peer.connected = True
        return True

    def _retry_connect(self) -> None:
        self._retry = None
        kinds: tuple[Outgoing, ...] = ("response", "event")
        for kind in kinds:
            if not self.closed and self._peers[kind].queue:
                self._flush(kind)

    # -- teardown -------------------------------------------------------------------

    def _release(self, graceful: bool) -> None:
        if getattr(self, "_retry", None) is not None:
            assert self._retry is not None
            self._retry.cancel()
            self._retry = None
        for sock in self._socks:
            with contextlib.suppress(OSError, ValueError):
                self._loop.unwatch(sock.fileno())
            sock.close()
        self._socks = []
        self._ctl.close()
        # The client unlinks the control file too (libqb does both); second one loses.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._control_path)

