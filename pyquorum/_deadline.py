"""Timeout → deadline → remaining-time arithmetic, on the monotonic clock.

Every blocking call in pyquorum turns its ``timeout`` into a
:class:`Deadline` once, then asks it how long each wait may last, so a
call made of several waits never overruns the caller's budget.
``None`` means "no limit"; waits are then still cut into slices by the
caller so that liveness can be checked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = ["Deadline"]


@dataclass(slots=True)
class Deadline:
    """A point on the monotonic clock, or none (wait without limit)."""

    timeout: float | None
    _at: float | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.timeout is not None:
            if self.timeout != self.timeout or self.timeout < 0:  # NaN or negative
                raise ValueError(f"timeout must be None or >= 0, not {self.timeout!r}")
            self._at = time.monotonic() + self.timeout
        else:
            self._at = None

    @property
    def unlimited(self) -> bool:
        return self._at is None

    def remaining(self) -> float | None:
        """Seconds left (never negative), or None when unlimited."""
        if self._at is None:
            return None
        return max(0.0, self._at - time.monotonic())

    def expired(self) -> bool:
        return self._at is not None and time.monotonic() >= self._at

    def slice(self, longest: float) -> float:
        """How long the next wait may block: at most ``longest``, never past the deadline."""
        left = self.remaining()
        return longest if left is None else min(longest, left)
