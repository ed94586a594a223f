"""Stories (script version 2): the file format, what a state implies for votequorum
and cmap, and how steps change it."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyquorum.fake import Script, ScriptError, Step
from pyquorum.fake.cmap_view import cmap_keys
from pyquorum.fake.server import example_script
from pyquorum.fake.story import (
    Cluster,
    ClusterChange,
    Node,
    NodeQdevice,
    Votequorum,
    node_info,
    vq_members,
)
from pyquorum.messages._cmap_values import CmapValue
from pyquorum.messages.constants import CmapValueType, NodeState, VotequorumInfo
from pyquorum.messages.types import RingId
from tests.support.corosync_story import three_nodes

STORY = """
{"pyquorum_script": 2, "name": "s"}
{"members": [1, 2, 3], "quorate": true, "this_node": 2, "cluster_name": "c",
 "nodes": [{"nodeid": 1, "name": "a", "addrs": ["192.0.2.1", "198.51.100.1"]},
           {"nodeid": 2, "votes": 2, "qdevice": {"alive": true, "cast_vote": false,
                                                  "master_wins": true}},
           {"nodeid": 3, "expected_votes": 9}],
 "votequorum": {"two_node": true, "qdevice_name": "Qdevice", "qdevice_votes": 1},
 "cmap": {"x.u8": {"type": "u8", "value": 7}, "x.bin": {"type": "bin", "value": "00ff"}}}
{"at": 1, "members": [1, 2], "nodes": [{"nodeid": 1, "votes": 3}],
 "votequorum": {"expected_votes": 6}, "cmap": {"x.u8": null}}
{"at": 2, "nodes": [{"nodeid": 4, "name": "d"}], "remove_nodes": [3]}
""".replace("\n ", " ").replace("\n           ", " ")


def test_a_story_file_parses() -> None:
    story = Script.parse(STORY)
    assert story.version == 2 and story.name == "s"
    cluster = story.initial.cluster
    assert cluster is not None
    assert (cluster.this_node, cluster.cluster_name) == (2, "c")
    assert cluster.nodes[0] == Node(1, "a", ("192.0.2.1", "198.51.100.1"))
    assert cluster.nodes[1].qdevice == NodeQdevice(alive=True, cast_vote=False, master_wins=True)
    assert cluster.votequorum == Votequorum(two_node=True, qdevice_name="Qdevice",
                                            qdevice_votes=1)
    assert dict(cluster.cmap) == {"x.u8": CmapValue(CmapValueType.UINT8, 7),
                                  "x.bin": CmapValue.binary(b"\x00\xff")}
    first, second = story.changes
    assert first.membership and first.expected_changed and first.state.members == (1, 2)
    after = first.state.cluster
    assert after is not None and after.node(1) == Node(1, "a", ("192.0.2.1", "198.51.100.1"), 3)
    assert after.known == (1, 2, 3) and "x.u8" not in dict(after.cmap)
    # a cluster-only step: nothing for the quorum service, same ring
    assert not second.membership and not second.quorum_view and not second.expected_changed
    final = second.state.cluster
    assert final is not None and [n.nodeid for n in final.nodes] == [1, 2, 4]
    assert second.state.ring_id == first.state.ring_id


def test_a_story_dumps_and_parses_back() -> None:
    story = Script.parse(STORY)
    assert Script.parse(story.dumps()) == story
    example = Script.load("pyquorum/fake/data/example-story.jsonl")
    assert Script.parse(example.dumps()) == example


def test_version_1_scripts_read_unchanged_and_imply_a_cluster() -> None:
    script = example_script()
    assert script.version == 1 and script.initial.cluster is None
    assert '"pyquorum_script": 1' in script.dumps().splitlines()[0]
    story = script.as_story()
    cluster = story.initial.cluster
    assert cluster is not None and cluster.this_node == 1
    assert [(n.nodeid, n.name, n.addrs) for n in cluster.nodes] == [
        (i, f"node{i}", (f"192.0.2.{i}",)) for i in (1, 2, 3)]
    assert [c.state.members for c in story.changes] == [c.state.members for c in script.changes]
    assert story.as_story() is story


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('{"pyquorum_script": 2}\n{"members": [1], "quorate": true}', 2, "this_node"),
        ('{"pyquorum_script": 1}\n{"members": [1], "quorate": true, "this_node": 1}', 2,
         "this_node"),
        ('{"pyquorum_script": 2}\n{"members": [1], "quorate": true, "this_node": 1, '
         '"nodes": [{"name": "x"}]}', 2, "nodeid"),
        ('{"pyquorum_script": 2}\n{"members": [1], "quorate": true, "this_node": 1, '
         '"nodes": [{"nodeid": 1, "colour": 2}]}', 2, "colour"),
        ('{"pyquorum_script": 2}\n{"members": [1], "quorate": true, "this_node": 1, '
         '"votequorum": {"two_node": 1}}', 2, "true or false"),
        ('{"pyquorum_script": 2}\n{"members": [1], "quorate": true, "this_node": 1, '
         '"cmap": {"k": {"type": "u8", "value": 256}}}', 2, "u8 must be an integer"),
        ('{"pyquorum_script": 2}\n{"members": [1], "quorate": true, "this_node": 1, '
         '"cmap": {"k": {"type": "money", "value": 1}}}', 2, "unknown type"),
        ('{"pyquorum_script": 2}\n{"members": [1], "quorate": true, "this_node": 1}\n'
         '{"at": 1, "cmap": {"k": {"type": "bin", "value": "zz"}}}', 3, "hex"),
        ('{"pyquorum_script": 2}\n{"members": [1], "quorate": true, "this_node": 1, '
         '"nodes": [{"nodeid": 1}, {"nodeid": 1}]}', 2, "unique"),
        ('{"pyquorum_script": 2}\n{"members": [1], "quorate": true, "this_node": 1, '
         '"votequorum": null}\n{"at": 1, "votequorum": {"expected_votes": 2}}', 3,
         "need a story with votequorum"),
    ],
)
def test_story_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ScriptError, match=re.escape(message)) as info:
        Script.parse(text, source="s.jsonl")
    assert f"s.jsonl:{line}" in str(info.value)


def test_node_info_numbers() -> None:
    cluster = three_nodes()
    info = node_info(cluster, (1, 2, 3), True, 0)
    assert info is not None
    assert (info.nodeid, info.state, info.expected_votes, info.highest_expected,
            info.total_votes, info.quorum, info.flags) == (1, NodeState.MEMBER, 3, 3, 3, 2,
                                                          VotequorumInfo.QUORATE)
    gone = node_info(cluster, (1, 2), False, 3)
    assert gone is None  # never a member in this view: votequorum does not know it
    known = replace(cluster, known=(1, 2, 3))
    dead = node_info(known, (1, 2), False, 3)
    assert dead is not None and dead.state == NodeState.DEAD and dead.total_votes == 2
    assert dead.flags == VotequorumInfo(0)
    two = ClusterChange.of(remove_nodes=(3,), votequorum={"two_node": True}).apply(cluster)
    alone = node_info(two, (1,), True, 0)
    assert alone is not None and alone.quorum == 1 and alone.expected_votes == 2
    assert alone.flags == VotequorumInfo.TWONODE | VotequorumInfo.QUORATE
    stated = ClusterChange.of(votequorum={"quorum": 7, "highest_expected": 9}).apply(cluster)
    numbers = node_info(stated, (1, 2, 3), True, 2)
    assert numbers is not None and (numbers.quorum, numbers.highest_expected) == (7, 9)


def test_vq_members_lists_the_dead_and_the_device_in_corosyncs_order() -> None:
    """The other nodes by id (dead ones too), then this node, then the device
    (docs/votequorum.md §3.4)."""
    cluster = ClusterChange.of(nodes={1: {"qdevice": NodeQdevice(alive=False)}}).apply(
        replace(three_nodes(), known=(1, 2, 3)))
    assert vq_members(cluster, (2, 1)) == ((2, 1), (3, 2), (1, 1), (0, 0))
    assert vq_members(replace(cluster, this_node=2), (3, 1, 2)) == (
        (1, 1), (3, 1), (2, 1))  # node 2 has no device
    assert vq_members(replace(cluster, this_node=3), (1, 2, 3)) == (
        (1, 1), (2, 1), (3, 1))


def test_cmap_keys_of_a_state() -> None:
    cluster = ClusterChange.of(
        nodes={2: {"addrs": ("192.0.2.2", "198.51.100.2")}},
        votequorum={"wait_for_all": True},
        cmap={"totem.cluster_name": CmapValue.string("renamed"),
              "my.key": CmapValue(CmapValueType.INT64, -1)},
    ).apply(three_nodes())
    story = Script.build([1, 2], True, RingId(1, 8), cluster=replace(cluster, known=(1, 2, 3)))
    keys = {k: (v.type, v.value) for k, v in cmap_keys(story.initial).items()}
    u8, u32, u64, s = (CmapValueType.UINT8, CmapValueType.UINT32, CmapValueType.UINT64,
                       CmapValueType.STRING)
    assert keys == {
        "my.key": (CmapValueType.INT64, -1),
        "nodelist.local_node_pos": (u32, 0),
        "nodelist.node.0.name": (s, "node1"), "nodelist.node.0.nodeid": (u32, 1),
        "nodelist.node.0.ring0_addr": (s, "198.18.0.1"),
        "nodelist.node.1.name": (s, "node2"), "nodelist.node.1.nodeid": (u32, 2),
        "nodelist.node.1.ring0_addr": (s, "192.0.2.2"),
        "nodelist.node.1.ring1_addr": (s, "198.51.100.2"),
        "nodelist.node.2.name": (s, "node3"), "nodelist.node.2.nodeid": (u32, 3),
        "nodelist.node.2.ring0_addr": (s, "198.18.0.3"),
        "quorum.provider": (s, "corosync_votequorum"),
        "quorum.wait_for_all": (u8, 1),
        "runtime.members.1.config_version": (u64, 0),
        "runtime.members.1.ip": (s, "r(0) ip(198.18.0.1) "),
        "runtime.members.1.join_count": (u32, 1),
        "runtime.members.1.status": (s, "joined"),
        "runtime.members.2.config_version": (u64, 0),
        "runtime.members.2.ip": (s, "r(0) ip(192.0.2.2) r(1) ip(198.51.100.2) "),
        "runtime.members.2.join_count": (u32, 1),
        "runtime.members.2.status": (s, "joined"),
        "runtime.members.3.config_version": (u64, 0),
        "runtime.members.3.ip": (s, "r(0) ip(198.18.0.3) "),
        "runtime.members.3.join_count": (u32, 1),
        "runtime.members.3.status": (s, "left"),
        "runtime.votequorum.ev_barrier": (u32, 3),
        "runtime.votequorum.highest_node_id": (u32, 2),
        "runtime.votequorum.lowest_node_id": (u32, 1),
        "runtime.votequorum.this_node_id": (u32, 1),
        "runtime.votequorum.two_node": (u8, 0),
        "runtime.votequorum.wait_for_all_status": (u8, 0),
        "totem.cluster_name": (s, "renamed"),
    }
    # A story with its own quorum configuration gets no option keys derived.
    configured = ClusterChange.of(cmap={"quorum.two_node": CmapValue(u8, 1)}).apply(cluster)
    own = cmap_keys(replace(story.initial, cluster=configured))
    assert [k for k in own if k.startswith("quorum.")] == ["quorum.provider", "quorum.two_node"]
    without = replace(story.initial, cluster=replace(cluster, votequorum=None))
    assert not [k for k in cmap_keys(without) if "quorum" in k]


_names = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=8)
_nodes = st.builds(
    Node, st.integers(1, 300), st.none() | _names,
    st.lists(st.just("192.0.2.9"), max_size=2).map(tuple), st.integers(0, 5),
    st.none() | st.integers(0, 9), st.none() | st.builds(NodeQdevice, st.booleans(),
                                                          st.booleans(), st.booleans()),
)
_values = st.one_of(
    st.builds(CmapValue, st.just(CmapValueType.UINT32), st.integers(0, 2**32 - 1)),
    st.builds(CmapValue, st.just(CmapValueType.INT8), st.integers(-128, 127)),
    st.builds(CmapValue.string, _names),
    st.builds(CmapValue.binary, st.binary(max_size=4)),
    st.builds(CmapValue, st.just(CmapValueType.DOUBLE), st.floats(allow_nan=False)),
)


@given(
    nodes=st.lists(_nodes, max_size=4, unique_by=lambda n: n.nodeid),
    vq=st.none() | st.builds(Votequorum, st.none() | st.integers(0, 9), st.none(),
                             st.none(), st.booleans(), st.booleans()),
    keys=st.dictionaries(st.sampled_from(["a.b", "c"]), _values),
    changes=st.lists(st.tuples(st.none() | st.lists(st.integers(1, 300), max_size=3),
                               st.none() | st.booleans(),
                               st.dictionaries(st.sampled_from(["a.b", "d"]),
                                               st.none() | _values)), max_size=3),
)
def test_any_story_round_trips(nodes: list[Node], vq: Votequorum | None,
                               keys: dict[str, CmapValue],
                               changes: list[tuple[list[int] | None, bool | None,
                                                   dict[str, CmapValue | None]]]) -> None:
    members = tuple(n.nodeid for n in nodes[:2])
    cluster = Cluster(tuple(nodes), members[0] if members else 1, votequorum=vq,
                      cmap=tuple(keys.items()))
    steps = [
        Step(float(i), members=tuple(m) if m is not None else None, quorate=q,
             cluster=ClusterChange.of(cmap=c) if c else None)
        for i, (m, q, c) in enumerate(changes) if m is not None or q is not None or c
    ]
    story = Script.build(members, True, RingId(1, 4), cluster=cluster, steps=steps)
    assert Script.parse(story.dumps()) == story
