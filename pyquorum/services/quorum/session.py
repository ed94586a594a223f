"""The blocking quorum session: :class:`QuorumSession`.

The quorum service's rules live in :mod:`pyquorum.services.quorum.core`,
the blocking machinery (connection, waits, dispatch, threads) in
:mod:`pyquorum.frontend.blocking`; this module adds the quorum calls and
callbacks.
"""

from __future__ import annotations

from collections.abc import Callable

from pyquorum.events import Event
from pyquorum.frontend.blocking import BlockingSession, Connection
from pyquorum.messages.constants import DEFAULT_MAX_MSG_SIZE, Model, Track
from pyquorum.messages.types import NodelistNotification, QuorumNotification, QuorumNotificationV0
from pyquorum.services.quorum.core import Callbacks, QuorumProperties, SessionCore
from pyquorum.timeouts import DEFAULT, Timeout

__all__ = ["NodelistCallback", "QuorumCallback", "QuorumSession"]

#: ``quorum_notify(session, event)``: V1 sessions pass QuorumNotification, V0 QuorumNotificationV0.
QuorumCallback = (
    Callable[["QuorumSession", QuorumNotification], object]
    | Callable[["QuorumSession", QuorumNotificationV0], object]
)
#: ``nodelist_notify(session, event)``: V1 sessions only.
NodelistCallback = Callable[["QuorumSession", NodelistNotification], object]


class QuorumSession(QuorumProperties, BlockingSession[Event]):
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
    :class:`~pyquorum.frontend.blocking.Connection` (tests, fakes, other
    transports), which the session then owns and closes.

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

    **Threads.**  One session may be shared between threads; see
    :mod:`pyquorum.frontend.blocking` for the rules.
    """

    _core: SessionCore

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
        core = SessionCore(model)  # validates model before connecting, as C does
        self._callbacks: Callbacks[QuorumSession] = Callbacks(
            quorum_notify,  # type: ignore[arg-type]  # the model decides which event it gets
            nodelist_notify,
        )
        super().__init__(
            core,
            context=context,
            timeout=timeout,
            service=service,
            max_msg_size=max_msg_size,
            connection=connection,
        )

    def getquorate(self, *, timeout: Timeout = DEFAULT) -> bool:
        """Whether this node is part of a quorate partition."""
        return self._run(self._core.getquorate(), timeout)

    def trackstart(
        self, flags: Track | int = Track.CURRENT | Track.CHANGES, *, timeout: Timeout = DEFAULT
    ) -> None:
        """Ask for notifications: ``CURRENT`` (a snapshot now), ``CHANGES``
        (a snapshot, then every change), ``CHANGES_ONLY`` (changes, no snapshot).

        While already tracking, corosync still queues the snapshot for
        CURRENT/CHANGES and *then* answers CS_ERR_EXIST: ExistError is raised,
        the existing subscription is unchanged, and the snapshot's events are
        delivered by dispatch like any others.
        """
        self._run(self._core.trackstart(flags), timeout)

    def trackstop(self, *, timeout: Timeout = DEFAULT) -> None:
        """Stop notifications.  corosync answers CS_OK even when not tracking,
        so this never reports that case.  Events already queued are still delivered."""
        self._run(self._core.trackstop(), timeout)

    def _deliver(self, event: Event) -> None:
        self._callbacks.call(self, event)

    def __repr__(self) -> str:
        return f"<QuorumSession {self._describe()}>"
