"""The session's own CPU per call, without any daemon: a getquorate on the
blocking and the asyncio session over a connection that answers at once.

This is the part of ``bench_layers``'s "session over bare transport" figure
that is the session's (the core's operation, decoding, the error check); the
rest is the connection layer's locks and deadlines.  No corosync, no
scheduling: it is steady on a loaded machine where the live figures are not.

Run:  .venv/bin/python bench/bench_session_cpu.py
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._timing import best_per_call
from pyquorum import AsyncQuorumSession, QuorumSession
from pyquorum.messages.constants import Model, QuorumType
from pyquorum.messages.quorum import encode_response
from pyquorum.messages.types import GetQuorateResponse, ModelGetTypeResponse

_ANSWERS = {
    4: encode_response(ModelGetTypeResponse(1, QuorumType.SET)),  # MODEL_GETTYPE
    0: encode_response(GetQuorateResponse(1, True)),  # GETQUORATE
}


class Instant:
    """A connection whose daemon answers each request at once (and sends no events)."""

    def request(self, data: bytes, timeout: float | None = None) -> bytes:
        return _ANSWERS[int.from_bytes(data[:4], "little", signed=True)]

    def recv_event(self, timeout: float | None = None) -> bytes | None:
        return None

    def fileno(self) -> int:
        return -1

    def close(self) -> None:
        pass


def _asyncio(n: int, rounds: int) -> float:
    """Seconds per getquorate of the asyncio session (each request goes through its
    executor thread, as over a real connection)."""

    async def run() -> float:
        async with AsyncQuorumSession(Model.V1, connection_factory=Instant) as session:
            best = float("inf")
            for _ in range(rounds):
                start = time.perf_counter()
                for _ in range(n):
                    await session.getquorate()
                best = min(best, time.perf_counter() - start)
            return best / n

    return asyncio.run(run())


def measure(n: int = 50_000, rounds: int = 5) -> dict[str, float]:
    """Seconds per getquorate: ``blocking``, ``asyncio``, and ``bare`` (the
    connection's request alone)."""
    conn = Instant()
    session = QuorumSession(Model.V1, connection=conn)
    request = bytes(16)
    result = {
        "bare": best_per_call(rounds, n, lambda: conn.request(request)),
        "blocking": best_per_call(rounds, n, session.getquorate),
        "asyncio": _asyncio(max(1, n // 20), rounds),
    }
    session.close()
    return result


def main() -> int:
    r = measure()
    print(f"per getquorate over an instant connection: blocking session "
          f"{r['blocking'] * 1e6:.2f} µs, asyncio session {r['asyncio'] * 1e6:.2f} µs "
          f"(the connection's request alone {r['bare'] * 1e6:.2f} µs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
