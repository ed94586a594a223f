"""Bytes <-> frozen dataclasses for libqb's handshake and the quorum service.

No I/O here: ``ipc/`` moves the bytes, the session decides what they mean.
Decoders raise only :class:`~pyquorum.errors.RemoteProtocolError`; encoders
raise only :class:`~pyquorum.errors.LocalProtocolError`.

Each name below is imported from its module the first time it is used, so
importing one submodule (``pyquorum.messages.constants``, say) does not
load the others nor ``construct``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyquorum.messages._codec import Buffer
    from pyquorum.messages.constants import (
        CONNECTION_REQUEST_SIZE,
        CONNECTION_RESPONSE_SIZE,
        DEFAULT_MAX_MSG_SIZE,
        PATH_MAX,
        REQUEST_HEADER_SIZE,
        RESPONSE_HEADER_SIZE,
        ConnectionType,
        CsErrorCode,
        DispatchMode,
        IpcMessageId,
        Model,
        QuorumType,
        RequestId,
        ResponseId,
        Track,
    )
    from pyquorum.messages.libqb import (
        decode_connection_request,
        decode_connection_response,
        decode_request_header,
        decode_response_header,
        encode_connection_request,
        encode_connection_response,
        encode_request_header,
        encode_response_header,
    )
    from pyquorum.messages.quorum import (
        RESPONSE_ID_FOR_REQUEST,
        decode_notification,
        decode_request,
        decode_response,
        encode_notification,
        encode_request,
        encode_response,
        request_id_of,
    )
    from pyquorum.messages.types import (
        ConnectionRequest,
        ConnectionResponse,
        ErrorResponse,
        GetQuorateRequest,
        GetQuorateResponse,
        GetTypeRequest,
        GetTypeResponse,
        Message,
        ModelGetTypeRequest,
        ModelGetTypeResponse,
        NodelistNotification,
        Notification,
        QuorumNotification,
        QuorumNotificationV0,
        Request,
        RequestHeader,
        Response,
        ResponseHeader,
        RingId,
        TrackStartRequest,
        TrackStartResponse,
        TrackStopRequest,
        TrackStopResponse,
        UnknownNotification,
        UnknownRequest,
    )

#: Public name → the module that defines it (imported on first use).
_LAZY: dict[str, str] = {
    "Buffer": "pyquorum.messages._codec",
    "CONNECTION_REQUEST_SIZE": "pyquorum.messages.constants",
    "CONNECTION_RESPONSE_SIZE": "pyquorum.messages.constants",
    "DEFAULT_MAX_MSG_SIZE": "pyquorum.messages.constants",
    "PATH_MAX": "pyquorum.messages.constants",
    "REQUEST_HEADER_SIZE": "pyquorum.messages.constants",
    "RESPONSE_HEADER_SIZE": "pyquorum.messages.constants",
    "ConnectionType": "pyquorum.messages.constants",
    "CsErrorCode": "pyquorum.messages.constants",
    "DispatchMode": "pyquorum.messages.constants",
    "IpcMessageId": "pyquorum.messages.constants",
    "Model": "pyquorum.messages.constants",
    "QuorumType": "pyquorum.messages.constants",
    "RequestId": "pyquorum.messages.constants",
    "ResponseId": "pyquorum.messages.constants",
    "Track": "pyquorum.messages.constants",
    "decode_connection_request": "pyquorum.messages.libqb",
    "decode_connection_response": "pyquorum.messages.libqb",
    "decode_request_header": "pyquorum.messages.libqb",
    "decode_response_header": "pyquorum.messages.libqb",
    "encode_connection_request": "pyquorum.messages.libqb",
    "encode_connection_response": "pyquorum.messages.libqb",
    "encode_request_header": "pyquorum.messages.libqb",
    "encode_response_header": "pyquorum.messages.libqb",
    "RESPONSE_ID_FOR_REQUEST": "pyquorum.messages.quorum",
    "decode_notification": "pyquorum.messages.quorum",
    "decode_request": "pyquorum.messages.quorum",
    "decode_response": "pyquorum.messages.quorum",
    "encode_notification": "pyquorum.messages.quorum",
    "encode_request": "pyquorum.messages.quorum",
    "encode_response": "pyquorum.messages.quorum",
    "request_id_of": "pyquorum.messages.quorum",
    "ConnectionRequest": "pyquorum.messages.types",
    "ConnectionResponse": "pyquorum.messages.types",
    "ErrorResponse": "pyquorum.messages.types",
    "GetQuorateRequest": "pyquorum.messages.types",
    "GetQuorateResponse": "pyquorum.messages.types",
    "GetTypeRequest": "pyquorum.messages.types",
    "GetTypeResponse": "pyquorum.messages.types",
    "Message": "pyquorum.messages.types",
    "ModelGetTypeRequest": "pyquorum.messages.types",
    "ModelGetTypeResponse": "pyquorum.messages.types",
    "NodelistNotification": "pyquorum.messages.types",
    "Notification": "pyquorum.messages.types",
    "QuorumNotification": "pyquorum.messages.types",
    "QuorumNotificationV0": "pyquorum.messages.types",
    "Request": "pyquorum.messages.types",
    "RequestHeader": "pyquorum.messages.types",
    "Response": "pyquorum.messages.types",
    "ResponseHeader": "pyquorum.messages.types",
    "RingId": "pyquorum.messages.types",
    "TrackStartRequest": "pyquorum.messages.types",
    "TrackStartResponse": "pyquorum.messages.types",
    "TrackStopRequest": "pyquorum.messages.types",
    "TrackStopResponse": "pyquorum.messages.types",
    "UnknownNotification": "pyquorum.messages.types",
    "UnknownRequest": "pyquorum.messages.types",
}

__all__ = [
    "CONNECTION_REQUEST_SIZE",
    "CONNECTION_RESPONSE_SIZE",
    "DEFAULT_MAX_MSG_SIZE",
    "PATH_MAX",
    "REQUEST_HEADER_SIZE",
    "RESPONSE_HEADER_SIZE",
    "RESPONSE_ID_FOR_REQUEST",
    "Buffer",
    "ConnectionRequest",
    "ConnectionResponse",
    "ConnectionType",
    "CsErrorCode",
    "DispatchMode",
    "ErrorResponse",
    "GetQuorateRequest",
    "GetQuorateResponse",
    "GetTypeRequest",
    "GetTypeResponse",
    "IpcMessageId",
    "Message",
    "Model",
    "ModelGetTypeRequest",
    "ModelGetTypeResponse",
    "NodelistNotification",
    "Notification",
    "QuorumNotification",
    "QuorumNotificationV0",
    "QuorumType",
    "Request",
    "RequestHeader",
    "RequestId",
    "Response",
    "ResponseHeader",
    "ResponseId",
    "RingId",
    "Track",
    "TrackStartRequest",
    "TrackStartResponse",
    "TrackStopRequest",
    "TrackStopResponse",
    "UnknownNotification",
    "UnknownRequest",
    "decode_connection_request",
    "decode_connection_response",
    "decode_notification",
    "decode_request",
    "decode_request_header",
    "decode_response",
    "decode_response_header",
    "encode_connection_request",
    "encode_connection_response",
    "encode_notification",
    "encode_request",
    "encode_request_header",
    "encode_response",
    "encode_response_header",
    "request_id_of",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
