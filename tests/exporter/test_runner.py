"""The runner over a ScriptedSource: connect, poll, refresh, lose, reconnect, stop."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator

import pytest

from pyquorum.errors import ConnectionLost, CorosyncNotRunning
from pyquorum.exporter.runner import Exporter
from pyquorum.exporter.source import ScriptedSource, Source
from pyquorum.exporter.state import ClusterState
from tests.support.exporter_builders import healthy_cluster, knet, quorum
from tests.support.exporter_runs import wait_for


@pytest.fixture
def source() -> ScriptedSource:
    return ScriptedSource(healthy_cluster(), stats=[knet({(2, 0): {"connected": 1}})])


@pytest.fixture
def running(source: ScriptedSource) -> Iterator[Exporter]:
    exporter = Exporter(source, ClusterState(), stats_interval=0.2, timeout=1.0,
                        backoff_initial=0.05, backoff_max=0.2, poll_slice=0.05)
    with exporter:
        yield exporter
    assert not source.open


def test_the_scripted_source_is_a_source(source: ScriptedSource) -> None:
    assert isinstance(source, Source)


def test_connect_then_events_then_stats(running: Exporter, source: ScriptedSource) -> None:
    snap = wait_for(running.state, lambda s: s.reachable and s.stats_time is not None)
    assert snap.quorate is True and snap.members == (1, 2, 3)
    assert set(snap.links) == {(2, 0)}
    source.push(quorum(False, (1,), seq=10), quorum(True, (1, 2, 3), seq=11))
    snap = wait_for(running.state, lambda s: s.quorum_losses == 1)
    assert snap.quorate is True and snap.membership_changes == 2


def test_stats_are_refreshed_every_interval(running: Exporter, source: ScriptedSource) -> None:
    wait_for(running.state, lambda s: s.reachable)
    start = source.refreshes
    time.sleep(0.7)
    assert 2 <= source.refreshes - start <= 5


def test_a_lost_connection_is_unreachable_then_reconnected(
    running: Exporter, source: ScriptedSource
) -> None:
    wait_for(running.state, lambda s: s.reachable)
    source.down()
    snap = wait_for(running.state, lambda s: not s.reachable)
    assert snap.connection_losses == 1 and snap.members is None
    assert not source.open
    time.sleep(0.3)  # several refused connects meanwhile: still one loss
    assert running.state.snapshot().connection_losses == 1
    source.set_snapshot(quorum(False, (1,), seq=20))
    source.up()
    snap = wait_for(running.state, lambda s: s.reachable)
    assert snap.quorate is False and snap.quorum_losses == 1 and snap.membership_changes == 1
    assert source.connects == 2 and source.closes == 1


def test_a_stalled_refresh_times_out_into_unreachable(source: ScriptedSource) -> None:
    exporter = Exporter(source, ClusterState(), stats_interval=0.1, timeout=0.2,
                        backoff_initial=0.05, poll_slice=0.05)
    with exporter:
        wait_for(exporter.state, lambda s: s.reachable)
        source.stall()
        snap = wait_for(exporter.state, lambda s: not s.reachable, timeout=2)
        assert snap.connection_losses == 1
        source.stall(False)
        wait_for(exporter.state, lambda s: s.reachable)


def test_a_source_bug_is_an_outage_not_a_dead_thread(source: ScriptedSource) -> None:
    class Buggy(ScriptedSource):
        calls = 0

        def refresh(self, timeout: float) -> tuple[()]:
            self.calls += 1
            if self.calls == 1:
                raise KeyError("oops")
            return ()

    buggy = Buggy(healthy_cluster())
    exporter = Exporter(buggy, ClusterState(), stats_interval=0.1, timeout=0.2,
                        backoff_initial=0.05, poll_slice=0.05)
    with exporter:
        wait_for(exporter.state, lambda s: s.connection_losses == 1 and s.reachable)
    assert buggy.connects == 2


def test_the_backoff_doubles_up_to_its_maximum() -> None:
    now = [0.0]
    attempts: list[float] = []

    class Refusing(ScriptedSource):
        def connect(self, timeout: float) -> tuple[()]:
            attempts.append(now[0])
            raise CorosyncNotRunning("down")

    exporter = Exporter(Refusing(), ClusterState(), backoff_initial=1.0, backoff_max=4.0,
                        monotonic=lambda: now[0], poll_slice=0.001)
    while now[0] < 20:
        exporter.step()
        now[0] = round(now[0] + 0.25, 2)
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert gaps[:5] == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert exporter.state.snapshot().connection_losses == 0  # never reached: no loss


def test_step_drives_without_a_thread() -> None:
    source = ScriptedSource(healthy_cluster())
    exporter = Exporter(source, ClusterState(), poll_slice=0.01)
    exporter.step()
    assert exporter.connected and exporter.state.snapshot().reachable
    exporter.step()  # the first refresh is due at once
    assert source.refreshes == 1
    source.push(quorum(False, (1,), seq=10))
    exporter.step()
    assert exporter.state.snapshot().quorum_losses == 1
    source.lose()
    exporter.step()
    assert not exporter.connected and not exporter.state.snapshot().reachable


def test_stop_is_prompt_and_closes_the_source(source: ScriptedSource) -> None:
    exporter = Exporter(source, ClusterState(), stats_interval=60, timeout=5, poll_slice=0.05)
    exporter.start()
    wait_for(exporter.state, lambda s: s.reachable)
    started = time.monotonic()
    exporter.stop()
    assert time.monotonic() - started < 1.0
    assert not source.open


@pytest.mark.parametrize("kwargs", [
    {"stats_interval": 0}, {"timeout": -1}, {"backoff_initial": 0},
    {"backoff_initial": 2.0, "backoff_max": 1.0}, {"poll_slice": 0},
])
def test_bad_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Exporter(ScriptedSource(), ClusterState(), **kwargs)  # type: ignore[arg-type]


def test_scripted_source_errors_are_pyquorum_errors() -> None:
    source = ScriptedSource()
    with pytest.raises(ConnectionLost):
        source.poll(0)
    source.down()
    with pytest.raises(CorosyncNotRunning):
        source.connect(1)
