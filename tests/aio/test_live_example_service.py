"""examples/asyncio_service.py: work stops without quorum (the fake server's script,
then a real two-node cluster with a daemon restart)."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pyquorum.fake.script import Script, Step
from pyquorum.reconnect import Backoff
from pyquorum.testing.cluster import Cluster
from pyquorum.testing.fake import FakeQuorumServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "asyncio_service.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("asyncio_service", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_work_stops_when_quorum_is_lost_and_resumes(tmp_path: Path) -> None:
    if not hasattr(__import__("os"), "getuid") or __import__("os").getuid() != 0:
        pytest.skip("the fake server's private network namespace needs root")
    example = _load()
    script = Script.build(
        [1, 2, 3], steps=[Step(0.3, quorate=False), Step(0.6, quorate=True)]
    )
    units: list[tuple[float, bool]] = []

    async def main() -> list[tuple[str, float]]:
        service: object = None

        async def work() -> None:
            assert service is not None
            units.append((time.monotonic(), service.working))  # type: ignore[attr-defined]
            await asyncio.sleep(0.02)

        with FakeQuorumServer(script) as server:
            with server.netns_context():
                service = example.QuorumGatedService(work)
            stop = asyncio.Event()
            runner = asyncio.create_task(service.run(stop))  # type: ignore[attr-defined]
            transitions: list[tuple[str, float]] = service.transitions  # type: ignore[attr-defined]

            def resumed_and_worked() -> bool:
                return len(transitions) >= 3 and any(t > transitions[2][1] for t, _ in units)

            deadline = time.monotonic() + 10
            while not resumed_and_worked() and not runner.done():
                assert time.monotonic() < deadline, transitions
                await asyncio.sleep(0.01)
            stop.set()
            await asyncio.wait_for(runner, 5)
        return list(transitions)

    transitions = asyncio.run(main())
    assert [kind for kind, _ in transitions] == ["start", "stop", "start", "stop"]
    (_, t_start), (_, t_stop), (_, t_resume), (_, t_end) = transitions
    assert 0.2 < t_stop - t_start < 0.6
    assert 0.2 < t_resume - t_stop < 0.6
    # No work began while not quorate, and work happened in both quorate phases.
    assert not [t for t, _ in units if t_stop < t < t_resume]
    assert any(t_start <= t < t_stop for t, _ in units)
    assert any(t_resume <= t < t_end for t, _ in units)


def test_work_follows_real_quorum_and_survives_a_daemon_restart(
    cluster3: Callable[..., Cluster],
) -> None:
    """The example on a real two-node cluster (quorum needs both votes):
    node 2 stops -> node 1 inquorate -> work stops; node 2 back -> work
    resumes; node 1's own corosync restarts -> work stops (quorum unknown),
    then resumes once the reconnection's snapshot (or the rejoin) says quorate."""
    example = _load()
    cluster = cluster3(nodes=2)
    node1, node2 = cluster[1], cluster[2]
    units: list[tuple[float, bool]] = []

    async def main() -> list[tuple[str, float]]:
        loop = asyncio.get_running_loop()
        service: Any = None

        async def work() -> None:
            units.append((time.monotonic(), service.working))
            await asyncio.sleep(0.02)

        with node1.netns_context():
            service = example.QuorumGatedService(
                work, backoff=Backoff(initial=0.05, maximum=0.3)
            )
        transitions: list[tuple[str, float]] = service.transitions
        stop = asyncio.Event()
        runner = asyncio.create_task(service.run(stop))

        async def reach(count: int, what: str, timeout: float = 20) -> None:
            deadline = time.monotonic() + timeout
            while len(transitions) < count:
                if runner.done():
                    runner.result()  # raises what ended it
                    raise AssertionError(f"the service ended before {what}: {transitions}")
                assert time.monotonic() < deadline, f"no {what} within {timeout} s: {transitions}"
                await asyncio.sleep(0.01)

        try:
            await reach(1, "start")
            await loop.run_in_executor(None, node2.stop)
            await reach(2, "stop on quorum loss")
            await loop.run_in_executor(None, node2.start)
            await reach(3, "resume when quorate again")
            await loop.run_in_executor(None, node1.restart)
            await reach(5, "stop on daemon loss, resume after reconnecting")
        finally:
            stop.set()
            await asyncio.wait_for(runner, 10)
        return list(transitions)

    transitions = asyncio.run(asyncio.wait_for(main(), 90))
    assert [kind for kind, _ in transitions] == ["start", "stop"] * 3, transitions
    # Work ran only while started: every unit saw working, and none began in a gap.
    assert units and all(working for _, working in units)
    gaps = [(transitions[i][1], transitions[i + 1][1]) for i in (1, 3)]
    for begin, end in gaps:
        assert not [t for t, _ in units if begin < t < end], (begin, end)
