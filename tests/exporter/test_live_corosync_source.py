"""CorosyncSource on a real corosync: the Source contract on both libqb transports,
every service tracked, and graceful degradation where votequorum is not the provider."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pyquorum.exporter.corosync_source import CorosyncSource
from pyquorum.exporter.inputs import CmapNodelist, KnetStats, NodeInfo, Tracked
from pyquorum.exporter.source import Source
from pyquorum.messages import votequorum as vq
from pyquorum.testing.cluster import Node, wait_until
from tests.support.exporter_source_contract import ALL_CHECKS
from tests.support.live import ClusterFactory


@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_the_source_contract(corosync_node_any: Node, check: Callable[[Source], None]) -> None:
    check(CorosyncSource(enter=corosync_node_any.netns_context))


def test_every_service_is_tracked_and_read(corosync_node_any: Node) -> None:
    source = CorosyncSource(enter=corosync_node_any.netns_context)
    try:
        picture = source.connect(5)
        assert source.unavailable == {}
        assert picture[-1] == Tracked(dict.fromkeys(
            ("quorum", "votequorum", "cmap", "cmap_stats"), True))
        assert any(isinstance(i, vq.QuorumNotification) for i in picture)
        local = [i for i in picture if isinstance(i, NodeInfo) and i.local]
        assert len(local) == 1 and local[0].info.nodeid == corosync_node_any.nodeid
        nodelist = [i for i in picture if isinstance(i, CmapNodelist)]
        assert len(nodelist) == 1 and "nodelist.node.0.nodeid" in nodelist[0].values
        stats = [i for i in source.refresh(5) if isinstance(i, KnetStats)]
        assert len(stats) == 1
        assert all(k.startswith("stats.knet.") for k in stats[0].values)
    finally:
        source.close()


def test_without_votequorum_the_quorum_service_still_gives_its_picture(
    cluster3: ClusterFactory,
) -> None:
    node = cluster3(nodes=1, quorum=False)[1]
    source = CorosyncSource(enter=node.netns_context)
    try:
        picture = source.connect(5)
        assert list(source.unavailable) == ["votequorum"]
        assert picture[-1] == Tracked({"quorum": True, "votequorum": False, "cmap": True,
                                       "cmap_stats": True})
        assert "quorum.provider" in source.unavailable["votequorum"]
        assert not any(isinstance(i, NodeInfo) for i in picture)
        assert any(isinstance(i, CmapNodelist) for i in picture)
        assert any(isinstance(i, KnetStats) for i in source.refresh(5))
    finally:
        source.close()


def test_a_renamed_node_is_picked_up_from_the_nodelist_tracker(cluster3: ClusterFactory) -> None:
    node = cluster3(nodes=1)[1]
    source = CorosyncSource(enter=node.netns_context)
    try:
        source.connect(5)
        # cmap refuses writes under nodelist.: a rename comes with a config reload
        text = node.config_path.read_text()
        assert f"name: {node.name}\n" in text
        node.config_path.write_text(text.replace(f"name: {node.name}\n", "name: renamed\n"))
        node.run(["corosync-cfgtool", "-R"], check=True)

        def renamed() -> CmapNodelist | None:
            for item in source.poll(0.2):
                if isinstance(item, CmapNodelist):
                    name = item.values.get("nodelist.node.0.name")
                    if name is not None and name.value == "renamed":
                        return item
            return None

        wait_until(renamed, 5, "the new name in a nodelist read")
    finally:
        source.close()
