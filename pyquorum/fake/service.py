"""corosync's quorum service, as a libqb service handler for an :class:`IpcServer`.

It follows corosync 3.1.7's ``exec/quorum.c`` (docs/protocol.md §6):

* a connection starts with model V0; MODEL_GETTYPE(0|1) switches it and
  answers id 5 with the quorum type; another model gets error 7 and changes
  nothing; GETTYPE (answered with id 4) never changes the model;
* TRACKSTART with CURRENT or CHANGES first queues the snapshot (V1:
  NODELIST with no joined/left, then QUORUM; V0: one id 3), *then*
  answers: CS_ERR_EXIST if the connection already tracks (its flags stay),
  otherwise OK, subscribing if CHANGES or CHANGES_ONLY is set;
  CHANGES_ONLY alone sends no snapshot;
* TRACKSTOP unsubscribes and always answers OK;
* any other id (or bytes that are no request) gets the generic reply:
  id 0, 24 bytes, CS_ERR_INVALID_PARAM;
* a membership change goes to subscribers as NODELIST then QUORUM (V1) or
  one id 3 (V0); a quorum-only change as QUORUM alone (or id 3).

``model_v1=False`` emulates corosync < 3.1: MODEL_GETTYPE is an unknown
request, so every connection stays V0.  ``response_delay`` answers every
request that many seconds late (a slow daemon); ``stall`` never reads
requests at all (a stalled one: the handshake still completes).

Every method runs on the server's loop thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from pyquorum.errors import CsErrorCode, RemoteProtocolError
from pyquorum.fake._bound import BoundToServer
from pyquorum.fake.script import Change, Script, State, Step
from pyquorum.ipc.server.connection import ServerConnection, Timer
from pyquorum.messages.constants import Model, QuorumType, Track
from pyquorum.messages.quorum import decode_request, encode_notification, encode_response
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
    Request,
    Response,
    TrackStartRequest,
    TrackStartResponse,
    TrackStopRequest,
    TrackStopResponse,
)

__all__ = ["ClientState", "QuorumService"]

log = logging.getLogger("pyquorum.fake")

_OK = CsErrorCode.OK
_INVALID = CsErrorCode.ERR_INVALID_PARAM
_EXIST = CsErrorCode.ERR_EXIST
_SNAPSHOT_FLAGS = Track.CURRENT | Track.CHANGES
_SUBSCRIBE_FLAGS = Track.CHANGES | Track.CHANGES_ONLY


@dataclass(slots=True)
class ClientState:
    """The quorum service's per-connection data (corosync's ``quorum_pd``)."""

    model: Model = Model.V0
    tracking: bool = False
    flags: int = 0


class QuorumService(BoundToServer):
    """Serves a :class:`Script`; bind it to a server with :meth:`bind` before starting it.

    ``speed`` divides the script's times (2.0 plays twice as fast).
    """

    def __init__(
        self,
        script: Script,
        *,
        speed: float = 1.0,
        response_delay: float = 0.0,
        stall: bool = False,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, not {speed!r}")
        if response_delay < 0:
            raise ValueError(f"response_delay must be >= 0, not {response_delay!r}")
        self.script = script
        self.speed = speed
        self.response_delay = response_delay
        self.stall = stall
        self.state: State = script.initial
        self.quorum_type: QuorumType | int = script.quorum_type
        self.model_v1 = script.model_v1
        self.clients: dict[int, ServerConnection] = {}
        self._next_step = 0
        self._timer: Timer | None = None
        self._started = False
        #: Set once every step of the script has been applied.
        self.finished = threading.Event()
        if not script.steps:
            self.finished.set()
        #: How many requests were handled (answered or not).
        self.requests_handled = 0
        #: Called (on the loop thread) with every change published, after the clients.
        self.observers: list[Callable[[Change], None]] = []

    # -- the timeline ---------------------------------------------------------------------

    def start_timeline(self) -> None:
        """Start playing the steps (idempotent)."""
        if self._started:
            return
        self._started = True
        self._schedule(0.0)

    def _schedule(self, now: float) -> None:
        if self._next_step >= len(self.script.steps):
            self.finished.set()
            return
        at = self.script.steps[self._next_step].at / self.speed
        self._timer = self.server.call_later(max(0.0, at - now), lambda: self._play(at))

    def _play(self, at: float) -> None:
        self._timer = None
        change = self.script.changes[self._next_step]
        self._next_step += 1
        self.publish(change)
        self._schedule(at)

    def apply(self, step: Step) -> Change:
        """Apply an extra change now (outside the script) and tell the subscribers."""
        change = step.apply(self.state)
        self.publish(change)
        return change

    def publish(self, change: Change) -> None:
        """Make ``change`` the current state and send it to every subscriber."""
        self.state = change.state
        # A step that changes only the story's cluster (votes, names, cmap keys) is
        # not something the quorum service reports.
        quorum_news = change.membership or change.quorum_view
        for conn in list(self.clients.values()):
            client = _client(conn)
            if client.tracking and quorum_news:
                self._notify(conn, client, change)
        for observer in self.observers:
            observer(change)

    def stop_timeline(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- ServiceHandler ---------------------------------------------------------------------

    def connected(self, conn: ServerConnection) -> None:
        # corosync's quorum_lib_init_fn runs after the response was sent: model V0.
        conn.data = ClientState()
        self.clients[conn.id] = conn
        if self.stall:
            conn.reading = False

    def disconnected(self, conn: ServerConnection) -> None:
        self.clients.pop(conn.id, None)

    def request(self, conn: ServerConnection, data: bytes) -> None:
        if self.response_delay:
            self.server.call_later(self.response_delay, lambda: self._handle(conn, data))
        else:
            self._handle(conn, data)

    def _handle(self, conn: ServerConnection, data: bytes) -> None:
        if conn.closed:
            return
        self.requests_handled += 1
        client = _client(conn)
        try:
            request = decode_request(data)
        except RemoteProtocolError as exc:
            log.info("answering an undecodable request with the generic error: %s", exc)
            self.respond(conn, ErrorResponse(_INVALID))
            return
        self.respond(conn, self.answer(conn, client, request))

    def answer(self, conn: ServerConnection, client: ClientState, request: Request) -> Response:
        """The response to ``request``, after queuing any events it causes."""
        if isinstance(request, GetQuorateRequest):
            return GetQuorateResponse(_OK, self.state.quorate)
        if isinstance(request, GetTypeRequest):
            return GetTypeResponse(_OK, self.quorum_type)
        if isinstance(request, ModelGetTypeRequest) and self.model_v1:
            if request.model in (Model.V0, Model.V1):
                client.model = Model(request.model)
                return ModelGetTypeResponse(_OK, self.quorum_type)
            return ModelGetTypeResponse(_INVALID, self.quorum_type)
        if isinstance(request, TrackStartRequest):
            return self._trackstart(conn, client, int(request.flags) & 0xFF)
        if isinstance(request, TrackStopRequest):
            client.tracking = False
            client.flags = 0
            return TrackStopResponse(_OK)
        return ErrorResponse(_INVALID)

    def _trackstart(self, conn: ServerConnection, client: ClientState, flags: int) -> Response:
        if flags & _SNAPSHOT_FLAGS:
            self.snapshot(conn, client)
        if client.tracking:
            return TrackStartResponse(_EXIST)
        if flags & _SUBSCRIBE_FLAGS:
            client.tracking = True
            client.flags = flags
            if self.script.start == "track":
                self.start_timeline()
        return TrackStartResponse(_OK)

    # -- sending ---------------------------------------------------------------------------------

    def respond(self, conn: ServerConnection, response: Response) -> None:
        conn.send_response(encode_response(response))

    def send(self, conn: ServerConnection, event: Notification) -> None:
        conn.send_event(encode_notification(event))

    def snapshot(self, conn: ServerConnection, client: ClientState) -> None:
        """The current state, as TRACKSTART sends it."""
        self._notify(conn, client, Change(self.state, membership=True))

    def _notify(self, conn: ServerConnection, client: ClientState, change: Change) -> None:
        state = change.state
        if client.model == Model.V1:
            if change.membership:
                self.send(
                    conn,
                    NodelistNotification(state.ring_id, state.members, change.joined, change.left),
                )
            self.send(conn, QuorumNotification(state.quorate, state.ring_id, state.members))
        else:
            self.send(conn, QuorumNotificationV0(state.quorate, state.ring_id.seq, state.members))


def _client(conn: ServerConnection) -> ClientState:
    data = conn.data
    if not isinstance(data, ClientState):
        data = conn.data = ClientState()
    return data
