"""The harness stands apart from the client it tests: importing it needs
neither construct nor any module of the client, so a broken client (or a
missing dependency) can never break the harness meant to catch it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: Run in a fresh interpreter: construct cannot be imported at all, then the
#: harness is imported and its CLI parser built; prints the pyquorum modules loaded.
_PROBE = textwrap.dedent("""\
    import importlib.abc, json, sys

    class NoConstruct(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "construct" or name.startswith("construct."):
                raise ImportError(f"{name} is blocked for this test")
            return None

    sys.meta_path.insert(0, NoConstruct())
    import pyquorum.testing.cluster
    from pyquorum.testing.cluster import _cli
    try:
        _cli.main(["--help"])
    except SystemExit:
        pass
    print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "pyquorum")))
    """)

ALLOWED_PACKAGES = ("pyquorum.testing.cluster", "pyquorum.netns")
ALLOWED_INITS = ("pyquorum", "pyquorum.testing")


def test_the_harness_imports_without_construct_and_without_the_client() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "pyquorum.testing.cluster.cluster" in loaded  # the probe did import it
    stray = [
        m
        for m in loaded
        if m not in ALLOWED_INITS
        and not any(m == p or m.startswith(p + ".") for p in ALLOWED_PACKAGES)
    ]
    assert stray == []
