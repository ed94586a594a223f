"""What a decoder makes of some bytes, in a form two decoders can be compared by.

The struct fast paths are held to their construct schemas by comparing
outcomes on any bytes: the same object (same type, equal, same repr) or the
same error (message, field, offset, data).
"""

from __future__ import annotations

from collections.abc import Callable

from pyquorum.errors import RemoteProtocolError


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
