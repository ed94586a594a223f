"""``pyquorum exporter``: corosync's quorum and membership as Prometheus metrics.

Importing this package imports nothing heavy: :mod:`pyquorum.exporter.state`,
:mod:`~pyquorum.exporter.inputs`, :mod:`~pyquorum.exporter.source` and
:mod:`~pyquorum.exporter.runner` need only pyquorum; :mod:`~pyquorum.exporter.metrics`
and :mod:`~pyquorum.exporter.server` need ``prometheus_client``
(``pip install pyquorum[exporter]``) and are imported only when used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyquorum.exporter.metrics import ClusterCollector
    from pyquorum.exporter.runner import Exporter
    from pyquorum.exporter.server import MetricsServer
    from pyquorum.exporter.source import ScriptedSource, Source
    from pyquorum.exporter.state import ClusterSnapshot, ClusterState

__all__ = [
    "ClusterCollector",
    "ClusterSnapshot",
    "ClusterState",
    "Exporter",
    "MetricsServer",
    "ScriptedSource",
    "Source",
]

_WHERE = {
    "ClusterCollector": "metrics",
    "ClusterSnapshot": "state",
    "ClusterState": "state",
    "Exporter": "runner",
    "MetricsServer": "server",
    "ScriptedSource": "source",
    "Source": "source",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
