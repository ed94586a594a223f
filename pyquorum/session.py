"""The blocking front end: :class:`QuorumSession` drives the sans-I/O core over an IPC connection.

The rules of the quorum service live in :mod:`pyquorum._core`; this module
only moves bytes between that core and a connection, waits, and calls the
user's callbacks.  See :class:`QuorumSession` for the behaviour.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterator
from typing import Final, Literal, Protocol, TypeVar

from pyquorum._core import (
    Callbacks,
    Event,
    OnEmpty,
    Operation,
    SessionCore,
    dispatch_rule,
)
from pyquorum._deadline import Deadline
from pyquorum.errors import BadHandleError, CsTimeoutError, TryAgainError
from pyquorum.messages.constants import DEFAULT_MAX_MSG_SIZE, DispatchMode, Model, QuorumType, Track
from pyquorum.messages.types import NodelistNotification, QuorumNotification, QuorumNotificationV0

__all__ = [
    "DEFAULT",
    "Connection",
    "NodelistCallback",
    "QuorumCallback",
    "QuorumSession",
]

T = TypeVar("T")


class _Default(enum.Enum):
    DEFAULT = "default"


#: "Use the session's timeout" (the default of every request method's ``timeout=``).
DEFAULT: Final = _Default.DEFAULT
_Timeout = float | None | Literal[_Default.DEFAULT]

#: ``quorum_notify(session, event)``: V1 sessions pass QuorumNotification, V0 QuorumNotificationV0.
QuorumCallback = (
    Callable[["QuorumSession", QuorumNotification], object]
    | Callable[["QuorumSession", QuorumNotificationV0], object]
)
#: ``nodelist_notify(session, event)``: V1 sessions only.
NodelistCallback = Callable[["QuorumSession", NodelistNotification], object]


class Connection(Protocol):
    """What a session needs from a connection;
    :class:`~pyquorum.ipc.client.connection.IpcConnection` is the real one, tests and
    custom transports may pass their own.

    ``request`` returns the one response to one request; ``recv_event``
    returns the next event, or None if none came within ``timeout`` (0 never
    blocks, None waits without limit); both raise ConnectionLost when the
    daemon is gone, and may raise anything from :mod:`pyquorum.errors`.
    """

    def request(self, data: bytes, timeout: float | None) -> bytes: ...

    def recv_event(self, timeout: float | None) -> bytes | None: ...

    def fileno(self) -> int: ...

    def close(self) -> None: ...


class QuorumSession:
    """A connection to corosync's quorum service: libquorum's handle, as an object.

    Construction connects and initializes: model ``V1`` sends
    MODEL_GETTYPE(1) so the daemon sends node lists; ``V0`` sends GETTYPE
    (the ``quorum_initialize`` of C); ``AUTO`` tries V1 and falls back to V0
    when the daemon predates it (corosync < 3.1), logging it on the
    ``pyquorum.session`` logger; :attr:`model` is then ``Model.V0``.

    Callbacks are called from :meth:`dispatch` as ``fn(session, event)``,
    with the frozen notification dataclass as ``event``:

    * ``quorum_notify``: :class:`QuorumNotification` on a V1 session,
      :class:`QuorumNotificationV0` on a V0 one;
    * ``nodelist_notify``: :class:`NodelistNotification` (V1 only; never
      called on a V0 session).

    ``context`` is any object of yours (:attr:`context`).  ``service`` and
    ``max_msg_size`` go to the connection (the defaults are libquorum's);
    ``connection`` replaces it with an already connected object following
    :class:`Connection` (tests, fakes, other transports), which the session
    then owns and closes.

    A missing callback skips its events, as in C.  Their return value is
    ignored; an exception raised in a callback propagates out of dispatch
    (the event counts as consumed).  A callback may call :meth:`finalize`:
    dispatch then returns normally.

    **Timeouts.** ``timeout`` (seconds, None = no limit) bounds the
    constructor (handshake included; with None the connection's own
    handshake limit applies) and is the default of every call that expects
    an answer: :meth:`getquorate`, :meth:`trackstart`, :meth:`trackstop`,
    each of which also takes ``timeout=``.  Waiting for *events* is
    open-ended by nature, so :meth:`dispatch` and :meth:`events` wait
    without limit unless given their own ``timeout``.  Without a limit a
    dead daemon still ends any wait with ConnectionLost within about 3 s.

    **Errors** come from :mod:`pyquorum.errors`: the daemon's cs_error_t as
    its class, ConnectionLost when the daemon is gone, CsTimeoutError,
    and BadHandleError for any call on a finalized session.

    **Threads.**  One session may be shared: any thread may call
    :meth:`getquorate`, :meth:`trackstart`, :meth:`trackstop`,
    :meth:`fileno`, :attr:`context` and :meth:`finalize` at any time, also
    while another thread dispatches (requests and events travel on separate
    channels).  Events are handled one at a time: dispatching threads take
    turns per event, so callbacks never run concurrently and run in arrival
    order.  A non-waiting dispatch (ALL, ONE_NONBLOCKING) that finds another
    thread dispatching treats that as "nothing pending".  :meth:`finalize`
    from another thread wakes a blocked dispatch, which returns normally, and
    a request in flight, which raises BadHandleError.
    """

    def __init__(
        self,
        model: Model | int = Model.V1,
        *,
        quorum_notify: QuorumCallback | None = None,
        nodelist_notify: NodelistCallback | None = None,
        context: object = None,
        timeout: float | None = None,
        service: str = "quorum",
        max_msg_size: int = DEFAULT_MAX_MSG_SIZE,
        connection: Connection | None = None,
    ) -> None:
        deadline = Deadline(timeout)  # validates timeout
        self._core = SessionCore(model)  # validates model before connecting, as C does
        self._callbacks: Callbacks[QuorumSession] = Callbacks(
            quorum_notify,  # type: ignore[arg-type]  # the model decides which event it gets
            nodelist_notify,
        )
        self._context = context
        self._timeout = timeout
        self._close_lock = threading.Lock()
        # Held while one event is received and its callback runs; reentrant so a
        # callback may dispatch again.
        self._dispatch_lock = threading.RLock()
        if connection is None:
            # Imported here: ``import pyquorum`` (errors, libquorum's constants,
            # sessions over a given connection) needs no ctypes/libc.
            from pyquorum.ipc.client.connection import IpcConnection

            if timeout is None:
                connection = IpcConnection.connect(service, max_msg_size=max_msg_size)
            else:
                connection = IpcConnection.connect(
                    service, max_msg_size=max_msg_size, timeout=deadline.remaining()
                )
        self._conn: Connection = connection
        try:
            self._run(self._core.initialize(), deadline.remaining())
        except BaseException:
            self._core.close()
            connection.close()
            raise

    # -- properties ----------------------------------------------------------

    @property
    def model(self) -> Model:
        """The model in use (``V0`` or ``V1``; never ``AUTO``)."""
        assert self._core.model is not None
        return self._core.model

    @property
    def requested_model(self) -> Model:
        return self._core.requested_model

    @property
    def quorum_type(self) -> QuorumType | int:
        """``QuorumType.SET`` when a quorum provider is configured, ``FREE`` when not."""
        assert self._core.quorum_type is not None
        return self._core.quorum_type

    @property
    def timeout(self) -> float | None:
        """The default timeout of calls that expect an answer."""
        return self._timeout

    @property
    def closed(self) -> bool:
        return self._core.closed

    @property
    def context(self) -> object:
        """Any object of yours (``quorum_context_get/set``); pyquorum never looks at it."""
        self._core.check_open("context")
        return self._context

    @context.setter
    def context(self, value: object) -> None:
        self._core.check_open("context")
        self._context = value

    # -- requests --------------------------------------------------------------

    def _resolve(self, timeout: _Timeout) -> float | None:
        return self._timeout if timeout is DEFAULT else timeout

    def _run(self, op: Operation[T], timeout: float | None) -> T:
        deadline = Deadline(timeout)
        while not op.done:
            try:
                response = self._conn.request(op.request, deadline.remaining())
            except Exception as exc:
                # Once finalized, whatever the torn-down connection says is moot.
                if self._core.closed:
                    raise BadHandleError(
                        f"{op.name}: the session was finalized during the call"
                    ) from exc
                raise
            op.feed(response)
        return op.result

    def getquorate(self, *, timeout: _Timeout = DEFAULT) -> bool:
        """Whether this node is part of a quorate partition."""
        return self._run(self._core.getquorate(), self._resolve(timeout))

    def trackstart(
        self, flags: Track | int = Track.CURRENT | Track.CHANGES, *, timeout: _Timeout = DEFAULT
    ) -> None:
        """Ask for notifications: ``CURRENT`` (a snapshot now), ``CHANGES``
        (a snapshot, then every change), ``CHANGES_ONLY`` (changes, no snapshot).

        While already tracking, corosync still queues the snapshot for
        CURRENT/CHANGES and *then* answers CS_ERR_EXIST: ExistError is raised,
        the existing subscription is unchanged, and the snapshot's events are
        delivered by dispatch like any others.
        """
        self._run(self._core.trackstart(flags), self._resolve(timeout))

    def trackstop(self, *, timeout: _Timeout = DEFAULT) -> None:
        """Stop notifications.  corosync answers CS_OK even when not tracking,
        so this never reports that case.  Events already queued are still delivered."""
        self._run(self._core.trackstop(), self._resolve(timeout))

    def fileno(self) -> int:
        """An fd to poll for readability: an event (or a hang-up) is pending,
        so ``dispatch(DispatchMode.ALL)`` will not block."""
        self._core.check_open("fileno")
        return self._conn.fileno()

    # -- events ------------------------------------------------------------------

    def _receive(self, timeout: float | None) -> Event | None:
        """One event, decoded; None if none came in time or the session was finalized."""
        try:
            data = self._conn.recv_event(timeout)
        except Exception:
            if self._core.closed:  # finalized while waiting: a normal end
                return None
            raise
        if data is None or self._core.closed:
            return None
        return self._core.handle_event(data)

    def _acquire_turn(self, deadline: Deadline) -> bool:
        if deadline.unlimited:
            return self._dispatch_lock.acquire()
        return self._dispatch_lock.acquire(timeout=deadline.remaining() or 0)

    def dispatch(
        self, mode: DispatchMode | int = DispatchMode.ALL, *, timeout: float | None = None
    ) -> int:
        """Deliver events to the callbacks; returns how many events were handled.

        libquorum's modes: ``ONE`` waits for one event and handles it;
        ``ALL`` handles everything pending and returns (never waits);
        ``BLOCKING`` handles events until the session is finalized;
        ``ONE_NONBLOCKING`` handles one pending event, or raises TryAgainError
        if there is none.  An event without a callback still counts.

        ``timeout`` bounds each wait for an event (ONE, BLOCKING): ONE raises
        CsTimeoutError when it passes, BLOCKING returns.  A notification the
        model does not know raises LibraryError (CS_ERR_LIBRARY in C) after
        consuming it.  Finalizing the session (from a callback or another
        thread) ends any dispatch normally.
        """
        rule = dispatch_rule(mode)
        self._core.check_open("dispatch")
        wait = timeout if rule.wait else 0.0
        Deadline(wait)  # validates timeout
        handled = 0
        while True:
            deadline = Deadline(wait)
            event: Event | None = None
            if self._acquire_turn(deadline):
                try:
                    event = self._receive(deadline.remaining())
                    if event is not None and not self._core.closed:
                        self._callbacks.call(self, event)
                finally:
                    self._dispatch_lock.release()
            if event is not None:
                handled += 1
            if self._core.closed:
                return handled
            if event is None:
                if rule.wait and not deadline.expired():
                    continue  # nothing yet, and time is left
                if rule.on_empty is OnEmpty.TRY_AGAIN:
                    raise TryAgainError("dispatch: no event pending")
                if rule.on_empty is OnEmpty.TIMEOUT:
                    raise CsTimeoutError(f"dispatch: no event within {timeout} s")
                return handled
            if rule.one:
                return handled

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """The events as they come, as an iterator of the frozen notification dataclasses.

        Ends when ``timeout`` seconds pass with no new event (None: never),
        or when the session is finalized.  Callbacks are not called for
        events taken this way.  A notification the model does not know
        raises LibraryError (the event is consumed; call events() again to
        go on); ConnectionLost ends it when the daemon goes away.
        """
        self._core.check_open("events")
        Deadline(timeout)  # validates timeout
        return self._iter_events(timeout)

    def _iter_events(self, timeout: float | None) -> Iterator[Event]:
        while True:
            deadline = Deadline(timeout)
            event: Event | None = None
            while event is None:
                if self._core.closed or not self._acquire_turn(deadline):
                    return
                try:
                    event = self._receive(deadline.remaining())
                finally:
                    self._dispatch_lock.release()
                if event is None and (self._core.closed or deadline.expired()):
                    return
            yield event  # outside the lock: the consumer may take its time

    # -- closing ------------------------------------------------------------------

    def finalize(self) -> None:
        """Close the session (``quorum_finalize``); BadHandleError if it already was."""
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

    def __enter__(self) -> QuorumSession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        if self._core.model is None:
            return f"<QuorumSession {self._core.state.value}>"
        state = "closed" if self.closed else "open"
        return f"<QuorumSession model={self.model.name} quorum_type={self.quorum_type!r} {state}>"
