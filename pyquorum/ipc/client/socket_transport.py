"""libqb's socket transport (connection_type 0, ``qb_ipc_type: socket``).

Each direction is a unix datagram socket, one datagram per message, plus a
24-byte shared control file.  The connection response names the control
file (``request`` field) and a base name B (``response`` field); we bind
``B-response`` / ``B-event`` and connect to the server's ``B-request`` /
``B-event-tx``.  Both binds must happen before the first request: corosync
connects to our names lazily and stalls (10 × 100 ms) if they are missing.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import select
import socket
import threading
import time

from pyquorum._deadline import Deadline
from pyquorum.errors import (
    CsTimeoutError,
    RemoteProtocolError,
    TooBigError,
    TryAgainError,
)
from pyquorum.ipc.address import SOCKET_DIR, abstract_address, filesystem_sockets_forced
from pyquorum.ipc.client.handshake import Handshake
from pyquorum.ipc.client.transport import ClientTransport, map_server_file
from pyquorum.ipc.client.trust import (
    RESOURCE_ERRNOS,
    check_base_name,
    local_error,
    remove_server_file,
)
from pyquorum.ipc.wire import (
    CONTROL_I32,
    CONTROL_SIZE,
    FC_REFUSE,
    REQ_FLOW_CONTROL,
    REQ_SENT,
    wrap_i32,
)

__all__ = ["SocketTransport"]

_HANGUP = select.POLLHUP | select.POLLERR | select.POLLNVAL


def _receive_buffer(size: int) -> mmap.mmap:
    """An anonymous mapping to receive datagrams of up to ``size`` bytes into."""
    try:
        return mmap.mmap(-1, size)
    except OSError as exc:
        raise local_error(exc, f"cannot map a {size}-byte receive buffer") from None


class SocketTransport(ClientTransport):
    """Client side of libqb's datagram-socket transport."""

    def __init__(self, handshake: Handshake) -> None:
        super().__init__(handshake)
        resp = handshake.response
        self._control_path = resp.request
        self._bound_paths: list[str] = []
        self._ctl: mmap.mmap | None = None
        self._req: socket.socket | None = None
        self._evt: socket.socket | None = None
        self._epoll: select.epoll | None = None
        try:
            self._ctl = map_server_file(
                self._control_path,
                "control file",
                "request",
                CONTROL_SIZE,
                CONTROL_SIZE,
                owners=self.owners,
            )
            base = resp.response
            check_base_name(base, "response")
            if base.startswith("/") and os.path.dirname(base) != os.path.dirname(
                self._control_path
            ):
                raise RemoteProtocolError(
                    f"socket base name {base!r} is not beside the control file "
                    f"{self._control_path!r}",
                    data=os.fsencode(base),
                    field="response",
                )
            self._req = self._dgram(base + "-response", base + "-request")
            self._evt = self._dgram(base + "-event", base + "-event-tx")
        except BaseException:
            self.close()
            raise
        # The epoll fd of fileno() is made by its first call, under this lock
        # (a session that never polls, or lives for one request, skips it).
        self._epoll_lock = threading.Lock()
        # One receive buffer per path: responses and events are read from
        # different threads (under different connection locks).  Anonymous
        # mappings rather than bytearrays: the kernel supplies zero pages on
        # first touch, so a connection does not memset 2 MiB it rarely uses.
        # The event one is made by the first recv_event.
        self._evt_buf: mmap.mmap | None = None
        try:
            self._req_buf = _receive_buffer(self.max_msg_size)
        except BaseException:
            self.close()
            raise
        self._req_poll = select.poll()
        self._req_poll.register(self._req, select.POLLIN)
        self._req_poll.register(self.setup, select.POLLIN)
        self._evt_poll = select.poll()
        self._evt_poll.register(self._evt, select.POLLIN)
        self._evt_poll.register(self.setup, select.POLLIN)
        self._closed = False

    def _address(self, name: str) -> bytes | str:
        # Absolute base names (libqb >= 1.0.4) are always abstract; the
        # relative ones of older libqb become path sockets when forced.
        if not name.startswith("/") and filesystem_sockets_forced():
            return os.path.join(SOCKET_DIR, name)
        try:
            return abstract_address(name)
        except ValueError:
            raise RemoteProtocolError(
                "socket base name too long for sun_path", data=os.fsencode(name), field="response"
            ) from None

    def _dgram(self, local: str, remote: str) -> socket.socket:
        try:
            sock = socket.socket(
                socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
            )
        except OSError as exc:
            raise local_error(exc, "cannot open a datagram socket for corosync") from None
        try:
            local_addr = self._address(local)
            if isinstance(local_addr, str):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(local_addr)
                self._bound_paths.append(local_addr)
            try:
                sock.bind(local_addr)
            except OSError as exc:
                if exc.errno in RESOURCE_ERRNOS:
                    raise local_error(exc, f"cannot bind {local!r}") from None
                raise RemoteProtocolError(
                    f"cannot bind the socket name corosync chose, {local!r}: {exc.strerror}",
                    data=os.fsencode(local),
                    field="response",
                ) from None
            try:
                sock.connect(self._address(remote))
            except (ConnectionRefusedError, FileNotFoundError):
                raise self.lost_error(f"server socket {remote!r} is gone") from None
            except OSError as exc:
                if exc.errno in RESOURCE_ERRNOS:
                    raise local_error(exc, f"cannot connect to {remote!r}") from None
                raise self.lost_error(f"cannot connect to {remote!r}: {exc.strerror}") from None
            for opt in (socket.SO_SNDBUF, socket.SO_RCVBUF):
                if sock.getsockopt(socket.SOL_SOCKET, opt) <= self.max_msg_size:
                    sock.setsockopt(socket.SOL_SOCKET, opt, self.max_msg_size)
        except BaseException:
            sock.close()
            raise
        return sock

    # -- data path ---------------------------------------------------------

    def send(self, data: bytes, deadline: Deadline) -> None:
        assert self._ctl is not None and self._req is not None
        if len(data) > self.max_msg_size:
            raise TooBigError(
                f"request of {len(data)} bytes exceeds max_msg_size {self.max_msg_size}"
            )
        # No poll of the setup socket here: a send to a dead server fails
        # with ECONNREFUSED, and the wait for the response polls it anyway.
        if self.lost:
            raise self.lost_error("the daemon hung up earlier")
        if CONTROL_I32.unpack_from(self._ctl, REQ_FLOW_CONTROL)[0] == FC_REFUSE:
            raise TryAgainError("corosync asks clients to hold off (flow control); try again")
        # ctl[0].sent tells the server how many datagrams to read per wake-up.
        # Raised before the send so the server's decrement (after its read)
        # can never run first; with one request in flight nothing else races.
        # The counter is the daemon's to corrupt: like libqb's atomic add it
        # wraps at INT32_MAX (and the rollback wraps back), never overflows.
        sent = CONTROL_I32.unpack_from(self._ctl, REQ_SENT)[0]
        CONTROL_I32.pack_into(self._ctl, REQ_SENT, wrap_i32(sent + 1))
        try:
            self._send_datagram(data, deadline)
        except BaseException:
            cur = CONTROL_I32.unpack_from(self._ctl, REQ_SENT)[0]
            CONTROL_I32.pack_into(self._ctl, REQ_SENT, wrap_i32(cur - 1))
            raise

    def _send_datagram(self, data: bytes, deadline: Deadline) -> None:
        assert self._req is not None
        while True:
            try:
                self._req.send(data)
                return
            except BlockingIOError:
                pass  # the server's receive queue is full (net.unix.max_dgram_qlen)
            except (ConnectionRefusedError, ConnectionResetError, BrokenPipeError) as exc:
                raise self.lost_error(f"sending failed: {exc.strerror}") from None
            except OSError as exc:
                if exc.errno in RESOURCE_ERRNOS or exc.errno == errno.ENOBUFS:
                    raise local_error(exc, "sending a request to corosync") from None
                raise self.lost_error(f"sending failed: {exc.strerror}") from None
            poller = select.poll()
            poller.register(self._req, select.POLLOUT)
            poller.register(self.setup, select.POLLIN)
            # The setup socket is in the set: a hang-up ends the wait.
            left = deadline.remaining()
            for fd, revents in poller.poll(None if left is None else left * 1000.0):
                if fd == self.setup.fileno() and revents:
                    raise self.lost_error("the daemon hung up")
            if deadline.expired():
                raise CsTimeoutError("timed out: corosync is not reading requests")

    def _recv(
        self, sock: socket.socket, buf: mmap.mmap, poller: select.poll, deadline: Deadline
    ) -> bytes | None:
        setup_fd = self.setup.fileno()
        # Poll before the first recv: a reply is rarely there already, and a
        # failed non-blocking recv costs a syscall and a Python exception.
        # (With no time left, just try once.)
        readable = deadline.expired() or self._poll(poller, setup_fd, deadline)
        looked_after_expiry = False
        while True:
            if readable:
                data = self._try_recv(sock, buf)
                if data is not None:
                    return data
            if self.lost:
                raise self.lost_error("the daemon hung up earlier")
            if deadline.expired():
                # Look at the setup socket once even then (poll 0): a caller
                # that polls fileno() and reads with timeout 0 must learn of a
                # hang-up, or it would find the fd readable again, for ever.
                if looked_after_expiry:
                    return None
                looked_after_expiry = True
            readable = self._poll(poller, setup_fd, deadline)

    def _try_recv(self, sock: socket.socket, buf: mmap.mmap) -> bytes | None:
        """One non-blocking receive: the datagram, or None if none is queued."""
        try:
            # MSG_TRUNC makes recv report the datagram's real length, so an
            # oversized one is detected instead of silently cut.
            n = sock.recv_into(buf, 0, socket.MSG_TRUNC)
        except BlockingIOError:
            return None
        except OSError as exc:
            # Whatever the reason, the datagram (a response that may be owed)
            # is lost with it: the connection cannot go on.
            raise self.lost_error(f"receiving failed: {exc.strerror}") from None
        if n > len(buf):
            raise self.lost_error(
                f"received a {n}-byte datagram, over max_msg_size {self.max_msg_size}"
            )
        return bytes(buf[:n])

    def _spin_recv(self, sock: socket.socket, buf: mmap.mmap, seconds: float) -> bytes | None:
        """Receive without sleeping for up to ``seconds`` (see pyquorum.ipc.client._spin)."""
        if seconds <= 0:
            return None
        clock = time.perf_counter
        end = clock() + seconds
        while True:
            data = self._try_recv(sock, buf)
            if data is not None or clock() >= end:
                return data

    def _poll(self, poller: select.poll, setup_fd: int, deadline: Deadline) -> bool:
        """Wait until the data socket is readable, the daemon hangs up or the deadline passes.

        True if the data socket became readable.  No timer: the setup
        socket is polled with the data socket, and it reports the daemon's
        death (docs/protocol.md §5.2), so there is nothing to look at
        between wake-ups.
        """
        readable = False
        left = deadline.remaining()
        for fd, revents in poller.poll(None if left is None else left * 1000.0):
            if fd == setup_fd:
                # Nothing is ever written to the setup socket after the
                # handshake in this transport: readable means EOF.
                if revents & (select.POLLIN | _HANGUP):
                    self.lost = True
            elif revents:
                readable = True
        return readable

    def recv_response(self, deadline: Deadline) -> bytes:
        assert self._req is not None
        data = self._spin_recv(self._req, self._req_buf, deadline.slice(self.response_spin))
        if data is None:
            data = self._recv(self._req, self._req_buf, self._req_poll, deadline)
        if data is None:
            raise CsTimeoutError("timed out waiting for corosync's response")
        return data

    def try_event(self) -> bytes | None:
        assert self._evt is not None
        if self._evt_buf is None:
            self._evt_buf = _receive_buffer(self.max_msg_size)
        return self._try_recv(self._evt, self._evt_buf)

    def recv_event(self, deadline: Deadline) -> bytes | None:
        assert self._evt is not None
        if self._evt_buf is None:
            self._evt_buf = _receive_buffer(self.max_msg_size)
        return self._recv(self._evt, self._evt_buf, self._evt_poll, deadline)

    def fileno(self) -> int:
        with self._epoll_lock:
            if self._epoll is None:
                if self._closed:
                    raise ValueError("fileno() of a closed transport")
                assert self._evt is not None
                # One fd for callers to poll: readable on an event or on a
                # hang-up of the setup socket (the event socket alone would
                # not notice a dead daemon).
                try:
                    epoll = select.epoll()
                except OSError as exc:
                    raise local_error(exc, "cannot make the connection's event fd") from None
                try:
                    epoll.register(self._evt, select.EPOLLIN)
                    epoll.register(self.setup, select.EPOLLIN | select.EPOLLRDHUP)
                except BaseException:
                    epoll.close()
                    raise
                self._epoll = epoll
            return self._epoll.fileno()

    def close(self) -> None:
        if getattr(self, "_closed", False):
            return
        self._closed = True
        with getattr(self, "_epoll_lock", contextlib.nullcontext()):
            if self._epoll is not None:
                self._epoll.close()
        for sock in (self._evt, self._req):
            if sock is not None:
                sock.close()
        self.close_setup()
        for path in self._bound_paths:
            with contextlib.suppress(OSError):
                os.unlink(path)
        checked = self._ctl is not None  # mapped, so its path passed the checks
        if self._ctl is not None:
            self._ctl.close()
        for buf in (getattr(self, "_req_buf", None), getattr(self, "_evt_buf", None)):
            if buf is not None:
                buf.close()
        # libqb's client removes the control file and its directory itself in
        # this transport (the server also tries; whoever is second gets ENOENT).
        # Only a path that passed the trust checks, and never through a link.
        if checked:
            remove_server_file(self._control_path)
