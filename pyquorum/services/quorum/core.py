"""The quorum service's rules, without I/O: what to send, and what the answers mean.

Built on :mod:`pyquorum.frontend.core` (operations, session states, the
dispatch rules); see its docstring for how a front end drives a core.
What is quorum-specific:

**Initialize.**  Model V1 sends MODEL_GETTYPE(V1), V0 sends GETTYPE.
``Model.AUTO`` sends MODEL_GETTYPE(V1) and, when the daemon answers with
the generic "unknown request" reply (corosync < 3.1, docs/protocol.md §6.3,
§9), sends GETTYPE on the same connection: the connection is then model V0.

**Events.**  :meth:`SessionCore.handle_event` decodes an event and checks
it against the model in use: a V0 connection knows only id 3, a V1
connection only ids 6 and 7 (docs/protocol.md §6.5).  Any other id is what libquorum
reports as ``CS_ERR_LIBRARY``: :class:`~pyquorum.errors.LibraryError` is
raised, and the event has been consumed, so the next one can still be read.

:class:`Callbacks` picks the callback for an event; a missing callback
skips the event, as in C.  On ``close()`` the core only changes state;
closing the connection is the front end's job, and any call afterwards
raises BadHandleError.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Generator
from typing import Final, Generic, TypeVar

from pyquorum._frozen import frozen, slotted
from pyquorum.errors import (
    CsErrorCode,
    InvalidParamError,
    LibraryError,
    LocalProtocolError,
)
from pyquorum.events import Event
from pyquorum.frontend.core import Exchange, Operation, SessionLifecycle, SessionState, expect
from pyquorum.messages.constants import Model, QuorumType, ResponseId, Track
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
    TrackStartRequest,
    TrackStartResponse,
    TrackStopRequest,
    TrackStopResponse,
    UnknownNotification,
)

__all__ = ["Callbacks", "InitResult", "QuorumProperties", "SessionCore"]



def _log_info(message: str) -> None:
    """Log at INFO on ``pyquorum.session``, if anything imported :mod:`logging`:
    if nothing did, nothing configured a handler and the message would go nowhere,
    so a command need not import logging (milliseconds of its start-up) for it."""
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.getLogger("pyquorum.session").info(message)

S = TypeVar("S")
R = TypeVar("R")
_READY = SessionState.READY

_EVENT_IDS: dict[type[Notification], int] = {
    QuorumNotificationV0: ResponseId.NOTIFICATION,
    QuorumNotification: ResponseId.V1_QUORUM_NOTIFICATION,
    NodelistNotification: ResponseId.V1_NODELIST_NOTIFICATION,
}

#: The event classes each model delivers (docs/protocol.md §6.5); any other is a LibraryError.
_MODEL_EVENTS: dict[Model | None, frozenset[type[Notification]]] = {
    Model.V1: frozenset({QuorumNotification, NodelistNotification}),
    Model.V0: frozenset({QuorumNotificationV0}),
}


@frozen
class InitResult:
    """What initialize learned: the model in use and the daemon's quorum type.

    ``fell_back`` is true when ``Model.AUTO`` had to settle for V0.
    """

    model: Model
    quorum_type: QuorumType | int
    fell_back: bool = False


@slotted
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


#: The one request that never changes, encoded once (it is the hot path).
_GETQUORATE: Final = encode_request(GetQuorateRequest())


def _expect(data: bytes, cls: type[R], what: str) -> R:
    return expect(data, cls, what, decode_response, (ErrorResponse,))


def _getquorate_result(data: bytes) -> bool:
    return bool(_expect(data, GetQuorateResponse, "GETQUORATE").quorate)


def _quorum_type(value: int) -> QuorumType | int:
    try:
        return QuorumType(value)
    except ValueError:
        return value


class SessionCore(SessionLifecycle):
    """The state of one quorum session, and the operations it may run.

    ``requested_model`` is what the caller asked for (``Model.AUTO``
    allowed); ``model`` is the model in use once initialized.
    """

    def __init__(self, model: Model | int = Model.V1) -> None:
        try:
            self.requested_model = Model(model)
        except ValueError:
            raise InvalidParamError(f"{model!r} is not a quorum model (V0, V1 or AUTO)") from None
        super().__init__()
        self.model: Model | None = None
        self.quorum_type: QuorumType | int | None = None

    # -- requests --------------------------------------------------------------

    def initialize(self) -> Operation[InitResult]:
        """MODEL_GETTYPE(V1) for V1, GETTYPE for V0; AUTO tries V1 then V0."""
        self.check_new("initialize")
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
            _log_info(
                "corosync does not know MODEL_GETTYPE (it predates 3.1): "
                "Model.AUTO falls back to model V0"
            )
            fell_back = True
        data = yield encode_request(GetTypeRequest())
        v0 = _expect(data, GetTypeResponse, "GETTYPE")
        return self._ready(Model.V0, v0.quorum_type, fell_back=fell_back)

    def _ready(self, model: Model, quorum_type: int, *, fell_back: bool) -> InitResult:
        self.mark_ready()
        self.model = model
        self.quorum_type = _quorum_type(quorum_type)
        return InitResult(model, self.quorum_type, fell_back)

    def getquorate(self) -> Operation[bool]:
        if self.state is not SessionState.READY:
            self.check_ready("getquorate")
        return Exchange("getquorate", _GETQUORATE, _getquorate_result)

    def trackstart(self, flags: Track | int) -> Operation[None]:
        """TRACKSTART.  A second one raises ExistError, but corosync has
        already queued its snapshot by then (docs/protocol.md §6.6), and those events will be
        delivered like any others."""
        self.check_ready("trackstart")
        if isinstance(flags, bool) or not isinstance(flags, int) or not 0 <= flags <= 0xFFFFFFFF:
            raise LocalProtocolError(f"trackstart: flags must be a u32 of Track bits: {flags!r}")
        return Operation("trackstart", self._trackstart_steps(Track(flags)))

    def _trackstart_steps(self, flags: Track) -> Generator[bytes, bytes, None]:
        data = yield encode_request(TrackStartRequest(flags))
        _expect(data, TrackStartResponse, "TRACKSTART")

    def trackstop(self) -> Operation[None]:
        """TRACKSTOP.  corosync always answers CS_OK, tracking or not (docs/protocol.md §6.3)."""
        self.check_ready("trackstop")
        return Operation("trackstop", self._trackstop_steps())

    def _trackstop_steps(self) -> Generator[bytes, bytes, None]:
        data = yield encode_request(TrackStopRequest())
        _expect(data, TrackStopResponse, "TRACKSTOP")

    # -- events ----------------------------------------------------------------

    def handle_event(self, data: bytes) -> Event:
        """Decode one event; LibraryError if the model in use has no such notification."""
        if self.state is not _READY:
            self.check_ready("dispatch")
        event = decode_notification(data)
        # One dict lookup per event (replay runs this for every recorded event);
        # no typing.cast call: the check makes it one of Event's classes.
        if type(event) in _MODEL_EVENTS.get(self.model, ()):
            return event  # type: ignore[return-value]
        ident = event.id if isinstance(event, UnknownNotification) else _EVENT_IDS[type(event)]
        model = self.model.name if self.model is not None else "?"
        raise LibraryError(
            f"dispatch: notification id {ident} is not part of model {model} "
            "(libquorum returns CS_ERR_LIBRARY here); the event was dropped"
        )

    def __repr__(self) -> str:
        model = self.model.name if self.model is not None else self.requested_model.name
        return f"<SessionCore {self.state.value} model={model}>"


class QuorumProperties:
    """The quorum session's own properties, the same on both front ends."""

    _core: SessionCore

    @property
    def model(self) -> Model:
        """The model in use (``V0`` or ``V1``; never ``AUTO``) once connected."""
        if self._core.model is None:
            raise LocalProtocolError("model: the session is not connected yet")
        return self._core.model

    @property
    def requested_model(self) -> Model:
        return self._core.requested_model

    @property
    def quorum_type(self) -> QuorumType | int:
        """``QuorumType.SET`` when a quorum provider is configured, ``FREE`` when not."""
        if self._core.quorum_type is None:
            raise LocalProtocolError("quorum_type: the session is not connected yet")
        return self._core.quorum_type

    def _describe(self) -> str:
        if self._core.model is None:
            return self._core.state.value
        state = "closed" if self._core.state is SessionState.CLOSED else "open"
        return f"model={self._core.model.name} quorum_type={self._core.quorum_type!r} {state}"
