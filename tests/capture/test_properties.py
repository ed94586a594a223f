"""Property tests: any capture round-trips; any damage is a CaptureError and nothing else."""

from __future__ import annotations

import io
import itertools

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from pyquorum.capture import (
    Capture,
    CaptureConnection,
    CaptureError,
    CaptureHeader,
    CaptureRecord,
    Channel,
    CloseReason,
    capture_from_bytes,
    iter_capture,
)
from pyquorum.messages.constants import Model
from tests.support.capture import V1_CAPTURE, VQ_WATCH, to_bytes

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


# ------------------------------------------------------------------ version 2

SERVICES = st.sampled_from(["quorum", "votequorum", "cmap", "cfg"])


@st.composite
def v2_captures(draw: st.DrawFn) -> Capture:
    """Several connections, opening and closing at increasing times, each record
    on a connection open at its time."""
    header = CaptureHeader(
        model=draw(st.sampled_from(list(Model))),
        command=tuple(draw(st.lists(st.text(max_size=8), max_size=3))),
        description=draw(st.text(max_size=20)),
        metadata=draw(st.dictionaries(st.text(max_size=8), json_values, max_size=3)),
        created="2026-01-02T03:04:05Z", pyquorum_version="0.1.0",
    )
    count = draw(st.integers(0, 4))
    opens = list(itertools.accumulate(draw(st.lists(st.floats(0, 5), min_size=count,
                                                    max_size=count))))
    connections = []
    for ident, opened in enumerate(opens):
        lost = draw(st.booleans())
        connections.append(CaptureConnection(
            ident, draw(SERVICES), draw(st.sampled_from(["shm", "socket"])), opened,
            opened + draw(st.floats(0, 20)), draw(st.none() | st.integers(0, 2**31)),
            draw(st.integers(1, 9)), CloseReason.LOST if lost else CloseReason.CLOSED,
            draw(st.text(max_size=12)) if lost else None,
        ))
    records = []
    times = itertools.accumulate(draw(st.lists(st.floats(0, 3), max_size=16)))
    for when in times:
        live = [c for c in connections if c.opened <= when <= (c.closed or 0.0)]
        if not live:
            continue
        conn = draw(st.sampled_from(live))
        records.append(CaptureRecord(draw(st.sampled_from(list(Channel))), when,
                                     draw(st.binary(max_size=40)), conn.id))
    return Capture(header, tuple(records), tuple(connections))


@given(v2_captures())
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_any_v2_capture_round_trips(capture: Capture) -> None:
    data = to_bytes(capture)
    assert data.startswith(b"pyquorum-capture 2\n")
    assert capture_from_bytes(data) == capture
    with iter_capture(io.BytesIO(data)) as reader:
        items = list(reader.items())
        assert reader.complete
    assert tuple(i for i in items if isinstance(i, CaptureRecord)) == capture.records
    # Every record lies between its connection's open and close marks.
    state: dict[int, bool] = {}
    for item in items:
        if isinstance(item, CaptureConnection):
            state[item.id] = item.closed is None
        else:
            assert state[item.connection]


V2_GOOD = to_bytes(VQ_WATCH)


@given(st.data())
def test_any_damage_to_a_v2_capture_is_a_capture_error(data: st.DataObject) -> None:
    raw = bytearray(V2_GOOD)
    how = data.draw(st.sampled_from(["flip", "cut", "insert", "remove"]))
    at = data.draw(st.integers(0, len(raw) - 1))
    if how == "flip":
        raw[at] ^= data.draw(st.integers(1, 255))
    elif how == "cut":
        del raw[at:]
    elif how == "insert":
        raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
    else:
        del raw[at : at + data.draw(st.integers(1, 8))]
    result = read_or_error(bytes(raw))
    assert isinstance(result, CaptureError)
    assert "\n" not in str(result) and result.offset is not None
