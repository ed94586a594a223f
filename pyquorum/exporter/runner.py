"""The exporter's loop: drive a :class:`~pyquorum.exporter.source.Source` into a state.

One thread connects the source, folds what it delivers into the
:class:`~pyquorum.exporter.state.ClusterState`, refreshes the stats every
``stats_interval`` seconds, and on any failure closes the source, marks the
state unreachable and reconnects with a bounded exponential backoff.  The
scrape side never touches the source, so a stopped or wedged corosync costs
a scrape nothing: it reads the last snapshot, with ``reachable`` 0.

Every source call gets ``timeout`` seconds at most; polls are cut into
slices of at most ``poll_slice`` seconds so that :meth:`Exporter.stop` is quick.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType

from pyquorum.errors import PyquorumError
from pyquorum.exporter.inputs import Reachable, Unreachable
from pyquorum.exporter.source import Source
from pyquorum.exporter.state import ClusterState

__all__ = ["Exporter"]

log = logging.getLogger(__name__)


class Exporter:
    """Runs ``source`` into ``state`` on a thread of its own (``start``/``stop``)."""

    def __init__(
        self,
        source: Source,
        state: ClusterState,
        *,
        stats_interval: float = 10.0,
        timeout: float = 5.0,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
        poll_slice: float = 0.25,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, value in (("stats_interval", stats_interval), ("timeout", timeout),
                            ("backoff_initial", backoff_initial), ("poll_slice", poll_slice)):
            if not value > 0:
                raise ValueError(f"{name} must be > 0, not {value!r}")
        if backoff_max < backoff_initial:
            raise ValueError("backoff_max must be >= backoff_initial")
        self.source = source
        self.state = state
        self.stats_interval = stats_interval
        self.timeout = timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.poll_slice = poll_slice
        self._monotonic = monotonic
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = False
        self._delay = backoff_initial
        self._next_refresh = 0.0
        self._retry_at = 0.0

    # ---------------------------------------------------------------- one step

    def step(self) -> None:
        """One turn of the loop: connect, refresh or poll, whichever is due.

        Public so tests can drive the runner without its thread.  Never
        raises for a source failure: that is an outage, folded into the state.
        """
        now = self._monotonic()
        try:
            if not self._connected:
                if now < self._retry_at:
                    self._stop.wait(min(self.poll_slice, self._retry_at - now))
                    return
                inputs = self.source.connect(self.timeout)
                self.state.apply(Reachable())
                self.state.apply_all(list(inputs))
                self._connected = True
                self._delay = self.backoff_initial
                self._next_refresh = now
                return
            if now >= self._next_refresh:
                self.state.apply_all(list(self.source.refresh(self.timeout)))
                self._next_refresh = self._monotonic() + self.stats_interval
                return
            wait = min(self.poll_slice, self.timeout, self._next_refresh - now)
            self.state.apply_all(list(self.source.poll(wait)))
        except (PyquorumError, OSError) as exc:
            self._lost(f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a source bug must not kill the exporter silently
            log.exception("exporter source failed")
            self._lost(f"{type(exc).__name__}: {exc}")

    def _lost(self, reason: str) -> None:
        if self._connected:
            log.warning("lost corosync: %s", reason)
        self._connected = False
        self.source.close()
        self.state.apply(Unreachable(reason))
        self._retry_at = self._monotonic() + self._delay
        self._delay = min(self._delay * 2, self.backoff_max)

    @property
    def connected(self) -> bool:
        return self._connected

    # ---------------------------------------------------------------- thread

    def run(self) -> None:
        """Loop until :meth:`stop`; closes the source on the way out."""
        try:
            while not self._stop.is_set():
                self.step()
        finally:
            self.source.close()
            self._connected = False

    def start(self) -> Exporter:
        if self._thread is not None:
            raise RuntimeError("the exporter is already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="pyquorum-exporter", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop the loop and wait for it (at most ``timeout`` + one source call)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(self.timeout + self.poll_slice + 1.0 if timeout is None else timeout)
            if thread.is_alive():
                raise TimeoutError("the exporter thread did not stop")

    def __enter__(self) -> Exporter:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
