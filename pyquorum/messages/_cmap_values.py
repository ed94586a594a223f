"""cmap keys and typed values: the two encodings every cmap message shares.

Keys are ``mar_name_t`` (docs/cmap.md §2.2): at most 255 bytes (libcmap
refuses ``strlen(key) >= 256``), no NUL, sent with their length and
NUL-padded.  Values are ``cmap_value_types_t`` plus raw bytes
(docs/cmap.md §2.3): little-endian integers and IEEE floats of the type's
exact width, strings with their terminating NUL counted in the length,
binary as is.
"""

from __future__ import annotations

import math
import struct

from pyquorum._frozen import frozen
from pyquorum.errors import LocalProtocolError
from pyquorum.messages._codec import as_bytes, encode_c_string, malformed
from pyquorum.messages.constants import CS_MAX_NAME_LENGTH, CmapValueType

__all__ = [
    "MAX_KEY_BYTES",
    "CmapValue",
    "decode_key",
    "decode_value",
    "encode_key",
    "encode_value",
]

#: The longest key libcmap sends (``strlen(key) < CS_MAX_NAME_LENGTH``).
MAX_KEY_BYTES = CS_MAX_NAME_LENGTH - 1

_INT_FORMATS: dict[CmapValueType, str] = {
    CmapValueType.INT8: "<b",
    CmapValueType.UINT8: "<B",
    CmapValueType.INT16: "<h",
    CmapValueType.UINT16: "<H",
    CmapValueType.INT32: "<i",
    CmapValueType.UINT32: "<I",
    CmapValueType.INT64: "<q",
    CmapValueType.UINT64: "<Q",
}
_FLOAT_FORMATS: dict[CmapValueType, str] = {CmapValueType.FLOAT: "<f", CmapValueType.DOUBLE: "<d"}
_TYPES = {int(t): t for t in CmapValueType}


@frozen
class CmapValue:
    """One typed cmap value.

    ``value`` is an ``int`` for the eight integer types, a ``float`` for FLOAT
    and DOUBLE, a ``str`` for STRING (without its NUL) and ``bytes`` for
    BINARY and for a type this version does not know (``type`` is then a
    plain ``int``).  A FLOAT holds the float32 the daemon has, widened.
    """

    type: CmapValueType | int
    value: int | float | str | bytes

    @classmethod
    def string(cls, value: str) -> CmapValue:
        return cls(CmapValueType.STRING, value)

    @classmethod
    def binary(cls, value: bytes) -> CmapValue:
        return cls(CmapValueType.BINARY, bytes(value))

    def __str__(self) -> str:
        kind = self.type.name.lower() if isinstance(self.type, CmapValueType) else self.type
        shown = repr(self.value) if isinstance(self.value, bytes) else str(self.value)
        return f"({kind}) {shown}"


def encode_key(value: object, what: str = "key", *, allow_empty: bool = False) -> tuple[int, bytes]:
    """``(length, 256 NUL-padded bytes)`` for a ``mar_name_t``."""
    raw = encode_c_string(value, what)
    if not raw and not allow_empty:
        raise LocalProtocolError(f"{what} is empty")
    if len(raw) > MAX_KEY_BYTES:
        raise LocalProtocolError(
            f"{what} is {len(raw)} bytes; cmap keys hold at most {MAX_KEY_BYTES}"
        )
    return len(raw), raw.ljust(CS_MAX_NAME_LENGTH, b"\0")


def decode_key(length: int, field: bytes, data: bytes, offset: int) -> str:
    """The name a ``mar_name_t`` holds; ``data``/``offset`` locate it for the error."""
    if length > MAX_KEY_BYTES:
        raise malformed(f"key length {length} is over {MAX_KEY_BYTES}", data, "key_length", offset)
    raw = field[:length]
    if b"\0" in raw:
        raise malformed("key contains a NUL byte within its length", data, "key_value", offset + 8)
    return raw.decode("utf-8", "surrogateescape")


def encode_value(value: object) -> tuple[int, bytes]:
    """``(type, bytes)`` of a :class:`CmapValue`; LocalProtocolError if it cannot go out."""
    if not isinstance(value, CmapValue):
        raise LocalProtocolError(f"expected a CmapValue, not {type(value).__name__}")
    kind, payload = value.type, value.value
    if isinstance(kind, bool) or not isinstance(kind, int) or not 1 <= kind <= 255:
        raise LocalProtocolError(f"value type must be 1..255, not {kind!r}")
    known = _TYPES.get(int(kind))
    if known in _INT_FORMATS:
        fmt = _INT_FORMATS[known]
        if isinstance(payload, bool) or not isinstance(payload, int):
            raise LocalProtocolError(f"a {known.name} value must be an int, not {payload!r}")
        try:
            return int(kind), struct.pack(fmt, payload)
        except struct.error:
            raise LocalProtocolError(f"{payload} is out of range for {known.name}") from None
    if known in _FLOAT_FORMATS:
        if isinstance(payload, bool) or not isinstance(payload, int | float):
            raise LocalProtocolError(f"a {known.name} value must be a float, not {payload!r}")
        try:
            packed = struct.pack(_FLOAT_FORMATS[known], payload)
        except (OverflowError, struct.error):
            raise LocalProtocolError(f"{payload} is out of range for {known.name}") from None
        if math.isinf(struct.unpack(_FLOAT_FORMATS[known], packed)[0]) and not math.isinf(payload):
            raise LocalProtocolError(f"{payload} is out of range for {known.name}")
        return int(kind), packed
    if known is CmapValueType.STRING:
        if not isinstance(payload, str):
            raise LocalProtocolError(f"a STRING value must be a str, not {payload!r}")
        try:
            text = payload.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError as exc:
            raise LocalProtocolError(f"string value cannot be encoded: {exc}") from None
        if b"\0" in text:
            raise LocalProtocolError("a STRING value cannot contain a NUL byte")
        return int(kind), text + b"\0"  # the length counts the NUL (docs/cmap.md §2.3)
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise LocalProtocolError(f"a value of type {kind} must be bytes, not {payload!r}")
    return int(kind), bytes(payload)


def decode_value(kind: int, raw: bytes, data: bytes, offset: int) -> CmapValue:
    """A typed value from ``raw`` (found at ``offset`` of the message ``data``)."""
    raw = as_bytes(raw)
    known = _TYPES.get(kind)
    if kind == 0:
        raise malformed("value type 0 is no cmap type", data, "type", offset)
    fmt = (_INT_FORMATS.get(known) or _FLOAT_FORMATS.get(known)) if known else None
    if known is not None and fmt is not None:
        width = struct.calcsize(fmt)
        if len(raw) != width:
            raise malformed(
                f"a {known.name} value is {width} bytes, not {len(raw)}", data, "value", offset
            )
        return CmapValue(known, struct.unpack(fmt, raw)[0])
    if known is CmapValueType.STRING:
        # A C string: up to the first NUL (corosync-cmapctl prints it so).
        end = raw.find(b"\0")
        return CmapValue(known, (raw if end < 0 else raw[:end]).decode("utf-8", "surrogateescape"))
    return CmapValue(known if known is not None else kind, raw)
