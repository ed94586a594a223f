"""Re-record fixtures/captures/ from live clusters (run by scripts/record-fixtures).

Walks a 3-node cluster per transport (pyquorum/testing/scenarios.py), checks
everything the scenario tests check (pyquorum's events exact, equal to the
C libquorum's on the same node, captures replaying to them), and only then
replaces the fixtures: per transport, node (1 watches everything, 3 is the
partition's minority) and model, ``<transport>-node<N>-<model>.pqcap`` and
next to it ``.jsonl``, the events as ``pyquorum watch --json`` prints them
(equal, line for line, to what the C libquorum delivered).  Nothing is
replaced unless both transports pass.  When writing to the default place,
the capture ``pyquorum demo`` serves (pyquorum/fake/data/demo-3node.pqcap)
is replaced by the new ``shm-node1-v1.pqcap`` too.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Literal

from pyquorum.capture import write_capture
from pyquorum.formatting import event_to_json
from pyquorum.testing.scenarios import verify, walked_cluster
from tests.oracle import build_oracle

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "fixtures" / "captures"
DEMO_SOURCE = "shm-node1-v1.pqcap"
DEMO_COPY = ROOT / "pyquorum" / "fake" / "data" / "demo-3node.pqcap"
TRANSPORTS: tuple[Literal["shm", "socket"], ...] = ("shm", "socket")


def fixture_name(transport: str, nodeid: int, model_name: str) -> str:
    return f"{transport}-node{nodeid}-{model_name.lower()}"


def record(out: Path) -> list[str]:
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
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/record-fixtures", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"where the fixtures go (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    for name in record(args.out):
        print(args.out / name)
    if args.out.resolve() == DEFAULT_OUT.resolve():
        shutil.copyfile(args.out / DEMO_SOURCE, DEMO_COPY)
        print(DEMO_COPY)
    return 0


if __name__ == "__main__":
    sys.exit(main())
