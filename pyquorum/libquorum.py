"""libquorum's C API, one to one: for porting C code and for differential tests.

Every function returns a ``cs_error_t`` (:class:`~pyquorum.errors.CsErrorCode`)
instead of raising, and out-parameters come back in a tuple after it::

    err, handle, quorum_type = quorum_model_initialize(QUORUM_MODEL_V1, data, None)
    err, quorate = quorum_getquorate(handle)

Handles are opaque ints, never reused: an unknown or finalized handle gives
``CS_ERR_BAD_HANDLE``, as does a second ``quorum_finalize``.  Each handle is
a :class:`~pyquorum.QuorumSession`; timeouts are infinite, as in
libquorum (a dead daemon still surfaces as ``CS_ERR_LIBRARY``).

Callbacks take the C arguments, the list lengths included::

    quorum_notify_fn(handle, quorate, ring_seq, view_list_entries, view_list)      # V0
    quorum_notify_fn(handle, quorate, ring_id, member_list_entries, member_list)   # V1
    nodelist_notify_fn(handle, ring_id, member_list_entries, member_list,
                       joined_list_entries, joined_list, left_list_entries, left_list)

with ``ring_id`` a :class:`~pyquorum.messages.types.RingId` (``.nodeid``,
``.seq``) and lists as Python lists of ints.  Exceptions raised by a
callback propagate out of ``quorum_dispatch`` (C callbacks cannot raise;
hiding them would hide bugs).

Where this module differs from C, on purpose:

* ``quorum_model_initialize`` whose MODEL_GETTYPE/GETTYPE reply carries an
  error returns that error with handle 0: C returns the error *and* keeps
  the handle allocated, which no caller finalizes.
* The model data's callbacks are read by attribute name, whatever its
  ``model`` field says (C copies the struct blindly; the man page says the
  field need not be set).
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeGuard

from pyquorum import QuorumSession
from pyquorum.errors import (
    CsError,
    CsErrorCode,
    LocalProtocolError,
    PyquorumError,
    RemoteProtocolError,
    TryAgainError,
    cs_error_from_errno,
)
from pyquorum.messages.constants import DispatchMode, Model, QuorumType, Track
from pyquorum.messages.types import (
    NodelistNotification,
    QuorumNotification,
    QuorumNotificationV0,
    RingId,
)

__all__ = [
    "CS_DISPATCH_ALL",
    "CS_DISPATCH_BLOCKING",
    "CS_DISPATCH_ONE",
    "CS_DISPATCH_ONE_NONBLOCKING",
    "CS_ERR_ACCESS",
    "CS_ERR_BAD_HANDLE",
    "CS_ERR_EXIST",
    "CS_ERR_INVALID_PARAM",
    "CS_ERR_LIBRARY",
    "CS_ERR_MESSAGE_ERROR",
    "CS_ERR_NOT_SUPPORTED",
    "CS_ERR_NO_MEMORY",
    "CS_ERR_TIMEOUT",
    "CS_ERR_TRY_AGAIN",
    "CS_OK",
    "CS_TRACK_CHANGES",
    "CS_TRACK_CHANGES_ONLY",
    "CS_TRACK_CURRENT",
    "QUORUM_FREE",
    "QUORUM_MODEL_V0",
    "QUORUM_MODEL_V1",
    "QUORUM_SET",
    "CsErrorCode",
    "QuorumCallbacks",
    "QuorumModelData",
    "QuorumModelV0Data",
    "QuorumModelV1Data",
    "RingId",
    "quorum_callbacks_t",
    "quorum_context_get",
    "quorum_context_set",
    "quorum_dispatch",
    "quorum_fd_get",
    "quorum_finalize",
    "quorum_getquorate",
    "quorum_initialize",
    "quorum_model_initialize",
    "quorum_model_v0_data_t",
    "quorum_model_v1_data_t",
    "quorum_trackstart",
    "quorum_trackstop",
]

# -- the C constants (quorum.h, corotypes.h) ------------------------------------

QUORUM_MODEL_V0: Final = Model.V0
QUORUM_MODEL_V1: Final = Model.V1
QUORUM_FREE: Final = QuorumType.FREE
QUORUM_SET: Final = QuorumType.SET
CS_TRACK_CURRENT: Final = Track.CURRENT
CS_TRACK_CHANGES: Final = Track.CHANGES
CS_TRACK_CHANGES_ONLY: Final = Track.CHANGES_ONLY
CS_DISPATCH_ONE: Final = DispatchMode.ONE
CS_DISPATCH_ALL: Final = DispatchMode.ALL
CS_DISPATCH_BLOCKING: Final = DispatchMode.BLOCKING
CS_DISPATCH_ONE_NONBLOCKING: Final = DispatchMode.ONE_NONBLOCKING
# The codes this API returns; the rest are in CsErrorCode.
CS_OK: Final = CsErrorCode.OK
CS_ERR_LIBRARY: Final = CsErrorCode.ERR_LIBRARY
CS_ERR_TIMEOUT: Final = CsErrorCode.ERR_TIMEOUT
CS_ERR_TRY_AGAIN: Final = CsErrorCode.ERR_TRY_AGAIN
CS_ERR_INVALID_PARAM: Final = CsErrorCode.ERR_INVALID_PARAM
CS_ERR_NO_MEMORY: Final = CsErrorCode.ERR_NO_MEMORY
CS_ERR_BAD_HANDLE: Final = CsErrorCode.ERR_BAD_HANDLE
CS_ERR_ACCESS: Final = CsErrorCode.ERR_ACCESS
CS_ERR_EXIST: Final = CsErrorCode.ERR_EXIST
CS_ERR_NOT_SUPPORTED: Final = CsErrorCode.ERR_NOT_SUPPORTED
CS_ERR_MESSAGE_ERROR: Final = CsErrorCode.ERR_MESSAGE_ERROR

# -- the C structs ----------------------------------------------------------------

#: quorum_notification_fn_t: (handle, quorate, ring_seq, view_list_entries, view_list)
QuorumNotificationFn = Callable[[int, int, int, int, list[int]], object]
#: quorum_v1_quorum_notification_fn_t: (handle, quorate, ring_id, member_list_entries, member_list)
QuorumV1QuorumNotificationFn = Callable[[int, int, RingId, int, list[int]], object]
#: quorum_v1_nodelist_notification_fn_t: (handle, ring_id, m, members, j, joined, l, left)
QuorumV1NodelistNotificationFn = Callable[
    [int, RingId, int, list[int], int, list[int], int, list[int]], object
]


@dataclass(slots=True)
class QuorumCallbacks:
    """``quorum_callbacks_t`` (for :func:`quorum_initialize`)."""

    quorum_notify_fn: QuorumNotificationFn | None = None


@dataclass(slots=True)
class QuorumModelV0Data:
    """``quorum_model_v0_data_t``."""

    model: int = Model.V0
    quorum_notify_fn: QuorumNotificationFn | None = None


@dataclass(slots=True)
class QuorumModelV1Data:
    """``quorum_model_v1_data_t``."""

    model: int = Model.V1
    quorum_notify_fn: QuorumV1QuorumNotificationFn | None = None
    nodelist_notify_fn: QuorumV1NodelistNotificationFn | None = None


QuorumModelData = QuorumModelV0Data | QuorumModelV1Data

# The C spellings, for code ported line by line.
quorum_callbacks_t = QuorumCallbacks
quorum_model_v0_data_t = QuorumModelV0Data
quorum_model_v1_data_t = QuorumModelV1Data

# -- the handle table -------------------------------------------------------------


@dataclass(slots=True)
class _Instance:
    session: QuorumSession | None = None
    finalized: bool = False


_table_lock = threading.Lock()
_instances: dict[int, _Instance] = {}
# Handles look nothing like small ints (so a handle passed as an fd, or the
# reverse, fails loudly) and are never reused (so a stale one is always bad).
_HANDLE_BASE: Final = (secrets.randbits(31) | 1) << 32
_handle_counter = itertools.count(1)


def _is_int(value: object) -> TypeGuard[int]:
    """C's integer arguments: a Python int, and not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def _lookup(handle: object) -> _Instance | None:
    if not _is_int(handle):
        return None
    with _table_lock:
        inst = _instances.get(handle)
    if inst is None or inst.session is None or inst.finalized:
        return None
    return inst


def _code(exc: BaseException) -> CsErrorCode:
    """The cs_error_t libquorum would return for a failure pyquorum raised."""
    if isinstance(exc, CsError):
        return exc.code
    if isinstance(exc, LocalProtocolError):
        return CsErrorCode.ERR_INVALID_PARAM
    if isinstance(exc, RemoteProtocolError):
        return CsErrorCode.ERR_MESSAGE_ERROR  # libqb's EBADMSG: bytes it could not frame
    if isinstance(exc, OSError) and exc.errno:
        return cs_error_from_errno(exc.errno)
    return CsErrorCode.ERR_LIBRARY


_FAILURES = (PyquorumError, OSError)

# -- the API ------------------------------------------------------------------------


def quorum_initialize(
    callbacks: QuorumCallbacks | None,
) -> tuple[CsErrorCode, int, QuorumType | int]:
    """Connect as model V0 (GETTYPE).  Returns (cs_error, handle, quorum_type)."""
    data = QuorumModelV0Data(
        quorum_notify_fn=callbacks.quorum_notify_fn if callbacks is not None else None
    )
    return quorum_model_initialize(Model.V0, data, None)


def quorum_model_initialize(
    model: Model | int,
    model_data: QuorumModelData | None,
    context: object,
) -> tuple[CsErrorCode, int, QuorumType | int]:
    """Connect with ``model`` (V0 or V1).  Returns (cs_error, handle, quorum_type);
    handle and quorum_type are 0 on failure."""
    if not _is_int(model) or model not in (Model.V0, Model.V1):
        return CsErrorCode.ERR_INVALID_PARAM, 0, 0
    handle = _HANDLE_BASE + next(_handle_counter)
    inst = _Instance()
    quorum_fn = getattr(model_data, "quorum_notify_fn", None)
    nodelist_fn = getattr(model_data, "nodelist_notify_fn", None)
    with _table_lock:
        _instances[handle] = inst
    try:
        session = QuorumSession(
            Model(model),
            quorum_notify=_quorum_adapter(handle, quorum_fn) if quorum_fn else None,
            nodelist_notify=(
                _nodelist_adapter(handle, nodelist_fn)
                if nodelist_fn and model == Model.V1
                else None
            ),
            context=context,
        )
    except _FAILURES as exc:
        with _table_lock:
            del _instances[handle]
        return _code(exc), 0, 0
    except BaseException:
        with _table_lock:
            del _instances[handle]
        raise
    inst.session = session
    return CsErrorCode.OK, handle, session.quorum_type


def _quorum_adapter(
    handle: int, fn: Callable[..., object]
) -> Callable[[QuorumSession, QuorumNotification | QuorumNotificationV0], None]:
    def notify(_: QuorumSession, ev: QuorumNotification | QuorumNotificationV0) -> None:
        members = list(ev.members)
        if isinstance(ev, QuorumNotificationV0):
            fn(handle, int(ev.quorate), ev.ring_seq, len(members), members)
        else:
            fn(handle, int(ev.quorate), ev.ring_id, len(members), members)

    return notify


def _nodelist_adapter(
    handle: int, fn: QuorumV1NodelistNotificationFn
) -> Callable[[QuorumSession, NodelistNotification], None]:
    def notify(_: QuorumSession, ev: NodelistNotification) -> None:
        m, j, left = list(ev.members), list(ev.joined), list(ev.left)
        fn(handle, ev.ring_id, len(m), m, len(j), j, len(left), left)

    return notify


def quorum_finalize(handle: int) -> CsErrorCode:
    """Close the connection; the handle is bad from then on (a second call included)."""
    if not _is_int(handle):
        return CsErrorCode.ERR_BAD_HANDLE
    with _table_lock:
        inst = _instances.get(handle)
        if inst is None or inst.session is None or inst.finalized:
            return CsErrorCode.ERR_BAD_HANDLE
        inst.finalized = True
        del _instances[handle]
    inst.session.close()
    return CsErrorCode.OK


def quorum_getquorate(handle: int) -> tuple[CsErrorCode, int]:
    """Returns (cs_error, quorate) with quorate 1 or 0."""
    inst = _lookup(handle)
    if inst is None or inst.session is None:
        return CsErrorCode.ERR_BAD_HANDLE, 0
    try:
        return CsErrorCode.OK, int(inst.session.getquorate(timeout=None))
    except _FAILURES as exc:
        return _code(exc), 0


def quorum_trackstart(handle: int, flags: int) -> CsErrorCode:
    """CS_ERR_EXIST when already tracking (the snapshot is queued all the same)."""
    inst = _lookup(handle)
    if inst is None or inst.session is None:
        return CsErrorCode.ERR_BAD_HANDLE
    try:
        inst.session.trackstart(flags, timeout=None)
    except _FAILURES as exc:
        return _code(exc)
    return CsErrorCode.OK


def quorum_trackstop(handle: int) -> CsErrorCode:
    """Always CS_OK from corosync, tracking or not."""
    inst = _lookup(handle)
    if inst is None or inst.session is None:
        return CsErrorCode.ERR_BAD_HANDLE
    try:
        inst.session.trackstop(timeout=None)
    except _FAILURES as exc:
        return _code(exc)
    return CsErrorCode.OK


def quorum_fd_get(handle: int) -> tuple[CsErrorCode, int]:
    """Returns (cs_error, fd) with fd -1 on failure."""
    inst = _lookup(handle)
    if inst is None or inst.session is None:
        return CsErrorCode.ERR_BAD_HANDLE, -1
    try:
        return CsErrorCode.OK, inst.session.fileno()
    except _FAILURES as exc:
        return _code(exc), -1


def quorum_dispatch(handle: int, dispatch_types: DispatchMode | int) -> CsErrorCode:
    """Run callbacks as C does.  ONE_NONBLOCKING with nothing pending gives
    CS_ERR_TRY_AGAIN; a callback that finalizes the handle makes dispatch
    return CS_ERR_BAD_HANDLE (libquorum checks ``finalize`` after each callback)."""
    if not _is_int(dispatch_types) or dispatch_types not in DispatchMode.__members__.values():
        return CsErrorCode.ERR_INVALID_PARAM
    inst = _lookup(handle)
    if inst is None or inst.session is None:
        return CsErrorCode.ERR_BAD_HANDLE
    try:
        inst.session.dispatch(DispatchMode(dispatch_types), timeout=None)
    except TryAgainError:
        return CsErrorCode.ERR_TRY_AGAIN
    except _FAILURES as exc:
        if inst.finalized:
            return CsErrorCode.ERR_BAD_HANDLE
        return _code(exc)
    if inst.finalized:
        return CsErrorCode.ERR_BAD_HANDLE
    return CsErrorCode.OK


def quorum_context_set(handle: int, context: object) -> CsErrorCode:
    inst = _lookup(handle)
    if inst is None or inst.session is None:
        return CsErrorCode.ERR_BAD_HANDLE
    try:
        inst.session.context = context
    except _FAILURES as exc:
        return _code(exc)
    return CsErrorCode.OK


def quorum_context_get(handle: int) -> tuple[CsErrorCode, object]:
    """Returns (cs_error, context); context is None on failure."""
    inst = _lookup(handle)
    if inst is None or inst.session is None:
        return CsErrorCode.ERR_BAD_HANDLE, None
    try:
        return CsErrorCode.OK, inst.session.context
    except _FAILURES as exc:
        return _code(exc), None
