"""The reconnect policy on its own: the steps it asks for, without any I/O."""

from __future__ import annotations

import logging
import time
from collections.abc import Generator

import pytest

from pyquorum import Backoff, ConnectionLostEvent, CorosyncNotRunning, Model, Reconnected, Track
from pyquorum._deadline import Deadline
from pyquorum.frontend.reconnect import Connect, ReconnectPolicy, Sleep, Step

Steps = Generator[Step, BaseException | None, int | None]


def policy(initial: float = 0.1, maximum: float = 5.0, factor: float = 2.0) -> ReconnectPolicy:
    return ReconnectPolicy(Model.AUTO, Track.CHANGES, Backoff(initial, maximum, factor), 1.0)


def result(steps: Steps, reply: BaseException | None) -> int | None:
    with pytest.raises(StopIteration) as done:
        steps.send(reply)
    value: int | None = done.value.value
    return value


def test_the_first_attempt_is_immediate_and_success_ends_it() -> None:
    p = policy()
    steps = p.reconnect(Deadline(None))
    assert next(steps) == Connect(1)
    assert result(steps, None) == 1
    assert p.model is Model.AUTO and p.flags is Track.CHANGES  # what is re-issued


def test_failures_wait_the_backoff_then_retry(caplog: pytest.LogCaptureFixture) -> None:
    p = policy(initial=0.5, maximum=1.5, factor=2)
    steps = p.reconnect(Deadline(None))
    seen: list[Step] = [next(steps)]
    refused = CorosyncNotRunning("refused")
    with caplog.at_level(logging.WARNING, logger="pyquorum.reconnect"):
        for _ in range(3):
            seen.append(steps.send(refused))  # the sleep
            seen.append(steps.send(None))  # the next attempt
    assert seen == [
        Connect(1), Sleep(0.5), Connect(2), Sleep(1.0), Connect(3), Sleep(1.5), Connect(4)
    ]
    assert result(steps, None) == 4
    assert len(caplog.records) == 3 and "attempt 1 failed" in caplog.records[0].getMessage()


def test_the_last_allowed_failure_is_raised() -> None:
    p = ReconnectPolicy(Model.V1, Track.CHANGES, Backoff(max_attempts=2), None)
    steps = p.reconnect(Deadline(None))
    next(steps)
    assert isinstance(steps.send(CorosyncNotRunning("no")), Sleep)
    assert steps.send(None) == Connect(2)
    with pytest.raises(CorosyncNotRunning, match="last"):
        steps.send(CorosyncNotRunning("last"))


def test_an_error_that_is_not_retryable_is_raised_at_once() -> None:
    steps = policy().reconnect(Deadline(None))
    next(steps)
    with pytest.raises(ValueError, match="bug"):
        steps.send(ValueError("bug"))


def test_sleeps_never_pass_the_deadline_and_an_expired_one_stops() -> None:
    steps = policy(initial=5, maximum=5).reconnect(Deadline(0.05))
    next(steps)
    sleep = steps.send(OSError("refused"))
    assert isinstance(sleep, Sleep) and sleep.seconds <= 0.05
    time.sleep(0.06)
    assert result(steps, None) is None


def test_close_stops_reconnecting_and_silences_the_loss() -> None:
    p = policy()
    steps = p.reconnect(Deadline(None))
    next(steps)
    steps.send(OSError("refused"))
    assert p.close() and not p.close()
    assert result(steps, None) is None
    assert p.lost(OSError("gone")) is None
    assert not p.accept()
    assert list(policy().reconnect(Deadline(None))) != []  # a fresh policy still tries
    closed = policy()
    closed.close()
    assert list(closed.reconnect(Deadline(None))) == []


def test_what_it_reports() -> None:
    p = policy()
    assert p.lost(OSError("the daemon is gone")) == ConnectionLostEvent("the daemon is gone")
    assert p.accept()
    assert p.reconnected(1, Model.V1, 3) == Reconnected(1, Model.V1, 3)
    assert p.reconnects == 1
