"""What the fake corosync's tests share: a 3-node cluster, quorumtool's lines."""

from __future__ import annotations

from pyquorum.fake.story import Cluster, Node, Votequorum


def three_nodes(**vq: object) -> Cluster:
    """node1..node3 at 198.18.0.1-3 (the harness's addresses), this node 1."""
    return Cluster(
        tuple(Node(i, f"node{i}", (f"198.18.0.{i}",)) for i in (1, 2, 3)), 1,
        cluster_name="story", votequorum=Votequorum(**vq),  # type: ignore[arg-type]
    )


def tool_lines(text: str) -> list[str]:
    """corosync-quorumtool's output without its Date line (the one line that differs)."""
    return [line for line in text.splitlines() if not line.startswith("Date:")]
