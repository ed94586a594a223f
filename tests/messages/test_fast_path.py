"""The struct fast paths (decode_response, decode_connection_response) agree
with the construct schemas they shortcut."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyquorum.errors import RemoteProtocolError
from pyquorum.messages._schema import (
    CONNECTION_REQUEST,
    CONNECTION_RESPONSE,
    MODEL_GETTYPE_REQUEST,
    REQUEST_HEADER,
    RESPONSE_HEADER,
    TRACKSTART_REQUEST,
    VALUE_RESPONSE,
)
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


# ------------------------------------------------ what a client sends, packed with struct


@given(st.integers(0, 2**32 - 1))
def test_connection_request_is_what_the_schema_builds(max_msg_size: int) -> None:
    from pyquorum.messages.libqb import encode_connection_request

    assert encode_connection_request(max_msg_size) == CONNECTION_REQUEST.build(
        {"id": -1, "size": CONNECTION_REQUEST.size, "max_msg_size": max_msg_size}
    )


def test_path_offsets_are_the_schemas() -> None:
    from pyquorum.messages.libqb import _PATH_OFFSETS

    assert {
        name: CONNECTION_RESPONSE.fields[name][0] for name in ("request", "response", "event")
    } == _PATH_OFFSETS


@given(st.integers(0, 2**32 - 1))
def test_u32_requests_are_what_the_schemas_build(value: int) -> None:
    from pyquorum.messages.quorum import _model_gettype_request, _trackstart_request

    assert _trackstart_request(value) == TRACKSTART_REQUEST.build(
        {"id": 1, "size": TRACKSTART_REQUEST.size, "track_flags": value}
    )
    assert _model_gettype_request(value) == MODEL_GETTYPE_REQUEST.build(
        {"id": 4, "size": MODEL_GETTYPE_REQUEST.size, "model": value}
    )


@given(st.integers(-(2**31), 2**31 - 1))
def test_header_only_requests_are_what_the_schema_builds(ident: int) -> None:
    from pyquorum.messages.quorum import _REQUEST_HEADER_PACK

    assert _REQUEST_HEADER_PACK.pack(ident, 16) == REQUEST_HEADER.build(
        {"id": ident, "size": 16}
    )


def test_a_client_session_never_imports_construct() -> None:
    """Connecting, requesting and decoding events take the struct paths only."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from pyquorum.messages.libqb import encode_connection_request\n"
        "from pyquorum.messages.quorum import encode_request, decode_response, "
        "decode_notification\n"
        "from pyquorum.messages.types import GetQuorateRequest, TrackStartRequest, "
        "ModelGetTypeRequest\n"
        "encode_connection_request(1 << 20)\n"
        "for r in (GetQuorateRequest(), TrackStartRequest(1), ModelGetTypeRequest(1)):\n"
        "    encode_request(r)\n"
        "decode_response(bytes(8) + (32).to_bytes(4, 'little') + bytes(20))\n"
        "decode_notification(b'\\x06' + bytes(7) + b'\\x38' + bytes(47))\n"
        "print('construct' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def _request_bytes() -> st.SearchStrategy[bytes]:
    """Any bytes, and above all the 16- and 24-byte shapes of the known requests
    (ids -1..6, the size field right or wrong, any flags, model or padding)."""
    shaped = st.builds(
        lambda ident, pad1, size, pad2, tail: (
            ident.to_bytes(4, "little", signed=True) + pad1
            + size.to_bytes(4, "little", signed=True) + pad2 + tail
        ),
        st.integers(-1, 6), st.sampled_from([b"\0" * 4, b"\1\0\0\0"]),
        st.sampled_from([16, 24, 23, 0, -1]), st.sampled_from([b"\0" * 4, b"\0\0\0\x80"]),
        st.sampled_from([b""]) | st.binary(min_size=8, max_size=8) | st.binary(max_size=12),
    )
    return shaped | st.binary(max_size=40)


@given(_request_bytes())
def test_decode_request_is_the_schema_decoder_on_any_bytes(raw: bytes) -> None:
    from pyquorum.messages.quorum import decode_request, decode_request_by_schema

    try:
        expected: object = decode_request_by_schema(raw)
    except RemoteProtocolError as exc:
        with pytest.raises(RemoteProtocolError) as caught:
            decode_request(raw)
        assert str(caught.value) == str(exc)
    else:
        got = decode_request(raw)
        assert got == expected and type(got) is type(expected)
        assert repr(got) == repr(expected)  # (a Model or Track, not just an equal int)
