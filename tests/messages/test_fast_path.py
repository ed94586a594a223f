"""The struct fast paths (decode_response, decode_connection_response) agree
with the construct schemas they shortcut."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyquorum.errors import RemoteProtocolError
from pyquorum.messages._schema import CONNECTION_RESPONSE, RESPONSE_HEADER, VALUE_RESPONSE
from pyquorum.messages.constants import CONNECTION_RESPONSE_SIZE, PATH_MAX
from pyquorum.messages.libqb import _connection_response_head, decode_connection_response
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


# ------------------------------------------------------ the connection response

_HEAD = ("id", "size", "error", "connection_type", "max_msg_size", "connection")


@given(st.binary(min_size=40, max_size=40))
def test_connection_response_head_reads_the_schema_fields(head: bytes) -> None:
    raw = head + bytes(CONNECTION_RESPONSE_SIZE - 40)
    msg = CONNECTION_RESPONSE.parse(raw)
    assert _connection_response_head(raw) == tuple(msg.num(name) for name in _HEAD)


def _valid_head(connection_type: int) -> bytes:
    raw = bytearray(CONNECTION_RESPONSE_SIZE)
    for name, value in (("id", -1), ("size", CONNECTION_RESPONSE_SIZE),
                        ("connection_type", connection_type), ("max_msg_size", 1 << 20)):
        offset, width = CONNECTION_RESPONSE.fields[name]
        assert width == 4
        raw[offset : offset + 4] = value.to_bytes(4, "little", signed=True)
    return bytes(raw)


@given(
    st.binary(max_size=PATH_MAX), st.binary(max_size=PATH_MAX), st.binary(max_size=PATH_MAX)
)
def test_paths_are_what_the_schema_holds_up_to_the_first_nul(
    request: bytes, response: bytes, event: bytes
) -> None:
    raw = bytearray(_valid_head(1))
    for name, value in (("request", request), ("response", response), ("event", event)):
        offset, _ = CONNECTION_RESPONSE.fields[name]
        raw[offset : offset + len(value)] = value
    msg = CONNECTION_RESPONSE.parse(bytes(raw))
    expected = {}
    for name in ("request", "response", "event"):
        field = msg.raw(name)
        expected[name] = None if b"\0" not in field else os.fsdecode(field.split(b"\0")[0])
    if None in expected.values():
        missing = next(name for name, value in expected.items() if value is None)
        with pytest.raises(RemoteProtocolError, match=f"{missing} path has no terminating NUL"):
            decode_connection_response(bytes(raw))
        return
    decoded = decode_connection_response(bytes(raw))
    assert (decoded.request, decoded.response, decoded.event) == (
        expected["request"], expected["response"], expected["event"],
    )
