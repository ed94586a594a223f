"""Live clusters for the status tests, one per configuration, shared by a module.

Each configuration is started once per module and torn down after its
tests (a module-scoped, parametrized fixture: pytest runs every test of
one configuration before starting the next), so the comparisons with
corosync-quorumtool cost a few seconds per configuration, not per test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pyquorum.testing.cluster import Cluster, ClusterUnavailable
from tests.support.live import require_corosync, require_live

Start = Callable[..., Cluster]


@pytest.fixture(scope="module")
def start_cluster() -> Iterator[Start]:
    """``start_cluster(nodes, start=None, **Cluster kwargs)``: a started cluster (only
    the node ids ``start`` running, if given), closed when the module is done."""
    made: list[Cluster] = []

    def start(nodes: int = 3, start: list[int] | None = None, **kwargs: Any) -> Cluster:
        require_corosync()
        cluster = Cluster(nodes, **kwargs)
        made.append(cluster)
        try:
            return cluster.start(start)
        except ClusterUnavailable as exc:
            require_live(exc)

    yield start
    errors = []
    for cluster in made:
        try:
            cluster.close(graceful=False)
        except Exception as exc:
            errors.append(exc)
    if errors:
        raise errors[0]
