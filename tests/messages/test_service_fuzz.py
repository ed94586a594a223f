"""Hostile bytes: the votequorum and cmap decoders return an object or raise
RemoteProtocolError (carrying the bytes), nothing else."""

from __future__ import annotations

import struct
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyquorum.errors import RemoteProtocolError
from pyquorum.messages import cmap, votequorum
from tests.support.service_fixtures import Fixture, all_fixtures

DECODERS: list[Callable[[bytes], object]] = [
    votequorum.decode_request, votequorum.decode_response, votequorum.decode_notification,
    cmap.decode_request, cmap.decode_response, cmap.decode_notification,
]
FIXTURES = all_fixtures()


def decode_or_reject(decode: Callable[[bytes], object], data: bytes) -> object:
    try:
        return decode(data)
    except RemoteProtocolError as exc:
        assert exc.data == bytes(data)
        return exc


def with_size(data: bytes) -> bytes:
    """``data`` with its header's size field made right, so decoding goes past it."""
    if len(data) < 12:
        return data
    return data[:8] + struct.pack("<i", len(data)) + data[12:]


@pytest.mark.parametrize("decode", DECODERS, ids=lambda d: f"{d.__module__}.{d.__name__}")
@given(st.binary(max_size=512))
def test_any_bytes(decode: Callable[[bytes], object], data: bytes) -> None:
    decode_or_reject(decode, data)
    decode_or_reject(decode, with_size(data))


@pytest.mark.parametrize("fx", FIXTURES, ids=[str(f) for f in FIXTURES])
@given(data=st.data())
def test_mutated_fixture(fx: Fixture, data: st.DataObject) -> None:
    """Fixtures with bytes flipped, cut or added, size kept right: still object or error."""
    raw = bytearray(fx.data)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    tail = data.draw(st.binary(max_size=16))
    for candidate in (bytes(raw), bytes(raw[:cut]), bytes(raw) + tail):
        decode_or_reject(fx.decoder(), with_size(candidate))


@pytest.mark.parametrize(
    "name,offset",
    [("notification_quorum_initial", 40), ("notification_nodelist_initial", 48)],
)
def test_hostile_counts_are_rejected_before_reading(name: str, offset: int) -> None:
    fx = next(f for f in FIXTURES if f.name == name and f.service == "votequorum")
    raw = bytearray(fx.data)
    raw[offset : offset + 4] = struct.pack("<I", 0xFFFFFFFF)
    with pytest.raises(RemoteProtocolError) as err:
        votequorum.decode_notification(bytes(raw))
    assert err.value.data == bytes(raw)


def test_hostile_value_lengths_are_rejected() -> None:
    fx = next(f for f in FIXTURES if f.name == "notification_modify")
    raw = bytearray(fx.data)
    raw[320:328] = struct.pack("<Q", 2**64 - 1)
    with pytest.raises(RemoteProtocolError):
        cmap.decode_notification(bytes(raw))
    get = next(f for f in FIXTURES if f.name == "response_get_uint32")
    raw = bytearray(get.data)
    raw[40:44] = b"\0\0\0\0"
    raw[32] = 1  # INT8 with 4 bytes: the width does not match the type
    with pytest.raises(RemoteProtocolError):
        cmap.decode_response(bytes(raw))
