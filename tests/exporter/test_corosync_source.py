"""CorosyncSource against pyquorum's fake server, which serves the quorum service only:
the Source contract, the story's numbers, and the missing services reported, not fatal.
Root only (the fake's private network namespace)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from pyquorum.exporter.corosync_source import CorosyncSource
from pyquorum.exporter.inputs import Tracked
from pyquorum.exporter.runner import Exporter
from pyquorum.exporter.source import Source
from pyquorum.exporter.state import ClusterSnapshot, ClusterState
from pyquorum.fake.script import Script
from pyquorum.fake.server import TransportName
from pyquorum.testing.cluster import wait_until
from pyquorum.testing.fake import FakeQuorumServer
from tests.support.exporter_runs import STORY, TRANSPORTS, require_fake_root
from tests.support.exporter_source_contract import ALL_CHECKS


@pytest.fixture(autouse=True)
def _root() -> None:
    require_fake_root()


def on(server: FakeQuorumServer) -> CorosyncSource:
    return CorosyncSource(enter=server.netns_context, quorum_service=server.name)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_the_source_contract(transport: TransportName, check: Callable[[Source], None]) -> None:
    with FakeQuorumServer(Script.build([1, 2, 3]), transport=transport) as server:
        check(on(server))
        server.wait_connections(0)


def test_services_the_fake_does_not_serve_are_reported_not_fatal(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with FakeQuorumServer(Script.build([1, 2, 3])) as server:
        source = on(server)
        with caplog.at_level(logging.WARNING, logger="pyquorum.exporter.corosync_source"):
            picture = source.connect(5)
            try:
                assert sorted(source.unavailable) == ["cmap", "cmap stats map", "votequorum"]
                assert all("CorosyncNotRunning" in why for why in source.unavailable.values())
                # the quorum service's nodelist and quorum, and what is tracked
                assert len(picture) == 3
                assert picture[-1] == Tracked({"quorum": True, "votequorum": False,
                                               "cmap": False, "cmap_stats": False})
                assert source.refresh(1) == []
            finally:
                source.close()
            assert sum("not tracking" in r.getMessage() for r in caplog.records) == 3
            caplog.clear()
            source.connect(5)  # the same services missing again: said once, not again
            source.close()
            assert caplog.records == []


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_exporter_gives_the_storys_numbers(transport: TransportName) -> None:
    with FakeQuorumServer(STORY, transport=transport) as server:
        state = ClusterState()
        with Exporter(on(server), state, timeout=5, poll_slice=0.05):
            server.wait_finished()
            final = STORY.final

            def done() -> ClusterSnapshot | None:
                snap = state.snapshot()
                ok = (snap.ring_id == final.ring_id and snap.quorate is final.quorate
                      and snap.quorum_losses >= 2)
                return snap if ok else None

            snap = wait_until(done, 10, "the story told")
            assert snap.members == tuple(sorted(final.members))
            assert (snap.membership_changes, snap.quorum_losses) == (3, 2)
            assert snap.connection_losses == 0
            assert snap.votequorum is None and snap.links == {}
        server.wait_connections(0)
