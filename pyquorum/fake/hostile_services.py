"""Hostile votequorum and cmap servers: any service handler, its messages mangled on the way out.

:class:`HostileService` wraps a :class:`~pyquorum.ipc.server.connection.ServiceHandler`
(the fake's votequorum or cmap service, or a test's own) and rewrites the
bytes it sends with ``conn.send_response`` / ``conn.send_event``, as one
:class:`ServiceHostility` says.  The wrapped handler is unchanged and unaware:
it gets a stand-in for each connection whose two send methods pass through
the mangling and whose every other attribute is the real connection's.  So
the cases work over whatever votequorum or cmap service is wrapped, and a
client meets the bad bytes at a known call:

* **response** cases mangle every response (the first call fails);
* **event** cases mangle every event (or every event of the one kind they
  name; others pass unchanged), met by the first dispatch.

Each case breaks one thing docs/trust-boundary.md §11 lists: a size that
disagrees with the bytes or with the id, an id that answers another call or
none, a count or a value length beyond the message, a value type that is no
type or does not fit its bytes, a key length over the limit, an event id
nobody defines.  Offsets come from the schemas of
:mod:`pyquorum.messages._votequorum_schema` and
:mod:`pyquorum.messages._cmap_schema` (docs/votequorum.md §2,
docs/cmap.md §2).
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable
from typing import Any, cast

from pyquorum.errors import CsErrorCode
from pyquorum.ipc.server.connection import ServerConnection, ServiceHandler
from pyquorum.ipc.server.listener import IpcServer
from pyquorum.messages._cmap_schema import GET_RESPONSE_HEAD, NOTIFY_CALLBACK_HEAD
from pyquorum.messages._votequorum_schema import (
    NODELIST_NOTIFICATION_HEAD,
    QUORUM_NOTIFICATION_HEAD,
)
from pyquorum.messages.constants import (
    RESPONSE_HEADER_SIZE,
    CmapResponseId,
    CmapValueType,
    VotequorumResponseId,
)

__all__ = ["HostileService", "ServiceHostility"]

_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_SIZE_AT = 8  # qb_ipc_response_header.size
_U32_MAX = 2**32 - 1
_U64_MAX = 2**64 - 1
_CMAP_KEY_MAX = 0xFFFF  # mar_name_t length is a u16; the limit is 255 (docs/cmap.md §2.2)

Mangle = Callable[[bytes], bytes | None]


def _ident(data: bytes) -> int:
    return int(_I32.unpack_from(data)[0]) if len(data) >= 4 else -1


def _put(data: bytes, offset: int, packer: struct.Struct, value: int) -> bytes:
    out = bytearray(data)
    packer.pack_into(out, offset, value)
    return bytes(out)


def _sized(data: bytes) -> bytes:
    """``data`` with its header's ``size`` made to agree with its length again."""
    return _put(data, _SIZE_AT, _I32, len(data))


def _at(schema: Any, name: str) -> int:
    offset: int = schema.fields[name][0]
    return offset


# -- the transforms: each returns the mangled bytes, or None to pass them unchanged


def _short(data: bytes) -> bytes:
    return data[:-8]  # size still says the full length


def _long(data: bytes) -> bytes:
    return data + bytes(8)  # size still says the original length


def _shrunk(data: bytes) -> bytes:
    return _sized(data[:-8]) if len(data) > RESPONSE_HEADER_SIZE else _sized(data[:16])


def _grown(data: bytes) -> bytes:
    return _sized(data + bytes(8))


def _unknown_response_id(data: bytes) -> bytes:
    return _put(data, 0, _I32, 99)


def _other_call(data: bytes) -> bytes:
    """A well-formed header-only CS_OK answer with id 0: votequorum's STATUS, cmap's
    SET answer; the answer to some other call than the one made."""
    return struct.pack("<i4xi4xi4x", 0, RESPONSE_HEADER_SIZE, int(CsErrorCode.OK))


def _unknown_event_id(data: bytes) -> bytes:
    return _put(data, 0, _I32, 42)


def _only(ident: int, min_size: int, fn: Mangle) -> Mangle:
    """``fn`` for messages of id ``ident`` at least ``min_size`` long; others pass."""
    def mangle(data: bytes) -> bytes | None:
        if _ident(data) != ident or len(data) < min_size:
            return None
        return fn(data)
    return mangle


_VQ_QUORUM = int(VotequorumResponseId.QUORUM_NOTIFICATION)
_VQ_NODELIST = int(VotequorumResponseId.NODELIST_NOTIFICATION)
_CMAP_GET = int(CmapResponseId.GET)
_CMAP_NOTIFY = int(CmapResponseId.NOTIFY_CALLBACK)

_GET_LEN = _at(GET_RESPONSE_HEAD, "value_len")
_GET_TYPE = _at(GET_RESPONSE_HEAD, "type")
_NOTIFY_KEY_LEN = _at(NOTIFY_CALLBACK_HEAD, "key_length")
_NOTIFY_NEW_TYPE = _at(NOTIFY_CALLBACK_HEAD, "new_type")
_NOTIFY_NEW_LEN = _at(NOTIFY_CALLBACK_HEAD, "new_len")


def _type_too_narrow(data: bytes, offset: int) -> bytes:
    """The value's type byte made INT16 (2 bytes), or INT32 for a 2-byte value:
    a type whose width the value's length does not have."""
    narrower = CmapValueType.INT16 if data[offset] != CmapValueType.INT16 else CmapValueType.INT32
    out = bytearray(data)
    out[offset] = int(narrower)
    return bytes(out)


def _set_byte(offset: int, value: int) -> Callable[[bytes], bytes]:
    def fn(data: bytes) -> bytes:
        out = bytearray(data)
        out[offset] = value
        return bytes(out)
    return fn


class ServiceHostility(enum.Enum):
    """One way to break a votequorum or cmap message; ``.value`` is its name.

    :attr:`direction` says whether responses or events are mangled,
    :attr:`service` which service it is meant for (None: both).
    """

    # every response (both services)
    RESPONSE_SHORT = "response-short"  # 8 bytes cut, size still the full length
    RESPONSE_LONG = "response-long"  # 8 bytes added, size still the original length
    RESPONSE_SHRUNK = "response-shrunk"  # 8 bytes cut, size agrees: a size its id never has
    RESPONSE_GROWN = "response-grown"  # 8 bytes added, size agrees
    RESPONSE_UNKNOWN_ID = "response-unknown-id"  # id 99
    RESPONSE_OTHER_CALL = "response-other-call"  # a 24-byte id-0 CS_OK answer (another call's)
    # every event (both services)
    EVENT_SHORT = "event-short"  # 8 bytes cut, size still the full length
    EVENT_LONG = "event-long"  # 8 bytes added, size still the original length
    EVENT_UNKNOWN_ID = "event-unknown-id"  # id 42
    # votequorum events
    VQ_QUORUM_COUNT_HUGE = "votequorum-quorum-count-huge"  # node_list_entries 2**32-1
    VQ_NODELIST_COUNT_HUGE = "votequorum-nodelist-count-huge"  # node_list_entries 2**32-1
    VQ_QUORUM_COUNT_PLUS_ONE = "votequorum-quorum-count-plus-one"  # one node past the end
    # cmap GET answers
    CMAP_GET_LEN_HUGE = "cmap-get-len-huge"  # value_len 2**64-1
    CMAP_GET_LEN_PLUS_ONE = "cmap-get-len-plus-one"  # value_len one past the bytes sent
    CMAP_GET_TYPE_ZERO = "cmap-get-type-zero"  # type 0: no cmap type
    CMAP_GET_TYPE_UNKNOWN = "cmap-get-type-unknown"  # type 99: a type pyquorum does not know
    CMAP_GET_TYPE_WIDTH = "cmap-get-type-width"  # an integer type the value's length is not
    # cmap NOTIFY_CALLBACK events
    CMAP_NOTIFY_LEN_HUGE = "cmap-notify-len-huge"  # new_len 2**64-1
    CMAP_NOTIFY_TYPE_ZERO = "cmap-notify-type-zero"  # new_type 0 with a value
    CMAP_NOTIFY_TYPE_WIDTH = "cmap-notify-type-width"  # new_type of another width
    CMAP_NOTIFY_KEY_LEN_HUGE = "cmap-notify-key-len-huge"  # key_length 65535

    @property
    def direction(self) -> str:
        """``"response"`` or ``"event"``: which of the service's messages are mangled."""
        return "response" if self in _RESPONSE_CASES else "event"

    @property
    def service(self) -> str | None:
        """``"votequorum"``, ``"cmap"``, or None for a case that fits both."""
        if self.name.startswith("VQ_"):
            return "votequorum"
        if self.name.startswith("CMAP_"):
            return "cmap"
        return None

    def mangle(self, data: bytes) -> bytes:
        """``data`` as this case sends it (unchanged when the case does not target it)."""
        out = _MANGLERS[self](data)
        return data if out is None else out


_RESPONSE_CASES = frozenset({
    ServiceHostility.RESPONSE_SHORT, ServiceHostility.RESPONSE_LONG,
    ServiceHostility.RESPONSE_SHRUNK, ServiceHostility.RESPONSE_GROWN,
    ServiceHostility.RESPONSE_UNKNOWN_ID, ServiceHostility.RESPONSE_OTHER_CALL,
    ServiceHostility.CMAP_GET_LEN_HUGE, ServiceHostility.CMAP_GET_LEN_PLUS_ONE,
    ServiceHostility.CMAP_GET_TYPE_ZERO, ServiceHostility.CMAP_GET_TYPE_UNKNOWN,
    ServiceHostility.CMAP_GET_TYPE_WIDTH,
})

_QUORUM_COUNT = _at(QUORUM_NOTIFICATION_HEAD, "node_list_entries")
_NODELIST_COUNT = _at(NODELIST_NOTIFICATION_HEAD, "node_list_entries")


def _count_plus_one(data: bytes) -> bytes:
    return _put(data, _QUORUM_COUNT, _U32, _U32.unpack_from(data, _QUORUM_COUNT)[0] + 1)


def _get_len_plus_one(data: bytes) -> bytes:
    """value_len one more than the room the answer has (the bytes after the head)."""
    return _put(data, _GET_LEN, _U64, len(data) - GET_RESPONSE_HEAD.size + 1)


_MANGLERS: dict[ServiceHostility, Mangle] = {
    ServiceHostility.RESPONSE_SHORT: _short,
    ServiceHostility.RESPONSE_LONG: _long,
    ServiceHostility.RESPONSE_SHRUNK: _shrunk,
    ServiceHostility.RESPONSE_GROWN: _grown,
    ServiceHostility.RESPONSE_UNKNOWN_ID: _unknown_response_id,
    ServiceHostility.RESPONSE_OTHER_CALL: _other_call,
    ServiceHostility.EVENT_SHORT: _short,
    ServiceHostility.EVENT_LONG: _long,
    ServiceHostility.EVENT_UNKNOWN_ID: _unknown_event_id,
    ServiceHostility.VQ_QUORUM_COUNT_HUGE: _only(
        _VQ_QUORUM, QUORUM_NOTIFICATION_HEAD.size,
        lambda d: _put(d, _QUORUM_COUNT, _U32, _U32_MAX)),
    ServiceHostility.VQ_NODELIST_COUNT_HUGE: _only(
        _VQ_NODELIST, NODELIST_NOTIFICATION_HEAD.size,
        lambda d: _put(d, _NODELIST_COUNT, _U32, _U32_MAX)),
    ServiceHostility.VQ_QUORUM_COUNT_PLUS_ONE: _only(
        _VQ_QUORUM, QUORUM_NOTIFICATION_HEAD.size, _count_plus_one),
    ServiceHostility.CMAP_GET_LEN_HUGE: _only(
        _CMAP_GET, GET_RESPONSE_HEAD.size, lambda d: _put(d, _GET_LEN, _U64, _U64_MAX)),
    ServiceHostility.CMAP_GET_LEN_PLUS_ONE: _only(
        _CMAP_GET, GET_RESPONSE_HEAD.size, _get_len_plus_one),
    ServiceHostility.CMAP_GET_TYPE_ZERO: _only(
        _CMAP_GET, GET_RESPONSE_HEAD.size, _set_byte(_GET_TYPE, 0)),
    ServiceHostility.CMAP_GET_TYPE_UNKNOWN: _only(
        _CMAP_GET, GET_RESPONSE_HEAD.size, _set_byte(_GET_TYPE, 99)),
    ServiceHostility.CMAP_GET_TYPE_WIDTH: _only(
        _CMAP_GET, GET_RESPONSE_HEAD.size, lambda d: _type_too_narrow(d, _GET_TYPE)),
    ServiceHostility.CMAP_NOTIFY_LEN_HUGE: _only(
        _CMAP_NOTIFY, NOTIFY_CALLBACK_HEAD.size,
        lambda d: _put(d, _NOTIFY_NEW_LEN, _U64, _U64_MAX)),
    ServiceHostility.CMAP_NOTIFY_TYPE_ZERO: _only(
        _CMAP_NOTIFY, NOTIFY_CALLBACK_HEAD.size, _set_byte(_NOTIFY_NEW_TYPE, 0)),
    ServiceHostility.CMAP_NOTIFY_TYPE_WIDTH: _only(
        _CMAP_NOTIFY, NOTIFY_CALLBACK_HEAD.size,
        lambda d: _type_too_narrow(d, _NOTIFY_NEW_TYPE)),
    ServiceHostility.CMAP_NOTIFY_KEY_LEN_HUGE: _only(
        _CMAP_NOTIFY, NOTIFY_CALLBACK_HEAD.size,
        lambda d: _put(d, _NOTIFY_KEY_LEN, struct.Struct("<H"), _CMAP_KEY_MAX)),
}


class _Mangling:
    """The connection the wrapped handler sees: the real one, but what it sends is
    mangled first.  Attribute reads and writes (``data``, ``reading``...) go to
    the real connection."""

    __slots__ = ("_case", "_conn")

    def __init__(self, conn: ServerConnection, case: ServiceHostility) -> None:
        object.__setattr__(self, "_conn", conn)
        object.__setattr__(self, "_case", case)

    def send_response(self, data: bytes) -> None:
        if self._case.direction == "response":
            data = self._case.mangle(bytes(data))
        self._conn.send_response(data)

    def send_event(self, data: bytes) -> None:
        if self._case.direction == "event":
            data = self._case.mangle(bytes(data))
        self._conn.send_event(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    def __setattr__(self, name: str, value: object) -> None:
        setattr(self._conn, name, value)


class HostileService:
    """``inner`` served with ``case`` applied to what it sends; a ServiceHandler itself.

    ``bind`` is passed on to ``inner`` when it has one.
    """

    def __init__(self, inner: ServiceHandler, case: ServiceHostility) -> None:
        self.inner = inner
        self.case = case
        self._views: dict[int, ServerConnection] = {}

    def bind(self, server: IpcServer) -> None:
        bind = getattr(self.inner, "bind", None)
        if callable(bind):
            bind(server)

    def _view(self, conn: ServerConnection) -> ServerConnection:
        view = self._views.get(conn.id)
        if view is None:
            view = self._views[conn.id] = cast(ServerConnection, _Mangling(conn, self.case))
        return view

    def connected(self, conn: ServerConnection) -> None:
        self.inner.connected(self._view(conn))

    def request(self, conn: ServerConnection, data: bytes) -> None:
        self.inner.request(self._view(conn), data)

    def disconnected(self, conn: ServerConnection) -> None:
        view = self._views.pop(conn.id, None)
        self.inner.disconnected(view if view is not None else conn)
