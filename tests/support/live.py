"""Running live tests: skip where corosync cannot run, fail instead under CI.

Live fixtures (tests/conftest.py) start real corosync daemons in network
namespaces through :mod:`pyquorum.testing.cluster`.  Where that is impossible
(not root, no corosync) a live test skips, unless ``PYQUORUM_REQUIRE_COROSYNC=1``
(CI), where a live test that cannot run is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NoReturn

import pytest

from pyquorum.testing.cluster import (
    Cluster,
    ClusterUnavailable,
    Node,
    TransportName,
    check_available,
)

REQUIRE_ENV = "PYQUORUM_REQUIRE_COROSYNC"

ClusterFactory = Callable[..., Cluster]


def live_required() -> bool:
    """True when live tests must run (CI sets PYQUORUM_REQUIRE_COROSYNC=1)."""
    return os.environ.get(REQUIRE_ENV) == "1"


def require_live(reason: str | BaseException) -> NoReturn:
    """Skip a test that cannot run live here, or fail it when live tests are required."""
    message = f"live test cannot run: {reason}"
    if live_required():
        pytest.fail(f"{message} ({REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(message)


def require_corosync() -> None:
    """Skip (or fail, see :func:`require_live`) unless live clusters can run here."""
    try:
        check_available()
    except ClusterUnavailable as exc:
        require_live(exc)


# --------------------------------------------------------------------------- single nodes


class NodePool:
    """One single-node cluster per transport, shared by the session, started on first use."""

    def __init__(self) -> None:
        self._clusters: dict[str, Cluster] = {}
        self._failures: dict[str, BaseException] = {}

    def node(self, transport: TransportName) -> Node:
        if transport in self._failures:  # do not pay a start-up timeout per test
            raise self._failures[transport]
        cluster = self._clusters.get(transport)
        if cluster is None:
            try:
                cluster = Cluster(1, transport=transport).start()
            except BaseException as exc:
                self._failures[transport] = exc
                raise
            self._clusters[transport] = cluster
        node = cluster[1]
        reset_node(node)
        return node

    def close(self) -> None:
        errors = []
        for cluster in self._clusters.values():
            try:
                cluster.close(graceful=False)
            except Exception as exc:
                errors.append(exc)
        self._clusters.clear()
        if errors:
            raise errors[0]


def reset_node(node: Node) -> None:
    """Put a shared node back as a fresh one: running, not paused, ready, quorate alone."""
    if node.is_paused:
        node.resume()
    if not node.is_running:
        node.start()
        return
    node.wait_ready(10)
    status = node.quorum_status()
    if not status.quorate or status.expected_votes != 1 or status.members != {1}:
        node.restart()
