"""Numbers that appear on the wire (or in libquorum's API), as enums.

Sources: corosync ``include/corosync/ipc_quorum.h`` (message ids),
``include/corosync/quorum.h`` (models, track flags), ``corotypes.h``
(``cs_error_t``, dispatch flags) and libqb ``include/qb/qbipc_common.h`` /
``lib/ipc_int.h`` (libqb's own message ids and connection types).
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

from pyquorum.errors import CsErrorCode

__all__ = [
    "CONNECTION_REQUEST_SIZE",
    "CONNECTION_RESPONSE_SIZE",
    "CS_MAX_NAME_LENGTH",
    "DEFAULT_MAX_MSG_SIZE",
    "PATH_MAX",
    "REQUEST_HEADER_SIZE",
    "RESPONSE_HEADER_SIZE",
    "VOTEQUORUM_QDEVICE_MAX_NAME_LEN",
    "VOTEQUORUM_QDEVICE_NODEID",
    "CmapMap",
    "CmapRequestId",
    "CmapResponseId",
    "CmapTrack",
    "CmapValueType",
    "ConnectionType",
    "CsErrorCode",
    "DispatchMode",
    "IpcMessageId",
    "Model",
    "NodeState",
    "QuorumType",
    "RequestId",
    "ResponseId",
    "ServiceId",
    "Track",
    "VotequorumInfo",
    "VotequorumRequestId",
    "VotequorumResponseId",
]

#: libquorum's IPC_REQUEST_SIZE (8192 * 128): what it asks for as max_msg_size.
DEFAULT_MAX_MSG_SIZE = 1048576

#: sizeof(struct qb_ipc_connection_response): request/response/event paths of PATH_MAX.
CONNECTION_RESPONSE_SIZE = 12328

#: sizeof(struct qb_ipc_connection_request): a request header plus max_msg_size.
CONNECTION_REQUEST_SIZE = 24

#: sizeof(struct qb_ipc_request_header): i32 id and i32 size, each in an 8-byte slot.
REQUEST_HEADER_SIZE = 16

#: sizeof(struct qb_ipc_response_header): id, size and error, each in an 8-byte slot.
RESPONSE_HEADER_SIZE = 24

#: Linux PATH_MAX: the width of each path field of the connection response,
#: terminating NUL included (so a path holds at most 4095 bytes).
PATH_MAX = 4096


class IpcMessageId(IntEnum):
    """libqb's reserved message ids (``enum qb_ipc_msg_type``), negative by design."""

    AUTHENTICATE = -1
    NEW_MESSAGE = -2
    DISCONNECT = -3


class ConnectionType(IntEnum):
    """``enum qb_ipc_type`` as sent in the connection response's ``connection_type``."""

    SOCKET = 0
    SHM = 1
    POSIX_MQ = 2
    SYSV_MQ = 3
    NATIVE = 4


class RequestId(IntEnum):
    """``MESSAGE_REQ_QUORUM_*`` (ipc_quorum.h)."""

    GETQUORATE = 0
    TRACKSTART = 1
    TRACKSTOP = 2
    GETTYPE = 3
    MODEL_GETTYPE = 4


class ResponseId(IntEnum):
    """``MESSAGE_RES_QUORUM_*`` (ipc_quorum.h).

    Note the shift: GETTYPE (3) is answered with id 4 and MODEL_GETTYPE (4)
    with id 5, and the generic error reply reuses id 0 with size 24.
    """

    GETQUORATE = 0
    TRACKSTART = 1
    TRACKSTOP = 2
    NOTIFICATION = 3
    GETTYPE = 4
    MODEL_GETTYPE = 5
    V1_QUORUM_NOTIFICATION = 6
    V1_NODELIST_NOTIFICATION = 7


class Track(IntFlag):
    """``CS_TRACK_*`` flags for TRACKSTART; the server keeps only the low 8 bits."""

    CURRENT = 0x01
    CHANGES = 0x02
    CHANGES_ONLY = 0x04


class Model(IntEnum):
    """``quorum_model_t``.  ``AUTO`` is pyquorum's: try V1, fall back to V0.

    AUTO never goes on the wire; encoders reject it.
    """

    V0 = 0
    V1 = 1
    AUTO = -1


class QuorumType(IntEnum):
    """The ``quorum_type`` returned by GETTYPE/MODEL_GETTYPE (quorum.h)."""

    FREE = 0  # no quorum.provider: the node always reports quorate
    SET = 1  # a provider (votequorum, ykd) decides


class DispatchMode(IntEnum):
    """``cs_dispatch_flags_t``: library-side only, nothing on the wire."""

    ONE = 1
    ALL = 2
    BLOCKING = 3
    ONE_NONBLOCKING = 4


# ---------------------------------------------------------------- votequorum and cmap
# Sources: corosync ``include/corosync/corodefs.h`` (service ids),
# ``ipc_votequorum.h`` / ``votequorum.h`` and ``ipc_cmap.h`` / ``cmap.h``
# (v3.1.7); see docs/votequorum.md and docs/cmap.md.

#: ``CS_MAX_NAME_LENGTH``: the bytes of a ``mar_name_t`` value; a key holds at
#: most 255 of them, since libcmap refuses ``strlen(key) >= 256``.
CS_MAX_NAME_LENGTH = 256

#: ``VOTEQUORUM_QDEVICE_MAX_NAME_LEN``: width of getinfo's ``qdevice_name``.
VOTEQUORUM_QDEVICE_MAX_NAME_LEN = 255

#: The node id under which a registered quorum device appears in a quorum notification.
VOTEQUORUM_QDEVICE_NODEID = 0


class ServiceId(IntEnum):
    """corosync's service numbers (``corodefs.h``); libqb names them ``cmap``, ``cfg``..."""

    CMAP = 0
    CFG = 1
    QUORUM = 3
    VOTEQUORUM = 5


class VotequorumRequestId(IntEnum):
    """``MESSAGE_REQ_VOTEQUORUM_*``; 5-9 are the qdevice daemon's own calls."""

    GETINFO = 0
    SETEXPECTED = 1
    SETVOTES = 2
    TRACKSTART = 3
    TRACKSTOP = 4
    QDEVICE_REGISTER = 5
    QDEVICE_UNREGISTER = 6
    QDEVICE_UPDATE = 7
    QDEVICE_POLL = 8
    QDEVICE_MASTER_WINS = 9


class VotequorumResponseId(IntEnum):
    """``MESSAGE_RES_VOTEQUORUM_*``.  Every call but GETINFO is answered with STATUS;
    TRACKSTART (2) is defined but corosync 3.1 never sends it."""

    STATUS = 0
    GETINFO = 1
    TRACKSTART = 2
    QUORUM_NOTIFICATION = 3
    EXPECTEDVOTES_NOTIFICATION = 4
    NODELIST_NOTIFICATION = 5


class VotequorumInfo(IntFlag):
    """``VOTEQUORUM_INFO_*``: the ``flags`` of a getinfo answer."""

    TWONODE = 1
    QUORATE = 2
    WAIT_FOR_ALL = 4
    LAST_MAN_STANDING = 8
    AUTO_TIE_BREAKER = 16
    ALLOW_DOWNSCALE = 32
    QDEVICE_REGISTERED = 64
    QDEVICE_ALIVE = 128
    QDEVICE_CAST_VOTE = 256
    QDEVICE_MASTER_WINS = 512


class NodeState(IntEnum):
    """``VOTEQUORUM_NODESTATE_*``: a node's (or the qdevice's) state."""

    MEMBER = 1
    DEAD = 2
    LEAVING = 3


class CmapRequestId(IntEnum):
    """``MESSAGE_REQ_CMAP_*``."""

    SET = 0
    DELETE = 1
    GET = 2
    ADJUST_INT = 3
    ITER_INIT = 4
    ITER_NEXT = 5
    ITER_FINALIZE = 6
    TRACK_ADD = 7
    TRACK_DELETE = 8
    SET_CURRENT_MAP = 9


class CmapResponseId(IntEnum):
    """``MESSAGE_RES_CMAP_*``: the request's id, except SET_CURRENT_MAP (10); the
    NOTIFY_CALLBACK event takes 9."""

    SET = 0
    DELETE = 1
    GET = 2
    ADJUST_INT = 3
    ITER_INIT = 4
    ITER_NEXT = 5
    ITER_FINALIZE = 6
    TRACK_ADD = 7
    TRACK_DELETE = 8
    NOTIFY_CALLBACK = 9
    SET_CURRENT_MAP = 10


class CmapValueType(IntEnum):
    """``cmap_value_types_t``."""

    INT8 = 1
    UINT8 = 2
    INT16 = 3
    UINT16 = 4
    INT32 = 5
    UINT32 = 6
    INT64 = 7
    UINT64 = 8
    FLOAT = 9
    DOUBLE = 10
    STRING = 11
    BINARY = 12


class CmapTrack(IntFlag):
    """``CMAP_TRACK_*``: what TRACK_ADD watches, and a notification's ``event``."""

    DELETE = 1
    MODIFY = 2
    ADD = 4
    PREFIX = 8


class CmapMap(IntEnum):
    """``CMAP_MAP_*``: the map a cmap connection reads (SET_CURRENT_MAP)."""

    DEFAULT = 0
    STATS = 1
