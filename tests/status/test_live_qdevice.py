"""``pyquorum status`` when one node's corosync-qdevice stops, against corosync-quorumtool.

The other members keep the device registered, so both tools still show it:
node 1's Qdevice column becomes ``NR``, the device's row counts 0 votes there
and says ``(votes 1)``, and ``--json`` keeps the device with ``alive`` and
``cast_vote`` false (this node's view), its configured votes and its name.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import pytest

from pyquorum.testing.cluster import Cluster, QdeviceConfig, parse_quorumtool, wait_until

pytestmark = pytest.mark.corosync

PYQUORUM = [sys.executable, "-m", "pyquorum"]


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()
            if not line.startswith(("Date:", "Quorum type:"))]


def test_a_qdevice_stopped_on_this_node(start_cluster: Callable[..., Cluster]) -> None:
    cluster = start_cluster(3, qdevice=QdeviceConfig())
    node = cluster[1]
    node.stop_qdevice()

    def unregistered_here() -> str | None:
        text = node.run(["corosync-quorumtool", "-s"]).stdout
        status = parse_quorumtool(text)
        gone = status.qdevice_states.get(1) == frozenset({"NR"}) and status.qdevice_votes == 0
        return text if gone else None

    theirs = wait_until(unregistered_here, 20, "node 1 to show its quorum device unregistered")
    got = json.loads(node.run([*PYQUORUM, "status", "--json"]).stdout)
    assert got["votequorum"]["flags"] == ["quorate"]  # no Qdevice flag here, as the tool says
    assert got["votequorum"]["qdevice"] == {
        "name": "Qdevice", "votes": 1, "alive": False, "cast_vote": False, "master_wins": False}
    assert got["votequorum"]["total_votes"] == parse_quorumtool(theirs).total_votes == 3
    ours = node.run([*PYQUORUM, "status"]).stdout
    assert _lines(ours) == _lines(node.run(["corosync-quorumtool", "-s"]).stdout)
    assert "         1          1         NR node1 (local)" in ours.splitlines()
    assert ours.rstrip().endswith("         0          0            Qdevice (votes 1)")
