"""``pyquorum cmap``, ``watch --votequorum``, ``expected`` and ``votes``, live, each
against the corosync tool that does the same (corosync-cmapctl, corosync-quorumtool).

One 3-node cluster for the module; the tests that change votes run last.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pyquorum.testing.cluster import Cluster, Node, parse_quorumtool, wait_until
from tests.support.node_command import NodeCommand

pytestmark = pytest.mark.corosync

PYQUORUM = [sys.executable, "-m", "pyquorum"]


@pytest.fixture(scope="module")
def cluster(start_cluster: Callable[..., Cluster]) -> Cluster:
    return start_cluster(3)


class Lines(NodeCommand):
    """A long-running command in a node's namespace, its stdout read line by line."""

    def close(self) -> str:
        """Wait for the end (kill after 10 s); its stderr."""
        try:
            _, err = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err


@pytest.fixture
def lines(cluster: Cluster) -> Iterator[Callable[..., Lines]]:
    started: list[Lines] = []

    def start(*argv: str, node: int = 1) -> Lines:
        started.append(Lines(cluster[node], *argv))
        return started[-1]

    yield start
    for proc in started:
        if proc.proc.poll() is None:
            proc.proc.kill()
        proc.close()


def run(node: Node, *argv: str) -> subprocess.CompletedProcess[str]:
    return node.run(list(argv))


# --------------------------------------------------------------------------- cmap


@pytest.mark.parametrize("prefix", ["totem.", "nodelist.", "runtime.config.totem."])
def test_cmap_list_prints_what_cmapctl_prints(cluster: Cluster, prefix: str) -> None:
    node = cluster[1]
    theirs = run(node, "corosync-cmapctl", "-b", prefix)
    ours = run(node, *PYQUORUM, "cmap", "list", prefix)
    assert (ours.returncode, ours.stderr) == (0, "")
    assert ours.stdout == theirs.stdout and ours.stdout.count("\n") >= 3
    as_json = [json.loads(line) for line in
               run(node, *PYQUORUM, "cmap", "list", prefix, "--json").stdout.splitlines()]
    assert [f"{e['key']} ({e['type']}) = {e['value']}" for e in as_json] \
        == theirs.stdout.splitlines()


def test_cmap_values_of_every_type_as_cmapctl_shows_them(cluster: Cluster) -> None:
    node = cluster[2]
    for kind, value in (("i8", "-5"), ("u16", "65535"), ("i64", "-9000000000"),
                        ("flt", "0.5"), ("dbl", "2.25"), ("str", "node")):
        # (-- so that getopt takes "-5" as a value)
        assert run(node, "corosync-cmapctl", "-s", "--", f"pqtypes.{kind}", kind,
                   value).returncode == 0
    node.run(["corosync-cmapctl", "-s", "pqtypes.bin", "bin", "-"], input="a\\b\x01\x7f\u00ff",
             check=True)
    theirs = run(node, "corosync-cmapctl", "-b", "pqtypes.").stdout
    ours = run(node, *PYQUORUM, "cmap", "list", "pqtypes.").stdout
    # One difference, on purpose: corosync-cmapctl sign-extends bytes >= 0x80 (\xFFFFFFC3);
    # pyquorum prints the byte (\xC3).
    assert ours == theirs.replace("\\xFFFFFF", "\\x")
    assert "pqtypes.bin (bin) = a\\\\b\\x01\\x7F\\xC3\\xBF\n" in ours
    assert "pqtypes.flt (flt) = 0.500000\n" in ours and "pqtypes.i64 (i64) = -9000000000\n" in ours
    values = {e["key"]: e["value"] for e in map(json.loads, run(
        node, *PYQUORUM, "cmap", "list", "pqtypes.", "--json").stdout.splitlines())}
    assert values == {"pqtypes.bin": "615c62017fc3bf", "pqtypes.dbl": 2.25, "pqtypes.flt": 0.5,
                      "pqtypes.i64": -9000000000, "pqtypes.i8": -5, "pqtypes.str": "node",
                      "pqtypes.u16": 65535}


def test_cmap_get_as_cmapctl_and_unknown_keys(cluster: Cluster) -> None:
    node = cluster[2]
    for key in ("totem.token", "nodelist.node.1.name", "runtime.votequorum.this_node_id"):
        assert run(node, *PYQUORUM, "cmap", "get", key).stdout \
            == run(node, "corosync-cmapctl", "-g", key).stdout
    assert json.loads(run(node, *PYQUORUM, "cmap", "get", "runtime.votequorum.this_node_id",
                          "--json").stdout) == {
        "key": "runtime.votequorum.this_node_id", "type": "u32", "value": 2}
    missing = run(node, *PYQUORUM, "cmap", "get", "no.such.key")
    assert run(node, "corosync-cmapctl", "-g", "no.such.key").stderr.startswith(
        "Can't get key no.such.key")
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == ("pyquorum: cmap has no key 'no.such.key'; pyquorum cmap list "
                              "PREFIX shows the keys there are\n")


def test_cmap_track_sees_cmapctl_changes(cluster: Cluster,
                                         lines: Callable[..., Lines]) -> None:
    node = cluster[1]
    track = lines(*PYQUORUM, "cmap", "track", "pqtest.", "--json", "--timeout", "20")
    text = lines(*PYQUORUM, "cmap", "track", "pqtest.", "--timeout", "20")

    # The trackers are in place once a change reaches them: poke (a new value each
    # time, as cmap reports no change for the same value) until both have seen one.
    pokes = iter(range(1, 1000))
    for tracker in (track, text):
        def saw_one(tracker: Lines = tracker) -> bool:
            run(node, "corosync-cmapctl", "-s", "pqtest.ready", "u32", str(next(pokes)))
            try:
                tracker.next(0.3)
            except AssertionError:
                return False
            return True

        wait_until(saw_one, 15, "a tracker to see a change")
    run(node, "corosync-cmapctl", "-d", "pqtest.ready")
    # Skip the pokes up to the delete that ends them, in each stream.
    while json.loads(track.next())["event"] != "delete":
        pass
    while not text.next().startswith("delete> pqtest.ready"):
        pass
    for argv in (["-s", "pqtest.a", "u32", "5"], ["-s", "pqtest.a", "u32", "6"],
                 ["-s", "pqtest.b", "str", "hello"], ["-d", "pqtest.a"]):
        assert run(node, "corosync-cmapctl", *argv).returncode == 0
    u32 = {"type": "u32"}
    assert [json.loads(track.next()) for _ in range(4)] == [
        {"event": "create", "key": "pqtest.a", "new": {**u32, "value": 5}, "old": None},
        {"event": "modify", "key": "pqtest.a", "new": {**u32, "value": 6},
         "old": {**u32, "value": 5}},
        {"event": "create", "key": "pqtest.b", "new": {"type": "str", "value": "hello"},
         "old": None},
        {"event": "delete", "key": "pqtest.a", "new": None, "old": {**u32, "value": 6}},
    ]
    # corosync-cmapctl -T prints these lines for the same changes.
    assert [text.next() for _ in range(4)] == [
        "create> pqtest.a (u32) = 5", "modify> pqtest.a (u32) = 6",
        "create> pqtest.b (str) = hello", "delete> pqtest.a (u32) = 6"]


# --------------------------------------------------------------------------- votequorum


def _events(watch: Lines, until: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    while not got or not until(got[-1]):
        got.append(json.loads(watch.next(15)))
    return got


def test_watch_votequorum_snapshot_then_expected_votes(cluster: Cluster,
                                                       lines: Callable[..., Lines]) -> None:
    node = cluster[1]
    tool = parse_quorumtool(run(node, "corosync-quorumtool", "-s").stdout)
    watch = lines(*PYQUORUM, "watch", "--votequorum", "--json", "--timeout", "20")
    snapshot = _events(watch, lambda e: e["type"] == "votequorum_quorum")
    kinds = [e["type"] for e in snapshot]
    assert sorted(kinds) == ["nodelist", "quorum", "votequorum_nodelist", "votequorum_quorum"]
    by_kind = {e["type"]: e for e in snapshot}
    ring = {"nodeid": tool.ring_id[0], "seq": tool.ring_id[1]} if tool.ring_id else None
    assert by_kind["votequorum_nodelist"]["ring_id"] == by_kind["quorum"]["ring_id"] == ring
    assert sorted(by_kind["votequorum_nodelist"]["members"]) == sorted(tool.members)
    vq_quorum = by_kind["votequorum_quorum"]
    assert vq_quorum["quorate"] is tool.quorate is True
    assert sorted((n["nodeid"], n["state"]) for n in vq_quorum["nodes"]) \
        == [(n, "member") for n in sorted(tool.members)]
    # A change made by the C tool arrives as votequorum's event.
    assert run(node, "corosync-quorumtool", "-e", "4").returncode == 0
    changes = _events(watch, lambda e: e["type"] == "expected_votes")
    assert changes[-1] == {"type": "expected_votes", "expected_votes": 4}
    assert parse_quorumtool(run(node, "corosync-quorumtool", "-s").stdout).expected_votes == 4


def test_expected_and_votes_do_what_quorumtool_e_and_v_do(cluster: Cluster) -> None:
    node = cluster[3]
    done = run(node, *PYQUORUM, "expected", "5")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")

    def status_is(check: Callable[[Any], bool]) -> Any:
        def probe() -> Any:
            status = parse_quorumtool(run(node, "corosync-quorumtool", "-s").stdout)
            return status if check(status) else None
        return wait_until(probe, 10, "corosync-quorumtool to show the change")

    status_is(lambda s: s.expected_votes == 5 and s.quorum == 3)
    done = run(node, *PYQUORUM, "votes", "2", "2")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    status = status_is(lambda s: s.votes.get(2) == 2)
    assert status.total_votes == 4
    # What the C tool refuses, pyquorum refuses, with one line each.
    for ours, theirs, words in (
        (["votes", "9", "1"], ["-v", "1", "-n", "9"], "knows no such node"),
        (["expected", "99"], ["-e", "99"], "CS_ERR_INVALID_PARAM"),
    ):
        assert run(node, "corosync-quorumtool", *theirs).returncode != 0
        refused = run(node, *PYQUORUM, *ours)
        assert (refused.returncode, refused.stdout) == (1, "")
        assert refused.stderr.startswith("pyquorum: votequorum refused ")
        assert words in refused.stderr and refused.stderr.count("\n") == 1
