"""decode(encode(x)) == x for every message type, field types included."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyquorum.messages import (
    ConnectionResponse,
    ConnectionType,
    Message,
    RequestHeader,
    ResponseHeader,
    decode_request_header,
    decode_response_header,
    encode_request_header,
    encode_response_header,
)
from pyquorum.testing import strategies as qs
from tests.support.message_fixtures import decoder_for, encode, garbage_ranges

PER_CLASS: list[Callable[[], st.SearchStrategy[Any]]] = [
    qs.connection_requests,
    qs.connection_responses,
    qs.getquorate_requests,
    qs.trackstart_requests,
    qs.trackstop_requests,
    qs.gettype_requests,
    qs.model_gettype_requests,
    qs.unknown_requests,
    qs.getquorate_responses,
    qs.trackstart_responses,
    qs.trackstop_responses,
    qs.gettype_responses,
    qs.model_gettype_responses,
    qs.error_responses,
    qs.quorum_notifications_v0,
    qs.quorum_notifications,
    qs.nodelist_notifications,
    qs.unknown_notifications,
]
UNIONS = [qs.requests, qs.responses, qs.notifications]


def field_types(msg: Message) -> list[type]:
    return [type(getattr(msg, f.name)) for f in fields(msg)]  # type: ignore[arg-type]


def check_round_trip(msg: Message) -> None:
    data = encode(msg)
    decoded = decoder_for(msg)(data)
    assert decoded == msg
    assert type(decoded) is type(msg)
    assert field_types(decoded) == field_types(msg)
    # The i32 size @8 always tells the truth, and what we send has no garbage.
    assert int.from_bytes(data[8:12], "little", signed=True) == len(data)
    for start, end in garbage_ranges(msg, len(data)):
        assert data[start:end] == bytes(end - start), (start, end)


@pytest.mark.parametrize("strategy", PER_CLASS + UNIONS, ids=lambda s: s.__name__)
@given(data=st.data())
def test_round_trip(
    strategy: Callable[[], st.SearchStrategy[Message]], data: st.DataObject
) -> None:
    check_round_trip(data.draw(strategy()))


@given(qs.request_headers())
def test_request_header_round_trip(header: RequestHeader) -> None:
    raw = encode_request_header(header.id, header.size)
    assert len(raw) == 16
    assert decode_request_header(raw) == header


@given(qs.response_headers())
def test_response_header_round_trip(header: ResponseHeader) -> None:
    raw = encode_response_header(header.id, header.size, header.error)
    assert len(raw) == 24
    decoded = decode_response_header(raw)
    assert decoded == header
    assert type(decoded.error) is type(header.error)


@given(qs.nodelist_notifications(), st.binary(min_size=4, max_size=4))
def test_trailing_bytes_do_not_matter(msg: Message, tail: bytes) -> None:
    data = encode(msg)
    assert decoder_for(msg)(data[:-4] + tail) == msg


@given(qs.paths(max_bytes=4095))
def test_long_paths_round_trip(path: str) -> None:
    msg = ConnectionResponse(0, ConnectionType.SHM, 1 << 20, 0, path, path, "")
    check_round_trip(msg)
