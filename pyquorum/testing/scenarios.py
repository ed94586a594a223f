"""The scenario walk: a 3-node cluster taken through every membership scenario.

Shared by the live tests (tests/scenarios/test_live_scenarios.py) and by
scripts/record-fixtures, which keeps fixtures/captures/ real.  It lives in
the package, not under tests/, because it is a tool both use; it needs the
C libquorum oracle's binary (built from tests/c/quorum_oracle.c) as an
argument and imports nothing from the tests.

One cluster per transport, the steps in order (see :data:`STEPS`):
a node leaves, rejoins, crashes, rejoins; quorum is lost (two nodes crash
together) and regained (one comes back); a 2|1 partition, with the
minority made quorate again by an expected-votes change, and its heal.

Each watched node has four watchers started before the step they first
watch, all at once: pyquorum V1 and V0 sessions (each recorded to a
capture through :class:`~pyquorum.capture.RecordingConnection`) and the C
libquorum (tests/c/quorum_oracle.c ``watch``) V1 and V0.  Node 1 watches
everything; node 3 (the minority) from the partition on.  Node 1 also runs
``pyquorum record`` twice (V1 --json, V0 text) as subprocesses, to check
the command end to end.

A step's action is followed by waiting, per pyquorum watcher, for exactly
the number of events that step should bring (deadline-based), so events
split into per-step segments; an unexpected extra event shows up at the
start of the next segment, where the exact comparison catches it.  After
the last step every session must stay quiet for :data:`QUIET` seconds
(checking for absence needs a window).  Nothing here asserts: the walk
collects, and :func:`check_segment` / :func:`check_rings` judge, also from
the fixtures alone, with no corosync.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pyquorum import QuorumSession
from pyquorum.capture import (
    Capture,
    CaptureHeader,
    CaptureWriter,
    PlaybackConnection,
    RecordingConnection,
    read_capture,
)
from pyquorum.formatting import event_to_dict
from pyquorum.hostinfo import corosync_version, libqb_version
from pyquorum.ipc.client.connection import IpcConnection
from pyquorum.messages.constants import Model, Track
from pyquorum.messages.types import (
    NodelistNotification,
    Notification,
    QuorumNotification,
    QuorumNotificationV0,
)
from pyquorum.testing.cluster import Cluster, Node

ROOT = Path(__file__).resolve().parents[2]  # the checkout holding this pyquorum
#: Longest a step may take to bring its events (they come in about 1-5 s).
STEP_TIMEOUT = 30.0
#: After the last step, how long every session must stay quiet.
QUIET = 1.0
#: Flags every watcher tracks with: the snapshot, then every change.
FLAGS = Track.CURRENT | Track.CHANGES
ALL = (1, 2, 3)
OBSERVER = 1
MINORITY = 3
SNAPSHOT = "snapshot"
MODELS = (Model.V1, Model.V0)

Kind = Literal["snapshot", "membership", "quorum"]


class ScenarioMismatch(AssertionError):
    """What a watcher delivered is not what the scenario says it must."""


@dataclass(frozen=True)
class Change:
    """What one node reports for one step: a snapshot, a membership change
    (a new ring, with joined/left lists) or a quorum-only change (same ring)."""

    members: tuple[int, ...]
    quorate: bool
    joined: tuple[int, ...] = ()
    left: tuple[int, ...] = ()
    kind: Kind = "membership"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self) | {
            "members": list(self.members), "joined": list(self.joined), "left": list(self.left)
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Change:
        return cls(tuple(obj["members"]), bool(obj["quorate"]), tuple(obj["joined"]),
                   tuple(obj["left"]), obj["kind"])

    def shapes(self, model: Model) -> list[tuple[object, ...]]:
        """The events this change brings to a ``model`` session, ring ids left out."""
        if model is Model.V0:
            return [("quorum_v0", self.quorate, self.members)]
        quorum = ("quorum", self.quorate, self.members)
        if self.kind == "quorum":
            return [quorum]
        return [("nodelist", self.members, self.joined, self.left), quorum]


def shape(event: Notification) -> tuple[object, ...]:
    if isinstance(event, NodelistNotification):
        return ("nodelist", event.members, event.joined, event.left)
    if isinstance(event, QuorumNotification):
        return ("quorum", bool(event.quorate), event.members)
    if isinstance(event, QuorumNotificationV0):
        return ("quorum_v0", bool(event.quorate), event.members)
    return ("unexpected", repr(event))


Action = Callable[[Cluster], object]


@dataclass(frozen=True)
class Step:
    """One scenario: what to do, and what each watched node must report."""

    name: str
    action: Action
    expect: Mapping[int, tuple[Change, ...]]
    #: Nodes whose watchers start right before this step (after a snapshot).
    watch_from_here: tuple[int, ...] = ()


def _each(method: str, *ids: int) -> Action:
    """``cluster[i].<method>()`` for each of ``ids``, in order."""

    def act(cluster: Cluster) -> None:
        for i in ids:
            getattr(cluster[i], method)()

    return act


def _stop(*ids: int) -> Action:
    return _each("stop", *ids)


def _start(*ids: int) -> Action:
    return _each("start", *ids)


def _crash(*ids: int) -> Action:
    return _each("crash", *ids)


def _partition(cluster: Cluster) -> None:
    cluster.partition({1, 2}, {3})


def _heal(cluster: Cluster) -> None:
    cluster.heal()


def _expected_votes(nodeid: int, votes: int) -> Action:
    return lambda cluster: cluster[nodeid].set_expected_votes(votes)


def _one(members: tuple[int, ...], quorate: bool, *, joined: tuple[int, ...] = (),
         left: tuple[int, ...] = (), kind: Kind = "membership") -> tuple[Change, ...]:
    return (Change(members, quorate, joined, left, kind),)


STEPS: tuple[Step, ...] = (
    Step("node 3 leaves", _stop(3), {1: _one((1, 2), True, left=(3,))}),
    Step("node 3 rejoins", _start(3), {1: _one(ALL, True, joined=(3,))}),
    Step("node 3 crashes", _crash(3), {1: _one((1, 2), True, left=(3,))}),
    Step("node 3 rejoins after its crash", _start(3), {1: _one(ALL, True, joined=(3,))}),
    Step("quorum lost: nodes 2 and 3 crash together", _crash(2, 3),
         {1: _one((1,), False, left=(2, 3))}),
    Step("quorum regained: node 2 rejoins", _start(2), {1: _one((1, 2), True, joined=(2,))}),
    Step("node 3 rejoins the quorate pair", _start(3), {1: _one(ALL, True, joined=(3,))}),
    Step("partition 1,2 | 3", _partition,
         {1: _one((1, 2), True, left=(3,)), 3: _one((3,), False, left=(1, 2))},
         watch_from_here=(MINORITY,)),
    Step("expected votes 1 on the minority", _expected_votes(MINORITY, 1),
         {3: _one((3,), True, kind="quorum")}),
    Step("heal", _heal,
         {1: _one(ALL, True, joined=(3,)), 3: _one(ALL, True, joined=(1, 2))}),
)
SNAPSHOT_CHANGE = _one(ALL, True, kind="snapshot")


# --------------------------------------------------------------------------- judging


@dataclass(frozen=True)
class Segment:
    """The events one step brought to one watcher."""

    step: str
    first: int  # index of its first event in the watcher's list
    changes: tuple[Change, ...]

    def wanted(self, model: Model) -> int:
        """How many events (re-formations aside) the step brings."""
        return sum(len(c.shapes(model)) for c in self.changes)


def _ring(event: Notification) -> tuple[int, int]:
    """(seq, representative) of the ring an event reports (V0: seq only)."""
    if isinstance(event, QuorumNotificationV0):
        return (event.ring_seq, 0)
    if isinstance(event, NodelistNotification | QuorumNotification):
        return (event.ring_id.seq, event.ring_id.nodeid)
    return (-1, 0)


def reformations(model: Model, events: Sequence[Notification]) -> frozenset[int]:
    """Indices of ring re-formations: a new ring with the same members and quorum.

    Corosync may form one on the way to a membership change; seen here when
    a partition heals and the lone minority node first forms a ring of its
    own again.  It is a real notification (pyquorum and the C libquorum
    both deliver it), but no scenario can ask for it, so the judging skips
    it.  V1: a node list with nothing joined or left and the members of the
    ring before, with the quorum event that follows it (quorum unchanged);
    V0: a quorum event on a new ring with the same quorum and members.  A
    repeated event (same ring) is never a re-formation.
    """
    found: set[int] = set()
    members: tuple[int, ...] | None = None
    quorate: bool | None = None
    for i, event in enumerate(events):
        before = _ring(events[i - 1]) if i else None
        if isinstance(event, NodelistNotification):
            if (members is not None and event.members == members and not event.joined
                    and not event.left and _ring(event) != before):
                after = events[i + 1] if i + 1 < len(events) else None
                if after is None or (isinstance(after, QuorumNotification)
                                     and bool(after.quorate) == quorate
                                     and after.members == members
                                     and after.ring_id == event.ring_id):
                    found.update((i, i + 1) if after is not None else (i,))
        elif isinstance(event, QuorumNotification | QuorumNotificationV0):
            if (isinstance(event, QuorumNotificationV0) and event.members == members
                    and bool(event.quorate) == quorate and _ring(event) != before):
                found.add(i)
            members, quorate = event.members, bool(event.quorate)
    return frozenset(found)


def segment_indices(model: Model, events: Sequence[Notification],
                    segment: Segment) -> list[int]:
    """Indices of the segment's events, re-formations skipped (as many as the
    step wants, fewer if they are not all there)."""
    skip = reformations(model, events)
    found = [i for i in range(segment.first, len(events)) if i not in skip]
    return found[: segment.wanted(model)]


def segment_span(model: Model, events: Sequence[Notification], segment: Segment) -> range:
    """The segment's events in the stream, re-formations within it included."""
    indices = segment_indices(model, events, segment)
    return range(segment.first, indices[-1] + 1 if indices else segment.first)


def check_segment(label: str, model: Model, events: Sequence[Notification],
                  segment: Segment) -> None:
    """The segment's events, ring ids and re-formations aside, are exactly
    what its changes say."""
    want = [s for change in segment.changes for s in change.shapes(model)]
    got = [shape(events[i]) for i in segment_indices(model, events, segment)]
    if got != want:
        before = [shape(e) for e in events[max(0, segment.first - 2) : segment.first]]
        raise ScenarioMismatch(
            f"{label}, step {segment.step!r}: expected {want}, got {got} "
            f"(the two events before: {before})"
        )


def check_rings(label: str, model: Model, events: Sequence[Notification],
                segments: Sequence[Segment]) -> None:
    """Ring ids follow the rules: a membership change (or a re-formation)
    brings a new ring (higher seq; its representative, the nodeid, is the
    lowest member), a quorum-only change keeps the ring, a node list and its
    quorum event share it."""
    kinds: dict[int, str] = {i: "reformation" for i in reformations(model, events)}
    for segment in segments:
        indices = iter(segment_indices(model, events, segment))
        for change in segment.changes:
            for _ in change.shapes(model):
                i = next(indices, None)
                if i is not None:
                    kinds[i] = change.kind
    for i, event in enumerate(events):
        kind = kinds.get(i)
        where = f"{label}, event {i} ({kind or 'no step'})"
        if i == 0 or kind in (None, "snapshot"):
            continue
        new, old = _ring(event), _ring(events[i - 1])
        if isinstance(event, QuorumNotification) and isinstance(events[i - 1],
                                                                NodelistNotification):
            if new != old:
                raise ScenarioMismatch(f"{where}: quorum ring {new}, node list ring {old}")
            continue
        if kind == "quorum":
            if new != old:
                raise ScenarioMismatch(f"{where}: quorum-only change moved ring {old} to {new}")
            continue
        if new[0] <= old[0]:
            raise ScenarioMismatch(f"{where}: ring seq {new[0]} after {old[0]}")
        if isinstance(event, NodelistNotification) and new[1] != min(event.members):
            raise ScenarioMismatch(f"{where}: ring {event.ring_id} is not represented by "
                                   f"the lowest member {min(event.members)}")


def segments_from_metadata(metadata: Mapping[str, Any]) -> list[Segment]:
    """The segments a fixture's header lists (see :meth:`PyWatcher.metadata`)."""
    return [
        Segment(s["name"], s["first_event"], tuple(Change.from_json(c) for c in s["expect"]))
        for s in metadata["steps"]
    ]


# --------------------------------------------------------------------------- watchers


class PyWatcher:
    """A recorded pyquorum session on one node, collecting what it delivers."""

    def __init__(self, node: Node, model: Model, versions: tuple[str | None, str | None]) -> None:
        self.node = node
        self.model = model
        self.label = f"node {node.nodeid} pyquorum {model.name}"
        self.events: list[Notification] = []
        self.segments: list[Segment] = []
        self.step_times: list[float] = []
        self._buffer = io.BytesIO()
        with node.netns_context():
            connection = IpcConnection.connect("quorum", timeout=10)
        try:
            # Version 1 (one connection, in the header): what fixtures/captures/ holds.
            header = CaptureHeader(
                transport="socket" if int(connection.connection_type) == 0 else "shm",
                model=model, version=1, corosync_version=versions[0],
                libqb_version=versions[1], max_msg_size=connection.max_msg_size,
                description=f"node {node.nodeid} of a 3-node cluster, {model.name} session, "
                "through the scenario walk of pyquorum/testing/scenarios.py",
            )
            self.writer = CaptureWriter(self._buffer, header)
            self.session = QuorumSession(
                model, connection=RecordingConnection(connection, self.writer), timeout=10
            )
        except BaseException:
            connection.close()
            raise
        self.session.trackstart(FLAGS)

    def begin(self, step: str, changes: tuple[Change, ...]) -> None:
        self.segments.append(Segment(step, len(self.events), changes))
        self.step_times.append(self.writer.elapsed())

    def missing(self) -> int:
        """Events the current step has still to bring (re-formations do not count)."""
        last = self.segments[-1]
        return last.wanted(self.model) - len(segment_indices(self.model, self.events, last))

    def collect(self, deadline: float) -> None:
        """Take events until the current step's are all in; fail at ``deadline``."""
        while self.missing() > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                last = self.segments[-1]
                got = [shape(e) for e in self.events[last.first :]]
                raise ScenarioMismatch(
                    f"{self.label}, step {last.step!r}: only {got} of "
                    f"{last.wanted(self.model)} events within {STEP_TIMEOUT} s"
                )
            for event in self.session.events(timeout=min(left, 0.5)):
                self.events.append(event)
                if self.missing() <= 0:
                    break

    def extra(self, timeout: float) -> list[Notification]:
        return list(self.session.events(timeout=timeout))

    def metadata(self, transport: str) -> dict[str, Any]:
        return {
            "scenario": "pyquorum/testing/scenarios.py",
            "node": self.node.nodeid,
            "cluster": {"nodes": 3, "transport": transport, "token_ms": self.node.cluster.token_ms},
            "steps": [
                {"name": s.step, "time": round(t, 6), "first_event": s.first,
                 "expect": [c.to_json() for c in s.changes]}
                for s, t in zip(self.segments, self.step_times, strict=True)
            ],
        }

    def finish(self, transport: str) -> Capture:
        """Close the session and the capture; the capture, annotated with the steps."""
        self.session.close()
        self.writer.close()
        capture = read_capture(io.BytesIO(self._buffer.getvalue()))
        header = dataclasses.replace(capture.header, metadata=self.metadata(transport))
        return Capture(header, capture.records)

    def close(self) -> None:
        self.session.close()
        self.writer.close()


class _Lines:
    """A subprocess whose stdout lines are collected by a thread (so it never blocks)."""

    def __init__(self, label: str, node: Node, argv: list[str],
                 env: Mapping[str, str] | None = None) -> None:
        self.label = label
        with node.netns_context():
            self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True, env=dict(env) if env else None)
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        self.stderr = ""

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()

    def wait_lines(self, count: int, deadline: float, what: str) -> None:
        with self._cond:
            while len(self.lines) < count:
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._thread.is_alive()):
                    raise ScenarioMismatch(
                        f"{self.label}: {len(self.lines)} of {count} lines for {what} "
                        f"(exit status {self.proc.poll()}): {self.lines[-4:]}"
                    )
                self._cond.wait(min(left, 0.5))

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the process, wait for it, and return its exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(10)
        self._thread.join(10)
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()
        self.proc.stderr.close()
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self._thread.join(10)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


class CWatcher(_Lines):
    """The C libquorum watching one node (``quorum_oracle watch``)."""

    def __init__(self, node: Node, model: Model, oracle: str) -> None:
        self.model = model
        super().__init__(f"node {node.nodeid} C libquorum {model.name}", node,
                         [oracle, "watch", model.name.lower(), str(int(FLAGS)), "100000",
                          "600000"])

    def calls(self) -> list[dict[str, Any]]:
        return [d for d in map(json.loads, self.lines) if "call" in d]

    def events(self) -> list[dict[str, Any]]:
        return [d for d in map(json.loads, self.lines) if "call" not in d]


class CliRecorder(_Lines):
    """``pyquorum record`` running on a node, as a user would run it."""

    def __init__(self, node: Node, model: Model, json_output: bool, path: Path) -> None:
        self.model = model
        self.json_output = json_output
        self.path = path
        argv = [sys.executable, "-m", "pyquorum", "record", "-o", str(path),
                "--model", model.name.lower(), *(["--json"] if json_output else [])]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        super().__init__(f"node {node.nodeid} pyquorum record {model.name}", node, argv, env)


# --------------------------------------------------------------------------- the walk


@dataclass
class Watched:
    """Everything watching one node."""

    node: int
    py: dict[Model, PyWatcher] = field(default_factory=dict)
    c: dict[Model, CWatcher] = field(default_factory=dict)


@dataclass
class WalkResult:
    transport: str
    #: (node, model) -> the pyquorum watcher (session closed), its capture and the C events
    watchers: dict[tuple[int, Model], PyWatcher]
    captures: dict[tuple[int, Model], Capture]
    c_events: dict[tuple[int, Model], list[dict[str, Any]]]
    c_calls: dict[tuple[int, Model], list[dict[str, Any]]]
    #: pyquorum record subprocesses: (model, json) -> (stdout lines, exit status, capture path)
    recorders: dict[tuple[Model, bool], tuple[list[str], int, Path]]
    extra: dict[tuple[int, Model], list[Notification]]
    seconds: float


class Walk:
    """Runs :data:`STEPS` on a started 3-node cluster (see the module docstring)."""

    def __init__(self, cluster: Cluster, oracle: str, workdir: Path,
                 steps: Sequence[Step] = STEPS) -> None:
        self.cluster = cluster
        self.oracle = oracle
        self.workdir = workdir
        self.steps = steps
        self.watched: dict[int, Watched] = {}
        self.recorders: dict[tuple[Model, bool], CliRecorder] = {}
        self.versions = (corosync_version(), libqb_version())

    def _watch(self, nodeid: int, deadline: float, *, recorders: bool = False) -> None:
        """Start every watcher of a node at once; return when all are subscribed
        and have delivered their snapshot."""
        node = self.cluster[nodeid]
        watched = self.watched.setdefault(nodeid, Watched(nodeid))
        for model in MODELS:
            watched.c[model] = CWatcher(node, model, self.oracle)
        if recorders:
            for model, as_json in ((Model.V1, True), (Model.V0, False)):
                path = self.workdir / f"record-{model.name.lower()}.pqcap"
                self.recorders[(model, as_json)] = CliRecorder(node, model, as_json, path)
        for model in MODELS:
            watched.py[model] = PyWatcher(node, model, self.versions)
        for model, watcher in watched.py.items():
            watcher.begin(SNAPSHOT, SNAPSHOT_CHANGE)
            watcher.collect(deadline)
            snapshot = len(SNAPSHOT_CHANGE[0].shapes(model))
            watched.c[model].wait_lines(2 + snapshot, deadline, "its start and snapshot")
            if recorders:
                for (rec_model, _), recorder in self.recorders.items():
                    if rec_model is model:
                        recorder.wait_lines(snapshot, deadline, "its snapshot")

    def run(self) -> WalkResult:
        started = time.monotonic()
        try:
            self._watch(OBSERVER, time.monotonic() + STEP_TIMEOUT, recorders=True)
            for step in self.steps:
                for nodeid in step.watch_from_here:
                    if nodeid not in self.watched:
                        # Its own view settled too, so that its snapshot is the cluster's.
                        self.cluster.wait_formed(quorate=True, timeout=STEP_TIMEOUT)
                        self._watch(nodeid, time.monotonic() + STEP_TIMEOUT)
                for nodeid, watched in self.watched.items():
                    for watcher in watched.py.values():
                        watcher.begin(step.name, step.expect.get(nodeid, ()))
                step.action(self.cluster)
                deadline = time.monotonic() + STEP_TIMEOUT
                for watched in self.watched.values():
                    for watcher in watched.py.values():
                        watcher.collect(deadline)
            return self._finish(started)
        finally:
            self._cleanup()

    def _finish(self, started: float) -> WalkResult:
        quiet_until = time.monotonic() + QUIET
        extra = {
            (nodeid, model): watcher.extra(max(0.0, quiet_until - time.monotonic()))
            for nodeid, watched in self.watched.items()
            for model, watcher in watched.py.items()
        }
        deadline = time.monotonic() + STEP_TIMEOUT
        c_events, c_calls = {}, {}
        for nodeid, watched in self.watched.items():
            for model, c in watched.c.items():
                count = len(watched.py[model].events)
                with contextlib.suppress(ScenarioMismatch):  # judged by the comparison
                    c.wait_lines(2 + count, deadline, "every event pyquorum got")
                c.stop()
                c_events[(nodeid, model)] = c.events()
                c_calls[(nodeid, model)] = c.calls()
        recorded = {}
        observer = self.watched[OBSERVER]
        for (model, as_json), recorder in self.recorders.items():
            count = len(observer.py[model].events)
            with contextlib.suppress(ScenarioMismatch):
                recorder.wait_lines(count, deadline, "every event pyquorum got")
            code = recorder.stop(signal.SIGTERM)
            recorded[(model, as_json)] = (list(recorder.lines), code, recorder.path)
        watchers = {
            (nodeid, model): watcher
            for nodeid, watched in self.watched.items()
            for model, watcher in watched.py.items()
        }
        captures = {key: w.finish(self.cluster.transport) for key, w in watchers.items()}
        return WalkResult(self.cluster.transport, watchers, captures, c_events, c_calls,
                          recorded, extra, time.monotonic() - started)

    def _cleanup(self) -> None:
        for watched in self.watched.values():
            for watcher in watched.py.values():
                watcher.close()
            for c in watched.c.values():
                c.kill()
        for recorder in self.recorders.values():
            recorder.kill()


@contextlib.contextmanager
def walked_cluster(transport: Literal["shm", "socket"], oracle: str,
                   workdir: Path) -> Iterator[WalkResult]:
    """Start a 3-node cluster, walk it, tear it down; yields the result."""
    cluster = Cluster(3, transport=transport)
    try:
        cluster.start()
        result = Walk(cluster, oracle, workdir).run()
    finally:
        cluster.close(graceful=False)
    yield result


def verify(result: WalkResult) -> None:
    """Every check of the scenario tests at once (for scripts/record-fixtures):
    exact segments, ring rules, the C libquorum's identical streams, quiet at
    the end, and each capture replaying to its session's events."""
    for key, watcher in result.watchers.items():
        for segment in watcher.segments:
            check_segment(watcher.label, watcher.model, watcher.events, segment)
        check_rings(watcher.label, watcher.model, watcher.events, watcher.segments)
        ours = [event_to_dict(e) for e in watcher.events]
        if result.c_events[key] != ours:
            raise ScenarioMismatch(f"{watcher.label}: the C libquorum saw {result.c_events[key]}"
                                   f", pyquorum {ours}")
        if result.extra[key]:
            raise ScenarioMismatch(f"{watcher.label}: events after the last step: "
                                   f"{result.extra[key]}")
        capture = result.captures[key]
        with QuorumSession(capture.header.model,
                           connection=PlaybackConnection(capture)) as session:
            session.trackstart(FLAGS)
            if list(session.events(timeout=0)) != watcher.events:
                raise ScenarioMismatch(f"{watcher.label}: the capture replays differently")
