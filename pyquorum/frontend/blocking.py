"""The blocking front end of any service: a connection, a core, waits and turns.

:class:`BlockingSession` owns the connection, runs a core's
:class:`~pyquorum.frontend.core.Operation` over it (with the call's
timeout), and receives events by the dispatch rules of
:mod:`pyquorum.frontend.core`.  A service's session subclasses it, adds one
method per request (``return self._run(self._core.getquorate(), timeout)``)
and says what to do with an event (:meth:`BlockingSession._deliver`).

**Threads.**  Any thread may make requests, call :meth:`fileno`, use
:attr:`context` and :meth:`finalize` at any time, also while another
thread dispatches (requests and events travel on separate channels).
Events are handled one at a time: dispatching threads take turns per
event, so callbacks never run concurrently and run in arrival order.  A
non-waiting dispatch (ALL, ONE_NONBLOCKING) that finds another thread
dispatching treats that as "nothing pending" and never waits for its turn.
:meth:`finalize` from another thread wakes a blocked dispatch, which
returns normally, and a request in flight, which raises BadHandleError.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from typing import Generic, Protocol, Self, TypeVar

from pyquorum._deadline import Deadline
from pyquorum.errors import BadHandleError, CsTimeoutError, TryAgainError
from pyquorum.frontend.base import FrontendBase
from pyquorum.frontend.core import OnEmpty, Operation, ServiceCore, SessionState, dispatch_rule
from pyquorum.messages.constants import DEFAULT_MAX_MSG_SIZE, DispatchMode
from pyquorum.timeouts import Timeout, resolve

__all__ = ["BlockingSession", "Connection"]

T = TypeVar("T")
_CLOSED = SessionState.CLOSED
E = TypeVar("E")


class Connection(Protocol):
    """What a session needs from a connection.

    :class:`~pyquorum.ipc.client.connection.IpcConnection` is the real one;
    tests and custom transports may pass their own.

    ``request`` returns the one response to one request; ``recv_event``
    returns the next event, or None if none came within ``timeout`` (0 never
    blocks, None waits without limit); both raise ConnectionLost when the
    daemon is gone, and may raise anything from :mod:`pyquorum.errors`.
    """

    def request(self, data: bytes, timeout: float | None) -> bytes: ...

    def recv_event(self, timeout: float | None) -> bytes | None: ...

    def fileno(self) -> int: ...

    def close(self) -> None: ...


class _PendingEvents(Protocol):
    """A connection's optional ``pending_events`` (see
    :meth:`pyquorum.capture.PlaybackConnection.pending_events`): the events it
    holds, as a queue the session pops."""

    def __call__(self, *, more: bool = True) -> deque[bytes]: ...


def connect_ipc(service: str, max_msg_size: int, timeout: float | None) -> Connection:
    """An IPC connection to ``service`` (with None, the connection's own
    handshake limit applies).  The one place the front ends name the IPC client."""
    # Imported here: sessions over a given connection need no ctypes/libc.
    from pyquorum.ipc.client.connection import DEFAULT_CONNECT_TIMEOUT, IpcConnection

    return IpcConnection.connect(
        service,
        max_msg_size=max_msg_size,
        timeout=DEFAULT_CONNECT_TIMEOUT if timeout is None else timeout,
    )


def takes_abandon(conn: Connection) -> bool:
    """Whether ``conn.request`` accepts ``abandon=`` (IpcConnection does)."""
    import inspect

    try:
        return "abandon" in inspect.signature(conn.request).parameters
    except (TypeError, ValueError):
        return False


class BlockingSession(FrontendBase[E], Generic[E]):
    """A connected, initialized session of one service (see the module docstring).

    Construction connects (``service``, ``max_msg_size``; or takes
    ``connection``, an already connected :class:`Connection` the session
    then owns and closes) and runs the core's initialize, all within
    ``timeout``; on failure the connection is closed.
    """

    def __init__(
        self,
        core: ServiceCore[E],
        *,
        context: object = None,
        timeout: float | None = None,
        service: str,
        max_msg_size: int = DEFAULT_MAX_MSG_SIZE,
        connection: Connection | None = None,
    ) -> None:
        super().__init__(core, timeout=timeout, context=context)
        deadline = Deadline(timeout)
        self._close_lock = threading.Lock()
        # Held while one event is received and its callback runs; reentrant so a
        # callback may dispatch again.
        self._dispatch_lock = threading.RLock()
        if connection is None:
            connection = connect_ipc(service, max_msg_size, deadline.remaining())
        self._conn: Connection = connection
        try:
            self._run(self._core.initialize(), deadline.remaining())
        except BaseException:
            self._core.close()
            connection.close()
            raise

    # -- requests --------------------------------------------------------------

    def _run(self, op: Operation[T], timeout: Timeout) -> T:
        """Drive ``op`` to its result within ``timeout`` (DEFAULT: the session's)."""
        limit = resolve(timeout, self._timeout)
        # Without a limit there is nothing to count down (the common case: no Deadline).
        deadline = Deadline(limit) if limit is not None else None
        while not op.done:
            try:
                response = self._conn.request(
                    op.request, deadline.remaining() if deadline is not None else None
                )
            except Exception as exc:
                self._raise_if_closed(op.name, exc)
                raise
            op.feed(response)
        return op.result

    def fileno(self) -> int:
        """An fd to poll for readability: an event (or a hang-up) is pending,
        so ``dispatch(DispatchMode.ALL)`` will not block."""
        self._core.check_open("fileno")
        return self._conn.fileno()

    # -- events ------------------------------------------------------------------

    def _deliver(self, event: E) -> None:
        """Hand ``event`` to the user (the service's callbacks); nothing by default."""

    def _receive(self, timeout: float | None) -> E | None:
        """One event, decoded; None if none came in time or the session was finalized."""
        core = self._core
        try:
            data = self._conn.recv_event(timeout)
        except Exception:
            if core.state is _CLOSED:  # finalized while waiting: a normal end
                return None
            raise
        if data is None or core.state is _CLOSED:  # (state, not the property: once per event)
            return None
        return core.handle_event(data)

    def _acquire_turn(self, deadline: Deadline) -> bool:
        if self._dispatch_lock.acquire(blocking=False):  # nobody else dispatching
            return True
        if deadline.unlimited:
            return self._dispatch_lock.acquire()
        return self._dispatch_lock.acquire(timeout=deadline.remaining() or 0)

    def dispatch(
        self, mode: DispatchMode | int = DispatchMode.ALL, *, timeout: float | None = None
    ) -> int:
        """Deliver events to the callbacks; returns how many events were handled.

        The C libraries' modes: ``ONE`` waits for one event and handles it;
        ``ALL`` handles everything pending and returns (never waits);
        ``BLOCKING`` handles events until the session is finalized;
        ``ONE_NONBLOCKING`` handles one pending event, or raises TryAgainError
        if there is none.  An event without a callback still counts.

        ``timeout`` bounds each wait for an event (ONE, BLOCKING): ONE raises
        CsTimeoutError when it passes, BLOCKING returns.  A notification the
        session does not know raises LibraryError (CS_ERR_LIBRARY in C) after
        consuming it.  Finalizing the session (from a callback or another
        thread) ends any dispatch normally.
        """
        rule = dispatch_rule(mode)
        core = self._core
        core.check_open("dispatch")
        wait = timeout if rule.wait else 0.0
        Deadline(wait)  # validates timeout
        lock = self._dispatch_lock
        handled = 0
        while True:
            event: E | None = None
            # An event already pending, with nobody else dispatching, is
            # taken without a deadline (a flood's hot path).  A non-waiting
            # mode that finds nothing here (or finds another thread
            # dispatching) has nothing pending; a waiting one waits next.
            if lock.acquire(blocking=False):
                try:
                    if not core.closed:
                        event = self._receive(0.0)
                        if event is not None and not core.closed:
                            self._deliver(event)
                finally:
                    lock.release()
            if event is None and rule.wait and not core.closed:
                event = self._wait_event(wait, deliver=True)
            if event is not None:
                handled += 1
            if core.closed:
                return handled
            if event is None:
                if rule.on_empty is OnEmpty.TRY_AGAIN:
                    raise TryAgainError("dispatch: no event pending")
                if rule.on_empty is OnEmpty.TIMEOUT:
                    raise CsTimeoutError(f"dispatch: no event within {timeout} s")
                return handled
            if rule.one:
                return handled

    def events(self, timeout: float | None = None) -> Iterator[E]:
        """The events as they come, as an iterator of the service's frozen event dataclasses.

        Ends when ``timeout`` seconds pass with no new event (None: never),
        or when the session is finalized.  Callbacks are not called for
        events taken this way.  A notification the session does not know
        raises LibraryError (the event is consumed; call events() again to
        go on); ConnectionLost ends it when the daemon goes away.
        """
        self._core.check_open("events")
        Deadline(timeout)  # validates timeout
        pending = getattr(self._conn, "pending_events", None)
        if pending is not None:
            return self._iter_pending(pending, timeout)
        return self._iter_events(timeout)

    def _iter_events(self, timeout: float | None) -> Iterator[E]:
        core = self._core
        lock = self._dispatch_lock
        while True:
            event: E | None = None
            # An event already pending is taken without a deadline (a
            # flood's hot path); only when none is does the wait begin.
            if lock.acquire(blocking=False):
                try:
                    if core.closed:
                        return
                    event = self._receive(0.0)
                finally:
                    lock.release()
            if event is None:
                event = self._wait_event(timeout)
                if event is None:
                    return
            yield event  # outside the lock: the consumer may take its time

    def _iter_pending(self, pending: _PendingEvents, timeout: float | None) -> Iterator[E]:
        """The events a connection already holds (a capture's: see
        :meth:`PlaybackConnection.pending_events`), taken straight from its
        queue: each in its turn of the lock, handled by the core as
        :meth:`_receive` handles one, and yielded outside the lock (so an
        iterator dropped after any event has consumed just the events it
        yielded).  Returns when the connection has none left, when another
        thread is dispatching (the plain way then takes turns), or when the
        session closes; then, unless it closed, goes on as :meth:`_iter_events`."""
        core = self._core
        acquire, release = self._dispatch_lock.acquire, self._dispatch_lock.release
        handle = core.handle_event
        queue: deque[bytes] | None = None
        while True:
            later: Exception | None = None
            if not acquire(False):  # (blocking=False)
                break
            try:
                if core.state is _CLOSED:
                    return
                if not queue:
                    queue = pending()
                    if not queue:
                        break
                data = queue.popleft()
                if not queue:
                    # The last taken: the connection reads on as recv_event would
                    # then (for fileno()); what that raises comes after this event.
                    try:
                        queue = pending(more=False)
                    except Exception as exc:
                        later = exc
                try:
                    event = handle(data)
                except Exception:
                    if later is not None:
                        raise later from None  # (the capture's damage first)
                    raise
            finally:
                release()
            yield event  # outside the lock: the consumer may take its time
            if later is not None:
                raise later
        yield from self._iter_events(timeout)

    def _wait_event(self, timeout: float | None, *, deliver: bool = False) -> E | None:
        """The next event within ``timeout``, taking turns with other dispatchers
        (and delivered to the callbacks in its turn when ``deliver``); None when
        the time passes or the session closes."""
        deadline = Deadline(timeout)
        while True:
            if self._core.closed or not self._acquire_turn(deadline):
                return None
            try:
                event = self._receive(deadline.remaining())
                if deliver and event is not None and not self._core.closed:
                    self._deliver(event)
            finally:
                self._dispatch_lock.release()
            if event is not None:
                return event
            if self._core.closed or deadline.expired():
                return None

    # -- closing ------------------------------------------------------------------

    def finalize(self) -> None:
        """Close the session (``*_finalize`` in C); BadHandleError if it already was."""
        with self._close_lock:
            if not self._core.close():
                raise BadHandleError("finalize: the session is already finalized")
        self._conn.close()

    def close(self) -> None:
        """Close the session; unlike :meth:`finalize`, a second call does nothing."""
        with self._close_lock:
            if not self._core.close():
                return
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
