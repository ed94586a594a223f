"""Hostile bytes: decoders either succeed or raise RemoteProtocolError, nothing else."""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pyquorum.errors import RemoteProtocolError
from pyquorum.messages import (
    CONNECTION_RESPONSE_SIZE,
    ConnectionResponse,
    ErrorResponse,
    GetQuorateResponse,
    Message,
    NodelistNotification,
    Notification,
    QuorumNotification,
    QuorumNotificationV0,
    UnknownRequest,
    decode_connection_request,
    decode_connection_response,
    decode_notification,
    decode_request,
    decode_request_header,
    decode_response,
    decode_response_header,
)
from tests.support.message_fixtures import decoder_for, fixture_names, load

Decoder = Callable[[bytes], object]

DECODERS: list[Decoder] = [
    decode_connection_request,
    decode_connection_response,
    decode_request_header,
    decode_response_header,
    decode_request,
    decode_response,
    decode_notification,
]
#: Offsets of the list counts, by notification class (docs/protocol.md §6.4).
COUNT_OFFSETS: dict[type[Notification], tuple[int, ...]] = {
    QuorumNotificationV0: (40,),
    QuorumNotification: (48,),
    NodelistNotification: (40, 48, 56),
}
FIXTURES = [(name, *load(name)) for name in fixture_names()]


def decode_or_reject(decode: Decoder, data: bytes | bytearray | memoryview) -> object:
    """Run ``decode``; a rejection must be a well-formed RemoteProtocolError."""
    try:
        return decode(data)  # type: ignore[arg-type]
    except RemoteProtocolError as exc:
        assert exc.data == bytes(data)
        assert exc.field is None or isinstance(exc.field, str)
        # A truncated message names the first missing field, which may lie past the end.
        assert exc.offset is None or 0 <= exc.offset <= CONNECTION_RESPONSE_SIZE
        return exc


def assert_rejected(decode: Decoder, data: bytes) -> RemoteProtocolError:
    result = decode_or_reject(decode, data)
    assert isinstance(result, RemoteProtocolError), f"accepted {data.hex()} as {result!r}"
    return result


def with_i32(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack("<i", value) + data[offset + 4 :]


def with_u32(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack("<I", value) + data[offset + 4 :]


# ------------------------------------------------------------------ arbitrary bytes


@pytest.mark.parametrize("decode", DECODERS, ids=lambda d: d.__name__)
@given(data=st.binary(max_size=256), kind=st.sampled_from([bytes, bytearray, memoryview]))
@example(data=b"", kind=bytes)
def test_arbitrary_bytes(decode: Decoder, data: bytes, kind: type) -> None:
    decode_or_reject(decode, kind(data))


def framed(ids: st.SearchStrategy[int]) -> st.SearchStrategy[bytes]:
    """At least a response header, with an interesting id and an honest size, so the
    decoder gets past its first checks and into the bodies."""
    return st.builds(
        lambda ident, rest: struct.pack("<i4xi4x", ident, 16 + len(rest)) + rest,
        ids,
        st.binary(min_size=8, max_size=120),
    )


@given(framed(st.sampled_from([0, 1, 2, 4, 5, 6, 7, 99, -1])))
def test_framed_responses(data: bytes) -> None:
    decode_or_reject(decode_response, data)


@given(framed(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 7, -1])))
def test_framed_notifications(data: bytes) -> None:
    decode_or_reject(decode_notification, data)


@given(st.sampled_from([0, 1, 2, 3, 4, 5, -1, -3]), st.binary(max_size=64))
def test_framed_requests(ident: int, body: bytes) -> None:
    data = struct.pack("<i4xi4x", ident, 16 + len(body)) + body
    decode_or_reject(decode_request, data)


@given(
    counts=st.lists(st.integers(0, 2**32 - 1), min_size=3, max_size=3),
    ident=st.sampled_from([3, 6, 7]),
    extra=st.integers(0, 64),
)
def test_hostile_counts(counts: list[int], ident: int, extra: int) -> None:
    data = bytearray(64 + 4 * extra)
    struct.pack_into("<i4xi4xi", data, 0, ident, len(data), 1)
    for offset, count in zip((40, 48, 56), counts, strict=True):
        struct.pack_into("<I", data, offset, count)
    decode_or_reject(decode_notification, bytes(data))


path_fields = st.builds(
    lambda text, nul, fill: (text + (b"\0" if nul else b"")).ljust(4096, fill)[:4096],
    st.binary(max_size=64),
    st.booleans(),
    st.sampled_from([b"\0", b"\xff", b"a"]),
)


@given(st.lists(path_fields, min_size=3, max_size=3), st.integers(-(2**31), 2**31 - 1))
def test_connection_response_paths(paths: list[bytes], error: int) -> None:
    head = struct.pack("<i4xi4xi4xiIq", -1, CONNECTION_RESPONSE_SIZE, error, 1, 4096, 0)
    decoded = decode_or_reject(decode_connection_response, head + b"".join(paths))
    terminated = all(b"\0" in p for p in paths)
    assert isinstance(decoded, ConnectionResponse) == terminated
    if isinstance(decoded, ConnectionResponse):
        assert [os.fsencode(decoded.request), os.fsencode(decoded.response),
                os.fsencode(decoded.event)] == [p.split(b"\0", 1)[0] for p in paths]


# ------------------------------------------------------------------ mutations of captures


@pytest.mark.parametrize(("name", "data", "msg"), FIXTURES, ids=[f[0] for f in FIXTURES])
def test_every_truncation_is_rejected(name: str, data: bytes, msg: Message) -> None:
    decode = decoder_for(msg)
    for cut in range(len(data)):
        assert_rejected(decode, data[:cut])


@pytest.mark.parametrize(("name", "data", "msg"), FIXTURES, ids=[f[0] for f in FIXTURES])
def test_extra_bytes_are_rejected_where_the_format_has_no_room(
    name: str, data: bytes, msg: Message
) -> None:
    decode = decoder_for(msg)
    for extra in (1, 4, 8):
        longer = data + bytes(extra)
        assert_rejected(decode, longer)  # size no longer matches the bytes
        honest = with_i32(longer, 8, len(longer))
        if isinstance(msg, UnknownRequest):
            assert decode(honest) == UnknownRequest(msg.id, len(honest), msg.body + bytes(extra))
        elif isinstance(msg, ErrorResponse) and extra == 8:
            # id 0 with size 32 *is* a GETQUORATE response (docs/protocol.md §6.3).
            assert decode(honest) == GetQuorateResponse(msg.error, False)
        else:
            assert_rejected(decode, honest)


@pytest.mark.parametrize(("name", "data", "msg"), FIXTURES, ids=[f[0] for f in FIXTURES])
def test_bad_size_fields_are_rejected(name: str, data: bytes, msg: Message) -> None:
    decode = decoder_for(msg)
    for size in (0, -1, -(2**31), 2**31 - 1, len(data) - 1, len(data) + 1, len(data) - 4,
                 len(data) + 4, 8, 16, 24):
        if size != len(data):
            error = assert_rejected(decode, with_i32(data, 8, size))
            assert (error.field, error.offset) == ("size", 8)
    for garbage in (1, 0xFFFF, 0x7FFF_FFFF):  # the high half of the size slot is padding
        assert decode(with_u32(data, 12, garbage)) == msg


@pytest.mark.parametrize(
    ("name", "data", "msg"),
    [f for f in FIXTURES if isinstance(f[2], tuple(COUNT_OFFSETS))],
    ids=[f[0] for f in FIXTURES if isinstance(f[2], tuple(COUNT_OFFSETS))],
)
def test_bumped_counts_are_rejected(name: str, data: bytes, msg: Notification) -> None:
    for offset in COUNT_OFFSETS[type(msg)]:
        count = struct.unpack_from("<I", data, offset)[0]
        for bad in {count + 1, count + 2, 2**31, 2**32 - 1, *([count - 1] if count else [])}:
            error = assert_rejected(decode_notification, with_u32(data, offset, bad))
            assert error.offset in (40, 48)  # the first count of the message
            assert error.field in ("view_list_entries", "member_list_entries")


@pytest.mark.parametrize(("name", "data", "msg"), FIXTURES, ids=[f[0] for f in FIXTURES])
def test_changed_ids_never_escape(name: str, data: bytes, msg: Message) -> None:
    decode = decoder_for(msg)
    for ident in (-3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 99, 2**31 - 1, -(2**31)):
        decode_or_reject(decode, with_i32(data, 0, ident))


def test_a_huge_count_in_a_big_message_costs_nothing() -> None:
    """A count of 2**32-1 is refused from the header alone: no list is built, no loop runs."""
    data = bytearray(1 << 20)
    struct.pack_into("<i4xi4xi4x", data, 0, 7, len(data), 1)
    struct.pack_into("<I", data, 40, 2**32 - 1)
    started = time.perf_counter()
    for _ in range(20):
        assert_rejected(decode_notification, bytes(data))
    assert time.perf_counter() - started < 1.0
