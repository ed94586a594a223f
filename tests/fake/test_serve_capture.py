"""Serving the real captures of fixtures/captures (recorded from 3-node clusters).

Each capture is served by the fake over real libqb IPC, on the transport it
was recorded on, and watched by pyquorum and by the C libquorum: both must
receive exactly the events recorded live (the ``.jsonl`` next to it).  A V1
capture served to a V0 client must give what the V0 client watching the
same node at the same time received: the story, not only the bytes, is
right.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pyquorum import Model, QuorumSession, Track
from pyquorum.capture import read_capture
from pyquorum.cli import main
from pyquorum.commands.replay import recorded_flags
from pyquorum.fake import script_from_capture
from pyquorum.formatting import event_to_dict
from tests.oracle import parse_lines
from tests.support.fake import Factory

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "fixtures" / "captures"
FIXTURES = sorted(p.stem for p in CAPTURES.glob("*.pqcap"))
#: Serve the recordings this many times faster than they happened.
SPEED = 40.0


def _expected(stem: str) -> list[dict[str, Any]]:
    lines = (CAPTURES / f"{stem}.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def _watch(session: QuorumSession, flags: int, count: int) -> list[dict[str, Any]]:
    session.trackstart(flags)
    seen = []
    for event in session.events(timeout=5):
        seen.append(event_to_dict(event))
        if len(seen) == count:
            break
    return seen


def test_there_are_fixtures_of_both_transports_and_models() -> None:
    assert len(FIXTURES) == 8
    assert {stem.split("-")[0] for stem in FIXTURES} == {"shm", "socket"}
    assert {stem.split("-")[2] for stem in FIXTURES} == {"v1", "v0"}


@pytest.mark.parametrize("stem", FIXTURES)
def test_pyquorum_gets_the_recorded_events(fake: Factory, stem: str) -> None:
    capture = read_capture(CAPTURES / f"{stem}.pqcap")
    flags = recorded_flags(capture)
    assert flags is not None
    server = fake(script_from_capture(capture), transport=capture.header.transport, speed=SPEED)
    expected = _expected(stem)
    with server.session(capture.header.model, timeout=5) as session:
        assert _watch(session, flags, len(expected)) == expected


@pytest.mark.parametrize("stem", [s for s in FIXTURES if s.endswith("-v1")])
def test_a_v1_capture_tells_a_v0_client_what_v0_saw_live(fake: Factory, stem: str) -> None:
    capture = read_capture(CAPTURES / f"{stem}.pqcap")
    server = fake(script_from_capture(capture), transport=capture.header.transport, speed=SPEED)
    expected = _expected(stem.removesuffix("-v1") + "-v0")
    with server.session(Model.V0, timeout=5) as session:
        assert _watch(session, Track.CURRENT | Track.CHANGES, len(expected)) == expected


@pytest.mark.parametrize("stem", FIXTURES)
def test_the_c_libquorum_gets_the_recorded_events(
    fake: Factory, oracle: Path, stem: str
) -> None:
    capture = read_capture(CAPTURES / f"{stem}.pqcap")
    flags = recorded_flags(capture)
    model = capture.header.model.name.lower()
    server = fake(script_from_capture(capture), transport=capture.header.transport, speed=SPEED)
    expected = _expected(stem)
    proc = server.run(
        [str(oracle), "watch", model, str(int(flags or 0)), str(len(expected)), "5000"],
        capture_output=True, text=True, timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    lines = parse_lines(proc.stdout)
    assert lines[:2] == [
        {"call": "init", "rc": 1, "quorum_type": 1},
        {"call": "trackstart", "rc": 1},
    ]
    assert lines[2:] == expected


def test_serve_capture_command(tmp_path: Path) -> None:
    """``pyquorum serve --capture`` under a name of its own in this namespace."""
    stem = "socket-node3-v1"
    name = f"pyquorum-test-capture-{os.getpid()}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pyquorum", "serve", "--capture", str(CAPTURES / f"{stem}.pqcap"),
         "--name", name, "--transport", "socket"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()  # printed once it listens
        assert banner.startswith(f"serving capture {stem}.pqcap on @{name} (socket"), banner
        expected = _expected(stem)
        with QuorumSession(Model.V1, service=name, timeout=10) as session:
            assert _watch(session, Track.CURRENT | Track.CHANGES, len(expected)) == expected
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err


def test_serve_names_the_damaged_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray((CAPTURES / "shm-node1-v1.pqcap").read_bytes())
    data[-40] ^= 0xFF  # inside the last message record or the end record
    damaged = tmp_path / "damaged.pqcap"
    damaged.write_bytes(bytes(data))
    assert main(["serve", "--capture", str(damaged), "--name", "unused"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert str(damaged) in err and "CRC mismatch" in err
    assert "record" in err and "at byte" in err
