"""Differential tests: the same script through C libquorum and pyquorum.libquorum.

The oracle (tests/c/quorum_oracle.c) and tests/support/libquorum_script.py print the
same JSON lines; against the same corosync node they must print the same
lines, return codes, callbacks, arguments and context included.
"""

from __future__ import annotations

import subprocess
import textwrap
from typing import Any

import pytest

from tests.oracle import parse_lines
from tests.support.libquorum_script import SCRIPTS, run_script
from tests.support.oracles import require_oracle

Node = Any  # pyquorum.testing.cluster.Node

def oracle(node: Node, script: str) -> list[dict[str, Any]]:
    binary = require_oracle()
    with node.netns_context():
        proc = subprocess.run([str(binary), "script"], input=script, capture_output=True,
                              text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return parse_lines(proc.stdout)


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_pyquorum_libquorum_matches_c_libquorum(corosync_node_any: Node, name: str) -> None:
    script = textwrap.dedent(SCRIPTS[name]).strip() + "\n"
    expected = oracle(corosync_node_any, script)
    with corosync_node_any.netns_context():
        got = run_script(script.splitlines())
    assert got == expected
