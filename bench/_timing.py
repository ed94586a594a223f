"""The one timing loop the in-process benchmarks share."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_per_call(rounds: int, n: int, call: Callable[[], object]) -> float:
    """Best seconds per call over ``rounds`` loops of ``n`` calls."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            call()
        best = min(best, time.perf_counter() - start)
    return best / n
