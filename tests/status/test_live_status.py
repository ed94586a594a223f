"""``pyquorum status`` against ``corosync-quorumtool -s`` on the same node, live.

Five configurations, one cluster each (started once, every test of the
configuration run on it, then torn down): a healthy 3-node cluster; an
inquorate one (expected_votes raised to 7 in corosync.conf); a two_node
cluster; wait_for_all before every node was seen; a cluster with a real
quorum device (corosync-qnetd and corosync-qdevice).  On each, ``status
--json`` is compared field by field with ``corosync-quorumtool -s -i``
(names with ``-s``, which takes them from the nodelist as status does;
``-i`` shows addresses instead, compared with cmap's ring0_addr), and the
text form line by line with ``corosync-quorumtool -s``.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from pyquorum.testing.cluster import (
    Cluster,
    Node,
    QdeviceConfig,
    QuorumStatus,
    VotequorumOptions,
    parse_quorumtool,
    wait_until,
)

pytestmark = pytest.mark.corosync

PYQUORUM = [sys.executable, "-m", "pyquorum"]

#: quorumtool's flag words → status --json's names.
FLAGS = {"2Node": "two_node", "Quorate": "quorate", "WaitForAll": "wait_for_all",
         "LastManStanding": "last_man_standing", "AutoTieBreaker": "auto_tie_breaker",
         "AllowDownscale": "allow_downscale", "Qdevice": "qdevice"}


@dataclass(frozen=True)
class Config:
    """A cluster configuration and what is special about it."""

    nodes: int
    kwargs: dict[str, Any]
    start: list[int] | None = None  # node ids started (default all)
    quorate: bool = True
    flags: set[str] = field(default_factory=set)  # --json flag names that must be set


CONFIGS = {
    "healthy": Config(3, {}, flags={"quorate"}),
    "inquorate": Config(3, {"expected_votes": 7, "wait_for_quorum": False}, quorate=False),
    "two_node": Config(2, {"votequorum": VotequorumOptions(two_node=True)},
                       flags={"two_node", "quorate", "wait_for_all"}),
    "wait_for_all": Config(3, {"votequorum": VotequorumOptions(wait_for_all=True),
                               "wait_for_quorum": False}, start=[1, 2], quorate=False,
                           flags={"wait_for_all"}),
    "qdevice": Config(3, {"qdevice": QdeviceConfig()}, flags={"quorate", "qdevice"}),
}


@dataclass
class Live:
    name: str
    config: Config
    cluster: Cluster


@pytest.fixture(scope="module", params=list(CONFIGS))
def live(request: pytest.FixtureRequest, start_cluster: Callable[..., Cluster]) -> Iterator[Live]:
    config = CONFIGS[request.param]
    cluster = start_cluster(config.nodes, config.start, **config.kwargs)
    running = set(config.start or cluster.node_ids)
    # wait_for_quorum=False leaves the waiting to us: formed, and as quorate as expected.
    cluster.wait_formed(running, timeout=20, quorate=config.quorate)
    yield Live(request.param, config, cluster)
    cluster.close(graceful=False)


def status_json(node: Node) -> tuple[int, dict[str, Any]]:
    proc = node.run([*PYQUORUM, "status", "--json"])
    assert proc.stderr == "", proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def quorumtool(node: Node, *args: str) -> tuple[int, str]:
    proc = node.run(["corosync-quorumtool", "-s", *args])
    assert proc.returncode in (0, 2), proc.stderr
    return proc.returncode, proc.stdout


def table_names(text: str) -> dict[int, str]:
    """The Name column of quorumtool's membership table (decimal ids), without (local)."""
    names, in_table = {}, False
    for line in text.splitlines():
        if line.strip().startswith("Nodeid"):
            in_table = True
            continue
        words = line.split()
        if in_table and len(words) >= 3 and words[0].isdigit() and words[0] != "0":
            name = words[-2] if words[-1] == "(local)" else words[-1]
            names[int(words[0])] = name
    return names


def settled(node: Node, read: Callable[[], Any]) -> tuple[Any, QuorumStatus, str, str]:
    """``read()`` between two identical quorumtool reports (same ring, members, votes), so
    both tools describe one state; returns it with the report and both raw outputs."""
    def attempt() -> tuple[Any, QuorumStatus, str, str] | None:
        _, before = quorumtool(node, "-i")
        ours = read()
        _, after = quorumtool(node, "-i")
        _, named = quorumtool(node)
        a, b = parse_quorumtool(before), parse_quorumtool(after)
        same = (a.ring_id, a.members, dict(a.votes), a.flags, a.qdevice_states) == (
            b.ring_id, b.members, dict(b.votes), b.flags, b.qdevice_states)
        return (ours, b, after, named) if same else None

    result: tuple[Any, QuorumStatus, str, str] = wait_until(
        attempt, 15, "two identical corosync-quorumtool reports around pyquorum status")
    return result


def running(live: Live) -> list[Node]:
    return [live.cluster[i] for i in (live.config.start or sorted(live.cluster.node_ids))]


def test_json_field_by_field_against_quorumtool(live: Live) -> None:
    for node in running(live):
        (code, got), tool, raw_i, raw_named = settled(node, functools.partial(status_json, node))
        assert code == (0 if tool.quorate else 2)
        assert got["quorum_type"] == "set"
        assert got["provider"] == tool.provider == "corosync_votequorum"
        assert got["quorate"] is tool.quorate is live.config.quorate
        assert got["node_id"] == tool.nodeid == node.nodeid
        assert (got["ring_id"]["nodeid"], got["ring_id"]["seq"]) == tool.ring_id
        assert set(got["members"]) == tool.members and len(got["members"]) == len(tool.members)
        vq = got["votequorum"]
        assert (vq["expected_votes"], vq["highest_expected"], vq["total_votes"], vq["quorum"]) \
            == (tool.expected_votes, tool.highest_expected, tool.total_votes, tool.quorum)
        assert vq["flags"] == [FLAGS[w] for w in FLAGS if w in tool.flags]  # and in this order
        assert live.config.flags <= set(vq["flags"])
        assert {n["nodeid"]: n["votes"] for n in got["nodes"]} == dict(tool.votes)
        assert [n["nodeid"] for n in got["nodes"] if n["local"]] == [node.nodeid]
        assert {n["nodeid"]: n["name"] for n in got["nodes"]} == table_names(raw_named)
        # -i shows addresses: status's names are the nodelist's, each node's ring0_addr
        # is the address quorumtool shows.
        assert {n: node.cluster[n].entry.address for n in tool.members} == table_names(raw_i)
        if tool.qdevice_votes is None:
            assert vq["qdevice"] is None
        else:
            states = tool.qdevice_states[node.nodeid]
            assert vq["qdevice"] == {
                "name": "Qdevice", "votes": tool.qdevice_votes, "alive": "A" in states,
                "cast_vote": "V" in states, "master_wins": "MW" in states,
            }


def _common_lines(text: str) -> list[str]:
    """The lines both tools print: no Date (quorumtool), no Quorum type (status);
    trailing blanks dropped (quorumtool pads Quorum: and Flags:)."""
    return [line.rstrip() for line in text.splitlines()
            if not line.startswith(("Date:", "Quorum type:"))]


def test_text_line_by_line_against_quorumtool(live: Live) -> None:
    node = running(live)[0]

    def text() -> tuple[int, str]:
        proc = node.run([*PYQUORUM, "status"])
        assert proc.stderr == ""
        return proc.returncode, proc.stdout

    (code, ours), _, _, theirs = settled(node, text)
    tool_code, _ = quorumtool(node)
    assert code == tool_code == (0 if live.config.quorate else 2)
    assert _common_lines(ours) == _common_lines(theirs)
    if not live.config.quorate:
        assert any(line.endswith(" Activity blocked") for line in ours.splitlines())
    if live.name == "qdevice":
        assert "    Nodeid      Votes    Qdevice Name" in ours
        assert ours.rstrip().endswith("         0          1            Qdevice")

