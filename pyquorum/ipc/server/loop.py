"""A small single-threaded event loop: ``poll(2)``, timers, a wake-up pipe.

The server runs every connection from one thread, so nothing in it needs a
lock: other threads hand work over with :meth:`EventLoop.call_soon_threadsafe`
(or :meth:`EventLoop.call`, which waits for the result), and a byte on the
wake-up pipe ends the ``poll`` that is under way.  It is not asyncio on
purpose: the server's thread may live in another network namespace, and
the fake server must not need (or disturb) the caller's asyncio loop.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import heapq
import itertools
import logging
import os
import select
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["EventLoop", "LoopThread", "TimerHandle"]

log = logging.getLogger("pyquorum.ipc.server")

T = TypeVar("T")


@dataclass(order=True)
class TimerHandle:
    """A pending :meth:`EventLoop.call_later`; :meth:`cancel` makes it a no-op."""

    when: float
    seq: int
    fn: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class EventLoop:
    """Callbacks on fds, timers and cross-thread calls, run by one thread.

    The thread that calls :meth:`claim` (or :meth:`run`) owns the loop;
    :meth:`watch`, :meth:`unwatch` and :meth:`call_later` are for that
    thread only, :meth:`call_soon_threadsafe`, :meth:`call` and
    :meth:`stop` for any thread.  A callback that raises is logged and the
    loop goes on.  :meth:`close` (after :meth:`run` returns) releases the
    wake-up pipe.
    """

    def __init__(self) -> None:
        self._poll = select.poll()
        self._callbacks: dict[int, Callable[[int], None]] = {}
        self._timers: list[TimerHandle] = []
        self._timer_seq = itertools.count()
        self._soon: deque[Callable[[], None]] = deque()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._stopping = False
        self._closed = False
        self._owner: int | None = None
        self._finished = threading.Event()

    # -- state --------------------------------------------------------------------

    @property
    def claimed(self) -> bool:
        """Whether a thread owns the loop (it may not be running yet)."""
        return self._owner is not None

    @property
    def running(self) -> bool:
        """Claimed and not finished: calls must go through the loop thread."""
        return self._owner is not None and not self._finished.is_set()

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    def in_loop_thread(self) -> bool:
        return threading.get_ident() == self._owner

    # -- fds and timers (loop thread) ------------------------------------------------

    def watch(self, fd: int, events: int, callback: Callable[[int], None]) -> None:
        """Poll ``fd`` for ``events`` (hang-ups are always reported) and call back."""
        if fd in self._callbacks:
            self._poll.modify(fd, events)
        else:
            self._poll.register(fd, events)
        self._callbacks[fd] = callback

    def unwatch(self, fd: int) -> None:
        if self._callbacks.pop(fd, None) is not None:
            self._poll.unregister(fd)

    def call_later(self, delay: float, fn: Callable[[], None]) -> TimerHandle:
        """Run ``fn`` on the loop thread after ``delay`` seconds (loop thread only)."""
        entry = TimerHandle(time.monotonic() + max(0.0, delay), next(self._timer_seq), fn)
        heapq.heappush(self._timers, entry)
        return entry

    # -- cross-thread calls -------------------------------------------------------------

    def call_soon_threadsafe(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the loop thread soon (from any thread)."""
        self._soon.append(fn)
        self._wake()

    def call(self, fn: Callable[[], T], timeout: float | None = 10.0) -> T:
        """Run ``fn`` on the loop thread and return its result (from any thread).

        On the loop thread itself, or when no thread runs the loop, ``fn``
        runs at once in the caller.
        """
        if self.in_loop_thread() or not self.running:
            return fn()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def task() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)

        self.call_soon_threadsafe(task)
        return future.result(timeout)

    # -- running ----------------------------------------------------------------------

    def claim(self) -> None:
        """Make the calling thread the loop's owner (before it starts :meth:`run`)."""
        self._owner = threading.get_ident()
        if self._wake_r not in self._callbacks:
            self.watch(self._wake_r, select.POLLIN, self._on_wake)

    def run(self) -> None:
        """Dispatch until :meth:`stop`; the caller then tears down and :meth:`close`\\ s."""
        self.claim()
        while not self._stopping:
            for fd, revents in self._poll.poll(self._poll_timeout()):
                callback = self._callbacks.get(fd)
                if callback is not None:
                    self.guard(callback, revents)
            self._run_due()

    def stop(self) -> None:
        """Make :meth:`run` return after the current round (thread- and signal-safe)."""
        self._stopping = True
        self._wake()

    def close(self) -> None:
        """Release the wake-up pipe and mark the loop finished (idempotent)."""
        if not self._closed:
            with contextlib.suppress(OSError, ValueError):
                self.unwatch(self._wake_r)
            self._closed = True
            for fd in (self._wake_r, self._wake_w):
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._finished.set()

    def guard(self, fn: Callable[..., None], *args: Any) -> None:
        """Call ``fn``; log what it raises instead of ending the loop."""
        try:
            fn(*args)
        except Exception:
            log.exception("IPC server callback failed")

    def _poll_timeout(self) -> int | None:
        if self._soon or self._stopping:
            return 0
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)
        if not self._timers:
            return None
        return max(0, int((self._timers[0].when - time.monotonic()) * 1000.0 + 0.999))

    def _run_due(self) -> None:
        for _ in range(len(self._soon)):
            self.guard(self._soon.popleft())
        now = time.monotonic()
        while self._timers and self._timers[0].when <= now:
            entry = heapq.heappop(self._timers)
            if not entry.cancelled:
                self.guard(entry.fn)

    def _wake(self) -> None:
        # After close() the fd number may belong to someone else: never write to it.
        if self._closed:
            return
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._wake_w, b"\0")

    def _on_wake(self, revents: int) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(self._wake_r, 4096):
                pass


class LoopThread:
    """The daemon thread that listens, then serves an :class:`EventLoop` until stopped.

    One server or a group of servers sharing a loop starts and stops the same
    way: ``listen`` runs in the new thread (after ``thread_setup``, so every
    socket is made in the namespace that set-up entered), :meth:`start`
    returns once it did (or raises why not), and :meth:`stop` is thread- and
    signal-safe.
    """

    def __init__(self, loop: EventLoop, name: str) -> None:
        self.loop = loop
        self.name = name
        self._thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(
        self,
        listen: Callable[[], None],
        serve: Callable[[], None],
        *,
        thread_setup: Callable[[], None] | None = None,
        timeout: float = 10.0,
    ) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self.name} was already started")
        started: concurrent.futures.Future[None] = concurrent.futures.Future()

        def main() -> None:
            try:
                if thread_setup is not None:
                    thread_setup()
                listen()
            except BaseException as exc:
                started.set_exception(exc)
                self.loop.close()
                return
            started.set_result(None)
            serve()

        self._thread = threading.Thread(target=main, name=self.name, daemon=True)
        self._thread.start()
        started.result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop and wait up to ``timeout`` for the thread (idempotent)."""
        if not self.loop.claimed and not self.loop.finished:
            # Never listened: nothing to tear down but the wake-up pipe.
            self.loop.stop()
            self.loop.close()
            return
        self.loop.stop()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                raise TimeoutError("the IPC server thread did not stop in time")
