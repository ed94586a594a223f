"""The capture file format: layout, round trips, and every kind of damage named."""

from __future__ import annotations

import io
import json
import math
import struct
import zlib
from pathlib import Path

import pytest

from pyquorum.capture import (
    MAX_DATA,
    Capture,
    CaptureError,
    CaptureHeader,
    CaptureRecord,
    CaptureWriter,
    Channel,
    capture_from_bytes,
    iter_capture,
    read_capture,
    write_capture,
)
from pyquorum.errors import PyquorumError
from pyquorum.messages.constants import Model
from tests.support.capture import (
    HEADER,
    PREAMBLE,
    V1_CAPTURE,
    V1_RECORDS,
    end_frame,
    frame,
    header_frame,
    to_bytes,
)

# ------------------------------------------------------------------ layout


def test_the_file_is_preamble_header_records_end_as_documented() -> None:
    data = to_bytes(Capture(HEADER, V1_RECORDS[:1]))
    assert data.startswith(b"pyquorum-capture 1\n")
    at = len(PREAMBLE)
    kind, reserved, length, when = struct.unpack_from("<B3sId", data, at)
    assert (kind, reserved, when) == (0, b"\0\0\0", 0.0)
    body = data[at + 16 : at + 16 + length]
    assert json.loads(body)["format"] == "pyquorum-capture"
    (crc,) = struct.unpack_from("<I", data, at + 16 + length)
    assert crc == zlib.crc32(data[at : at + 16 + length])
    at += 16 + length + 4
    kind, reserved, length, when = struct.unpack_from("<B3sId", data, at)
    assert (kind, length, when) == (1, len(V1_RECORDS[0].data), V1_RECORDS[0].time)
    assert data[at + 16 : at + 16 + length] == V1_RECORDS[0].data
    at += 16 + length + 4
    kind, _, length, _ = struct.unpack_from("<B3sId", data, at)
    assert kind == 4 and json.loads(data[at + 16 : at + 16 + length]) == {"records": 1}
    assert len(data) == at + 16 + length + 4


def test_the_header_json_has_every_documented_key() -> None:
    obj = HEADER.to_json()
    assert obj == {
        "format": "pyquorum-capture", "version": 1, "pyquorum_version": "0.1.0",
        "corosync_version": "3.1.7", "libqb_version": "2.0.6", "transport": "shm",
        "model": "V1", "service": "quorum", "created": "2026-01-02T03:04:05Z",
        "max_msg_size": 1048576, "description": "", "metadata": {},
    }
    assert CaptureHeader.from_json(obj) == HEADER


def test_channels_are_record_kinds_one_to_three() -> None:
    assert [(c.name, int(c)) for c in Channel] == [("REQUEST", 1), ("RESPONSE", 2), ("EVENT", 3)]


# ------------------------------------------------------------------ round trips


def test_round_trip_through_a_path(tmp_path: Path) -> None:
    path = tmp_path / "a.pqcap"
    write_capture(path, V1_CAPTURE)
    assert read_capture(path) == V1_CAPTURE
    assert read_capture(str(path)) == V1_CAPTURE


def test_round_trip_keeps_metadata_and_description() -> None:
    header = CaptureHeader(transport="socket", model=Model.AUTO, version=1, description="x",
                           metadata={"steps": [{"name": "a", "time": 1.5}]})
    capture = capture_from_bytes(to_bytes(Capture(header, ())))
    assert capture.header == header and capture.records == ()
    assert capture.header.metadata["steps"][0]["time"] == 1.5
    assert capture.header.pyquorum_version and capture.header.created.endswith("Z")


def test_iter_capture_gives_the_header_first_then_records_lazily(tmp_path: Path) -> None:
    path = tmp_path / "a.pqcap"
    write_capture(path, V1_CAPTURE)
    with iter_capture(path) as reader:
        assert reader.header == HEADER
        first = next(reader)
        assert first == V1_RECORDS[0]
        assert list(reader) == list(V1_RECORDS[1:])
        assert reader.complete


def test_iter_capture_reads_an_open_file_and_leaves_it_open() -> None:
    buffer = io.BytesIO(to_bytes(V1_CAPTURE))
    assert list(iter_capture(buffer)) == list(V1_RECORDS)
    assert not buffer.closed


def test_the_writer_stamps_records_with_the_time_since_it_started() -> None:
    buffer = io.BytesIO()
    with CaptureWriter(buffer, HEADER) as writer:
        first = writer.record(Channel.REQUEST, b"\x01")
        second = writer.record(Channel.EVENT, bytearray(b"\x02"))
        assert writer.count == 2
    assert 0 <= first.time <= second.time < 5
    assert read_capture(io.BytesIO(buffer.getvalue())).records == (first, second)
    assert second.data == b"\x02" and type(second.data) is bytes


def test_a_capture_cut_by_an_exception_is_still_closed_properly() -> None:
    buffer = io.BytesIO()
    with pytest.raises(RuntimeError), CaptureWriter(buffer, HEADER) as writer:
        writer.write(V1_RECORDS[0])
        raise RuntimeError("boom")
    assert read_capture(io.BytesIO(buffer.getvalue())).records == V1_RECORDS[:1]


def test_the_writer_refuses_backward_times_and_writes_after_close() -> None:
    writer = CaptureWriter(io.BytesIO(), HEADER)
    writer.write(CaptureRecord(Channel.EVENT, 2.0, b""))
    with pytest.raises(ValueError, match="backwards"):
        writer.write(CaptureRecord(Channel.EVENT, 1.0, b""))
    writer.close()
    writer.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        writer.write(CaptureRecord(Channel.EVENT, 3.0, b""))


def test_records_and_headers_refuse_bad_values() -> None:
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(ValueError):
            CaptureRecord(Channel.EVENT, bad, b"")
    with pytest.raises(ValueError):
        CaptureRecord(Channel.EVENT, 0, b"\0" * (MAX_DATA + 1))
    with pytest.raises(ValueError):
        CaptureRecord(7, 0, b"")  # type: ignore[arg-type]
    assert CaptureRecord(2, 1, b"x").channel is Channel.RESPONSE  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="transport"):
        CaptureHeader(transport="tcp", model=Model.V1, version=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="version"):
        CaptureWriter(io.BytesIO(), CaptureHeader(transport="shm", model=Model.V1, version=3))
    with pytest.raises(ValueError, match="version-2 header has no transport"):
        CaptureHeader(transport="shm", model=Model.V1)


def test_header_for_a_connection_takes_its_transport_and_size() -> None:
    class Conn:
        connection_type = 0
        service = "quorum"
        max_msg_size = 12328

    header = CaptureHeader.for_connection(Conn(), Model.V0, description="d")
    assert (header.transport, header.model, header.max_msg_size) == ("socket", Model.V0, 12328)
    assert header.description == "d"


def test_capture_channel_filters_records() -> None:
    assert [r.channel for r in V1_CAPTURE.channel(Channel.RESPONSE)] == [Channel.RESPONSE] * 2
    assert len(V1_CAPTURE.channel(Channel.EVENT)) == 4


# ------------------------------------------------------------------ damage, named


def error_of(data: bytes) -> CaptureError:
    with pytest.raises(CaptureError) as info:
        capture_from_bytes(data)
    assert isinstance(info.value, PyquorumError)
    return info.value


def record_offsets(data: bytes) -> list[int]:
    """Byte offsets of every record (header, messages, end)."""
    offsets, at = [], len(PREAMBLE)
    while at < len(data):
        offsets.append(at)
        (length,) = struct.unpack_from("<I", data, at + 4)
        at += 16 + length + 4
    return offsets


GOOD = to_bytes(V1_CAPTURE)
OFFSETS = record_offsets(GOOD)  # [header, record 0 .. record 7, end]


def test_an_empty_file_is_not_a_capture() -> None:
    assert "empty" in str(error_of(b""))


def test_another_file_is_not_a_capture() -> None:
    err = error_of(b"PK\x03\x04 a zip file")
    assert str(err) == ("preamble at byte 0: not a pyquorum capture "
                        "(it does not start with 'pyquorum-capture ')")


def test_an_unknown_version_is_named() -> None:
    err = error_of(b"pyquorum-capture 3\n" + GOOD[len(PREAMBLE) :])
    assert "version 3 is not supported" in str(err) and "reads versions 1 and 2" in str(err)
    assert "not a number" in str(error_of(b"pyquorum-capture x1\n"))
    assert "too long" in str(error_of(b"pyquorum-capture " + b"1" * 40))


def test_truncation_inside_the_preamble() -> None:
    assert "truncated" in str(error_of(b"pyquorum-cap"))
    assert "truncated" in str(error_of(b"pyquorum-capture 1"))


def test_truncation_inside_the_header() -> None:
    err = error_of(GOOD[: OFFSETS[0] + 10])
    assert str(err).startswith(f"header record at byte {OFFSETS[0]}: truncated")
    assert err.record is None and err.offset == OFFSETS[0]


def test_truncation_inside_a_record_names_it() -> None:
    err = error_of(GOOD[: OFFSETS[4] + 20])
    assert err.record == 3 and err.offset == OFFSETS[4]
    assert str(err).startswith(f"record 3 at byte {OFFSETS[4]}: truncated: the record needs")


def test_a_capture_without_its_end_record_is_truncated() -> None:
    err = error_of(GOOD[: OFFSETS[-1]])
    assert err.record == 8 and "without its end record" in str(err)


def test_the_records_before_damage_are_still_delivered_by_iter_capture() -> None:
    reader = iter_capture(io.BytesIO(GOOD[: OFFSETS[4] + 20]))
    got = []
    with pytest.raises(CaptureError, match="record 3"):
        for record in reader:
            got.append(record)
    assert got == list(V1_RECORDS[:3])
    assert list(reader) == []  # finished for good


def test_a_flipped_bit_is_a_crc_mismatch_naming_the_record() -> None:
    damaged = bytearray(GOOD)
    damaged[OFFSETS[6] + 16] ^= 0x10
    err = error_of(bytes(damaged))
    assert err.record == 5 and err.offset == OFFSETS[6]
    assert "CRC mismatch" in str(err) and "damaged" in str(err)


def test_a_huge_length_is_refused_before_reading() -> None:
    damaged = bytearray(GOOD)
    struct.pack_into("<I", damaged, OFFSETS[2] + 4, 0xFFFFFFFF)
    err = error_of(bytes(damaged))
    assert err.record == 1 and "exceeds the limit" in str(err)


def test_errors_name_the_file_they_came_from(tmp_path: Path) -> None:
    path = tmp_path / "broken.pqcap"
    path.write_bytes(GOOD[: OFFSETS[3] + 3])
    with pytest.raises(CaptureError) as info:
        read_capture(path)
    assert str(info.value).startswith(f"{path}: record 2 at byte {OFFSETS[3]}: truncated")
    assert info.value.source == str(path)


def body(*frames: bytes) -> bytes:
    return PREAMBLE + b"".join(frames)


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ((frame(1, b"x"),), "header record at byte 19: the first record is REQUEST"),
        ((frame(0, b"{nope"),), "the header is not JSON"),
        ((frame(0, b"\xff\xfe"),), "the header is not JSON"),
        ((frame(0, b"[" * 100000),), "the header is not JSON"),
        ((header_frame([1, 2]),), "not a JSON object"),
        ((header_frame({"format": "other"}),), "format is 'other'"),
        ((header_frame(HEADER.to_json() | {"model": "V9"}),), "model 'V9'"),
        ((header_frame(HEADER.to_json() | {"transport": "tcp"}),), "transport 'tcp'"),
        ((header_frame(HEADER.to_json() | {"version": 2}),), "says version 2"),
        ((header_frame(HEADER.to_json() | {"service": 5}),), "'service' is 5"),
        ((header_frame(HEADER.to_json() | {"max_msg_size": True}),), "'max_msg_size'"),
        ((header_frame({k: v for k, v in HEADER.to_json().items() if k != "created"}),),
         "has no 'created'"),
        ((header_frame(), frame(9, b"", 1.0)), "record 0 at byte"),
        ((header_frame(), frame(9, b"", 1.0)), "unknown record kind 9"),
        ((header_frame(), frame(1, b"", 1.0, b"\0\1\0")), "reserved bytes are 000100"),
        ((header_frame(), frame(1, b"", math.nan)), "bad time nan"),
        ((header_frame(), frame(1, b"", -1.0)), "bad time -1.0"),
        ((header_frame(), frame(1, b"", 2.0), frame(3, b"", 1.0)),
         f"record 1 at byte {19 + len(header_frame()) + 20}: time 1.0 is before the "
         "previous record's 2.0"),
        ((header_frame(), header_frame()),
         f"record 0 at byte {19 + len(header_frame())}: a second header record"),
        ((header_frame(), frame(1, b""), end_frame(2)), "counts 2 records, the file holds 1"),
        ((header_frame(), frame(4, b"\x00")), "the end record is not JSON"),
        ((header_frame(), frame(4, b"[]")), "no record count"),
        ((header_frame(), end_frame(0), b"\0"), "bytes follow the end record"),
    ],
)
def test_each_bad_record_is_named(frames: tuple[bytes, ...], message: str) -> None:
    assert message in str(error_of(body(*frames)))


def test_hand_framed_records_read_back() -> None:
    capture = capture_from_bytes(body(header_frame(), frame(3, b"abc", 0.5), end_frame(1)))
    assert capture.records == (CaptureRecord(Channel.EVENT, 0.5, b"abc"),)


def test_unknown_header_keys_are_ignored_for_forward_compatibility() -> None:
    capture = capture_from_bytes(
        body(header_frame(HEADER.to_json() | {"hostname": "n1"}), end_frame(0)))
    assert capture.header == HEADER
