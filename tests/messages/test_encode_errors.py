"""Encoders refuse what cannot go on the wire with LocalProtocolError, and only that."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, overload

import pytest

from pyquorum.errors import LocalProtocolError
from pyquorum.messages import (
    ConnectionResponse,
    ErrorResponse,
    GetQuorateRequest,
    GetQuorateResponse,
    GetTypeResponse,
    Model,
    ModelGetTypeRequest,
    ModelGetTypeResponse,
    NodelistNotification,
    QuorumNotification,
    QuorumNotificationV0,
    RingId,
    Track,
    TrackStartRequest,
    TrackStartResponse,
    UnknownNotification,
    UnknownRequest,
    decode_notification,
    decode_request,
    decode_response,
    encode_connection_request,
    encode_connection_response,
    encode_notification,
    encode_request,
    encode_request_header,
    encode_response,
    encode_response_header,
)

RING = RingId(1, 2)
GOOD_RESPONSE = ConnectionResponse(0, 1, 1 << 20, 0, "/a", "/b", "")


def response_with(**changes: Any) -> ConnectionResponse:
    values: dict[str, Any] = {
        "error": 0, "connection_type": 1, "max_msg_size": 1 << 20, "connection": 0,
        "request": "/a", "response": "/b", "event": "",
    }
    values.update(changes)
    return ConnectionResponse(**values)


class Huge(Sequence[int]):
    """A list that claims more entries than any message can hold, without holding them."""

    def __len__(self) -> int:
        return 2**30

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...
    def __getitem__(self, index: int | slice) -> int | Sequence[int]:
        raise AssertionError("the encoder must check the length before reading entries")


def bad(value: object) -> Any:
    """Pass an ill-typed argument past mypy on purpose."""
    return value


def conn(**changes: Any) -> Callable[[], object]:
    return lambda: encode_connection_response(response_with(**changes))


def notify(event: object) -> Callable[[], object]:
    return lambda: encode_notification(bad(event))


BAD_CALLS: list[tuple[str, Callable[[], object]]] = [
    # libqb handshake
    ("max_msg_size negative", lambda: encode_connection_request(-1)),
    ("max_msg_size beyond u32", lambda: encode_connection_request(2**32)),
    ("max_msg_size a str", lambda: encode_connection_request(bad("1024"))),
    ("max_msg_size a float", lambda: encode_connection_request(bad(1024.0))),
    ("max_msg_size a bool", lambda: encode_connection_request(True)),
    ("max_msg_size None", lambda: encode_connection_request(bad(None))),
    ("response error beyond i32", conn(error=2**31)),
    ("connection_type a str", conn(connection_type="shm")),
    ("granted size negative", conn(max_msg_size=-1)),
    ("connection beyond i64", conn(connection=2**63)),
    ("path of 4096 bytes", conn(request="x" * 4096)),
    ("path of 4096 UTF-8 bytes", conn(event="é" * 2048)),
    ("path with a NUL", conn(response="/a\0b")),
    ("path with a lone surrogate", conn(request="\ud800")),
    ("path as bytes", conn(request=b"/a")),
    ("path None", conn(event=None)),
    ("not a ConnectionResponse", lambda: encode_connection_response(bad(None))),
    # headers
    ("request id beyond i32", lambda: encode_request_header(2**31, 16)),
    ("request size below the header", lambda: encode_request_header(0, 15)),
    ("request size negative", lambda: encode_request_header(0, -1)),
    ("request size beyond i32", lambda: encode_request_header(0, 2**31)),
    ("response size below the header", lambda: encode_response_header(0, 23, 1)),
    ("response error beyond i32", lambda: encode_response_header(0, 24, 2**31)),
    ("response error a name", lambda: encode_response_header(0, 24, bad("OK"))),
    # requests
    ("track flags negative", lambda: encode_request(TrackStartRequest(bad(-1)))),
    ("track flags beyond u32", lambda: encode_request(TrackStartRequest(bad(2**32)))),
    ("track flags a str", lambda: encode_request(TrackStartRequest(bad("3")))),
    ("Model.AUTO", lambda: encode_request(ModelGetTypeRequest(Model.AUTO))),
    ("model negative", lambda: encode_request(ModelGetTypeRequest(-2))),
    ("model beyond u32", lambda: encode_request(ModelGetTypeRequest(2**32))),
    ("model None", lambda: encode_request(ModelGetTypeRequest(bad(None)))),
    ("unknown request, known id", lambda: encode_request(UnknownRequest(0, 16, b""))),
    ("unknown request, size lies", lambda: encode_request(UnknownRequest(99, 24, b""))),
    ("unknown request, str body", lambda: encode_request(UnknownRequest(99, 18, bad("ab")))),
    ("unknown request, id > i32", lambda: encode_request(UnknownRequest(2**31, 16, b""))),
    ("a response as a request", lambda: encode_request(bad(GetQuorateResponse(1, True)))),
    ("a str as a request", lambda: encode_request(bad("GETQUORATE"))),
    # responses
    ("error beyond i32", lambda: encode_response(GetQuorateResponse(2**31, True))),
    ("error a float", lambda: encode_response(TrackStartResponse(bad(1.0)))),
    ("quorate 2", lambda: encode_response(GetQuorateResponse(1, bad(2)))),
    ("quorate a str", lambda: encode_response(GetQuorateResponse(1, bad("yes")))),
    ("quorum_type negative", lambda: encode_response(GetTypeResponse(1, -1))),
    ("quorum_type beyond u32", lambda: encode_response(ModelGetTypeResponse(1, 2**32))),
    ("generic error None", lambda: encode_response(ErrorResponse(bad(None)))),
    ("a request as a response", lambda: encode_response(bad(GetQuorateRequest()))),
    # notifications
    ("member id negative", notify(QuorumNotification(True, RING, (-1,)))),
    ("member id beyond u32", notify(QuorumNotificationV0(True, 1, (2**32,)))),
    ("member id a str", notify(QuorumNotification(True, RING, bad(("1",))))),
    ("members a str", notify(QuorumNotification(True, RING, bad("12")))),
    ("members bytes", notify(QuorumNotificationV0(True, 1, bad(b"\1")))),
    ("members None", notify(NodelistNotification(RING, bad(None), (), ()))),
    ("members a set", notify(NodelistNotification(RING, bad({1}), (), ()))),
    ("too many members", notify(QuorumNotification(True, RING, bad(Huge())))),
    ("too many left", notify(NodelistNotification(RING, (), (), bad(Huge())))),
    ("ring_id a tuple", notify(NodelistNotification(bad((1, 2)), (), (), ()))),
    ("ring seq negative", notify(QuorumNotification(True, RingId(1, -1), ()))),
    ("ring nodeid beyond u32", notify(NodelistNotification(RingId(2**32, 0), (), (), ()))),
    ("V0 ring_seq beyond u64", notify(QuorumNotificationV0(True, 2**64, ()))),
    ("quorate 7", notify(QuorumNotificationV0(bad(7), 1, ()))),
    ("unknown event, known id", notify(UnknownNotification(6, 1, b""))),
    ("unknown event, error > i32", notify(UnknownNotification(9, 2**31, b""))),
    ("unknown event, list data", notify(UnknownNotification(9, 1, bad([1])))),
    ("a response as a notification", notify(TrackStartResponse(1))),
    ("a str as a notification", notify("event")),
]


@pytest.mark.parametrize("call", [c for _, c in BAD_CALLS], ids=[n for n, _ in BAD_CALLS])
def test_bad_argument_raises_local_protocol_error(call: Callable[[], object]) -> None:
    with pytest.raises(LocalProtocolError):
        call()


def test_local_protocol_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"Model\.AUTO"):
        encode_request(ModelGetTypeRequest(Model.AUTO))


@pytest.mark.parametrize(
    "decode", [decode_request, decode_response, decode_notification], ids=lambda d: d.__name__
)
@pytest.mark.parametrize("value", ["0000", None, 16, [0] * 16], ids=["str", "None", "int", "list"])
def test_decoding_a_non_buffer_is_the_callers_mistake(
    decode: Callable[[Any], object], value: object
) -> None:
    with pytest.raises(LocalProtocolError):
        decode(value)


def test_edge_values_are_accepted() -> None:
    """The limits themselves are fine: what fits, encodes."""
    assert len(encode_connection_request(0)) == 24
    assert len(encode_connection_request(2**32 - 1)) == 24
    assert len(encode_connection_response(response_with(request="x" * 4095))) == 12328
    assert len(encode_connection_response(response_with(connection=-(2**63)))) == 12328
    assert len(encode_request_header(-(2**31), 2**31 - 1)) == 16
    assert len(encode_response_header(2**31 - 1, 24, -(2**31))) == 24
    assert len(encode_request(TrackStartRequest(Track(2**32 - 1)))) == 24
    assert len(encode_request(ModelGetTypeRequest(2**32 - 1))) == 24
    assert len(encode_response(GetQuorateResponse(1, bad(1)))) == 32
    as_list = QuorumNotificationV0(False, 2**64 - 1, bad([0, 2**32 - 1]))
    assert len(encode_notification(as_list)) == 56
    assert encode_request(UnknownRequest(-3, 16, b"")) == bytes.fromhex(
        "fdffffff000000001000000000000000"
    )
    assert decode_request(encode_request(UnknownRequest(-3, 16, b""))) == UnknownRequest(
        -3, 16, b""
    )
