"""``pyquorum status`` live where corosync-quorumtool cannot follow: no quorum
provider, and a membership changing while status reads it.

Without a provider the C tool fails ("Unable to start votequorum status
tracking"); status reports what there is: quorum type free, provider and
votequorum null, this node's id from the nodelist.  While a node crashes and
comes back, every status printed must be one snapshot: its members are its
nodes, its total votes their sum, quorate and the quorate flag agree.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from pyquorum.testing.cluster import Cluster, Node

pytestmark = pytest.mark.corosync

PYQUORUM = [sys.executable, "-m", "pyquorum"]


def test_without_a_quorum_provider(start_cluster: Callable[..., Cluster]) -> None:
    cluster = start_cluster(2, quorum=False)
    node = cluster[2]
    assert node.run(["corosync-quorumtool", "-s"]).returncode == 1  # the C tool gives up
    proc = node.run([*PYQUORUM, "status", "--json"])
    assert (proc.returncode, proc.stderr) == (0, "")
    got = json.loads(proc.stdout)
    assert got == {
        "quorum_type": "free", "provider": None, "quorate": True, "node_id": 2,
        "ring_id": got["ring_id"], "members": got["members"], "votequorum": None,
        "nodes": got["nodes"],
    }
    # The quorum service of a provider-less corosync names no members; status says so.
    assert got["members"] == [] and got["nodes"] == []
    text = node.run([*PYQUORUM, "status"]).stdout
    assert "Quorum type:      free\nQuorum provider:  Not configured\n" in text
    assert "Node ID:          2\n" in text and "Votequorum" not in text
    assert "Note: without a quorum provider the quorum service names no members" in text


def _coherent(got: dict[str, Any]) -> None:
    vq = got["votequorum"]
    nodes = got["nodes"]
    assert [n["nodeid"] for n in nodes] == got["members"]
    assert vq["total_votes"] == sum(n["votes"] for n in nodes)
    assert got["quorate"] is ("quorate" in vq["flags"])
    assert got["quorate"] is (vq["total_votes"] >= vq["quorum"])


class Reader:
    """Reads status over and over in node's namespace, in-process (a read takes
    milliseconds, so the reads cover the membership changes nearly continuously)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.seen: list[dict[str, Any]] = []
        self.raced = 0  # reads that gave up because the membership kept changing
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from pyquorum import Model, QuorumSession
        from pyquorum.commands._common import Failure
        from pyquorum.commands._status import open_votequorum, read_facts, read_status
        from pyquorum.services.cmap.session import CmapSession
        from pyquorum.status import status_to_dict

        try:
            with self.node.netns_context(), QuorumSession(Model.V1, timeout=10) as quorum, \
                    CmapSession(timeout=10) as cmap, open_votequorum(10) as votequorum:
                facts = read_facts(cmap)
                while not self.stop.is_set():
                    try:
                        status = read_status(quorum, votequorum, facts, 10)
                    except Failure:
                        self.raced += 1
                        continue
                    self.seen.append(dict(status_to_dict(status)))
                    self.stop.wait(0.02)  # leave corosync time for its other clients
        except BaseException as exc:
            self.errors.append(exc)

    def __enter__(self) -> Reader:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


def test_every_status_is_one_snapshot_while_the_membership_changes(
        start_cluster: Callable[..., Cluster]) -> None:
    cluster = start_cluster(3)
    with Reader(cluster[1]) as reader:
        cluster[3].crash()
        cluster.wait_formed({1, 2}, timeout=15)
        cluster[3].start()
        cluster.wait_formed({1, 2, 3}, timeout=15)
        cluster[2].crash()
        cluster[3].crash()
        cluster.wait_formed({1}, timeout=15, quorate=False)
        time.sleep(0.5)
    assert reader.errors == []
    for got in reader.seen:
        _coherent(got)
    memberships = {tuple(s["members"]) for s in reader.seen}
    # The reads saw the cluster change: three members, two, and one (inquorate).
    assert {(1, 2, 3), (1, 2), (1,)} <= memberships, memberships
    assert any(not s["quorate"] for s in reader.seen)
    print(f"{len(reader.seen)} snapshots, {reader.raced} reads raced a change")
