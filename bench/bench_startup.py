"""Start-up: ``import pyquorum`` and ``pyquorum status`` against their references.

Each is a whole process, timed side by side with its reference, best of N:

* ``import pyquorum`` against ``import json, dataclasses, enum``;
* ``pyquorum status`` on a live node against ``python3 -c pass`` and
  ``corosync-quorumtool -s`` (all run inside the node's network namespace
  the same way).

**Bytecode.**  An installed package has its modules compiled (pip does it at
install time).  A checkout run with ``PYTHONDONTWRITEBYTECODE=1`` (as this
machine's shells are) compiles every pyquorum module on every run, which
doubles status's start-up.  The children therefore run with bytecode caching
on and the cache in a temporary directory (``PYTHONPYCACHEPREFIX``, nothing
written to the checkout), after one warm-up run; :func:`status_times` also
states the figure without a cache.

Run (status needs root, to start a corosync):  .venv/bin/python bench/bench_startup.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
Runner = Callable[[Sequence[str]], object]


def cached_env(cache: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default: ours) with bytecode written to and read from ``cache``."""
    env = dict(os.environ if base is None else base)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = cache
    return env


def uncached_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` with no bytecode cache at all: every module compiled on each run."""
    env = dict(os.environ if base is None else base)
    env.pop("PYTHONPYCACHEPREFIX", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def best_of(commands: Mapping[str, Sequence[str]], rounds: int, run: Runner) -> dict[str, float]:
    """Best wall seconds of each command, run in turn ``rounds`` times."""
    best = dict.fromkeys(commands, float("inf"))
    for _ in range(rounds):
        for name, argv in commands.items():
            start = time.perf_counter()
            run(argv)
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def best_pair(a: Sequence[str], b: Sequence[str], rounds: int,
              run: Runner) -> tuple[float, float]:
    """Best wall seconds of ``a`` and of ``b``, run alternately."""
    best = best_of({"a": a, "b": b}, rounds, run)
    return best["a"], best["b"]


def import_times(rounds: int = 15) -> tuple[float, float]:
    """(import pyquorum, import json, dataclasses, enum), seconds."""
    py = sys.executable
    with tempfile.TemporaryDirectory() as cache:
        env = cached_env(cache)

        def run(argv: Sequence[str]) -> object:
            return subprocess.run(list(argv), check=True, stdout=subprocess.DEVNULL, cwd=ROOT,
                                  env=env)

        run([py, "-c", "import pyquorum"])  # warm the cache
        return best_pair([py, "-c", "import pyquorum"],
                         [py, "-c", "import json, dataclasses, enum"], rounds, run)


#: Modules that stand in for the test extras when they must look uninstalled.
_NO_EXTRAS = ("pytest", "hypothesis", "_pytest")


def status_times(node: object, rounds: int = 15) -> dict[str, float]:
    """Seconds inside ``node``'s namespace: ``status`` (bytecode cached), ``pass``
    (python3 -c pass), ``quorumtool`` (corosync-quorumtool -s), ``no_extras``
    (status with pytest and hypothesis made unimportable, as an install without
    the test extras) and ``uncached`` (status compiling every module, as a
    checkout under PYTHONDONTWRITEBYTECODE)."""
    from pyquorum.testing.cluster.common import command_env

    py = sys.executable
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as blocked:
        for name in _NO_EXTRAS:
            Path(blocked, f"{name}.py").write_text(f"raise ImportError('{name}: not installed')\n")
        envs = {
            "": cached_env(cache, command_env()),
            "uncached": uncached_env(command_env()),
            "no_extras": cached_env(cache, command_env()) | {"PYTHONPATH": blocked},
        }

        def run(argv: Sequence[str]) -> object:
            env = envs[""]
            if argv[0] in envs:  # a tag naming the environment, in place of the interpreter
                env, argv = envs[argv[0]], [py, *argv[1:]]
            proc = node.run(list(argv), env=env)  # type: ignore[attr-defined]
            if proc.returncode not in (0, 2):
                raise RuntimeError(f"{argv}: exit {proc.returncode}: {proc.stderr}")
            return proc

        status = [py, "-m", "pyquorum", "status"]
        run(status)  # warm the cache
        return best_of({
            "status": status,
            "pass": [py, "-c", "pass"],
            "quorumtool": ["corosync-quorumtool", "-s"],
            "no_extras": ["no_extras", "-m", "pyquorum", "status"],
            "uncached": ["uncached", "-m", "pyquorum", "status"],
        }, rounds, run)


def main() -> int:
    a, b = import_times()
    print(f"import pyquorum {a * 1e3:.1f} ms, import json, dataclasses, enum {b * 1e3:.1f} ms, "
          f"ratio {a / b:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
