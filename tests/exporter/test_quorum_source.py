"""QuorumServiceSource against pyquorum's fake quorum server (real libqb IPC, both
transports): the Source contract, the story's numbers, a daemon restart without leaks.
Root only (the fake's private network namespace)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from pyquorum.exporter.quorum_source import QuorumServiceSource
from pyquorum.exporter.runner import Exporter
from pyquorum.exporter.source import Source
from pyquorum.exporter.state import ClusterState
from pyquorum.fake.script import Script
from pyquorum.fake.server import TransportName
from pyquorum.services.quorum.session import QuorumSession
from pyquorum.testing.fake import FakeQuorumServer
from tests.support.exporter_runs import STORY, TRANSPORTS, require_fake_root, wait_for
from tests.support.exporter_source_contract import ALL_CHECKS
from tests.support.process_resources import open_fds


@pytest.fixture(autouse=True)
def _root() -> None:
    require_fake_root()


def opener(server: FakeQuorumServer) -> Callable[[float], QuorumSession]:
    return lambda timeout: server.session(timeout=timeout)


def story_numbers(script: Script) -> tuple[int, int]:
    """(membership changes, quorum losses) the story makes, counted from the script."""
    changes = losses = 0
    before = script.initial
    for change in script.changes:
        if set(change.state.members) != set(before.members):
            changes += 1
        if before.quorate and not change.state.quorate:
            losses += 1
        before = change.state
    return changes, losses


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("check", ALL_CHECKS, ids=lambda c: c.__name__)
def test_the_source_contract(transport: TransportName, check: Callable[[Source], None]) -> None:
    with FakeQuorumServer(Script.build([1, 2, 3]), transport=transport) as server:
        check(QuorumServiceSource(opener(server)))
        server.wait_connections(0)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_exporter_gives_the_storys_numbers(transport: TransportName) -> None:
    expected_changes, expected_losses = story_numbers(STORY)
    assert (expected_changes, expected_losses) == (3, 2)
    with FakeQuorumServer(STORY, transport=transport) as server:
        source = QuorumServiceSource(opener(server))
        with Exporter(source, ClusterState(), timeout=5, poll_slice=0.05) as exporter:
            server.wait_finished()
            final = STORY.final
            snap = wait_for(exporter.state, lambda s: s.ring_id == final.ring_id
                            and s.quorate is final.quorate and s.quorum_losses >= 2,
                            timeout=10)
            assert snap.members == tuple(sorted(final.members))
            assert snap.quorum_losses == expected_losses
            assert snap.membership_changes == expected_changes
            assert snap.connection_losses == 0
        server.wait_connections(0)


def test_a_restarted_daemon_is_reconnected_without_leaks() -> None:
    servers: list[FakeQuorumServer] = []

    def open_current(timeout: float) -> QuorumSession:
        return servers[-1].session(timeout=timeout)

    first = FakeQuorumServer(Script.build([1, 2, 3])).start()
    servers.append(first)
    before = open_fds()
    state = ClusterState()
    exporter = Exporter(QuorumServiceSource(open_current), state, timeout=2,
                        backoff_initial=0.05, backoff_max=0.2, poll_slice=0.05)
    try:
        with exporter:
            wait_for(state, lambda s: s.reachable and s.quorate is True, timeout=10)
            first.stop()
            snap = wait_for(state, lambda s: not s.reachable, timeout=5)
            assert snap.connection_losses == 1
            time.sleep(0.3)  # refused reconnects meanwhile
            second = FakeQuorumServer(Script.build([1, 2], quorate=False)).start()
            servers.append(second)
            snap = wait_for(state, lambda s: s.reachable and s.quorate is False, timeout=10)
            assert snap.members == (1, 2)
            assert snap.quorum_losses == 1 and snap.membership_changes == 1
            assert second.connection_count == 1
        second.wait_connections(0)
        assert second.shm_files() == [] or second.transport != "shm"
    finally:
        for server in servers:
            server.stop()
    # every fd the exporter's sessions opened is closed again
    assert open_fds() - before == set()
