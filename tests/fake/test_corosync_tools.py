"""Debian's corosync-quorumtool against the fake corosync, on both transports.

The tool opens cmap, quorum, cfg and votequorum, as against corosync, and
must print the story's state with its own exit codes (0 quorate, 2 not
quorate for ``-s``, 1 on error).  The expected texts are what the tool
printed against a real 3-node harness cluster in the same state
(tests/fake/test_live_story.py compares the two live).
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import replace

import pytest

from pyquorum.fake import Script, Step
from pyquorum.fake.hostile_services import ServiceHostility
from pyquorum.fake.story import ClusterChange, NodeQdevice
from pyquorum.messages.constants import QuorumType, Track
from pyquorum.messages.types import RingId
from pyquorum.testing.fake import FakeCorosyncServer
from tests.support.corosync_story import three_nodes, tool_lines
from tests.support.fake import CorosyncFactory

QUORUMTOOL = "corosync-quorumtool"

HEAD = ["Quorum information", "------------------", "Quorum provider:  corosync_votequorum"]

QUORATE = Script.build([1, 2, 3], True, RingId(1, 13), cluster=three_nodes())


def _tool(server: FakeCorosyncServer, *args: str) -> tuple[int, list[str], str]:
    proc = server.run([QUORUMTOOL, *args], capture_output=True, text=True, timeout=30)
    return proc.returncode, tool_lines(proc.stdout), proc.stderr


def _status(*, nodes: int, ring: str, quorate: bool, expected: int, total: int,
            quorum: int, flags: str) -> list[str]:
    return [
        *HEAD,
        f"Nodes:            {nodes}", "Node ID:          1", f"Ring ID:          {ring}",
        f"Quorate:          {'Yes' if quorate else 'No'}", "",
        "Votequorum information", "----------------------",
        f"Expected votes:   {expected}", f"Highest expected: {expected}",
        f"Total votes:      {total}",
        f"Quorum:           {quorum} {' ' if quorate else 'Activity blocked'}",
        f"Flags:            {flags}", "",
        "Membership information", "----------------------",
    ]


def test_status_list_parsable_and_addresses(corosync: CorosyncFactory, transport: str) -> None:
    server = corosync(QUORATE, transport=transport)
    table = ["         1          1 node1 (local)", "         2          1 node2",
             "         3          1 node3"]
    status = _status(nodes=3, ring="1.d", quorate=True, expected=3, total=3, quorum=2,
                     flags="Quorate ")
    assert _tool(server, "-s") == (0, [*status, "    Nodeid      Votes Name", *table], "")
    assert _tool(server, "-l") == (
        0, ["", "Membership information", "----------------------",
            "    Nodeid      Votes Name", *table], "")
    parsable = ["         1          1         NR node1 (local)",
                "         2          1         NR node2", "         3          1         NR node3"]
    assert _tool(server, "-s", "-p") == (
        0, [*status, "    Nodeid      Votes    Qdevice Name", *parsable], "")
    by_ip = [line.replace("node", "198.18.0.") for line in table]
    assert _tool(server, "-s", "-i") == (0, [*status, "    Nodeid      Votes Name", *by_ip], "")


def test_an_inquorate_story_exits_2(corosync: CorosyncFactory, transport: str) -> None:
    story = Script.build([1], False, RingId(1, 20), cluster=three_nodes())
    server = corosync(story, transport=transport)
    code, lines, err = _tool(server, "-s")
    assert (code, err) == (2, "")
    assert lines == [*_status(nodes=1, ring="1.14", quorate=False, expected=3, total=1,
                              quorum=2, flags=""),
                     "    Nodeid      Votes Name", "         1          1 node1 (local)"]
    assert _tool(server, "-l")[0] == 0  # only -s reports quorum in its exit status


def test_a_quorum_device_row(corosync: CorosyncFactory, transport: str) -> None:
    cluster = three_nodes(qdevice_name="Qdevice", qdevice_votes=1)
    cluster = ClusterChange.of(nodes={
        1: {"qdevice": NodeQdevice()}, 2: {"qdevice": NodeQdevice()},
        3: {"qdevice": NodeQdevice(alive=False, cast_vote=False)},
    }).apply(cluster)
    server = corosync(Script.build([1, 2, 3], True, RingId(1, 8), cluster=cluster),
                      transport=transport)
    code, lines, err = _tool(server, "-s", "-p")
    assert (code, err) == (0, "")
    assert lines == [
        *_status(nodes=3, ring="1.8", quorate=True, expected=4, total=4, quorum=3,
                 flags="Quorate Qdevice "),
        "    Nodeid      Votes    Qdevice Name",
        "         1          1    A,V,NMW node1 (local)",
        "         2          1    A,V,NMW node2",
        "         3          1  NA,NV,NMW node3",
        "         0          1            Qdevice",
    ]


def test_the_tools_follow_the_timeline(corosync: CorosyncFactory, transport: str) -> None:
    """A step changes the ring, node 2's votes and the expected votes: every service
    shows the new state (quorum's members, votequorum's numbers, cmap's names)."""
    story = Script.build([1, 2, 3], True, RingId(1, 8), cluster=three_nodes(), steps=[
        Step(60.0, members=(1, 2), cluster=ClusterChange.of(
            nodes={2: {"votes": 2, "name": "two"}}, votequorum={"expected_votes": 4})),
    ])
    server = corosync(story, transport=transport)
    server.apply(story.steps[0])
    code, lines, _ = _tool(server, "-s")
    assert code == 0
    assert lines == [*_status(nodes=2, ring="1.c", quorate=True, expected=4, total=3,
                              quorum=3, flags="Quorate "),
                     "    Nodeid      Votes Name", "         1          1 node1 (local)",
                     "         2          2 two"]


def test_a_story_without_votequorum(corosync: CorosyncFactory, transport: str) -> None:
    """No quorum provider: no @votequorum, quorum type free, no members named by the
    quorum service.  The tool then fails -s (it takes "no provider" for votequorum and
    calls it unopened) and lists nobody with -l: a real corosync 3.1.7 without a
    provider gives exactly these outputs and exit codes."""
    story = Script.build([], True, RingId(1, 4), cluster=replace(three_nodes(), votequorum=None),
                         quorum_type=QuorumType.FREE)
    server = corosync(story, transport=transport)
    assert "votequorum" not in server.corosync.servers
    assert _tool(server, "-s") == (
        1, [], "Unable to start votequorum status tracking: CS_ERR_BAD_HANDLE\n")
    assert _tool(server, "-l") == (
        0, ["", "Membership information", "----------------------", "    Nodeid Name"], "")


def test_a_missing_service_is_an_error(corosync: CorosyncFactory) -> None:
    server = corosync(QUORATE, services=("quorum", "votequorum", "cmap"))
    code, lines, err = _tool(server, "-s")
    assert (code, lines, err) == (1, [], "Cannot initialise CFG service\n")


def test_pyquorum_status_against_the_fake(corosync: CorosyncFactory, transport: str) -> None:
    server = corosync(QUORATE, transport=transport)
    proc = server.run([sys.executable, "-m", "pyquorum", "status"], capture_output=True,
                      text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    # pyquorum prints the tool's lines without its trailing blanks, plus a Quorum type line.
    ours = [line for line in proc.stdout.splitlines() if not line.startswith("Quorum type:")]
    assert ours == [line.rstrip() for line in _tool(server, "-s")[1]]


@pytest.mark.parametrize("args", [["-s"], ["-l"]])
def test_a_version_1_script_gets_the_cluster_it_implies(
    corosync: CorosyncFactory, args: list[str]
) -> None:
    server = corosync(Script.build([2, 3], True, RingId(2, 4)))
    code, lines, err = _tool(server, *args)
    assert (code, err) == (0, "")
    assert lines[-3:] == ["    Nodeid      Votes Name", "         2          1 node2 (local)",
                          "         3          1 node3"]


def test_cmap_follows_the_story(corosync: CorosyncFactory) -> None:
    """cmap trackers hear each change of the story: a member leaving is its
    runtime.members status, a story key set then deleted, a name changed."""
    from pyquorum.messages._cmap_values import CmapValue
    from pyquorum.messages.constants import CmapTrack
    from pyquorum.services.cmap.session import CmapSession

    story = Script.build([1, 2, 3], True, RingId(1, 8), cluster=three_nodes(), steps=[
        Step(60.0, members=(1, 2), cluster=ClusterChange.of(
            nodes={2: {"name": "two"}}, cmap={"story.key": CmapValue.string("x")})),
        Step(61.0, cluster=ClusterChange.of(cmap={"story.key": None})),
    ])
    server = corosync(story)
    with server.netns_context(), CmapSession(timeout=10) as cmap:
        assert cmap.get("nodelist.node.1.name").value == "node2"
        cmap.track_add("", CmapTrack.ADD | CmapTrack.MODIFY | CmapTrack.DELETE | CmapTrack.PREFIX)
        for step in story.steps:
            server.apply(step)
        seen = [(c.key, c.event, c.new.value if c.new else None)
                for c in itertools.islice(cmap.events(timeout=5), 5)]
        assert cmap.get("nodelist.node.1.name").value == "two"
    assert sorted(seen[:4]) == [
        ("nodelist.node.1.name", CmapTrack.MODIFY, "two"),
        ("runtime.members.3.status", CmapTrack.MODIFY, "left"),
        ("runtime.votequorum.highest_node_id", CmapTrack.MODIFY, 2),
        ("story.key", CmapTrack.ADD, "x"),
    ]
    assert seen[4] == ("story.key", CmapTrack.DELETE, None)


def test_hostile_votequorum_fails_status_with_one_line(corosync: CorosyncFactory) -> None:
    """votequorum answering with another id: pyquorum status fails at once, one line."""
    server = corosync(QUORATE, hostile_services={
        "votequorum": ServiceHostility.RESPONSE_UNKNOWN_ID})
    proc = server.run([sys.executable, "-m", "pyquorum", "status"], capture_output=True,
                      text=True, timeout=60)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("pyquorum: ")


def test_hostile_votequorum_event_count(corosync: CorosyncFactory) -> None:
    from pyquorum.errors import RemoteProtocolError
    from pyquorum.services.votequorum.session import VotequorumSession

    server = corosync(QUORATE, hostile_services={
        "votequorum": ServiceHostility.VQ_QUORUM_COUNT_HUGE})
    with server.netns_context(), VotequorumSession(timeout=5) as vq:
        vq.trackstart(Track.CURRENT)
        with pytest.raises(RemoteProtocolError):
            list(vq.events(timeout=2))


def test_a_hostility_for_the_wrong_service_is_refused() -> None:
    with pytest.raises(ValueError, match="does not exist in the cmap service"):
        FakeCorosyncServer(QUORATE, hostile_services={
            "cmap": ServiceHostility.VQ_QUORUM_COUNT_HUGE})


@pytest.mark.parametrize(("case", "message"), [
    ("cmap=nope", "--hostile-service: no case 'nope'"),
    ("quorum=response-short", "does not exist in the quorum service"),
])
def test_serve_refuses_a_bad_hostile_service(
    case: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from pyquorum.cli import main

    story = "pyquorum/fake/data/example-story.jsonl"
    assert main(["serve", "--script", story, "--hostile-service", case]) == 1
    assert message in capsys.readouterr().err
