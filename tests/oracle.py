"""Build and run tests/c/quorum_oracle.c, the C libquorum used as an oracle.

The binary is built once per source version into tests/c/build/ (ignored by
git).  Building needs gcc and Debian's libquorum-dev; callers decide whether
their absence skips or fails (see require_live in conftest).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

SOURCE = Path(__file__).parent / "c" / "quorum_oracle.c"
BUILD_DIR = Path(__file__).parent / "c" / "build"


class OracleUnavailable(RuntimeError):
    """The C oracle cannot be built here (no compiler or no libquorum-dev)."""


def build_oracle() -> Path:
    """Path of a current build of the oracle, compiling it if needed."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    binary = BUILD_DIR / f"quorum_oracle-{digest}"
    if binary.exists():
        return binary
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise OracleUnavailable("no C compiler (apt-get install gcc)")
    if not Path("/usr/include/corosync/quorum.h").exists():
        raise OracleUnavailable("no libquorum headers (apt-get install libquorum-dev)")
    BUILD_DIR.mkdir(parents=True, exist_ok=True)
    tmp = binary.with_suffix(".tmp")
    proc = subprocess.run(
        [cc, "-O2", "-Wall", "-Werror", "-o", str(tmp), str(SOURCE), "-lquorum"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise OracleUnavailable(f"building the oracle failed:\n{proc.stderr}")
    tmp.rename(binary)
    return binary


def parse_lines(output: str) -> list[dict[str, Any]]:
    """The oracle's JSON lines as dicts."""
    return [json.loads(line) for line in output.splitlines() if line.strip()]
