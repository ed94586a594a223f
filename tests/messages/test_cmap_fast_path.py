"""cmap's struct fast paths against the construct schemas they shortcut:
the same layouts, and the same bytes, object or error on any input."""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pyquorum.messages import _cmap_schema as schema
from pyquorum.messages import cmap as cm
from pyquorum.messages._schema import RESPONSE_HEADER
from pyquorum.messages.constants import CmapTrack, CmapValueType
from pyquorum.testing.strategies_services import (
    cmap_keys,
    cmap_notifications,
    cmap_requests,
    cmap_responses,
)
from tests.support.outcomes import (
    assert_same_decoding,
    assert_same_layout,
    encode_outcome,
    one_word_changed,
)

_same_response = functools.partial(assert_same_decoding, cm.decode_response,
                                   cm.decode_response_by_schema)
_same_notification = functools.partial(assert_same_decoding, cm.decode_notification,
                                       cm.decode_notification_by_schema)


@pytest.mark.parametrize(
    ("fast", "layout"),
    [
        (cm._RES_HEADER, RESPONSE_HEADER),
        (cm._KEY_REQUEST, schema.KEY_REQUEST),
        (cm._GET_REQUEST, schema.GET_REQUEST),
        (cm._HANDLE_REQUEST, schema.HANDLE_REQUEST),
        (cm._HANDLE_RESPONSE, schema.HANDLE_RESPONSE),
        (cm._GET_RESPONSE_HEAD, schema.GET_RESPONSE_HEAD),
        (cm._ITER_NEXT_RESPONSE, schema.ITER_NEXT_RESPONSE),
        (cm._NOTIFY_HEAD, schema.NOTIFY_CALLBACK_HEAD),
    ],
)
def test_fast_layouts_are_the_schemas(fast: struct.Struct, layout: object) -> None:
    assert_same_layout(fast, layout)


def test_the_largest_get_room_is_the_schemas() -> None:
    assert 2**31 - 1 - schema.GET_RESPONSE_HEAD.size == cm._MAX_ROOM


@given(cmap_requests())
def test_every_request_encodes_as_the_schema_builds_it(req: cm.Request) -> None:
    assert cm.encode_request(req) == cm.encode_request_by_schema(req)


_ODD = st.one_of(st.integers(-(2**65), 2**65), st.text(max_size=300), st.none(), st.booleans(),
                 st.binary(max_size=4))


@given(
    st.sampled_from([cm.GetRequest, cm.IterInitRequest, cm.DeleteRequest, cm.IterNextRequest,
                     cm.IterFinalizeRequest, cm.TrackDeleteRequest]),
    _ODD | cmap_keys(allow_empty=True),
    _ODD,
)
def test_bad_arguments_fail_alike(
    cls: Callable[..., cm.Request], first: object, second: object
) -> None:
    args = (first, second) if cls is cm.GetRequest else (first,)
    req = cls(*args)
    assert (encode_outcome(cm.encode_request, req)
            == encode_outcome(cm.encode_request_by_schema, req))


@given(st.binary(max_size=400))
@example(b"")
def test_any_bytes(raw: bytes) -> None:
    _same_response(raw)
    _same_notification(raw)


@given(cmap_responses())
def test_every_encoded_response(resp: cm.Response) -> None:
    raw = cm.encode_response(resp)
    _same_response(raw)
    assert cm.decode_response(raw) == resp
    assert cm.decode_response(bytearray(raw)) == resp


@given(cmap_notifications())
def test_every_encoded_notification(note: cm.Notification) -> None:
    raw = cm.encode_notification(note)
    _same_notification(raw)
    assert cm.decode_notification(raw) == note
    assert cm.decode_notification(memoryview(raw)) == note


@given(
    st.one_of(cmap_responses().map(cm.encode_response),
              cmap_notifications().map(cm.encode_notification)),
    st.sampled_from((0, 8, 16, 24, 32, 40, 288, 296, 304, 312, 320, 328)),
    st.integers(0, 2**32 - 1) | st.integers(0, 400),
    st.binary(max_size=12),
    st.integers(0, 12),
)
def test_encoded_message_with_one_change(
    encoded: bytes, offset: int, value: int, extra: bytes, cut: int
) -> None:
    for changed in one_word_changed(encoded, offset, value, extra, cut):
        _same_response(changed)
        _same_notification(changed)


_ITER_NEXT = cm.encode_response(cm.IterNextResponse(0, "totem.cluster_name", 4, 7))
_NOTIFY = cm.encode_notification(cm.NotifyCallback(
    5, "runtime.x", CmapTrack.MODIFY,
    cm.CmapValue(CmapValueType.UINT32, 2), cm.CmapValue(CmapValueType.UINT32, 1),
))


def _with(raw: bytes, offset: int, patch: bytes) -> bytes:
    return raw[:offset] + patch + raw[offset + len(patch):]


@pytest.mark.parametrize(
    "raw",
    [
        _with(_ITER_NEXT, 24, (256).to_bytes(2, "little")),  # key longer than a name holds
        _with(_ITER_NEXT, 32, b"to\0em"),  # a NUL within the key's length
        _with(_NOTIFY, 32, (300).to_bytes(2, "little")),
        _with(_NOTIFY, 40, b"run\0"),
        _with(_NOTIFY, 304, b"\0"),  # new value of type 0 with 4 bytes
        _with(_NOTIFY, 312, b"\x63"),  # old value of a type no cmap has
        _with(_NOTIFY, 304, b"\x06"),  # a 4-byte value called a u64
    ],
    ids=["iter-key-long", "iter-key-nul", "notify-key-long", "notify-key-nul", "notify-type-0",
         "notify-old-unknown-type", "notify-wrong-width"],
)
def test_bad_keys_and_values_fail_alike(raw: bytes) -> None:
    """Each names the same field at the same offset either way (the fast path passes
    the offsets by hand)."""
    _same_response(raw)
    _same_notification(raw)
