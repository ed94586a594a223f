"""The state reads the keys as a live corosync 3.1.7 has them.

``tests/exporter/data/`` holds ``corosync-cmapctl -m stats stats.knet.node`` and
``corosync-cmapctl nodelist.node.`` from node 1 of a 3-node test cluster
(pyquorum.testing.cluster), as printed: ``key (type) = value``.
"""

from __future__ import annotations

import re
from pathlib import Path

from pyquorum.exporter.state import parse_knet, parse_nodelist
from pyquorum.messages.cmap import CmapValue
from pyquorum.messages.constants import CmapValueType

REPO = Path(__file__).resolve().parents[2]
_LINE = re.compile(r"(\S+) \((u8|u32|u64|str)\) = (.*)")
_TYPES = {"u8": CmapValueType.UINT8, "u32": CmapValueType.UINT32,
          "u64": CmapValueType.UINT64, "str": CmapValueType.STRING}


def read(name: str) -> dict[str, CmapValue]:
    values = {}
    for line in (REPO / name).read_text().splitlines():
        match = _LINE.fullmatch(line)
        assert match, line
        key, kind, text = match.groups()
        values[key] = CmapValue(_TYPES[kind], text if kind == "str" else int(text))
    return values


def test_the_live_stats_map() -> None:
    values = read("tests/exporter/data/cmapctl-stats-knet.txt")
    links = parse_knet(values)
    assert set(links) == {(1, 0), (2, 0), (3, 0)}
    for link in links.values():
        assert link.enabled is True and link.connected is True
        assert link.up_count is not None and link.down_count is not None
    # every number the state keeps is the one cmapctl printed
    remote = links[(2, 0)]
    key = "stats.knet.node2.link0."
    assert remote.latency_ave_us == values[key + "latency_ave"].value
    assert remote.latency_min_us == values[key + "latency_min"].value
    assert remote.latency_max_us == values[key + "latency_max"].value
    assert remote.latency_samples == values[key + "latency_samples"].value
    assert remote.down_count == values[key + "down_count"].value


def test_the_live_nodelist() -> None:
    nodes = parse_nodelist(read("tests/exporter/data/cmapctl-nodelist.txt"))
    assert {n: (c.name, dict(c.addresses)) for n, c in nodes.items()} == {
        1: ("node1", {0: "198.18.0.1"}), 2: ("node2", {0: "198.18.0.2"}),
        3: ("node3", {0: "198.18.0.3"}),
    }
