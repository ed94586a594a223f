"""A libqb IPC client connection to one corosync service, for any service name.

This is the surface the quorum session (and anything else) uses: one
request at a time with its one response, events as they come, an fd to
poll, and a close that never leaves files behind.  It serialises callers
so one connection may be shared by threads: requests under one lock,
event reads under another, so a thread blocked waiting for events does
not hold up a request made from another thread.
"""

from __future__ import annotations

import threading

from pyquorum._deadline import Deadline
from pyquorum.errors import (
    BadHandleError,
    ConnectionLost,
    CsTimeoutError,
    InterruptError,
    PyquorumError,
    TooBigError,
    TryAgainError,
)
from pyquorum.ipc.client import handshake as _handshake
from pyquorum.ipc.client.transport import ClientTransport
from pyquorum.ipc.credentials import Credentials
from pyquorum.messages.constants import DEFAULT_MAX_MSG_SIZE, ConnectionType

__all__ = ["ABANDON_POLL", "DEFAULT_CONNECT_TIMEOUT", "IpcConnection"]

#: How long a handshake may take by default.  libqb waits forever; a wedged
#: daemon must not hang a caller that did not ask for a timeout.
DEFAULT_CONNECT_TIMEOUT = 10.0

#: Failures after which the connection stays usable: nothing was sent, or the
#: response is owed and will be discarded (or the transport knows it is lost).
#: Any other PyquorumError from the transport leaves it broken for good.
_KEEPS_CONNECTION = (CsTimeoutError, InterruptError, TryAgainError, TooBigError, ConnectionLost)

#: How often a request given an ``abandon`` event looks at it while waiting.
ABANDON_POLL = 0.02


class IpcConnection:
    """A connected libqb IPC client.  Create with :meth:`connect`."""

    def __init__(self, transport: ClientTransport, credentials: Credentials | None,
                 connection_type: ConnectionType) -> None:
        self._transport = transport
        self.credentials = credentials
        self.connection_type = connection_type
        self._request_lock = threading.RLock()
        self._event_lock = threading.RLock()
        self._owed_responses = 0
        self._broken: BaseException | None = None
        self._closed = False

    @classmethod
    def connect(
        cls,
        service: str = "quorum",
        *,
        max_msg_size: int = DEFAULT_MAX_MSG_SIZE,
        timeout: float | None = DEFAULT_CONNECT_TIMEOUT,
    ) -> IpcConnection:
        """Connect to corosync's ``service`` in this network namespace.

        ``max_msg_size`` is what we ask for; corosync grants it as asked, and
        a value smaller than the largest notification would silently stop
        event delivery for good, so values under 12328 are refused.
        """
        if not 12328 <= max_msg_size <= 0x7FFFFFFF:
            raise ValueError("max_msg_size must be between 12328 and 2**31-1")
        hs = _handshake.connect(service, max_msg_size=max_msg_size, timeout=timeout)
        transport: ClientTransport
        try:
            # Each transport is imported when first used: a process needs one of
            # them (the daemon's configuration picks it), and the other's code
            # would cost its start-up for nothing.
            if hs.connection_type == ConnectionType.SHM:
                from pyquorum.ipc.client.shm_transport import ShmTransport

                transport = ShmTransport(hs)
            else:
                from pyquorum.ipc.client.socket_transport import SocketTransport

                transport = SocketTransport(hs)
        except BaseException:
            hs.sock.close()
            raise
        return cls(transport, hs.credentials, hs.connection_type)

    # -- properties --------------------------------------------------------

    @property
    def max_msg_size(self) -> int:
        """The size the server granted; every channel of the connection uses it."""
        return self._transport.max_msg_size

    @property
    def server_pid(self) -> int | None:
        return self._transport.server_pid

    @property
    def service(self) -> str:
        return self._transport.service

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def lost(self) -> bool:
        """Whether the daemon is known to be gone (the connection is then useless)."""
        return self._transport.lost or self._broken is not None

    # -- operations --------------------------------------------------------

    def _check_usable(self) -> None:
        if self._closed:
            raise BadHandleError("the connection is closed")
        if self._broken is not None:
            raise ConnectionLost(
                f"the connection is unusable after an earlier failure: {self._broken}"
            )

    def request(
        self,
        data: bytes,
        timeout: float | None = None,
        *,
        abandon: threading.Event | None = None,
    ) -> bytes:
        """Send one request and return its response.

        A request whose response does not come by ``timeout`` raises
        CsTimeoutError; that response is still owed, and is discarded when it
        arrives, before the next request's response is read.

        ``abandon`` lets another thread give the call up (an asyncio task
        that was cancelled): it is looked at every :data:`ABANDON_POLL`
        seconds while the call waits for the connection or for the response.
        Once it is set the call raises InterruptError: nothing was sent if
        it was still waiting its turn; otherwise the response is owed, as
        after a timeout.  Either way the connection stays usable.
        """
        deadline = Deadline(timeout)
        self._acquire_request_lock(deadline, abandon)
        try:
            self._check_usable()
            try:
                while self._owed_responses:
                    self._recv_response(deadline, abandon)
                    self._owed_responses -= 1
                if abandon is not None and abandon.is_set():
                    raise InterruptError("request abandoned before it was sent")
                self._transport.send(data, deadline)
                try:
                    return self._recv_response(deadline, abandon)
                except (CsTimeoutError, InterruptError):
                    self._owed_responses += 1
                    raise
            except _KEEPS_CONNECTION:
                raise
            except PyquorumError as exc:
                # Framing is lost (bad magic or length), or the shared state
                # is corrupt (a semaphore at its limit): libqb drops such a
                # connection too.  A request may be half sent, so no later
                # response could be matched to its request.
                self._broken = exc
                raise
        finally:
            self._request_lock.release()

    def _acquire_request_lock(self, deadline: Deadline, abandon: threading.Event | None) -> None:
        if abandon is None:
            left = deadline.remaining()
            if self._request_lock.acquire(timeout=-1 if left is None else left):
                return
        else:
            while not abandon.is_set():
                if self._request_lock.acquire(timeout=deadline.slice(ABANDON_POLL)):
                    return
                if deadline.expired():
                    break
            else:
                raise InterruptError("request abandoned while waiting for another one to finish")
        raise CsTimeoutError("timed out waiting for another thread's request to finish")

    def _recv_response(self, deadline: Deadline, abandon: threading.Event | None) -> bytes:
        if abandon is None:
            return self._transport.recv_response(deadline)
        while True:
            if abandon.is_set():
                raise InterruptError("request abandoned while waiting for its response")
            try:
                # A short wait leaves the response in place when it times out.
                return self._transport.recv_response(Deadline(deadline.slice(ABANDON_POLL)))
            except CsTimeoutError:
                if deadline.expired():
                    raise

    def recv_event(self, timeout: float | None = None) -> bytes | None:
        """The next event's bytes, or None if none came within ``timeout`` (0 polls)."""
        if timeout is not None and not timeout >= 0:
            Deadline(timeout)  # raises ValueError, event or not
        with self._event_lock:
            if self._closed or self._broken is not None:
                self._check_usable()
            try:
                # An event already there is taken without a deadline or a
                # poll (a flood's hot path); the wait starts only if none is.
                data = self._transport.try_event()
                if data is None:
                    data = self._transport.recv_event(Deadline(timeout))
                return data
            except _KEEPS_CONNECTION:
                raise
            except PyquorumError as exc:
                self._broken = exc
                raise

    def fileno(self) -> int:
        """Poll this for readability: an event or a hang-up is pending."""
        if self._closed:
            raise BadHandleError("the connection is closed")
        return self._transport.fileno()

    def close(self) -> None:
        """Disconnect.  Safe to call twice, and from another thread mid-wait.

        With no other thread inside the connection, it closes at once (the
        SHM transport unmaps its rings before hanging up, so the daemon, not
        this process, pays for freeing their pages).  Otherwise the setup
        socket is shut down first, which wakes any thread blocked on it; the
        locks then make sure no thread is still inside a mapping when it is
        unmapped.
        """
        if self._closed:
            return
        self._closed = True
        if self._request_lock.acquire(blocking=False):
            try:
                if self._event_lock.acquire(blocking=False):
                    try:
                        self._transport.close()
                        return
                    finally:
                        self._event_lock.release()
            finally:
                self._request_lock.release()
        self._transport.interrupt()
        with self._request_lock, self._event_lock:
            self._transport.close()

    def __enter__(self) -> IpcConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("lost" if self.lost else "open")
        return (
            f"<IpcConnection {self.service} {self.connection_type.name.lower()} "
            f"pid={self.server_pid} {state}>"
        )
