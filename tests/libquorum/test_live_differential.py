"""Differential tests: the same script through C libquorum and pyquorum.libquorum.

The oracle (tests/c/quorum_oracle.c) and tests/libquorum/script.py print the
same JSON lines; against the same corosync node they must print the same
lines, return codes, callbacks, arguments and context included.
"""

from __future__ import annotations

import subprocess
import textwrap
from typing import Any

import pytest

from tests.libquorum.script import run_script
from tests.oracle import OracleUnavailable, build_oracle, parse_lines

Node = Any  # pyquorum.testing.cluster.Node

SCRIPTS = {
    "v1_calls_and_snapshot": """
        init v1
        getquorate
        fd
        context_get
        context_set 5
        context_get
        trackstart 3
        wait 1000
        dispatch 2
        trackstart 1
        dispatch 1
        dispatch 1
        dispatch 4
        trackstop
        trackstop
        dispatch 9
        finalize
        finalize
        getquorate
        trackstart 1
        dispatch 2
        fd
        context_get
    """,
    "v0_via_quorum_initialize": """
        init0
        getquorate
        trackstart 1
        wait 1000
        dispatch 4
        dispatch 4
        trackstart 2
        dispatch 2
        trackstart 4
        finalize
    """,
    "v0_model_with_context": """
        context_set 77
        init v0
        context_get
        trackstart 4
        dispatch 4
        trackstart 1
        dispatch 1
        finalize
    """,
    "reinitialize": """
        init v1
        finalize
        init v0
        getquorate
        finalize
        init v1
        trackstart 2
        dispatch 1
        dispatch 1
        finalize
    """,
}


def oracle(node: Node, script: str) -> list[dict[str, Any]]:
    try:
        binary = build_oracle()
    except OracleUnavailable as exc:
        pytest.skip(str(exc))
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
