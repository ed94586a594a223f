"""Capture format version 2: several connections in one capture, on bytes (no corosync).

The layout (OPEN/CLOSE records, the connection id in the record header),
round trips of multi-service and reconnecting captures, version-1 files
read and rewritten as they were, and every kind of damage to a version-2
file named in one line with its record and byte offset.
"""

from __future__ import annotations

import dataclasses
import io
import json
import struct
import zlib
from pathlib import Path

import pytest

from pyquorum import VotequorumSession, cli
from pyquorum.capture import (
    Capture,
    CaptureConnection,
    CaptureError,
    CaptureHeader,
    CaptureRecord,
    CaptureWriter,
    Channel,
    CloseReason,
    PlaybackConnection,
    RecordingConnection,
    capture_from_bytes,
    decoded,
    iter_capture,
    read_capture,
    write_capture,
)
from pyquorum.errors import ConnectionLost
from pyquorum.fake.replay import script_from_capture
from pyquorum.formatting import event_to_json, event_to_text
from pyquorum.messages.constants import Model, Track
from tests.support.capture import (
    HEADER_V2,
    RECONNECT_PRINTED,
    RECONNECT_WATCH,
    V1_CAPTURE,
    VQ_EVENTS,
    VQ_WATCH,
    VQ_WATCH_PRINTED,
    to_bytes,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "captures"
HEAD = struct.Struct("<BHBId")


def frames(data: bytes) -> list[tuple[int, int, int, bytes, int]]:
    """(kind, connection, reserved, data, offset) of every record after the preamble."""
    at = data.index(b"\n") + 1
    out = []
    while at < len(data):
        kind, conn, reserved, length, _ = HEAD.unpack_from(data, at)
        out.append((kind, conn, reserved, data[at + 16 : at + 16 + length], at))
        at += 16 + length + 4
    assert at == len(data)
    return out


def frame(kind: int, data: bytes, time: float, connection: int = 0) -> bytes:
    head = HEAD.pack(kind, connection, 0, len(data), time)
    return head + data + struct.pack("<I", zlib.crc32(head + data))


def jframe(kind: int, obj: object, time: float, connection: int = 0) -> bytes:
    return frame(kind, json.dumps(obj).encode(), time, connection)


PREAMBLE = b"pyquorum-capture 2\n"
HEADER_FRAME = jframe(0, HEADER_V2.to_json(), 0.0)
OPEN0 = jframe(5, {"connection": 0, "service": "quorum", "transport": "shm",
                   "max_msg_size": 8192, "attempts": 1}, 0.0, 0)
EVENT0 = frame(3, VQ_WATCH.records[6].data, 0.5, 0)
CLOSE0 = jframe(6, {"connection": 0, "reason": "closed", "error": None}, 1.0, 0)


def end(records: int, connections: int) -> bytes:
    return jframe(4, {"connections": connections, "records": records}, 2.0)


def error_of(data: bytes) -> CaptureError:
    with pytest.raises(CaptureError) as caught:
        capture_from_bytes(data)
    message = str(caught.value)
    assert "\n" not in message and message  # one line
    return caught.value


# ------------------------------------------------------------------ layout


def test_a_v2_file_has_open_and_close_records_and_ids_in_the_record_header() -> None:
    data = to_bytes(VQ_WATCH)
    assert data.startswith(PREAMBLE)
    records = frames(data)
    header = json.loads(records[0][3])
    assert header["version"] == 2 and header["command"] == ["watch", "--votequorum"]
    assert "transport" not in header and "service" not in header
    kinds = [(kind, conn) for kind, conn, _, _, _ in records]
    assert kinds[1] == (5, 0)  # connection 0 opens before its first record
    opens = [json.loads(body) for kind, _, _, body, _ in records if kind == 5]
    assert opens == [
        {"attempts": 1, "connection": 0, "max_msg_size": 1048576, "service": "quorum",
         "transport": "shm"},
        {"attempts": 1, "connection": 1, "max_msg_size": 1048576, "service": "votequorum",
         "transport": "shm"},
    ]
    # Each message record carries its connection in bytes 1-2 (byte 3 stays zero).
    messages = [(conn, reserved) for kind, conn, reserved, _, _ in records if kind in (1, 2, 3)]
    assert messages == [(r.connection, 0) for r in VQ_WATCH.records]
    closes = [json.loads(body) for kind, _, _, body, _ in records if kind == 6]
    assert [c["connection"] for c in closes] == [0, 1]
    assert json.loads(records[-1][3]) == {"connections": 2, "records": len(VQ_WATCH.records)}


def test_the_v2_header_refuses_v1_fields_and_v1_refuses_a_command() -> None:
    with pytest.raises(ValueError, match="version-2 header has no transport"):
        CaptureHeader(transport="shm", model=Model.V1)
    with pytest.raises(ValueError, match="no command"):
        CaptureHeader(transport="shm", model=Model.V1, version=1, command=("status",))
    assert CaptureHeader.from_json(HEADER_V2.to_json(), 2) == HEADER_V2


# ------------------------------------------------------------------ round trips


@pytest.mark.parametrize("capture", [VQ_WATCH, RECONNECT_WATCH], ids=["votequorum", "reconnect"])
def test_multi_connection_captures_round_trip(capture: Capture, tmp_path: Path) -> None:
    path = tmp_path / "c.pqcap"
    write_capture(path, capture)
    assert read_capture(path) == capture
    assert to_bytes(read_capture(path)) == path.read_bytes()


def test_items_give_each_connection_where_it_opens_and_closes() -> None:
    with iter_capture(io.BytesIO(to_bytes(RECONNECT_WATCH))) as reader:
        items = list(reader.items())
        assert reader.complete
    marks = [(i.id, i.closed is not None) for i in items if isinstance(i, CaptureConnection)]
    assert marks == [(0, False), (0, True), (1, False), (1, True), (2, False), (2, True)]
    # A connection's records lie between its marks.
    where: dict[int, list[int]] = {}
    for index, item in enumerate(items):
        if isinstance(item, CaptureConnection):
            where.setdefault(item.id, []).append(index)
    for index, item in enumerate(items):
        if isinstance(item, CaptureRecord):
            opened, closed = where[item.connection]
            assert opened < index < closed
    # Plain iteration gives the message records only, as in version 1.
    assert tuple(iter_capture(io.BytesIO(to_bytes(RECONNECT_WATCH)))) == RECONNECT_WATCH.records


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.pqcap")))
def test_version_1_fixtures_read_and_rewrite_byte_for_byte(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    capture = capture_from_bytes(data)
    assert capture.header.version == 1
    (conn,) = capture.connections
    assert (conn.id, conn.service, conn.transport) == (0, "quorum", capture.header.transport)
    assert {r.connection for r in capture.records} == {0}
    assert to_bytes(capture) == data


def test_the_writer_writes_version_2_by_default_and_closes_what_is_open() -> None:
    buffer = io.BytesIO()
    with CaptureWriter(buffer, CaptureHeader(command=("watch",))) as writer:
        conn = writer.open_connection("cmap", "socket", max_msg_size=4096)
        writer.record(Channel.REQUEST, b"x" * 24, conn.id)
        with pytest.raises(ValueError, match="connection 5 is not open"):
            writer.record(Channel.EVENT, b"y", 5)
    capture = capture_from_bytes(buffer.getvalue())
    assert buffer.getvalue().startswith(PREAMBLE)
    (closed,) = capture.connections
    assert (closed.service, closed.reason, closed.max_msg_size) == ("cmap", "ended", 4096)


# ------------------------------------------------------------------ recording connections


class _Wire:
    service = "votequorum"
    connection_type = 0
    max_msg_size = 65536

    def __init__(self) -> None:
        self.events = [b"e1"]
        self.closed = False

    def request(self, data: bytes, timeout: float | None) -> bytes:
        return b"r" + data

    def recv_event(self, timeout: float | None) -> bytes | None:
        if self.events:
            return self.events.pop()
        raise ConnectionLost("corosync went away")

    def fileno(self) -> int:
        return 0

    def close(self) -> None:
        self.closed = True


def test_a_recording_connection_opens_records_and_closes_its_connection() -> None:
    buffer = io.BytesIO()
    with CaptureWriter(buffer, HEADER_V2) as writer:
        first = RecordingConnection(_Wire(), writer, attempts=3)
        first.request(b"q", None)
        assert first.recv_event(0) == b"e1"
        with pytest.raises(ConnectionLost):
            first.recv_event(0)
        first.close()  # after the loss: its CLOSE is written once
        second = RecordingConnection(_Wire(), writer, service="quorum")
        second.close()
    capture = capture_from_bytes(buffer.getvalue())
    one, two = capture.connections
    assert (one.id, one.service, one.transport, one.attempts) == (0, "votequorum", "socket", 3)
    assert (one.reason, one.error) == (CloseReason.LOST, "corosync went away")
    assert (two.id, two.service, two.reason) == (1, "quorum", CloseReason.CLOSED)
    assert [(r.channel, r.data, r.connection) for r in capture.records] == [
        (Channel.REQUEST, b"q", 0), (Channel.RESPONSE, b"rq", 0), (Channel.EVENT, b"e1", 0)]


# ------------------------------------------------------------------ taking a capture apart


def test_connections_by_service_with_decoded_messages() -> None:
    assert [c.id for c in VQ_WATCH.connections_of("votequorum")] == [1]
    groups = VQ_WATCH.by_connection()
    assert [(c.service, len(rs)) for c, rs in groups] == [("quorum", 8), ("votequorum", 5)]
    votequorum = [m for _, r, m in decoded(VQ_WATCH, "votequorum") if r.channel is Channel.EVENT]
    assert tuple(votequorum) == VQ_EVENTS
    quorum = [m for c, _, m in decoded(VQ_WATCH) if c.service == "quorum"]
    assert len(quorum) == 8 and all(m is not None for m in quorum)


def test_one_connection_plays_back_to_its_own_service_session() -> None:
    playback = PlaybackConnection(VQ_WATCH, connection=1)
    with VotequorumSession(connection=playback) as session:
        session.trackstart(Track.CURRENT | Track.CHANGES)
        assert tuple(session.events(timeout=0)) == VQ_EVENTS


def test_the_fake_serves_the_quorum_story_of_a_v2_capture() -> None:
    story = script_from_capture(VQ_WATCH)
    assert story.initial == script_from_capture(V1_CAPTURE).initial
    assert story.steps == script_from_capture(V1_CAPTURE).steps


# ------------------------------------------------------------------ replay


@pytest.mark.parametrize(("capture", "printed"), [(VQ_WATCH, VQ_WATCH_PRINTED),
                                                  (RECONNECT_WATCH, RECONNECT_PRINTED)],
                         ids=["votequorum", "reconnect"])
@pytest.mark.parametrize("as_json", [True, False])
def test_replay_prints_a_multi_connection_watch_as_it_was_printed(
    capture: Capture, printed: tuple[object, ...], as_json: bool, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "w.pqcap"
    write_capture(path, capture)
    assert cli.main(["replay", str(path), *(["--json"] if as_json else [])]) == 0
    fmt = event_to_json if as_json else event_to_text
    assert capsys.readouterr().out.splitlines() == [fmt(e) for e in printed]  # type: ignore[arg-type]


def test_replay_info_lists_the_connections(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "w.pqcap"
    write_capture(path, RECONNECT_WATCH)
    assert cli.main(["replay", str(path), "--info"]) == 0
    out = capsys.readouterr().out
    assert "command          pyquorum watch --reconnect" in out
    assert ("connection 0     quorum over socket, from 0.000 s to 1.000 s (lost): "
            "corosync closed the connection") in out
    assert ("connection 2     quorum over socket, from 4.000 s after 4 attempts to 9.000 s "
            "(closed)") in out


# ------------------------------------------------------------------ damage, one line each

GOOD = to_bytes(VQ_WATCH)


def test_any_cut_of_a_v2_file_is_one_error_naming_where() -> None:
    for length in range(len(GOOD)):
        err = error_of(GOOD[:length])
        assert err.offset is not None and err.offset <= length


def test_any_flipped_byte_of_a_v2_file_is_one_error_at_or_before_it() -> None:
    for at in range(len(PREAMBLE), len(GOOD)):
        data = bytearray(GOOD)
        data[at] ^= 0x10
        err = error_of(bytes(data))
        assert err.offset is not None and err.offset <= at


def _body(*frames_: bytes) -> bytes:
    return PREAMBLE + HEADER_FRAME + b"".join(frames_)


# (the records after the header, the one at fault, how it is named, the problem)
DAMAGE = [
    ((OPEN0, frame(3, b"e", 0.5, 7), CLOSE0, end(1, 1)), 1, "record 0",
     "connection 7 is not open (no open record names it before)"),
    ((OPEN0, CLOSE0, frame(3, b"e", 1.5, 0), end(1, 1)), 2, "record 0",
     "connection 0 was closed at 1.0: no record may follow its close"),
    ((jframe(6, {"connection": 0, "reason": "closed", "error": None}, 0.0, 0), end(0, 0)), 0,
     "close record (connection 0)", "connection 0 is not open (no open record names it before)"),
    ((OPEN0, OPEN0, end(0, 1)), 1, "open record (connection 0)",
     "connection 0 opens a second time"),
    ((jframe(5, {"connection": 1, "service": "quorum", "transport": "shm"}, 0.0, 2),
      end(0, 1)), 0, "open record (connection 2)", "its JSON names connection 1, its header 2"),
    ((jframe(5, {"connection": 0, "service": "quorum", "transport": "udp"}, 0.0, 0),), 0,
     "open record (connection 0)", "the open record's transport 'udp' is neither shm nor socket"),
    ((OPEN0, jframe(6, {"connection": 0, "reason": "gone"}, 1.0, 0)), 1,
     "close record (connection 0)",
     "the close record's reason 'gone' is none of closed, lost, ended"),
    ((OPEN0, frame(5, b"{", 0.0, 1)), 1, "open record", "the open record is not JSON"),
    ((OPEN0, EVENT0, end(1, 1)), 2, "end record",
     "connection 0 is still open at the end record (each connection closes before the end)"),
    ((OPEN0, EVENT0, CLOSE0, end(1, 2)), 3, "end record",
     "the end record counts 2 connections, the file opens 1"),
    ((OPEN0, CLOSE0, jframe(4, {"records": 0}, 2.0)), 2, "end record",
     "the end record has no connection count"),
    ((OPEN0, EVENT0[:1] + b"\1" + EVENT0[2:]), 1, "record 0", "CRC mismatch (stored"),
    ((OPEN0, EVENT0[:20]), 1, "record 0", "truncated: the record needs"),
    ((OPEN0, EVENT0), 2, "record 1",
     "the capture ends here without its end record (truncated, or the recording was killed)"),
]


@pytest.mark.parametrize(("records", "fault", "what", "problem"), DAMAGE)
def test_each_damaged_v2_file_is_one_error_naming_the_record(
    records: tuple[bytes, ...], fault: int, what: str, problem: str
) -> None:
    offset = len(_body(*records[:fault]))
    err = error_of(_body(*records))
    assert str(err).startswith(f"{what} at byte {offset}: {problem}")
    assert err.offset == offset


def test_the_reserved_byte_of_a_v2_record_header_must_be_zero() -> None:
    head = HEAD.pack(3, 0, 9, 1, 0.5)
    bad = head + b"e" + struct.pack("<I", zlib.crc32(head + b"e"))
    assert str(error_of(_body(OPEN0, bad))) == (
        f"record 0 at byte {len(_body(OPEN0))}: the reserved byte is 0x09, not zero")


@pytest.mark.parametrize(("header", "message"), [
    ({k: v for k, v in HEADER_V2.to_json().items() if k != "model"},
     "header record at byte 19: the header has no 'model'"),
    ({**HEADER_V2.to_json(), "command": "status"},
     "header record at byte 19: the header's 'command' is 'status', of the wrong type"),
    ({**HEADER_V2.to_json(), "command": ["status", 1]},
     "header record at byte 19: the header's 'command' is ['status', 1], not a list of "
     "strings"),
    ({**HEADER_V2.to_json(), "version": 1},
     "header record at byte 19: the header says version 1, the preamble 2"),
])
def test_a_bad_v2_header_is_one_error(header: dict[str, object], message: str) -> None:
    data = PREAMBLE + jframe(0, header, 0.0) + end(0, 0)
    assert str(error_of(data)) == message


def test_connection_records_in_a_version_1_file_are_unknown_kinds() -> None:
    v1 = to_bytes(V1_CAPTURE)
    cut = v1.index(b"\n") + 1
    header_len = 16 + struct.unpack_from("<I", v1, cut + 4)[0] + 4
    bad = v1[: cut + header_len] + OPEN0 + v1[cut + header_len :]
    assert "unknown record kind 5" in str(error_of(bad))
    with pytest.raises(ValueError, match="one connection"):
        CaptureWriter(io.BytesIO(), V1_CAPTURE.header).open_connection("cmap", "shm")


def test_replay_of_a_reconnecting_votequorum_watch(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """``watch --votequorum --reconnect``: both connections lost, then a new quorum
    connection (reconnected) and a new votequorum one, each tracking again."""
    from pyquorum import ConnectionLostEvent, Reconnected
    from pyquorum.messages.constants import QuorumType
    from tests.support.capture import V1_EVENTS, shifted

    first = VQ_WATCH.records[:10]  # both tracking, each one's snapshot
    renumbered = tuple(CaptureRecord(r.channel, r.time, r.data, r.connection + 2)
                       for r in shifted(5.0, *first))
    capture = Capture(
        dataclasses.replace(VQ_WATCH.header, command=("watch", "--votequorum", "--reconnect")),
        (*first, *renumbered),
        (
            CaptureConnection(0, "quorum", "shm", 0.0005, 2.0, None, 1, CloseReason.LOST, "gone"),
            CaptureConnection(1, "votequorum", "shm", 0.003, 2.0, None, 1, CloseReason.LOST,
                              "gone"),
            CaptureConnection(2, "quorum", "shm", 5.0005, 9.0, None, 3),
            CaptureConnection(3, "votequorum", "shm", 5.003, 9.0),
        ),
    )
    path = tmp_path / "w.pqcap"
    write_capture(path, capture)
    assert cli.main(["replay", str(path), "--json"]) == 0
    snapshot = (V1_EVENTS[0], V1_EVENTS[1], VQ_EVENTS[0], VQ_EVENTS[1])
    printed = (*snapshot, ConnectionLostEvent("gone"),
               Reconnected(QuorumType.SET, Model.V1, 3), *snapshot)
    assert capsys.readouterr().out.splitlines() == [event_to_json(e) for e in printed]  # type: ignore[arg-type]
