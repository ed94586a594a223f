"""One walked 3-node cluster per transport, shared by every scenario test.

The walk (pyquorum/testing/scenarios.py) runs once per transport; the tests then
judge its results step by step, so a report names the scenario that broke.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest

from pyquorum.testing.cluster import ClusterUnavailable, check_available
from pyquorum.testing.scenarios import WalkResult, walked_cluster
from tests.oracle import OracleUnavailable, build_oracle
from tests.support.live import require_live


@pytest.fixture(scope="module", params=["shm", "socket"])
def walk(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         _harness_leaves_nothing_behind: None) -> Iterator[WalkResult]:
    transport: Literal["shm", "socket"] = request.param
    try:
        check_available()
        oracle = str(build_oracle())
    except (ClusterUnavailable, OracleUnavailable) as exc:
        require_live(exc)
    workdir: Path = tmp_path_factory.mktemp(f"walk-{transport}")
    with walked_cluster(transport, oracle, workdir) as result:
        yield result
