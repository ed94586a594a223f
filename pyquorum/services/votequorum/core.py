"""votequorum's rules without I/O: what to send, and what the answers mean.

Each call is an :class:`Operation` (one exchange each here): the front end
sends ``op.request``, feeds the response to ``op.feed()``, and reads
``op.result``; a cs_error_t other than CS_OK is raised as its
:mod:`pyquorum.errors` class.  libvotequorum's initialize only connects, so
:meth:`VotequorumCore.initialize` exchanges nothing (its operation is done at
once) and calls may be made on a NEW core too; ``close()`` makes every later
call raise BadHandleError.

Events are decoded by :meth:`VotequorumCore.handle_event` and handed to the
user's callbacks by :class:`VotequorumCallbacks`, as libvotequorum's
dispatch does; an event id votequorum does not define is CS_ERR_LIBRARY
there, LibraryError here (docs/votequorum.md §4).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Generic, TypeVar

from pyquorum._frozen import slotted
from pyquorum.errors import (
    LibraryError,
    LocalProtocolError,
)
from pyquorum.frontend.core import Operation, SessionLifecycle, expect
from pyquorum.messages.constants import Track
from pyquorum.messages.votequorum import (
    ExpectedVotesNotification,
    GetInfoRequest,
    GetInfoResponse,
    NodelistNotification,
    QuorumNotification,
    Response,
    SetExpectedRequest,
    SetVotesRequest,
    StatusResponse,
    TrackStartRequest,
    TrackStopRequest,
    UnknownNotification,
    decode_notification,
    decode_response,
    encode_request,
)

__all__ = ["VotequorumCallbacks", "VotequorumCore", "VotequorumEvent"]

S = TypeVar("S")
R = TypeVar("R", bound=Response)

#: The typed events of a votequorum session.
VotequorumEvent = QuorumNotification | NodelistNotification | ExpectedVotesNotification


def _expect(data: bytes, cls: type[R], what: str) -> R:
    """Decode a response, raise its error, and check it is the kind ``what`` is answered with.

    The STATUS reply also answers an unknown request (docs/votequorum.md §3.5), so
    a GETINFO answered with STATUS raises that STATUS's error first.
    """
    # Every response carries a cs_error_t, so any kind raises its error first.
    return expect(data, cls, what, decode_response, (Response,))


class VotequorumCore(SessionLifecycle):
    """One votequorum session's state: new, ready or closed, and the tracking context."""

    def __init__(self) -> None:
        super().__init__()
        self.context: int | None = None  # TRACKSTART's context while tracking

    def initialize(self) -> Operation[None]:
        """Nothing to exchange (docs/votequorum.md §1.2): READY at once."""
        self.check_new("initialize")

        def steps() -> Generator[bytes, bytes, None]:
            self.mark_ready()
            return
            yield  # a generator that yields nothing: the operation is done at once

        return Operation("initialize", steps())

    # -- requests ------------------------------------------------------------

    def getinfo(self, nodeid: int = 0) -> Operation[GetInfoResponse]:
        """GETINFO: ``nodeid`` 0 is this node; an unknown node is NotExistError.

        Fields of the answer describe the cluster as this node sees it (the
        votes and expected votes are the node's, the rest cluster-wide;
        docs/votequorum.md §3.1)."""
        self.check_open("getinfo")
        return Operation("getinfo", self._getinfo(encode_request(GetInfoRequest(nodeid))))

    def _getinfo(self, request: bytes) -> Generator[bytes, bytes, GetInfoResponse]:
        data = yield request
        return _expect(data, GetInfoResponse, "GETINFO")

    def setexpected(self, expected_votes: int) -> Operation[None]:
        """SETEXPECTED: InvalidParamError when the votes present cannot reach the new
        quorum (docs/votequorum.md §3.2)."""
        self.check_open("setexpected")
        return self._status("setexpected", encode_request(SetExpectedRequest(expected_votes)))

    def setvotes(self, nodeid: int, votes: int) -> Operation[None]:
        """SETVOTES: NameNotFoundError for a node votequorum does not know."""
        self.check_open("setvotes")
        return self._status("setvotes", encode_request(SetVotesRequest(nodeid, votes)))

    def trackstart(self, flags: Track | int, context: int = 0) -> Operation[None]:
        """TRACKSTART.  With CURRENT or CHANGES the daemon queues a nodelist and a
        quorum notification *before* answering, even when the answer is
        ExistError (already tracking; docs/votequorum.md §3.3)."""
        self.check_open("trackstart")
        if isinstance(flags, bool) or not isinstance(flags, int) or not 0 <= flags <= 0xFFFFFFFF:
            raise LocalProtocolError(f"trackstart: flags must be a u32 of Track bits: {flags!r}")
        request = encode_request(TrackStartRequest(Track(flags), context))
        return Operation("trackstart", self._trackstart(request, context, Track(flags)))

    def _trackstart(
        self, request: bytes, context: int, flags: Track
    ) -> Generator[bytes, bytes, None]:
        data = yield request
        _expect(data, StatusResponse, "TRACKSTART")
        if flags & (Track.CHANGES | Track.CHANGES_ONLY):
            self.context = context

    def trackstop(self) -> Operation[None]:
        """TRACKSTOP: NotExistError when not tracking."""
        self.check_open("trackstop")
        return Operation("trackstop", self._trackstop())

    def _trackstop(self) -> Generator[bytes, bytes, None]:
        data = yield encode_request(TrackStopRequest())
        _expect(data, StatusResponse, "TRACKSTOP")
        self.context = None

    def _status(self, name: str, request: bytes) -> Operation[None]:
        def steps() -> Generator[bytes, bytes, None]:
            data = yield request
            _expect(data, StatusResponse, name.upper())

        return Operation(name, steps())

    # -- events ----------------------------------------------------------------

    def handle_event(self, data: bytes) -> VotequorumEvent:
        """Decode one event; LibraryError (the event is consumed) for an unknown id."""
        self.check_open("dispatch")
        event = decode_notification(data)
        if isinstance(event, UnknownNotification):
            raise LibraryError(
                f"dispatch: votequorum has no notification id {event.id} "
                "(libvotequorum returns CS_ERR_LIBRARY here); the event was dropped"
            )
        assert isinstance(event, QuorumNotification | NodelistNotification
                          | ExpectedVotesNotification)
        return event

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("tracking" if self.context is not None else "open")
        return f"<VotequorumCore {state}>"


@slotted
class VotequorumCallbacks(Generic[S]):
    """The user's callbacks, each called as ``fn(session, event)`` (a missing one skips
    its events, as in libvotequorum)."""

    quorum_notify: Callable[[S, QuorumNotification], object] | None = None
    nodelist_notify: Callable[[S, NodelistNotification], object] | None = None
    expectedvotes_notify: Callable[[S, ExpectedVotesNotification], object] | None = None

    def call(self, session: S, event: VotequorumEvent) -> bool:
        """Run the callback for ``event``; False when there is none."""
        if isinstance(event, QuorumNotification):
            if self.quorum_notify is None:
                return False
            self.quorum_notify(session, event)
        elif isinstance(event, NodelistNotification):
            if self.nodelist_notify is None:
                return False
            self.nodelist_notify(session, event)
        else:
            if self.expectedvotes_notify is None:
                return False
            self.expectedvotes_notify(session, event)
        return True
