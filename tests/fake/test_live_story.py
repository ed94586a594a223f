"""The stock tools against a real cluster and against the fake serving its story.

One real 3-node cluster with a quorum device (module-scoped).  In each
phase, node 1's state is read into a story (:func:`story_from_node`), the
fake serves it in a private namespace, and ``corosync-quorumtool -s``,
``-l``, ``-s -p`` and ``-s -i`` must print the same lines (the Date line
aside) with the same exit code against both, ``corosync-cmapctl`` the
same keys under the prefixes a story implies (nodelist, quorum, runtime
votequorum and members, cluster name); ``pyquorum status --json`` must print
the same object, and ``corosync-cfgtool -s``, ``-s -b`` and ``-n`` the
same links (the MTU aside).  Phases: everything registered; node 1's
corosync-qdevice stopped (its ``NR`` cell, the device's ``(votes 1)``
row); nodes 2 and 3 killed (inquorate, exit 2).  Before, a sequence of
SETEXPECTED and SETVOTES calls must be answered alike, with the same events
(which also moves cmap's ev_barrier, compared afterwards).  After, the
inquorate node is told to expect one vote, then given two: real and fake
must recalculate alike (the same events on quorum and votequorum trackers,
the same GETINFOs, the same ``corosync-quorumtool -s`` afterwards).
"""

from __future__ import annotations

import difflib
import itertools
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pyquorum.errors import CsError
from pyquorum.fake.story_record import story_from_node
from pyquorum.messages.constants import Model, Track
from pyquorum.messages.votequorum import ExpectedVotesNotification
from pyquorum.services.quorum.session import QuorumSession
from pyquorum.services.votequorum.session import VotequorumSession
from pyquorum.testing.cluster import (
    Cluster,
    ClusterUnavailable,
    Node,
    QdeviceConfig,
    parse_quorumtool,
    wait_until,
)
from tests.support.corosync_story import tool_lines
from tests.support.fake import TRANSPORTS, CorosyncFactory
from tests.support.live import require_corosync, require_live

pytestmark = pytest.mark.corosync

TOOLS = (("-s",), ("-l",), ("-s", "-p"), ("-s", "-i"))
#: What corosync-cmapctl lists under these prefixes (the keys a story implies).
CMAP_PREFIXES = ("nodelist.", "quorum.", "runtime.votequorum.", "runtime.members.",
                 "totem.cluster_name")
STATUS_JSON = (sys.executable, "-m", "pyquorum", "status", "--json")
#: corosync-cfgtool's link views: cfg's NODESTATUSGET for every node (docs/cfg.md §3.5).
CFGTOOL = (("-s",), ("-s", "-b"), ("-n",))


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    require_corosync()
    made = Cluster(3, qdevice=QdeviceConfig(algorithm="ffsplit", tls=False))
    try:
        made.start()
        made.wait_qdevice()
    except ClusterUnavailable as exc:
        made.close(graceful=False)
        require_live(exc)
    except BaseException:
        made.close(graceful=False)
        raise
    try:
        yield made
    finally:
        made.close(graceful=False)


def _outputs(run: Callable[[list[str]], Any]) -> dict[str, tuple[int, list[str]]]:
    out = {}
    for args in TOOLS:
        proc = run(["corosync-quorumtool", *args])
        out[" ".join(args)] = (proc.returncode, tool_lines(proc.stdout))
    proc = run(["corosync-cmapctl"])
    out["corosync-cmapctl"] = (proc.returncode, [
        line for line in proc.stdout.splitlines() if line.startswith(CMAP_PREFIXES)])
    proc = run(list(STATUS_JSON))
    out["pyquorum status --json"] = (proc.returncode, proc.stdout.splitlines())
    for args in CFGTOOL:
        proc = run(["corosync-cfgtool", *args])
        # knet's path MTU discovery may move the MTU between two reads of the real node.
        out["corosync-cfgtool " + " ".join(args)] = (
            proc.returncode, re.sub(r"mtu: \d+", "mtu: N", proc.stdout).splitlines())
    return out


def _compare(node: Node, corosync: CorosyncFactory) -> dict[str, tuple[int, list[str]]]:
    """Read node's story, serve it on both transports, and compare every output."""
    real = _outputs(lambda argv: node.run(argv, timeout=30))
    story = node.call(story_from_node)
    for transport in TRANSPORTS:
        server = corosync(story, transport=transport)

        def in_fake(argv: list[str], s: Any = server) -> Any:
            return s.run(argv, capture_output=True, text=True, timeout=60)

        faked = _outputs(in_fake)
        for what, expected in real.items():
            diff = "\n".join(difflib.unified_diff(expected[1], faked[what][1], "real", "fake",
                                                  lineterm=""))
            assert faked[what] == expected, f"{what} over {transport}:\n{diff}"
        server.stop()
    return real


def _changes(context: Callable[[], Any], members: tuple[int, ...]) -> list[Any]:
    """SETEXPECTED and SETVOTES calls, refused and accepted, each with the events it
    brings, then every member's GETINFO."""
    seen: list[Any] = []
    with context(), VotequorumSession(timeout=10) as vq:
        vq.trackstart(Track.CHANGES_ONLY, context=9)
        total = vq.getinfo(0).total_votes
        calls: list[Callable[[], None]] = [
            lambda: vq.setexpected(total - 1),  # below the votes present
            lambda: vq.setexpected(total * 3),  # a quorate cluster would lose quorum
            lambda: vq.setexpected(total),
            lambda: vq.setvotes(42, 1),  # no such node
            # Votes stay 1: with other votes, the real corosync-qdevice (ffsplit) leaves,
            # which is the device daemon's doing, not votequorum's.
            lambda: vq.setvotes(members[1], 1),
        ]
        for call in calls:
            try:
                call()
                seen.append("ok")
            except CsError as exc:
                seen.append(type(exc).__name__)
            # The real daemon's change travels as a cluster message: its event comes later.
            seen.append(list(itertools.islice(vq.events(timeout=0.5), 1)))
        seen += [vq.getinfo(n) for n in (0, *members)]
    return seen


def test_the_fake_answers_and_prints_as_the_daemon(
    cluster: Cluster, corosync: CorosyncFactory
) -> None:
    """One walk (each phase needs the one before): votequorum changes, then the tools
    with everything registered, with node 1's device stopped, and inquorate."""
    node = cluster[1]
    story = node.call(story_from_node)
    server = corosync(story)
    real_changes = _changes(node.netns_context, story.initial.members)
    assert _changes(server.netns_context, story.initial.members) == real_changes
    assert real_changes[:6] == ["InvalidParamError", [], "InvalidParamError", [], "ok",
                                [ExpectedVotesNotification(9, real_changes[-1].expected_votes)]]
    server.stop()

    real = _compare(node, corosync)
    code, lines = real["-s -p"]
    assert code == 0
    assert "         1          1    A,V,NMW node1 (local)" in lines
    assert lines[-1] == "         0          1            Qdevice"

    node.stop_qdevice()
    wait_until(lambda: parse_quorumtool(node.run(["corosync-quorumtool", "-s"]).stdout)
               .qdevice_states.get(1) == frozenset({"NR"}), 20,
               "node 1 to show its quorum device unregistered")
    code, lines = _compare(node, corosync)["-s -p"]
    assert "         1          1         NR node1 (local)" in lines
    assert lines[-1] == "         0          0            Qdevice (votes 1)"

    cluster[2].crash()
    cluster[3].crash()
    node.wait_quorate(False)
    code, lines = _compare(node, corosync)["-s"]
    assert code == 2
    assert "Quorate:          No" in lines

    # Told to expect fewer votes, then given more, the lone node regains quorum.
    server = corosync(node.call(story_from_node))
    regained = _regain(node.netns_context, lambda argv: node.run(argv, timeout=30))
    faked = _regain(server.netns_context,
                    lambda argv: server.run(argv, capture_output=True, text=True, timeout=60))
    assert faked == regained
    seen, q_events, tool = regained
    assert seen[0] is False and seen[3] is False and seen[6] is True
    assert seen[1] == [ExpectedVotesNotification(9, 1), ExpectedVotesNotification(9, 2)]
    assert seen[4][0] == ExpectedVotesNotification(9, 3) and seen[4][1].quorate
    assert q_events and q_events[-1].quorate
    assert tool[0] == "0" and "Quorate:          Yes" in tool


def _regain(context: Callable[[], Any],
            run: Callable[[list[str]], Any]) -> tuple[list[Any], list[Any], list[str]]:
    """On node 1 alone and inquorate, with its device configured but stopped:
    SETEXPECTED 1 (corosync raises it again to the votes present, the device's
    counted: inquorate still), then SETVOTES 2 for node 1 (quorate).  The
    events of a votequorum and a quorum tracker, each GETINFO after, and
    ``corosync-quorumtool -s`` at the end."""
    with context(), QuorumSession(Model.V1, timeout=10) as q, \
            VotequorumSession(timeout=10) as vq:
        q.trackstart(Track.CHANGES_ONLY)
        vq.trackstart(Track.CHANGES_ONLY, context=9)
        seen: list[Any] = [q.getquorate()]
        calls: list[Callable[[], None]] = [lambda: vq.setexpected(1),
                                           lambda: vq.setvotes(1, 2)]
        for call in calls:
            call()
            # Two events each; the real daemon's come after a cluster message.
            seen.append(list(itertools.islice(vq.events(timeout=5), 2)))
            seen += [vq.getinfo(0), q.getquorate()]
        q_events = list(itertools.islice(q.events(timeout=2), 2))
    proc = run(["corosync-quorumtool", "-s"])
    return seen, q_events, [str(proc.returncode), *tool_lines(proc.stdout)]

