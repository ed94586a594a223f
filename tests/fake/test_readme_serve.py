"""The README's ``corosync-quorumtool -s`` against ``pyquorum serve`` blocks run as shown.

Two blocks: the fake serving a story, and the fake serving a recorded status
(``--capture``).  Each block is read and its commands run as written (the
namespace gets a name of this test's own): the tool must print the README's
lines, Date aside and trailing blanks ignored (Markdown keeps none), with the
exit code the block shows.  The recorded status's lines must also be what the
tool printed live on the recorded node (``<capture>.tools.json``), so the
README shows the stock tool against a real node and against the fake at once.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.live import require_live

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
BLOCKS: list[str] = re.findall(r"```console\n(.*?)```", README, flags=re.S)

#: What tells each block apart: the story's ``serve --script`` and the capture's.
SERVES = ("pyquorum serve --script", "pyquorum serve --capture")


def _block(serves: str) -> str:
    return next(b for b in BLOCKS if serves in b and "corosync-quorumtool -s" in b)


def _parts(serves: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """(netns add, serve, quorumtool) argv, and the output lines the README shows."""
    lines = _block(serves).splitlines()
    commands = [i for i, line in enumerate(lines) if line.startswith("# ")]
    add, serve, tool = (lines[i][2:] for i in commands)
    serve = serve.removesuffix("&").strip().replace("> /dev/null", "")
    tool = tool.split(";")[0]
    return shlex.split(add), shlex.split(serve), shlex.split(tool), lines[commands[-1] + 1:]


def _undated(lines: list[str]) -> list[str]:
    return [line.rstrip() for line in lines if not line.startswith("Date:")]


def test_the_readme_shows_what_the_tool_printed_on_the_recorded_node() -> None:
    _, serve, _, shown = _parts("pyquorum serve --capture")
    capture = Path(serve[serve.index("--capture") + 1])
    live = json.loads((ROOT / capture.with_suffix(".tools.json")).read_text())["-s"]
    assert _undated(shown[:-1]) == _undated(live["stdout"].splitlines())
    assert shown[-1] == f"exit {live['exit']}"


@pytest.mark.parametrize("serves", SERVES)
def test_the_readme_block_runs_as_shown(serves: str) -> None:
    if os.geteuid() != 0:
        require_live("ip netns needs root")
    add, serve, tool, shown = _parts(serves)
    assert add[:3] == ["ip", "netns", "add"] and serve[:4] == ["ip", "netns", "exec", add[3]]
    name = f"pyquorum-readme-{SERVES.index(serves)}-{os.getpid()}"

    def in_ns(argv: list[str]) -> list[str]:
        assert argv[:4] == ["ip", "netns", "exec", add[3]]
        rest = argv[4:]
        if rest[0] == "pyquorum":
            rest = [sys.executable, "-m", "pyquorum", *rest[1:]]
        return ["ip", "netns", "exec", name, *rest]

    subprocess.run(["ip", "netns", "add", name], check=True)
    proc = None
    try:
        proc = subprocess.Popen(in_ns(serve), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=ROOT)
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("serving ")  # printed once it listens
        result = subprocess.run(in_ns(tool), capture_output=True, text=True, timeout=30)
    finally:
        if proc is not None:
            proc.terminate()
            proc.communicate(timeout=30)
        subprocess.run(["ip", "netns", "delete", name], check=False)
    assert proc.returncode == 0
    assert _undated(result.stdout.splitlines()) == _undated(shown[:-1])
    assert shown[-1] == f"exit {result.returncode}"
