"""Record fixtures/captures/sessions/: multi-connection captures (format version 2)
of a live 3-node cluster, each next to what the live command printed.

On node 1 of a fresh 3-node cluster (shm): ``pyquorum record --status
--json`` (``status.pqcap``, ``status.json``), ``record --status`` in text
(``status-text.pqcap``, ``status-text.out``), ``record --votequorum --json
--timeout 1`` (``watch-votequorum.pqcap``, ``.jsonl``) and ``record
--reconnect --json`` across a restart of node 1's corosync, stopped by
SIGTERM once the three nodes have formed again (``watch-reconnect.pqcap``,
``.jsonl``).  Each capture is checked to replay to what was printed before
anything is written.  Needs root and corosync; takes about half a minute.

Run:  PYTHONPATH=. .venv/bin/python scripts/record_session_captures.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pyquorum.testing.cluster import Cluster

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "fixtures" / "captures" / "sessions"
PYQUORUM = [sys.executable, "-m", "pyquorum"]


def _reconnecting(cluster: Cluster, path: Path) -> str:
    """``record --reconnect --json`` across a restart of node 1; what it printed."""
    node = cluster[1]
    proc = subprocess.Popen(["ip", "netns", "exec", node.netns, *PYQUORUM, "record", "-o",
                             str(path), "--json", "--reconnect"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        deadline = time.monotonic() + 10
        while not path.exists() or path.stat().st_size < 400:  # the snapshot is in
            if time.monotonic() > deadline:
                raise RuntimeError("record --reconnect wrote no snapshot within 10 s")
            time.sleep(0.1)
        node.restart()
        cluster.wait_formed({1, 2, 3}, timeout=30)
        time.sleep(2)  # the reconnected watch sees the membership formed again
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    if proc.returncode != 130:
        raise RuntimeError(f"record --reconnect exited {proc.returncode}: {err}")
    return out


def record(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cluster = Cluster(3)
        try:
            cluster.start()
            node = cluster[1]
            printed: dict[str, tuple[str, list[str]]] = {}
            runs = {
                "status.json": ["--status", "--json"],
                "status-text.out": ["--status"],
                "watch-votequorum.jsonl": ["--votequorum", "--json", "--timeout", "1"],
            }
            for name, options in runs.items():
                capture = work / (name.split(".")[0] + ".pqcap")
                proc = node.run([*PYQUORUM, "record", "-o", str(capture), *options])
                if proc.returncode not in (0, 2):
                    raise RuntimeError(f"record {options} failed: {proc.stderr}")
                printed[name] = (proc.stdout, ["--json"] if "--json" in options else [])
            printed["watch-reconnect.jsonl"] = (
                _reconnecting(cluster, work / "watch-reconnect.pqcap"), ["--json"])
        finally:
            cluster.close(graceful=False)
        for name, (text, options) in printed.items():
            capture = work / (name.split(".")[0] + ".pqcap")
            again = subprocess.run([*PYQUORUM, "replay", str(capture), *options],
                                   capture_output=True, text=True, cwd=ROOT)
            if again.stdout != text:
                raise RuntimeError(f"{capture.name} does not replay to what was printed")
            if name.endswith(".json"):
                json.loads(text)
            (work / name).write_text(text)
        out.mkdir(parents=True, exist_ok=True)
        for path in sorted(work.iterdir()):
            shutil.copy(path, out / path.name)
            print(f"wrote {out / path.name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    record(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
