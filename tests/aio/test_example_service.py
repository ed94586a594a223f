"""examples/asyncio_service.py against the fake server: work stops without quorum."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from pyquorum.fake.script import Script, Step
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
