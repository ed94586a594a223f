"""What every codec shares: input coercion, argument checks, error building.

Decoders must raise nothing but :class:`RemoteProtocolError` on bad bytes and
encoders nothing but :class:`LocalProtocolError` on bad arguments, so the
checks live here, once, and run *before* construct sees anything: construct
would otherwise raise its own exceptions, or (for a hostile list count)
start a loop sized by the peer.
"""

from __future__ import annotations

import functools
import importlib
import os
import struct
from collections.abc import Sequence
from enum import IntEnum
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from pyquorum._buffer import Buffer as Buffer  # re-exported: the codecs take it from here
from pyquorum.errors import CsErrorCode, LocalProtocolError, RemoteProtocolError
from pyquorum.messages.constants import PATH_MAX, REQUEST_HEADER_SIZE, RESPONSE_HEADER_SIZE

if TYPE_CHECKING:
    from pyquorum.messages._schema import Parsed, Schema

I32_MIN, I32_MAX = -(2**31), 2**31 - 1
U32_MAX = 2**32 - 1
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
U64_MAX = 2**64 - 1

_E = TypeVar("_E", bound=IntEnum)


def as_bytes(data: object) -> bytes:
    """One immutable copy of the input: the error carries it, construct parses it."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    raise LocalProtocolError(
        f"expected bytes, bytearray or memoryview, not {type(data).__name__}"
    )


class LazyModule:
    """A module imported when one of its attributes is first read.

    The codecs reach their construct schemas through one of these: importing
    construct and building the schemas costs more than the rest of a command's
    start-up, and the hot paths (struct) and most commands never need them.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)


# ------------------------------------------------------------------ decoding


def malformed(
    message: str, data: bytes, field: str | None = None, offset: int | None = None
) -> RemoteProtocolError:
    return RemoteProtocolError(message, data=data, field=field, offset=offset)


def truncated(what: str, data: bytes, schema: Schema) -> RemoteProtocolError:
    field, offset = schema.first_field_beyond(len(data))
    return malformed(
        f"{what}: {len(data)} bytes, shorter than the {schema.size}-byte {schema.name}",
        data,
        field,
        offset,
    )


def check_size_field(what: str, data: bytes, size: int) -> None:
    """The header's ``size`` (i32 @8) must describe exactly the bytes we were given."""
    if size != len(data):
        raise malformed(
            f"{what}: header size {size} does not match the {len(data)} bytes received",
            data,
            "size",
            8,
        )


def parse(what: str, schema: Schema, data: bytes) -> Parsed:
    """Parse already-validated bytes; a construct error here means a missing check."""
    try:
        return schema.parse(data)
    except Exception as exc:  # construct raises many types; none may escape
        raise malformed(f"{what}: {exc}", data) from None


def parse_header(what: str, raw: bytes, schema: Schema) -> Parsed:
    """The request or response header every message starts with, its ``size``
    checked against the bytes: the first step of every decoder."""
    if len(raw) < schema.size:
        raise truncated(what, raw, schema)
    hdr = parse(what, schema, raw)
    check_size_field(what, raw, hdr.num("size"))
    return hdr


def parse_head(what: str, raw: bytes, schema: Schema) -> Parsed:
    """The fixed part of a variable-length message (a value or a list follows);
    the caller then checks the lengths it gives against ``len(raw)``."""
    if len(raw) < schema.size:
        raise truncated(what, raw, schema)
    return parse(what, schema, raw[: schema.size])


def check_exact(what: str, raw: bytes, schema: Schema) -> None:
    """A fixed-size message must be exactly its schema's size (``size`` @8 said so)."""
    check_length(what, raw, schema.size)


def check_length(
    what: str, raw: bytes, expected: int, field: str = "size", offset: int = 8
) -> None:
    """:func:`check_exact` for a length known without a schema: libqb's handshake,
    or a variable-length message whose own counts (``field`` @``offset``) give it."""
    if len(raw) != expected:
        raise malformed(f"{what} must be {expected} bytes, not {len(raw)}", raw, field, offset)


def unmatched_response(
    service: str, raw: bytes, ident: int, size: int, known: frozenset[int]
) -> RemoteProtocolError:
    """A response no decoder branch took: a known id with the wrong size, or an
    unknown id.  Either way it cannot be paired with the request it answers."""
    prefix = f"{service} " if service else ""
    if ident in known:
        return malformed(f"{prefix}response id {ident} never has size {size}", raw, "size", 8)
    return malformed(f"unknown {prefix}response id {ident} (size {size})", raw, "id", 0)


@functools.lru_cache(maxsize=1024)
def u32s(count: int) -> struct.Struct:
    """``count`` little-endian u32s back to back (the notifications' lists; a
    caller checks ``count`` against the message length first)."""
    return struct.Struct(f"<{count}I")


def lookup(table: dict[int, _E], value: int) -> _E | int:
    """The enum member for ``value`` when there is one, else the plain int."""
    return table.get(value, value)


def members(enum: type[_E]) -> dict[int, _E]:
    return {int(m): m for m in enum}


CS_ERRORS = members(CsErrorCode)


def cs_error(value: int) -> CsErrorCode | int:
    return CS_ERRORS.get(value, value)


# ------------------------------------------------------------------ encoding


def wrong_type(value: object, expected: str) -> LocalProtocolError:
    return LocalProtocolError(f"expected {expected}, not {type(value).__name__}")


def check_int(value: object, what: str, low: int, high: int) -> int:
    """``value`` as a plain int in [low, high]; bools are refused as a likely mix-up."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise LocalProtocolError(f"{what} must be an int, not {type(value).__name__}")
    if not low <= value <= high:
        raise LocalProtocolError(f"{what} must be in [{low}, {high}], not {value}")
    return int(value)


def check_i32(value: object, what: str) -> int:
    return check_int(value, what, I32_MIN, I32_MAX)


def check_u32(value: object, what: str) -> int:
    return check_int(value, what, 0, U32_MAX)


def check_u64(value: object, what: str) -> int:
    return check_int(value, what, 0, U64_MAX)


def check_bool(value: object, what: str) -> int:
    """A C truth value we send as 0 or 1; ints other than 0/1 would not round-trip."""
    if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
        return int(value)
    raise LocalProtocolError(f"{what} must be a bool, not {value!r}")


#: No list can be longer than this and still fit a message's i32 ``size``.
MAX_LIST_ENTRIES = I32_MAX // 4


def check_node_list(value: object, what: str) -> list[int]:
    """A list of u32 node ids; its length is checked before any element is."""
    if isinstance(value, str | bytes | bytearray) or not isinstance(value, Sequence):
        raise LocalProtocolError(f"{what} must be a tuple of u32 node ids, not {value!r}")
    if len(value) > MAX_LIST_ENTRIES:
        raise LocalProtocolError(f"{what} has {len(value)} entries; no message can hold them")
    return [check_u32(v, f"{what}[{i}]") for i, v in enumerate(value)]


def check_body(value: object, what: str) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise LocalProtocolError(f"{what} must be bytes, not {type(value).__name__}")


def encode_c_string(value: object, what: str) -> bytes:
    """The bytes of a str bound for a C string field, without the NUL.

    UTF-8 with surrogateescape, so that any name decoded from the wire (the
    decoders use the same) encodes back to the same bytes; a NUL inside would
    end the C string early, so it is refused.  Fitting the field is the caller's.
    """
    if not isinstance(value, str):
        raise LocalProtocolError(f"{what} must be a str, not {type(value).__name__}")
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(f"{what} cannot be encoded: {exc}") from None
    if b"\0" in raw:
        raise LocalProtocolError(f"{what} contains a NUL byte")
    return raw


def encode_path(value: object, what: str) -> bytes:
    """A path for a ``char[PATH_MAX]`` field, NUL-padded; the NUL must fit."""
    if not isinstance(value, str):
        raise LocalProtocolError(f"{what} must be a str, not {type(value).__name__}")
    try:
        raw = os.fsencode(value)
    except UnicodeEncodeError as exc:
        raise LocalProtocolError(f"{what} cannot be encoded: {exc}") from None
    if b"\0" in raw:
        raise LocalProtocolError(f"{what} contains a NUL byte")
    if len(raw) >= PATH_MAX:
        raise LocalProtocolError(
            f"{what} is {len(raw)} bytes; at most {PATH_MAX - 1} fit in char[{PATH_MAX}]"
        )
    return raw.ljust(PATH_MAX, b"\0")


def check_size(total: int, what: str) -> int:
    """The message length must fit the header's i32 ``size``."""
    if total > I32_MAX:
        raise LocalProtocolError(f"{what} would be {total} bytes, more than an i32 size allows")
    return total


# Every service keeps unknown ids for forward compatibility (UnknownRequest on
# the server side, UnknownNotification on the client side); encoding them is
# the same for all: a bare header plus the body, and never a known id, since
# that would decode as the known message and could not round-trip.


def encode_unknown_request(
    req: object,
    ident: object,
    size: object,
    body: object,
    known: frozenset[int],
    ids: type[IntEnum],
    header: Schema,
) -> bytes:
    """An UnknownRequest's bytes: ``qb_ipc_request_header`` (``header``) + ``body``.

    ``known`` are the ids the service models, named by the enum ``ids``.
    """
    checked_id = check_i32(ident, "request id")
    if checked_id in known:
        raise wrong_type(
            req, f"the {ids(checked_id).name} request class for id {checked_id}"
        )
    checked_body = check_body(body, "request body")
    checked_size = check_i32(size, "request size")
    if checked_size != REQUEST_HEADER_SIZE + len(checked_body):
        raise LocalProtocolError(
            f"UnknownRequest.size is {checked_size}, but header plus body is "
            f"{REQUEST_HEADER_SIZE + len(checked_body)} bytes"
        )
    return header.build({"id": checked_id, "size": checked_size}) + checked_body


def encode_unknown_notification(
    note: object,
    ident: object,
    error: object,
    data: object,
    known: frozenset[int],
    expected: str,
    header: Schema,
) -> bytes:
    """An UnknownNotification's bytes: ``qb_ipc_response_header`` (``header``) + ``data``.

    An id in ``known`` is refused with a wrong-type error naming ``expected``
    (formatted with ``ident``): the class that id must be sent with.
    """
    checked_id = check_i32(ident, "notification id")
    if checked_id in known:
        raise wrong_type(note, expected.format(ident=checked_id))
    checked_data = check_body(data, "notification data")
    size = check_size(RESPONSE_HEADER_SIZE + len(checked_data), "notification")
    return header.build(
        {"id": checked_id, "size": size, "error": check_i32(error, "error")}
    ) + checked_data
