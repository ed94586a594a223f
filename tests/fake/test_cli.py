"""``pyquorum serve`` and ``pyquorum demo``; what ``status`` and ``watch`` import."""

from __future__ import annotations

import contextlib
import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from pyquorum import Model, QuorumSession, RingId, Track
from pyquorum.cli import main
from pyquorum.fake import Script
from pyquorum.fake.server import DEMO_CAPTURE
from pyquorum.formatting import event_to_dict
from pyquorum.testing.fake import FakeQuorumServer
from tests.support.corosync_story import three_nodes
from tests.support.fake import STORY, CorosyncFactory, Factory, expected_events_v1

ROOT = Path(__file__).resolve().parents[2]


DEMO_FIXTURE = ROOT / "fixtures" / "captures" / "shm-node1-v1"


def test_the_demo_serves_the_recorded_fixture_unchanged() -> None:
    """The shipped capture is the fixture scripts/record-fixtures recorded."""
    shipped = resources.files("pyquorum.fake.data").joinpath(DEMO_CAPTURE).read_bytes()
    assert shipped == DEMO_FIXTURE.with_suffix(".pqcap").read_bytes()


def test_demo_prints_the_recorded_session(
    fake: Factory, capsys: pytest.CaptureFixture[str], transport: str
) -> None:
    assert main(["demo", "--json", "--speed", "20", "--transport", transport]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = [json.loads(x) for x in DEMO_FIXTURE.with_suffix(".jsonl").read_text().splitlines()]
    assert len(expected) == 20 and lines == expected


def test_demo_text(fake: Factory, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--speed", "20"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("pyquorum demo: node 1 of a 3-node cluster")
    assert "corosync 3.1.7, libqb 2.0.6" in out[0]
    # Each scenario step is named before the events it caused.
    i = out.index("# quorum lost: nodes 2 and 3 crash together")
    assert out[i + 1] == "nodelist   ring 1.1f  members 1  joined -  left 2 3"
    assert out[i + 2] == "quorum     ring 1.1f  quorate no  members 1"
    assert "# expected votes 1 on the minority" not in out  # no event on node 1
    assert out[-1].startswith("20 events, as recorded")


class _Lines:
    """A process's stdout lines, read by a thread (select() cannot see Python's buffer)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self._queue: queue.Queue[str] = queue.Queue()
        stdout = proc.stdout
        assert stdout is not None
        threading.Thread(target=self._pump, args=(stdout,), daemon=True).start()

    def _pump(self, stdout: Iterable[str]) -> None:
        for line in stdout:
            self._queue.put(line)

    def next(self, timeout: float) -> str:
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no output within {timeout} s")


def _serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pyquorum", "serve", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )


@pytest.mark.parametrize("transport", ["shm", "socket"])
def test_serve_a_script_file(tmp_path: Path, transport: str) -> None:
    """Under a name of its own in this namespace (nothing real listens there)."""
    name = f"pyquorum-test-{os.getpid()}"
    script = tmp_path / "story.jsonl"
    script.write_text(STORY.dumps())
    proc = _serve("--script", str(script), "--name", name, "--transport", transport)
    try:
        lines = _Lines(proc)
        banner = lines.next(10)
        assert banner.startswith(f"serving story on @{name} ({transport}, pid {proc.pid}")
        with QuorumSession(Model.V1, service=name, timeout=10) as session:
            session.trackstart(Track.CURRENT | Track.CHANGES)
            seen = []
            for event in session.events(timeout=5):
                seen.append(event_to_dict(event))
                if len(seen) == 7:
                    break
        assert seen == expected_events_v1(STORY)
        # Each served change is printed as it happens.
        assert "initial" in lines.next(5)
        assert "membership  ring 1.c" in lines.next(5)
        # A second server on the same name is refused.
        second = _serve("--script", str(script), "--name", name)
        _, err = second.communicate(timeout=30)
        assert second.returncode == 1 and "already listens" in err
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    prefix = f"qb-{proc.pid}-"
    assert not [n for n in os.listdir("/dev/shm") if n.startswith(prefix)]


def test_serve_reports_a_bad_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"pyquorum_script": 1}\n{"members": [1]}\n')
    assert main(["serve", "--script", str(bad), "--name", "unused"]) == 1
    assert "bad.jsonl:2: the initial state needs members and quorate" in capsys.readouterr().err


def test_serve_needs_a_source(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["serve"])
    assert info.value.code == 1
    assert "one of the arguments --script --capture is required" in capsys.readouterr().err


@pytest.mark.parametrize("reconnect", [False, True])
def test_watch_auto_says_when_it_falls_back_to_v0(
    fake: Factory, capsys: pytest.CaptureFixture[str], reconnect: bool
) -> None:
    server = fake(Script(STORY.initial, (), model_v1=False))
    argv = ["watch", "--model", "auto", "--json", "--count", "1", "--timeout", "5"]
    with server.netns_context():
        assert main(argv + (["--reconnect"] if reconnect else [])) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["type"] == "quorum_v0"
    assert err.count("corosync predates the V1 model; watching with V0") == 1


# -- what status and watch import ------------------------------------------------------

#: Packages ``pyquorum status`` and ``pyquorum watch`` must never import: the test
#: tools, and the parts of pyquorum that only serve, record or test.
NEVER_IMPORTED = ("pytest", "_pytest", "hypothesis", "pyquorum.fake", "pyquorum.capture",
                  "pyquorum.testing")

#: Runs ``pyquorum ARGV...`` through main() and writes its exit status and
#: every module it imported to the file named first.
_CHILD = """
import json, sys
from pyquorum.cli import main
rc = main(sys.argv[2:])
with open(sys.argv[1], "w") as f:
    json.dump({"rc": rc, "modules": sorted(sys.modules)}, f)
"""

STILL = Script.build([1, 2, 3], quorate=True, ring_id=RingId(1, 8), name="still")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        # The fake serves only the quorum service: status says what that knows, and why
        # the rest is unknown (no error).
        (["status"], "Quorum information\n------------------\nQuorum type:      set\n"
                     "Quorum provider:  unknown\nNodes:            3\n"
                     "Node ID:          unknown\nRing ID:          1.8\n"
                     "Quorate:          Yes\n\nMembership information\n"
                     "----------------------\n    Nodeid Name\n         1 \n"
                     "         2 \n         3 \n\nNote: this daemon serves the quorum "
                     "service but not cmap (pyquorum's fake does that), so the provider, "
                     "node id, names and votes are unknown\n"),
        (["watch", "--json", "--count", "1", "--timeout", "10"],
         '{"type": "nodelist", "ring_id": {"nodeid": 1, "seq": 8}, "members": [1, 2, 3], '
         '"joined": [], "left": []}\n'),
    ],
    ids=["status", "watch"],
)
def test_status_and_watch_import_no_test_tools_nor_fake_nor_capture(
    fake: Factory, tmp_path: Path, argv: list[str], expected: str
) -> None:
    """In a fresh interpreter against the fake server: the output is right, and
    none of :data:`NEVER_IMPORTED` was imported on the way."""
    server = fake(STILL)
    report = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYQUORUM_DEBUG")}
    proc = server.run([sys.executable, "-c", _CHILD, str(report), *argv], cwd=tmp_path,
                      env=env, capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, expected, "")
    result = json.loads(report.read_text())
    assert result["rc"] == 0
    assert "pyquorum.cli" in result["modules"]  # the report is of a real run
    imported = [m for m in result["modules"]
                if any(m == bad or m.startswith(bad + ".") for bad in NEVER_IMPORTED)]
    assert imported == []
    if argv[0] == "status":  # also neither construct (struct fast paths) nor logging (no -v)
        assert [m for m in ("construct", "logging") if m in result["modules"]] == []


#: Standard-library modules that cost ``pyquorum status`` milliseconds of start-up
#: and that it does not need: ``dataclasses`` (the classes are made by
#: :mod:`pyquorum._frozen`) and the ``inspect`` it imports, and ``shutil``
#: (argparse's terminal width, found by :class:`pyquorum.commands._common.HelpFormatter`).
STATUS_NEVER_IMPORTS = ("dataclasses", "inspect", "shutil")

#: Runs ``pyquorum ARGV...`` through main() and writes its exit status, its output
#: and, for each module of STATUS_NEVER_IMPORTS that got imported, the pyquorum
#: module whose import statement brought it in (the innermost pyquorum frame).
_WHO_IMPORTS = """
import contextlib, io, json, sys
watched = set(sys.argv[2].split(","))
importers = {}
class Spy:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name in watched and name not in importers:
            frame = sys._getframe(1)
            while frame is not None and not frame.f_globals.get("__name__", "").startswith(
                    "pyquorum"):
                frame = frame.f_back
            importers[name] = frame.f_globals["__name__"] if frame is not None else None
        return None
sys.meta_path.insert(0, Spy)
from pyquorum.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    rc = main(sys.argv[3:])
with open(sys.argv[1], "w") as f:
    json.dump({"rc": rc, "out": out.getvalue(), "importers": importers,
               "modules": sorted(sys.modules)}, f)
"""


def _who_imports(server: FakeQuorumServer, tmp_path: Path, argv: list[str]) -> dict[str, Any]:
    report = tmp_path / "importers.json"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYQUORUM_DEBUG")}
    proc = server.run([sys.executable, "-c", _WHO_IMPORTS, str(report),
                       ",".join(STATUS_NEVER_IMPORTS), *argv],
                      cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stderr) == (0, "")
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def test_status_over_every_service_imports_no_dataclasses_inspect_or_shutil(
    corosync: CorosyncFactory, tmp_path: Path
) -> None:
    """``pyquorum status`` reading cmap, quorum and votequorum (all of its path)
    imports none of :data:`STATUS_NEVER_IMPORTS`."""
    server = corosync(Script.build([1, 2, 3], True, RingId(1, 13), cluster=three_nodes()))
    result = _who_imports(server, tmp_path, ["status"])
    assert result["rc"] == 0
    assert "Votequorum information" in result["out"]  # the whole path ran
    assert "pyquorum.services.votequorum.session" in result["modules"]
    for name in STATUS_NEVER_IMPORTS:
        assert (result["importers"].get(name), name in result["modules"]) == (None, False)
    # Nor what it does not use: the other transport (the fake serves SHM), the
    # TypedDicts of the JSON form (text is printed).
    unused = ("pyquorum.ipc.client.socket_transport", "pyquorum._status_dicts")
    assert [m for m in unused if m in result["modules"]] == []


_FROZEN_AT_EXIT = """
import atexit, gc, sys
# Registered first, so run last: after whatever pyquorum registered.
atexit.register(lambda: print(f"frozen at exit: {gc.get_freeze_count() > 0}", file=sys.stderr))
sys.argv = ["pyquorum", *sys.argv[1:]]
from pyquorum.cli import main
sys.exit(main())
"""


@pytest.mark.parametrize(
    ("argv", "frozen"), [(["status"], True), (["watch", "--count", "1"], False)]
)
def test_the_objects_of_a_one_shot_program_are_frozen_at_exit(
    fake: Factory, tmp_path: Path, argv: list[str], frozen: bool
) -> None:
    """``pyquorum status`` run as a program ends without a last walk over its
    objects (frozen at exit); ``pyquorum watch`` ends as Python ends."""
    server = fake(STILL)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYQUORUM_DEBUG")}
    proc = server.run([sys.executable, "-c", _FROZEN_AT_EXIT, *argv], cwd=tmp_path, env=env,
                      capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stderr) == (0, f"frozen at exit: {frozen}\n")
    assert "Quorate:          Yes" in proc.stdout or "nodelist" in proc.stdout


def test_status_asks_for_small_channels_on_all_three_connections(
    corosync: CorosyncFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole command: quorum, cmap and votequorum each connect with
    STATUS_MAX_MSG_SIZE (a watch keeps libquorum's size: its events are the
    caller's to size)."""
    from pyquorum.commands._status import STATUS_MAX_MSG_SIZE
    from pyquorum.ipc.client.connection import IpcConnection

    asked: list[tuple[str, int]] = []
    real = IpcConnection.connect.__func__  # type: ignore[attr-defined]

    def recording(cls: type[IpcConnection], /, service: str = "quorum", **kw: Any) -> Any:
        conn = real(cls, service, **kw)
        asked.append((service, conn.max_msg_size))
        return conn

    monkeypatch.setattr(IpcConnection, "connect", classmethod(recording))
    server = corosync(Script.build([1, 2, 3], True, RingId(1, 13), cluster=three_nodes()))
    with server.netns_context(), contextlib.redirect_stdout(io.StringIO()) as out:
        assert main(["status"]) == 0
    assert "Votequorum information" in out.getvalue()
    assert sorted(asked) == [("cmap", STATUS_MAX_MSG_SIZE), ("quorum", STATUS_MAX_MSG_SIZE),
                             ("votequorum", STATUS_MAX_MSG_SIZE)]


def test_status_asks_for_small_cmap_and_votequorum_channels(corosync: CorosyncFactory) -> None:
    """The cmap and votequorum sessions status opens itself ask for
    STATUS_MAX_MSG_SIZE (the daemon sets up 64 KiB channels faster than 1 MiB
    ones), and get it; given connections are used as they are."""
    from pyquorum.commands._status import STATUS_MAX_MSG_SIZE, open_cmap, open_votequorum

    server = corosync(Script.build([1, 2, 3], True, RingId(1, 13), cluster=three_nodes()))
    with server.netns_context():
        cmap, notes = open_cmap(5.0)
        assert cmap is not None and notes == ()
        with cmap, open_votequorum(5.0) as votequorum:
            sizes = [s._conn.max_msg_size for s in (cmap, votequorum)]  # type: ignore[attr-defined]
            assert cmap.get("quorum.provider").value == "corosync_votequorum"
            assert votequorum.getinfo(0).nodeid == 1
    assert sizes == [STATUS_MAX_MSG_SIZE] * 2 == [65536] * 2
