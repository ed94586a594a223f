"""Reading and playing back a capture as a stream: the buffered reader cuts
records out of 64 KiB blocks (a fast path for whole records, the checked
path for the rest), and a PlaybackConnection over a reader reads records
only as the session asks for them."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyquorum import QuorumSession
from pyquorum.capture import (
    Capture,
    CaptureError,
    CaptureRecord,
    Channel,
    PlaybackConnection,
    iter_capture,
    read_capture,
    write_capture,
)
from pyquorum.capture.records import _checked_record
from pyquorum.messages.constants import Model, Track
from pyquorum.messages.types import GetQuorateRequest, GetQuorateResponse
from tests.support.capture import (
    HEADER,
    OK,
    V1_CAPTURE,
    V1_EVENTS,
    VQ_WATCH,
    record,
    to_bytes,
)


def _big(sizes: list[int]) -> Capture:
    records = [CaptureRecord(Channel(1 + i % 3), i * 0.5, bytes([i % 251]) * size)
               for i, size in enumerate(sizes)]
    return Capture(HEADER, tuple(records))


@settings(max_examples=30)
@given(st.lists(st.integers(0, 70_000) | st.integers(0, 300), max_size=12))
def test_records_across_block_boundaries_read_back(sizes: list[int]) -> None:
    capture = _big(sizes)
    assert read_capture(io.BytesIO(to_bytes(capture))) == capture


@settings(max_examples=30)
@given(st.lists(st.integers(0, 70_000) | st.integers(0, 300), min_size=1, max_size=8),
       st.data())
def test_a_flipped_bit_anywhere_is_named_as_before(sizes: list[int], data: st.DataObject) -> None:
    raw = bytearray(to_bytes(_big(sizes)))
    start = raw.index(b"\n") + 1  # damage past the preamble
    at = data.draw(st.integers(start, len(raw) - 1))
    raw[at] ^= 1 << data.draw(st.integers(0, 7))
    with pytest.raises(CaptureError) as caught:
        read_capture(io.BytesIO(bytes(raw)))
    assert caught.value.offset is not None and caught.value.offset <= at


def test_records_from_the_reader_are_the_records_written() -> None:
    made = _checked_record(Channel.EVENT, 1.5, b"abc", 0)
    plain = CaptureRecord(Channel.EVENT, 1.5, b"abc")
    assert (made, hash(made), repr(made)) == (plain, hash(plain), repr(plain))


def _played(source: Capture | object) -> tuple[list[object], int]:
    playback = PlaybackConnection(source)  # type: ignore[arg-type]
    with QuorumSession(Model.V1, connection=playback) as session:
        session.trackstart(Track.CURRENT | Track.CHANGES)
        return list(session.events(timeout=0)), playback.pending()


def test_a_reader_plays_back_as_the_whole_capture() -> None:
    with iter_capture(io.BytesIO(to_bytes(V1_CAPTURE))) as reader:
        assert _played(reader) == _played(V1_CAPTURE) == (list(V1_EVENTS), 0)


def test_a_streamed_playback_reads_only_what_the_session_asked_for() -> None:
    records = list(V1_CAPTURE.records)
    records[2:2] = [record(0.003, GetQuorateRequest()), record(0.003, GetQuorateResponse(OK, True))]
    raw = to_bytes(Capture(HEADER, tuple(records)))
    with iter_capture(io.BytesIO(raw)) as reader:
        playback = PlaybackConnection(reader)
        with QuorumSession(Model.V1, connection=playback) as session:
            assert playback._read == 2  # initialize: one request, one response
            session.trackstart(Track.CURRENT | Track.CHANGES)
            events = session.events(timeout=0)
            next(events)
            assert playback._read < len(records)
            assert len(list(events)) == len(V1_EVENTS) - 1
            assert playback._read == len(records)


def test_a_request_missing_from_a_stream_is_named() -> None:
    with iter_capture(io.BytesIO(to_bytes(V1_CAPTURE))) as reader:
        playback = PlaybackConnection(reader)
        with pytest.raises(CaptureError, match="holds no request"):
            playback.request(b"\1" * 16)
        assert playback.pending() == len(V1_EVENTS)


def test_a_multi_connection_replay_holds_only_a_few_records(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``replay`` of a long ``watch --votequorum`` capture: each connection's records
    are taken as their events come up, so the demultiplexer never holds more than
    a handful, however long the capture."""
    from pyquorum import cli
    from pyquorum.capture import CaptureDemux
    from pyquorum.commands import replay

    head = VQ_WATCH.records[:8]  # both connections tracking, quorum's snapshot (2 events)
    q_event, vq_event = VQ_WATCH.records[-1], VQ_WATCH.records[-3]
    body = []
    for i in range(2000):
        source = q_event if i % 3 else vq_event
        body.append(CaptureRecord(Channel.EVENT, 3.0 + i * 1e-3, source.data, source.connection))
    connections = tuple(dataclasses.replace(c, closed=10.0) for c in VQ_WATCH.connections)
    path = tmp_path / "long.pqcap"
    write_capture(path, Capture(VQ_WATCH.header, (*head, *body), connections))

    most = [0]

    class Watched(CaptureDemux):
        def _pull(self) -> bool:
            pulled = super()._pull()
            held = sum(map(len, self._queues.values())) + len(self._order)
            most[0] = max(most[0], held)
            return pulled

    monkeypatch.setattr(replay, "CaptureDemux", Watched)
    assert cli.main(["replay", "--json", str(path)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2 + 2000
    assert 0 < most[0] <= 4


def _outcome(raw: bytes, channels: tuple[Channel, ...] | None) -> object:
    """What reading ``raw`` gives: the records (of ``channels`` through
    check(); every one by plain iteration, filtered here) and the
    connections, or the error's message, record and offset."""
    wanted = set(Channel) if channels is None else set(channels)
    try:
        with iter_capture(io.BytesIO(raw)) as reader:
            records = list(reader if channels is None else reader.check(channels))
            kept = [r for r in records if r.channel in wanted]
            return kept, dict(reader.connections), reader.complete
    except CaptureError as exc:
        return str(exc), exc.record, exc.offset


@settings(max_examples=60)
@given(st.sampled_from([to_bytes(_big([5, 70_000, 3, 0, 65_000, 9, 12])),
                        to_bytes(V1_CAPTURE), to_bytes(VQ_WATCH)]),
       st.lists(st.sampled_from(list(Channel)), max_size=2),
       st.data())
def test_check_checks_as_iteration_does(raw: bytes, channels: list[Channel],
                                             data: st.DataObject) -> None:
    """The validating walk yields the records iteration yields of those channels,
    or fails with the same error at the same record and offset (v1 and v2)."""
    damaged = bytearray(raw)
    how = data.draw(st.sampled_from(["flip", "cut", "none"]))
    if how == "flip":
        at = data.draw(st.integers(raw.index(b"\n") + 1, len(raw) - 1))
        damaged[at] ^= 1 << data.draw(st.integers(0, 7))
    elif how == "cut":
        del damaged[data.draw(st.integers(raw.index(b"\n") + 1, len(raw) - 1)):]
    wanted = tuple(channels)
    expected = _outcome(bytes(damaged), None)
    got = _outcome(bytes(damaged), wanted)
    if isinstance(expected, tuple) and isinstance(expected[0], list):
        expected = ([r for r in expected[0] if r.channel in wanted], *expected[1:])
    assert got == expected


def test_check_names_a_record_after_the_first_block() -> None:
    """Damage deep in a capture of many records (the walk's own loop reaches it)."""
    capture = _big([40] * 5000)
    raw = bytearray(to_bytes(capture))
    at = len(raw) - 3000
    raw[at] ^= 0x10
    expected = _outcome(bytes(raw), None)
    assert isinstance(expected, tuple) and isinstance(expected[0], str)
    assert expected[1] is not None and expected[1] > 4000
    assert _outcome(bytes(raw), (Channel.REQUEST,)) == expected
