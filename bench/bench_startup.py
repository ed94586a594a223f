"""Start-up: ``import pyquorum`` and ``pyquorum status`` against their references.

Each is a whole process, timed side by side with its reference, best of N:

* ``import pyquorum`` against ``import json, dataclasses, enum``;
* ``pyquorum status`` on a live node against ``python3 -c pass`` (both run
  inside the node's network namespace the same way).

Run (status needs root, to start a corosync):  .venv/bin/python bench/bench_startup.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
Runner = Callable[[Sequence[str]], object]


def _local(argv: Sequence[str]) -> object:
    return subprocess.run(list(argv), check=True, stdout=subprocess.DEVNULL, cwd=ROOT)


def best_pair(a: Sequence[str], b: Sequence[str], rounds: int,
              run: Runner = _local) -> tuple[float, float]:
    """Best wall seconds of ``a`` and of ``b``, run alternately."""
    best_a = best_b = float("inf")
    for _ in range(rounds):
        for argv, which in ((a, "a"), (b, "b")):
            start = time.perf_counter()
            run(argv)
            took = time.perf_counter() - start
            if which == "a":
                best_a = min(best_a, took)
            else:
                best_b = min(best_b, took)
    return best_a, best_b


def import_times(rounds: int = 15) -> tuple[float, float]:
    """(import pyquorum, import json, dataclasses, enum), seconds."""
    py = sys.executable
    return best_pair([py, "-c", "import pyquorum"],
                     [py, "-c", "import json, dataclasses, enum"], rounds)


def status_times(node: object, rounds: int = 15) -> tuple[float, float]:
    """(pyquorum status, python3 -c pass) inside ``node``'s namespace, seconds."""
    def run(argv: Sequence[str]) -> object:
        proc = node.run(list(argv))  # type: ignore[attr-defined]
        if proc.returncode not in (0, 2):
            raise RuntimeError(f"{argv}: exit {proc.returncode}: {proc.stderr}")
        return proc

    py = sys.executable
    return best_pair([py, "-m", "pyquorum", "status"], [py, "-c", "pass"], rounds, run)


def main() -> int:
    a, b = import_times()
    print(f"import pyquorum {a * 1e3:.1f} ms, import json, dataclasses, enum {b * 1e3:.1f} ms, "
          f"ratio {a / b:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
