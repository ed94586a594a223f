"""The blocking votequorum session: :class:`VotequorumSession`.

votequorum's rules live in :mod:`pyquorum.services.votequorum.core`, the
blocking machinery (connection, waits, dispatch, threads) in
:mod:`pyquorum.frontend.blocking`; this module adds the votequorum calls
and callbacks.
"""

from __future__ import annotations

from collections.abc import Callable

from pyquorum.frontend.blocking import BlockingSession, Connection
from pyquorum.messages.constants import DEFAULT_MAX_MSG_SIZE, Track
from pyquorum.messages.votequorum import (
    ExpectedVotesNotification,
    GetInfoResponse,
    NodelistNotification,
    NodeStatus,
    QuorumNotification,
)
from pyquorum.services.votequorum.core import (
    VotequorumCallbacks,
    VotequorumCore,
    VotequorumEvent,
)
from pyquorum.timeouts import DEFAULT, Timeout

__all__ = [
    "ExpectedVotesCallback",
    "ExpectedVotesNotification",
    "NodeStatus",
    "VotequorumNodeInfo",
    "VotequorumNodelistCallback",
    "VotequorumNodelistNotification",
    "VotequorumQuorumCallback",
    "VotequorumQuorumNotification",
    "VotequorumSession",
]

#: What :meth:`VotequorumSession.getinfo` returns: the GETINFO answer, with
#: ``flags`` a :class:`~pyquorum.messages.constants.VotequorumInfo` IntFlag and
#: ``state`` a :class:`~pyquorum.messages.constants.NodeState`.
VotequorumNodeInfo = GetInfoResponse
#: The events, under names that do not clash with the quorum service's.
VotequorumQuorumNotification = QuorumNotification
VotequorumNodelistNotification = NodelistNotification

VotequorumQuorumCallback = Callable[["VotequorumSession", QuorumNotification], object]
VotequorumNodelistCallback = Callable[["VotequorumSession", NodelistNotification], object]
ExpectedVotesCallback = Callable[["VotequorumSession", ExpectedVotesNotification], object]

#: The service's libqb endpoint (docs/votequorum.md §1.1).
SERVICE = "votequorum"


class VotequorumSession(BlockingSession[VotequorumEvent]):
    """A connection to corosync's votequorum service: libvotequorum's handle, as an object.

    Construction connects; votequorum needs no first exchange
    (docs/votequorum.md §1.2).  Callbacks are called from :meth:`dispatch`
    as ``fn(session, event)`` with the frozen notification dataclasses of
    :mod:`pyquorum.messages.votequorum`: ``quorum_notify``
    (:class:`QuorumNotification`, nodes in the daemon's order, not sorted),
    ``nodelist_notify`` (:class:`NodelistNotification`) and
    ``expectedvotes_notify`` (:class:`ExpectedVotesNotification`).  Each
    event carries the ``context`` given to :meth:`trackstart`; the session's
    own :attr:`context` is a separate object of yours.  A missing callback
    skips its events, as in C.

    ``timeout`` (seconds, None = no limit) bounds the constructor and is the
    default of every request (each also takes ``timeout=``); dispatch and
    :meth:`events` wait without limit unless given their own.  A dead daemon
    ends any wait with ConnectionLost within about 3 s.  Errors are those of
    :mod:`pyquorum.errors`; ``connection`` replaces the IPC connection with
    an already connected object the session then owns.  Threads: see
    :mod:`pyquorum.frontend.blocking`.
    """

    _core: VotequorumCore

    def __init__(
        self,
        *,
        quorum_notify: VotequorumQuorumCallback | None = None,
        nodelist_notify: VotequorumNodelistCallback | None = None,
        expectedvotes_notify: ExpectedVotesCallback | None = None,
        context: object = None,
        timeout: float | None = None,
        service: str = SERVICE,
        max_msg_size: int = DEFAULT_MAX_MSG_SIZE,
        connection: Connection | None = None,
    ) -> None:
        self._callbacks: VotequorumCallbacks[VotequorumSession] = VotequorumCallbacks(
            quorum_notify, nodelist_notify, expectedvotes_notify
        )
        super().__init__(
            VotequorumCore(),
            context=context,
            timeout=timeout,
            service=service,
            max_msg_size=max_msg_size,
            connection=connection,
        )

    def getinfo(self, nodeid: int = 0, *, timeout: Timeout = DEFAULT) -> VotequorumNodeInfo:
        """votequorum's view of ``nodeid`` (0: this node): its votes, expected
        votes and state, and the cluster's total votes, quorum and flags.
        NotExistError for a node votequorum does not know."""
        return self._run(self._core.getinfo(nodeid), timeout)

    def setexpected(self, expected_votes: int, *, timeout: Timeout = DEFAULT) -> None:
        """Set the cluster's expected votes (``corosync-quorumtool -e``).

        InvalidParamError for a value below the votes present or one that
        would lose quorum.  The change travels as a cluster message: it is in
        place once the expected-votes event arrives, not when this returns.
        """
        self._run(self._core.setexpected(expected_votes), timeout)

    def setvotes(self, nodeid: int, votes: int, *, timeout: Timeout = DEFAULT) -> None:
        """Set ``nodeid``'s votes (``corosync-quorumtool -v``); asynchronous like
        :meth:`setexpected`.  NameNotFoundError for an unknown node."""
        self._run(self._core.setvotes(nodeid, votes), timeout)

    def trackstart(
        self,
        flags: Track | int = Track.CURRENT | Track.CHANGES,
        context: int = 0,
        *,
        timeout: Timeout = DEFAULT,
    ) -> None:
        """Ask for notifications carrying ``context`` (a u64): ``CURRENT`` (a
        nodelist and a quorum snapshot, no tracking), ``CHANGES`` (the snapshot,
        then every change), ``CHANGES_ONLY``.  While tracking, ExistError is
        raised, after the snapshot (with the new context) was queued."""
        self._run(self._core.trackstart(flags, context), timeout)

    def trackstop(self, *, timeout: Timeout = DEFAULT) -> None:
        """Stop tracking; NotExistError when not tracking."""
        self._run(self._core.trackstop(), timeout)

    def _deliver(self, event: VotequorumEvent) -> None:
        self._callbacks.call(self, event)

    def __repr__(self) -> str:
        return f"<VotequorumSession {self._core.state.value}>"
