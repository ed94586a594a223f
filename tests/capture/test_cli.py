"""``pyquorum record`` and ``pyquorum replay`` over scripted connections (no corosync)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pyquorum import QuorumSession, cli
from pyquorum.capture import Channel, read_capture, write_capture
from pyquorum.commands import _watching
from pyquorum.errors import CorosyncNotRunning
from pyquorum.formatting import event_to_json, event_to_text
from pyquorum.ipc.client.connection import IpcConnection
from pyquorum.messages.constants import Model, QuorumType, Track
from pyquorum.messages.quorum import decode_request
from pyquorum.messages.types import (
    ErrorResponse,
    GetTypeResponse,
    ModelGetTypeResponse,
    QuorumNotificationV0,
    TrackStartRequest,
    TrackStartResponse,
)
from tests.support.capture import OK, V1_CAPTURE, V1_EVENTS, to_bytes
from tests.support.session_fakes import FakeConnection, Reply

V0_EVENTS = (QuorumNotificationV0(True, 12, (1, 2, 3)), QuorumNotificationV0(False, 16, (1,)))


class Daemon:
    """Hands out scripted FakeConnections: to watch (as QuorumSession) and to record
    (as IpcConnection.connect)."""

    def __init__(self, make: Callable[[], FakeConnection]) -> None:
        self.make = make
        self.made: list[FakeConnection] = []

    def connection(self, *args: Any, **kwargs: Any) -> FakeConnection:
        fake = self.make()
        fake.connection_type = 1  # type: ignore[attr-defined]
        fake.max_msg_size = 1048576  # type: ignore[attr-defined]
        self.made.append(fake)
        return fake

    def session(self, model: Model, **kwargs: Any) -> QuorumSession:
        if "connection" not in kwargs:  # watch: a session of its own
            kwargs["connection"] = self.connection()
        return QuorumSession(model, **kwargs)


def v1_daemon() -> Daemon:
    return Daemon(lambda: FakeConnection(
        ModelGetTypeResponse(OK, QuorumType.SET), Reply(TrackStartResponse(OK), V1_EVENTS)))


def v0_daemon(*init: Any) -> Daemon:
    first = init or (GetTypeResponse(OK, QuorumType.SET),)
    return Daemon(lambda: FakeConnection(*first, Reply(TrackStartResponse(OK), V0_EVENTS)))


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], daemon: Daemon,
        *argv: str) -> tuple[int, str, str]:
    monkeypatch.setattr(_watching, "QuorumSession", daemon.session)
    monkeypatch.setattr(IpcConnection, "connect", daemon.connection)
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("options", [["--json"], [], ["--json", "--count", "3"]])
def test_record_prints_what_watch_prints_and_replay_prints_it_again(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    options: list[str],
) -> None:
    daemon = v1_daemon()
    watch = run(monkeypatch, capsys, daemon, "watch", "--timeout", "0.05", *options)
    path = str(tmp_path / "w.pqcap")
    code, out, err = run(monkeypatch, capsys, daemon, "record", "-o", path, "--timeout", "0.05",
                         *options)
    assert (code, out) == watch[:2]
    assert out.count("\n") == (3 if "--count" in options else 4)
    assert err == f"pyquorum: recorded {4 + out.count(chr(10))} messages to {path}\n"
    assert daemon.made[-1].closed
    replay = ["--json"] if "--json" in options else []
    assert run(monkeypatch, capsys, daemon, "replay", path, *replay) == (0, out, "")
    capture = read_capture(path)
    # Version 2: the transport and size are the connection's, not the header's.
    (conn,) = capture.connections
    assert conn.transport == "shm" and capture.header.model is Model.V1
    assert conn.max_msg_size == 1048576 and conn.service == "quorum"
    assert capture.header.version == 2 and capture.header.command == ("watch",)


def test_record_v0_changes_only_replays_with_the_same_flags(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = str(tmp_path / "v0.pqcap")
    code, out, _ = run(monkeypatch, capsys, v0_daemon(), "record", "-o", path, "--model", "v0",
                       "--changes-only", "--count", "2", "--description", "hello")
    assert code == 0 and out.splitlines() == [event_to_text(e) for e in V0_EVENTS]
    capture = read_capture(path)
    assert capture.header.description == "hello" and capture.header.model is Model.V0
    requests = [decode_request(r.data) for r in capture.channel(Channel.REQUEST)]
    assert requests[1] == TrackStartRequest(Track.CHANGES_ONLY)
    assert run(monkeypatch, capsys, v0_daemon(), "replay", path)[:2] == (0, out)


def test_record_auto_on_an_old_corosync_replays_as_v0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = str(tmp_path / "auto.pqcap")
    daemon = v0_daemon(ErrorResponse(7), GetTypeResponse(OK, QuorumType.SET))
    code, out, err = run(monkeypatch, capsys, daemon, "record", "-o", path, "--model", "auto",
                         "--json", "--count", "2")
    assert code == 0 and "predates the V1 model" in err
    assert read_capture(path).header.model is Model.AUTO
    code, replayed, _ = run(monkeypatch, capsys, daemon, "replay", path, "--json")
    assert (code, replayed) == (0, out)
    assert [json.loads(line)["type"] for line in out.splitlines()] == ["quorum_v0"] * 2


def test_ctrl_c_ends_a_recording_with_a_complete_capture(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    class Interrupted(FakeConnection):
        def recv_event(self, timeout: float | None = None) -> bytes | None:
            if not self.pending:
                raise KeyboardInterrupt
            return super().recv_event(timeout)

    daemon = Daemon(lambda: Interrupted(
        ModelGetTypeResponse(OK, QuorumType.SET), Reply(TrackStartResponse(OK), V1_EVENTS)))
    path = str(tmp_path / "c.pqcap")
    code, out, err = run(monkeypatch, capsys, daemon, "record", "-o", path, "--json")
    assert code == cli.EXIT_INTERRUPTED
    assert out.splitlines() == [event_to_json(e) for e in V1_EVENTS]
    assert "recorded 8 messages" in err
    assert len(read_capture(path).records) == 8  # the end record is there
    assert daemon.made[-1].closed


def test_record_without_corosync_is_one_line_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> FakeConnection:
        raise CorosyncNotRunning("connection refused")

    monkeypatch.setattr(IpcConnection, "connect", refuse)
    path = tmp_path / "none.pqcap"
    assert cli.main(["record", "-o", str(path)]) == cli.EXIT_ERROR
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("pyquorum: corosync is not running")
    assert not path.exists()


def test_record_to_an_unwritable_file_closes_the_connection(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    daemon = v1_daemon()
    code, out, err = run(monkeypatch, capsys, daemon, "record", "-o", str(tmp_path / "no" / "x"))
    assert code == cli.EXIT_ERROR and out == ""
    assert err.startswith("pyquorum: No such file or directory") and err.count("\n") == 1
    assert daemon.made[-1].closed


def test_record_reconnect_records_each_connection_and_replays_the_reconnection(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """``record --reconnect``: the lost connection, a failed attempt (nothing
    listening) and the new connection, each in the one capture; replay prints
    connection_lost and reconnected where watch did.  (Capture format v2: a
    version-1 capture held one connection, and record had no --reconnect.)"""

    class LostWhenDrained(FakeConnection):
        def recv_event(self, timeout: float | None = None) -> bytes | None:
            if not self.pending and not self.replies:
                self.lose()
            return super().recv_event(timeout)

    makers: list[Callable[[], FakeConnection]] = [
        lambda: LostWhenDrained(ModelGetTypeResponse(OK, QuorumType.SET),
                                Reply(TrackStartResponse(OK), V1_EVENTS[:2])),
        lambda: FakeConnection(ModelGetTypeResponse(OK, QuorumType.SET),
                               Reply(TrackStartResponse(OK), V1_EVENTS[2:])),
    ]
    refusals = iter([True])

    def make() -> FakeConnection:
        if len(makers) == 1 and next(refusals, False):
            raise CorosyncNotRunning("connection refused")
        return makers.pop(0)()

    path = str(tmp_path / "r.pqcap")
    code, out, err = run(monkeypatch, capsys, Daemon(make), "record", "-o", path, "--json",
                         "--reconnect", "--timeout", "0.3")
    assert code == 0 and err.endswith(f"recorded 12 messages to {path}\n")
    assert [json.loads(line)["type"] for line in out.splitlines()] == [
        "nodelist", "quorum", "connection_lost", "reconnected", "nodelist", "quorum"]
    capture = read_capture(path)
    assert capture.header.command == ("watch", "--reconnect")
    first, second = capture.connections
    assert (first.reason, first.error) == ("lost", "the daemon is gone")
    assert (second.reason, second.attempts) == ("closed", 2)
    assert second.opened >= first.closed  # type: ignore[operator]
    assert run(monkeypatch, capsys, Daemon(make), "replay", path, "--json") == (0, out, "")


# ------------------------------------------------------------------ replay


def test_replay_reads_its_requests_without_construct(tmp_path: Path) -> None:
    """The recorded TRACKSTART is decoded by the struct path: a whole replay,
    as a process, never imports construct (about a tenth of its start-up)."""
    import subprocess
    import sys

    path = tmp_path / "watch.pqcap"
    write_capture(path, V1_CAPTURE)
    code = (
        "import sys, io, contextlib\n"
        "from pyquorum import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    assert cli.main(['replay', '--json', {str(path)!r}]) == 0\n"
        "assert out.getvalue().count('\\n') == %d, out.getvalue()\n"
        "print('construct' in sys.modules)\n"
    ) % len(V1_EVENTS)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False"


def test_replay_of_a_damaged_capture_is_one_line_naming_the_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "cut.pqcap"
    path.write_bytes(to_bytes(V1_CAPTURE)[:-50])  # the end record (34 bytes) and part of 7
    assert cli.main(["replay", str(path)]) == cli.EXIT_ERROR
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"pyquorum: {path}: record 7 at byte ")
    assert "truncated" in err


def test_replay_of_a_newer_format_says_so(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "new.pqcap"
    path.write_bytes(b"pyquorum-capture 7\n...")
    assert cli.main(["replay", str(path), "--json"]) == cli.EXIT_ERROR
    assert "capture format version 7 is not supported" in capsys.readouterr().err


def test_replay_of_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["replay", str(tmp_path / "nope")]) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith("pyquorum: No such file or directory") and "Traceback" not in err


def test_replay_info_describes_the_capture(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "a.pqcap"
    write_capture(path, V1_CAPTURE)
    assert cli.main(["replay", str(path), "--info"]) == 0
    out = capsys.readouterr().out
    assert "transport        shm" in out and "model            V1" in out
    assert "2 requests, 2 responses, 4 events over 2.500 s" in out
    assert "corosync         3.1.7" in out


def test_record_writes_the_hosts_versions_into_the_header(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The capture package takes the versions as values; record asks the host for them."""
    from pyquorum.commands import record

    monkeypatch.setattr(record, "corosync_version", lambda: "3.1.99")
    monkeypatch.setattr(record, "libqb_version", lambda: "2.0.99")
    path = str(tmp_path / "v.pqcap")
    assert run(monkeypatch, capsys, v1_daemon(), "record", "-o", path, "--count", "1")[0] == 0
    header = read_capture(path).header
    assert (header.corosync_version, header.libqb_version) == ("3.1.99", "2.0.99")


@pytest.mark.parametrize("options", [["--json"], []], ids=["json", "text"])
def test_record_status_without_cmap_replays_to_the_same_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    options: list[str],
) -> None:
    """A daemon serving the quorum service only (pyquorum's fake): status says so in a
    note; the capture holds the one quorum connection, and replay (finding no cmap
    connection in it, as the live status found no cmap) prints the same."""
    quorum_only = Daemon(lambda: FakeConnection(
        ModelGetTypeResponse(OK, QuorumType.SET), Reply(TrackStartResponse(OK), V1_EVENTS[:2])))

    def connect(service: str, **kwargs: Any) -> FakeConnection:
        if service != "quorum":
            raise CorosyncNotRunning(f"nothing listens on @{service}")
        return quorum_only.connection()

    path = str(tmp_path / "s.pqcap")
    monkeypatch.setattr(IpcConnection, "connect", connect)
    code = cli.main(["record", "-o", path, "--status", *options])
    out = capsys.readouterr().out
    assert code == 0
    if options:
        got = json.loads(out)
        assert got["members"] == [1, 2, 3] and got["provider"] is None
    else:
        assert "Nodes:            3\n" in out and "serves the quorum service but not cmap" in out
    capture = read_capture(path)
    assert capture.header.command == ("status",)
    assert [c.service for c in capture.connections] == ["quorum"]
    assert cli.main(["replay", path, *options]) == 0
    assert capsys.readouterr().out == out


def test_record_status_takes_only_its_own_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["record", "-o", "x", "--status", "--count", "2"]) == cli.EXIT_ERROR
    assert "--status records one status snapshot" in capsys.readouterr().err
