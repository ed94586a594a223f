"""Loading the byte fixtures, their JSON forms, and the garbage-zeroing oracle.

``fixtures/messages/NAME.hex`` holds bytes captured from corosync, as
``hexdump -C`` lines after ``#`` comments; ``NAME.json`` holds the value
they must decode to, typed in from the capture logs (not produced by
pyquorum).  :func:`zero_garbage` lists, per message type and *independently
of the schemas*, the bytes that belong to no field (padding halves, the
4 bytes after a notification's lists, path bytes after the NUL), so the
re-encoding test compares against an oracle that can disagree with the code.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

from pyquorum.messages import (
    Buffer,
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
    Response,
    RingId,
    TrackStartRequest,
    TrackStartResponse,
    TrackStopRequest,
    TrackStopResponse,
    UnknownNotification,
    UnknownRequest,
    decode_connection_request,
    decode_connection_response,
    decode_notification,
    decode_request,
    decode_response,
    encode_connection_request,
    encode_connection_response,
    encode_notification,
    encode_request,
    encode_response,
)

FIXTURE_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "messages"

_CLASSES: dict[str, type[Message]] = {
    cls.__name__: cls
    for cls in (
        ConnectionRequest, ConnectionResponse, GetQuorateRequest, TrackStartRequest,
        TrackStopRequest, GetTypeRequest, ModelGetTypeRequest, UnknownRequest,
        GetQuorateResponse, TrackStartResponse, TrackStopResponse, GetTypeResponse,
        ModelGetTypeResponse, ErrorResponse, QuorumNotificationV0, QuorumNotification,
        NodelistNotification, UnknownNotification,
    )
}
_HEXDUMP_LINE = re.compile(r"^([0-9a-f]{8})\s+((?:[0-9a-f]{2}\s+)*[0-9a-f]{2})\s*(?:\|.*\|)?$")


def fixture_names() -> list[str]:
    return sorted(p.stem for p in FIXTURE_DIR.glob("*.hex"))


def load_hex(path: Path) -> bytes:
    """Bytes from ``hexdump -C`` lines; ``*`` repeats the previous line up to the next offset."""
    data = bytearray()
    previous = b""
    repeat = False
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if line.strip() == "*":
            repeat = True
            continue
        match = _HEXDUMP_LINE.match(line)
        if match is None:
            raise ValueError(f"{path.name}:{number}: not a hexdump line: {line!r}")
        offset, row = int(match.group(1), 16), bytes.fromhex(match.group(2))
        if repeat:
            if not previous or (offset - len(data)) % len(previous):
                raise ValueError(f"{path.name}:{number}: '*' does not fill up to {offset:#x}")
            while len(data) < offset:
                data += previous
            repeat = False
        if offset != len(data):
            raise ValueError(f"{path.name}:{number}: offset {offset:#x}, expected {len(data):#x}")
        data += row
        previous = row
    if repeat:
        raise ValueError(f"{path.name}: ends with '*'")
    return bytes(data)


def load(name: str) -> tuple[bytes, Message]:
    data = load_hex(FIXTURE_DIR / f"{name}.hex")
    expected = from_json(json.loads((FIXTURE_DIR / f"{name}.json").read_text()))
    return data, expected


def from_json(obj: dict[str, Any]) -> Message:
    """The dataclass a fixture's JSON describes (tuples for lists, hex for bytes)."""
    values = dict(obj)
    return build(_CLASSES[values.pop("type")], values)


def convert_field(name: str, value: Any) -> Any:
    """A JSON field value as the dataclass field ``name`` holds it."""
    if name == "ring_id":
        return RingId(**value)
    if name in ("members", "joined", "left"):
        return tuple(value)
    if name in ("body", "data"):
        return bytes.fromhex(value)
    return value


def build(
    cls: type[Message], values: dict[str, Any],
    convert: Callable[[str, Any], Any] = convert_field,
) -> Message:
    """``cls`` from the fixture JSON ``values`` (the ``type`` key removed); every field
    must be given and no other key, so a fixture cannot silently drift from its class."""
    kwargs: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        kwargs[f.name] = convert(f.name, values.pop(f.name))
    if values:
        raise ValueError(f"unexpected keys for {cls.__name__}: {sorted(values)}")
    return cls(**kwargs)


def to_json(msg: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"type": type(msg).__name__}
    for f in fields(msg):  # type: ignore[arg-type]
        value = getattr(msg, f.name)
        if isinstance(value, RingId):
            value = {"nodeid": value.nodeid, "seq": value.seq}
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, bytes):
            value = value.hex()
        elif isinstance(value, int) and not isinstance(value, bool):
            value = int(value)
        out[f.name] = value
    return out


# ------------------------------------------------------------------ codecs by type


def decoder_for(msg: Message) -> Callable[[Buffer], Message]:
    if isinstance(msg, ConnectionRequest):
        return decode_connection_request
    if isinstance(msg, ConnectionResponse):
        return decode_connection_response
    if isinstance(msg, Request):
        return decode_request
    if isinstance(msg, Response):
        return decode_response
    if isinstance(msg, Notification):
        return decode_notification
    raise TypeError(msg)


def encode(msg: Message) -> bytes:
    if isinstance(msg, ConnectionRequest):
        return encode_connection_request(msg.max_msg_size)
    if isinstance(msg, ConnectionResponse):
        return encode_connection_response(msg)
    if isinstance(msg, Request):
        return encode_request(msg)
    if isinstance(msg, Response):
        return encode_response(msg)
    if isinstance(msg, Notification):
        return encode_notification(msg)
    raise TypeError(msg)


# ------------------------------------------------------------------ the garbage oracle

# Written out by hand from docs/protocol.md §2.3-2.4 and §6 (not from the schemas).
_REQ_HEADER_PAD = [(4, 8), (12, 16)]
_RES_HEADER_PAD = [(4, 8), (12, 16), (20, 24)]
_PATH_FIELDS = {"request": 40, "response": 4136, "event": 8232}


def garbage_ranges(msg: Message, length: int) -> list[tuple[int, int]]:
    """Byte ranges of a ``length``-byte encoding of ``msg`` that hold no field."""
    tail = (length - 4, length)
    if isinstance(msg, ConnectionRequest):
        return [*_REQ_HEADER_PAD, (20, 24)]
    if isinstance(msg, ConnectionResponse):
        ranges = list(_RES_HEADER_PAD)
        for name, start in _PATH_FIELDS.items():
            # The path's bytes and its terminating NUL are data; the rest is not.
            used = len(os.fsencode(getattr(msg, name))) + 1
            ranges.append((start + used, start + 4096))
        return ranges
    if isinstance(msg, GetQuorateRequest | TrackStopRequest | GetTypeRequest | UnknownRequest):
        return list(_REQ_HEADER_PAD)
    if isinstance(msg, TrackStartRequest | ModelGetTypeRequest):
        return [*_REQ_HEADER_PAD, (20, 24)]
    if isinstance(msg, ErrorResponse | TrackStartResponse | TrackStopResponse):
        return list(_RES_HEADER_PAD)
    if isinstance(msg, GetQuorateResponse | GetTypeResponse | ModelGetTypeResponse):
        return [*_RES_HEADER_PAD, (28, 32)]
    if isinstance(msg, QuorumNotificationV0):
        return [*_RES_HEADER_PAD, (28, 32), tail]  # quorate's high half; list @44
    if isinstance(msg, QuorumNotification):
        return [*_RES_HEADER_PAD, (28, 32), (36, 40), tail]  # quorate, ring_id.nodeid halves
    if isinstance(msg, NodelistNotification):
        return [*_RES_HEADER_PAD, (28, 32), (44, 48), (52, 56), tail]  # nodeid, m, j halves
    if isinstance(msg, UnknownNotification):
        return list(_RES_HEADER_PAD)
    raise TypeError(msg)


def zero_garbage(data: bytes, msg: Message) -> bytes:
    out = bytearray(data)
    for start, end in garbage_ranges(msg, len(data)):
        out[start:end] = bytes(end - start)
    return bytes(out)
