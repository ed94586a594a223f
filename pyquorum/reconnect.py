"""An opt-in reconnect supervisor for both front ends.

A plain session ends with :class:`pyquorum.errors.ConnectionLost` when the
daemon goes away (stopped, restarted, crashed), and must be closed.  A
reconnecting session turns that into events and carries on::

    with ReconnectingSession(Model.V1, Track.CURRENT | Track.CHANGES) as rs:
        for event in rs.events():
            ...   # notifications, ConnectionLostEvent, Reconnected

When the daemon goes away the stream yields :class:`ConnectionLostEvent`,
closes the dead session (no fd, mapping or /dev/shm file is kept), and
retries with a bounded exponential :class:`Backoff`.  Once a new session is
initialized (same requested model) and the same ``trackstart(flags)`` has
succeeded, it yields :class:`Reconnected` (the daemon's quorum type), then
the new session's events: with ``Track.CURRENT`` or ``Track.CHANGES`` that
starts with a fresh snapshot, so a consumer can rebuild its state from it.
Events that happened while disconnected are not replayed.

The first connection is made by the constructor (``connect()`` for the
asyncio one) and its errors are raised as usual: a daemon that is not
there at start-up is the caller's business.  When ``backoff.max_attempts``
is set and a reconnection fails that many times, the last error is raised
from the iterator.

**Network namespace.**  Sessions connect from the calling thread's
network namespace.  The supervisor remembers the namespace of the thread
that creates it (``/proc/thread-self/ns/net``, kept open as an fd) and
reconnects inside it (setns(2) on the reconnecting thread, restored
afterwards), wherever the iterator is driven from; pass ``netns=`` to choose
another, or ``connection_factory=`` to make the connections yourself (it
is called inside that namespace too).

**Logging.**  Each failed attempt is logged on the ``pyquorum.reconnect``
logger (WARNING), with the error and the next delay, so a supervisor that
keeps failing (a daemon that refuses this uid, say) is not silent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from pyquorum._core import Event
from pyquorum._deadline import Deadline
from pyquorum.aio import AsyncQuorumSession
from pyquorum.errors import ConnectionLost, PyquorumError
from pyquorum.events import ConnectionLostEvent, Reconnected, SupervisorEvent
from pyquorum.messages.constants import Model, Track
from pyquorum.netns import NetNamespace
from pyquorum.session import DEFAULT, Connection, QuorumSession, _Default

__all__ = ["AsyncReconnectingSession", "Backoff", "ReconnectingSession", "StreamItem"]

_Timeout = float | None | Literal[_Default.DEFAULT]

#: What a reconnecting session's events() yields.
StreamItem = Event | SupervisorEvent

#: Errors that mean "not now, try again" while reconnecting.  Deliberately
#: wide: during a restart corosync refuses (ECONNREFUSED), answers "not ready"
#: (EAGAIN), or dies mid-handshake (lost, missing ring files); an error that
#: persists is logged at every attempt rather than ending the stream.
_RETRYABLE = (PyquorumError, OSError)

log = logging.getLogger("pyquorum.reconnect")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between reconnection attempts: ``initial``, times ``factor`` each
    time, at most ``maximum`` seconds; ``max_attempts`` (None: unlimited)
    bounds the attempts after a loss.  The first attempt is immediate."""

    initial: float = 0.1
    maximum: float = 5.0
    factor: float = 2.0
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.maximum:
            raise ValueError("Backoff needs 0 < initial <= maximum")
        if self.factor < 1:
            raise ValueError("Backoff factor must be >= 1")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("Backoff max_attempts must be None or >= 1")

    def delays(self) -> Iterator[float]:
        """The wait after each failed attempt (endless)."""
        delay = self.initial
        while True:
            yield delay
            delay = min(self.maximum, delay * self.factor)

    def exhausted(self, attempts: int) -> bool:
        return self.max_attempts is not None and attempts >= self.max_attempts


class _Supervisor:
    """What both front ends share: settings, the namespace, the closed flag."""

    def __init__(
        self,
        model: Model | int,
        flags: Track | int,
        backoff: Backoff,
        timeout: float | None,
        netns: NetNamespace | None,
        service: str,
        connection_factory: Callable[[], Connection] | None,
    ) -> None:
        Deadline(timeout)  # validates
        self.model = Model(model)
        self.flags = Track(flags)
        self.backoff = backoff
        self.timeout = timeout
        self.service = service
        self.connection_factory = connection_factory
        self._owns_netns = netns is None
        self.netns = NetNamespace.current() if netns is None else netns
        self.reconnects = 0  # successful reconnections so far

    def release_netns(self) -> None:
        if self._owns_netns:
            self.netns.close()

    def failed(self, attempts: int, exc: BaseException, delay: float) -> None:
        """Log a failed attempt; raise ``exc`` if the backoff allows no more."""
        if self.backoff.exhausted(attempts):
            log.error("reconnection attempt %d failed, giving up: %s", attempts, exc)
            raise exc
        log.warning(
            "reconnection attempt %d failed (%s: %s); next in %.2f s",
            attempts, type(exc).__name__, exc, delay,
        )


class ReconnectingSession:
    """A blocking quorum session that survives daemon restarts (see the module docstring).

    ``timeout`` bounds each connect and request (default 5 s, so a wedged
    daemon cannot hold up reconnection for ever).
    """

    def __init__(
        self,
        model: Model | int = Model.V1,
        flags: Track | int = Track.CURRENT | Track.CHANGES,
        *,
        backoff: Backoff | None = None,
        timeout: float | None = 5.0,
        netns: NetNamespace | None = None,
        service: str = "quorum",
        connection_factory: Callable[[], Connection] | None = None,
    ) -> None:
        self._sup = _Supervisor(
            model, flags, backoff or Backoff(), timeout, netns, service, connection_factory
        )
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._session: QuorumSession | None = None
        try:
            self._session = self._open()
        except BaseException:
            self._sup.release_netns()
            raise

    def _open(self) -> QuorumSession:
        sup = self._sup
        with sup.netns.entered():
            conn = None if sup.connection_factory is None else sup.connection_factory()
            session = QuorumSession(
                sup.model, timeout=sup.timeout, service=sup.service, connection=conn
            )
        try:
            session.trackstart(sup.flags)
        except BaseException:
            session.close()
            raise
        with self._lock:
            if self._closed.is_set():
                session.close()
        return session

    @property
    def session(self) -> QuorumSession | None:
        """The current session (None while reconnecting)."""
        return self._session

    @property
    def reconnects(self) -> int:
        return self._sup.reconnects

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def getquorate(self, *, timeout: _Timeout = DEFAULT) -> bool:
        """Ask the current session (``timeout``: default the supervisor's);
        ConnectionLost while there is none."""
        session = self._session
        if session is None:
            raise ConnectionLost("getquorate: reconnecting to corosync")
        return session.getquorate(timeout=timeout)

    def _drop(self, exc: BaseException) -> ConnectionLostEvent:
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()
        return ConnectionLostEvent(reason=str(exc))

    def _reconnect(self, deadline: Deadline) -> Reconnected | None:
        """Retry until connected (Reconnected), or None on close or deadline."""
        delays = self._sup.backoff.delays()
        attempts = 0
        while not self._closed.is_set():
            attempts += 1
            try:
                session = self._open()
            except _RETRYABLE as exc:
                delay = next(delays)
                self._sup.failed(attempts, exc, delay)
                left = deadline.remaining()
                if self._closed.wait(delay if left is None else min(delay, left)):
                    return None
                if deadline.expired():
                    return None
                continue
            with self._lock:
                if self._closed.is_set():
                    session.close()
                    return None
                self._session = session
            self._sup.reconnects += 1
            return Reconnected(session.quorum_type, session.model, attempts)
        return None

    def events(self, timeout: float | None = None) -> Iterator[StreamItem]:
        """Notifications, ConnectionLostEvent and Reconnected, as they come.

        Ends when ``timeout`` seconds pass without an item (None: never) or
        on :meth:`close`.  Other errors (LibraryError for an unknown
        notification...) propagate as from a plain session.
        """
        Deadline(timeout)
        while not self._closed.is_set():
            session = self._session
            if session is None:
                event = self._reconnect(Deadline(timeout))
                if event is None:
                    return
                yield event
                continue
            try:
                yield from session.events(timeout)
                return  # no event for ``timeout`` s, or closed
            except ConnectionLost as exc:
                if self._closed.is_set():
                    return
                yield self._drop(exc)

    def close(self) -> None:
        """Stop: wakes a waiting :meth:`events` (which ends); a second call does nothing."""
        with self._lock:
            if self._closed.is_set():
                return
            self._closed.set()
            session, self._session = self._session, None
        if session is not None:
            session.close()
        self._sup.release_netns()

    def __enter__(self) -> ReconnectingSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncReconnectingSession:
    """The asyncio counterpart: ``async with AsyncReconnectingSession(...) as rs:
    async for item in rs.events(): ...``.  Same behaviour as :class:`ReconnectingSession`;
    backoff waits are ``asyncio`` waits, connecting runs in the executor."""

    def __init__(
        self,
        model: Model | int = Model.V1,
        flags: Track | int = Track.CURRENT | Track.CHANGES,
        *,
        backoff: Backoff | None = None,
        timeout: float | None = 5.0,
        netns: NetNamespace | None = None,
        service: str = "quorum",
        connection_factory: Callable[[], Connection] | None = None,
    ) -> None:
        self._sup = _Supervisor(
            model, flags, backoff or Backoff(), timeout, netns, service, connection_factory
        )
        self._session: AsyncQuorumSession | None = None
        self._closed = False
        self._wake: asyncio.Event | None = None

    async def _open(self) -> AsyncQuorumSession:
        sup = self._sup
        session = AsyncQuorumSession(
            sup.model,
            timeout=sup.timeout,
            service=sup.service,
            netns=sup.netns,
            connection_factory=sup.connection_factory,
        )
        try:
            await session.connect()
            await session.trackstart(sup.flags)
        except BaseException:
            await session.close()
            raise
        return session

    async def connect(self) -> AsyncReconnectingSession:
        """The first connection (errors raised as usual)."""
        self._wake = asyncio.Event()
        try:
            self._session = await self._open()
        except BaseException:
            self._closed = True
            self._sup.release_netns()
            raise
        return self

    async def __aenter__(self) -> AsyncReconnectingSession:
        if self._session is None and not self._closed:
            await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def session(self) -> AsyncQuorumSession | None:
        return self._session

    @property
    def reconnects(self) -> int:
        return self._sup.reconnects

    @property
    def closed(self) -> bool:
        return self._closed

    async def getquorate(self, *, timeout: _Timeout = DEFAULT) -> bool:
        """As :meth:`ReconnectingSession.getquorate`."""
        session = self._session
        if session is None:
            raise ConnectionLost("getquorate: reconnecting to corosync")
        return await session.getquorate(timeout=timeout)

    async def _reconnect(self, deadline: Deadline) -> Reconnected | None:
        assert self._wake is not None
        delays = self._sup.backoff.delays()
        attempts = 0
        while not self._closed:
            attempts += 1
            try:
                session = await self._open()
            except _RETRYABLE as exc:
                delay = next(delays)
                self._sup.failed(attempts, exc, delay)
                left = deadline.remaining()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._wake.wait(), delay if left is None else min(delay, left)
                    )
                if self._closed or deadline.expired():
                    return None
                continue
            if self._closed:
                await session.close()
                return None
            self._session = session
            self._sup.reconnects += 1
            return Reconnected(session.quorum_type, session.model, attempts)
        return None

    async def events(self, timeout: float | None = None) -> AsyncIterator[StreamItem]:
        """As :meth:`ReconnectingSession.events`."""
        Deadline(timeout)
        while not self._closed:
            session = self._session
            if session is None:
                event = await self._reconnect(Deadline(timeout))
                if event is None:
                    return
                yield event
                continue
            try:
                item = await session.next_event(timeout)
            except ConnectionLost as exc:
                if self._closed:
                    return
                self._session = None
                await session.close()
                yield ConnectionLostEvent(reason=str(exc))
                continue
            if item is None:
                return  # timeout, or closed
            yield item

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._wake is not None:
            self._wake.set()
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        self._sup.release_netns()

