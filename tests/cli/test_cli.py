"""The pyquorum command: output, exit codes, and the one-line errors (sessions are faked)."""

from __future__ import annotations

import atexit
import gc
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from pyquorum import cli
from pyquorum.commands import _status as status_command
from pyquorum.commands import _watching
from pyquorum.commands._common import Output
from pyquorum.errors import (
    AccessError,
    ConnectionLost,
    CorosyncNotRunning,
    CsTimeoutError,
    RemoteProtocolError,
    TryAgainError,
)
from pyquorum.messages.constants import Model, Track
from pyquorum.messages.types import (
    NodelistNotification,
    QuorumNotification,
    QuorumNotificationV0,
    RingId,
    TrackStartRequest,
)
from tests.support.cli import Daemon, snapshot

ROOT = Path(__file__).resolve().parents[2]
RING = RingId(1, 17)
NODELIST = NodelistNotification(RING, (1, 2), (), ())
QUORATE = QuorumNotification(True, RING, (1, 2))
INQUORATE = QuorumNotification(False, RING, (1,))


def no_cmap(timeout: float, connect: object = None) -> tuple[None, tuple[str, ...]]:
    return None, ("no cmap in these tests",)


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], daemon: Any,
        *argv: str) -> tuple[int, str, str]:
    """``pyquorum ARGV`` with QuorumSession faked by ``daemon`` and no cmap (so status
    asks only the quorum service; tests/cli/test_status_read.py covers the rest)."""
    monkeypatch.setattr(_watching, "QuorumSession", daemon)
    monkeypatch.setattr(status_command, "open_cmap", no_cmap)
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- status ---------------------------------------------------------------------------


def test_status_quorate_exits_0(monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    daemon = Daemon(snapshot(NODELIST, QUORATE))
    code, out, err = run(monkeypatch, capsys, daemon, "status")
    assert code == 0 and err == ""
    assert "Quorate:          Yes\n" in out and "Ring ID:          1.11\n" in out
    assert out.endswith("Note: no cmap in these tests\n")
    assert daemon.models == [Model.V1]
    assert daemon.connections[0].sent[1] == TrackStartRequest(Track.CURRENT)
    assert daemon.connections[0].closed


def test_status_not_quorate_exits_2_with_json(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(monkeypatch, capsys, Daemon(snapshot(NODELIST, INQUORATE)),
                       "status", "--json")
    assert code == 2
    assert json.loads(out) == {
        "quorum_type": "set", "provider": None, "quorate": False, "node_id": None,
        "ring_id": {"nodeid": 1, "seq": 17}, "members": [1], "votequorum": None,
        "nodes": [{"nodeid": 1, "votes": None, "name": None, "local": False}],
    }


def test_status_without_a_snapshot_times_out(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(monkeypatch, capsys, Daemon(snapshot()), "status", "--timeout", "0.1")
    assert code == 1 and out == ""
    assert err.startswith("pyquorum: corosync did not answer in time")


# -- watch ------------------------------------------------------------------------------


def test_watch_json_prints_one_object_per_event(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    daemon = Daemon(snapshot(NODELIST, QUORATE, NODELIST))
    code, out, err = run(monkeypatch, capsys, daemon, "watch", "--json", "--count", "2")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["nodelist", "quorum"]
    assert daemon.connections[0].sent[1] == TrackStartRequest(Track.CURRENT | Track.CHANGES)


def test_watch_text_and_changes_only(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    daemon = Daemon(snapshot(QUORATE))
    code, out, _ = run(monkeypatch, capsys, daemon, "watch", "--changes-only", "--count", "1")
    assert code == 0
    assert out == "quorum     ring 1.11  quorate yes  members 1 2\n"
    assert daemon.connections[0].sent[1] == TrackStartRequest(Track.CHANGES_ONLY)


def test_watch_v0(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    daemon = Daemon(snapshot(QuorumNotificationV0(True, 17, (1,))))
    code, out, _ = run(monkeypatch, capsys, daemon, "watch", "--model", "v0", "--json",
                       "--count", "1")
    assert code == 0
    assert json.loads(out)["type"] == "quorum_v0"
    assert daemon.models == [Model.V0]


def test_watch_auto_on_an_old_daemon_says_it_uses_v0(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    daemon = Daemon(snapshot(QuorumNotificationV0(True, 17, (1,))), old=True)
    code, out, err = run(monkeypatch, capsys, daemon, "watch", "--model", "auto", "--count", "1")
    assert code == 0
    assert out.startswith("quorum_v0")
    assert "V0" in err and len(err.splitlines()) == 1


def test_verbose_shows_the_fallback_log_record(monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    daemon = Daemon(snapshot(QuorumNotificationV0(True, 17, (1,))), old=True)
    code, _, err = run(monkeypatch, capsys, daemon, "-v", "watch", "--model", "auto",
                       "--count", "1")
    assert code == 0
    assert "pyquorum: corosync does not know MODEL_GETTYPE" in err


def test_status_on_an_old_daemon_says_what_works(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(monkeypatch, capsys, Daemon(old=True), "status")
    assert code == 1
    assert err.count("\n") == 1 and "3.1 or later" in err and "--model v0" in err


def test_watch_v1_on_an_old_daemon_suggests_auto(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(monkeypatch, capsys, Daemon(old=True), "watch")
    assert code == 1
    assert err.count("\n") == 1 and "--model auto" in err


def test_watch_timeout_ends_quietly(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(monkeypatch, capsys, Daemon(snapshot(NODELIST, QUORATE)),
                         "watch", "--timeout", "0.1")
    assert (code, err) == (0, "")
    assert len(out.splitlines()) == 2


def test_watch_timeout_before_count_is_an_error(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(monkeypatch, capsys, Daemon(snapshot(NODELIST, QUORATE)),
                         "watch", "--timeout", "0.1", "--count", "3")
    assert code == 1
    assert len(out.splitlines()) == 2
    assert err.startswith("pyquorum: only 2 of 3 events") and err.count("\n") == 1


def test_watch_daemon_death_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    daemon = Daemon(snapshot(NODELIST))
    monkeypatch.setattr(_watching, "QuorumSession", daemon)

    class Losing(Output):
        def line(self, text: str) -> bool:
            daemon.connections[0].lose()
            return super().line(text)

    monkeypatch.setattr(cli, "Output", Losing)
    code = cli.main(["watch"])
    out, err = capsys.readouterr()
    assert code == 1 and out.count("\n") == 1
    assert err.startswith("pyquorum: lost the connection to corosync") and err.count("\n") == 1


# -- failures -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "start"),
    [
        (CorosyncNotRunning("refused"), "corosync is not running"),
        (AccessError("denied"), "corosync refused the connection (permission denied"),
        (TryAgainError("not ready"), "corosync is not ready yet"),
        (ConnectionLost("gone"), "lost the connection to corosync"),
        (CsTimeoutError("slow"), "corosync did not answer in time"),
        (RemoteProtocolError("bad bytes"), "corosync sent a message pyquorum cannot parse"),
        (PermissionError(13, "Permission denied", "/dev/shm/x"), "Permission denied: /dev/shm/x"),
        (RuntimeError("bug"), "internal error: RuntimeError: bug"),
    ],
)
@pytest.mark.parametrize("command", ["status", "watch"])
def test_failures_are_one_line_on_stderr_and_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    exc: BaseException, start: str, command: str,
) -> None:
    monkeypatch.delenv("PYQUORUM_DEBUG", raising=False)
    code, out, err = run(monkeypatch, capsys, Daemon(refuse=exc), command)
    assert (code, out) == (1, "")
    assert err.startswith(f"pyquorum: {start}")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert ";" in err  # what happened; what to do


def test_debug_env_shows_internal_errors(monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PYQUORUM_DEBUG", "1")
    with pytest.raises(RuntimeError):
        run(monkeypatch, capsys, Daemon(refuse=RuntimeError("bug")), "status")


def test_ctrl_c_exits_130_quietly(monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(monkeypatch, capsys, Daemon(refuse=KeyboardInterrupt()), "watch")
    assert (code, out, err) == (130, "", "")


def test_usage_errors_exit_1_not_2(monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["watch", "--count", "0"], ["watch", "--model", "v2"], ["nope"]):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 1
    assert "usage:" in capsys.readouterr().err


class ClosedPipe:
    """A stdout whose reader has gone."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")

    def fileno(self) -> int:
        raise OSError("no fd")


def test_broken_pipe_ends_watch_quietly(monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    daemon = Daemon(snapshot(NODELIST, QUORATE))
    monkeypatch.setattr(_watching, "QuorumSession", daemon)
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert cli.main(["watch"]) == 0
    assert capsys.readouterr().err == ""
    assert daemon.connections[0].closed


def test_broken_pipe_keeps_the_status_exit_code(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(_watching, "QuorumSession", Daemon(snapshot(NODELIST, INQUORATE)))
    monkeypatch.setattr(status_command, "open_cmap", no_cmap)
    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert cli.main(["status"]) == 2
    assert capsys.readouterr().err == ""


# -- as a program ---------------------------------------------------------------------------


def _python(code: str, *args: str, **kw: Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, env=env, **kw)


def test_python_dash_m_pyquorum_version() -> None:
    proc = subprocess.run([sys.executable, "-m", "pyquorum", "--version"], capture_output=True,
                          text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0
    assert proc.stdout.startswith("pyquorum ")


def test_reader_going_away_ends_the_process_quietly() -> None:
    """`pyquorum watch | head -1` as a real process: no traceback, even at exit."""
    child = textwrap.dedent(
        """
        import sys
        from pyquorum import cli
        from pyquorum.commands import _watching
        from pyquorum.messages.types import QuorumNotification, RingId
        from tests.support.cli import Daemon, snapshot
        events = [QuorumNotification(True, RingId(1, n), (1,)) for n in range(20000)]
        sys.exit(cli.main(["watch", "--json", "--timeout", "2"]) if _watching.__setattr__(
            "QuorumSession", Daemon(snapshot(*events))) is None else 99)
        """
    )
    proc = _python(child, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(30) == 0, err
    assert json.loads(first)["type"] == "quorum"
    assert err == b""


# -- the table of subcommands ---------------------------------------------------------------

COMMANDS_DIR = ROOT / "pyquorum" / "commands"


def test_every_command_module_is_in_the_table_and_every_row_loads() -> None:
    modules = sorted(p.stem for p in COMMANDS_DIR.glob("*.py") if not p.stem.startswith("_"))
    assert sorted(c.name for c in cli.COMMANDS) == modules
    for command in cli.COMMANDS:
        module = command.load()
        assert module.__name__ == f"pyquorum.commands.{command.name}"  # type: ignore[attr-defined]
        assert callable(module.configure) and callable(module.run)


_IMPORTED_COMMANDS = """
import contextlib, json, sys
from pyquorum.cli import main
with contextlib.redirect_stdout(sys.stderr), contextlib.suppress(SystemExit):
    main(sys.argv[1:])
print(json.dumps(sorted(m for m in sys.modules if m.startswith("pyquorum.commands."))))
"""


@pytest.mark.parametrize(
    ("argv", "loaded", "shown"),
    [
        (["--help"], [], "serve a script or a capture"),
        (["status", "--help"], ["status"], "--timeout S"),
        (["watch", "--help"], ["watch"], "--reconnect"),
        (["serve", "--help"], ["serve"], "--hostile CASE"),
        (["cmap", "track", "--help"], ["cmap"], "--key"),
        (["expected", "--help"], ["expected"], "corosync-quorumtool -e"),
        (["votes", "--help"], ["votes"], "0 is this node"),
    ],
)
def test_only_the_command_that_runs_is_imported(argv: list[str], loaded: list[str],
                                                shown: str) -> None:
    """``pyquorum --help`` lists the commands from the table; a command's own
    parser is filled in by its module, and no other command module is imported."""
    proc = subprocess.run([sys.executable, "-c", _IMPORTED_COMMANDS, *argv], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert shown in proc.stderr  # the help text went to stderr
    shared = {"pyquorum.commands._common"}
    imported = set(json.loads(proc.stdout)) - shared
    assert imported == {f"pyquorum.commands.{name}" for name in loaded}


@pytest.mark.parametrize("command", [c.name for c in cli.COMMANDS])
@pytest.mark.parametrize("collecting", [True, False])
def test_the_collector_is_paused_for_start_up_and_one_shot_commands_only(
    monkeypatch: pytest.MonkeyPatch, command: str, collecting: bool
) -> None:
    """main() pauses the cyclic garbage collector while it starts a command; a
    one-shot command (status, expected, votes) runs with it paused, any other
    with it running; afterwards it is as the caller had it."""
    seen: list[bool] = []

    class Module:
        @staticmethod
        def configure(parser: Any) -> None:
            seen.append(gc.isenabled())  # (while parsing)

        @staticmethod
        def run(args: Any, out: Output) -> int:
            seen.append(gc.isenabled())
            return 0

    rows = tuple(cli.Command(c.name, c.summary, lambda: Module) for c in cli.COMMANDS)
    monkeypatch.setattr(cli, "COMMANDS", rows)
    monkeypatch.setattr(cli, "_BY_NAME", {row.name: row for row in rows})
    was = gc.isenabled()
    try:
        (gc.enable if collecting else gc.disable)()
        assert cli.main([command]) == 0
        assert gc.isenabled() is collecting
    finally:
        (gc.enable if was else gc.disable)()
    assert seen == [False, collecting and command not in cli.ONE_SHOT_COMMANDS]


@pytest.mark.parametrize("command", [c.name for c in cli.COMMANDS])
@pytest.mark.parametrize("own_command_line", [True, False])
def test_a_one_shot_command_line_ends_without_a_last_collection(
    monkeypatch: pytest.MonkeyPatch, command: str, own_command_line: bool
) -> None:
    """Run as the process's command (argv None), a one-shot command has the
    objects frozen at exit (the final collection then skips them); called with
    an argv (a caller's process), or for any other command, exit is left alone."""
    registered: list[object] = []

    class Module:
        @staticmethod
        def configure(parser: Any) -> None:
            pass

        @staticmethod
        def run(args: Any, out: Output) -> int:
            return 0

    rows = tuple(cli.Command(c.name, c.summary, lambda: Module) for c in cli.COMMANDS)
    monkeypatch.setattr(cli, "COMMANDS", rows)
    monkeypatch.setattr(cli, "_BY_NAME", {row.name: row for row in rows})
    monkeypatch.setattr(atexit, "register", registered.append)
    monkeypatch.setattr(sys, "argv", ["pyquorum", command])
    assert cli.main(None if own_command_line else [command]) == 0
    one_shot = own_command_line and command in cli.ONE_SHOT_COMMANDS
    assert registered == ([gc.freeze] if one_shot else [])

