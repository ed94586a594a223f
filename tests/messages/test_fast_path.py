"""decode_response's struct fast path agrees with the construct schemas it shortcuts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pyquorum.messages._schema import RESPONSE_HEADER, VALUE_RESPONSE
from pyquorum.messages.quorum import _fixed_fields


@given(st.binary(min_size=32, max_size=32))
def test_32_byte_shape_matches_value_response_schema(raw: bytes) -> None:
    msg = VALUE_RESPONSE.parse(raw)
    expected = (msg.num("id"), msg.num("size"), msg.num("error"), msg.num("value"))
    assert _fixed_fields(raw) == expected


@given(st.binary(min_size=24, max_size=31) | st.binary(min_size=33, max_size=64))
def test_other_lengths_read_the_response_header_schema(raw: bytes) -> None:
    msg = RESPONSE_HEADER.parse(raw[:24])
    assert _fixed_fields(raw) == (msg.num("id"), msg.num("size"), msg.num("error"), 0)
