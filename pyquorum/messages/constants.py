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
    "DEFAULT_MAX_MSG_SIZE",
    "PATH_MAX",
    "REQUEST_HEADER_SIZE",
    "RESPONSE_HEADER_SIZE",
    "ConnectionType",
    "CsErrorCode",
    "DispatchMode",
    "IpcMessageId",
    "Model",
    "QuorumType",
    "RequestId",
    "ResponseId",
    "Track",
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
