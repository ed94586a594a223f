"""What a decoder makes of some bytes, in a form two decoders can be compared by.

The struct fast paths are held to their construct schemas by comparing
outcomes on any bytes: the same object (same type, equal, same repr) or the
same error (message, field, offset, data).
"""

from __future__ import annotations

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
