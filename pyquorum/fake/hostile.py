"""A hostile quorum server: well-formed until one chosen moment, then bad bytes.

Each :class:`Hostility` breaks one thing a client must survive.  Everything
else is the ordinary :class:`~pyquorum.fake.service.QuorumService`, so a
client initializes normally and meets the bad bytes at a known call:

* **handshake** cases: the connection response itself;
* **response** cases: the answer to GETQUORATE (initialize and TRACKSTART
  work);
* **event** cases: the TRACKSTART snapshot (its response is a normal OK).

A correct client answers each with a ProtocolError or a lost connection
(an unknown *notification* id is libquorum's CS_ERR_LIBRARY): no crash, no
hang, no read outside the message.  Offsets patched below are those of
docs/protocol.md §6.4 (``member_list_entries`` / ``view_list_entries`` at 40).
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable

from pyquorum.errors import CsErrorCode
from pyquorum.fake import hostile_shared as shared
from pyquorum.fake.hostile_ipc import HostileConnection
from pyquorum.fake.script import Script
from pyquorum.fake.service import ClientState, QuorumService
from pyquorum.ipc.ring import chunk_words
from pyquorum.ipc.server.connection import ServerConnection
from pyquorum.messages.constants import ConnectionType, Model
from pyquorum.messages.libqb import encode_response_header
from pyquorum.messages.quorum import encode_notification, encode_response
from pyquorum.messages.types import (
    GetQuorateRequest,
    GetQuorateResponse,
    NodelistNotification,
    Notification,
    QuorumNotificationV0,
    Request,
    Response,
    UnknownNotification,
)

__all__ = ["HostileQuorumService", "Hostility"]

_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_BAD_MAGIC = 0x0BADF00D
#: Where the first list count sits in NODELIST (member_list_entries) and in
#: the V0 notification (view_list_entries).
_FIRST_COUNT_OFFSET = 40
_SHM = frozenset({ConnectionType.SHM})
_SOCKET = frozenset({ConnectionType.SOCKET})
_BOTH = frozenset({ConnectionType.SHM, ConnectionType.SOCKET})


class Hostility(enum.Enum):
    """One way to break the protocol; ``.value`` is its CLI/test name."""

    # the connection response
    BAD_HANDSHAKE_ID = "bad-handshake-id"  # id 7 instead of QB_IPC_MSG_AUTHENTICATE
    TRUNCATED_HANDSHAKE = "truncated-handshake"  # 100 of 12328 bytes, then hang up
    # the response to GETQUORATE
    BAD_MAGIC = "bad-magic"  # SHM: chunk magic is not A1A1A1A1
    CHUNK_PAST_RING = "chunk-past-ring"  # SHM: length word beyond the data area
    CHUNK_OVER_MAX_MSG = "chunk-over-max-msg"  # length > max_msg_size (socket: a datagram)
    CHUNK_PAST_WRITE_PT = "chunk-past-write-pt"  # SHM: length runs past what was written
    TRUNCATED_RESPONSE = "truncated-response"  # 20 of 32 bytes, size still 32
    UNKNOWN_RESPONSE_ID = "unknown-response-id"  # id 99
    DEAD_MID_RESPONSE = "dead-mid-response"  # half a chunk (SHM), then the daemon dies
    # the TRACKSTART snapshot
    BAD_MAGIC_EVENT = "bad-magic-event"  # SHM: event chunk with a bad magic
    DOORBELL_WITHOUT_EVENT = "doorbell-without-event"  # SHM: a byte, no chunk
    TRUNCATED_NOTIFICATION = "truncated-notification"  # 8 bytes short of its size
    COUNT_TOO_LARGE = "count-too-large"  # first list count 1000 in a short message
    UNKNOWN_NOTIFICATION_ID = "unknown-notification-id"  # id 42
    OVERSIZE_EVENT = "oversize-event"  # an event over max_msg_size
    # shared state and names (pyquorum.fake.hostile_shared), met by the session's
    # construction unless noted
    ERROR_INT32_MIN = "error-int32-min"  # connection response error = INT32_MIN
    ERROR_INT32_MAX = "error-int32-max"  # connection response error = INT32_MAX
    MAX_MSG_SIZE_OVER_INT32 = "max-msg-size-over-int32"  # granted 2**31
    NAME_ELSEWHERE = "name-elsewhere"  # the first file named is outside /dev/shm
    NAME_ESCAPING = "name-escaping"  # ... climbs out with ..
    NAME_SYMLINK = "name-symlink"  # ... is a symbolic link to the real file
    NAME_FIFO = "name-fifo"  # ... is a FIFO
    NAME_OTHER_UID = "name-other-uid"  # ... is a copy owned by uid 65534
    WORD_SIZE_HUGE = "word-size-huge"  # SHM: response ring word_size 2**32-1
    DATA_PATH_ELSEWHERE = "data-path-elsewhere"  # SHM: request ring data_path in /tmp
    REF_COUNT_MAX = "ref-count-max"  # SHM: request ring ref_count INT32_MAX
    REQUEST_SEM_MAX = "request-sem-max"  # SHM: request semaphore at SEM_VALUE_MAX
    CONTROL_SENT_MAX = "control-sent-max"  # socket: ctl[0].sent at INT32_MAX (GETQUORATE works)
    WRITE_PT_PAST_RING = "write-pt-past-ring"  # SHM: GETQUORATE's answer moves write_pt out
    CHUNK_LENGTH_U32_MAX = "chunk-length-u32-max"  # SHM: GETQUORATE's chunk length 2**32-1

    @property
    def transports(self) -> frozenset[ConnectionType]:
        """The transports this case exists in."""
        if self in _SHM_ONLY:
            return _SHM
        if self is Hostility.CONTROL_SENT_MAX:
            return _SOCKET
        return _BOTH

    @property
    def phase(self) -> str:
        """``"handshake"``, ``"response"`` or ``"event"``: where the client meets it.

        ``"handshake"`` is the session's construction (the handshake and the
        first request), ``"response"`` GETQUORATE, ``"event"`` the TRACKSTART
        snapshot.
        """
        if self in _HANDSHAKE_CASES:
            return "handshake"
        if self in _EVENT_CASES:
            return "event"
        return "response"

    def transform_handshake(self, raw: bytes) -> bytes:
        """What the server sends instead of the connection response ``raw``.

        The shared-state cases also corrupt the connection's files here: they
        exist by now, and the client has not opened them yet.
        """
        if self is Hostility.BAD_HANDSHAKE_ID:
            return _I32.pack(7) + raw[4:]
        if self is Hostility.TRUNCATED_HANDSHAKE:
            return raw[:100]
        transform = _SHARED_STATE.get(self)
        return raw if transform is None else transform(raw)


_SHM_ONLY = frozenset(
    {
        Hostility.WORD_SIZE_HUGE,
        Hostility.DATA_PATH_ELSEWHERE,
        Hostility.REF_COUNT_MAX,
        Hostility.REQUEST_SEM_MAX,
        Hostility.WRITE_PT_PAST_RING,
        Hostility.CHUNK_LENGTH_U32_MAX,
        Hostility.BAD_MAGIC,
        Hostility.CHUNK_PAST_RING,
        Hostility.CHUNK_PAST_WRITE_PT,
        Hostility.BAD_MAGIC_EVENT,
        Hostility.DOORBELL_WITHOUT_EVENT,
    }
)
_SHARED_STATE: dict[Hostility, Callable[[bytes], bytes]] = {
    Hostility.ERROR_INT32_MIN: shared.error_field(shared.INT32_MIN),
    Hostility.ERROR_INT32_MAX: shared.error_field(shared.INT32_MAX),
    Hostility.MAX_MSG_SIZE_OVER_INT32: shared.max_msg_size_field,
    Hostility.NAME_ELSEWHERE: shared.name_elsewhere,
    Hostility.NAME_ESCAPING: shared.name_escaping,
    Hostility.NAME_SYMLINK: shared.name_symlink,
    Hostility.NAME_FIFO: shared.name_fifo,
    Hostility.NAME_OTHER_UID: shared.name_other_uid,
    Hostility.WORD_SIZE_HUGE: shared.word_size_huge,
    Hostility.DATA_PATH_ELSEWHERE: shared.data_path_elsewhere,
    Hostility.REF_COUNT_MAX: shared.ref_count_max,
    Hostility.REQUEST_SEM_MAX: shared.request_sem_max,
    Hostility.CONTROL_SENT_MAX: shared.control_sent_max,
}
_HANDSHAKE_CASES = frozenset(
    {Hostility.BAD_HANDSHAKE_ID, Hostility.TRUNCATED_HANDSHAKE, *_SHARED_STATE}
) - {Hostility.CONTROL_SENT_MAX}
_EVENT_CASES = frozenset(
    {
        Hostility.BAD_MAGIC_EVENT,
        Hostility.DOORBELL_WITHOUT_EVENT,
        Hostility.TRUNCATED_NOTIFICATION,
        Hostility.COUNT_TOO_LARGE,
        Hostility.UNKNOWN_NOTIFICATION_ID,
        Hostility.OVERSIZE_EVENT,
    }
)


class HostileQuorumService(QuorumService):
    """The quorum service with one :class:`Hostility` (per connection, at most once)."""

    def __init__(self, script: Script, case: Hostility, **options: object) -> None:
        super().__init__(script, **options)  # type: ignore[arg-type]
        self.case = case

    # -- responses --------------------------------------------------------------------

    def answer(self, conn: ServerConnection, client: ClientState, request: Request) -> Response:
        response = super().answer(conn, client, request)
        if self.case.phase == "response" and isinstance(request, GetQuorateRequest):
            assert isinstance(response, GetQuorateResponse)
            self._bad_response(conn, encode_response(response))
            return _HANDLED
        return response

    def respond(self, conn: ServerConnection, response: Response) -> None:
        if response is not _HANDLED:
            super().respond(conn, response)

    def _bad_response(self, conn: ServerConnection, good: bytes) -> None:
        hostile = _hostile(conn)
        case = self.case
        if case is Hostility.TRUNCATED_RESPONSE:
            conn.send_response(good[:20])
        elif case is Hostility.UNKNOWN_RESPONSE_ID:
            conn.send_response(encode_response_header(99, 24, int(CsErrorCode.OK)))
        elif case is Hostility.DEAD_MID_RESPONSE:
            hostile.die_mid_response(good)
        elif case is Hostility.CHUNK_OVER_MAX_MSG:
            hostile.send_oversize("response", good)
        elif case is Hostility.BAD_MAGIC:
            hostile.forge_chunk("response", good, magic=_BAD_MAGIC)
        elif case is Hostility.CHUNK_PAST_RING:
            length = hostile.ring_words("response") * 4 + 64
            hostile.forge_chunk("response", b"", length=length, advance=2)
        elif case is Hostility.CHUNK_PAST_WRITE_PT:
            hostile.forge_chunk("response", good, length=64, advance=chunk_words(len(good)))
        elif case is Hostility.CHUNK_LENGTH_U32_MAX:
            hostile.forge_chunk("response", good, length=0xFFFFFFFF)
        elif case is Hostility.WRITE_PT_PAST_RING:
            hostile.place_write_pt("response", hostile.ring_words("response") + 5)
        elif case is Hostility.CONTROL_SENT_MAX:
            conn.send_response(good)  # the counter was set at the handshake

    # -- events -----------------------------------------------------------------------

    def snapshot(self, conn: ServerConnection, client: ClientState) -> None:
        if self.case.phase != "event":
            super().snapshot(conn, client)
            return
        state = self.state
        first: Notification = (
            NodelistNotification(state.ring_id, state.members, (), ())
            if client.model == Model.V1
            else QuorumNotificationV0(state.quorate, state.ring_id.seq, state.members)
        )
        good = encode_notification(first)
        case = self.case
        if case is Hostility.TRUNCATED_NOTIFICATION:
            conn.send_event(good[:-8])
        elif case is Hostility.COUNT_TOO_LARGE:
            bad = bytearray(good)
            _U32.pack_into(bad, _FIRST_COUNT_OFFSET, 1000)
            conn.send_event(bytes(bad))
        elif case is Hostility.UNKNOWN_NOTIFICATION_ID:
            conn.send_event(encode_notification(UnknownNotification(42, 1, bytes(8))))
        elif case is Hostility.OVERSIZE_EVENT:
            _hostile(conn).send_oversize("event", good)
        elif case is Hostility.BAD_MAGIC_EVENT:
            _hostile(conn).forge_chunk("event", good, magic=_BAD_MAGIC)
            _hostile(conn).ring_doorbell()
        elif case is Hostility.DOORBELL_WITHOUT_EVENT:
            _hostile(conn).ring_doorbell()


def _hostile(conn: ServerConnection) -> HostileConnection:
    """The connection's hostile side: only a HostileIpcServer makes such connections."""
    if not isinstance(conn, HostileConnection):
        raise TypeError(
            f"{type(conn).__name__} cannot misbehave: serve a HostileQuorumService "
            "from a HostileIpcServer (pyquorum.fake.make_server does)"
        )
    return conn


class _Handled(Response):
    """Marker: the hostile path already wrote (or withheld) the response."""

    __slots__ = ()
    error = 0


_HANDLED = _Handled()
