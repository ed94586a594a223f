"""The replay's fast ways held to the general ones: a capture read into memory
(:class:`CaptureBytes`) and checked once, records read in batches without
record objects (:meth:`CaptureReader.read_messages`), and a blocking
session taking a capture's events straight from the playback connection's
queue (:meth:`PlaybackConnection.pending_events`)."""

from __future__ import annotations

import io
import select
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyquorum import QuorumSession, cli
from pyquorum.capture import (
    Capture,
    CaptureBytes,
    CaptureError,
    CaptureReader,
    CaptureRecord,
    Channel,
    PlaybackConnection,
    iter_capture,
)
from pyquorum.capture import reader as reader_module
from pyquorum.commands import replay
from pyquorum.errors import LibraryError
from pyquorum.messages.constants import Model, Track
from pyquorum.messages.types import QuorumNotificationV0
from tests.support.capture import HEADER, V1_CAPTURE, V1_EVENTS, record, to_bytes

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = sorted((ROOT / "fixtures" / "captures").rglob("*.pqcap"))


def _big(sizes: list[int]) -> Capture:
    records = [CaptureRecord(Channel(1 + i % 3), i * 0.5, bytes([i % 251]) * size)
               for i, size in enumerate(sizes)]
    return Capture(HEADER, tuple(records))


def _iterated(reader: CaptureReader) -> tuple[list[tuple[Channel, bytes]], str | None]:
    """The general way: the reader's records, and the error that stopped it."""
    got: list[tuple[Channel, bytes]] = []
    try:
        for r in reader:
            got.append((r.channel, r.data))
    except CaptureError as exc:
        return got, str(exc)
    return got, None


def _batched(reader: CaptureReader, limits: Iterator[int]) -> tuple[
        list[tuple[Channel, bytes]], str | None]:
    got: list[tuple[Channel, bytes]] = []
    try:
        while batch := reader.read_messages(next(limits)):
            got.extend(batch)
    except CaptureError as exc:
        return got, str(exc)
    return got, None


def _limits(seed: int) -> Iterator[int]:
    n = seed
    while True:
        n = (n * 1103515245 + 12345) % 2**31
        yield 1 + n % 300


def test_fixtures_exist() -> None:
    assert len(FIXTURES) >= 8


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_every_fixture_reads_the_same_in_batches_and_from_checked_bytes(path: Path) -> None:
    raw = path.read_bytes()
    general = _iterated(iter_capture(path))
    assert general[1] is None and general[0]
    assert _batched(iter_capture(io.BytesIO(raw)), _limits(len(raw))) == general
    loaded = CaptureBytes(raw, str(path))
    first = loaded.reader()
    assert _iterated(first) == general and first.complete
    second = loaded.reader()
    assert loaded.checked
    assert _batched(second, _limits(7)) == general
    assert _iterated(loaded.reader()) == general


@settings(max_examples=40)
@given(st.lists(st.integers(0, 70_000) | st.integers(0, 300), min_size=1, max_size=10),
       st.data())
def test_damage_stops_a_batched_read_where_iteration_stops(
    sizes: list[int], data: st.DataObject
) -> None:
    """A flipped bit anywhere past the preamble: the batches hold exactly the
    records iteration yields before the damage, then the same CaptureError
    (record, offset) -- read from a file in blocks, or from bytes in memory."""
    raw = bytearray(to_bytes(_big(sizes)))
    at = data.draw(st.integers(raw.index(b"\n") + 1, len(raw) - 1))
    raw[at] ^= 1 << data.draw(st.integers(0, 7))
    damaged = bytes(raw)

    def opened(how: str) -> CaptureReader:
        return (iter_capture(io.BytesIO(damaged)) if how == "file"
                else CaptureBytes(damaged, "x").reader())

    try:
        general = _iterated(opened("file"))
    except CaptureError as exc:  # the header itself
        with pytest.raises(CaptureError) as caught:
            opened("memory")
        assert str(caught.value) == f"x: {exc}"
        return
    assert general[1] is not None
    seed = data.draw(st.integers(0, 1000))
    assert _batched(opened("file"), _limits(seed)) == general
    memory = _batched(opened("memory"), _limits(seed))
    assert memory == (general[0], f"x: {general[1]}")


def test_bytes_are_trusted_only_once_a_reader_read_them_to_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Readers of the bytes compute each record's CRC until one of them has read
    to the end record; the readers after that compute none for the message
    records (and read the same records)."""
    counted = {"n": 0}

    def crc32(data: bytes | memoryview, start: int = 0) -> int:
        counted["n"] += 1
        return zlib.crc32(data, start)

    monkeypatch.setattr(reader_module, "zlib", SimpleNamespace(crc32=crc32))
    loaded = CaptureBytes(to_bytes(V1_CAPTURE))
    messages = len(V1_CAPTURE.records)

    def crcs(reader: CaptureReader, stop: int | None = None) -> int:
        before = counted["n"]
        taken = 0
        while stop is None or taken < stop:
            batch = reader.read_messages(1)
            if not batch:
                break
            taken += len(batch)
        return counted["n"] - before

    assert crcs(loaded.reader(), stop=2) == 2  # abandoned: proves nothing yet
    assert not loaded.checked
    # The END record's CRC on the checked way is two calls (its head, its data).
    assert crcs(loaded.reader()) == messages + 2
    trusted = loaded.reader()
    assert loaded.checked
    assert crcs(trusted) == 2  # the END record's only
    assert trusted.complete


def test_damaged_bytes_are_never_trusted() -> None:
    raw = to_bytes(V1_CAPTURE)[:-50]
    loaded = CaptureBytes(raw, "cut")
    errors = set()
    for _ in range(3):
        with pytest.raises(CaptureError) as caught:
            list(loaded.reader())
        errors.add(str(caught.value))
    assert not loaded.checked and len(errors) == 1
    assert errors.pop().startswith("cut: record 7 at byte ")


def test_load_leaves_a_file_above_the_limit_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "c.pqcap"
    raw = to_bytes(V1_CAPTURE)
    path.write_bytes(raw)
    assert CaptureBytes.load(path, len(raw) - 1) is None
    loaded = CaptureBytes.load(path, len(raw))
    assert loaded is not None and loaded.data == raw and loaded.source == str(path)


@pytest.mark.parametrize("as_json", [True, False])
@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_replay_prints_the_same_from_memory_and_from_the_file(
    path: Path, as_json: bool, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["replay", str(path), *(["--json"] if as_json else [])]
    code = cli.main(argv)
    in_memory = capsys.readouterr()
    monkeypatch.setattr(replay, "IN_MEMORY_LIMIT", 0)  # every file read twice
    assert (cli.main(argv), capsys.readouterr()) == (code, in_memory)
    assert in_memory.out


def test_a_damaged_capture_is_the_same_error_from_memory_and_from_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "cut.pqcap"
    raw = bytearray(to_bytes(V1_CAPTURE))
    raw[-60] ^= 0x10  # inside the last event
    path.write_bytes(bytes(raw))
    assert cli.main(["replay", str(path), "--json"]) == cli.EXIT_ERROR
    in_memory = capsys.readouterr()
    assert in_memory.out == "" and "CRC mismatch" in in_memory.err
    monkeypatch.setattr(replay, "IN_MEMORY_LIMIT", 0)
    assert cli.main(["replay", str(path), "--json"]) == cli.EXIT_ERROR
    assert capsys.readouterr() == in_memory


class _OneByOne:
    """A playback connection seen only through the Connection protocol (no
    pending_events): the general way a session receives events."""

    def __init__(self, playback: PlaybackConnection) -> None:
        self.playback = playback

    def request(self, data: bytes, timeout: float | None) -> bytes:
        return self.playback.request(data, timeout)

    def recv_event(self, timeout: float | None) -> bytes | None:
        return self.playback.recv_event(timeout)

    def fileno(self) -> int:
        return self.playback.fileno()

    def close(self) -> None:
        self.playback.close()


def _with_a_v0_event(at: int) -> Capture:
    """V1 events with one V0 notification at ``at``: a V1 session refuses it."""
    records = list(V1_CAPTURE.records)
    records.insert(at, record(records[-1].time, QuorumNotificationV0(True, 5, (1, 2))))
    return Capture(HEADER, tuple(sorted(records, key=lambda r: r.time)))


def _outcomes(connection: object, takes: list[int]) -> list[object]:
    """Each events() call taking up to ``takes[i]`` events (then dropped), and the
    LibraryError each refused event raises, in order; then what fileno says."""
    got: list[object] = []
    with QuorumSession(Model.V1, connection=connection) as session:  # type: ignore[arg-type]
        session.trackstart(Track.CURRENT | Track.CHANGES)
        fd = session.fileno()
        for take in takes:
            events = session.events(timeout=0)
            try:
                for _ in range(take):
                    event = next(events, None)
                    if event is None:
                        break
                    got.append(event)
            except LibraryError as exc:
                got.append(type(exc))
            got.append(bool(select.select([fd], [], [], 0)[0]))
    return got


@pytest.mark.parametrize("takes", [[100] * 4, [1] * 12, [2, 1, 3, 100, 100]])
@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize("at", [-2, len(V1_CAPTURE.records)])
def test_a_session_takes_a_captures_events_as_it_receives_them_one_by_one(
    takes: list[int], streamed: bool, at: int
) -> None:
    """The same events, the same LibraryError at the refused one (consumed: the
    events after it come from the next events() call), the same readability of
    fileno(), whether the session pops the playback's queue or calls recv_event."""
    capture = _with_a_v0_event(at)
    raw = to_bytes(capture)

    def playback() -> PlaybackConnection:
        return PlaybackConnection(iter_capture(io.BytesIO(raw)) if streamed else capture)

    fast = _outcomes(playback(), takes)
    assert fast == _outcomes(_OneByOne(playback()), takes)
    assert [e for e in fast if e in V1_EVENTS] == list(V1_EVENTS)
    assert LibraryError in fast and fast[-1] is False
