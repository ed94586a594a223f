"""``pyquorum record`` of multi-connection sessions on a real 3-node cluster,
and ``pyquorum replay`` of them with no corosync: the replay prints what the
live run printed.

One cluster for the module: ``record --status`` (cmap, quorum and
votequorum), ``record --votequorum``, then ``record --votequorum
--reconnect`` across a restart of node 1's corosync (the last: it changes
the cluster).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyquorum.capture import CloseReason, read_capture
from pyquorum.testing.cluster import Cluster, ClusterUnavailable, Node
from tests.support.live import require_corosync, require_live
from tests.support.node_command import NodeCommand

pytestmark = pytest.mark.corosync

PYQUORUM = [sys.executable, "-m", "pyquorum"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    require_corosync()
    made = Cluster(3)
    try:
        try:
            made.start()
        except ClusterUnavailable as exc:
            require_live(exc)
        yield made
    finally:
        made.close(graceful=False)


def replay(path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """``pyquorum replay`` on the host: no corosync, no namespace."""
    return subprocess.run([*PYQUORUM, "replay", str(path), *options], capture_output=True,
                          text=True, timeout=60, cwd=ROOT)


@pytest.mark.parametrize("options", [["--json"], []], ids=["json", "text"])
def test_a_recorded_status_replays_to_the_live_status(
    cluster: Cluster, tmp_path: Path, options: list[str]
) -> None:
    path = tmp_path / "status.pqcap"
    live = cluster[1].run([*PYQUORUM, "record", "-o", str(path), "--status", *options])
    assert live.returncode == 0, live.stderr
    assert live.stdout.strip() and "recorded" in live.stderr
    if options:
        got = json.loads(live.stdout)
        assert got["members"] == [1, 2, 3] and got["node_id"] == 1
    capture = read_capture(path)
    assert capture.header.command == ("status",)
    assert sorted({c.service for c in capture.connections}) == ["cmap", "quorum", "votequorum"]
    assert all(c.reason is CloseReason.CLOSED for c in capture.connections)
    again = replay(path, *options)
    assert (again.returncode, again.stdout, again.stderr) == (0, live.stdout, "")
    # The same as a plain status run now (the cluster has not changed meanwhile).
    assert cluster[1].run([*PYQUORUM, "status", *options]).stdout == live.stdout


def test_a_recorded_votequorum_watch_replays_line_for_line(cluster: Cluster,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "vq.pqcap"
    live = cluster[2].run([*PYQUORUM, "record", "-o", str(path), "--votequorum", "--json",
                           "--timeout", "1"])
    assert live.returncode == 0, live.stderr
    kinds = [json.loads(line)["type"] for line in live.stdout.splitlines()]
    assert {"nodelist", "quorum", "votequorum_nodelist", "votequorum_quorum"} <= set(kinds)
    services = [c.service for c in read_capture(path).connections]
    assert services == ["quorum", "votequorum"]
    again = replay(path, "--json")
    assert (again.returncode, again.stdout, again.stderr) == (0, live.stdout, "")


class Recording(NodeCommand):
    """A ``pyquorum record`` running in a node's namespace, its stdout read line by line."""

    def __init__(self, node: Node, *argv: str) -> None:
        super().__init__(node, *PYQUORUM, *argv, cwd=ROOT)

    def until(self, wanted: str, timeout: float = 30.0) -> dict[str, object]:
        """Read lines until a JSON event of type ``wanted``; that event."""
        while True:
            event: dict[str, object] = json.loads(self.next(timeout))
            if event["type"] == wanted:
                return event

    def stop(self) -> tuple[int, str]:
        """SIGTERM (the capture gets its end record); the exit status and the rest of stderr."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        while (line := self.lines.get(timeout=5)) is not None:
            self.seen.append(line)
        return self.proc.returncode, err


def test_a_recorded_reconnecting_votequorum_watch_replays_the_restart(
    cluster: Cluster, tmp_path: Path
) -> None:
    path = tmp_path / "reconnect.pqcap"
    recording = Recording(cluster[1], "record", "-o", str(path), "--json", "--votequorum",
                          "--reconnect")
    try:
        assert recording.until("votequorum_quorum")
        cluster[1].restart()
        recording.until("connection_lost")
        recording.until("reconnected")
        recording.until("votequorum_nodelist")  # votequorum watched again
        cluster.wait_formed({1, 2, 3}, timeout=30)
        while recording.until("quorum")["members"] != [1, 2, 3]:
            pass
    finally:
        code, err = recording.stop()
    assert code == 130 and "recorded" in err, err
    capture = read_capture(path)
    assert capture.header.command == ("watch", "--votequorum", "--reconnect")
    quorum = capture.connections_of("quorum")
    assert len(quorum) >= 2 and quorum[0].reason is CloseReason.LOST
    assert quorum[-1].opened > quorum[0].closed  # type: ignore[operator]
    assert quorum[-1].reason is CloseReason.CLOSED
    votequorum = capture.connections_of("votequorum")
    assert len(votequorum) >= 2 and votequorum[-1].opened > quorum[-1].opened
    again = replay(path, "--json")
    assert (again.returncode, again.stderr) == (0, "")
    assert again.stdout.splitlines() == recording.seen
