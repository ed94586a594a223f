"""The quorum service's rules, without I/O: what to send, and what the answers mean.

Theory of operation
-------------------
A session has three states::

    NEW --initialize() completes--> READY --close()--> CLOSED
      \\__________________________ close() ___________/

**Requests.**  Every call that talks to the daemon is an :class:`Operation`.
The front end sends ``op.request``, feeds the one response's bytes to
``op.feed()``, and repeats while ``not op.done``; then ``op.result`` is the
answer.  All operations are one exchange except initialize with
``Model.AUTO``, which sends MODEL_GETTYPE(V1) and, when the daemon answers
with the generic "unknown request" reply (corosync < 3.1, protocol.md §6.3,
§9), sends GETTYPE on the same connection: the connection is then model V0.
A cs_error_t other than CS_OK is raised as its :mod:`pyquorum.errors` class
from ``feed()``.  Operations carry their own state, so several can be in
flight in different threads; the connection serialises the exchanges.

**Events.**  The front end receives an event's bytes and hands them to
:meth:`SessionCore.handle_event`, which decodes them and checks them
against the model in use: a V0 connection knows only id 3, a V1 connection
only ids 6 and 7 (§6.5).  Any other id is what libquorum reports as
``CS_ERR_LIBRARY``: :class:`~pyquorum.errors.LibraryError` is raised, and
the event has been consumed, so the next one can still be read.

**Dispatch.**  :data:`DISPATCH_RULES` is libquorum's ``quorum_dispatch``
loop as a table: for each :class:`DispatchMode`, whether to wait for an
event, whether to stop after one, and what "nothing pending" means.
:class:`Callbacks` picks the callback for an event; a missing callback
skips the event, as in C.

Nothing here blocks, sleeps, or touches a file descriptor, so the blocking
front end (:mod:`pyquorum.session`) and an asyncio one drive the same code.
A front end, in outline (``conn`` is its connection)::

    core = SessionCore(Model.AUTO)
    op = core.initialize()                  # likewise getquorate(), trackstart(f)...
    while not op.done:
        op.feed(await conn.request(op.request, timeout))
    core.model, core.quorum_type            # known now; op.result says the same

    rule = dispatch_rule(mode)              # wait? one? what does "empty" mean?
    data = await conn.recv_event(timeout if rule.wait else 0)
    event = core.handle_event(data)         # typed, checked against the model
    callbacks.call(session, event)          # False: no callback, event skipped

On ``close()`` the core only changes state; closing the connection is the
front end's job, and any call afterwards raises BadHandleError.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from pyquorum.errors import (
    BadHandleError,
    CsErrorCode,
    InvalidParamError,
    LibraryError,
    LocalProtocolError,
    RemoteProtocolError,
    raise_for_code,
)
from pyquorum.messages.constants import DispatchMode, Model, QuorumType, ResponseId, Track
from pyquorum.messages.quorum import decode_notification, decode_response, encode_request
from pyquorum.messages.types import (
    ErrorResponse,
    GetQuorateRequest,
    GetQuorateResponse,
    GetTypeRequest,
    GetTypeResponse,
    ModelGetTypeRequest,
    ModelGetTypeResponse,
    NodelistNotification,
    Notification,
    QuorumNotification,
    QuorumNotificationV0,
    Response,
    TrackStartRequest,
    TrackStartResponse,
    TrackStopRequest,
    TrackStopResponse,
    UnknownNotification,
)

__all__ = [
    "DISPATCH_RULES",
    "Callbacks",
    "DispatchRule",
    "Event",
    "InitResult",
    "OnEmpty",
    "Operation",
    "SessionCore",
    "SessionState",
    "dispatch_rule",
]

log = logging.getLogger("pyquorum.session")

T = TypeVar("T")
S = TypeVar("S")

#: The typed events a session delivers (the model decides which of them).
Event = QuorumNotification | NodelistNotification | QuorumNotificationV0

_EVENT_IDS: dict[type[Notification], int] = {
    QuorumNotificationV0: ResponseId.NOTIFICATION,
    QuorumNotification: ResponseId.V1_QUORUM_NOTIFICATION,
    NodelistNotification: ResponseId.V1_NODELIST_NOTIFICATION,
}


class SessionState(enum.Enum):
    NEW = "new"
    READY = "ready"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class InitResult:
    """What initialize learned: the model in use and the daemon's quorum type.

    ``fell_back`` is true when ``Model.AUTO`` had to settle for V0.
    """

    model: Model
    quorum_type: QuorumType | int
    fell_back: bool = False


class Operation(Generic[T]):
    """One call's exchanges with the daemon, driven by a front end.

    ``request`` is the next request's bytes; ``feed(response)`` interprets
    the response and either finishes (``done``, ``result``) or replaces
    ``request`` with a follow-up.  An exception from ``feed`` ends the
    operation.  Internally a generator that yields requests and is sent
    responses, which keeps multi-step calls (AUTO initialize) linear.
    """

    __slots__ = ("_result", "_steps", "done", "name", "request")

    def __init__(self, name: str, steps: Generator[bytes, bytes, T]) -> None:
        self.name = name
        self._steps = steps
        self.request: bytes = next(steps)
        self.done = False
        self._result: T | None = None

    def feed(self, response: bytes) -> None:
        """Hand over the response to ``request``; raises the daemon's error, if any."""
        if self.done:
            raise LocalProtocolError(f"{self.name}: operation already complete")
        try:
            self.request = self._steps.send(response)
        except StopIteration as stop:
            self.done = True
            self._result = stop.value
        except BaseException:
            self.done = True
            raise

    @property
    def result(self) -> T:
        if not self.done:
            raise LocalProtocolError(f"{self.name}: no result before the last response")
        return self._result  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"<Operation {self.name} {'done' if self.done else 'pending'}>"


class OnEmpty(enum.Enum):
    """What a dispatch does when no event is pending (or none came in time)."""

    RETURN = "return"  # stop quietly
    TRY_AGAIN = "try_again"  # raise TryAgainError (CS_ERR_TRY_AGAIN)
    TIMEOUT = "timeout"  # raise CsTimeoutError: the caller wanted one event


@dataclass(frozen=True, slots=True)
class DispatchRule:
    """One row of :data:`DISPATCH_RULES`.

    ``wait``: wait for events (ONE, BLOCKING) or take only what is pending
    (ALL, ONE_NONBLOCKING: libquorum's timeout 0).  ``one``: stop after one
    event.  ``on_empty``: what nothing pending (or nothing before the
    timeout) means.
    """

    wait: bool
    one: bool
    on_empty: OnEmpty


#: libquorum's quorum_dispatch (lib/quorum.c), as a table (protocol.md §6.5).
DISPATCH_RULES: dict[DispatchMode, DispatchRule] = {
    DispatchMode.ONE: DispatchRule(wait=True, one=True, on_empty=OnEmpty.TIMEOUT),
    DispatchMode.ALL: DispatchRule(wait=False, one=False, on_empty=OnEmpty.RETURN),
    DispatchMode.BLOCKING: DispatchRule(wait=True, one=False, on_empty=OnEmpty.RETURN),
    DispatchMode.ONE_NONBLOCKING: DispatchRule(wait=False, one=True, on_empty=OnEmpty.TRY_AGAIN),
}


def dispatch_rule(mode: DispatchMode | int) -> DispatchRule:
    """The rule for ``mode``; anything else is CS_ERR_INVALID_PARAM, as in C."""
    try:
        return DISPATCH_RULES[DispatchMode(mode)]
    except ValueError:
        raise InvalidParamError(f"dispatch: {mode!r} is not a DispatchMode") from None


@dataclass(slots=True)
class Callbacks(Generic[S]):
    """The user's callbacks, each called as ``fn(session, event)``.

    ``S`` is the front end's session type.  ``quorum_notify`` receives
    :class:`QuorumNotification` (V1) or :class:`QuorumNotificationV0` (V0);
    ``nodelist_notify`` receives :class:`NodelistNotification` (V1 only).
    """

    quorum_notify: Callable[[S, QuorumNotification | QuorumNotificationV0], object] | None = None
    nodelist_notify: Callable[[S, NodelistNotification], object] | None = None

    def call(self, session: S, event: Event) -> bool:
        """Run the callback for ``event``; False when there is none (the event is skipped)."""
        if isinstance(event, NodelistNotification):
            if self.nodelist_notify is None:
                return False
            self.nodelist_notify(session, event)
            return True
        if self.quorum_notify is None:
            return False
        self.quorum_notify(session, event)
        return True


R = TypeVar("R", bound=Response)

#: The one request that never changes, encoded once (it is the hot path).
_GETQUORATE: Final = encode_request(GetQuorateRequest())


def _expect(data: bytes, cls: type[R], what: str) -> R:
    """Decode a response, raise its cs_error_t, and check it answers ``what``."""
    resp = decode_response(data)
    if isinstance(resp, (cls, ErrorResponse)):
        raise_for_code(resp.error, what)
    if isinstance(resp, cls):
        return resp
    raise RemoteProtocolError(
        f"{what}: expected {cls.__name__}, got {type(resp).__name__} with CS_OK",
        data=bytes(data),
    )


def _quorum_type(value: int) -> QuorumType | int:
    try:
        return QuorumType(value)
    except ValueError:
        return value


class SessionCore:
    """The state of one quorum session, and the operations it may run.

    ``requested_model`` is what the caller asked for (``Model.AUTO``
    allowed); ``model`` is the model in use once initialized.
    """

    def __init__(self, model: Model | int = Model.V1) -> None:
        try:
            self.requested_model = Model(model)
        except ValueError:
            raise InvalidParamError(f"{model!r} is not a quorum model (V0, V1 or AUTO)") from None
        self.state = SessionState.NEW
        self.model: Model | None = None
        self.quorum_type: QuorumType | int | None = None

    # -- state ---------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.state is SessionState.CLOSED

    def check_open(self, what: str) -> None:
        """Raise BadHandleError for calls on a closed session (CS_ERR_BAD_HANDLE in C)."""
        if self.state is SessionState.CLOSED:
            raise BadHandleError(f"{what}: the session is finalized")

    def _check_ready(self, what: str) -> None:
        self.check_open(what)
        if self.state is not SessionState.READY:
            raise LocalProtocolError(f"{what}: the session is not initialized yet")

    def close(self) -> bool:
        """Mark the session closed; False if it already was."""
        if self.state is SessionState.CLOSED:
            return False
        self.state = SessionState.CLOSED
        return True

    # -- requests --------------------------------------------------------------

    def initialize(self) -> Operation[InitResult]:
        """MODEL_GETTYPE(V1) for V1, GETTYPE for V0; AUTO tries V1 then V0."""
        self.check_open("initialize")
        if self.state is not SessionState.NEW:
            raise LocalProtocolError("initialize: the session is already initialized")
        return Operation("initialize", self._initialize_steps())

    def _initialize_steps(self) -> Generator[bytes, bytes, InitResult]:
        want = self.requested_model
        fell_back = False
        if want in (Model.V1, Model.AUTO):
            data = yield encode_request(ModelGetTypeRequest(Model.V1))
            resp = decode_response(data)
            too_old = (
                isinstance(resp, ErrorResponse) and resp.error == CsErrorCode.ERR_INVALID_PARAM
            )
            if not too_old:
                v1 = _expect(data, ModelGetTypeResponse, "MODEL_GETTYPE")
                return self._ready(Model.V1, v1.quorum_type, fell_back=False)
            if want is Model.V1:
                raise InvalidParamError(
                    "MODEL_GETTYPE: corosync answered as to an unknown request, so it predates "
                    "model V1 (corosync < 3.1); use Model.V0 or Model.AUTO"
                )
            log.info(
                "corosync does not know MODEL_GETTYPE (it predates 3.1): "
                "Model.AUTO falls back to model V0"
            )
            fell_back = True
        data = yield encode_request(GetTypeRequest())
        v0 = _expect(data, GetTypeResponse, "GETTYPE")
        return self._ready(Model.V0, v0.quorum_type, fell_back=fell_back)

    def _ready(self, model: Model, quorum_type: int, *, fell_back: bool) -> InitResult:
        # A close() from another thread while initializing wins.
        if self.state is SessionState.NEW:
            self.state = SessionState.READY
        self.model = model
        self.quorum_type = _quorum_type(quorum_type)
        return InitResult(model, self.quorum_type, fell_back)

    def getquorate(self) -> Operation[bool]:
        self._check_ready("getquorate")
        return Operation("getquorate", self._getquorate_steps())

    def _getquorate_steps(self) -> Generator[bytes, bytes, bool]:
        data = yield _GETQUORATE
        return bool(_expect(data, GetQuorateResponse, "GETQUORATE").quorate)

    def trackstart(self, flags: Track | int) -> Operation[None]:
        """TRACKSTART.  A second one raises ExistError, but corosync has
        already queued its snapshot by then (§6.6), and those events will be
        delivered like any others."""
        self._check_ready("trackstart")
        if isinstance(flags, bool) or not isinstance(flags, int) or not 0 <= flags <= 0xFFFFFFFF:
            raise LocalProtocolError(f"trackstart: flags must be a u32 of Track bits: {flags!r}")
        return Operation("trackstart", self._trackstart_steps(Track(flags)))

    def _trackstart_steps(self, flags: Track) -> Generator[bytes, bytes, None]:
        data = yield encode_request(TrackStartRequest(flags))
        _expect(data, TrackStartResponse, "TRACKSTART")

    def trackstop(self) -> Operation[None]:
        """TRACKSTOP.  corosync always answers CS_OK, tracking or not (§6.3)."""
        self._check_ready("trackstop")
        return Operation("trackstop", self._trackstop_steps())

    def _trackstop_steps(self) -> Generator[bytes, bytes, None]:
        data = yield encode_request(TrackStopRequest())
        _expect(data, TrackStopResponse, "TRACKSTOP")

    # -- events ----------------------------------------------------------------

    def handle_event(self, data: bytes) -> Event:
        """Decode one event; LibraryError if the model in use has no such notification."""
        self._check_ready("dispatch")
        event = decode_notification(data)
        if self.model is Model.V1 and isinstance(event, QuorumNotification | NodelistNotification):
            return event
        if self.model is Model.V0 and isinstance(event, QuorumNotificationV0):
            return event
        ident = event.id if isinstance(event, UnknownNotification) else _EVENT_IDS[type(event)]
        model = self.model.name if self.model is not None else "?"
        raise LibraryError(
            f"dispatch: notification id {ident} is not part of model {model} "
            "(libquorum returns CS_ERR_LIBRARY here); the event was dropped"
        )

    def __repr__(self) -> str:
        model = self.model.name if self.model is not None else self.requested_model.name
        return f"<SessionCore {self.state.value} model={model}>"
