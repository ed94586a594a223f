"""decode_notification's struct fast path against the construct schemas it shortcuts.

Any bytes decode to the same object, or raise the same error, through
``decode_notification`` (struct for well-formed known events) and
``decode_notification_by_schema`` (construct only).  Random bytes alone
rarely make a valid event, so most examples start from an encoded event and
then change one thing: a count, the size, the id, the length.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pyquorum.messages import _notifications
from pyquorum.messages._notifications import decode_notification_by_schema
from pyquorum.messages._schema import (
    NODELIST_NOTIFICATION_HEAD,
    QUORUM_NOTIFICATION_HEAD,
    QUORUM_NOTIFICATION_V0_HEAD,
    RESPONSE_HEADER,
)
from pyquorum.messages.quorum import decode_notification, encode_notification
from pyquorum.messages.types import NodelistNotification, RingId
from pyquorum.testing.strategies import notifications
from tests.support.outcomes import assert_same_layout, decode_outcome, one_word_changed


def _same(raw: bytes) -> None:
    assert decode_outcome(decode_notification, raw, with_hash=True) == decode_outcome(
        decode_notification_by_schema, raw, with_hash=True
    )


@pytest.mark.parametrize(
    ("fast", "schema"),
    [
        (_notifications._HEADER, RESPONSE_HEADER),
        (_notifications._NODELIST, NODELIST_NOTIFICATION_HEAD),
        (_notifications._QUORUM, QUORUM_NOTIFICATION_HEAD),
        (_notifications._V0, QUORUM_NOTIFICATION_V0_HEAD),
    ],
)
def test_fast_layouts_are_the_schemas_fixed_parts(fast: struct.Struct, schema: object) -> None:
    assert_same_layout(fast, schema)


@given(st.binary(max_size=200))
@example(b"")
@example(bytes(64))
def test_any_bytes(raw: bytes) -> None:
    _same(raw)


@given(notifications())
def test_every_encoded_event(event: object) -> None:
    raw = encode_notification(event)  # type: ignore[arg-type]
    _same(raw)
    assert decode_notification(raw) == event


# Offsets of the fields worth corrupting: id, size, and each list count.
_WORDS = (0, 8, 24, 32, 40, 44, 48, 56)


@given(
    notifications(),
    st.sampled_from(_WORDS),
    st.integers(0, 2**32 - 1) | st.integers(0, 8),
    st.binary(max_size=12),
    st.integers(0, 12),
)
def test_encoded_event_with_one_change(
    event: object, offset: int, value: int, extra: bytes, cut: int
) -> None:
    # Longer or shorter messages whose size field follows them, and ones whose does not.
    encoded = encode_notification(event)  # type: ignore[arg-type]
    for changed in one_word_changed(encoded, offset, value, extra, cut):
        _same(changed)


@given(st.integers(0, 384), st.integers(0, 384), st.integers(0, 384))
def test_large_lists(m: int, j: int, left: int) -> None:
    event = NodelistNotification(
        RingId(1, 2), tuple(range(m)), tuple(range(j)), tuple(range(left))
    )
    raw = encode_notification(event)
    _same(raw)
    assert decode_notification(bytearray(raw)) == event
    assert decode_notification(memoryview(raw)) == event
