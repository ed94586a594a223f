"""The decoding rules that are easy to get wrong, one by one (docs/protocol.md §6, §10)."""

from __future__ import annotations

import struct

import pytest

import pyquorum.messages as messages
from pyquorum.errors import CsErrorCode, RemoteProtocolError
from pyquorum.messages import (
    RESPONSE_ID_FOR_REQUEST,
    ConnectionResponse,
    ConnectionType,
    ErrorResponse,
    GetQuorateRequest,
    GetQuorateResponse,
    GetTypeRequest,
    GetTypeResponse,
    Model,
    ModelGetTypeRequest,
    ModelGetTypeResponse,
    QuorumNotification,
    QuorumType,
    RequestHeader,
    RequestId,
    ResponseHeader,
    ResponseId,
    RingId,
    Track,
    TrackStartRequest,
    TrackStopRequest,
    UnknownNotification,
    UnknownRequest,
    decode_connection_request,
    decode_connection_response,
    decode_notification,
    decode_request,
    decode_request_header,
    decode_response,
    decode_response_header,
    encode_connection_response,
    encode_notification,
    encode_request,
    encode_response,
    request_id_of,
)
from tests.support.message_fixtures import load


def response(ident: int, error: int, *body: int) -> bytes:
    size = 24 + 8 * len(body)
    return struct.pack("<i4xi4xi4x", ident, size, error) + b"".join(
        struct.pack("<I4x", v) for v in body
    )


# ------------------------------------------------------------------ responses


def test_id_zero_is_told_apart_by_size() -> None:
    assert decode_response(response(0, 7)) == ErrorResponse(CsErrorCode.ERR_INVALID_PARAM)
    assert decode_response(response(0, 1, 1)) == GetQuorateResponse(CsErrorCode.OK, True)


def test_gettype_answers_carry_ids_four_and_five() -> None:
    assert decode_response(response(4, 1, 0)) == GetTypeResponse(1, QuorumType.FREE)
    assert decode_response(response(5, 1, 1)) == ModelGetTypeResponse(1, QuorumType.SET)
    assert encode_response(GetTypeResponse(1, 1))[:4] == b"\4\0\0\0"
    assert encode_response(ModelGetTypeResponse(1, 1))[:4] == b"\5\0\0\0"


@pytest.mark.parametrize(
    "data",
    [response(3, 1), response(3, 1, 0), response(4, 1), response(1, 1, 0), response(0, 1, 0, 0),
     response(6, 1, 0, 0, 0, 0), response(99, 7), response(-1, 1)],
    ids=["id3", "id3-32", "gettype-24", "trackstart-32", "id0-40", "notification", "id99", "id-1"],
)
def test_a_response_that_matches_no_request_is_a_protocol_error(data: bytes) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_response(data)
    assert info.value.data == data
    assert (info.value.field, info.value.offset) in {("id", 0), ("size", 8)}


def test_error_fields_are_cs_error_codes_when_known() -> None:
    known = decode_response(response(1, 14))
    assert known.error is CsErrorCode.ERR_EXIST
    unknown = decode_response(response(1, 29))  # there is no cs_error_t 29
    assert type(unknown.error) is int and unknown.error == 29
    negative = decode_response(response(2, -5))
    assert type(negative.error) is int and negative.error == -5


def test_quorum_type_is_an_enum_when_known() -> None:
    resp = decode_response(response(4, 1, 1))
    assert isinstance(resp, GetTypeResponse)
    assert resp.quorum_type is QuorumType.SET
    other = decode_response(response(5, 1, 9))
    assert isinstance(other, ModelGetTypeResponse)
    assert type(other.quorum_type) is int and other.quorum_type == 9


def test_any_nonzero_quorate_is_true() -> None:
    assert decode_response(response(0, 1, 0xFFFFFFFF)) == GetQuorateResponse(1, True)
    assert decode_response(response(0, 1, 0)) == GetQuorateResponse(1, False)


def test_garbage_in_the_high_halves_is_ignored() -> None:
    clean = response(0, 1, 1)
    dirty = bytearray(clean)
    for pad in (4, 12, 20, 28):
        dirty[pad : pad + 4] = b"\xde\xad\xbe\xef"
    assert decode_response(bytes(dirty)) == decode_response(clean)
    assert encode_response(decode_response(bytes(dirty))) == clean


# ------------------------------------------------------------------ requests


def test_track_flags_keep_unknown_bits() -> None:
    req = decode_request(encode_request(TrackStartRequest(Track(0x103))))
    assert isinstance(req, TrackStartRequest)
    assert req.flags == 0x103
    assert Track.CURRENT in req.flags and Track.CHANGES in req.flags
    assert isinstance(req.flags, Track)


def test_unknown_models_decode_to_plain_ints() -> None:
    assert decode_request(encode_request(ModelGetTypeRequest(Model.V1))) == ModelGetTypeRequest(
        Model.V1
    )
    req = decode_request(encode_request(ModelGetTypeRequest(7)))
    assert isinstance(req, ModelGetTypeRequest)
    assert type(req.model) is int and req.model == 7


def test_unknown_request_ids_are_kept_for_the_server() -> None:
    data = struct.pack("<i4xi4x", 99, 20) + b"abcd"
    assert decode_request(data) == UnknownRequest(99, 20, b"abcd")


@pytest.mark.parametrize("ident", [0, 2, 3])
def test_header_only_requests_have_no_body(ident: int) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_request(struct.pack("<i4xi4x", ident, 24) + bytes(8))


def test_request_ids_and_their_answers() -> None:
    assert request_id_of(GetQuorateRequest()) == 0
    assert request_id_of(TrackStartRequest(Track.CURRENT)) == 1
    assert request_id_of(TrackStopRequest()) == 2
    assert request_id_of(GetTypeRequest()) == 3
    assert request_id_of(ModelGetTypeRequest(Model.V1)) == 4
    assert request_id_of(UnknownRequest(42, 16, b"")) == 42
    assert RESPONSE_ID_FOR_REQUEST[RequestId.GETTYPE] is ResponseId.GETTYPE
    assert RESPONSE_ID_FOR_REQUEST[RequestId.MODEL_GETTYPE] is ResponseId.MODEL_GETTYPE
    assert [int(RESPONSE_ID_FOR_REQUEST[r]) for r in RequestId] == [0, 1, 2, 4, 5]
    for req_id, resp_id in RESPONSE_ID_FOR_REQUEST.items():
        assert encode_request(_request_for(req_id))[:4] == struct.pack("<i", req_id)
        assert resp_id in (0, 1, 2, 4, 5)


def _request_for(ident: RequestId) -> messages.Request:
    return {
        RequestId.GETQUORATE: GetQuorateRequest(),
        RequestId.TRACKSTART: TrackStartRequest(Track.CURRENT),
        RequestId.TRACKSTOP: TrackStopRequest(),
        RequestId.GETTYPE: GetTypeRequest(),
        RequestId.MODEL_GETTYPE: ModelGetTypeRequest(Model.V0),
    }[ident]


def test_encoded_requests_match_libquorum_captures() -> None:
    """docs/protocol.md §6.2: the bytes libquorum sends (its padding garbage aside)."""
    assert encode_request(GetQuorateRequest()).hex() == "00000000000000001000000000000000"
    assert encode_request(ModelGetTypeRequest(Model.V1)).hex() == (
        "040000000000000018000000000000000100000000000000"
    )
    assert encode_request(TrackStartRequest(Track.CURRENT | Track.CHANGES)).hex() == (
        "010000000000000018000000000000000300000000000000"
    )


# ------------------------------------------------------------------ notifications


def test_notification_lists_start_before_the_struct_end() -> None:
    data = encode_notification(QuorumNotification(True, RingId(1, 35), (1, 2)))
    assert len(data) == 64
    assert struct.unpack_from("<II", data, 52) == (1, 2)
    assert data[60:] == bytes(4)


def test_the_notification_header_error_is_not_checked() -> None:
    """libquorum ignores it; corosync always sends CS_OK."""
    data, expected = load("notification_v1_quorum_join")
    assert decode_notification(data[:16] + struct.pack("<i", 9) + data[20:]) == expected


def test_unknown_notifications_round_trip() -> None:
    data = struct.pack("<i4xi4xi4x", 42, 28, 3) + b"\1\2\3\4"
    event = decode_notification(data)
    assert event == UnknownNotification(42, CsErrorCode.ERR_VERSION, b"\1\2\3\4")
    assert encode_notification(event) == data


# ------------------------------------------------------------------ libqb


def test_header_decoders_read_a_prefix() -> None:
    """A transport peeks at 16 bytes to learn a datagram's size; the rest is not looked at."""
    data, _ = load("notification_v1_nodelist_join")
    assert decode_request_header(data[:16]) == RequestHeader(7, 76)
    assert decode_response_header(data) == ResponseHeader(7, 76, CsErrorCode.OK)
    with pytest.raises(RemoteProtocolError):
        decode_request_header(data[:15])
    with pytest.raises(RemoteProtocolError):
        decode_request_header(struct.pack("<i4xi4x", 0, 8))


def test_connection_request_must_authenticate() -> None:
    data, _ = load("connection_request")
    with pytest.raises(RemoteProtocolError) as info:
        decode_connection_request(struct.pack("<i", 0) + data[4:])
    assert (info.value.field, info.value.offset) == ("id", 0)


def test_connection_response_error_is_a_negative_errno() -> None:
    data, _ = load("connection_response_eagain")
    resp = decode_connection_response(data)
    assert type(resp.error) is int and resp.error == -11
    assert resp.connection_type == ConnectionType.SOCKET  # all-zero denial


def test_connection_type_is_an_enum_when_known() -> None:
    data, _ = load("connection_response_shm")
    assert decode_connection_response(data).connection_type is ConnectionType.SHM
    odd = encode_connection_response(ConnectionResponse(0, 9, 4096, 0, "", "", ""))
    assert type(decode_connection_response(odd).connection_type) is int


def test_an_unterminated_path_is_refused() -> None:
    data = bytearray(load("connection_response_shm")[0])
    data[4136 : 4136 + 4096] = b"x" * 4096
    with pytest.raises(RemoteProtocolError) as info:
        decode_connection_response(bytes(data))
    assert (info.value.field, info.value.offset) == ("response", 4136)


def test_paths_that_are_not_utf8_survive() -> None:
    raw = b"/dev/shm/\xff\xfe-quorum"
    data = bytearray(load("connection_response_shm")[0])
    data[40 : 40 + 4096] = raw.ljust(4096, b"\0")
    resp = decode_connection_response(bytes(data))
    assert encode_connection_response(resp)[40 : 40 + len(raw) + 1] == raw + b"\0"


def test_errors_carry_the_bytes_even_from_a_memoryview() -> None:
    data = bytearray(response(0, 1, 1))
    data[8] = 99
    with pytest.raises(RemoteProtocolError) as info:
        decode_response(memoryview(data))
    assert info.value.data == bytes(data)
    assert "size" in str(info.value)


# ------------------------------------------------------------------ the package


def test_package_exports_are_explicit_and_real() -> None:
    assert len(set(messages.__all__)) == len(messages.__all__)
    for name in messages.__all__:
        assert hasattr(messages, name), name
    contract = {
        "encode_connection_request", "decode_connection_request",
        "encode_connection_response", "decode_connection_response",
        "encode_request_header", "decode_request_header",
        "encode_response_header", "decode_response_header",
        "encode_request", "decode_request", "encode_response", "decode_response",
        "encode_notification", "decode_notification", "request_id_of",
        "RESPONSE_ID_FOR_REQUEST",
    }
    assert contract <= set(messages.__all__)
    assert not [n for n in messages.__all__ if n.startswith("_")]
