"""The seam between the exporter and corosync: a :class:`Source` of typed inputs.

The runner (:mod:`pyquorum.exporter.runner`) owns the loop, the reconnects
and the reachable/unreachable transitions; a source only opens, reads and
closes, each call within the timeout it is given.  Any
:class:`~pyquorum.errors.PyquorumError` or :class:`OSError` a call raises
means "corosync is lost": the runner closes the source, marks the state
unreachable and calls :meth:`Source.connect` again after a backoff.

The corosync-backed source,
:class:`~pyquorum.exporter.corosync_source.CorosyncSource`, tracks the quorum
service, votequorum and cmap's nodelist, asks votequorum's getinfo for this
node and each member after a membership or expected-votes change, and reads
``stats.knet.`` of the stats map on :meth:`Source.refresh`.
:class:`ScriptedSource` is the test double: tests push inputs and failures
and the runner drives it like the real one.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from pyquorum._deadline import Deadline
from pyquorum.errors import ConnectionLost, CorosyncNotRunning, CsTimeoutError
from pyquorum.exporter.inputs import Input

__all__ = ["ScriptedSource", "Source"]


@runtime_checkable
class Source(Protocol):
    """What the runner drives; every call returns within ``timeout`` seconds."""

    def connect(self, timeout: float) -> Sequence[Input]:
        """Open the sessions and start tracking; return the first full picture.

        The picture holds at least the current quorum and member list; a
        corosync-backed source adds the local getinfo, each member's, and the
        nodelist.  Raises CorosyncNotRunning (or any PyquorumError/OSError)
        when corosync cannot be reached; the source must then hold nothing open.
        """
        ...

    def poll(self, timeout: float) -> Sequence[Input]:
        """The inputs that arrived within ``timeout`` (possibly none).

        The reads they make owed (getinfo, nodelist) may take up to the
        timeout :meth:`connect` was given, so a short poll never starves them.
        """
        ...

    def refresh(self, timeout: float) -> Sequence[Input]:
        """The periodic reads (the knet stats map), within ``timeout``."""
        ...

    def close(self) -> None:
        """Release every session, fd and /dev/shm entry; idempotent, never raises."""
        ...


class ScriptedSource:
    """A :class:`Source` that plays what a test feeds it; thread-safe.

    ``snapshot`` is what :meth:`connect` returns, ``stats`` what
    :meth:`refresh` returns; :meth:`push` queues inputs for :meth:`poll`;
    :meth:`lose` makes the next call raise ConnectionLost; :meth:`down` makes
    :meth:`connect` raise CorosyncNotRunning until :meth:`up`; :meth:`stall`
    makes :meth:`refresh` time out (as a wedged daemon would).
    """

    def __init__(
        self, snapshot: Iterable[Input] = (), stats: Iterable[Input] = ()
    ) -> None:
        self._cond = threading.Condition()
        self._snapshot: tuple[Input, ...] = tuple(snapshot)
        self._stats: tuple[Input, ...] = tuple(stats)
        self._queue: deque[Input] = deque()
        self._lose: str | None = None
        self._down = False
        self._stalled = False
        self.open = False
        self.connects = 0
        self.refreshes = 0
        self.closes = 0

    # ---------------------------------------------------------------- test side

    def set_snapshot(self, *inputs: Input) -> None:
        with self._cond:
            self._snapshot = inputs

    def set_stats(self, *inputs: Input) -> None:
        with self._cond:
            self._stats = inputs

    def push(self, *inputs: Input) -> None:
        with self._cond:
            self._queue.extend(inputs)
            self._cond.notify_all()

    def lose(self, reason: str = "corosync went away") -> None:
        with self._cond:
            self._lose = reason
            self._cond.notify_all()

    def down(self) -> None:
        with self._cond:
            self._down = True
            self._lose = self._lose or "corosync stopped"
            self._cond.notify_all()

    def up(self) -> None:
        with self._cond:
            self._down = False

    def stall(self, stalled: bool = True) -> None:
        with self._cond:
            self._stalled = stalled

    # ---------------------------------------------------------------- source side

    def _check(self) -> None:
        if not self.open:
            raise ConnectionLost("the source is closed")
        if self._lose is not None:
            reason, self._lose = self._lose, None
            raise ConnectionLost(reason)

    def connect(self, timeout: float) -> Sequence[Input]:
        with self._cond:
            if self._down:
                raise CorosyncNotRunning("corosync is not running (scripted)")
            self._lose = None
            self._queue.clear()
            self.open = True
            self.connects += 1
            return self._snapshot

    def poll(self, timeout: float) -> Sequence[Input]:
        deadline = Deadline(timeout)
        with self._cond:
            while True:
                self._check()
                if self._queue:
                    items = tuple(self._queue)
                    self._queue.clear()
                    return items
                left = deadline.remaining()
                if not left:
                    return ()
                self._cond.wait(left)

    def refresh(self, timeout: float) -> Sequence[Input]:
        with self._cond:
            self._check()
            if self._stalled:
                self._cond.wait(timeout)
                raise CsTimeoutError("the stats map did not answer (scripted stall)")
            self.refreshes += 1
            return self._stats

    def close(self) -> None:
        with self._cond:
            if self.open:
                self.closes += 1
            self.open = False
            self._cond.notify_all()
