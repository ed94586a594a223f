"""How long a restarted node takes to rejoin while node 1 is polled in a loop.

``sudo .venv/bin/python scripts/poll_rejoin.py [--trials N] [--crash] [--modes none,pyquorum,...]``

A real 3-node cluster (pyquorum.testing.cluster).  For each mode and trial:
node 3 is stopped (``--crash``: killed), the poller starts on node 1, node 3
is started again, and the time from that start until node 2 (not polled) and
node 1 (polled) report members {1, 2, 3} is measured, each by
``corosync-quorumtool -s`` in its namespace every 50 ms, with how many polls
ran and failed meanwhile and how often node 1's own query failed.  Modes:

* ``none``: no poller (the baseline);
* ``pyquorum``: ``pyquorum status`` back to back;
* ``quorumtool``: ``corosync-quorumtool -s`` back to back;
* ``inproc``: pyquorum's ``status`` command back to back in one Python process;
* ``thread``: the same on a thread of this (the measuring) process;
* ``pyquorum-pause``, ``quorumtool-pause``, ``inproc-pause``: the same with a 20 ms
  pause between runs;
* ``MODE@N``: N such loops at once.

Every daemon is stopped at the end, also on failure or ^C.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pyquorum.testing.cluster import Cluster
from pyquorum.testing.cluster.common import CommandFailed

VENV_BIN = Path(sys.executable).parent
PYCACHE = Path(tempfile.gettempdir()) / "poll-rejoin-pycache"
#: In-process: ``pyquorum status`` (its ``main``) over and over in one Python process,
#: so that each run costs its connections, not an interpreter start.
INPROC = (
    "import contextlib, io, sys, time\n"
    "from pyquorum.cli import main\n"
    "pause = float(sys.argv[2])\n"
    "with open(sys.argv[1], 'a') as log:\n"
    "    while True:\n"
    "        sink = io.StringIO()\n"
    "        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):\n"
    "            code = main(['status', '--timeout', '5'])\n"
    "        print(code, file=log, flush=True)\n"
    "        if pause: time.sleep(pause)\n"
)
COMMANDS = {
    # The byte-code cache on, whatever the environment says: without it each
    # run compiles pyquorum anew and takes most of a second.
    "pyquorum": f"env -u PYTHONDONTWRITEBYTECODE PYTHONPYCACHEPREFIX={PYCACHE} "
    f"{VENV_BIN / 'pyquorum'} status",
    "quorumtool": f"{shutil.which('corosync-quorumtool', path='/usr/sbin:/sbin:/usr/bin')} -s",
}


def poller(
    cluster: Cluster, mode: str, log: Path
) -> list[subprocess.Popen[bytes] | _ThreadPoller]:
    """The loops on node 1 (``MODE@N``: N of them): one line per run into ``log``."""
    if mode == "none":
        return []
    mode, _, copies = mode.partition("@")
    return [_one_poller(cluster, mode, log) for _ in range(int(copies or 1))]


class _ThreadPoller:
    """``thread`` mode: the status loop on a thread of this process (the one that
    measures), as a test polling in-process next to the harness would do."""

    def __init__(self, cluster: Cluster, log: Path, pause: float) -> None:
        self.stop = threading.Event()
        self.pid = 0
        self.thread = threading.Thread(target=self.run, args=(cluster, log, pause), daemon=True)
        self.thread.start()

    def run(self, cluster: Cluster, log: Path, pause: float) -> None:
        from pyquorum.cli import main as cli_main

        with cluster[1].netns_context(), log.open("a") as out:
            while not self.stop.is_set():
                sink = io.StringIO()
                with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                    code = cli_main(["status", "--timeout", "5"])
                print(code, file=out, flush=True)
                if pause:
                    time.sleep(pause)

    def wait(self, timeout: float) -> None:
        self.stop.set()
        self.thread.join(timeout)


def _one_poller(
    cluster: Cluster, mode: str, log: Path
) -> subprocess.Popen[bytes] | _ThreadPoller:
    tool, _, pause = mode.partition("-")
    if tool == "thread":
        return _ThreadPoller(cluster, log, 0.02 if pause else 0.0)
    if tool == "inproc":
        return subprocess.Popen(
            ["ip", "netns", "exec", cluster[1].netns, sys.executable, "-c", INPROC, str(log),
             "0.02" if pause else "0"],
            start_new_session=True,
        )
    sleep = "sleep 0.02;" if pause else ""
    script = (
        f'while :; do {COMMANDS[tool]} >/dev/null 2>>"{log}.err"; echo $? >>"{log}"; '
        f"{sleep} done"
    )
    return subprocess.Popen(
        ["ip", "netns", "exec", cluster[1].netns, "sh", "-c", script],
        start_new_session=True,
    )


def _sees_all(cluster: Cluster, nodeid: int, failures: list[str]) -> bool:
    """Whether node ``nodeid`` reports members {1, 2, 3} (corosync-quorumtool -s there)."""
    try:
        return cluster[nodeid].quorum_status(10.0).members == {1, 2, 3}
    except (CommandFailed, subprocess.TimeoutExpired) as exc:
        err = exc.stderr if isinstance(exc.stderr, str) else ""
        failures.append(err.strip().splitlines()[0] if err.strip() else type(exc).__name__)
        return False


def trial(
    cluster: Cluster, mode: str, work: Path, n: int, crash: bool
) -> tuple[float, float, int, int, list[str]]:
    """(node 2 saw 3 members, node 1 did, polls, failed polls, node 1's query failures)."""
    log = work / f"{mode}-{n}.log"
    log.touch()
    node3 = cluster[3]
    if crash:
        node3.crash()
    else:
        node3.stop()
    cluster.wait_members(2, {1, 2}, timeout=60)
    cluster.wait_members(1, {1, 2}, timeout=60)
    procs = poller(cluster, mode, log)
    failures: list[str] = []
    try:
        time.sleep(1.0)  # the loop is running before node 3 comes back
        before = len(log.read_text().split())
        start = time.monotonic()
        node3.start(wait=True, timeout=60)
        seen: dict[int, float] = {}
        deadline = start + 90
        while len(seen) < 2 and time.monotonic() < deadline:
            for nodeid in (2, 1):
                if nodeid in seen:
                    continue
                if _sees_all(cluster, nodeid, failures if nodeid == 1 else []):
                    seen[nodeid] = time.monotonic() - start
            time.sleep(0.05)
        codes = log.read_text().split()[before:]
    finally:
        for proc in procs:
            if isinstance(proc, subprocess.Popen):
                subprocess.run(["kill", "--", f"-{proc.pid}"], check=False)
            proc.wait(10)
    return seen.get(2, -1.0), seen.get(1, -1.0), len(codes), sum(c != "0" for c in codes), failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2)
    parser.add_argument(
        "--crash", action="store_true", help="SIGKILL node 3 instead of stopping it"
    )
    parser.add_argument(
        "--modes",
        default="none,pyquorum,quorumtool,inproc,pyquorum-pause,quorumtool-pause,inproc-pause",
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="poll-rejoin-"))
    with Cluster(3) as cluster:
        cluster.wait_formed()
        for mode in args.modes.split(","):
            for n in range(args.trials):
                t2, t1, runs, failed, failures = trial(cluster, mode, work, n, args.crash)
                print(
                    f"{mode:17} trial {n}: node 2 saw node 3 after {t2:5.1f} s, node 1 after "
                    f"{t1:5.1f} s; {runs} polls meanwhile, {failed} failed; node 1's "
                    f"quorumtool failed {len(failures)} times {sorted(set(failures))[:2]}",
                    flush=True,
                )
    errs = sorted(work.glob("*.err"))
    for path in errs:
        lines = path.read_text().splitlines()
        if lines:
            print(f"{path.name}: {len(lines)} stderr lines, e.g. {sorted(set(lines))[:3]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
