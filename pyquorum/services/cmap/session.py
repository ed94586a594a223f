"""The blocking cmap session: :class:`CmapSession`.

cmap's rules live in :mod:`pyquorum.services.cmap.core`, the blocking
machinery (connection, waits, dispatch, threads) in
:mod:`pyquorum.frontend.blocking`; this module adds the cmap calls and the
change callbacks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import cast

from pyquorum._deadline import Deadline
from pyquorum.frontend.blocking import BlockingSession, Connection
from pyquorum.frontend.core import ServiceCore
from pyquorum.messages.cmap import CmapValue
from pyquorum.messages.constants import (
    DEFAULT_MAX_MSG_SIZE,
    CmapMap,
    CmapTrack,
    CmapValueType,
)
from pyquorum.services.cmap.core import (
    CmapChange,
    CmapCore,
    CmapProperties,
    IterEntry,
    Tracker,
    check_type,
    make_value,
)
from pyquorum.timeouts import DEFAULT, Timeout

__all__ = ["CmapNotifyCallback", "CmapSession", "PlainValue"]

#: ``notify(session, change)``: a tracked key was added, modified or deleted.
CmapNotifyCallback = Callable[["CmapSession", CmapChange], object]

#: A value :meth:`CmapSession.set` takes besides a :class:`CmapValue`.
PlainValue = int | float | str | bytes

#: The service's libqb endpoint (docs/cmap.md §1.1).
SERVICE = "cmap"


class CmapSession(CmapProperties, BlockingSession[CmapChange]):
    """A connection to corosync's cmap service: libcmap's handle, as an object.

    ``map`` is the map the session reads: :attr:`CmapMap.DEFAULT
    <pyquorum.messages.constants.CmapMap>` (configuration and runtime keys)
    or ``CmapMap.STATS`` (``stats.*``, read-only: corosync answers writes
    AccessError there, and some trackers NotSupportedError; corosync 3.1.7
    was seen refusing those without ``CmapTrack.DELETE``).
    An unknown map is NotExistError from the constructor.

    Values are :class:`~pyquorum.messages.cmap.CmapValue` (``type`` and a
    Python ``value``: int, float, str without its NUL, bytes).  Changes to
    tracked keys reach the tracker's ``callback`` (given to
    :meth:`track_add`), else the session's ``notify``, from
    :meth:`dispatch` as ``fn(session, change)``, or come out of
    :meth:`events`; a :class:`CmapChange` has the tracker (its ``user``
    object), the key, the event (ADD, MODIFY, DELETE) and the new and old
    values.  Notifications still queued for a deleted tracker are dropped,
    as libcmap drops them.

    ``timeout`` (seconds, None = no limit) bounds the constructor and is the
    default of every request (each also takes ``timeout=``; a multi-step
    call such as :meth:`items` stays within it as a whole).  Errors are those
    of :mod:`pyquorum.errors`; ConnectionLost when the daemon goes away,
    BadHandleError after :meth:`finalize`.  Threads: see
    :mod:`pyquorum.frontend.blocking`.
    """

    def __init__(
        self,
        map: CmapMap | int = CmapMap.DEFAULT,
        *,
        notify: CmapNotifyCallback | None = None,
        context: object = None,
        timeout: float | None = None,
        service: str = SERVICE,
        max_msg_size: int = DEFAULT_MAX_MSG_SIZE,
        connection: Connection | None = None,
    ) -> None:
        self._notify = notify
        self._track_callbacks: dict[int, CmapNotifyCallback] = {}
        # The core reports a deleted tracker's leftovers as None; _receive
        # skips them, so the session's events are never None.
        self._cmap = CmapCore(map)
        super().__init__(
            cast("ServiceCore[CmapChange]", self._cmap),
            context=context,
            timeout=timeout,
            service=service,
            max_msg_size=max_msg_size,
            connection=connection,
        )

    # -- values ------------------------------------------------------------------

    def get(
        self,
        key: str,
        value_type: CmapValueType | int | None = None,
        *,
        room: int | None = None,
        timeout: Timeout = DEFAULT,
    ) -> CmapValue:
        """``key``'s value.  NotExistError when there is no such key.

        ``value_type``: the type you expect; another one is InvalidParamError,
        as with libcmap's typed getters.  ``room``: read with exactly that
        much room, as ``cmap_get`` with a buffer of that size does (a longer
        value is InvalidParamError); by default the length is asked first.
        """
        value = self._run(self._cmap.get(key, room), timeout)
        return check_type(value, value_type, key)

    def get_len(self, key: str, *, timeout: Timeout = DEFAULT) -> tuple[CmapValueType | int, int]:
        """``(type, length)`` of ``key``'s value without the value (a string's
        length counts its NUL)."""
        return self._run(self._cmap.probe(key), timeout)

    def set(
        self,
        key: str,
        value: CmapValue | PlainValue,
        value_type: CmapValueType | int | None = None,
        *,
        timeout: Timeout = DEFAULT,
    ) -> None:
        """Create or replace ``key``: ``set(k, CmapValue(CmapValueType.UINT32, 5))``,
        ``set(k, 5, CmapValueType.UINT32)``, ``set(k, "text")`` (STRING) or
        ``set(k, b"raw")`` (BINARY).  AccessError for a read-only key."""
        self._run(self._cmap.set(key, make_value(value, value_type)), timeout)

    def delete(self, key: str, *, timeout: Timeout = DEFAULT) -> None:
        """Delete ``key``; NotExistError when there is no such key."""
        self._run(self._cmap.delete(key), timeout)

    def inc(self, key: str, *, timeout: Timeout = DEFAULT) -> None:
        """Add 1 to an integer key (it wraps); InvalidParamError for other types."""
        self._run(self._cmap.inc(key), timeout)

    def dec(self, key: str, *, timeout: Timeout = DEFAULT) -> None:
        """Subtract 1 from an integer key (it wraps)."""
        self._run(self._cmap.dec(key), timeout)

    # -- iteration ---------------------------------------------------------------

    def items(
        self, prefix: str = "", *, timeout: Timeout = DEFAULT
    ) -> Iterator[tuple[str, CmapValue]]:
        """``(key, value)`` for every key under ``prefix`` ("" = all), in the
        daemon's sorted order, read as one call within ``timeout`` (a key
        deleted during the walk is left out)."""
        return iter(self._run(self._cmap.items(prefix), timeout).items())

    def keys(self, prefix: str = "", *, timeout: Timeout = DEFAULT) -> list[IterEntry]:
        """The keys under ``prefix`` with their types and lengths, no values."""
        return self._run(self._cmap.entries(prefix), timeout)

    def iter_init(self, prefix: str = "", *, timeout: Timeout = DEFAULT) -> int:
        """Open an iterator (``cmap_iter_init``); its handle.  Prefer :meth:`keys`."""
        return self._run(self._cmap.iter_init(prefix), timeout)

    def iter_next(self, iter_handle: int, *, timeout: Timeout = DEFAULT) -> IterEntry | None:
        """The iterator's next key, or None past the last one (again on every later
        call); BadHandleError for a finalized handle."""
        return self._run(self._cmap.iter_next(iter_handle), timeout)

    def iter_finalize(self, iter_handle: int, *, timeout: Timeout = DEFAULT) -> None:
        """Close an iterator (the daemon keeps it until then or disconnect)."""
        self._run(self._cmap.iter_finalize(iter_handle), timeout)

    # -- tracking ----------------------------------------------------------------

    def track_add(
        self,
        key: str,
        track_type: CmapTrack | int = CmapTrack.ADD | CmapTrack.MODIFY | CmapTrack.DELETE,
        callback: CmapNotifyCallback | None = None,
        user: object = None,
        *,
        timeout: Timeout = DEFAULT,
    ) -> Tracker:
        """Watch ``key``, or every key under it with ``CmapTrack.PREFIX`` ("" with
        PREFIX: all keys).  Changes go to ``callback`` (else the session's
        ``notify``) and carry ``user``.  Returns the tracker for
        :meth:`track_delete`.  NotSupportedError for a tracker the stats map refuses."""
        tracker = self._run(self._cmap.track_add(key, track_type, user), timeout)
        if callback is not None:
            self._track_callbacks[tracker.track_handle] = callback
        return tracker

    def track_delete(self, tracker: Tracker | int, *, timeout: Timeout = DEFAULT) -> None:
        """Stop a tracker; its changes still queued are dropped.  BadHandleError
        for one already deleted."""
        self._run(self._cmap.track_delete(tracker), timeout)
        handle = tracker.track_handle if isinstance(tracker, Tracker) else tracker
        self._track_callbacks.pop(handle, None)

    # -- events ------------------------------------------------------------------

    def _receive(self, timeout: float | None) -> CmapChange | None:
        deadline = Deadline(timeout)
        while True:
            dropped = self._cmap.dropped
            change = super()._receive(deadline.remaining())
            if not self._leftover_consumed(dropped, change):
                return change

    def _deliver(self, event: CmapChange) -> None:
        callback = self._track_callbacks.get(event.tracker.track_handle, self._notify)
        if callback is not None:
            callback(self, event)

    def __repr__(self) -> str:
        return f"<CmapSession {self._describe()}>"
