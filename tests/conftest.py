"""Fixtures for the whole suite: live corosync nodes and clusters, and leak checks.

Live fixtures start real corosync daemons in network namespaces through
:mod:`pyquorum.testing.cluster`.  Where that is impossible (not root, no
corosync) they skip, unless ``PYQUORUM_REQUIRE_COROSYNC=1`` (CI), where a
live test that cannot run is a failure.  Every test that uses one of them
gets the ``corosync`` marker, so ``-m "not corosync"`` deselects them.

Naming rule: a module holding any test marked ``corosync`` (by these fixtures or
explicitly) is named ``test_live_*.py``, and collection fails otherwise; such a
module may also hold a few tests of the same subject that run without corosync
(they share its helpers), and the marker, not the name, selects what runs.
Shared helpers live in tests/support; this file keeps fixtures and hooks.

Speed: a node costs ~0.4 s to start and ~1 s to stop cleanly, so the single
nodes behind ``corosync_node`` and ``corosync_node_any`` live for the whole
session and are reset (resumed, restarted if a test stopped or killed them)
before each test.  Multi-node clusters from ``cluster3`` are per test,
because such tests change the membership on purpose.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from pyquorum.testing.cluster import (
    Cluster,
    ClusterUnavailable,
    Node,
    TransportName,
    close_all,
    leftovers,
    sweep_stale,
)
from tests.support.live import ClusterFactory, NodePool, require_live

#: Fixtures that start corosync; tests using them are marked ``corosync``.
LIVE_FIXTURES = frozenset({"corosync_node", "corosync_node_any", "cluster3"})


#: Where a test that needs corosync lives: a module named ``test_live_*.py``.
LIVE_PREFIX = "test_live_"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    misnamed: set[str] = set()
    for item in items:
        if LIVE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.corosync)
        if item.get_closest_marker("corosync") and not item.path.name.startswith(LIVE_PREFIX):
            misnamed.add(item.nodeid.partition("::")[0])
    if misnamed:
        raise pytest.UsageError(
            f"tests that need corosync (marked corosync) belong in {LIVE_PREFIX}*.py modules; "
            f"rename: {', '.join(sorted(misnamed))}"
        )


# --------------------------------------------------------------------------- leak check


@pytest.fixture(scope="session", autouse=True)
def _harness_leaves_nothing_behind() -> Iterator[None]:
    """Sweep what crashed earlier runs left, and fail loudly if this run leaks.

    Checked at session end: no network namespace, interface or state
    directory named after this process, no corosync it started still
    running, no /dev/shm file of those daemons, no cluster left open.
    """
    swept = sweep_stale()
    if swept:
        print(f"\nremoved leftovers of dead test runs: {', '.join(swept)}")
    yield
    left = leftovers()
    if left:
        cleanup = close_all()
        pytest.fail(
            f"the test run left corosync state behind: {', '.join(left)}\n"
            f"cleaned up: {', '.join(cleanup) or 'nothing'}",
            pytrace=False,
        )


# --------------------------------------------------------------------------- single nodes


@pytest.fixture(scope="session")
def _node_pool(_harness_leaves_nothing_behind: None) -> Iterator[NodePool]:
    pool = NodePool()
    yield pool
    pool.close()


def _live_node(pool: NodePool, transport: TransportName) -> Node:
    try:
        return pool.node(transport)
    except ClusterUnavailable as exc:
        require_live(exc)


@pytest.fixture
def corosync_node(_node_pool: NodePool) -> Node:
    """A running single-node corosync (SHM transport), ready and quorate.

    Shared across the session and reset before each test, so a test may
    stop, crash or pause it; it must not leave config changes behind
    (make your own ``Cluster`` for that).
    """
    return _live_node(_node_pool, "shm")


@pytest.fixture(params=["shm", "socket"], ids=["shm", "socket"])
def corosync_node_any(request: pytest.FixtureRequest, _node_pool: NodePool) -> Node:
    """Like ``corosync_node``, once per libqb transport (``node.cluster.transport``)."""
    transport: TransportName = request.param
    return _live_node(_node_pool, transport)


# --------------------------------------------------------------------------- clusters


@pytest.fixture
def cluster3() -> Iterator[ClusterFactory]:
    """A factory of started clusters, torn down after the test.

    ``cluster3()`` gives three formed, quorate nodes; keyword arguments go
    to :class:`~pyquorum.testing.cluster.Cluster` (``nodes=``,
    ``transport=``, ``expected_votes=``, ``quorum=``, ``uidgid=``...).
    """
    made: list[Cluster] = []

    def make(nodes: int = 3, **kwargs: Any) -> Cluster:
        cluster = Cluster(nodes, **kwargs)
        made.append(cluster)
        try:
            return cluster.start()
        except ClusterUnavailable as exc:
            require_live(exc)

    yield make
    errors = []
    for cluster in made:
        try:
            cluster.close(graceful=False)
        except Exception as exc:
            errors.append(exc)
    if errors:
        raise errors[0]
