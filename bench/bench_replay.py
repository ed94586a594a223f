"""``pyquorum replay --json`` of a large capture, as a whole process.

Builds a capture of N events (default 100,000) from the demo capture's
session (its requests, responses and events, the events repeated), then
times ``python -m pyquorum replay --json FILE >/dev/null`` and, for the
memory a streamed read needs, the peak memory of iterating it with
``iter_capture`` against ``read_capture`` holding every record, and the
replay process's peak RSS (it holds a capture of up to 64 MiB in memory).

Run:  .venv/bin/python bench/bench_replay.py [--events N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_startup import cached_env
from pyquorum.capture import Capture, CaptureRecord, Channel, read_capture, write_capture

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "pyquorum" / "fake" / "data" / "demo-3node.pqcap"


def make_capture(path: Path, events: int) -> None:
    """The demo session with its events repeated until there are ``events``."""
    demo = read_capture(DEMO)
    head = [r for r in demo.records if r.channel is not Channel.EVENT]
    recorded = [r for r in demo.records if r.channel is Channel.EVENT]
    last = head[-1].time
    body = [
        CaptureRecord(Channel.EVENT, last + i * 1e-6, recorded[i % len(recorded)].data)
        for i in range(events)
    ]
    write_capture(path, Capture(demo.header, (*head, *body)))


def replay_seconds(path: Path, rounds: int) -> float:
    """Best wall time of the whole ``pyquorum replay --json`` process (bytecode
    cached, as installed: see bench_startup)."""
    argv = [sys.executable, "-m", "pyquorum", "replay", "--json", str(path)]
    best = float("inf")
    with tempfile.TemporaryDirectory() as cache:
        env = cached_env(cache)
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)  # warm
        for _ in range(rounds):
            start = time.perf_counter()
            subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
            best = min(best, time.perf_counter() - start)
    return best


# A small parent: a forked child's peak RSS counts what it had before exec.
_RSS = (
    "import os, subprocess, sys\n"
    "child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n"
)


def replay_peak_kib(path: Path) -> int:
    """Peak RSS (KiB, the kernel's count for the finished child) of the whole
    ``pyquorum replay --json`` process: it holds a capture of up to
    IN_MEMORY_LIMIT in memory (docs/capture-format.md §5.1)."""
    argv = [sys.executable, "-m", "pyquorum", "replay", "--json", str(path)]
    with tempfile.TemporaryDirectory() as cache:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, cwd=ROOT,
                       env=cached_env(cache))  # compiles the bytecode (which takes memory)
        out = subprocess.run([sys.executable, "-c", _RSS, *argv], check=True,
                             capture_output=True, text=True, cwd=ROOT,
                             env=cached_env(cache)).stdout
    code, peak = map(int, out.split())
    if code:
        raise RuntimeError(f"replay exited {code}")
    return peak


_PEAK = (
    "import sys, tracemalloc\n"
    "from pyquorum.capture import iter_capture, read_capture\n"
    "tracemalloc.start()\n"
    "if sys.argv[1] == 'iter':\n"
    "    with iter_capture(sys.argv[2]) as reader:\n"
    "        for _ in reader: pass\n"
    "else:\n"
    "    capture = read_capture(sys.argv[2])\n"
    "print(tracemalloc.get_traced_memory()[1] // 1024)\n"
)


def peak_kib(path: Path, how: str) -> int:
    """Peak memory (KiB, as tracemalloc counts it) of reading the capture ``how``:
    ``iter`` streams it record by record, ``read`` holds every record."""
    out = subprocess.run([sys.executable, "-c", _PEAK, how, str(path)], check=True,
                         capture_output=True, text=True, cwd=ROOT).stdout
    return int(out)


def measure(events: int, rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.pqcap"
        make_capture(path, events)
        seconds = replay_seconds(path, rounds)
        return {
            "events": events,
            "seconds": seconds,
            "events_per_s": events / seconds,
            "file_kib": os.path.getsize(path) / 1024,
            "iter_peak_kib": peak_kib(path, "iter"),
            "read_peak_kib": peak_kib(path, "read"),
            "replay_rss_kib": replay_peak_kib(path),
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = measure(args.events, args.rounds)
    for key, value in result.items():
        print(f"{key:14} {value:,.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
