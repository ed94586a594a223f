"""libcfg (tests/c/cfg_oracle.c) against a real corosync and against CfgService.

The same script, the same view (the cluster's own node ids and addresses):
corosync_cfg_local_get and corosync_cfg_get_node_addrs must answer the same,
errors included.  This is what corosync-quorumtool relies on (docs/cfg.md §4).
"""

from __future__ import annotations

from typing import Any

import pytest

from pyquorum.fake.cfg_service import CfgService
from pyquorum.messages.cfg import LinkStatus
from pyquorum.testing.cluster import Cluster
from tests.oracle import run_cfg_oracle
from tests.support.fake_service_server import FakeServiceServer
from tests.support.live import ClusterFactory
from tests.support.oracles import require_oracle

SCRIPT = ["init", "local_get", "node_addrs 0", "node_addrs 1", "node_addrs 2", "node_addrs 3",
          "node_addrs 99", "node_addrs 4294967295", "finalize"]
CS_OK, CS_ERR_NOT_EXIST = 1, 12


class ClusterView:
    """The view a story would give for ``cluster`` seen from node ``local``."""

    def __init__(self, cluster: Cluster, local: int) -> None:
        self.cluster, self.local = cluster, local

    def local_nodeid(self) -> int:
        return self.local

    def node_addrs(self, nodeid: int) -> list[str] | None:
        if nodeid not in self.cluster.node_ids:
            return None
        return [self.cluster[nodeid].address]

    def node_status(self, nodeid: int) -> tuple[bool, tuple[LinkStatus, ...]] | None:
        return None  # corosync-quorumtool never asks


@pytest.fixture(scope="module")
def oracle_built() -> None:
    require_oracle("cfg")


@pytest.mark.parametrize("transport", ["shm", "socket"])
def test_libcfg_sees_the_same(
    cluster3: ClusterFactory, oracle_built: None, root: None, transport: str
) -> None:
    cluster = cluster3(transport=transport)
    real = run_cfg_oracle(cluster[2], SCRIPT)
    with FakeServiceServer(CfgService(ClusterView(cluster, 2)), "cfg", transport) as fake:
        faked = run_cfg_oracle(fake, SCRIPT)
    assert faked == real
    # and what they agree on is the cluster (not two identical mistakes)
    by_call: dict[str, Any] = {f"{x['call']} {x.get('nodeid', '')}": x for x in real}
    assert by_call["local_get 2"]["rc"] == CS_OK
    assert by_call["node_addrs 0"]["addrs"] == [cluster[2].address]
    assert by_call["node_addrs 3"]["addrs"] == [cluster[3].address]
    assert by_call["node_addrs 99"] == {"call": "node_addrs", "nodeid": 99, "rc": CS_ERR_NOT_EXIST}
