"""Every captured message decodes to its JSON and re-encodes to itself, garbage zeroed."""

from __future__ import annotations

import pytest

from pyquorum.messages import (
    ConnectionRequest,
    ConnectionResponse,
    ErrorResponse,
    GetQuorateRequest,
    GetQuorateResponse,
    GetTypeRequest,
    GetTypeResponse,
    ModelGetTypeRequest,
    ModelGetTypeResponse,
    NodelistNotification,
    QuorumNotification,
    QuorumNotificationV0,
    TrackStartRequest,
    TrackStartResponse,
    TrackStopRequest,
    TrackStopResponse,
    UnknownRequest,
)
from tests.support.message_fixtures import (
    FIXTURE_DIR,
    decoder_for,
    encode,
    fixture_names,
    garbage_ranges,
    load,
    to_json,
    zero_garbage,
)

NAMES = fixture_names()


@pytest.mark.parametrize("name", NAMES)
def test_fixture_decodes_to_its_json(name: str) -> None:
    data, expected = load(name)
    decoded = decoder_for(expected)(data)
    assert type(decoded) is type(expected)
    assert decoded == expected
    assert to_json(decoded) == to_json(expected)


@pytest.mark.parametrize("name", NAMES)
def test_fixture_reencodes_with_garbage_zeroed(name: str) -> None:
    data, expected = load(name)
    assert encode(decoder_for(expected)(data)) == zero_garbage(data, expected)


@pytest.mark.parametrize("name", NAMES)
def test_fixture_decodes_from_every_buffer_type(name: str) -> None:
    data, expected = load(name)
    decode = decoder_for(expected)
    assert decode(bytearray(data)) == expected
    assert decode(memoryview(data)) == expected
    assert decode(memoryview(b"xx" + data + b"yy")[2:-2]) == expected


@pytest.mark.parametrize("name", NAMES)
def test_fixture_declares_its_source(name: str) -> None:
    text = (FIXTURE_DIR / f"{name}.hex").read_text()
    assert text.startswith("# ")
    assert "# Source: fixtures/wire-recordings/" in text


def test_every_hex_fixture_has_json_and_back() -> None:
    hexes = {p.stem for p in FIXTURE_DIR.glob("*.hex")}
    jsons = {p.stem for p in FIXTURE_DIR.glob("*.json")}
    assert hexes == jsons
    assert len(hexes) >= 30


def test_fixtures_cover_every_message_class() -> None:
    seen = {type(load(name)[1]) for name in NAMES}
    assert {
        ConnectionRequest, ConnectionResponse,
        GetQuorateRequest, TrackStartRequest, TrackStopRequest, GetTypeRequest,
        ModelGetTypeRequest, UnknownRequest,
        GetQuorateResponse, TrackStartResponse, TrackStopResponse, GetTypeResponse,
        ModelGetTypeResponse, ErrorResponse,
        QuorumNotificationV0, QuorumNotification, NodelistNotification,
    } <= seen


def test_the_garbage_oracle_is_not_vacuous() -> None:
    """Most captures carry garbage; if zeroing changed nothing, the re-encode test
    would prove nothing about padding."""
    dirty = [n for n in NAMES if zero_garbage(*load(n)) != load(n)[0]]
    assert len(dirty) >= 15
    for name in ("notification_v0_leave", "notification_v1_quorum_quorum_only",
                 "response_model_gettype_v1", "request_trackstart_libquorum"):
        assert name in dirty


@pytest.mark.parametrize("name", NAMES)
def test_garbage_ranges_hold_no_field(name: str) -> None:
    """Overwriting every garbage byte with 0xff changes nothing in the decoded value."""
    data, expected = load(name)
    noisy = bytearray(data)
    for start, end in garbage_ranges(expected, len(data)):
        noisy[start:end] = b"\xff" * (end - start)
    assert decoder_for(expected)(bytes(noisy)) == expected
