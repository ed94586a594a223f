"""Property tests: any capture round-trips; any damage is a CaptureError and nothing else."""

from __future__ import annotations

import io
import itertools

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from pyquorum.capture import (
    Capture,
    CaptureError,
    CaptureHeader,
    CaptureRecord,
    Channel,
    capture_from_bytes,
    iter_capture,
)
from pyquorum.messages.constants import Model
from tests.support.capture import V1_CAPTURE, to_bytes

json_leaf = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20) \
    | st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    json_leaf,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)

headers = st.builds(
    CaptureHeader,
    transport=st.sampled_from(["shm", "socket"]),
    model=st.sampled_from(list(Model)),
    version=st.just(1),
    pyquorum_version=st.text(min_size=1, max_size=12),
    corosync_version=st.none() | st.text(max_size=12),
    libqb_version=st.none() | st.text(max_size=12),
    service=st.text(max_size=12),
    created=st.text(min_size=1, max_size=25),
    max_msg_size=st.none() | st.integers(0, 2**31),
    description=st.text(max_size=40),
    metadata=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
)


@st.composite
def captures(draw: st.DrawFn) -> Capture:
    header = draw(headers)
    steps = draw(st.lists(st.floats(0, 10, allow_nan=False), max_size=12))
    times = list(itertools.accumulate(steps))
    records = tuple(
        CaptureRecord(draw(st.sampled_from(list(Channel))), t, draw(st.binary(max_size=80)))
        for t in times
    )
    return Capture(header, records)


@given(captures())
def test_any_capture_round_trips(capture: Capture) -> None:
    data = to_bytes(capture)
    assert capture_from_bytes(data) == capture
    reader = iter_capture(io.BytesIO(data))
    assert reader.header == capture.header
    assert tuple(reader) == capture.records and reader.complete


GOOD = to_bytes(V1_CAPTURE)


def read_or_error(data: bytes) -> Capture | CaptureError:
    """Reading gives a Capture or a CaptureError; any other exception fails the test."""
    try:
        return capture_from_bytes(data)
    except CaptureError as exc:
        assert str(exc)  # a message, naming where
        return exc


@given(st.integers(0, len(GOOD) - 1), st.integers(1, 255))
def test_any_changed_byte_is_a_capture_error(index: int, xor: int) -> None:
    damaged = bytearray(GOOD)
    damaged[index] ^= xor
    assert isinstance(read_or_error(bytes(damaged)), CaptureError)


@given(st.integers(0, len(GOOD) - 1))
def test_any_truncation_is_a_capture_error(length: int) -> None:
    assert isinstance(read_or_error(GOOD[:length]), CaptureError)


@given(st.integers(0, len(GOOD)), st.binary(min_size=1, max_size=40))
def test_inserted_bytes_are_a_capture_error(index: int, junk: bytes) -> None:
    assert isinstance(read_or_error(GOOD[:index] + junk + GOOD[index:]), CaptureError)


@given(st.integers(0, len(GOOD) - 1), st.integers(1, 60))
def test_removed_bytes_are_a_capture_error(index: int, count: int) -> None:
    assert isinstance(read_or_error(GOOD[:index] + GOOD[index + count :]), CaptureError)


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
@example(b"pyquorum-capture 1\n")
@example(b"pyquorum-capture 1\n" + b"\0" * 16)
def test_arbitrary_bytes_are_a_capture_error_or_a_capture(data: bytes) -> None:
    read_or_error(data)
    read_or_error(b"pyquorum-capture 1\n" + data)
    read_or_error(GOOD[:200] + data)


@given(st.data())
def test_several_random_changes_never_escape_as_another_exception(data: st.DataObject) -> None:
    damaged = bytearray(GOOD)
    for _ in range(data.draw(st.integers(1, 8))):
        index = data.draw(st.integers(0, len(damaged) - 1))
        damaged[index] = data.draw(st.integers(0, 255))
    assume(bytes(damaged) != GOOD)
    read_or_error(bytes(damaged))
