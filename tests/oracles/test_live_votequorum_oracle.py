"""tests/c/votequorum_oracle.c against a real corosync: what libvotequorum sees.

These pin the daemon's behaviour (corosync 3.1, Debian's libvotequorum) for
every oracle command, so that pyquorum's VotequorumSession can later be
compared with the oracle call for call.  tests/oracles/README.md sums the
facts up.  Tests that change votes or expected votes start their own
cluster; the shared single node is only read.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.oracle import OracleFailed, run_quorum_oracle, run_votequorum_oracle, watch_oracle

Node = Any  # pyquorum.testing.cluster.Node

pytestmark = pytest.mark.usefixtures("oracles_built")

CS_OK = 1
CS_ERR_TRY_AGAIN = 6
CS_ERR_INVALID_PARAM = 7
CS_ERR_BAD_HANDLE = 9
CS_ERR_NOT_EXIST = 12
CS_ERR_EXIST = 14
CS_ERR_NAME_NOT_FOUND = 17

TRACK_CURRENT, TRACK_CHANGES, TRACK_CHANGES_ONLY = 1, 2, 4
INFO_QUORATE = 2
MEMBER, DEAD = 1, 2


def calls(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if "call" in line]


def events(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if "type" in line]


def by_id(nodes: list[dict[str, int]]) -> list[dict[str, int]]:
    return sorted(nodes, key=lambda n: n["nodeid"])


def single_node_info(**changes: int) -> dict[str, Any]:
    info = {"call": "getinfo", "rc": CS_OK, "node_id": 1, "node_state": MEMBER, "node_votes": 1,
            "node_expected_votes": 1, "highest_expected": 1, "total_votes": 1, "quorum": 1,
            "flags": INFO_QUORATE, "qdevice_votes": 0, "qdevice_name": ""}
    info.update(changes)
    return info


def test_calls_on_a_single_node(corosync_node_any: Node) -> None:
    lines = run_votequorum_oracle(corosync_node_any, """
        init
        getinfo 0
        getinfo 1
        getinfo 99
        setvotes 99 1
        fd
        context_get
        context_set 42
        context_get
        trackstop
        dispatch 9
        dispatch 4
        dispatch 2
        finalize
        finalize
        getinfo 0
        fd
        context_get
        trackstart 1 1
    """)
    assert lines == [
        {"call": "init", "rc": CS_OK},
        single_node_info(),  # node id 0 means "this node"
        single_node_info(),
        {"call": "getinfo", "rc": CS_ERR_NOT_EXIST},
        {"call": "setvotes", "rc": CS_ERR_NAME_NOT_FOUND},
        {"call": "fd", "rc": CS_OK, "valid": True},
        {"call": "context_get", "rc": CS_OK, "context": 0},
        {"call": "context_set", "rc": CS_OK},
        {"call": "context_get", "rc": CS_OK, "context": 42},
        {"call": "trackstop", "rc": CS_ERR_NOT_EXIST},  # never tracked
        {"call": "dispatch", "rc": CS_ERR_INVALID_PARAM},  # not a dispatch mode
        {"call": "dispatch", "rc": CS_ERR_TRY_AGAIN},  # one_nonblocking, nothing queued
        {"call": "dispatch", "rc": CS_OK},  # all, nothing queued
        {"call": "finalize", "rc": CS_OK},
        {"call": "finalize", "rc": CS_ERR_BAD_HANDLE},
        {"call": "getinfo", "rc": CS_ERR_BAD_HANDLE},
        {"call": "fd", "rc": CS_ERR_BAD_HANDLE, "valid": False},
        {"call": "context_get", "rc": CS_ERR_BAD_HANDLE},
        {"call": "trackstart", "rc": CS_ERR_BAD_HANDLE},
    ]


def test_setexpected_refuses_what_would_lose_quorum(corosync_node_any: Node) -> None:
    """Refused calls change nothing, so the shared node can take them."""
    lines = run_votequorum_oracle(corosync_node_any, """
        init
        setexpected 2
        setexpected 0
        setvotes 1 0
        getinfo 0
    """)
    assert lines[1:] == [
        {"call": "setexpected", "rc": CS_ERR_INVALID_PARAM},  # quorum 2 > 1 vote
        {"call": "setexpected", "rc": CS_ERR_INVALID_PARAM},  # below the votes present
        {"call": "setvotes", "rc": CS_ERR_INVALID_PARAM},
        single_node_info(),
    ]


def test_tracking_flags_and_contexts(corosync_node_any: Node) -> None:
    lines = run_votequorum_oracle(corosync_node_any, """
        init
        trackstart 7 1
        trackstart 8 1
        trackstop
        dispatch 2
        trackstart 9 4
        wait 300
        dispatch 4
        trackstart 10 2
        dispatch 1
        dispatch 1
        trackstart 11 2
        trackstart 12 4
        dispatch 2
        trackstop
        trackstop
        finalize
    """)
    quorum_lines = run_quorum_oracle(corosync_node_any, "init v1\ntrackstart 1\ndispatch 2\n")
    ring = next(e["ring_id"] for e in quorum_lines if e.get("type") == "nodelist")
    assert ring["nodeid"] == 1

    def snapshot(context: int) -> list[dict[str, Any]]:
        return [
            {"type": "votequorum_nodelist", "context": context, "ring_id": ring, "members": [1]},
            {"type": "votequorum_quorum", "context": context, "quorate": True,
             "nodes": [{"nodeid": 1, "state": MEMBER}]},
        ]

    assert lines == [
        {"call": "init", "rc": CS_OK},
        # CURRENT alone sends the snapshot and does not track: it can be repeated.
        {"call": "trackstart", "rc": CS_OK},
        {"call": "trackstart", "rc": CS_OK},
        {"call": "trackstop", "rc": CS_ERR_NOT_EXIST},
        *snapshot(7), *snapshot(8),
        {"call": "dispatch", "rc": CS_OK},
        # CHANGES_ONLY tracks without a snapshot.
        {"call": "trackstart", "rc": CS_OK},
        {"call": "wait", "ready": False},
        {"call": "dispatch", "rc": CS_ERR_TRY_AGAIN},
        # Already tracking: EXIST, yet CURRENT|CHANGES still sends a snapshot (context 10).
        {"call": "trackstart", "rc": CS_ERR_EXIST},
        snapshot(10)[0],
        {"call": "dispatch", "rc": CS_OK},
        snapshot(10)[1],
        {"call": "dispatch", "rc": CS_OK},
        {"call": "trackstart", "rc": CS_ERR_EXIST},
        {"call": "trackstart", "rc": CS_ERR_EXIST},
        *snapshot(11),
        {"call": "dispatch", "rc": CS_OK},
        {"call": "trackstop", "rc": CS_OK},
        {"call": "trackstop", "rc": CS_ERR_NOT_EXIST},
        {"call": "finalize", "rc": CS_OK},
    ]


@pytest.mark.parametrize(("callbacks", "kept"), [
    ("none", []),
    ("quorum", ["votequorum_quorum"]),
    ("nodelist,expected", ["votequorum_nodelist"]),
    ("all", ["votequorum_nodelist", "votequorum_quorum"]),
])
def test_events_without_a_callback_are_dropped(
    corosync_node: Node, callbacks: str, kept: list[str]
) -> None:
    lines = run_votequorum_oracle(corosync_node, [f"init {callbacks}", "trackstart 3 1",
                                                  "wait 1000", "dispatch 2", "dispatch 4"])
    assert [e["type"] for e in events(lines)] == kept
    assert calls(lines)[-2:] == [{"call": "dispatch", "rc": CS_OK},
                                 {"call": "dispatch", "rc": CS_ERR_TRY_AGAIN}]


def test_votes_and_expected_votes_change(cluster3: Any) -> None:
    """setvotes and setexpected apply asynchronously: rc OK comes before the change.

    The new values travel as a cluster message; getinfo right after the call
    may still show the old ones, so the script waits (dispatch 1) for the
    expected-votes event each change sends before reading them.
    """
    node = cluster3(1)[1]
    lines = run_votequorum_oracle(node, """
        init
        trackstart 5 4
        setvotes 1 2
        dispatch 1
        getinfo 0
        setvotes 1 1
        setexpected 1
        setexpected 3
        dispatch 1
        getinfo 0
        setexpected 2
        dispatch 1
        wait 300
    """)
    assert lines == [
        {"call": "init", "rc": CS_OK},
        {"call": "trackstart", "rc": CS_OK},
        {"call": "setvotes", "rc": CS_OK},
        {"type": "expected_votes", "context": 5, "expected_votes": 2},
        {"call": "dispatch", "rc": CS_OK},
        # Two votes raise this node's expected votes (and so the quorum) to 2 ...
        single_node_info(node_votes=2, node_expected_votes=2, highest_expected=2,
                         total_votes=2, quorum=2),
        # ... so going back to one vote, or expecting 1, would lose quorum: refused.
        {"call": "setvotes", "rc": CS_ERR_INVALID_PARAM},
        {"call": "setexpected", "rc": CS_ERR_INVALID_PARAM},
        {"call": "setexpected", "rc": CS_OK},  # quorum of 3 expected is 2: still quorate
        {"type": "expected_votes", "context": 5, "expected_votes": 3},
        {"call": "dispatch", "rc": CS_OK},
        single_node_info(node_votes=2, node_expected_votes=3, highest_expected=3,
                         total_votes=2, quorum=2),
        {"call": "setexpected", "rc": CS_OK},
        {"type": "expected_votes", "context": 5, "expected_votes": 2},
        {"call": "dispatch", "rc": CS_OK},
        # Only expected-votes events: a change of votes is no quorum or nodelist event.
        {"call": "wait", "ready": False},
    ]


def test_three_nodes_getinfo_and_a_crash(cluster3: Any) -> None:
    cluster = cluster3()
    node1 = cluster[1]
    lines = run_votequorum_oracle(node1, ["init", "getinfo 2", "getinfo 3", "getinfo 4",
                                          "setexpected 6", "setexpected 2"])
    info = {"call": "getinfo", "rc": CS_OK, "node_state": MEMBER, "node_votes": 1,
            "node_expected_votes": 3, "highest_expected": 3, "total_votes": 3, "quorum": 2,
            "flags": INFO_QUORATE, "qdevice_votes": 0, "qdevice_name": ""}
    assert lines == [
        {"call": "init", "rc": CS_OK},
        {**info, "node_id": 2},
        {**info, "node_id": 3},
        {"call": "getinfo", "rc": CS_ERR_NOT_EXIST},
        {"call": "setexpected", "rc": CS_ERR_INVALID_PARAM},  # quorum 4 > 3 votes
        {"call": "setexpected", "rc": CS_ERR_INVALID_PARAM},  # fewer than the 3 votes present
    ]
    with watch_oracle("votequorum", node1, 9, TRACK_CHANGES, 4, 20000) as watch:
        assert watch.next() == {"call": "init", "rc": CS_OK}
        assert watch.next() == {"call": "trackstart", "rc": CS_OK}
        nodelist, quorum = watch.next(), watch.next()
        assert nodelist["members"] == [1, 2, 3] and nodelist["context"] == 9
        # The nodes come in the daemon's list order (join order, seen as [2, 3, 1]), unsorted.
        assert {**quorum, "nodes": by_id(quorum["nodes"])} == {
            "type": "votequorum_quorum", "context": 9, "quorate": True,
            "nodes": [{"nodeid": n, "state": MEMBER} for n in (1, 2, 3)]}
        cluster[3].crash()
        after = watch.finish()
    assert after[0]["type"] == "votequorum_nodelist" and after[0]["members"] == [1, 2]
    assert after[0]["ring_id"]["seq"] > nodelist["ring_id"]["seq"]
    # A dead node stays in the quorum event's list, with state DEAD.
    assert {**after[1], "nodes": by_id(after[1]["nodes"])} == {
        "type": "votequorum_quorum", "context": 9, "quorate": True,
        "nodes": [{"nodeid": 1, "state": MEMBER}, {"nodeid": 2, "state": MEMBER},
                  {"nodeid": 3, "state": DEAD}]}
    cluster.wait_members(1, {1, 2})
    lines = run_votequorum_oracle(node1, ["init", "getinfo 3"])
    assert lines[1] == {**info, "node_id": 3, "node_state": DEAD, "total_votes": 2}


def test_a_bad_line_ends_the_script(corosync_node: Node) -> None:
    for bad in ("frobnicate", "getinfo", "getinfo x", "getinfo -1", "setvotes 1",
                "trackstart 1", "init bogus", "dispatch 1 2"):
        with pytest.raises(OracleFailed, match="exited 2"):
            run_votequorum_oracle(corosync_node, ["init", bad, "finalize"])
