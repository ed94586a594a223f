"""Decoding quorum notifications: pyquorum's decoder against a hand-written one.

The reference is the decoder one would write by hand for the one message it
knows: a ``struct`` unpack of the fixed fields and the lists, building the
same event objects with their constructors, no checks beyond what struct
does.  pyquorum's ``decode_notification`` checks everything (size field,
counts against the length, unknown ids) and returns the same objects.
Both run in the same process, alternately, best of several rounds.

Run:  .venv/bin/python bench/bench_decode.py
"""

from __future__ import annotations

import struct
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pyquorum.messages.quorum import decode_notification, encode_notification
from pyquorum.messages.types import NodelistNotification, RingId

_FIXED = struct.Struct("<i4xi4xi4xI4xQI4xI4xI")


def by_hand(raw: bytes) -> NodelistNotification:
    """A V1 nodelist notification, decoded the short way."""
    _, _, _, nodeid, seq, m, j, k = _FIXED.unpack_from(raw)
    ids = struct.unpack_from(f"<{m + j + k}I", raw, 60)
    return NodelistNotification(RingId(nodeid, seq), ids[:m], ids[m : m + j], ids[m + j :])


def event(members: int) -> bytes:
    """A nodelist event with ``members`` members, one joined, none left."""
    ids = tuple(range(1, members + 1))
    return encode_notification(NodelistNotification(RingId(1, 42), ids, ids[-1:], ()))


def per_call(decode: Callable[[bytes], object], raw: bytes, n: int, rounds: int) -> float:
    """Best seconds per call over ``rounds`` loops of ``n`` calls."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            decode(raw)
        best = min(best, time.perf_counter() - start)
    return best / n


def measure(n: int = 100_000, rounds: int = 5) -> dict[str, float]:
    """Seconds per decode: pyquorum and by hand, 3 and 384 members."""
    small, large = event(3), event(384)
    assert decode_notification(small) == by_hand(small)
    assert decode_notification(large) == by_hand(large)
    result = {"py3": float("inf"), "hand3": float("inf"),
              "py384": float("inf"), "hand384": float("inf")}
    for _ in range(rounds):  # alternate, so both see the same load
        result["py3"] = min(result["py3"], per_call(decode_notification, small, n, 1))
        result["hand3"] = min(result["hand3"], per_call(by_hand, small, n, 1))
        result["py384"] = min(result["py384"], per_call(decode_notification, large, n // 20, 1))
        result["hand384"] = min(result["hand384"], per_call(by_hand, large, n // 20, 1))
    return result


def main() -> int:
    r = measure()
    print(f"3 members:   pyquorum {r['py3'] * 1e6:6.2f} µs ({1 / r['py3']:,.0f}/s), "
          f"by hand {r['hand3'] * 1e6:6.2f} µs, ratio {r['py3'] / r['hand3']:.2f}")
    print(f"384 members: pyquorum {r['py384'] * 1e6:6.2f} µs, "
          f"by hand {r['hand384'] * 1e6:6.2f} µs, ratio {r['py384'] / r['hand384']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
