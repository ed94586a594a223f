"""corosync's cmap service, as a libqb service handler for an :class:`IpcServer`.

It serves two :class:`~pyquorum.fake.cmap_store.CmapStore`\\ s, the default
map and the stats map, as corosync 3.1.7's ``exec/cmap.c`` serves icmap and
the stats map (docs/cmap.md §3 and §5):

* every request gets its own answer id (SET_CURRENT_MAP's is 10); bytes
  that are no cmap request, or an unknown id, get the generic 24-byte
  answer with id 0 and CS_ERR_INVALID_PARAM (docs/cmap.md §3.6), which are also the
  bytes of a SET refused for a bad value (docs/cmap.md §5.4);
* GET answers 40 + the room asked for, the value only when it fits
  (docs/cmap.md §3.1); SET, DELETE and ADJUST_INT refuse read-only keys with
  CS_ERR_ACCESS and follow icmap's rules (docs/cmap.md §5.4, §5.5);
* iterators are live and per connection (docs/cmap.md §3.3, §5.1), handles are
  ``(check << 32) | index`` as libqb's handle databases make them (docs/cmap.md §5.6);
* trackers see every change of their map, whoever made it: another
  client's SET, or the story's :meth:`CmapStore.apply` (docs/cmap.md §5.7), in the
  order the daemon's trie calls them; the stats map tracks as corosync's
  stats map does (docs/cmap.md §5.8).

Every method runs on the server's loop thread.
"""

from __future__ import annotations

import logging
import random
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

from pyquorum.errors import CsErrorCode, RemoteProtocolError
from pyquorum.fake._bound import BoundToServer
from pyquorum.fake.cmap_store import CmapStore, KeyChange
from pyquorum.ipc.server.connection import ServerConnection
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
    Request,
    Response,
    SetCurrentMapRequest,
    SetCurrentMapResponse,
    SetRequest,
    SetResponse,
    TrackAddRequest,
    TrackAddResponse,
    TrackDeleteRequest,
    TrackDeleteResponse,
    decode_request,
    encode_notification,
    encode_response,
)
from pyquorum.messages.constants import CmapMap, CmapTrack, CmapValueType

__all__ = ["MAX_VALUE_LEN", "CmapClient", "CmapService"]

log = logging.getLogger("pyquorum.fake")

_OK = CsErrorCode.OK
_INVALID = CsErrorCode.ERR_INVALID_PARAM
_NO_MEMORY = CsErrorCode.ERR_NO_MEMORY
_BAD_HANDLE = CsErrorCode.ERR_BAD_HANDLE
_BUSY = CsErrorCode.ERR_BUSY
_ACCESS = CsErrorCode.ERR_ACCESS
_NOT_EXIST = CsErrorCode.ERR_NOT_EXIST
_NAME_TOO_LONG = CsErrorCode.ERR_NAME_TOO_LONG
_NOT_SUPPORTED = CsErrorCode.ERR_NOT_SUPPORTED
_NO_SECTIONS = CsErrorCode.ERR_NO_SECTIONS

#: icmap's longest value (ICMAP_MAX_VALUE_LEN, docs/cmap.md §5.4).
MAX_VALUE_LEN = 16 * 1024
#: icmap's shortest and longest new key (ICMAP_KEYNAME_MINLEN/MAXLEN).
_KEY_MIN, _KEY_MAX = 3, 255
_KEY_CHARS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:"
)
_ALL_TRACK = int(CmapTrack.ADD | CmapTrack.DELETE | CmapTrack.MODIFY | CmapTrack.PREFIX)
#: The stats map's writable names, and its clear commands (docs/cmap.md §5.8).
_STATS_CLEAR = "stats.clear."
_STATS_CLEARS = ("stats.clear.knet", "stats.clear.ipc", "stats.clear.totem",
                 "stats.clear.schedmiss", "stats.clear.all")
#: Stats keys whose additions and removals trackers never hear of (docs/cmap.md §5.8).
_STATS_SCHEDMISS = "stats.schedmiss"
#: SET: the value's length and type (docs/cmap.md §2.4).
_SET_VALUE_LEN = struct.Struct("<Q")
_SET_VALUE_AT = 296
_INT_WIDTHS = {
    CmapValueType.INT8: 8, CmapValueType.UINT8: 8, CmapValueType.INT16: 16,
    CmapValueType.UINT16: 16, CmapValueType.INT32: 32, CmapValueType.UINT32: 32,
    CmapValueType.INT64: 64, CmapValueType.UINT64: 64,
}
_SIGNED = {CmapValueType.INT8, CmapValueType.INT16, CmapValueType.INT32, CmapValueType.INT64}


class _Handles:
    """One libqb handle database (docs/cmap.md §5.6): the first free index,
    with a random check word in the high half."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._slots: list[int | None] = []

    def create(self) -> int:
        check = self._rng.getrandbits(31)
        if check in (0, 0xFFFFFFFF):
            check = 0xFFFFFFFE
        try:
            index = self._slots.index(None)
        except ValueError:
            index = len(self._slots)
            self._slots.append(None)
        handle = (check << 32) | index
        self._slots[index] = handle
        return handle

    def valid(self, handle: int) -> bool:
        index = handle & 0xFFFFFFFF
        return index < len(self._slots) and self._slots[index] == handle

    def destroy(self, handle: int) -> None:
        if self.valid(handle):
            self._slots[handle & 0xFFFFFFFF] = None


@dataclass(slots=True)
class _Iterator:
    prefix: str
    last: str | None = None
    done: bool = False


@dataclass(slots=True, eq=False)
class _Tracker:
    conn: ServerConnection
    handle: int
    key: str | None  # None: the whole map (a TRACK_ADD with an empty key)
    track_type: int
    inst: int
    seq: int
    stats: bool
    #: The stats map's MODIFY trackers compare against the value seen last.
    last_raw: bytes | None = None


@dataclass(slots=True)
class CmapClient:
    """The cmap service's per-connection data (corosync's ``cmap_conn_info``)."""

    map: CmapMap = CmapMap.DEFAULT
    iterators: dict[int, _Iterator] = field(default_factory=dict)
    trackers: dict[int, _Tracker] = field(default_factory=dict)
    iter_handles: _Handles | None = None
    track_handles: _Handles | None = None


class CmapService(BoundToServer):
    """Serves ``main`` (the default map) and ``stats`` (the stats map; an empty
    one if None).  Bind it to a server with :meth:`bind` before starting it.

    ``seed`` makes the handles' check words reproducible.  The stores may
    be changed at any time on the loop thread (:meth:`CmapStore.apply`):
    every tracker of every client hears of it.
    """

    def __init__(self, main: CmapStore, stats: CmapStore | None = None, *, seed: int = 0) -> None:
        self.main = main
        self.stats = stats if stats is not None else CmapStore()
        self.clients: dict[int, ServerConnection] = {}
        self.requests_handled = 0
        self._rng = random.Random(seed)
        self._trackers: list[_Tracker] = []
        self._seq = 0
        self.main.add_listener(self._main_changed)
        self.stats.add_listener(self._stats_changed)

    def close(self) -> None:
        """Stop listening to the stores (they may outlive the service)."""
        self.main.remove_listener(self._main_changed)
        self.stats.remove_listener(self._stats_changed)

    # -- ServiceHandler ---------------------------------------------------------------------

    def connected(self, conn: ServerConnection) -> None:
        conn.data = CmapClient(iter_handles=_Handles(self._rng), track_handles=_Handles(self._rng))
        self.clients[conn.id] = conn

    def disconnected(self, conn: ServerConnection) -> None:
        self.clients.pop(conn.id, None)
        client = _client(conn)
        client.iterators.clear()
        for tracker in client.trackers.values():
            self._trackers.remove(tracker)
        client.trackers.clear()

    def request(self, conn: ServerConnection, data: bytes) -> None:
        if conn.closed:
            return
        self.requests_handled += 1
        try:
            request = decode_request(data)
        except RemoteProtocolError as exc:
            # The generic answer: id 0 (SET's), 24 bytes, CS_ERR_INVALID_PARAM.
            log.info("answering an undecodable cmap request with the generic error: %s", exc)
            self.respond(conn, SetResponse(_INVALID))
            return
        self.respond(conn, self.answer(conn, request, data))

    def respond(self, conn: ServerConnection, response: Response | bytes) -> None:
        """Send the answer to the connection's oldest request (every answer goes through here)."""
        conn.send_response(response if isinstance(response, bytes) else encode_response(response))

    # -- requests ------------------------------------------------------------------------

    def answer(self, conn: ServerConnection, request: Request, data: bytes) -> Response | bytes:
        """The answer to one decoded request (``data`` is its bytes), after
        sending the notifications it causes."""
        client = _client(conn)
        stats = client.map == CmapMap.STATS
        store = self.stats if stats else self.main
        if isinstance(request, GetRequest):
            return self._get(conn, store, request, stats)
        if isinstance(request, SetRequest):
            return SetResponse(self._set(store, request, data, stats))
        if isinstance(request, DeleteRequest):
            return DeleteResponse(self._delete(store, request.key, stats))
        if isinstance(request, AdjustIntRequest):
            return AdjustIntResponse(self._adjust(store, request, stats))
        if isinstance(request, IterInitRequest):
            assert client.iter_handles is not None
            handle = client.iter_handles.create()
            client.iterators[handle] = _Iterator(request.prefix)
            return IterInitResponse(_OK, handle)
        if isinstance(request, IterNextRequest):
            return self._iter_next(client, store, request.iter_handle, stats)
        if isinstance(request, IterFinalizeRequest):
            assert client.iter_handles is not None
            if client.iterators.pop(request.iter_handle, None) is None:
                return IterFinalizeResponse(_BAD_HANDLE)
            client.iter_handles.destroy(request.iter_handle)
            return IterFinalizeResponse(_OK)
        if isinstance(request, TrackAddRequest):
            return self._track_add(conn, client, request, stats)
        if isinstance(request, TrackDeleteRequest):
            return self._track_delete(client, request.track_handle)
        if isinstance(request, SetCurrentMapRequest):
            return SetCurrentMapResponse(self._set_current_map(client, int(request.map)))
        return SetResponse(_INVALID)  # UnknownRequest: the generic answer (docs/cmap.md §3.6)

    def _get(
        self, conn: ServerConnection, store: CmapStore, request: GetRequest, stats: bool
    ) -> Response | bytes:
        room = request.value_len
        if room > conn.max_msg_size - 40:
            # corosync's malloc of the answer would succeed and libqb refuse to
            # send it: the client would wait forever.  Answer as a failed malloc.
            return GetResponse(_NO_MEMORY, 0, 0, None, 0)
        value, raw = store.get(request.key), store.raw(request.key)
        if value is None or raw is None:
            return GetResponse(_NOT_EXIST, 0, 0, None, 0)
        if room == 0 or len(raw) <= room:
            # room 0 is a probe: length and type only (docs/cmap.md §3.1)
            return GetResponse(_OK, value.type, len(raw), value if len(raw) <= room else None, room)
        if not stats:
            return GetResponse(_INVALID, 0, 0, None, 0)  # too small a room (docs/cmap.md §3.1)
        # The stats map copies the value whatever the room (docs/cmap.md §5.8).
        answer = bytearray(encode_response(GetResponse(_OK, value.type, len(raw), None, room)))
        answer[40:] = raw[:room]
        return bytes(answer)

    def _set(self, store: CmapStore, request: SetRequest, data: bytes, stats: bool) -> int:
        key = request.key
        if stats:
            if not key.startswith(_STATS_CLEAR):
                return _ACCESS
            return _OK if key.startswith(_STATS_CLEARS) else _NOT_SUPPORTED
        if store.is_read_only(key):
            return _ACCESS
        (value_len,) = _SET_VALUE_LEN.unpack_from(data, 280)
        if value_len > MAX_VALUE_LEN:
            return _INVALID
        if _known_type(request.value.type) is None and value_len:
            return _INVALID  # a type icmap does not know has length 0 (docs/cmap.md §5.4)
        if request.value.type == CmapValueType.STRING:
            # icmap takes strlen(value) + 1 bytes; a NUL before the last byte is refused.
            nul = data.find(b"\0", _SET_VALUE_AT, _SET_VALUE_AT + value_len)
            if 0 <= nul < _SET_VALUE_AT + value_len - 1:
                return _INVALID
        if key not in store and not _valid_new_key(key):
            return _NAME_TOO_LONG
        store.set(key, request.value)
        return _OK

    def _delete(self, store: CmapStore, key: str, stats: bool) -> int:
        if stats:
            return _NOT_SUPPORTED if key.startswith(_STATS_CLEAR) else _ACCESS
        if store.is_read_only(key):
            return _ACCESS
        return _OK if store.delete(key) is not None else _NOT_EXIST

    def _adjust(self, store: CmapStore, request: AdjustIntRequest, stats: bool) -> int:
        key = request.key
        if stats:
            return _NOT_SUPPORTED if key.startswith(_STATS_CLEAR) else _ACCESS
        if store.is_read_only(key):
            return _ACCESS
        value = store.get(key)
        if value is None:
            return _NOT_EXIST
        kind = _known_type(value.type)
        if kind is None or kind not in _INT_WIDTHS or not isinstance(value.value, int):
            return _INVALID
        bits = _INT_WIDTHS[kind]
        adjusted = (value.value + request.step) % (1 << bits)  # icmap adds in unsigned
        if kind in _SIGNED and adjusted >= 1 << (bits - 1):
            adjusted -= 1 << bits
        store.set(key, CmapValue(kind, adjusted))
        return _OK

    def _iter_next(
        self, client: CmapClient, store: CmapStore, handle: int, stats: bool
    ) -> IterNextResponse:
        iterator = client.iterators.get(handle)
        if iterator is None:
            return IterNextResponse(_BAD_HANDLE, "", 0, 0)
        key = None if iterator.done else store.next_key(iterator.prefix, iterator.last)
        raw = store.raw(key) if key is not None else None
        value = store.get(key) if key is not None else None
        if key is None or raw is None or value is None:
            iterator.done = True
            return IterNextResponse(_NO_SECTIONS, "", 0, 0)
        iterator.last = key
        length = len(raw)
        if stats and value.type in (CmapValueType.STRING, CmapValueType.BINARY):
            length = 0  # the stats map sizes strings only when read (docs/cmap.md §5.8)
        return IterNextResponse(_OK, key, length, value.type)

    def _track_add(
        self, conn: ServerConnection, client: CmapClient, request: TrackAddRequest, stats: bool
    ) -> TrackAddResponse:
        track_type = int(request.track_type)
        if stats:
            prefix = track_type & CmapTrack.PREFIX
            both = CmapTrack.ADD | CmapTrack.DELETE
            if prefix and track_type & both != both:
                return TrackAddResponse(_NOT_SUPPORTED, 0)
        elif track_type & ~_ALL_TRACK:
            return TrackAddResponse(_INVALID, 0)
        assert client.track_handles is not None
        handle = client.track_handles.create()
        key = request.key or None
        self._seq += 1
        tracker = _Tracker(conn, handle, key, track_type, request.track_inst_handle, self._seq,
                           stats)
        if stats and key is not None:
            tracker.last_raw = self.stats.raw(key)
        client.trackers[handle] = tracker
        self._trackers.append(tracker)
        return TrackAddResponse(_OK, handle)

    def _track_delete(self, client: CmapClient, handle: int) -> TrackDeleteResponse:
        tracker = client.trackers.pop(handle, None)
        if tracker is None:
            return TrackDeleteResponse(_BAD_HANDLE, 0)
        assert client.track_handles is not None
        client.track_handles.destroy(handle)
        self._trackers.remove(tracker)
        return TrackDeleteResponse(_OK, tracker.inst)

    def _set_current_map(self, client: CmapClient, requested: int) -> int:
        if client.iterators or client.trackers:
            return _BUSY
        if requested not in (CmapMap.DEFAULT, CmapMap.STATS):
            return _NOT_EXIST
        client.map = CmapMap(requested)
        return _OK

    # -- notifications ------------------------------------------------------------------

    def _main_changed(self, _store: CmapStore, change: KeyChange) -> None:
        for tracker in _trie_order(
            (t for t in self._trackers if not t.stats), change.key, int(change.event)
        ):
            self._notify(tracker, change.key, int(change.event), change.new, change.old)

    def _stats_changed(self, _store: CmapStore, change: KeyChange) -> None:
        stats = [t for t in self._trackers if t.stats]
        if change.event == CmapTrack.MODIFY:
            # Value changes: every tracker of that very key, whatever its bits,
            # newest first, with the new value on both sides (docs/cmap.md §5.8).
            raw = self.stats.raw(change.key)
            for tracker in sorted(stats, key=lambda t: -t.seq):
                if tracker.key != change.key or tracker.track_type & CmapTrack.PREFIX:
                    continue
                if tracker.last_raw != raw:
                    tracker.last_raw = raw
                    self._notify(tracker, change.key, int(CmapTrack.MODIFY), change.new,
                                 change.new)
            return
        if change.key.startswith(_STATS_SCHEDMISS):
            return
        value = change.new if change.event == CmapTrack.ADD else change.old
        for tracker in _trie_order(stats, change.key, int(change.event)):
            self._notify(tracker, change.key, int(change.event), value, value)

    def _notify(
        self,
        tracker: _Tracker,
        key: str,
        event: int,
        new: CmapValue | None,
        old: CmapValue | None,
    ) -> None:
        if not tracker.conn.closed:
            self.send(tracker.conn, NotifyCallback(tracker.inst, key, event, new, old))

    def send(self, conn: ServerConnection, note: NotifyCallback) -> None:
        """Queue one notification (every event of the service goes through here)."""
        conn.send_event(encode_notification(note))


def _trie_order(trackers: Iterable[_Tracker], key: str, event: int) -> list[_Tracker]:
    """The trackers a change of ``key`` calls, in the order the daemon's trie
    calls them (docs/cmap.md §5.7): the tracked names that are ``key`` or a
    prefix of it, longest first, the whole-map trackers last; at one name the
    exact trackers newest first, then the prefix trackers oldest first (at the
    whole map: newest first)."""
    groups: dict[str | None, list[_Tracker]] = {}
    for tracker in trackers:
        if not tracker.track_type & event:
            continue
        prefix = bool(tracker.track_type & CmapTrack.PREFIX)
        if tracker.key is None:
            if not prefix:
                continue
        elif not (tracker.key == key or (prefix and key.startswith(tracker.key))):
            continue
        groups.setdefault(tracker.key, []).append(tracker)
    out: list[_Tracker] = []
    for name in sorted(groups, key=lambda n: -1 if n is None else len(n), reverse=True):
        members = groups[name]
        if name is None:
            out.extend(sorted(members, key=lambda t: -t.seq))
            continue
        exact = [t for t in members if not t.track_type & CmapTrack.PREFIX]
        prefixed = [t for t in members if t.track_type & CmapTrack.PREFIX]
        out.extend(sorted(exact, key=lambda t: -t.seq))
        out.extend(sorted(prefixed, key=lambda t: t.seq))
    return out


def _valid_new_key(key: str) -> bool:
    return _KEY_MIN <= len(key.encode("utf-8", "surrogateescape")) <= _KEY_MAX and all(
        c in _KEY_CHARS for c in key
    )


def _known_type(kind: CmapValueType | int) -> CmapValueType | None:
    try:
        return CmapValueType(int(kind))
    except ValueError:
        return None


def _client(conn: ServerConnection) -> CmapClient:
    data = conn.data
    if not isinstance(data, CmapClient):
        raise RuntimeError(f"connection {conn.id} has no cmap state (connected() was not called)")
    return data
