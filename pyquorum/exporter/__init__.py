"""``pyquorum exporter``: corosync's quorum and membership as Prometheus metrics.

Importing this package imports nothing heavy.  Only
:mod:`~pyquorum.exporter.metrics` and :mod:`~pyquorum.exporter.server` need
``prometheus_client`` (``pip install 'pyquorum[exporter]'``), and they are
imported only when used; the state, inputs, sources, planner, runner and
:mod:`~pyquorum.exporter.app` need pyquorum alone.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyquorum.exporter.corosync_source import CorosyncSource
    from pyquorum.exporter.metrics import ClusterCollector
    from pyquorum.exporter.plan import ReadPlanner
    from pyquorum.exporter.quorum_source import QuorumServiceSource
    from pyquorum.exporter.runner import Exporter
    from pyquorum.exporter.server import MetricsServer
    from pyquorum.exporter.source import ScriptedSource, Source
    from pyquorum.exporter.state import ClusterSnapshot, ClusterState

__all__ = [
    "ClusterCollector",
    "ClusterSnapshot",
    "ClusterState",
    "CorosyncSource",
    "Exporter",
    "MetricsServer",
    "QuorumServiceSource",
    "ReadPlanner",
    "ScriptedSource",
    "Source",
]

_WHERE = {
    "ClusterCollector": "metrics",
    "ClusterSnapshot": "state",
    "ClusterState": "state",
    "CorosyncSource": "corosync_source",
    "Exporter": "runner",
    "MetricsServer": "server",
    "QuorumServiceSource": "quorum_source",
    "ReadPlanner": "plan",
    "ScriptedSource": "source",
    "Source": "source",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
