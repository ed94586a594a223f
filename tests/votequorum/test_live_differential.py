"""Differential tests: the same script through C libvotequorum and pyquorum's VotequorumSession.

The C oracle (tests/c/votequorum_oracle.c, its script language and output in
tests/oracles/README.md) and :class:`Runner` below print the same JSON lines;
against the same corosync they must print the same lines: results,
notifications (order and context included) and error codes.  Every script
runs on both libqb transports.
"""

from __future__ import annotations

import select
import textwrap
from typing import Any

import pytest

from pyquorum import VotequorumSession
from pyquorum.errors import CsError
from pyquorum.messages.votequorum import (
    ExpectedVotesNotification,
    NodelistNotification,
    QuorumNotification,
)
from tests.oracle import run_votequorum_oracle, watch_oracle
from tests.support import differential
from tests.support.differential import Lines, ScriptRunner
from tests.support.oracles import require_oracle

Node = Any  # pyquorum.testing.cluster.Node
OK = 1


class Runner(ScriptRunner):
    """The Python twin of votequorum_oracle's script mode, on VotequorumSession."""

    def __init__(self) -> None:
        self.out: list[dict[str, Any]] = []
        self.session: VotequorumSession | None = None

    # -- callbacks, printing what the C ones print -----------------------------------

    def quorum(self, _s: VotequorumSession, e: QuorumNotification) -> None:
        self.out.append({"type": "votequorum_quorum", "context": e.context,
                         "quorate": e.quorate,
                         "nodes": [{"nodeid": n.nodeid, "state": int(n.state)} for n in e.nodes]})

    def nodelist(self, _s: VotequorumSession, e: NodelistNotification) -> None:
        self.out.append({"type": "votequorum_nodelist", "context": e.context,
                         "ring_id": {"nodeid": e.ring_id.nodeid, "seq": e.ring_id.seq},
                         "members": list(e.members)})

    def expected(self, _s: VotequorumSession, e: ExpectedVotesNotification) -> None:
        self.out.append({"type": "expected_votes", "context": e.context,
                         "expected_votes": e.expected_votes})

    # -- commands ----------------------------------------------------------------------

    def _init(self, spec: str) -> None:
        names = {"all": {"quorum", "nodelist", "expected"}, "none": set()}.get(
            spec, set(spec.split(",")))
        self.session = VotequorumSession(
            quorum_notify=self.quorum if "quorum" in names else None,
            nodelist_notify=self.nodelist if "nodelist" in names else None,
            expectedvotes_notify=self.expected if "expected" in names else None,
            timeout=10,
        )

    def command(self, line: str) -> None:
        cmd, *args = line.split()
        nums = [int(a) for a in args if a.isdigit()]
        line_out: dict[str, Any] = {"call": cmd}
        if cmd == "wait":
            assert self.session is not None
            ready, _, _ = select.select([self.session.fileno()], [], [], nums[0] / 1000)
            self.out.append({"call": "wait", "ready": bool(ready)})
            return
        try:
            result = self._call(cmd, args, nums)
        except CsError as exc:
            line_out["rc"] = int(exc.code)
            if cmd == "fd":
                line_out["valid"] = False
        else:
            line_out["rc"] = OK
            line_out.update(result)
        self.out.append(line_out)

    def _call(self, cmd: str, args: list[str], nums: list[int]) -> dict[str, Any]:
        if cmd == "init":
            self._init(args[0] if args else "all")
            return {}
        s = self.session
        assert s is not None, "script calls before init"
        if cmd == "getinfo":
            i = s.getinfo(nums[0])
            return {"node_id": i.nodeid, "node_state": int(i.state), "node_votes": i.votes,
                    "node_expected_votes": i.expected_votes,
                    "highest_expected": i.highest_expected, "total_votes": i.total_votes,
                    "quorum": i.quorum, "flags": int(i.flags), "qdevice_votes": i.qdevice_votes,
                    "qdevice_name": i.qdevice_name}
        if cmd == "setexpected":
            s.setexpected(nums[0])
        elif cmd == "setvotes":
            s.setvotes(nums[0], nums[1])
        elif cmd == "trackstart":
            s.trackstart(nums[1], nums[0])
        elif cmd == "trackstop":
            s.trackstop()
        elif cmd == "dispatch":
            s.dispatch(nums[0], timeout=10)  # the oracle's run would hang, not this one
        elif cmd == "fd":
            return {"valid": s.fileno() >= 0}
        elif cmd == "context_set":
            s.context = nums[0]
        elif cmd == "context_get":
            return {"context": s.context or 0}
        elif cmd == "finalize":
            s.finalize()
        else:
            raise AssertionError(f"unknown script command {cmd!r}")
        return {}


def both(node: Node, script: str) -> tuple[Lines, Lines]:
    """(oracle's lines, pyquorum's lines) for ``script`` on ``node``."""
    return differential.both("votequorum", node, script, Runner())


SCRIPTS = {
    "calls_errors_and_snapshots": """
        init
        getinfo 0
        getinfo 1
        getinfo 99
        fd
        context_set 5
        context_get
        trackstart 7 1
        wait 1000
        dispatch 2
        trackstop
        trackstart 8 2
        dispatch 1
        dispatch 1
        trackstart 9 2
        dispatch 2
        dispatch 4
        trackstart 10 4
        trackstop
        trackstop
        dispatch 9
        setvotes 99 1
        setvotes 1 0
        setexpected 2
        finalize
        finalize
        getinfo 0
        trackstart 1 1
        dispatch 2
        fd
        context_get
    """,
    "expected_votes_event_and_callback_subsets": """
        init quorum,expected
        trackstart 3 6
        dispatch 1
        dispatch 1
        setexpected 1
        dispatch 1
        dispatch 4
        finalize
        init none
        trackstart 4 1
        dispatch 2
        dispatch 4
        finalize
    """,
}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_votequorum_session_matches_libvotequorum(corosync_node_any: Node, name: str) -> None:
    expected, got = both(corosync_node_any, SCRIPTS[name])
    assert got == expected
    assert any(line.get("type") for line in expected)  # the script did see events


@pytest.mark.parametrize("transport", ["shm", "socket"])
def test_setvotes_and_setexpected_match_libvotequorum(cluster3: Any, transport: str) -> None:
    """State-changing calls on a node of its own, restarted between the two runs
    so both start from one vote; each change is waited for through its
    expected-votes event (the change is asynchronous) before getinfo reads it."""
    node = cluster3(1, transport=transport)[1]
    script = """
        init
        trackstart 11 4
        setvotes 1 2
        dispatch 1
        getinfo 0
        setvotes 1 1
        setexpected 1
        setexpected 2
        dispatch 1
        getinfo 1
        finalize
    """
    require_oracle("votequorum")
    script = textwrap.dedent(script).strip() + "\n"
    expected = run_votequorum_oracle(node, script)
    node.restart()
    with node.netns_context():
        got = Runner().run(script)
    assert got == expected
    info = [line for line in got if line.get("call") == "getinfo"]
    assert info[0]["node_votes"] == 2 and info[0]["quorum"] == 2
    assert [line["rc"] for line in got if line.get("call") in ("setvotes", "setexpected")] == [
        1, 7, 7, 1]


@pytest.mark.parametrize("transport", ["shm", "socket"])
def test_three_nodes_and_a_dead_one_match_libvotequorum(cluster3: Any, transport: str) -> None:
    cluster = cluster3(transport=transport)
    node = cluster[1]
    script = """
        init
        getinfo 0
        getinfo 2
        getinfo 3
        getinfo 4
        trackstart 21 1
        dispatch 1
        dispatch 1
        finalize
    """
    expected, got = both(node, script)
    assert got == expected
    assert len(got[-3]["nodes"]) == 3  # the quorum snapshot lists every node
    cluster[3].crash()
    cluster.wait_members(1, {1, 2})
    expected, got = both(node, script)
    assert got == expected
    assert got[3]["node_state"] == 2 and got[1]["total_votes"] == 2


@pytest.mark.parametrize("transport", ["shm", "socket"])
def test_membership_change_notifications_match_libvotequorum(cluster3: Any, transport: str) -> None:
    """A node dies while both track changes: the same events, in the same order."""
    cluster = cluster3(transport=transport)
    node = cluster[1]
    require_oracle("votequorum")
    runner = Runner()
    with watch_oracle("votequorum", node, 5, 4, 20, 4000) as watcher:
        assert [watcher.next()["rc"], watcher.next()["rc"]] == [OK, OK]  # init, trackstart
        with node.netns_context():
            runner.command("init")
            runner.command("trackstart 5 4")
        cluster[3].crash()
        cluster.wait_members(1, {1, 2})
        expected = watcher.finish()
    assert runner.session is not None
    for _ in expected:
        runner.command("dispatch 1")
    runner.session.close()
    got = [line for line in runner.out if "type" in line]
    assert got == expected
    assert [line["type"] for line in got][:2] == ["votequorum_nodelist", "votequorum_quorum"]
    assert got[0]["members"] == [1, 2]
