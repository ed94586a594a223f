"""Serving a capture: turn what ``pyquorum record`` saw into a :class:`Script`.

A capture (:mod:`pyquorum.capture`) is the raw traffic of one client
session: REQUEST, RESPONSE and EVENT records, each with its time.  It is
replayed by rebuilding the daemon's story from it, and serving that story:

* the quorum type comes from the GETTYPE/MODEL_GETTYPE answer; a
  MODEL_GETTYPE answered with the generic error means the daemon predated
  the V1 model (then only V0 is served, as that daemon did);
* the events that arrived between the first TRACKSTART and its response are
  the snapshot, i.e. the initial state;
* every later event is a step, at its time relative to that response:
  NODELIST (+ QUORUM) is a membership change with the recorded ring id and
  joined/left lists, QUORUM alone a quorum-only change; in a V0 capture an
  id 3 with a new ring seq or new members is a membership change.

Serving the story rather than the bytes means any client can replay any
capture: a V0 client gets id 3 for a capture made with V1 and the other
way round, and TRACKSTART, EXIST and TRACKSTOP behave as corosync's do.
The notifications are encoded afresh (their 4 trailing bytes are zero).

A capture of several connections (format version 2) tells its quorum story
through its quorum connections: the first one's exchange and events, then
the events of each later one (a reconnecting watch's new snapshots and
changes; a status's quorum connection, which tracked no changes, gives
its first snapshot only).  Its votequorum, cmap and cfg connections are
not read here: :mod:`pyquorum.fake.capture_story` adds what they say.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pyquorum.capture import Capture, CaptureError, CaptureRecord, Channel, read_capture
from pyquorum.errors import RemoteProtocolError
from pyquorum.fake.script import Script, ScriptError, State, Step
from pyquorum.messages.constants import QuorumType, Track
from pyquorum.messages.quorum import decode_notification, decode_request, decode_response
from pyquorum.messages.types import (
    ErrorResponse,
    GetTypeResponse,
    ModelGetTypeRequest,
    ModelGetTypeResponse,
    NodelistNotification,
    Notification,
    QuorumNotification,
    QuorumNotificationV0,
    Request,
    RingId,
    TrackStartRequest,
)

__all__ = ["quorum_records", "script_from_capture", "script_from_records"]

_SNAPSHOT = Track.CURRENT | Track.CHANGES


def script_from_capture(source: str | Path | Capture) -> Script:
    """The story of a capture: a :class:`~pyquorum.capture.Capture`, or a
    capture file (read with :func:`~pyquorum.capture.read_capture`; a damaged
    one is a ScriptError naming the record)."""
    if isinstance(source, Capture):
        return script_from_records(quorum_records(source),
                                   name=source.header.description or "a capture")
    try:
        capture = read_capture(source)
    except CaptureError as exc:
        raise ScriptError(str(exc) if exc.source else f"{source}: {exc}") from None
    except OSError as exc:
        raise ScriptError(f"{source}: {exc.strerror}") from None
    return script_from_records(quorum_records(capture), name=f"capture {Path(source).name}")


def quorum_records(capture: Capture) -> list[CaptureRecord]:
    """The records that tell a capture's quorum story: a version-1 capture's
    all; of several connections, the first quorum connection's, and the
    events of the later ones (ScriptError when there is no quorum connection)."""
    if capture.header.version == 1:
        return list(capture.records)
    quorum = capture.connections_of("quorum")
    if not quorum:
        services = ", ".join(sorted({c.service for c in capture.connections})) or "none"
        raise ScriptError(f"the capture holds no quorum connection (its services: {services})")
    first, later = quorum[0].id, {c.id for c in quorum[1:]}
    records = [r for r in capture.records if r.connection == first
               or (r.connection in later and r.channel is Channel.EVENT)]
    if _tracks_changes(r for r in records if r.connection == first):
        return records
    # A client that never tracked changes (status: TRACKSTART CURRENT, read again to
    # check the snapshot) saw one state: its first snapshot; the re-reads are no steps.
    kept: list[CaptureRecord] = []
    for record in records:
        kept.append(record)
        if record.channel is Channel.EVENT and isinstance(
            _decoded_event(record), QuorumNotification | QuorumNotificationV0
        ):
            break
    return kept


def _tracks_changes(records: Iterable[CaptureRecord]) -> bool:
    for record in records:
        if record.channel is Channel.REQUEST:
            try:
                request = decode_request(record.data)
            except RemoteProtocolError:
                continue
            if isinstance(request, TrackStartRequest) and request.flags & (
                Track.CHANGES | Track.CHANGES_ONLY
            ):
                return True
    return False


def _decoded_event(record: CaptureRecord) -> Notification | None:
    try:
        return decode_notification(record.data)
    except RemoteProtocolError:
        return None  # script_from_records names it


def script_from_records(records: Iterable[CaptureRecord], *, name: str = "") -> Script:
    """The story told by a capture's records."""
    quorum_type: QuorumType | int = QuorumType.SET
    model_v1 = True
    pending: Request | None = None
    in_snapshot = False
    snapshot: list[Notification] = []
    later: list[tuple[float, Notification]] = []
    t0: float | None = None
    try:
        for record in records:
            channel = record.channel
            if channel is Channel.REQUEST:
                pending = decode_request(record.data)
                if (
                    isinstance(pending, TrackStartRequest)
                    and t0 is None
                    and pending.flags & _SNAPSHOT
                ):
                    in_snapshot = True
            elif channel is Channel.RESPONSE:
                response = decode_response(record.data)
                if isinstance(response, GetTypeResponse | ModelGetTypeResponse):
                    quorum_type = response.quorum_type
                elif isinstance(response, ErrorResponse) and isinstance(
                    pending, ModelGetTypeRequest
                ):
                    model_v1 = False
                if isinstance(pending, TrackStartRequest) and t0 is None:
                    t0 = float(record.time)
                    in_snapshot = False
                pending = None
            elif channel is Channel.EVENT:
                event = decode_notification(record.data)
                if in_snapshot:
                    snapshot.append(event)
                else:
                    later.append((float(record.time), event))
    except RemoteProtocolError as exc:
        raise ScriptError(f"the capture holds a message pyquorum cannot decode: {exc}") from None
    if not snapshot and later:
        # No TRACKSTART snapshot was recorded: the first change is the start.
        first_time, first = later[0]
        snapshot, later = [first], later[1:]
        if isinstance(first, NodelistNotification) and later:
            snapshot.append(later[0][1])
            later = later[1:]
        t0 = first_time
    if not snapshot:
        raise ScriptError("the capture holds no quorum state (no events were recorded)")
    initial = _initial(snapshot)
    steps = _steps(initial, later, t0 or 0.0)
    return Script(
        initial, tuple(steps), quorum_type=quorum_type, model_v1=model_v1, name=name
    )


def _initial(snapshot: list[Notification]) -> State:
    ring_id: RingId | None = None
    members: tuple[int, ...] = ()
    quorate: bool | None = None
    for event in snapshot:
        if isinstance(event, NodelistNotification):
            ring_id, members = event.ring_id, event.members
        elif isinstance(event, QuorumNotification):
            ring_id, members, quorate = event.ring_id, event.members, bool(event.quorate)
        elif isinstance(event, QuorumNotificationV0):
            ring_id = RingId(min(event.members, default=1), event.ring_seq)
            members, quorate = event.members, bool(event.quorate)
    if ring_id is None or quorate is None:
        raise ScriptError("the capture's snapshot has no quorum notification")
    return State(quorate, ring_id, members)


def _steps(
    initial: State, events: list[tuple[float, Notification]], t0: float
) -> list[Step]:
    steps: list[Step] = []
    state = initial
    i = 0
    while i < len(events):
        when, event = events[i]
        at = max(0.0, when - t0)
        if isinstance(event, NodelistNotification):
            quorate = state.quorate
            if i + 1 < len(events) and isinstance(events[i + 1][1], QuorumNotification):
                follow = events[i + 1][1]
                assert isinstance(follow, QuorumNotification)
                quorate = bool(follow.quorate)
                i += 1
            step = Step(at, members=event.members, quorate=quorate, ring_id=event.ring_id,
                        joined=event.joined, left=event.left)
        elif isinstance(event, QuorumNotification):
            if event.ring_id == state.ring_id and event.members == state.members:
                step = Step(at, quorate=bool(event.quorate))
            else:
                step = Step(at, members=event.members, quorate=bool(event.quorate),
                            ring_id=event.ring_id)
        elif isinstance(event, QuorumNotificationV0):
            if event.ring_seq == state.ring_id.seq and event.members == state.members:
                step = Step(at, quorate=bool(event.quorate))
            else:
                ring = RingId(min(event.members, default=state.ring_id.nodeid), event.ring_seq)
                step = Step(at, members=event.members, quorate=bool(event.quorate), ring_id=ring)
        else:
            i += 1
            continue  # an unknown notification: nothing to replay
        state = step.apply(state).state
        steps.append(step)
        i += 1
    # Times must not go backwards even if the capture's clock did.
    for k in range(1, len(steps)):
        if steps[k].at < steps[k - 1].at:
            s = steps[k]
            steps[k] = Step(steps[k - 1].at, s.members, s.quorate, s.ring_id, s.joined, s.left)
    return steps
