"""The C libquorum against the fake: the strongest proof that the fake's bytes are right.

The oracle (tests/c/quorum_oracle.c, linked against Debian's libquorum and
libqb) runs inside the fake's private network namespace, where the fake
serves ``@quorum``.  It must receive exactly the scripted events, V1 and
V0, on both transports; and for the differential scripts it must print the
same lines against the fake as against a real corosync node.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from pyquorum.fake import Script, Step
from pyquorum.messages.types import RingId
from pyquorum.testing.fake import FakeQuorumServer
from tests.oracle import parse_lines
from tests.support.fake import STORY, Factory, expected_events_v0, expected_events_v1
from tests.support.libquorum_script import SCRIPTS, run_script

Node = Any  # pyquorum.testing.cluster.Node


def _run(server: FakeQuorumServer, argv: list[str], stdin: str = "") -> list[dict[str, Any]]:
    proc = server.run(argv, input=stdin, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return parse_lines(proc.stdout)


@pytest.mark.parametrize("model", ["v1", "v0"])
def test_c_libquorum_receives_exactly_the_scripted_events(
    fake: Factory, oracle: Path, transport: str, model: str
) -> None:
    server = fake(STORY, transport=transport)
    expected = expected_events_v1(STORY) if model == "v1" else expected_events_v0(STORY)
    lines = _run(server, [str(oracle), "watch", model, "3", str(len(expected)), "5000"])
    assert lines[:2] == [
        {"call": "init", "rc": 1, "quorum_type": 1},
        {"call": "trackstart", "rc": 1},
    ]
    assert lines[2:] == expected


def test_c_libquorum_getquorate_like_corosync_quorumtool(
    fake: Factory, oracle: Path, transport: str
) -> None:
    """quorum_initialize + quorum_getquorate + quorum_finalize, as corosync-quorumtool does."""
    server = fake(Script.build([1, 2]), transport=transport)
    script = "init0\ngetquorate\nfinalize\n"
    assert _run(server, [str(oracle), "script"], script) == [
        {"call": "init0", "rc": 1, "quorum_type": 1},
        {"call": "getquorate", "rc": 1, "quorate": 1},
        {"call": "finalize", "rc": 1},
    ]
    server.apply(Step(0, quorate=False))
    assert _run(server, [str(oracle), "script"], script)[1] == {
        "call": "getquorate", "rc": 1, "quorate": 0,
    }


def test_c_libquorum_against_an_old_corosync(fake: Factory, oracle: Path, transport: str) -> None:
    """corosync < 3.1: V1 initialize fails with CS_ERR_INVALID_PARAM, V0 works."""
    old = Script(STORY.initial, (), model_v1=False)
    server = fake(old, transport=transport)
    lines = _run(server, [str(oracle), "script"], "init v1\ninit0\ntrackstart 1\ndispatch 2\n")
    # libquorum copies quorum_type out of the response even when the call fails, and the
    # short error reply leaves it whatever was on the stack: only rc means anything there.
    del lines[0]["quorum_type"]
    assert lines == [
        {"call": "init", "rc": 7},
        {"call": "init0", "rc": 1, "quorum_type": 1},
        {"call": "trackstart", "rc": 1},
        expected_events_v0(old)[0],
        {"call": "dispatch", "rc": 1},
    ]


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_c_and_pyquorum_libquorum_agree_against_the_fake(
    fake: Factory, oracle: Path, transport: str, name: str
) -> None:
    # One server per client: the story's clock starts at the first trackstart, so a second
    # client on the same server would join the timeline later and see other states.
    script = textwrap.dedent(SCRIPTS[name]).strip() + "\n"
    expected = _run(fake(STORY, transport=transport), [str(oracle), "script"], script)
    with fake(STORY, transport=transport).netns_context():
        got = run_script(script.splitlines())
    assert got == expected


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_the_fake_looks_like_a_real_corosync_to_libquorum(
    corosync_node_any: Node, fake: Factory, oracle: Path, name: str
) -> None:
    """Same script, same C client: a real single-node corosync and the fake print the same."""
    node = corosync_node_any
    script = textwrap.dedent(SCRIPTS[name]).strip() + "\n"
    with node.netns_context():
        probe = subprocess.run([str(oracle), "script"], input="init v1\ntrackstart 1\ndispatch 2\n",
                               capture_output=True, text=True, timeout=30, check=False)
        real = subprocess.run([str(oracle), "script"], input=script, capture_output=True,
                              text=True, timeout=60, check=False)
    assert probe.returncode == 0 and real.returncode == 0, probe.stderr + real.stderr
    snapshot = next(line for line in parse_lines(probe.stdout) if line.get("type") == "quorum")
    ring = snapshot["ring_id"]
    server = fake(
        Script.build(snapshot["members"], quorate=snapshot["quorate"],
                     ring_id=RingId(ring["nodeid"], ring["seq"])),
        transport=node.cluster.transport,
    )
    assert _run(server, [str(oracle), "script"], script) == parse_lines(real.stdout)
