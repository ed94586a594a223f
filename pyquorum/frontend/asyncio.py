"""The asyncio front end of any service: :class:`AsyncSession` drives a sans-I/O core.

Same rules as the blocking front end (:mod:`pyquorum.frontend.blocking`;
the rules live in :mod:`pyquorum.frontend.core`); only the waiting differs.

Events: the loop's reader, no thread
------------------------------------
The connection's ``fileno()`` is readable when an event or a hang-up is
pending, on both transports (SHM: the setup socket, which carries one
doorbell byte per event; socket transport: an epoll fd over the event
socket and the setup socket).  :meth:`~AsyncSession.next_event`
waits with ``loop.add_reader`` and then reads with ``recv_event(0)``, which
never blocks: it takes the event, or reports the hang-up as ConnectionLost.

Requests: a short hop to the session's own thread
-------------------------------------------------
A response has no fd on the SHM transport: libqb's server posts a
semaphore in shared memory and sends no doorbell, so the only ways to wait
for it are ``sem_timedwait`` (blocking) or polling with ``sem_trywait``.
Polling from the loop would add latency (or burn CPU) to every request, so
each exchange (``IpcConnection.request``, which is thread-safe and
serialises exchanges) runs as one executor job and the loop stays free; a
round trip costs one thread hand-off (tens of microseconds).  The socket
transport could wait on its response socket with ``add_reader``, but one
code path for both transports is worth more than that hand-off, and the
send may block too (flow control, a full queue).

By default each session has its **own one-thread executor**, not the
loop's default one: the connection serialises requests anyway, so one
thread loses nothing, and a stopped (SIGSTOP) or wedged daemon then holds
only the threads of its own sessions instead of starving every other user
of the default executor (DNS lookups, file I/O) or another session's
close.  Pass ``executor=`` to share one.

Cancellation
------------
Cancelling a request gives the exchange up at once: the session sets the
job's ``abandon`` event (see :meth:`IpcConnection.request
<pyquorum.ipc.client.connection.IpcConnection.request>`), and the thread leaves
within :data:`~pyquorum.ipc.client.connection.ABANDON_POLL` seconds.  A request
not yet sent is never sent; one already sent leaves its response *owed*,
and the connection reads and discards it before the next request's
response, exactly as after a timeout.  Nothing is ever half-read (a read
is one synchronous step, in one thread), and the session stays usable.
A cancelled trackstart may still have taken effect in the daemon, as with
a timeout in C.  A cancelled :meth:`~AsyncQuorumSession.connect` closes the
session and whatever it had opened (a handshake under way finishes in its
thread first, within the connect timeout).  Cancelling an
:meth:`~AsyncQuorumSession.events` iterator, or a
:meth:`~AsyncSession.next_event`, removes the reader and consumes
nothing.  :meth:`~AsyncQuorumSession.close` abandons every request in
flight (they raise BadHandleError) and wakes a waiting ``events()``.

A connection from ``connection_factory`` whose ``request`` has no
``abandon`` parameter still works; a cancelled request then keeps its
thread until its exchange ends.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections.abc import AsyncIterator, Callable
from typing import Generic, Self, TypeVar

from pyquorum._deadline import Deadline
from pyquorum.errors import BadHandleError, LocalProtocolError
from pyquorum.frontend.base import FrontendBase
from pyquorum.frontend.blocking import Connection, connect_ipc, takes_abandon
from pyquorum.frontend.core import Operation, ServiceCore
from pyquorum.messages.constants import DEFAULT_MAX_MSG_SIZE
from pyquorum.netns import NetNamespace
from pyquorum.timeouts import Timeout

__all__ = ["AsyncSession"]

T = TypeVar("T")
E = TypeVar("E")


class AsyncSession(FrontendBase[E], Generic[E]):
    """A session of one service for asyncio (see the module docstring).

    ``timeout`` (seconds, None = no limit) bounds :meth:`connect` (with
    None, the handshake still gives up after
    :data:`~pyquorum.ipc.client.connection.DEFAULT_CONNECT_TIMEOUT`) and is the
    default of every request.  ``executor`` is where blocking exchanges run
    (None: a one-thread executor of the session's own, shut down by
    :meth:`close`).  ``netns`` is the network namespace to connect in
    (default: that of the thread that calls :meth:`connect`, normally the
    loop's); the session does not take ownership of a given one.
    ``connection_factory`` replaces the IPC connect (called in the
    executor, in that namespace).  A session belongs to the loop that
    connected it.
    """

    def __init__(
        self,
        core: ServiceCore[E],
        *,
        timeout: float | None = None,
        context: object = None,
        service: str,
        max_msg_size: int = DEFAULT_MAX_MSG_SIZE,
        executor: concurrent.futures.Executor | None = None,
        netns: NetNamespace | None = None,
        connection_factory: Callable[[], Connection] | None = None,
    ) -> None:
        super().__init__(core, timeout=timeout, context=context)
        self._service = service
        self._max_msg_size = max_msg_size
        self._executor = executor
        self._own_executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._netns = netns
        self._factory = connection_factory
        self._conn: Connection | None = None
        self._abandonable = False
        self._conn_lock = threading.Lock()  # _conn vs. a connect job finishing late
        self._started = False
        self._in_flight: set[threading.Event] = set()
        self._event_lock: asyncio.Lock | None = None
        self._reader: tuple[asyncio.AbstractEventLoop, int] | None = None
        self._waiter: asyncio.Future[bool] | None = None

    def fileno(self) -> int:
        """The event fd (readable on an event or a hang-up)."""
        return self._require_conn("fileno").fileno()

    def _require_conn(self, what: str) -> Connection:
        self._core.check_open(what)
        if self._conn is None:
            raise LocalProtocolError(f"{what}: the session is not connected yet")
        return self._conn

    # -- connecting --------------------------------------------------------------

    def _open_connection(self, netns: NetNamespace, deadline: Deadline) -> Connection:
        """Executor job: connect (handshake) in ``netns``, and publish the
        connection, or close it if the session was closed meanwhile."""
        with netns.entered():
            if self._factory is not None:
                conn: Connection = self._factory()
            else:
                conn = connect_ipc(self._service, self._max_msg_size, deadline.remaining())
        with self._conn_lock:
            abandoned = self._core.closed
            if not abandoned:
                self._conn = conn
                self._abandonable = takes_abandon(conn)
        if abandoned:  # closed (or cancelled) while connecting
            conn.close()
            raise BadHandleError("connect: the session was closed while connecting")
        return conn

    async def connect(self) -> Self:
        """Connect (the handshake runs in the executor) and initialize; returns self.

        On any failure or cancellation the session is closed.
        """
        self._core.check_open("connect")
        if self._started:
            raise LocalProtocolError("connect: the session is already connected")
        self._started = True
        loop = asyncio.get_running_loop()
        self._event_lock = asyncio.Lock()
        if self._executor is None:
            self._own_executor = concurrent.futures.ThreadPoolExecutor(
                1, thread_name_prefix="pyquorum-aio"
            )
            self._executor = self._own_executor
        netns = self._netns if self._netns is not None else NetNamespace.current()
        deadline = Deadline(self._timeout)
        try:
            job = functools.partial(self._open_connection, netns, deadline)
            await loop.run_in_executor(self._executor, job)
            await self._run(self._core.initialize(), deadline.remaining())
        except BaseException:
            # Closes what is open; a handshake still running in its thread
            # closes what it makes once it sees the session closed.
            self._close_now()
            raise
        finally:
            if netns is not self._netns:
                netns.close()
        return self

    async def __aenter__(self) -> Self:
        if not self._started:
            await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- requests ------------------------------------------------------------------

    async def _exchange(self, op: Operation[T], deadline: Deadline) -> bytes:
        """One request/response in the executor; cancelling abandons it (see the module doc)."""
        conn = self._require_conn(op.name)
        loop = asyncio.get_running_loop()
        abandon: threading.Event | None = None
        if self._abandonable:
            abandon = threading.Event()
            job = functools.partial(
                conn.request, op.request, deadline.remaining(), abandon=abandon  # type: ignore[call-arg]
            )
            self._in_flight.add(abandon)
        else:
            job = functools.partial(conn.request, op.request, deadline.remaining())
        try:
            return await loop.run_in_executor(self._executor, job)
        except asyncio.CancelledError:
            if abandon is not None:
                abandon.set()
            raise
        except Exception as exc:
            self._raise_if_closed(op.name, exc)
            raise
        finally:
            if abandon is not None:
                self._in_flight.discard(abandon)

    async def _run(self, op: Operation[T], timeout: Timeout) -> T:
        """Drive ``op`` to its result within ``timeout`` (DEFAULT: the session's)."""
        deadline = self._deadline(timeout)
        while not op.done:
            op.feed(await self._exchange(op, deadline))
        return op.result

    # -- events --------------------------------------------------------------------

    async def _wait_readable(self, conn: Connection, timeout: float | None) -> bool:
        """Wait for the event fd to be readable; False on timeout or close."""
        loop = asyncio.get_running_loop()
        fd = conn.fileno()
        waiter: asyncio.Future[bool] = loop.create_future()

        def ready() -> None:
            if not waiter.done():
                waiter.set_result(True)

        self._waiter = waiter
        self._reader = (loop, fd)
        loop.add_reader(fd, ready)
        try:
            if timeout is None:
                return await waiter
            try:
                return await asyncio.wait_for(waiter, timeout)
            except TimeoutError:
                return False
        finally:
            self._remove_reader()

    def _remove_reader(self) -> None:
        if self._reader is not None:
            loop, fd = self._reader
            self._reader = None
            self._waiter = None
            loop.remove_reader(fd)

    async def next_event(self, timeout: float | None = None) -> E | None:
        """The next event, or None when ``timeout`` passes first or the session closes.

        ConnectionLost when the daemon goes away (events it sent before
        are delivered first); LibraryError for a notification the session
        does not know (it is consumed).
        """
        self._require_conn("events")
        Deadline(timeout)  # validates
        assert self._event_lock is not None
        async with self._event_lock:  # one reader per fd and loop
            deadline = Deadline(timeout)
            while True:
                if self._core.closed or self._conn is None:
                    return None
                conn = self._conn
                try:
                    data = conn.recv_event(0)  # never blocks; raises on a hang-up
                except Exception:
                    if self._core.closed:
                        return None
                    raise
                if data is not None:
                    return self._core.handle_event(data)
                if deadline.expired():
                    return None
                await self._wait_readable(conn, deadline.remaining())

    async def events(self, timeout: float | None = None) -> AsyncIterator[E]:
        """The events as they come; ends after ``timeout`` s without one
        (None: never) or when the session is closed."""
        self._require_conn("events")
        Deadline(timeout)  # validates
        while True:
            event = await self.next_event(timeout)
            if event is None:
                return
            yield event

    # -- closing ---------------------------------------------------------------------

    def _close_now(self) -> concurrent.futures.Future[None] | None:
        """Mark closed, abandon requests, wake the event waiter, and start
        closing the connection in the executor (its future, or None)."""
        with self._conn_lock:
            if not self._core.close():
                return None
            conn = self._conn
        for abandon in self._in_flight:
            abandon.set()
        waiter = self._waiter
        # Unregister before the fd is closed under the selector's feet.
        self._remove_reader()
        if waiter is not None and not waiter.done():
            waiter.set_result(False)
        closing: concurrent.futures.Future[None] | None = None
        if conn is not None:
            # Closing waits for a request in flight to leave the shared
            # memory before unmapping it: not in the loop's thread.
            assert self._executor is not None
            closing = self._executor.submit(conn.close)
        if self._own_executor is not None:
            self._own_executor.shutdown(wait=False)  # its thread ends after the close
        return closing

    async def close(self) -> None:
        """Close the session; a second call does nothing.  Wakes a waiting
        :meth:`events` (which then ends) and fails requests in flight with
        BadHandleError.  Returns once the connection's fds, mappings and
        files are released."""
        closing = self._close_now()
        if closing is not None:
            await asyncio.shield(asyncio.wrap_future(closing))
