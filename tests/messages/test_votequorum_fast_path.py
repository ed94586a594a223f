"""votequorum's decode_notification (struct for well-formed events) against
decode_notification_by_schema (construct only): the same object or the same
error for any bytes."""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pyquorum.messages import _votequorum_schema as schema
from pyquorum.messages import votequorum as vq
from pyquorum.messages._schema import REQUEST_HEADER, RESPONSE_HEADER
from pyquorum.testing.strategies_services import (
    votequorum_notifications,
    votequorum_requests,
    votequorum_responses,
)
from tests.support.outcomes import (
    assert_same_decoding,
    assert_same_layout,
    encode_outcome,
    one_word_changed,
)

_same = functools.partial(assert_same_decoding, vq.decode_notification,
                          vq.decode_notification_by_schema)


@pytest.mark.parametrize(
    ("fast", "layout"),
    [
        (vq._VQ_HEADER, RESPONSE_HEADER),
        (vq._VQ_QUORUM, schema.QUORUM_NOTIFICATION_HEAD),
        (vq._VQ_NODELIST, schema.NODELIST_NOTIFICATION_HEAD),
        (vq._VQ_EXPECTED, schema.EXPECTEDVOTES_NOTIFICATION),
        (vq._REQ_U32, schema.GETINFO_REQUEST),
        (vq._REQ_U32, schema.SETEXPECTED_REQUEST),
        (vq._REQ_SETVOTES, schema.SETVOTES_REQUEST),
        (vq._REQ_TRACKSTART, schema.TRACKSTART_REQUEST),
        (vq._REQ_HEADER, REQUEST_HEADER),
        (vq._RES_GETINFO, schema.GETINFO_RESPONSE),
    ],
)
def test_fast_layouts_are_the_schemas(fast: struct.Struct, layout: object) -> None:
    assert_same_layout(fast, layout)


@given(st.binary(max_size=160))
@example(b"")
def test_any_bytes(raw: bytes) -> None:
    _same(raw)


@given(votequorum_notifications())
def test_every_encoded_event(event: vq.Notification) -> None:
    raw = vq.encode_notification(event)
    _same(raw)
    assert vq.decode_notification(raw) == event
    assert vq.decode_notification(bytearray(raw)) == event


@given(
    votequorum_notifications(),
    st.sampled_from((0, 8, 24, 32, 40, 48)),
    st.integers(0, 2**32 - 1) | st.integers(0, 8),
    st.binary(max_size=12),
    st.integers(0, 12),
)
def test_encoded_event_with_one_change(
    event: vq.Notification, offset: int, value: int, extra: bytes, cut: int
) -> None:
    for changed in one_word_changed(vq.encode_notification(event), offset, value, extra, cut):
        _same(changed)


_same_response = functools.partial(assert_same_decoding, vq.decode_response,
                                   vq.decode_response_by_schema)



@given(votequorum_requests())
def test_every_request_encodes_as_the_schema_builds_it(req: vq.Request) -> None:
    assert (encode_outcome(vq.encode_request, req)
            == encode_outcome(vq.encode_request_by_schema, req))


_ODD = st.one_of(st.integers(-(2**65), 2**65), st.none(), st.booleans(), st.text(max_size=3))


@given(
    st.sampled_from([vq.GetInfoRequest, vq.SetExpectedRequest, vq.SetVotesRequest,
                     vq.TrackStartRequest]),
    _ODD,
    _ODD,
)
def test_bad_arguments_fail_alike(
    cls: Callable[..., vq.Request], first: object, second: object
) -> None:
    args = (first,) if cls in (vq.GetInfoRequest, vq.SetExpectedRequest) else (first, second)
    req = cls(*args)
    assert (encode_outcome(vq.encode_request, req)
            == encode_outcome(vq.encode_request_by_schema, req))


@given(st.binary(max_size=340))
@example(b"")
def test_any_response_bytes(raw: bytes) -> None:
    _same_response(raw)


@given(
    votequorum_responses(),
    st.sampled_from((0, 8, 16, 24, 28, 52, 56, 60, 200, 316)),
    st.integers(0, 2**32 - 1) | st.integers(0, 8),
    st.binary(max_size=12),
    st.integers(0, 12),
)
def test_encoded_response_with_one_change(
    resp: vq.Response, offset: int, value: int, extra: bytes, cut: int
) -> None:
    raw = vq.encode_response(resp)
    _same_response(raw)
    assert vq.decode_response(raw) == resp
    for changed in one_word_changed(raw, offset, value, extra, cut):
        _same_response(changed)
