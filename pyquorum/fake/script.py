"""What a fake quorum server serves: a timeline of membership and quorum states.

A :class:`Script` is an initial :class:`State` plus timed :class:`Step`\\ s.
A step either changes the **membership** (``members`` given: a new ring,
so V1 clients get NODELIST then QUORUM and V0 clients one id 3) or only
the **quorum** (``quorate`` alone: QUORUM only, same ring id), exactly
the two kinds of change corosync reports (docs/protocol.md §6.6).

File format (``.jsonl``): JSON lines; blank lines and lines starting with
``#`` are ignored.  The first object is the header, the second the
initial state, every further one a step::

    {"pyquorum_script": 1, "quorum_type": "set", "model_v1": true, "start": "track"}
    {"members": [1, 2, 3], "quorate": true, "ring_id": {"nodeid": 1, "seq": 4}}
    {"at": 1.0, "members": [1, 2]}
    {"at": 2.0, "members": [1], "quorate": false}
    {"at": 3.0, "quorate": true}

Header keys (all optional but ``pyquorum_script``, which must be 1):

* ``quorum_type``: ``"set"`` (a provider, the default) or ``"free"``, or the number;
* ``model_v1``: false emulates corosync < 3.1 (MODEL_GETTYPE is unknown,
  only V0 notifications); default true;
* ``start``: when the timeline's clock starts: ``"track"`` (default) when
  the first client subscribes to changes, ``"serve"`` when the server starts;
* ``name``: a free-form description.

State and step keys:

* ``at``: seconds from the start of the timeline (steps only; non-decreasing);
* ``members``: node ids (a membership change); ``quorate``: bool;
* ``ring_id``: ``{"nodeid": N, "seq": S}``; on a membership change it
  defaults to the lowest member and the previous seq + 4;
* ``joined`` / ``left``: default to the difference with the previous members.

The initial state needs ``members`` and ``quorate``; ``ring_id`` defaults
to ``{"nodeid": lowest member, "seq": 4}``.

**Stories** (``"pyquorum_script": 2``) give every state the cluster behind
votequorum, cmap and cfg (:class:`~pyquorum.fake.story.Cluster`).  The
initial state then also takes ``this_node`` (required), ``cluster_name``,
``nodes`` (each ``{"nodeid", "name", "addrs", "votes", "expected_votes",
"qdevice": {"alive", "cast_vote", "master_wins"}}``), ``votequorum``
(null: no quorum provider; else ``expected_votes``, ``highest_expected``,
``quorum``, ``two_node``, ``wait_for_all``, ``last_man_standing``,
``auto_tie_breaker``, ``allow_downscale``, ``qdevice_name``,
``qdevice_votes``) and ``cmap`` (extra keys, ``{"type": "u32", "value": 7}``);
a step also takes ``nodes`` (fields to change per node id), ``remove_nodes``,
``votequorum`` (fields to change) and ``cmap`` (null deletes a key), and
may change only these (the quorum service then reports nothing)::

    {"pyquorum_script": 2, "name": "two nodes named"}
    {"members": [1, 2], "quorate": true, "this_node": 1,
     "nodes": [{"nodeid": 1, "name": "a"}, {"nodeid": 2, "name": "b", "votes": 2}]}
    {"at": 1.0, "nodes": [{"nodeid": 2, "votes": 1}], "votequorum": {"expected_votes": 3}}

(each object on one line in a file).  The full description, and what each
service derives from a state, is docs/fake.md §1-2.  A version-1 script
served by the whole fake corosync gets the cluster it implies
(:meth:`Script.as_story`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pyquorum.fake.story import (
    Cluster,
    ClusterChange,
    ScriptError,
    default_cluster,
    joined_known,
    node_expected,
)
from pyquorum.fake.story_format import (
    CHANGE_KEYS,
    CLUSTER_KEYS,
    change_from_json,
    change_to_json,
    cluster_from_json,
    cluster_to_json,
)
from pyquorum.messages.constants import QuorumType
from pyquorum.messages.types import RingId

__all__ = [
    "SCRIPT_VERSION",
    "Change",
    "Script",
    "ScriptError",
    "State",
    "Step",
]

SCRIPT_VERSION = 1
#: The version of a story: a script whose states carry a :class:`Cluster`.
STORY_VERSION = 2

#: How far a membership change moves the ring seq when the script does not say.
RING_SEQ_STEP = 4

Start = Literal["track", "serve"]


class StepError(ScriptError):
    """A step that cannot apply to the state before it; ``index`` is the step's."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(f"step {index + 1}: {message}")
        self.index = index


@dataclass(frozen=True, slots=True)
class State:
    """What the daemon reports at one moment."""

    quorate: bool
    ring_id: RingId
    members: tuple[int, ...]
    #: The rest of the story (votequorum, cmap, cfg); None in a version-1 script.
    cluster: Cluster | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """One applied step: the new state, and what a client is told about it.

    ``membership`` is True for a new ring (NODELIST + QUORUM, or V0 id 3),
    False for a quorum-only change (QUORUM, or V0 id 3).  ``quorum_view`` is False
    for a step that changes neither members nor quorate (only the cluster): the
    quorum service then tells nobody.  ``expected_changed``: this node's expected
    votes changed (votequorum's expected-votes event).
    """

    state: State
    membership: bool
    joined: tuple[int, ...] = ()
    left: tuple[int, ...] = ()
    quorum_view: bool = True
    expected_changed: bool = False


@dataclass(frozen=True, slots=True)
class Step:
    """One change at ``at`` seconds into the timeline.

    ``members`` set means a membership change; ``None`` keeps the members
    (a quorum-only change, which must then set ``quorate``, unless ``cluster``
    changes something else: names, votes, votequorum, cmap keys).
    """

    at: float
    members: tuple[int, ...] | None = None
    quorate: bool | None = None
    ring_id: RingId | None = None
    joined: tuple[int, ...] | None = None
    left: tuple[int, ...] | None = None
    cluster: ClusterChange | None = None

    def __post_init__(self) -> None:
        if not (self.at >= 0 and math.isfinite(self.at)):
            raise ScriptError(f"step time must be a finite number >= 0, not {self.at!r}")
        if self.members is None:
            if self.quorate is None and not self.cluster:
                raise ScriptError("a step changes members, quorate, the cluster, or several")
            if self.ring_id is not None or self.joined is not None or self.left is not None:
                raise ScriptError("ring_id, joined and left need members (a membership change)")

    def apply(self, before: State) -> Change:
        """The change this step makes to ``before``."""
        quorate = before.quorate if self.quorate is None else self.quorate
        cluster = before.cluster
        if self.cluster:
            if cluster is None:
                raise ScriptError("a cluster change needs a story (a script of version 2)")
            cluster = self.cluster.apply(cluster)
        expected = (
            cluster is not None and before.cluster is not None
            and node_expected(cluster, cluster.this_node)
            != node_expected(before.cluster, before.cluster.this_node)
        )
        if self.members is None:
            return Change(replace(before, quorate=quorate, cluster=cluster), membership=False,
                          quorum_view=self.quorate is not None, expected_changed=expected)
        if cluster is not None:
            cluster = joined_known(cluster, self.members)
        ring_id = self.ring_id or RingId(
            min(self.members, default=before.ring_id.nodeid),
            before.ring_id.seq + RING_SEQ_STEP,
        )
        old, new = set(before.members), set(self.members)
        joined = self.joined if self.joined is not None else tuple(sorted(new - old))
        left = self.left if self.left is not None else tuple(sorted(old - new))
        return Change(State(quorate, ring_id, self.members, cluster), True, joined, left,
                      expected_changed=expected)


@dataclass(frozen=True, slots=True)
class Script:
    """A timeline: ``initial`` then ``steps`` (sorted by ``at``), plus how to serve it."""

    initial: State
    steps: tuple[Step, ...] = ()
    quorum_type: QuorumType | int = QuorumType.SET
    model_v1: bool = True
    start: Start = "track"
    name: str = ""
    _changes: tuple[Change, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.start not in ("track", "serve"):
            raise ScriptError(f"start must be 'track' or 'serve', not {self.start!r}")
        if any(b.at < a.at for a, b in zip(self.steps, self.steps[1:], strict=False)):
            raise ScriptError("steps must be in time order")
        changes = []
        state = self.initial
        for index, step in enumerate(self.steps):
            try:
                change = step.apply(state)
            except ScriptError as exc:
                raise StepError(index, str(exc)) from None
            changes.append(change)
            state = change.state
        object.__setattr__(self, "_changes", tuple(changes))

    @classmethod
    def build(
        cls,
        members: Iterable[int],
        quorate: bool = True,
        ring_id: RingId | None = None,
        steps: Sequence[Step] = (),
        cluster: Cluster | None = None,
        **options: Any,
    ) -> Script:
        """A script from Python: ``Script.build([1, 2, 3], steps=[Step(1.0, members=(1, 2))])``;
        with ``cluster`` a story (version 2)."""
        members = tuple(members)
        if cluster is not None:
            cluster = joined_known(cluster, members)
        initial = State(
            bool(quorate), ring_id or RingId(min(members, default=1), 4), members, cluster
        )
        return cls(initial, tuple(steps), **options)

    @property
    def changes(self) -> tuple[Change, ...]:
        """What each step does, in order (``changes[i]`` belongs to ``steps[i]``)."""
        return self._changes

    @property
    def final(self) -> State:
        return self._changes[-1].state if self._changes else self.initial

    @property
    def duration(self) -> float:
        return self.steps[-1].at if self.steps else 0.0

    @property
    def version(self) -> int:
        """1 for a script of the quorum view only, 2 for a story (states with a cluster)."""
        return SCRIPT_VERSION if self.initial.cluster is None else STORY_VERSION

    def as_story(self) -> Script:
        """This script if it is a story, else the story a version-1 script implies
        (:func:`~pyquorum.fake.story.default_cluster`; no votequorum when the quorum
        type is free): what the fake corosync serves."""
        if self.initial.cluster is not None:
            return self
        ids: list[int] = list(self.initial.members)
        for step in self.steps:
            ids += step.members or ()
        cluster = default_cluster(self.initial.members, tuple(ids))
        if self.quorum_type == QuorumType.FREE:
            cluster = replace(cluster, votequorum=None)  # no provider, no votequorum
        return replace(self, initial=replace(self.initial, cluster=cluster))

    # -- files ------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> Script:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScriptError(f"{path}: {exc.strerror}") from None
        return cls.parse(text, source=str(path))

    @classmethod
    def parse(cls, text: str, *, source: str = "<script>") -> Script:
        objects: list[tuple[int, dict[str, Any]]] = []
        for lineno, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            try:
                obj = json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise ScriptError(f"{source}:{lineno}: not JSON: {exc.msg}") from None
            if not isinstance(obj, dict):
                raise ScriptError(f"{source}:{lineno}: expected a JSON object")
            objects.append((lineno, obj))
        if len(objects) < 2:
            raise ScriptError(f"{source}: a script needs a header line and an initial state")
        (hline, header), (iline, initial), *rest = objects
        try:
            options = _header(header)
        except (ScriptError, TypeError, ValueError) as exc:
            raise ScriptError(f"{source}:{hline}: {exc}") from None
        story = header["pyquorum_script"] == STORY_VERSION
        try:
            if "at" in initial:
                raise ScriptError("the initial state has no 'at'")
            state = _initial(initial, story)
        except (ScriptError, TypeError, ValueError, KeyError) as exc:
            raise ScriptError(f"{source}:{iline}: {exc}") from None
        steps = []
        for lineno, obj in rest:
            try:
                steps.append(_step(obj, story))
            except (ScriptError, TypeError, ValueError, KeyError) as exc:
                raise ScriptError(f"{source}:{lineno}: {exc}") from None
        try:
            return cls(state, tuple(steps), **options)
        except StepError as exc:
            raise ScriptError(f"{source}:{rest[exc.index][0]}: {exc}") from None
        except ScriptError as exc:
            raise ScriptError(f"{source}: {exc}") from None

    def dumps(self) -> str:
        """The script in the file format (parses back to an equal script)."""
        header: dict[str, Any] = {
            "pyquorum_script": self.version,
            "quorum_type": _type_name(self.quorum_type),
            "model_v1": self.model_v1,
            "start": self.start,
        }
        if self.name:
            header["name"] = self.name
        lines = [json.dumps(header), json.dumps(_state_dict(self.initial))]
        for step in self.steps:
            obj: dict[str, Any] = {"at": step.at}
            if step.members is not None:
                obj["members"] = list(step.members)
            if step.quorate is not None:
                obj["quorate"] = step.quorate
            if step.ring_id is not None:
                obj["ring_id"] = _ring_dict(step.ring_id)
            if step.joined is not None:
                obj["joined"] = list(step.joined)
            if step.left is not None:
                obj["left"] = list(step.left)
            if step.cluster:
                obj.update(change_to_json(step.cluster))
            lines.append(json.dumps(obj))
        return "\n".join(lines) + "\n"


# -- parsing helpers -----------------------------------------------------------------------

_HEADER_KEYS = {"pyquorum_script", "quorum_type", "model_v1", "start", "name"}
_STATE_KEYS = {"members", "quorate", "ring_id"}
_STEP_KEYS = {"at", "members", "quorate", "ring_id", "joined", "left"}


def _header(obj: dict[str, Any]) -> dict[str, Any]:
    version = obj.get("pyquorum_script")
    if isinstance(version, bool) or version not in (SCRIPT_VERSION, STORY_VERSION):
        raise ScriptError(
            f'the first line must be a header with "pyquorum_script": {SCRIPT_VERSION} '
            f"(a script) or {STORY_VERSION} (a story)"
        )
    _no_extra(obj, _HEADER_KEYS)
    options: dict[str, Any] = {}
    if "quorum_type" in obj:
        options["quorum_type"] = _quorum_type(obj["quorum_type"])
    if "model_v1" in obj:
        options["model_v1"] = _bool(obj["model_v1"], "model_v1")
    if "start" in obj:
        options["start"] = obj["start"]
    if "name" in obj:
        if not isinstance(obj["name"], str):
            raise ScriptError("name must be a string")
        options["name"] = obj["name"]
    return options


def _initial(obj: dict[str, Any], story: bool) -> State:
    _no_extra(obj, _STATE_KEYS | CLUSTER_KEYS if story else _STATE_KEYS)
    if "members" not in obj or "quorate" not in obj:
        raise ScriptError("the initial state needs members and quorate")
    members = _ids(obj["members"], "members")
    ring_id = _ring(obj["ring_id"]) if "ring_id" in obj else RingId(min(members, default=1), 4)
    cluster = cluster_from_json(obj, members) if story else None
    return State(_bool(obj["quorate"], "quorate"), ring_id, members, cluster)


def _step(obj: dict[str, Any], story: bool) -> Step:
    _no_extra(obj, _STEP_KEYS | CHANGE_KEYS if story else _STEP_KEYS)
    if "at" not in obj:
        raise ScriptError("a step needs 'at' (seconds from the start of the timeline)")
    at = obj["at"]
    if isinstance(at, bool) or not isinstance(at, int | float):
        raise ScriptError(f"at must be a number, not {at!r}")
    return Step(
        at=float(at),
        members=_ids(obj["members"], "members") if "members" in obj else None,
        quorate=_bool(obj["quorate"], "quorate") if "quorate" in obj else None,
        ring_id=_ring(obj["ring_id"]) if "ring_id" in obj else None,
        joined=_ids(obj["joined"], "joined") if "joined" in obj else None,
        left=_ids(obj["left"], "left") if "left" in obj else None,
        cluster=change_from_json(obj) if story and CHANGE_KEYS & set(obj) else None,
    )


def _no_extra(obj: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(obj) - allowed)
    if extra:
        raise ScriptError(
            f"unknown key(s) {', '.join(extra)} (allowed: {', '.join(sorted(allowed))})"
        )


def _bool(value: object, what: str) -> bool:
    if not isinstance(value, bool):
        raise ScriptError(f"{what} must be true or false, not {value!r}")
    return value


def _u32(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 0xFFFFFFFF:
        raise ScriptError(f"{what} must be an integer 0..2**32-1, not {value!r}")
    return value


def _ids(value: object, what: str) -> tuple[int, ...]:
    if not isinstance(value, list):
        raise ScriptError(f"{what} must be a list of node ids")
    return tuple(_u32(v, what) for v in value)


def _ring(value: object) -> RingId:
    if not isinstance(value, dict) or set(value) != {"nodeid", "seq"}:
        raise ScriptError('ring_id must be {"nodeid": N, "seq": S}')
    seq = value["seq"]
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**64:
        raise ScriptError(f"ring_id.seq must be an integer 0..2**64-1, not {seq!r}")
    return RingId(_u32(value["nodeid"], "ring_id.nodeid"), seq)


def _quorum_type(value: object) -> QuorumType | int:
    if isinstance(value, str):
        try:
            return QuorumType[value.upper()]
        except KeyError:
            raise ScriptError(f"quorum_type must be 'set' or 'free', not {value!r}") from None
    number = _u32(value, "quorum_type")
    try:
        return QuorumType(number)
    except ValueError:
        return number


def _type_name(value: QuorumType | int) -> str | int:
    return value.name.lower() if isinstance(value, QuorumType) else int(value)


def _ring_dict(ring_id: RingId) -> dict[str, int]:
    return {"nodeid": ring_id.nodeid, "seq": ring_id.seq}


def _state_dict(state: State) -> dict[str, Any]:
    out = {
        "members": list(state.members),
        "quorate": state.quorate,
        "ring_id": _ring_dict(state.ring_id),
    }
    if state.cluster is not None:
        out.update(cluster_to_json(state.cluster, state.members))
    return out
