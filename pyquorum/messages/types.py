"""Decoded messages: frozen, slotted dataclasses, one per wire message.

These are what ``messages/`` hands out and takes in; no ``construct``
object ever leaves the package.  The notification classes double as the
typed events a session delivers, so they carry the names a user reads
(``members``, ``joined``, ``left``) rather than the C field names; each
docstring names the C struct it mirrors.

Error fields hold a :class:`~pyquorum.errors.CsErrorCode` when the value is
known and a plain ``int`` otherwise (a newer corosync may add codes).
"""

from __future__ import annotations

from pyquorum._frozen import frozen
from pyquorum.messages.constants import Model, QuorumType, Track

__all__ = [
    "ConnectionRequest",
    "ConnectionResponse",
    "ErrorResponse",
    "GetQuorateRequest",
    "GetQuorateResponse",
    "GetTypeRequest",
    "GetTypeResponse",
    "Message",
    "ModelGetTypeRequest",
    "ModelGetTypeResponse",
    "NodelistNotification",
    "Notification",
    "QuorumNotification",
    "QuorumNotificationV0",
    "Request",
    "RequestHeader",
    "Response",
    "ResponseHeader",
    "RingId",
    "TrackStartRequest",
    "TrackStartResponse",
    "TrackStopRequest",
    "TrackStopResponse",
    "UnknownNotification",
    "UnknownRequest",
]


@frozen
class RingId:
    """``mar_quorum_ring_id_t``: u32 nodeid @0, u64 seq @8 (16 bytes).

    corosync-quorumtool prints it as ``nodeid.seq`` in hex.
    """

    nodeid: int
    seq: int

    def __str__(self) -> str:
        return f"{self.nodeid:x}.{self.seq:x}"


class Message:
    """Base of every decoded message (no fields of its own)."""

    __slots__ = ()


# ---------------------------------------------------------------- libqb layer


@frozen
class ConnectionRequest(Message):
    """``struct qb_ipc_connection_request`` (24 bytes): hdr.id=-1, hdr.size=24,
    u32 max_msg_size @16."""

    max_msg_size: int


@frozen
class ConnectionResponse(Message):
    """``struct qb_ipc_connection_response`` (12328 bytes).

    ``error`` is 0 or a *negative errno* (not a cs_error_t).  The three
    paths are PATH_MAX NUL-padded fields; their meaning depends on
    ``connection_type`` (SHM: ring base names; socket: control file, socket
    base name, empty).  ``connection`` is the server's opaque pointer.
    """

    error: int
    connection_type: int
    max_msg_size: int
    connection: int
    request: str
    response: str
    event: str


@frozen
class RequestHeader(Message):
    """``struct qb_ipc_request_header`` (16 bytes): i32 id @0, i32 size @8."""

    id: int
    size: int


@frozen
class ResponseHeader(Message):
    """``struct qb_ipc_response_header`` (24 bytes): i32 id @0, i32 size @8,
    i32 error @16 (cs_error_t)."""

    id: int
    size: int
    error: int


# ---------------------------------------------------------------- requests


class Request(Message):
    """A quorum service request (client → server)."""

    __slots__ = ()


@frozen
class GetQuorateRequest(Request):
    """``struct req_lib_quorum_getquorate``: header only (16 bytes), id 0."""


@frozen
class TrackStartRequest(Request):
    """``struct req_lib_quorum_trackstart`` (24 bytes), id 1: u32 track_flags @16."""

    flags: Track


@frozen
class TrackStopRequest(Request):
    """``struct req_lib_quorum_trackstop``: header only (16 bytes), id 2."""


@frozen
class GetTypeRequest(Request):
    """``struct req_lib_quorum_gettype``: header only (16 bytes), id 3."""


@frozen
class ModelGetTypeRequest(Request):
    """``struct req_lib_quorum_model_gettype`` (24 bytes), id 4: u32 model @16.

    ``model`` is a plain ``int`` when it is not a known model: a server must be
    able to decode the invalid models corosync answers with CS_ERR_INVALID_PARAM.
    """

    model: Model | int


@frozen
class UnknownRequest(Request):
    """A request whose id the quorum service does not know (a server sees it)."""

    id: int
    size: int
    body: bytes


# ---------------------------------------------------------------- responses


class Response(Message):
    """A quorum service response (server → client); ``error`` is a cs_error_t."""

    __slots__ = ()
    error: int


@frozen
class GetQuorateResponse(Response):
    """``struct res_lib_quorum_getquorate`` (32 bytes), id 0: u32 quorate @24."""

    error: int
    quorate: bool


@frozen
class TrackStartResponse(Response):
    """``struct qb_ipc_response_header`` alone (24 bytes), id 1."""

    error: int


@frozen
class TrackStopResponse(Response):
    """``struct qb_ipc_response_header`` alone (24 bytes), id 2; always CS_OK from corosync."""

    error: int


@frozen
class GetTypeResponse(Response):
    """``struct res_lib_quorum_gettype`` (32 bytes), id 4: u32 quorum_type @24."""

    error: int
    quorum_type: QuorumType | int


@frozen
class ModelGetTypeResponse(Response):
    """``struct res_lib_quorum_model_gettype`` (32 bytes), id 5: u32 quorum_type @24."""

    error: int
    quorum_type: QuorumType | int


@frozen
class ErrorResponse(Response):
    """The generic reply to an unknown id or unusable size: a bare 24-byte
    ``qb_ipc_response_header`` with id 0 and (from corosync) error 7."""

    error: int


# ---------------------------------------------------------------- notifications


class Notification(Message):
    """A message on the event channel; also the typed event a session yields."""

    __slots__ = ()


@frozen
class QuorumNotificationV0(Notification):
    """``struct res_lib_quorum_notification``, id 3, 48 + 4n bytes: i32 quorate @24,
    u64 ring_seq @32, u32 view_list_entries @40, u32 view_list[n] @44."""

    quorate: bool
    ring_seq: int
    members: tuple[int, ...]


@frozen
class QuorumNotification(Notification):
    """``struct res_lib_quorum_v1_quorum_notification``, id 6, 56 + 4n bytes:
    i32 quorate @24, ring_id @32 (nodeid @32, seq @40), u32 view_list_entries @48,
    u32 view_list[n] @52."""

    quorate: bool
    ring_id: RingId
    members: tuple[int, ...]


@frozen
class NodelistNotification(Notification):
    """``struct res_lib_quorum_v1_nodelist_notification``, id 7, 64 + 4(m+j+l) bytes:
    ring_id @24, u32 member/joined/left_list_entries @40/@48/@56, then the three
    u32 lists back to back from @60."""

    ring_id: RingId
    members: tuple[int, ...]
    joined: tuple[int, ...]
    left: tuple[int, ...]


@frozen
class UnknownNotification(Notification):
    """An event whose id this version of pyquorum does not know (forward compatibility)."""

    id: int
    error: int
    data: bytes
