"""Ring payloads, shared by the ring tests and the child processes they start.

A writer in another process imports :func:`message` from here (it cannot
reach the test module's globals), so both sides agree on the stream.
"""

from __future__ import annotations


def pattern(n: int, seed: int = 0) -> bytes:
    return bytes((seed * 31 + i * 7 + 1) & 0xFF for i in range(n))


N_MESSAGES = 3000


def message(i: int) -> bytes:
    """Message ``i`` of the cross-process stream: index, then a length-varying pattern."""
    return i.to_bytes(4, "little") + pattern(i * 37 % 300, seed=i)
