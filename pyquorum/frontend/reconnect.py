"""The reconnect policy, without I/O: when to retry, how long to wait,
what to re-issue, and what to report.

Both supervisors of :mod:`pyquorum.reconnect` (blocking and asyncio) drive
the same :class:`ReconnectPolicy`; they only perform its steps (open a
session, sleep) in their own way, so the two cannot drift apart.

* **What to re-issue**: a new session with the same requested model, then
  the same ``trackstart(flags)`` (:attr:`ReconnectPolicy.model`,
  :attr:`~ReconnectPolicy.flags`).
* **When to retry**: after an error of :data:`RETRYABLE`, once the
  :class:`Backoff`'s delay has passed (the first attempt is immediate);
  never once closed; not past the caller's deadline; the last error is
  raised when ``Backoff.max_attempts`` attempts failed.
* **What to report**: :class:`~pyquorum.events.ConnectionLostEvent` when a
  session is lost (nothing once closed), :class:`~pyquorum.events.Reconnected`
  when a new one tracks again; each failed attempt is logged (WARNING) on
  the ``pyquorum.reconnect`` logger with the next delay.

:meth:`ReconnectPolicy.reconnect` is a generator of steps: it yields
:class:`Connect` (the driver opens a session and sends back None, or the
exception it got) and :class:`Sleep` (the driver waits that long, or until
closed), and returns the number of attempts once a session is up (None
when closed or out of time).
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from dataclasses import dataclass

from pyquorum._deadline import Deadline
from pyquorum.errors import PyquorumError
from pyquorum.events import ConnectionLostEvent, Reconnected
from pyquorum.messages.constants import Model, QuorumType, Track

__all__ = ["RETRYABLE", "Backoff", "Connect", "ReconnectPolicy", "Sleep", "Step"]

#: Errors that mean "not now, try again" while reconnecting.  Deliberately
#: wide: during a restart corosync refuses (ECONNREFUSED), answers "not ready"
#: (EAGAIN), or dies mid-handshake (lost, missing ring files); an error that
#: persists is logged at every attempt rather than ending the stream.
RETRYABLE = (PyquorumError, OSError)

log = logging.getLogger("pyquorum.reconnect")


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays between reconnection attempts: ``initial``, times ``factor`` each
    time, at most ``maximum`` seconds; ``max_attempts`` (None: unlimited)
    bounds the attempts after a loss.  The first attempt is immediate."""

    initial: float = 0.1
    maximum: float = 5.0
    factor: float = 2.0
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.maximum:
            raise ValueError("Backoff needs 0 < initial <= maximum")
        if self.factor < 1:
            raise ValueError("Backoff factor must be >= 1")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("Backoff max_attempts must be None or >= 1")

    def delays(self) -> Iterator[float]:
        """The wait after each failed attempt (endless)."""
        delay = self.initial
        while True:
            yield delay
            delay = min(self.maximum, delay * self.factor)

    def exhausted(self, attempts: int) -> bool:
        return self.max_attempts is not None and attempts >= self.max_attempts


@dataclass(frozen=True, slots=True)
class Connect:
    """Open a session (model, then trackstart(flags)); send back None or the error."""

    attempt: int


@dataclass(frozen=True, slots=True)
class Sleep:
    """Wait ``seconds`` (less if closed meanwhile); send back anything."""

    seconds: float


Step = Connect | Sleep


class ReconnectPolicy:
    """One supervisor's reconnect state: settings, the closed flag, the count."""

    def __init__(
        self,
        model: Model | int,
        flags: Track | int,
        backoff: Backoff,
        timeout: float | None,
    ) -> None:
        Deadline(timeout)  # validates
        self.model = Model(model)
        self.flags = Track(flags)
        self.backoff = backoff
        self.timeout = timeout
        self.closed = False
        self.reconnects = 0  # successful reconnections so far

    def close(self) -> bool:
        """Stop for good; False if already stopped."""
        if self.closed:
            return False
        self.closed = True
        return True

    def accept(self) -> bool:
        """Whether a session that just came up may be installed (not when closed meanwhile)."""
        return not self.closed

    def lost(self, exc: BaseException) -> ConnectionLostEvent | None:
        """What to report when the session is lost with ``exc`` (None: closed, end quietly)."""
        if self.closed:
            return None
        return ConnectionLostEvent(reason=str(exc))

    def reconnected(
        self, quorum_type: QuorumType | int, model: Model, attempts: int
    ) -> Reconnected:
        """A new session is up after ``attempts`` attempts: count it, report it."""
        self.reconnects += 1
        return Reconnected(quorum_type, model, attempts)

    def reconnect(self, deadline: Deadline) -> Generator[Step, BaseException | None, int | None]:
        """The steps of one reconnection (see the module docstring)."""
        delays = self.backoff.delays()
        attempts = 0
        while not self.closed:
            attempts += 1
            error = yield Connect(attempts)
            if error is None:
                return attempts
            if not isinstance(error, RETRYABLE):
                raise error
            delay = next(delays)
            if self.backoff.exhausted(attempts):
                log.error("reconnection attempt %d failed, giving up: %s", attempts, error)
                raise error
            log.warning(
                "reconnection attempt %d failed (%s: %s); next in %.2f s",
                attempts, type(error).__name__, error, delay,
            )
            left = deadline.remaining()
            yield Sleep(delay if left is None else min(delay, left))
            if self.closed or deadline.expired():
                return None
        return None
