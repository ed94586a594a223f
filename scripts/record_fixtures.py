"""Re-record fixtures/captures/ from live clusters (run by scripts/record-fixtures).

Three parts, each on clusters of its own (``--only`` picks some; by default all):

``walk``: walks a 3-node cluster per transport (pyquorum/testing/scenarios.py),
checks everything the scenario tests check (pyquorum's events exact, equal to
the C libquorum's on the same node, captures replaying to them), and only then
replaces the fixtures: per transport, node (1 watches everything, 3 is the
partition's minority) and model, ``<transport>-node<N>-<model>.pqcap`` and
next to it ``.jsonl``, the events as ``pyquorum watch --json`` prints them
(equal, line for line, to what the C libquorum delivered).  Nothing is
replaced unless both transports pass.  When writing to the default place,
the capture ``pyquorum demo`` serves (pyquorum/fake/data/demo-3node.pqcap)
is replaced by the new ``shm-node1-v1.pqcap`` too.

``sessions``: multi-connection captures (format version 2) on node 1 of a
fresh 3-node cluster (shm), into ``sessions/``: ``record --status --json``
(``status.pqcap``, ``status.json``), ``record --status`` in text
(``status-text.pqcap``, ``.out``), ``record --votequorum --json --timeout 1``
(``watch-votequorum.pqcap``, ``.jsonl``) and ``record --reconnect --json``
across a restart of node 1's corosync, stopped by SIGTERM once the three
nodes have formed again (``watch-reconnect.pqcap``, ``.jsonl``).

``qdevice``: the same services on a 3-node cluster with a quorum device
(corosync-qnetd, corosync-qdevice on each node, ffsplit), into ``qdevice/``:
``record --status`` (text and ``--json``), then ``record --votequorum
--json`` while node 1 runs ``pyquorum expected 5`` and then ``pyquorum
expected 4``, and node 3 stops (stopped by SIGTERM once all of it was printed).  Next to
each capture, ``<name>.tools.json`` holds what ``corosync-quorumtool -s`` and
``-l`` printed on node 1 right after it (stdout and exit status): what the
stock tool said of the state the capture ends in.

Each capture is checked to replay (``pyquorum replay``) to what the live
command printed before anything is written.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pyquorum.capture import write_capture
from pyquorum.formatting import event_to_json
from pyquorum.testing.cluster import Cluster, Node, QdeviceConfig
from pyquorum.testing.scenarios import verify, walked_cluster
from tests.oracle import build_oracle

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "fixtures" / "captures"
DEMO_SOURCE = "shm-node1-v1.pqcap"
DEMO_COPY = ROOT / "pyquorum" / "fake" / "data" / "demo-3node.pqcap"
TRANSPORTS: tuple[Literal["shm", "socket"], ...] = ("shm", "socket")
PYQUORUM = [sys.executable, "-m", "pyquorum"]
PARTS = ("walk", "sessions", "qdevice")
#: The corosync-quorumtool runs saved next to the qdevice captures.
TOOLS = (("-s",), ("-l",))


def fixture_name(transport: str, nodeid: int, model_name: str) -> str:
    return f"{transport}-node{nodeid}-{model_name.lower()}"


# -- walk ---------------------------------------------------------------------------------


def record_walk(out: Path) -> list[str]:
    oracle = str(build_oracle())
    written: list[str] = []
    with tempfile.TemporaryDirectory(prefix="pyquorum-fixtures-") as tmp:
        staging = Path(tmp) / "captures"
        staging.mkdir()
        for transport in TRANSPORTS:
            started = time.monotonic()
            workdir = Path(tmp) / transport
            workdir.mkdir()
            with walked_cluster(transport, oracle, workdir) as result:
                verify(result)
            for (nodeid, model), capture in sorted(result.captures.items()):
                name = fixture_name(transport, nodeid, model.name)
                write_capture(staging / f"{name}.pqcap", capture)
                events = result.watchers[(nodeid, model)].events
                (staging / f"{name}.jsonl").write_text(
                    "".join(event_to_json(e) + "\n" for e in events))
                written += [f"{name}.pqcap", f"{name}.jsonl"]
            print(f"record-fixtures: {transport}: walked and checked in "
                  f"{time.monotonic() - started:.1f} s", file=sys.stderr)
        out.mkdir(parents=True, exist_ok=True)
        for old in [*out.glob("*.pqcap"), *out.glob("*.jsonl")]:
            old.unlink()
        for name in written:
            shutil.copyfile(staging / name, out / name)
    return [str(out / name) for name in written]


# -- multi-connection sessions ------------------------------------------------------------


class _Watch:
    """A ``pyquorum record`` running on a node, its printed lines collected as they come."""

    def __init__(self, node: Node, path: Path, options: list[str]) -> None:
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", node.netns, *PYQUORUM, "record", "-o", str(path), *options],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_for(self, what: str, test: Callable[[list[str]], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not test(list(self.lines)):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"record printed no {what} within {timeout} s: "
                                   f"{''.join(self.lines)}")
            time.sleep(0.05)

    def settle(self, quiet: float = 1.0, timeout: float = 10.0) -> None:
        """Wait until nothing was printed for ``quiet`` seconds (at most ``timeout``)."""
        deadline = time.monotonic() + timeout
        count, since = len(self.lines), time.monotonic()
        while time.monotonic() - since < quiet and time.monotonic() < deadline:
            time.sleep(0.05)
            if len(self.lines) != count:
                count, since = len(self.lines), time.monotonic()

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=15)
        self._reader.join(timeout=5)
        if self.proc.returncode != 130:
            raise RuntimeError(f"record exited {self.proc.returncode}: {err}")
        return "".join(self.lines)


def _record(node: Node, path: Path, options: list[str]) -> str:
    proc = node.run([*PYQUORUM, "record", "-o", str(path), *options])
    if proc.returncode not in (0, 2):
        raise RuntimeError(f"record {options} failed: {proc.stderr}")
    return proc.stdout


def _tools(node: Node) -> str:
    """What ``corosync-quorumtool -s`` and ``-l`` print on ``node`` now (a JSON file)."""
    runs = {}
    for args in TOOLS:
        proc = node.run(["corosync-quorumtool", *args], timeout=10)
        runs[" ".join(args)] = {"exit": proc.returncode, "stdout": proc.stdout}
    return json.dumps(runs, indent=1, sort_keys=True) + "\n"


def _reconnecting(cluster: Cluster, path: Path) -> str:
    """``record --reconnect --json`` across a restart of node 1; what it printed."""
    watch = _Watch(cluster[1], path, ["--json", "--reconnect"])
    try:
        watch.wait_for("snapshot", lambda lines: len(lines) >= 2, 10)
        cluster[1].restart()
        cluster.wait_formed({1, 2, 3}, timeout=30)
        watch.wait_for("new snapshot", lambda lines: any('"members": [1, 2, 3]' in line
                                                        for line in lines[3:]), 10)
        watch.settle()
    finally:
        text = watch.stop()
    return text


def _sessions(cluster: Cluster, work: Path) -> dict[str, str]:
    node = cluster[1]
    printed = {
        "status.json": _record(node, work / "status.pqcap", ["--status", "--json"]),
        "status-text.out": _record(node, work / "status-text.pqcap", ["--status"]),
        "watch-votequorum.jsonl": _record(node, work / "watch-votequorum.pqcap",
                                          ["--votequorum", "--json", "--timeout", "1"]),
    }
    printed["watch-reconnect.jsonl"] = _reconnecting(cluster, work / "watch-reconnect.pqcap")
    return printed


def _expected_changes(cluster: Cluster, path: Path) -> str:
    """``record --votequorum --json`` while node 1 sets expected votes to 5, then 4,
    and node 3 stops (nodes 1 and 2 stay quorate with the device's vote)."""
    node = cluster[1]
    watch = _Watch(node, path, ["--votequorum", "--json"])
    try:
        watch.wait_for("snapshot", lambda lines: len(lines) >= 4, 10)
        for expected, seen in ((5, 1), (4, 2)):
            node.run([*PYQUORUM, "expected", str(expected)], check=True, timeout=10)
            watch.wait_for(f"expected_votes {expected} event", lambda lines, n=seen: sum(
                '"expected_votes"' in line for line in lines) >= n, 10)
            watch.settle()
        cluster[3].stop_qdevice()
        cluster[3].stop()
        cluster.wait_qdevice([1, 2])
        watch.wait_for("node 3 leaving", lambda lines: any('"left": [3]' in line
                                                           for line in lines), 10)
        watch.settle(quiet=2.0)
    finally:
        text = watch.stop()
    return text


def _qdevice(cluster: Cluster, work: Path) -> dict[str, str]:
    node = cluster[1]
    printed = {"status.json": _record(node, work / "status.pqcap", ["--status", "--json"])}
    printed["status.tools.json"] = _tools(node)
    printed["status-text.out"] = _record(node, work / "status-text.pqcap", ["--status"])
    printed["status-text.tools.json"] = _tools(node)
    printed["watch-votequorum.jsonl"] = _expected_changes(cluster,
                                                          work / "watch-votequorum.pqcap")
    printed["watch-votequorum.tools.json"] = _tools(node)
    return printed


def record_sessions(out: Path, part: str) -> list[str]:
    """Record one of the multi-connection parts into ``out``; the files written."""
    with tempfile.TemporaryDirectory(prefix="pyquorum-sessions-") as tmp:
        work = Path(tmp)
        if part == "qdevice":
            cluster = Cluster(3, qdevice=QdeviceConfig(algorithm="ffsplit", tls=False))
        else:
            cluster = Cluster(3)
        try:
            cluster.start()
            if part == "qdevice":
                cluster.wait_qdevice()
                printed = _qdevice(cluster, work)
            else:
                printed = _sessions(cluster, work)
        finally:
            cluster.close(graceful=False)
        for name, text in printed.items():
            (work / name).write_text(text)
            if ".tools." in name:
                continue
            capture = work / (name.split(".")[0] + ".pqcap")
            options = ["--json"] if name.endswith((".json", ".jsonl")) else []
            again = subprocess.run([*PYQUORUM, "replay", str(capture), *options],
                                   capture_output=True, text=True, cwd=ROOT)
            if again.stdout != text:
                raise RuntimeError(f"{capture.name} does not replay to what was printed")
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for path in sorted(work.iterdir()):
            shutil.copy(path, out / path.name)
            written.append(str(out / path.name))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/record-fixtures", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"where the fixtures go (default {DEFAULT_OUT})")
    parser.add_argument("--only", action="append", choices=PARTS,
                        help="record this part only (repeatable; default all)")
    args = parser.parse_args(argv)
    parts = args.only or list(PARTS)
    written = []
    if "walk" in parts:
        written += record_walk(args.out)
    for part in ("sessions", "qdevice"):
        if part in parts:
            written += record_sessions(args.out / part, part)
    for name in written:
        print(name)
    if "walk" in parts and args.out.resolve() == DEFAULT_OUT.resolve():
        shutil.copyfile(args.out / DEMO_SOURCE, DEMO_COPY)
        print(DEMO_COPY)
    return 0


if __name__ == "__main__":
    sys.exit(main())
