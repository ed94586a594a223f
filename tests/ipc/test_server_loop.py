"""The server's event loop on its own: timers, cross-thread calls, fds, stopping."""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Iterator

import pytest

from pyquorum.ipc.server.loop import EventLoop


@pytest.fixture
def running() -> Iterator[EventLoop]:
    """A loop run by a daemon thread; stopped and closed afterwards."""
    loop = EventLoop()
    claimed = threading.Event()

    def main() -> None:
        loop.claim()
        claimed.set()
        try:
            loop.run()
        finally:
            loop.close()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    assert claimed.wait(10)
    yield loop
    loop.stop()
    thread.join(10)
    assert not thread.is_alive()


def test_call_runs_on_the_loop_thread_and_returns_its_result(running: EventLoop) -> None:
    assert running.running
    ident = running.call(threading.get_ident)
    assert ident != threading.get_ident()
    assert running.call(lambda: running.in_loop_thread()) is True


def test_call_passes_the_exception_back(running: EventLoop) -> None:
    def boom() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        running.call(boom)


def test_timers_run_in_time_order_and_a_cancelled_one_never(running: EventLoop) -> None:
    order: list[str] = []
    done = threading.Event()

    def last() -> None:
        order.append("late")
        done.set()

    def schedule() -> None:
        running.call_later(0.06, last)
        running.call_later(0.02, lambda: order.append("early"))
        running.call_later(0.04, lambda: order.append("cancelled")).cancel()

    started = time.monotonic()
    running.call(schedule)
    assert done.wait(10)
    assert order == ["early", "late"]
    assert time.monotonic() - started >= 0.05


def test_a_callback_that_raises_does_not_end_the_loop(running: EventLoop) -> None:
    def boom() -> None:
        raise ZeroDivisionError

    running.call_soon_threadsafe(boom)
    assert running.call(lambda: 42) == 42


def test_a_watched_fd_calls_back_with_its_events(running: EventLoop) -> None:
    r, w = os.pipe()
    got: list[bytes] = []
    readable = threading.Event()

    def on_readable(revents: int) -> None:
        assert revents & select.POLLIN
        got.append(os.read(r, 10))
        running.unwatch(r)
        readable.set()

    try:
        running.call(lambda: running.watch(r, select.POLLIN, on_readable))
        os.write(w, b"ping")
        assert readable.wait(10)
        assert got == [b"ping"]
    finally:
        os.close(r)
        os.close(w)


def test_without_a_thread_call_runs_inline_and_stop_needs_no_loop() -> None:
    loop = EventLoop()
    assert not loop.running
    assert loop.call(threading.get_ident) == threading.get_ident()
    loop.stop()
    loop.close()
    loop.close()
    assert loop.finished


def test_after_close_a_wake_writes_nowhere() -> None:
    """A closed loop's pipe fds may be reused by anyone: stop() must not write to them."""
    loop = EventLoop()
    loop.close()
    r, w = os.pipe()  # likely reuses the loop's old numbers
    try:
        loop.stop()
        loop.call_soon_threadsafe(lambda: None)
        assert select.select([r], [], [], 0)[0] == []
    finally:
        os.close(r)
        os.close(w)
