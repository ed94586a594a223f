"""The asyncio front end: :class:`AsyncQuorumSession` drives the sans-I/O core.

Same rules as :class:`pyquorum.session.QuorumSession` (they live in
:mod:`pyquorum._core`); only the waiting differs.

Why requests go through an executor
-----------------------------------
A request's response has no file descriptor to watch on the SHM transport:
libqb's server posts a semaphore in shared memory and sends no doorbell
byte, so the only ways to wait for it are ``sem_timedwait`` (blocking) or
polling.  So each request/response round trip (``IpcConnection.request``,
which is thread-safe and serialises exchanges) runs in an executor thread
(``loop.run_in_executor``), and the loop stays free.  The same holds for the
connect + handshake + initialize at start-up, which can block on a slow or
stopped daemon: it runs as one executor job, inside the network namespace
of the thread that created the session (see :mod:`pyquorum._netns`).
Closing also goes through the executor, because closing waits for an
exchange in flight to leave the shared memory before unmapping it.

Events, in contrast, do have an fd on both transports (the connection's
``fileno()`` is readable on an event or a hang-up): :meth:`~AsyncQuorumSession.events`
waits with ``loop.add_reader`` and then drains with ``recv_event(0)``,
which never blocks.  No thread is used for events.

Cancellation
------------
Cancelling a request cancels the *waiting*, not the exchange: the executor
job keeps the connection's request lock until its response arrives (or the
timeout passes, or the daemon is found gone), reads it whole, and its result
is dropped.  The next request waits for that job's exchange to finish, so
it always reads its own response; nothing is half-read and the session
stays usable.  A cancelled :meth:`~AsyncQuorumSession.connect` closes the
half-made connection (the session is then closed).  A cancelled trackstart
may still have taken effect in the daemon, as with a timeout in C.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections.abc import AsyncIterator, Callable
from typing import Literal, TypeVar

from pyquorum._core import Event, Operation, SessionCore
from pyquorum._deadline import Deadline
from pyquorum._netns import NetNamespace
from pyquorum.errors import BadHandleError, LocalProtocolError
from pyquorum.messages.constants import DEFAULT_MAX_MSG_SIZE, Model, QuorumType, Track
from pyquorum.session import DEFAULT, Connection, _Default

_Timeout = float | None | Literal[_Default.DEFAULT]

__all__ = ["AsyncQuorumSession"]

T = TypeVar("T")

#: When the event fd was readable but ``recv_event(0)`` found nothing, the
#: transport gets one short wait to look at the fd itself (a hang-up, or a
#: doorbell byte that came after its event was read) so the loop does not spin.
_SETTLE = 0.002


class AsyncQuorumSession:
    """A quorum session for asyncio.

    ::

        async with AsyncQuorumSession(model=Model.V1, timeout=5) as s:
            quorate = await s.getquorate()
            await s.trackstart(Track.CURRENT | Track.CHANGES)
            async for event in s.events():
                ...

    ``timeout`` (seconds, None = no limit) bounds :meth:`connect` and is the
    default of every request.  ``executor`` is where blocking exchanges run
    (None: the loop's default executor; give sessions that may wait on a
    stopped daemon their own executor if the default one is busy).
    ``netns`` is the network namespace to connect in (default: that of the
    thread that calls :meth:`connect`, normally the loop's); the session
    does not take ownership of a given one.  ``connection_factory`` replaces
    ``IpcConnection.connect`` (called in the executor, in that namespace).

    Events are the frozen notification dataclasses of :mod:`pyquorum.events`.
    Errors are those of :mod:`pyquorum.errors`, as in the blocking session.
    """

    def __init__(
        self,
        model: Model | int = Model.V1,
        *,
        timeout: float | None = None,
        service: str = "quorum",
        max_msg_size: int = DEFAULT_MAX_MSG_SIZE,
        executor: concurrent.futures.Executor | None = None,
        netns: NetNamespace | None = None,
        connection_factory: Callable[[], Connection] | None = None,
    ) -> None:
        Deadline(timeout)  # validates timeout
        self._core = SessionCore(model)  # validates model
        self._timeout = timeout
        self._service = service
        self._max_msg_size = max_msg_size
        self._executor = executor
        self._netns = netns
        self._factory = connection_factory
        self._conn: Connection | None = None
        self._conn_lock = threading.Lock()  # _conn vs. a connect job finishing late
        self._started = False
        self._event_lock: asyncio.Lock | None = None
        self._reader: tuple[asyncio.AbstractEventLoop, int] | None = None
        self._waiter: asyncio.Future[bool] | None = None

    # -- properties ------------------------------------------------------------

    @property
    def model(self) -> Model:
        """The model in use (``V0`` or ``V1``) once connected."""
        if self._core.model is None:
            raise LocalProtocolError("model: the session is not connected yet")
        return self._core.model

    @property
    def quorum_type(self) -> QuorumType | int:
        if self._core.quorum_type is None:
            raise LocalProtocolError("quorum_type: the session is not connected yet")
        return self._core.quorum_type

    @property
    def timeout(self) -> float | None:
        return self._timeout

    @property
    def closed(self) -> bool:
        return self._core.closed

    def fileno(self) -> int:
        """The event fd (readable on an event or a hang-up)."""
        self._core.check_open("fileno")
        return self._require_conn("fileno").fileno()

    def _require_conn(self, what: str) -> Connection:
        self._core.check_open(what)
        if self._conn is None:
            raise LocalProtocolError(f"{what}: the session is not connected yet")
        return self._conn

    # -- connecting --------------------------------------------------------------

    def _connect_blocking(self, netns: NetNamespace, deadline: Deadline) -> None:
        """Executor job: connect in ``netns`` and initialize.  Owns the connection
        until it is published in ``self._conn``; closes it on any failure."""
        with netns.entered():
            if self._factory is not None:
                conn: Connection = self._factory()
            else:
                from pyquorum.ipc.connection import DEFAULT_CONNECT_TIMEOUT, IpcConnection

                left = deadline.remaining()
                conn = IpcConnection.connect(
                    self._service,
                    max_msg_size=self._max_msg_size,
                    timeout=DEFAULT_CONNECT_TIMEOUT if left is None else left,
                )
        with self._conn_lock:
            abandoned = self._core.closed
            if not abandoned:
                self._conn = conn
        if abandoned:  # closed (or cancelled) while connecting
            conn.close()
            raise BadHandleError("connect: the session was closed while connecting")
        try:
            op = self._core.initialize()
            while not op.done:
                op.feed(conn.request(op.request, deadline.remaining()))
        except BaseException:
            self._core.close()
            conn.close()
            raise

    async def connect(self) -> AsyncQuorumSession:
        """Connect and initialize (in the executor); returns self."""
        self._core.check_open("connect")
        if self._started:
            raise LocalProtocolError("connect: the session is already connected")
        self._started = True
        loop = asyncio.get_running_loop()
        self._event_lock = asyncio.Lock()
        netns = self._netns if self._netns is not None else NetNamespace.current()
        try:
            job = functools.partial(self._connect_blocking, netns, Deadline(self._timeout))
            try:
                await loop.run_in_executor(self._executor, job)
            except asyncio.CancelledError:
                # The job may still be running: mark the session closed so it
                # closes what it makes, and close what it already made.
                with self._conn_lock:
                    self._core.close()
                    conn = self._conn
                if conn is not None:
                    loop.run_in_executor(self._executor, conn.close)
                raise
        finally:
            if netns is not self._netns:
                netns.close()
        return self

    async def __aenter__(self) -> AsyncQuorumSession:
        if not self._started:
            await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- requests ------------------------------------------------------------------

    async def _run(self, op: Operation[T], timeout: float | None) -> T:
        loop = asyncio.get_running_loop()
        deadline = Deadline(timeout)
        while not op.done:
            conn = self._require_conn(op.name)
            try:
                response = await loop.run_in_executor(
                    self._executor, conn.request, op.request, deadline.remaining()
                )
            except Exception as exc:
                if self._core.closed:
                    raise BadHandleError(
                        f"{op.name}: the session was closed during the call"
                    ) from exc
                raise
            op.feed(response)
        return op.result

    def _resolve(self, timeout: _Timeout) -> float | None:
        return self._timeout if timeout is DEFAULT else timeout

    async def getquorate(self, *, timeout: _Timeout = DEFAULT) -> bool:
        """Whether this node is part of a quorate partition."""
        self._require_conn("getquorate")
        return await self._run(self._core.getquorate(), self._resolve(timeout))

    async def trackstart(
        self,
        flags: Track | int = Track.CURRENT | Track.CHANGES,
        *,
        timeout: _Timeout = DEFAULT,
    ) -> None:
        """Ask for notifications (see :meth:`QuorumSession.trackstart`)."""
        self._require_conn("trackstart")
        await self._run(self._core.trackstart(flags), self._resolve(timeout))

    async def trackstop(self, *, timeout: _Timeout = DEFAULT) -> None:
        """Stop notifications; events already queued are still delivered."""
        self._require_conn("trackstop")
        await self._run(self._core.trackstop(), self._resolve(timeout))

    # -- events --------------------------------------------------------------------

    def _drain_one(self, conn: Connection, woken: bool) -> bytes | None:
        data = conn.recv_event(0)
        if data is None and woken:
            # Readable but nothing in the ring: let the transport look at the
            # fd (hang-up -> ConnectionLost; a late doorbell byte is consumed).
            data = conn.recv_event(_SETTLE)
        return data

    async def _wait_readable(self, conn: Connection, timeout: float | None) -> bool:
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

    async def next_event(self, timeout: float | None = None) -> Event | None:
        """The next event, or None when ``timeout`` passes first or the session closes.

        ConnectionLost when the daemon goes away; LibraryError for a
        notification the model does not know (it is consumed).
        """
        self._require_conn("events")
        Deadline(timeout)  # validates
        assert self._event_lock is not None
        async with self._event_lock:  # one reader per fd and loop
            deadline = Deadline(timeout)
            woken = False
            while True:
                if self._core.closed or self._conn is None:
                    return None
                conn = self._conn
                try:
                    data = self._drain_one(conn, woken)
                except Exception:
                    if self._core.closed:
                        return None
                    raise
                if self._core.closed:
                    return None
                if data is not None:
                    return self._core.handle_event(data)
                if deadline.expired():
                    return None
                woken = await self._wait_readable(conn, deadline.remaining())

    async def events(self, timeout: float | None = None) -> AsyncIterator[Event]:
        """The events as they come; ends after ``timeout`` s without one
        (None: never) or when the session is closed."""
        while True:
            event = await self.next_event(timeout)
            if event is None:
                return
            yield event

    # -- closing ---------------------------------------------------------------------

    async def close(self) -> None:
        """Close the session; a second call does nothing.  Wakes a waiting
        :meth:`events` (which then ends) and fails requests in flight with
        BadHandleError."""
        with self._conn_lock:
            if not self._core.close():
                return
            conn = self._conn
        waiter = self._waiter
        # Unregister before the fd is closed under the selector's feet.
        self._remove_reader()
        if waiter is not None and not waiter.done():
            waiter.set_result(False)
        if conn is not None:
            loop = asyncio.get_running_loop()
            await asyncio.shield(loop.run_in_executor(self._executor, conn.close))

    def __repr__(self) -> str:
        if self._core.model is None:
            return f"<AsyncQuorumSession {self._core.state.value}>"
        state = "closed" if self.closed else "open"
        return (
            f"<AsyncQuorumSession model={self._core.model.name} "
            f"quorum_type={self._core.quorum_type!r} {state}>"
        )
