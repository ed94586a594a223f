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

The policy (when to retry, backoff, what to re-issue, what to report) is
:mod:`pyquorum.frontend.reconnect`'s, written once without I/O; the two
supervisors here only perform its steps.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING

from pyquorum._deadline import Deadline
from pyquorum.errors import ConnectionLost
from pyquorum.events import ConnectionLostEvent, Event, Reconnected, SupervisorEvent
from pyquorum.frontend.blocking import Connection
from pyquorum.frontend.reconnect import RETRYABLE, Backoff, Connect, ReconnectPolicy
from pyquorum.messages.constants import Model, Track
from pyquorum.netns import NetNamespace
from pyquorum.services.quorum.session import QuorumSession
from pyquorum.timeouts import DEFAULT, Timeout

if TYPE_CHECKING:
    # The asyncio side is imported when first used, so a blocking supervisor
    # (``pyquorum watch --reconnect``) never loads asyncio.
    import asyncio

    from pyquorum.services.quorum.aio import AsyncQuorumSession

__all__ = ["AsyncReconnectingSession", "Backoff", "ReconnectingSession", "StreamItem"]

#: What a reconnecting session's events() yields.
StreamItem = Event | SupervisorEvent


class _Settings:
    """What both supervisors keep besides the policy: where and how to connect."""

    def __init__(
        self,
        netns: NetNamespace | None,
        service: str,
        connection_factory: Callable[[], Connection] | None,
    ) -> None:
        self.service = service
        self.connection_factory = connection_factory
        self._owns_netns = netns is None
        self.netns = NetNamespace.current() if netns is None else netns

    def release_netns(self) -> None:
        if self._owns_netns:
            self.netns.close()


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
        self._policy = ReconnectPolicy(model, flags, backoff or Backoff(), timeout)
        self._where = _Settings(netns, service, connection_factory)
        self._wake = threading.Event()  # set by close(): ends a backoff sleep
        self._lock = threading.Lock()  # the session slot vs. close()
        self._session: QuorumSession | None = None
        try:
            session = self._open()
        except BaseException:
            self._where.release_netns()
            raise
        self._install(session)

    def _open(self) -> QuorumSession:
        """A new session, initialized and tracking (what the policy re-issues)."""
        policy, where = self._policy, self._where
        with where.netns.entered():
            conn = None if where.connection_factory is None else where.connection_factory()
            session = QuorumSession(
                policy.model, timeout=policy.timeout, service=where.service, connection=conn
            )
        try:
            session.trackstart(policy.flags)
        except BaseException:
            session.close()
            raise
        return session

    def _install(self, session: QuorumSession) -> bool:
        """Put ``session`` in the slot, or close it if the supervisor was closed meanwhile."""
        with self._lock:
            if self._policy.accept():
                self._session = session
                return True
        session.close()
        return False

    def _drop(self, session: QuorumSession, exc: BaseException) -> ConnectionLostEvent | None:
        """Empty the slot and close the lost session; what to report."""
        with self._lock:
            if self._session is session:
                self._session = None
        session.close()
        return self._policy.lost(exc)

    @property
    def session(self) -> QuorumSession | None:
        """The current session (None while reconnecting)."""
        return self._session

    @property
    def reconnects(self) -> int:
        return self._policy.reconnects

    @property
    def closed(self) -> bool:
        return self._policy.closed

    def getquorate(self, *, timeout: Timeout = DEFAULT) -> bool:
        """Ask the current session (``timeout``: default the supervisor's);
        ConnectionLost while there is none."""
        session = self._session
        if session is None:
            raise ConnectionLost("getquorate: reconnecting to corosync")
        return session.getquorate(timeout=timeout)

    def _reconnect(self, deadline: Deadline) -> Reconnected | None:
        """Perform the policy's steps until connected (Reconnected), or None."""
        steps = self._policy.reconnect(deadline)
        session: QuorumSession | None = None
        reply: BaseException | None = None
        try:
            while True:
                step = steps.send(reply)
                reply = None
                if isinstance(step, Connect):
                    try:
                        session = self._open()
                    except RETRYABLE as exc:
                        reply = exc
                else:
                    self._wake.wait(step.seconds)
        except StopIteration as done:
            attempts: int | None = done.value
        if attempts is None or session is None or not self._install(session):
            return None
        return self._policy.reconnected(session.quorum_type, session.model, attempts)

    def events(self, timeout: float | None = None) -> Iterator[StreamItem]:
        """Notifications, ConnectionLostEvent and Reconnected, as they come.

        Ends when ``timeout`` seconds pass without an item (None: never) or
        on :meth:`close`.  Other errors (LibraryError for an unknown
        notification...) propagate as from a plain session.
        """
        Deadline(timeout)
        while not self._policy.closed:
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
                lost = self._drop(session, exc)
                if lost is None:
                    return
                yield lost

    def close(self) -> None:
        """Stop: wakes a waiting :meth:`events` (which ends); a second call does nothing."""
        with self._lock:
            if not self._policy.close():
                return
            session, self._session = self._session, None
        self._wake.set()
        if session is not None:
            session.close()
        self._where.release_netns()

    def __enter__(self) -> ReconnectingSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncReconnectingSession:
    """The asyncio counterpart: ``async with AsyncReconnectingSession(...) as rs:
    async for item in rs.events(): ...``.  Same behaviour as :class:`ReconnectingSession`
    (the same policy drives both); backoff waits are ``asyncio`` waits, connecting
    runs in the executor."""

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
        self._policy = ReconnectPolicy(model, flags, backoff or Backoff(), timeout)
        self._where = _Settings(netns, service, connection_factory)
        self._wake: asyncio.Event | None = None  # set by close(): ends a backoff sleep
        self._session: AsyncQuorumSession | None = None

    async def _open(self) -> AsyncQuorumSession:
        """A new session, initialized and tracking (what the policy re-issues)."""
        from pyquorum.services.quorum.aio import AsyncQuorumSession

        policy, where = self._policy, self._where
        session = AsyncQuorumSession(
            policy.model,
            timeout=policy.timeout,
            service=where.service,
            netns=where.netns,
            connection_factory=where.connection_factory,
        )
        try:
            await session.connect()
            await session.trackstart(policy.flags)
        except BaseException:
            await session.close()
            raise
        return session

    async def _install(self, session: AsyncQuorumSession) -> bool:
        """Put ``session`` in the slot, or close it if the supervisor was closed meanwhile."""
        if self._policy.accept():  # no await between the check and the swap
            self._session = session
            return True
        await session.close()
        return False

    async def _drop(
        self, session: AsyncQuorumSession, exc: BaseException
    ) -> ConnectionLostEvent | None:
        """Empty the slot and close the lost session; what to report."""
        if self._session is session:
            self._session = None
        await session.close()
        return self._policy.lost(exc)

    async def connect(self) -> AsyncReconnectingSession:
        """The first connection (errors raised as usual)."""
        import asyncio

        self._wake = asyncio.Event()
        try:
            session = await self._open()
        except BaseException:
            self._policy.close()
            self._where.release_netns()
            raise
        await self._install(session)
        return self

    async def __aenter__(self) -> AsyncReconnectingSession:
        if self._session is None and not self._policy.closed:
            await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def session(self) -> AsyncQuorumSession | None:
        return self._session

    @property
    def reconnects(self) -> int:
        return self._policy.reconnects

    @property
    def closed(self) -> bool:
        return self._policy.closed

    async def getquorate(self, *, timeout: Timeout = DEFAULT) -> bool:
        """As :meth:`ReconnectingSession.getquorate`."""
        session = self._session
        if session is None:
            raise ConnectionLost("getquorate: reconnecting to corosync")
        return await session.getquorate(timeout=timeout)

    async def _reconnect(self, deadline: Deadline) -> Reconnected | None:
        """Perform the policy's steps until connected (Reconnected), or None."""
        import asyncio

        assert self._wake is not None
        steps = self._policy.reconnect(deadline)
        session: AsyncQuorumSession | None = None
        reply: BaseException | None = None
        try:
            while True:
                step = steps.send(reply)
                reply = None
                if isinstance(step, Connect):
                    try:
                        session = await self._open()
                    except RETRYABLE as exc:
                        reply = exc
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), step.seconds)
        except StopIteration as done:
            attempts: int | None = done.value
        if attempts is None or session is None or not await self._install(session):
            return None
        return self._policy.reconnected(session.quorum_type, session.model, attempts)

    async def events(self, timeout: float | None = None) -> AsyncIterator[StreamItem]:
        """As :meth:`ReconnectingSession.events`."""
        Deadline(timeout)
        while not self._policy.closed:
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
                lost = await self._drop(session, exc)
                if lost is None:
                    return
                yield lost
                continue
            if item is None:
                return  # no event for ``timeout`` s, or closed
            yield item

    async def close(self) -> None:
        """As :meth:`ReconnectingSession.close`."""
        if not self._policy.close():
            return
        session, self._session = self._session, None
        if self._wake is not None:
            self._wake.set()
        if session is not None:
            await session.close()
        self._where.release_netns()
