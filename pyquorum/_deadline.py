"""Timeout → deadline → remaining-time arithmetic, on the monotonic clock.

Every blocking call in pyquorum turns its ``timeout`` into a
:class:`Deadline` once, then asks it how long each wait may last, so a
call made of several waits never overruns the caller's budget.
``None`` means "no limit"; waits are then still cut into slices by the
caller so that liveness can be checked.
"""

from __future__ import annotations

import time

__all__ = ["Deadline"]


class Deadline:
    """A point on the monotonic clock, or none (wait without limit).

    (Written out rather than a dataclass: every client imports it, and the
    ``dataclasses`` module costs a command's start-up milliseconds.  It
    behaves as the ``@dataclass(slots=True)`` it was: ``timeout`` the one
    field shown and matched, equality on both slots, unhashable.)
    """

    __slots__ = ("_at", "timeout")
    __match_args__ = ("timeout",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self._at: float | None
        if timeout is not None:
            if timeout != timeout or timeout < 0:  # NaN or negative
                raise ValueError(f"timeout must be None or >= 0, not {timeout!r}")
            self._at = time.monotonic() + timeout
        else:
            self._at = None

    def __repr__(self) -> str:
        return f"{type(self).__qualname__}(timeout={self.timeout!r})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            assert isinstance(other, Deadline)
            return (self.timeout, self._at) == (other.timeout, other._at)
        return NotImplemented

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
