"""Every fixture capture served by the whole fake corosync, against what was printed live.

The captures of fixtures/captures (version 1: the scenario walk's watches;
version 2: ``sessions/`` and ``qdevice/``, multi-service sessions) become
stories (:func:`pyquorum.fake.capture_story.story_from_capture`) served by
:class:`~pyquorum.testing.FakeCorosyncServer` in a private namespace.  Then:

* ``pyquorum status`` prints what the recorded status printed live;
* ``pyquorum watch [--votequorum] --json`` prints the recorded events;
* the C oracles get the recorded answers: votequorum GETINFO of every node
  the status asked about, cmap GET of every key it read, libquorum's
  snapshot; libvotequorum's tracking gets the recorded votequorum events;
* ``corosync-quorumtool -s`` and ``-l`` print what the tool printed on the
  recorded node at that moment (``<name>.tools.json``), Date line aside.

Beyond the states recorded live, ``record --status`` against the fake serving
a story (inquorate, a device not alive on this node, two_node with
wait_for_all, uneven votes and expected votes), served again, must give the
tool, pyquorum and libvotequorum the same answers as the story did.

What differs, and why (docs/fake.md §4.3): the events of two services
are merged by ``watch`` in the order they are read, which need not be the
live interleaving, so each service's events are compared in their own
order; a reconnecting watch's ``connection_lost`` and ``reconnected`` lines
come from a restart that the fake does not make.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from pyquorum import CmapSession, Model, QuorumSession, Track
from pyquorum.capture import (
    Capture,
    CaptureHeader,
    CaptureWriter,
    Channel,
    RecordingConnection,
    decoded,
    read_capture,
    write_capture,
)
from pyquorum.fake.capture_story import QDEVICE_NAME, capture_snapshot, story_from_capture
from pyquorum.fake.replay import script_from_capture
from pyquorum.fake.script import Script, ScriptError
from pyquorum.fake.story import Cluster, ClusterChange, NodeQdevice, Votequorum
from pyquorum.formatting import event_to_dict
from pyquorum.ipc.client.connection import IpcConnection
from pyquorum.messages import cmap, votequorum
from pyquorum.messages._cmap_values import CmapValue
from pyquorum.messages.constants import CmapTrack, CmapValueType
from pyquorum.messages.types import RingId
from pyquorum.testing.fake import FakeCorosyncServer
from tests.oracle import build_oracle, parse_lines, run_oracle
from tests.support.corosync_story import three_nodes, tool_lines
from tests.support.fake import CorosyncFactory
from tests.support.live import require_live
from tests.support.oracles import require_oracles

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "fixtures" / "captures"
V1 = sorted(p.stem for p in CAPTURES.glob("*.pqcap"))
V2 = sorted(str(p.relative_to(CAPTURES).with_suffix("")) for p in CAPTURES.glob("*/*.pqcap"))
STATUSES = [n for n in V2 if n.split("/")[1].startswith("status")]
WATCHES = [n for n in V2 if n.split("/")[1].startswith("watch")]
#: The captures next to which corosync-quorumtool's outputs were saved.
WITH_TOOLS = [n for n in V2 if (CAPTURES / f"{n}.tools.json").exists()]
PYQUORUM = (sys.executable, "-m", "pyquorum")
#: How much faster than recorded the timelines are played.
SPEED = 40.0
#: The same for a client of two services that subscribes to them one after the other.
WATCH_SPEED = 2.0
QUORUM_EVENTS = ("nodelist", "quorum")
VOTEQUORUM_EVENTS = ("votequorum_nodelist", "votequorum_quorum", "expected_votes")
STATES = {"member": 1, "dead": 2, "leaving": 3}


def _printed(name: str) -> tuple[str, list[str]]:
    """What the live command printed next to capture ``name``, and its options."""
    for suffix, options in ((".json", ["--json"]), (".jsonl", ["--json"]), (".out", [])):
        path = CAPTURES / f"{name}{suffix}"
        if path.exists():
            return path.read_text(), options
    raise AssertionError(f"no printed output next to {name}")


def _serve(corosync: CorosyncFactory, name: str, speed: float = SPEED) -> FakeCorosyncServer:
    capture = read_capture(CAPTURES / f"{name}.pqcap")
    transport = capture.connections[0].transport
    return corosync(story_from_capture(capture), transport=transport, speed=speed)


def _normal(event: dict[str, Any]) -> dict[str, Any]:
    """An event as both sides can agree on it: node states as numbers (in
    corosync's order, docs/votequorum.md §3.4), no context."""
    event = {k: v for k, v in event.items() if k != "context"}
    if event["type"] == "votequorum_quorum":
        event["nodes"] = [(n["nodeid"], STATES.get(n["state"], n["state"]))
                          for n in event["nodes"]]
    return event


def _by_service(events: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    norm = [_normal(e) for e in events]
    return ([e for e in norm if e["type"] in QUORUM_EVENTS],
            [e for e in norm if e["type"] in VOTEQUORUM_EVENTS])


# -- the stories (no daemon, no namespace) --------------------------------------------------


def test_there_are_v1_and_v2_fixtures_with_the_tools_outputs() -> None:
    assert len(V1) == 8 and len(V2) == 7
    assert WITH_TOOLS == ["qdevice/status", "qdevice/status-text", "qdevice/watch-votequorum"]


def test_a_recorded_status_becomes_the_nodes_story() -> None:
    story = story_from_capture(CAPTURES / "qdevice" / "status.pqcap")
    assert (story.version, story.steps) == (2, ())
    assert (story.initial.members, story.initial.quorate) == ((1, 2, 3), True)
    assert story.initial.ring_id == RingId(1, 9)
    cluster = story.initial.cluster
    assert cluster is not None and cluster.this_node == 1
    # Names and addresses from cmap's nodelist, the device from each member's GETINFO.
    assert [(n.nodeid, n.name, n.addrs, n.votes) for n in cluster.nodes] == [
        (i, f"node{i}", (f"198.18.0.{i}",), 1) for i in (1, 2, 3)]
    assert all(n.qdevice is not None and n.qdevice.alive and n.qdevice.cast_vote
               for n in cluster.nodes)
    vq = cluster.votequorum
    assert vq is not None
    assert (vq.expected_votes, vq.highest_expected, vq.quorum) == (4, 4, 3)
    assert (vq.qdevice_name, vq.qdevice_votes) == (QDEVICE_NAME, 1)


def test_a_status_snapshot_holds_what_status_read() -> None:
    capture = read_capture(CAPTURES / "qdevice" / "status.pqcap")
    snapshot = capture_snapshot(capture)
    assert snapshot is not None
    assert json.loads(_printed("qdevice/status")[0])["members"] == list(snapshot.status.members)
    assert snapshot.cmap["quorum.provider"].value == "corosync_votequorum"
    assert snapshot.cmap["nodelist.node.2.ring0_addr"].value == "198.18.0.3"
    assert snapshot.expected_votes == {1: 4, 2: 4, 3: 4}
    assert capture_snapshot(read_capture(CAPTURES / "qdevice" / "watch-votequorum.pqcap")) is None


def test_a_votequorum_watch_becomes_a_timeline_on_the_captures_clock() -> None:
    story = story_from_capture(CAPTURES / "qdevice" / "watch-votequorum.pqcap")
    cluster = story.initial.cluster
    assert cluster is not None and cluster.votequorum is not None
    # votequorum's first quorum event listed node 0: a device, on every node.
    assert cluster.votequorum.qdevice_votes == 1
    assert all(n.qdevice is not None for n in cluster.nodes)
    expected = [dict(s.cluster.votequorum)["expected_votes"] for s in story.steps
                if s.cluster]
    assert expected == [5, 4]
    assert [s.members for s in story.steps] == [None, None, (1, 2)]
    assert story.steps[-1].left == (3,)
    # The recorded gaps: the second expected change came 1.6 s after the first,
    # node 3 left 0.9 s later (the capture's times, not the order alone).
    gaps = [round(b.at - a.at, 1) for a, b in zip(story.steps, story.steps[1:], strict=False)]
    assert gaps == [1.6, 0.9]
    final = story.final.cluster
    assert final is not None and final.votequorum is not None
    assert final.votequorum.expected_votes == 4


def test_a_quorum_only_capture_tells_the_quorum_story() -> None:
    for name in ("shm-node1-v1", "sessions/watch-reconnect"):
        path = CAPTURES / f"{name}.pqcap"
        assert story_from_capture(path) == script_from_capture(path)


def test_the_story_of_a_capture_round_trips() -> None:
    """The story's file parses back to the same story; a capture written back
    tells the same story."""
    for name in V2:
        capture = read_capture(CAPTURES / f"{name}.pqcap")
        story = story_from_capture(capture)
        assert Script.parse(story.dumps()) == story, name


def test_a_capture_written_again_tells_the_same_story(tmp_path: Path) -> None:
    for name in ("qdevice/status", "qdevice/watch-votequorum"):
        capture = read_capture(CAPTURES / f"{name}.pqcap")
        write_capture(tmp_path / "again.pqcap", capture)
        again = read_capture(tmp_path / "again.pqcap")
        assert story_from_capture(again) == story_from_capture(capture)


def test_a_status_capture_without_its_cmap_answers_is_an_error() -> None:
    capture = read_capture(CAPTURES / "qdevice" / "status.pqcap")
    cut = Capture(capture.header, tuple(r for r in capture.records if not (
        r.connection == capture.connections_of("cmap")[0].id and r.channel is Channel.RESPONSE
    )), capture.connections)
    with pytest.raises(ScriptError, match="the recorded status does not play back"):
        story_from_capture(cut)


def test_a_damaged_capture_names_its_record(tmp_path: Path) -> None:
    data = bytearray((CAPTURES / "qdevice" / "status.pqcap").read_bytes())
    data[-40] ^= 0xFF
    damaged = tmp_path / "damaged.pqcap"
    damaged.write_bytes(bytes(data))
    with pytest.raises(ScriptError, match=r"damaged\.pqcap.*record.*at byte"):
        story_from_capture(damaged)


# -- served: pyquorum -----------------------------------------------------------------------


@pytest.mark.parametrize("name", STATUSES)
def test_status_against_the_served_capture_prints_the_live_status(
    corosync: CorosyncFactory, name: str
) -> None:
    server = _serve(corosync, name)
    text, options = _printed(name)
    proc = server.run([*PYQUORUM, "status", *options], capture_output=True, text=True,
                      timeout=30)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout == text


@pytest.mark.parametrize("name", WATCHES)
def test_watch_against_the_served_capture_prints_the_recorded_events(
    corosync: CorosyncFactory, name: str
) -> None:
    capture = read_capture(CAPTURES / f"{name}.pqcap")
    # The clock starts at watch's quorum TRACKSTART; its votequorum one follows a
    # moment later (0.17 s live), so the first step (0.9 s) must not come sooner.
    server = _serve(corosync, name, speed=WATCH_SPEED)
    recorded = [json.loads(line) for line in _printed(name)[0].splitlines()]
    recorded = [e for e in recorded if e["type"] not in ("connection_lost", "reconnected")]
    options = ["--votequorum"] if "--votequorum" in capture.header.command else []
    # Until 2 s pass without an event (watch --votequorum takes no --count).
    proc = server.run([*PYQUORUM, "watch", "--json", *options, "--timeout", "2"],
                      capture_output=True, text=True, timeout=60)
    assert (proc.returncode, proc.stderr) == (0, "")
    served = [json.loads(line) for line in proc.stdout.splitlines()]
    assert _by_service(served) == _by_service(recorded)


@pytest.mark.parametrize("name", V1)
def test_a_v1_capture_served_whole_gives_pyquorum_the_recorded_events(
    corosync: CorosyncFactory, name: str
) -> None:
    capture = read_capture(CAPTURES / f"{name}.pqcap")
    server = corosync(story_from_capture(capture), transport=capture.header.transport,
                      speed=SPEED)
    recorded = [json.loads(line) for line in (CAPTURES / f"{name}.jsonl").read_text()
                .splitlines()]
    seen: list[dict[str, Any]] = []
    with server.session(capture.header.model, timeout=5) as session:
        session.trackstart(Track.CURRENT | Track.CHANGES)
        for event in session.events(timeout=5):
            seen.append(event_to_dict(event))
            if len(seen) == len(recorded):
                break
    assert seen == recorded


# -- served: the stock tool -----------------------------------------------------------------


def _tools(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((CAPTURES / f"{name}.tools.json").read_text())
    return result


@pytest.mark.parametrize("name", WITH_TOOLS)
def test_corosync_quorumtool_against_the_served_capture_prints_what_it_printed_live(
    corosync: CorosyncFactory, name: str
) -> None:
    """After the capture's timeline (a watch's: its last state, when the tools ran)."""
    server = _serve(corosync, name)
    server.start_timeline()
    server.wait_finished(timeout=30)
    for args, live in _tools(name).items():
        proc = server.run(["corosync-quorumtool", *args.split()], capture_output=True,
                          text=True, timeout=30)
        assert (proc.returncode, proc.stderr) == (live["exit"], "")
        assert tool_lines(proc.stdout) == tool_lines(live["stdout"]), args


# -- served: the C oracles ------------------------------------------------------------------


@pytest.fixture(scope="module")
def oracles() -> None:
    require_oracles("quorum", "votequorum", "cmap")


def _exchanges(capture: Capture, service: str) -> list[tuple[Any, Any]]:
    pending: dict[int, Any] = {}
    pairs = []
    for conn, record, message in decoded(capture, service):
        if record.channel is Channel.REQUEST:
            pending[conn.id] = message
        elif record.channel is Channel.RESPONSE:
            pairs.append((pending.pop(conn.id), message))
    return pairs


@pytest.mark.usefixtures("oracles")
@pytest.mark.parametrize("name", STATUSES)
def test_the_c_libraries_get_the_recorded_answers_from_a_served_status(
    corosync: CorosyncFactory, name: str
) -> None:
    capture = read_capture(CAPTURES / f"{name}.pqcap")
    server = _serve(corosync, name)
    getinfos = [(q.nodeid, r) for q, r in _exchanges(capture, "votequorum")
                if isinstance(q, votequorum.GetInfoRequest)]
    assert getinfos
    lines = run_oracle("votequorum", server, ["init", *(f"getinfo {n}" for n, _ in getinfos)])
    assert lines[0] == {"call": "init", "rc": 1}
    for line, (_, r) in zip(lines[1:], getinfos, strict=True):
        assert line == {
            "call": "getinfo", "rc": r.error, "node_id": r.nodeid, "node_state": int(r.state),
            "node_votes": r.votes, "node_expected_votes": r.expected_votes,
            "highest_expected": r.highest_expected, "total_votes": r.total_votes,
            "quorum": r.quorum, "flags": int(r.flags), "qdevice_votes": r.qdevice_votes,
            "qdevice_name": r.qdevice_name}
    gets = [(q.key, r) for q, r in _exchanges(capture, "cmap") if isinstance(q, cmap.GetRequest)]
    assert gets
    lines = run_oracle("cmap", server, ["init", *(f"get {key}" for key, _ in gets)])
    for line, (key, r) in zip(lines[1:], gets, strict=True):
        assert (line["key"], line["rc"]) == (key, r.error)
        if r.value is not None:
            assert (line["type"], line["value"]) == (int(r.value.type), r.value.value), key
    # libquorum's snapshot: the recorded quorum connection's first one.
    recorded = [event_to_dict(m) for c, rec, m in decoded(capture, "quorum")
                if rec.channel is Channel.EVENT and c.id == capture.connections_of("quorum")[0].id]
    proc = server.run([str(build_oracle("quorum")), "watch", "v1", str(int(Track.CURRENT)), "2",
                       "5000"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert parse_lines(proc.stdout)[2:] == recorded[:2]


@pytest.mark.usefixtures("oracles")
@pytest.mark.parametrize("name", [n for n in WATCHES if "votequorum" in n])
def test_libvotequorum_tracking_a_served_watch_gets_the_recorded_events(
    corosync: CorosyncFactory, name: str
) -> None:
    server = _serve(corosync, name)
    recorded = [json.loads(line) for line in _printed(name)[0].splitlines()]
    expected = _by_service(recorded)[1]
    flags = int(Track.CURRENT | Track.CHANGES)
    proc = server.run([str(build_oracle("votequorum")), "watch", "7", str(flags),
                       str(len(expected)), "10000"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = parse_lines(proc.stdout)
    assert lines[:2] == [{"call": "init", "rc": 1}, {"call": "trackstart", "rc": 1}]
    assert all(line["context"] == 7 for line in lines[2:])
    assert [_normal(line) for line in lines[2:]] == expected


def test_serve_capture_serves_every_service_to_the_stock_tool() -> None:
    """``pyquorum serve --capture`` itself, in a namespace of this test's own."""
    import subprocess

    if os.geteuid() != 0:
        require_live("ip netns needs root")
    name = "qdevice/status-text"
    ns = f"pyquorum-capture-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    proc = None
    try:
        proc = subprocess.Popen(["ip", "netns", "exec", ns, *PYQUORUM, "serve", "--capture",
                                 str(CAPTURES / f"{name}.pqcap")], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, cwd=ROOT)
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("serving capture status-text.pqcap on @quorum")
        tool = subprocess.run(["ip", "netns", "exec", ns, "corosync-quorumtool", "-s"],
                              capture_output=True, text=True, timeout=30)
        status = subprocess.run(["ip", "netns", "exec", ns, *PYQUORUM, "status"],
                                capture_output=True, text=True, timeout=30)
    finally:
        if proc is not None:
            proc.terminate()
            proc.communicate(timeout=30)
        subprocess.run(["ip", "netns", "delete", ns], check=False)
    assert proc.returncode == 0
    assert tool.returncode == 0 and tool_lines(tool.stdout) == tool_lines(
        _tools(name)["-s"]["stdout"])
    assert status.stdout == _printed(name)[0]


def test_a_story_of_the_quorum_view_only_is_still_served_whole(
    corosync: CorosyncFactory,
) -> None:
    """A version-1 capture served whole: votequorum and cmap answer from the cluster it
    implies (so status works), and the quorum view is the recorded one."""
    name = "shm-node1-v1"
    server = _serve_v1(corosync, name)
    proc = server.run([*PYQUORUM, "status", "--json"], capture_output=True, text=True,
                      timeout=30)
    status = json.loads(proc.stdout)
    first = json.loads((CAPTURES / f"{name}.jsonl").read_text().splitlines()[1])
    assert (status["members"], status["ring_id"], status["quorate"]) == (
        first["members"], first["ring_id"], first["quorate"])
    assert status["provider"] == "corosync_votequorum"


def _serve_v1(corosync: CorosyncFactory, name: str) -> FakeCorosyncServer:
    capture = read_capture(CAPTURES / f"{name}.pqcap")
    return corosync(story_from_capture(capture), transport=capture.header.transport,
                    speed=SPEED)




# -- recorded from the fake, served again ---------------------------------------------------


def _device(cluster: Cluster, **nodes: NodeQdevice | None) -> Cluster:
    cluster = replace(cluster, votequorum=replace(cluster.votequorum or Votequorum(),
                                                  qdevice_name="Qdevice", qdevice_votes=1))
    return ClusterChange.of(nodes={int(k[1:]): {"qdevice": v} for k, v in nodes.items()}
                            ).apply(cluster)


ROUND_TRIPS = {
    "quorate": Script.build([1, 2, 3], True, RingId(1, 8), cluster=three_nodes()),
    "inquorate": Script.build([1], False, RingId(1, 20),
                              cluster=replace(three_nodes(), known=(1, 2, 3))),
    "device-not-alive-here": Script.build([1, 2, 3], True, RingId(2, 12), cluster=_device(
        three_nodes(), n1=NodeQdevice(alive=False, cast_vote=False), n2=NodeQdevice(),
        n3=NodeQdevice())),
    "wait-for-all-two-node": Script.build([1, 2], True, RingId(1, 4), cluster=replace(
        three_nodes(two_node=True, wait_for_all=True, expected_votes=2),
        nodes=three_nodes().nodes[:2])),
    "votes-and-expected": Script.build([1, 2, 3], True, RingId(1, 8), cluster=ClusterChange.of(
        nodes={2: {"votes": 3}, 1: {"expected_votes": 6}}).apply(three_nodes())),
}


@pytest.mark.usefixtures("oracles")
@pytest.mark.parametrize("story", sorted(ROUND_TRIPS))
def test_a_status_recorded_from_the_fake_serves_the_same_state(
    corosync: CorosyncFactory, tmp_path: Path, story: str
) -> None:
    """``record --status`` against a story, served again: the stock tool, pyquorum and
    libvotequorum's GETINFO of every node give the same against both (beyond what the
    fixtures recorded live)."""
    original = corosync(ROUND_TRIPS[story])
    path = tmp_path / "status.pqcap"
    recorded = original.run([*PYQUORUM, "record", "-o", str(path), "--status", "--json"],
                            capture_output=True, text=True, timeout=30)
    assert recorded.returncode in (0, 2), recorded.stderr
    served = corosync(story_from_capture(path))
    for args in (("-s",), ("-l",), ("-s", "-p")):
        before = original.run(["corosync-quorumtool", *args], capture_output=True, text=True)
        after = served.run(["corosync-quorumtool", *args], capture_output=True, text=True)
        assert (after.returncode, tool_lines(after.stdout)) == (
            before.returncode, tool_lines(before.stdout)), args
    again = served.run([*PYQUORUM, "status", "--json"], capture_output=True, text=True)
    assert (again.returncode, again.stdout) == (recorded.returncode, recorded.stdout)
    # Of the members: status reads no other node, so which others votequorum has
    # heard of (dead ones, docs/fake.md §4.3) is not in the capture.
    members = ROUND_TRIPS[story].initial.members
    getinfos = ["init", *(f"getinfo {n}" for n in (0, *members))]
    assert run_oracle("votequorum", served, getinfos) == run_oracle(
        "votequorum", original, getinfos)


def test_cmap_answers_and_tracked_changes_become_the_storys_keys(
    corosync: CorosyncFactory, tmp_path: Path
) -> None:
    """A session that GETs cmap keys and tracks a prefix while they change: its
    capture's story holds the keys as they were, then each change at its time, so
    the served fake gives a tracker the same changes."""
    story = Script.build([1, 2, 3], True, RingId(1, 8), cluster=replace(
        three_nodes(), cmap=(("pqtest.a", CmapValue(CmapValueType.UINT32, 5)),)))
    original = corosync(story)
    path = tmp_path / "cmap.pqcap"
    changes: list[dict[str, CmapValue | None]] = [
        {"pqtest.a": CmapValue(CmapValueType.UINT32, 6)},
        {"pqtest.b": CmapValue.string("x")},
        {"pqtest.a": None},
    ]
    recorded: list[tuple[str, str, Any]] = []
    with original.netns_context(), CaptureWriter(
            path, CaptureHeader(model=Model.V1, command=("watch",))) as writer:
        quorum = QuorumSession(Model.V1, timeout=5, connection=RecordingConnection(
            IpcConnection.connect("quorum", timeout=5), writer, service="quorum"))
        session = CmapSession(timeout=5, connection=RecordingConnection(
            IpcConnection.connect("cmap", timeout=5), writer, service="cmap"))
        with quorum, session:
            quorum.trackstart(Track.CURRENT | Track.CHANGES)
            assert len(list(quorum.events(timeout=0.2))) == 2
            assert session.get("pqtest.a").value == 5
            session.track_add("pqtest.", CmapTrack.ADD | CmapTrack.MODIFY | CmapTrack.DELETE
                              | CmapTrack.PREFIX)
            for change in changes:
                original.call(partial(original.corosync.apply_cmap, change))
                event = next(iter(session.events(timeout=5)))
                recorded.append((str(event.event), event.key, event.new))
    served_story = story_from_capture(path)
    cluster = served_story.initial.cluster
    assert cluster is not None and cluster.extra_keys == {
        "pqtest.a": CmapValue(CmapValueType.UINT32, 5)}
    assert [dict(s.cluster.cmap) for s in served_story.steps if s.cluster] == changes
    served = corosync(served_story, speed=SPEED)
    replayed: list[tuple[str, str, Any]] = []
    with served.netns_context(), CmapSession(timeout=5) as session:
        assert session.get("pqtest.a").value == 5
        session.track_add("pqtest.", CmapTrack.ADD | CmapTrack.MODIFY | CmapTrack.DELETE
                          | CmapTrack.PREFIX)
        served.start_timeline()
        for event in session.events(timeout=5):
            replayed.append((str(event.event), event.key, event.new))
            if len(replayed) == len(recorded):
                break
    assert replayed == recorded
