"""What a decoder makes of some bytes, in a form two decoders can be compared by.

The struct fast paths are held to their construct schemas by comparing
outcomes on any bytes: the same object (same type, equal, same repr) or the
same error (message, field, offset, data).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TypeVar

from pyquorum.errors import LocalProtocolError, RemoteProtocolError


def decode_outcome(
    decode: Callable[[bytes], object], raw: bytes, *, with_hash: bool = False
) -> tuple[str, object]:
    """``("value", (type, value, repr[, hash]))``, or
    ``("error", (message, field, offset, data))``."""
    try:
        value = decode(raw)
    except RemoteProtocolError as exc:
        return "error", (exc.message, exc.field, exc.offset, exc.data)
    if with_hash:
        return "value", (type(value), value, repr(value), hash(value))
    return "value", (type(value), value, repr(value))


def assert_same_decoding(
    fast: Callable[[bytes], object], schema: Callable[[bytes], object], raw: bytes
) -> None:
    """The fast path and its schema twin make the same of ``raw``."""
    assert decode_outcome(fast, raw) == decode_outcome(schema, raw)


M = TypeVar("M")


def encode_outcome(encode: Callable[[M], bytes], message: M) -> tuple[str, object]:
    """``("bytes", data)``, or ``("error", message)`` for a LocalProtocolError:
    how two encoders of one message are compared."""
    try:
        return "bytes", encode(message)
    except LocalProtocolError as exc:
        return "error", str(exc)


def assert_same_layout(fast: struct.Struct, schema: object) -> None:
    """A fast path's ``struct`` reads exactly the fields of its schema."""
    assert fast.format == schema.struct_format()  # type: ignore[attr-defined]
    assert fast.size == schema.size  # type: ignore[attr-defined]


def one_word_changed(encoded: bytes, offset: int, value: int, extra: bytes,
                     cut: int) -> list[bytes]:
    """``encoded`` with the little-endian u32 at ``offset`` set to ``value`` (when it
    fits): as it is, longer by ``extra``, shorter by ``cut`` bytes, and each of those
    again with its size field (bytes 8-12) saying its real length."""
    raw = bytearray(encoded)
    if offset + 4 <= len(raw):
        raw[offset : offset + 4] = value.to_bytes(4, "little")
    variants = [bytes(raw), bytes(raw) + extra, bytes(raw[: max(0, len(raw) - cut)])]
    for changed in list(variants):
        if len(changed) >= 12:
            resized = bytearray(changed)
            resized[8:12] = len(changed).to_bytes(4, "little")
            variants.append(bytes(resized))
    return variants
