"""cmap's rules without I/O: what to send, and what the answers mean.

Every call is an :class:`Operation`: the front end sends ``op.request``,
feeds each response to ``op.feed()`` while ``not op.done``, then reads
``op.result``; a cs_error_t other than CS_OK is raised as its
:mod:`pyquorum.errors` class.  Most calls are one exchange.  Those that are
not:

* :meth:`CmapCore.get` without a ``room`` first asks for the value's length
  and type (a GET with value_len 0), then GETs it with exactly that room, as
  libcmap's ``cmap_get_string`` does; a value that grew in between answers
  CS_ERR_INVALID_PARAM and the pair is tried again, a few times
  (docs/cmap.md §3.1);
* :meth:`CmapCore.items` walks a prefix: ITER_INIT, ITER_NEXT until
  CS_ERR_NO_SECTIONS, a GET per key (a key deleted meanwhile is skipped),
  and ITER_FINALIZE, also after an error (docs/cmap.md §3.3).

Tracking: :meth:`CmapCore.track_add` allocates the ``track_inst_handle``
the daemon echoes in each notification and remembers the caller's ``user``
object under it; :meth:`CmapCore.handle_event` turns a notification into a
:class:`CmapChange` carrying that object, and returns None for one whose
tracker was deleted meanwhile (libcmap skips those the same way).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Generator
from typing import Generic, TypeVar

from pyquorum._frozen import frozen, slotted
from pyquorum.errors import (
    CsError,
    InvalidParamError,
    LibraryError,
    LocalProtocolError,
    NoSectionsError,
    NotExistError,
    RemoteProtocolError,
)
from pyquorum.frontend.core import Operation, SessionLifecycle, expect
from pyquorum.messages.cmap import (
    AdjustIntRequest,
    AdjustIntResponse,
    CmapValue,
    DeleteRequest,
    DeleteResponse,
    GetRequest,
    GetResponse,
    IterFinalizeRequest,
    IterFinalizeResponse,
    IterInitRequest,
    IterInitResponse,
    IterNextRequest,
    IterNextResponse,
    NotifyCallback,
    Response,
    SetCurrentMapRequest,
    SetCurrentMapResponse,
    SetRequest,
    SetResponse,
    TrackAddRequest,
    TrackAddResponse,
    TrackDeleteRequest,
    TrackDeleteResponse,
    UnknownNotification,
    decode_notification,
    decode_response,
    encode_request,
)
from pyquorum.messages.constants import CmapMap, CmapTrack, CmapValueType

__all__ = [
    "GET_ATTEMPTS",
    "CmapCallbacks",
    "CmapChange",
    "CmapCore",
    "CmapKey",
    "CmapProperties",
    "CmapTracker",
    "IterEntry",
    "Tracker",
    "check_type",
    "make_value",
]

S = TypeVar("S")
R = TypeVar("R", bound=Response)

#: How many probe-and-GET pairs :meth:`CmapCore.get` tries while the value keeps growing.
GET_ATTEMPTS = 3


@frozen
class IterEntry:
    """One ITER_NEXT answer: a key, its value's type and length (no value)."""

    key: str
    value_type: CmapValueType | int
    value_len: int


@frozen
class Tracker:
    """A TRACK_ADD the daemon accepted: its handle, what it watches, the caller's object."""

    track_handle: int
    key: str
    track_type: CmapTrack | int
    user: object


#: Public names: a key as iteration lists it, and a tracker handle.
CmapKey = IterEntry
CmapTracker = Tracker


@frozen
class CmapChange:
    """A tracked key changed: ``event`` is ADD, DELETE or MODIFY; ``new``/``old``
    are None on the side without a value."""

    tracker: Tracker
    key: str
    event: CmapTrack | int
    new: CmapValue | None
    old: CmapValue | None


def _roomy(resp: GetResponse, key: str, room: int) -> GetResponse:
    """A successful GET answer has exactly the room its request asked for
    (docs/cmap.md §3.1); one with more would hand us bytes we never asked for
    as the value (docs/trust-boundary.md §11.1)."""
    if resp.room != room:
        raise RemoteProtocolError(
            f"GET {key}: a successful answer with {resp.room} bytes of room, "
            f"not the {room} asked for", field="size", offset=8,
        )
    return resp


def _expect(data: bytes, cls: type[R], what: str) -> R:
    # Every response carries a cs_error_t, so any kind raises its error first.
    return expect(data, cls, what, decode_response, (Response,))


class CmapCore(SessionLifecycle):
    """One cmap session's state: new, ready or closed, which map, and its trackers.

    ``dropped`` counts notifications :meth:`handle_event` consumed without a
    change to report (a deleted tracker's leftovers), so a front end can
    tell "nothing came" from "something came and was dropped".
    """

    def __init__(self, map: CmapMap | int = CmapMap.DEFAULT) -> None:
        super().__init__()
        self.map: CmapMap | int = CmapMap.DEFAULT
        self.requested_map = map
        self.dropped = 0
        self._trackers: dict[int, Tracker] = {}  # by track_inst_handle
        self._inst_handles = itertools.count(1)

    def initialize(self) -> Operation[None]:
        """READY; for a map other than the default, SET_CURRENT_MAP first
        (NotExistError for an unknown map, docs/cmap.md §3.5).  The default map
        needs no exchange: a fresh connection reads it (docs/cmap.md §1.1)."""
        self.check_new("initialize")
        wanted = self.requested_map
        if isinstance(wanted, bool) or not isinstance(wanted, int):
            raise LocalProtocolError(f"initialize: map must be a CmapMap, not {wanted!r}")

        def steps() -> Generator[bytes, bytes, None]:
            if wanted != CmapMap.DEFAULT:
                yield from self._set_current_map(wanted)
            self.mark_ready()

        return Operation("initialize", steps())

    def close(self) -> bool:
        if not super().close():
            return False
        self._trackers.clear()
        return True

    @property
    def trackers(self) -> tuple[Tracker, ...]:
        return tuple(self._trackers.values())

    # -- values ----------------------------------------------------------------

    def get(self, key: str, room: int | None = None) -> Operation[CmapValue]:
        """GET ``key``'s value.  With a positive ``room``, one exchange with that much
        room (InvalidParamError if the value is longer); without, length first."""
        self.check_open("get")
        first = encode_request(GetRequest(key, room or 0))
        return Operation("get", self._get(key, first, not room, room or 0))

    def _get(
        self, key: str, first: bytes, probing: bool, room: int = 0
    ) -> Generator[bytes, bytes, CmapValue]:
        """``first`` is a GET with ``room`` (0 when ``probing``)."""
        if not probing:
            resp = _roomy(_expect((yield first), GetResponse, "GET"), key, room)
            if resp.value is None:
                raise RemoteProtocolError("GET: a successful answer without its value")
            return resp.value
        for _ in range(GET_ATTEMPTS):
            probe = _roomy(_expect((yield first), GetResponse, "GET"), key, 0)
            if probe.value is not None:
                return probe.value  # an empty value fits the probe's room of 0
            try:
                follow = encode_request(GetRequest(key, probe.value_len))
            except LocalProtocolError:
                # The daemon's length, not the caller's: no answer could carry it
                # (docs/trust-boundary.md §11.1).
                raise RemoteProtocolError(
                    f"GET {key}: the daemon says the value is {probe.value_len} bytes, "
                    "more than any answer can hold", field="value_len", offset=24,
                ) from None
            try:
                resp = _roomy(_expect((yield follow), GetResponse, "GET"), key, probe.value_len)
            except InvalidParamError:
                continue  # the value grew after the probe: measure it again
            if resp.value is None:
                raise RemoteProtocolError("GET: a successful answer without its value")
            return resp.value
        raise InvalidParamError(f"GET {key}: the value kept growing over {GET_ATTEMPTS} tries")

    def probe(self, key: str) -> Operation[tuple[CmapValueType | int, int]]:
        """GET with value_len 0: ``(type, length)`` of ``key``'s value, not the value."""
        self.check_open("probe")
        request = encode_request(GetRequest(key, 0))

        def steps() -> Generator[bytes, bytes, tuple[CmapValueType | int, int]]:
            resp = _expect((yield request), GetResponse, "GET")
            return resp.value_type, resp.value_len

        return Operation("probe", steps())

    def set(self, key: str, value: CmapValue) -> Operation[None]:
        """SET: creates or replaces ``key`` (AccessError for a read-only key)."""
        self.check_open("set")
        return self._one("set", encode_request(SetRequest(key, value)), SetResponse, "SET")

    def delete(self, key: str) -> Operation[None]:
        """DELETE: NotExistError when there is no such key."""
        self.check_open("delete")
        return self._one("delete", encode_request(DeleteRequest(key)), DeleteResponse, "DELETE")

    def adjust(self, key: str, step: int) -> Operation[None]:
        """ADJUST_INT: add ``step`` to an integer value (InvalidParamError otherwise)."""
        self.check_open("adjust")
        request = encode_request(AdjustIntRequest(key, step))
        return self._one("adjust", request, AdjustIntResponse, "ADJUST_INT")

    def inc(self, key: str) -> Operation[None]:
        return self.adjust(key, 1)

    def dec(self, key: str) -> Operation[None]:
        return self.adjust(key, -1)

    def set_current_map(self, map: CmapMap | int) -> Operation[None]:
        """SET_CURRENT_MAP: BusyError while iterators or trackers are open,
        NotExistError for an unknown map (docs/cmap.md §3.5)."""
        self.check_open("set_current_map")
        return Operation("set_current_map", self._set_current_map(map))

    def _set_current_map(self, map: CmapMap | int) -> Generator[bytes, bytes, None]:
        request = encode_request(SetCurrentMapRequest(map))
        _expect((yield request), SetCurrentMapResponse, "SET_CURRENT_MAP")
        self.map = CmapMap(map) if map in set(CmapMap) else map

    def _one(self, name: str, request: bytes, cls: type[Response], what: str) -> Operation[None]:
        def steps() -> Generator[bytes, bytes, None]:
            _expect((yield request), cls, what)

        return Operation(name, steps())

    # -- iteration -------------------------------------------------------------

    def iter_init(self, prefix: str = "") -> Operation[int]:
        """ITER_INIT: the iterator's handle ("" walks every key)."""
        self.check_open("iter_init")
        request = encode_request(IterInitRequest(prefix))

        def steps() -> Generator[bytes, bytes, int]:
            return _expect((yield request), IterInitResponse, "ITER_INIT").iter_handle

        return Operation("iter_init", steps())

    def iter_next(self, iter_handle: int) -> Operation[IterEntry | None]:
        """ITER_NEXT: the next key, or None past the last one (CS_ERR_NO_SECTIONS)."""
        self.check_open("iter_next")
        request = encode_request(IterNextRequest(iter_handle))

        def steps() -> Generator[bytes, bytes, IterEntry | None]:
            return _iter_entry((yield request))

        return Operation("iter_next", steps())

    def iter_finalize(self, iter_handle: int) -> Operation[None]:
        self.check_open("iter_finalize")
        request = encode_request(IterFinalizeRequest(iter_handle))
        return self._one("iter_finalize", request, IterFinalizeResponse, "ITER_FINALIZE")

    def items(self, prefix: str = "") -> Operation[dict[str, CmapValue]]:
        """Every key under ``prefix`` with its value, in the daemon's (sorted) order."""
        self.check_open("items")
        return Operation("items", self._items(prefix))

    def _items(self, prefix: str) -> Generator[bytes, bytes, dict[str, CmapValue]]:
        out: dict[str, CmapValue] = {}

        def fetch(entry: IterEntry) -> Generator[bytes, bytes, None]:
            # ITER_NEXT's length is the room of one GET; a value that grew since
            # answers INVALID_PARAM and is measured again.  The stats map names
            # its strings with length 0 (docs/cmap.md §5.8): those are measured first.
            room = entry.value_len
            try:
                out[entry.key] = yield from self._get(
                    entry.key, encode_request(GetRequest(entry.key, room)), not room, room,
                )
            except NotExistError:
                return  # deleted since ITER_NEXT named it
            except InvalidParamError:
                out[entry.key] = yield from self._get(
                    entry.key, encode_request(GetRequest(entry.key, 0)), True
                )

        yield from self._walk(prefix, fetch)
        return out

    def entries(self, prefix: str = "") -> Operation[list[IterEntry]]:
        """Every key under ``prefix`` with its type and length, no values (one
        ITER_NEXT per key, finalized also after an error)."""
        self.check_open("entries")
        return Operation("entries", self._entries(prefix))

    def _entries(self, prefix: str) -> Generator[bytes, bytes, list[IterEntry]]:
        out: list[IterEntry] = []
        yield from self._walk(prefix, out.append)
        return out

    def _walk(
        self,
        prefix: str,
        visit: Callable[[IterEntry], Generator[bytes, bytes, None] | None],
    ) -> Generator[bytes, bytes, None]:
        """ITER_INIT, ``visit`` each key ITER_NEXT names (a generator it returns
        makes exchanges of its own), ITER_FINALIZE: also after an error."""
        handle = _expect(
            (yield encode_request(IterInitRequest(prefix))), IterInitResponse, "ITER_INIT"
        ).iter_handle
        finalize = encode_request(IterFinalizeRequest(handle))
        try:
            while (entry := _iter_entry((yield encode_request(IterNextRequest(handle))))):
                exchanges = visit(entry)
                if exchanges is not None:
                    yield from exchanges
        except CsError:
            # The daemon keeps an iterator until it is finalized: do that, then raise.
            # (After a protocol error the connection is not trusted with more requests.)
            with contextlib.suppress(CsError):
                _expect((yield finalize), IterFinalizeResponse, "ITER_FINALIZE")
            raise
        _expect((yield finalize), IterFinalizeResponse, "ITER_FINALIZE")

    # -- tracking --------------------------------------------------------------

    def track_add(
        self, key: str, track_type: CmapTrack | int, user: object = None
    ) -> Operation[Tracker]:
        """TRACK_ADD: watch ``key`` (or every key under it with CmapTrack.PREFIX;
        "" with PREFIX watches all).  ``user`` comes back in each CmapChange."""
        self.check_open("track_add")
        inst = next(self._inst_handles)
        request = encode_request(TrackAddRequest(key, track_type, inst))

        def steps() -> Generator[bytes, bytes, Tracker]:
            resp = _expect((yield request), TrackAddResponse, "TRACK_ADD")
            kind = CmapTrack(track_type) if track_type >= 0 else track_type
            tracker = Tracker(resp.track_handle, key, kind, user)
            self._trackers[inst] = tracker
            return tracker

        return Operation("track_add", steps())

    def track_delete(self, tracker: Tracker | int) -> Operation[None]:
        """TRACK_DELETE: events of this tracker still queued are dropped from now on."""
        self.check_open("track_delete")
        handle = tracker.track_handle if isinstance(tracker, Tracker) else tracker
        request = encode_request(TrackDeleteRequest(handle))

        def steps() -> Generator[bytes, bytes, None]:
            resp = _expect((yield request), TrackDeleteResponse, "TRACK_DELETE")
            self._trackers.pop(resp.track_inst_handle, None)

        return Operation("track_delete", steps())

    # -- events ----------------------------------------------------------------

    def handle_event(self, data: bytes) -> CmapChange | None:
        """Decode one event: a CmapChange, or None for a deleted tracker's leftovers.
        LibraryError (the event is consumed) for an id cmap does not define."""
        self.check_open("dispatch")
        note = decode_notification(data)
        if isinstance(note, UnknownNotification):
            raise LibraryError(
                f"dispatch: cmap has no notification id {note.id} "
                "(libcmap returns CS_ERR_LIBRARY here); the event was dropped"
            )
        assert isinstance(note, NotifyCallback)
        tracker = self._trackers.get(note.track_inst_handle)
        if tracker is None:
            self.dropped += 1
            return None
        return CmapChange(tracker, note.key, note.event, note.new_value, note.old_value)

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<CmapCore {state} map={self.map!r} trackers={len(self._trackers)}>"


class CmapProperties:
    """The cmap session's own properties and event rule, the same on both front ends."""

    _cmap: CmapCore

    @property
    def map(self) -> CmapMap | int:
        """The map this session reads."""
        return self._cmap.map

    @property
    def trackers(self) -> tuple[Tracker, ...]:
        """The trackers in place."""
        return self._cmap.trackers

    def _leftover_consumed(self, dropped_before: int, change: CmapChange | None) -> bool:
        """Whether a receive that gave no change only consumed a deleted tracker's
        leftover (so the front end looks for the next event): ``dropped_before``
        is :attr:`CmapCore.dropped` as it was before that receive."""
        return change is None and self._cmap.dropped != dropped_before and not self._cmap.closed

    def _describe(self) -> str:
        return f"{self._cmap.state.value} map={self._cmap.map!r}"


def _iter_entry(data: bytes) -> IterEntry | None:
    """An ITER_NEXT answer; None for the end (CS_ERR_NO_SECTIONS, docs/cmap.md §3.3)."""
    try:
        resp = _expect(data, IterNextResponse, "ITER_NEXT")
    except NoSectionsError:
        return None
    return IterEntry(resp.key, resp.value_type, resp.value_len)


@slotted
class CmapCallbacks(Generic[S]):
    """The user's callback for changes, called as ``fn(session, change)``."""

    notify: Callable[[S, CmapChange], object] | None = None

    def call(self, session: S, change: CmapChange) -> bool:
        if self.notify is None:
            return False
        self.notify(session, change)
        return True



def make_value(value: CmapValue | int | float | str | bytes,
               value_type: CmapValueType | int | None) -> CmapValue:
    """The CmapValue a ``set`` call means: ``value`` as it is, or a plain Python
    value with its type (a str is STRING and bytes BINARY without one; a number
    needs its type, since cmap has eight integer widths and two float ones)."""
    if isinstance(value, CmapValue):
        if value_type is not None and value_type != value.type:
            raise InvalidParamError(
                f"set: a {value.type!r} CmapValue given with value_type {value_type!r}"
            )
        return value
    if value_type is None:
        if isinstance(value, str):
            return CmapValue.string(value)
        if isinstance(value, bytes | bytearray | memoryview):
            return CmapValue.binary(bytes(value))
        raise InvalidParamError(
            f"set: {value!r} needs a value_type (CmapValueType.UINT32, DOUBLE, ...)"
        )
    try:
        kind: CmapValueType | int = CmapValueType(value_type)
    except ValueError:
        kind = value_type
    return CmapValue(kind, value)


def check_type(value: CmapValue, value_type: CmapValueType | int | None, key: str) -> CmapValue:
    """``value`` if it has ``value_type`` (or none was asked); else InvalidParamError,
    as libcmap's typed getters answer (CS_ERR_INVALID_PARAM)."""
    if value_type is not None and value.type != value_type:
        raise InvalidParamError(f"get {key}: the value is {value.type!r}, not {value_type!r}")
    return value
