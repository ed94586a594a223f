"""libqb's own messages: the setup-socket handshake and the message headers.

These belong to libqb, not to the quorum service, so ``ipc/`` may use them
(DESIGN.md).  Layouts are in :mod:`pyquorum.messages._schema`; this module
adds the rules construct cannot express: ``size`` must match the bytes, the
handshake id must be ``QB_IPC_MSG_AUTHENTICATE``, paths end at their NUL.
"""

from __future__ import annotations

import functools
import os
import struct
from typing import TYPE_CHECKING

from pyquorum.messages._codec import (
    I32_MAX,
    I64_MAX,
    I64_MIN,
    Buffer,
    LazyModule,
    as_bytes,
    check_i32,
    check_int,
    check_length,
    check_size_field,
    check_u32,
    cs_error,
    encode_path,
    lookup,
    malformed,
    members,
    parse,
    truncated,
    wrong_type,
)
from pyquorum.messages.constants import (
    CONNECTION_REQUEST_SIZE,
    CONNECTION_RESPONSE_SIZE,
    PATH_MAX,
    REQUEST_HEADER_SIZE,
    RESPONSE_HEADER_SIZE,
    ConnectionType,
    IpcMessageId,
)
from pyquorum.messages.types import (
    ConnectionRequest,
    ConnectionResponse,
    RequestHeader,
    ResponseHeader,
)

if TYPE_CHECKING:
    from pyquorum.messages import _schema
else:
    _schema = LazyModule("pyquorum.messages._schema")

__all__ = [
    "decode_connection_request",
    "decode_connection_response",
    "decode_request_header",
    "decode_response_header",
    "encode_connection_request",
    "encode_connection_response",
    "encode_request_header",
    "encode_response_header",
]

_AUTHENTICATE = int(IpcMessageId.AUTHENTICATE)
_CONNECTION_TYPES = members(ConnectionType)


# ------------------------------------------------------------------ headers


def encode_request_header(id: int, size: int) -> bytes:
    """The 16-byte header that starts every request; ``size`` counts the whole message."""
    return _schema.REQUEST_HEADER.build(
        {
            "id": check_i32(id, "request id"),
            "size": _check_header_size(size, REQUEST_HEADER_SIZE, "request size"),
        }
    )


def decode_request_header(data: Buffer) -> RequestHeader:
    """The header at the start of ``data``; bytes after it (the body) are not examined.

    Taking a prefix lets a transport peek at 16 bytes to learn a datagram's size.
    """
    raw = as_bytes(data)
    if len(raw) < REQUEST_HEADER_SIZE:
        raise truncated("request header", raw, _schema.REQUEST_HEADER)
    hdr = parse("request header", _schema.REQUEST_HEADER, raw)
    size = hdr.num("size")
    if size < REQUEST_HEADER_SIZE:
        raise malformed(
            f"request header: size {size} is smaller than the header itself", raw, "size", 8
        )
    return RequestHeader(hdr.num("id"), size)


def encode_response_header(id: int, size: int, error: int) -> bytes:
    """The 24-byte header that starts every response and notification."""
    return _schema.RESPONSE_HEADER.build(
        {
            "id": check_i32(id, "response id"),
            "size": _check_header_size(size, RESPONSE_HEADER_SIZE, "response size"),
            "error": check_i32(error, "error"),
        }
    )


def decode_response_header(data: Buffer) -> ResponseHeader:
    """The header at the start of ``data``; ``error`` is a CsErrorCode when known."""
    raw = as_bytes(data)
    if len(raw) < RESPONSE_HEADER_SIZE:
        raise truncated("response header", raw, _schema.RESPONSE_HEADER)
    hdr = parse("response header", _schema.RESPONSE_HEADER, raw)
    size = hdr.num("size")
    if size < RESPONSE_HEADER_SIZE:
        raise malformed(
            f"response header: size {size} is smaller than the header itself", raw, "size", 8
        )
    return ResponseHeader(hdr.num("id"), size, cs_error(hdr.num("error")))


def _check_header_size(size: object, minimum: int, what: str) -> int:
    # A message always contains its own header; decoders refuse anything smaller.
    return check_int(size, what, minimum, I32_MAX)


# ------------------------------------------------------------------ handshake


def encode_connection_request(max_msg_size: int) -> bytes:
    """What a client sends first on the setup socket (docs/protocol.md §2.3)."""
    return _connection_request(check_u32(max_msg_size, "max_msg_size"))


@functools.lru_cache(maxsize=8)
def _connection_request(max_msg_size: int) -> bytes:
    # Built once per size: every connect sends the same 24 bytes.
    return _CONNECTION_REQUEST_PACK.pack(_AUTHENTICATE, CONNECTION_REQUEST_SIZE, max_msg_size)


# What a client sends and reads at connect is packed and unpacked with struct,
# so that connecting never needs construct; CONNECTION_REQUEST and
# CONNECTION_RESPONSE remain the definition (tests/messages/test_fast_path.py
# holds these layouts and offsets to them).
_CONNECTION_REQUEST_PACK = struct.Struct("<i4xi4xI4x")


def decode_connection_request(data: Buffer) -> ConnectionRequest:
    """The server's view of the handshake; libqb closes the socket on any other id."""
    raw = as_bytes(data)
    what = "connection request"
    if len(raw) < CONNECTION_REQUEST_SIZE:
        raise truncated(what, raw, _schema.CONNECTION_REQUEST)
    msg = parse(what, _schema.CONNECTION_REQUEST, raw)
    _check_authenticate(what, raw, msg.num("id"))
    check_size_field(what, raw, msg.num("size"))
    check_length(what, raw, CONNECTION_REQUEST_SIZE)
    return ConnectionRequest(msg.num("max_msg_size"))


def encode_connection_response(r: ConnectionResponse) -> bytes:
    """The server's 12328-byte answer; unused paths are empty strings."""
    if not isinstance(r, ConnectionResponse):
        raise wrong_type(r, "a ConnectionResponse")
    return _schema.CONNECTION_RESPONSE.build(
        {
            "id": _AUTHENTICATE,
            "size": CONNECTION_RESPONSE_SIZE,
            "error": check_i32(r.error, "error"),
            "connection_type": check_i32(r.connection_type, "connection_type"),
            "max_msg_size": check_u32(r.max_msg_size, "max_msg_size"),
            "connection": check_int(r.connection, "connection", I64_MIN, I64_MAX),
            "request": encode_path(r.request, "request path"),
            "response": encode_path(r.response, "response path"),
            "event": encode_path(r.event, "event path"),
        }
    )


def decode_connection_response(data: Buffer) -> ConnectionResponse:
    """The handshake answer.  ``error`` stays a plain int: it is ``-errno``, not a
    cs_error_t.  ``connection_type`` is a ConnectionType when known."""
    raw = as_bytes(data)
    what = "connection response"
    if len(raw) < CONNECTION_RESPONSE_SIZE:
        raise truncated(what, raw, _schema.CONNECTION_RESPONSE)
    # Every connect decodes one of these; struct reads the fixed fields at
    # the schema's offsets (tests/messages/test_fast_path.py holds the two
    # to each other) instead of construct copying out 12 KiB of paths.
    ident, size, error, connection_type, max_msg_size, connection = (
        _connection_response_head(raw)
    )
    _check_authenticate(what, raw, ident)
    check_size_field(what, raw, size)
    check_length(what, raw, CONNECTION_RESPONSE_SIZE)
    return ConnectionResponse(
        error=error,
        connection_type=lookup(_CONNECTION_TYPES, connection_type),
        max_msg_size=max_msg_size,
        connection=connection,
        request=_path(what, raw, "request"),
        response=_path(what, raw, "response"),
        event=_path(what, raw, "event"),
    )


# qb_ipc_connection_response up to its paths: the response header (id, size,
# error, each 8-aligned), connection_type i32, max_msg_size u32, connection i64.
_CONNECTION_RESPONSE_HEAD = struct.Struct("<i4xi4xi4xiIq")


def _connection_response_head(raw: bytes) -> tuple[int, int, int, int, int, int]:
    """``(id, size, error, connection_type, max_msg_size, connection)``."""
    head: tuple[int, int, int, int, int, int] = _CONNECTION_RESPONSE_HEAD.unpack_from(raw)
    return head


#: Where each char[PATH_MAX] path starts in qb_ipc_connection_response.
_PATH_OFFSETS = {"request": 40, "response": 40 + PATH_MAX, "event": 40 + 2 * PATH_MAX}


def _path(what: str, raw: bytes, name: str) -> str:
    """A ``char[PATH_MAX]`` field: the bytes before its first NUL."""
    offset = _PATH_OFFSETS[name]
    end = raw.find(b"\0", offset, offset + PATH_MAX)
    if end < 0:
        raise malformed(f"{what}: {name} path has no terminating NUL", raw, name, offset)
    return os.fsdecode(raw[offset:end])


def _check_authenticate(what: str, raw: bytes, ident: int) -> None:
    if ident != _AUTHENTICATE:
        raise malformed(
            f"{what}: id {ident} is not QB_IPC_MSG_AUTHENTICATE ({_AUTHENTICATE})",
            raw,
            "id",
            0,
        )
