"""A multi-service capture becomes a story: what ``pyquorum serve --capture`` serves.

:mod:`pyquorum.fake.replay` turns a capture's quorum connections into a
quorum-only script.  A capture of version 2 (docs/capture-format.md §7) may
also hold votequorum and cmap connections; this module reads them too, so
that the whole fake corosync (:class:`~pyquorum.fake.corosync.FakeCorosync`)
answers every service as the recorded node did (docs/fake.md §4):

* **the initial cluster.**  A recorded ``status`` is played back through
  status's own reads (:mod:`pyquorum.commands._status`), and its cmap GET
  answers (the provider, this node's id, the nodelist's names, ids and
  addresses) and votequorum GETINFO answers (each member's votes, expected
  votes and quorum-device bits; this node's expected and highest expected
  votes, quorum, flags and the device's name and votes) become the story's
  state through :func:`~pyquorum.fake.story_record.story_from_snapshot`,
  the one place a node's snapshot becomes a story.  A capture without
  those (``watch --votequorum``) gets the cluster a quorum script implies
  (:func:`~pyquorum.fake.story.default_cluster`), plus a quorum device of
  one vote named ``Qdevice`` on every node when votequorum's first quorum
  event lists node 0 (what a quorum device registered on this node looks
  like, docs/votequorum.md §3.4);
* **the timeline**, on the capture's one clock (seconds after the response
  to the first quorum TRACKSTART, as in :mod:`pyquorum.fake.replay`): the
  quorum service's steps from the quorum connections, and every
  expected-votes notification a tracking votequorum connection received
  after its snapshot as a step setting the cluster's expected votes (what
  SETEXPECTED does to a story); every cmap track notification, a step
  setting its key (a DELETE removing it).  votequorum's own nodelist and quorum
  notifications follow the quorum service's steps: the fake derives them
  from the same state, so they are not steps of their own.
"""

from __future__ import annotations

import contextlib
from collections import deque
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from pyquorum.capture import (
    Capture,
    CaptureError,
    Channel,
    PlaybackConnection,
    decoded,
    read_capture,
)
from pyquorum.errors import CsErrorCode, PyquorumError
from pyquorum.fake.cmap_view import cmap_keys
from pyquorum.fake.replay import quorum_records, script_from_records
from pyquorum.fake.script import Script, ScriptError, Step
from pyquorum.fake.story import (
    Cluster,
    ClusterChange,
    NodeQdevice,
    Votequorum,
    default_cluster,
)
from pyquorum.fake.story_record import NodeSnapshot, story_from_snapshot
from pyquorum.messages import cmap, votequorum
from pyquorum.messages.constants import CmapMap, CmapTrack, Track
from pyquorum.messages.quorum import decode_request as decode_quorum_request
from pyquorum.messages.types import TrackStartRequest

if TYPE_CHECKING:
    from pyquorum.messages._cmap_values import CmapValue
    from pyquorum.status import Status

__all__ = ["QDEVICE_NAME", "capture_snapshot", "story_from_capture"]

#: The name corosync-qdevice registers its device under (what a watch capture implies).
QDEVICE_NAME = "Qdevice"
_OK = int(CsErrorCode.OK)
_SNAPSHOT = Track.CURRENT | Track.CHANGES
_SUBSCRIBE = Track.CHANGES | Track.CHANGES_ONLY
#: How long a played-back read may take: the records are all there, nothing waits.
_PLAYBACK_TIMEOUT = 5.0


def story_from_capture(source: str | Path | Capture) -> Script:
    """The story of a capture (a :class:`~pyquorum.capture.Capture` or a file).

    A version-1 capture, or one with neither votequorum nor cmap connections,
    tells only the quorum story (:func:`~pyquorum.fake.replay.script_from_capture`'s
    script, which the fake corosync completes with the cluster it implies).
    Errors are :class:`ScriptError` naming the file or the record."""
    if isinstance(source, Capture):
        capture, name = source, source.header.description or "a capture"
    else:
        try:
            capture = read_capture(source)
        except CaptureError as exc:
            raise ScriptError(str(exc) if exc.source else f"{source}: {exc}") from None
        except OSError as exc:
            raise ScriptError(f"{source}: {exc.strerror}") from None
        name = f"capture {Path(source).name}"
    script = script_from_records(quorum_records(capture), name=name)
    services = {c.service for c in capture.connections}
    if capture.header.version == 1 or not services & {"votequorum", "cmap"}:
        return script
    snapshot = capture_snapshot(capture)
    if snapshot is not None:
        cluster = story_from_snapshot(snapshot).initial.cluster
    else:
        cluster = _implied_cluster(capture, script)
    assert cluster is not None
    t0 = _quorum_t0(capture)
    seen, cmap_steps = _cmap_story(capture, t0)
    implied = cmap_keys(replace(script.initial, cluster=cluster))
    extras = {k: v for k, v in seen.items() if implied.get(k) != v}
    if extras:  # what cmap answered that the state does not imply, kept as it was
        cluster = replace(cluster, cmap=tuple({**dict(cluster.cmap), **extras}.items()))
    initial = replace(script.initial, cluster=cluster)
    ids = tuple(n.nodeid for n in cluster.nodes)
    steps = _merge(script.steps, sorted([*_votequorum_steps(capture, t0, ids), *cmap_steps],
                                        key=lambda s: s.at))
    return Script.build(initial.members, initial.quorate, initial.ring_id, steps,
                        cluster=cluster, quorum_type=script.quorum_type,
                        model_v1=script.model_v1, name=name)


# -- a recorded status ---------------------------------------------------------------------


def capture_snapshot(capture: Capture) -> NodeSnapshot | None:
    """What a recorded ``pyquorum status`` read: the status (played back through
    status's own reads), the cmap keys it GOT and each node's expected votes
    from its GETINFOs; None for a capture of anything else."""
    if capture.header.command[:1] != ("status",) or not capture.connections_of("cmap"):
        return None
    status = _played_status(capture)
    keys: dict[str, CmapValue] = {}
    for request, response in _exchanges(capture, "cmap"):
        if (isinstance(request, cmap.GetRequest) and isinstance(response, cmap.GetResponse)
                and response.error == _OK and response.value is not None):
            keys[request.key] = response.value
    expected: dict[int, int] = {}
    for request, response in _exchanges(capture, "votequorum"):
        if (isinstance(request, votequorum.GetInfoRequest)
                and isinstance(response, votequorum.GetInfoResponse)
                and response.error == _OK):
            expected[response.nodeid] = response.expected_votes
    return NodeSnapshot(status, keys, expected)


def _played_status(capture: Capture) -> Status:
    """The status the recorded reads gave, read again from the capture."""
    from pyquorum import Model, QuorumSession
    from pyquorum.commands._common import Failure
    from pyquorum.commands._status import (
        VOTEQUORUM,
        open_cmap,
        open_votequorum,
        read_facts,
        read_status,
    )
    from pyquorum.errors import CorosyncNotRunning

    waiting = {s: deque(capture.connections_of(s)) for s in ("quorum", "cmap", "votequorum")}

    def connect(service: str) -> PlaybackConnection:
        if not waiting[service]:
            raise CorosyncNotRunning(f"the capture holds no (further) {service} connection")
        return PlaybackConnection(capture, connection=waiting[service].popleft().id)

    timeout = _PLAYBACK_TIMEOUT
    try:
        with contextlib.ExitStack() as stack:
            quorum = stack.enter_context(QuorumSession(Model.V1, timeout=timeout,
                                                       connection=connect("quorum")))
            session, notes = open_cmap(timeout, connect)
            facts = None
            if session is not None:
                stack.enter_context(session)
                facts = read_facts(session)
            vq = None
            if facts is not None and facts.provider == VOTEQUORUM:
                vq = stack.enter_context(open_votequorum(timeout, connect))
            return read_status(quorum, vq, facts, timeout, notes)
    except (PyquorumError, Failure) as exc:
        raise ScriptError(f"the recorded status does not play back: {exc}") from None


def _exchanges(capture: Capture, service: str) -> list[tuple[object, object]]:
    """Each request of ``service``'s connections with the response it got."""
    pending: dict[int, object] = {}
    pairs: list[tuple[object, object]] = []
    for conn, record, message in decoded(capture, service):
        if record.channel is Channel.REQUEST:
            pending[conn.id] = message
        elif record.channel is Channel.RESPONSE and conn.id in pending:
            pairs.append((pending.pop(conn.id), message))
    return pairs


# -- a watch: the cluster it implies ------------------------------------------------------


def _implied_cluster(capture: Capture, script: Script) -> Cluster:
    ids: list[int] = list(script.initial.members)
    for step in script.steps:
        ids += step.members or ()
    cluster = default_cluster(script.initial.members, tuple(ids))
    first = next((m for _, _, m in decoded(capture, "votequorum")
                  if isinstance(m, votequorum.QuorumNotification)), None)
    if first is None or not any(n.nodeid == 0 for n in first.nodes):
        return cluster
    device = NodeQdevice(alive=True, cast_vote=True)
    return replace(
        cluster,
        nodes=tuple(replace(n, qdevice=device) for n in cluster.nodes),
        votequorum=Votequorum(qdevice_name=QDEVICE_NAME, qdevice_votes=1),
    )


# -- the timeline ---------------------------------------------------------------------------


def _quorum_t0(capture: Capture) -> float:
    """When the quorum story's clock starts: the response to the first quorum
    connection's first snapshot TRACKSTART (else its first event), as in
    :func:`~pyquorum.fake.replay.script_from_records`."""
    tracking = False
    first_event: float | None = None
    for record in quorum_records(capture):
        if record.channel is Channel.REQUEST:
            with contextlib.suppress(PyquorumError):
                request = decode_quorum_request(record.data)
                tracking = isinstance(request, TrackStartRequest) and bool(
                    request.flags & _SNAPSHOT)
        elif record.channel is Channel.RESPONSE and tracking:
            return float(record.time)
        elif record.channel is Channel.EVENT and first_event is None:
            first_event = float(record.time)
    return first_event or 0.0


def _votequorum_steps(capture: Capture, t0: float, nodes: tuple[int, ...]) -> list[Step]:
    """A step per expected-votes notification a tracking votequorum connection got
    after its snapshot (the TRACKSTART's response); ``nodes`` the nodelist's ids."""
    steps: list[Step] = []
    tracked: set[int] = set()
    subscribing: set[int] = set()
    for conn, record, message in decoded(capture, "votequorum"):
        if record.channel is Channel.REQUEST:
            if isinstance(message, votequorum.TrackStartRequest) and message.flags & _SUBSCRIBE:
                subscribing.add(conn.id)
        elif record.channel is Channel.RESPONSE:
            if conn.id in subscribing:
                subscribing.discard(conn.id)
                tracked.add(conn.id)
        elif conn.id in tracked and isinstance(message, votequorum.ExpectedVotesNotification):
            steps.append(Step(max(0.0, float(record.time) - t0), cluster=_expected_change(
                message.expected_votes, nodes)))
    return steps


def _cmap_story(capture: Capture, t0: float) -> tuple[dict[str, CmapValue], list[Step]]:
    """What the main map's keys were before any recorded change (GET answers, and a
    change notification's old value), and each change notification as a step setting
    (or, for a DELETE, removing) its key; a connection to the stats map is skipped."""
    before: dict[str, CmapValue] = {}
    changed: set[str] = set()
    steps: list[Step] = []
    pending: dict[int, object] = {}
    other_map: set[int] = set()
    for conn, record, message in decoded(capture, "cmap"):
        if conn.id in other_map:
            continue
        if record.channel is Channel.REQUEST:
            if isinstance(message, cmap.SetCurrentMapRequest) and message.map != CmapMap.DEFAULT:
                other_map.add(conn.id)
            pending[conn.id] = message
        elif record.channel is Channel.RESPONSE:
            request = pending.pop(conn.id, None)
            if (isinstance(request, cmap.GetRequest) and isinstance(message, cmap.GetResponse)
                    and message.error == _OK and message.value is not None
                    and request.key not in changed):
                before.setdefault(request.key, message.value)
        elif isinstance(message, cmap.NotifyCallback):
            if message.key not in changed and message.old_value is not None:
                before.setdefault(message.key, message.old_value)
            changed.add(message.key)
            new = None if message.event == CmapTrack.DELETE else message.new_value
            steps.append(Step(max(0.0, float(record.time) - t0),
                              cluster=ClusterChange(cmap=((message.key, new),))))
    return before, steps


def _expected_change(expected: int, nodes: tuple[int, ...]) -> ClusterChange:
    """The cluster's expected votes become ``expected`` (every node's, and what is
    derived from them), as SETEXPECTED makes them."""
    return ClusterChange(
        nodes=tuple((n, (("expected_votes", None),)) for n in nodes),
        votequorum=(("expected_votes", expected), ("highest_expected", None), ("quorum", None)),
    )


def _merge(quorum: tuple[Step, ...], others: list[Step]) -> list[Step]:
    """The two timelines as one, in time order (the quorum service's step first at
    the same time); times never go backwards."""
    merged = sorted([*quorum, *others], key=lambda s: s.at)  # stable: quorum first
    out: list[Step] = []
    for step in merged:
        if out and step.at < out[-1].at:
            step = replace(step, at=out[-1].at)
        out.append(step)
    return out
