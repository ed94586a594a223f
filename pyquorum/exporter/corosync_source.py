"""The exporter's real :class:`~pyquorum.exporter.source.Source`: quorum, votequorum, cmap.

:class:`CorosyncSource` composes four sessions on one corosync:

* the quorum service (:class:`~pyquorum.exporter.quorum_source.QuorumServiceSource`):
  quorate, ring id and members; required, as it is the one authority for
  them (see :mod:`pyquorum.exporter.state`);
* votequorum, tracked with CURRENT|CHANGES: its notifications, and the
  getinfo reads :class:`~pyquorum.exporter.plan.ReadPlanner` says each one
  makes owed (this node's answer carries the quorum device);
* cmap's default map: ``quorum.provider`` (is votequorum there at all?),
  ``nodelist.node.*`` (names and addresses), and a tracker on
  ``nodelist.`` so a renamed or added node is picked up;
* cmap's stats map: ``stats.knet.*``, read on :meth:`CorosyncSource.refresh`.

The last three are optional: a corosync (or pyquorum's fake server) that
does not serve one of them still gives the quorum service's picture.  What
is missing, and why, is in :attr:`CorosyncSource.unavailable` and logged
once per connection when it changes.

Timeouts: :meth:`connect` and :meth:`refresh` finish within the timeout
they are given.  :meth:`poll` waits at most its timeout for notifications;
the reads those make owed share the timeout :meth:`connect` was given, so a
short poll slice never starves them.
"""

from __future__ import annotations

import contextlib
import logging
import select
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TypeVar

from pyquorum._deadline import Deadline
from pyquorum.errors import (
    AccessError,
    ConnectionLost,
    CorosyncNotRunning,
    CsTimeoutError,
    NotExistError,
    NotSupportedError,
)
from pyquorum.exporter.inputs import CmapNodelist, Input, KnetStats, NodeInfo, Tracked
from pyquorum.exporter.plan import GetInfo, Read, ReadKnetStats, ReadNodelist, ReadPlanner
from pyquorum.exporter.quorum_source import MAX_BATCH, QuorumServiceSource
from pyquorum.messages import votequorum as vq
from pyquorum.messages.constants import CmapMap, CmapTrack, Model, Track
from pyquorum.services.cmap.session import CmapSession
from pyquorum.services.quorum.session import QuorumSession
from pyquorum.services.votequorum.session import VotequorumSession

__all__ = ["VOTEQUORUM_PROVIDER", "CorosyncSource"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: ``quorum.provider`` when votequorum is the quorum provider (corosync.conf(5)).
VOTEQUORUM_PROVIDER = "corosync_votequorum"

#: What an optional service's connect or first request raises when it is not
#: served (no such endpoint, not allowed, no such map or tracker): not an outage.
_NOT_SERVED = (CorosyncNotRunning, AccessError, NotExistError, NotSupportedError)


class CorosyncSource:
    """Tracks quorum, votequorum and cmap on one corosync; see the module docstring.

    ``enter`` gives the context every session is opened in (default: none,
    i.e. this thread's network namespace; a test passes a node's
    ``netns_context``).  The ``*_service`` names are the libqb endpoints
    (pyquorum's fake server may serve the quorum service under another name).
    """

    def __init__(
        self,
        *,
        enter: Callable[[], AbstractContextManager[object]] = contextlib.nullcontext,
        quorum_service: str = "quorum",
        votequorum_service: str = "votequorum",
        cmap_service: str = "cmap",
        track_nodelist: bool = True,
    ) -> None:
        self._enter = enter
        self._votequorum_service = votequorum_service
        self._cmap_service = cmap_service
        self._track_nodelist = track_nodelist
        self._quorum = QuorumServiceSource(
            lambda timeout: self._in(
                lambda: QuorumSession(Model.V1, timeout=timeout, service=quorum_service)
            )
        )
        self._vq: VotequorumSession | None = None
        self._cmap: CmapSession | None = None
        self._stats: CmapSession | None = None
        self._planner = ReadPlanner()
        self._call_timeout = 5.0
        self._connected = False
        #: Optional parts not tracked on this connection: name → why.
        self.unavailable: dict[str, str] = {}

    def _in(self, fn: Callable[[], T]) -> T:
        with self._enter():
            return fn()

    # ------------------------------------------------------------------ connect

    def connect(self, timeout: float) -> Sequence[Input]:
        self.close()
        deadline = Deadline(timeout)
        self._call_timeout = timeout
        self._planner = ReadPlanner()
        before = dict(self.unavailable)
        self.unavailable = {}
        try:
            picture = list(self._quorum.connect(timeout))
            provider = self._open_cmap(deadline)
            if provider is not None and provider != VOTEQUORUM_PROVIDER:
                self.unavailable["votequorum"] = f"quorum.provider is {provider!r}"
            else:
                picture += self._open_votequorum(deadline)
            self._open_stats(deadline)
            picture += self._perform(self._planner.after_connect(picture), deadline)
            picture.append(Tracked({
                "quorum": True,
                "votequorum": self._vq is not None,
                "cmap": self._cmap is not None,
                "cmap_stats": self._stats is not None,
            }))
        except BaseException:
            self.close()
            raise
        self._connected = True
        if self.unavailable != before:
            for name, why in sorted(self.unavailable.items()):
                log.warning("corosync: not tracking %s: %s", name, why)
        return picture

    def _optional(self, name: str, deadline: Deadline, open_: Callable[[float], T]) -> T | None:
        left = deadline.remaining()
        if not left:
            raise CsTimeoutError(f"no time left to open {name}")
        try:
            return self._in(lambda: open_(left))
        except _NOT_SERVED as exc:
            self.unavailable[name] = f"{type(exc).__name__}: {exc}"
            return None

    def _open_cmap(self, deadline: Deadline) -> str | None:
        """Open cmap's default map; ``quorum.provider`` ("" when unset, None without cmap)."""
        self._cmap = self._optional(
            "cmap", deadline,
            lambda t: CmapSession(CmapMap.DEFAULT, timeout=t, service=self._cmap_service),
        )
        if self._cmap is None:
            return None
        try:
            value = self._cmap.get("quorum.provider", timeout=deadline.remaining()).value
        except NotExistError:
            return ""
        if self._track_nodelist:
            try:
                self._cmap.track_add(
                    "nodelist.",
                    CmapTrack.ADD | CmapTrack.MODIFY | CmapTrack.DELETE | CmapTrack.PREFIX,
                    timeout=deadline.remaining(),
                )
            except _NOT_SERVED as exc:
                self.unavailable["cmap nodelist tracking"] = f"{type(exc).__name__}: {exc}"
        return value if isinstance(value, str) else ""

    def _open_votequorum(self, deadline: Deadline) -> list[Input]:
        """Open votequorum and start tracking; its snapshot (nodelist, then quorum)."""
        session = self._optional(
            "votequorum", deadline,
            lambda t: VotequorumSession(timeout=t, service=self._votequorum_service),
        )
        self._vq = session
        if session is None:
            return []
        session.trackstart(Track.CURRENT | Track.CHANGES, timeout=deadline.remaining())
        snapshot: list[Input] = []
        while True:
            left = deadline.remaining()
            if not left:
                raise CsTimeoutError("votequorum sent no snapshot in time")
            for event in session.events(timeout=left):
                snapshot.append(event)
                if isinstance(event, vq.QuorumNotification):
                    return snapshot
                if not deadline.remaining():
                    break

    def _open_stats(self, deadline: Deadline) -> None:
        self._stats = self._optional(
            "cmap stats map", deadline,
            lambda t: CmapSession(CmapMap.STATS, timeout=t, service=self._cmap_service),
        )

    # ------------------------------------------------------------------ reads

    def _perform(self, reads: list[Read], deadline: Deadline) -> list[Input]:
        """Do ``reads`` in order, once each; a node votequorum does not know is skipped."""
        out: list[Input] = []
        done: set[Read] = set()
        for read in reads:
            if read in done:
                continue
            done.add(read)
            left = deadline.remaining()
            if not left:
                raise CsTimeoutError("corosync did not answer the exporter's reads in time")
            if isinstance(read, GetInfo):
                if self._vq is None:
                    continue
                try:
                    info = self._vq.getinfo(read.nodeid, timeout=left)
                except NotExistError:
                    continue
                out.append(NodeInfo(info, local=read.nodeid == 0))
            elif isinstance(read, ReadNodelist):
                if self._cmap is not None:
                    out.append(CmapNodelist(dict(self._cmap.items("nodelist.node.", timeout=left))))
            elif isinstance(read, ReadKnetStats) and self._stats is not None:
                out.append(KnetStats(dict(self._stats.items("stats.knet.", timeout=left))))
        return out

    def _check(self) -> None:
        if not self._connected:
            raise ConnectionLost("the corosync source is not connected")
        for session in (self._vq, self._cmap, self._stats):
            if session is not None and session.closed:
                raise ConnectionLost(f"{session!r} closed")

    # ------------------------------------------------------------------ Source

    def poll(self, timeout: float) -> Sequence[Input]:
        self._check()
        watched: dict[int, str] = {self._quorum.fileno(): "quorum"}
        if self._vq is not None:
            watched[self._vq.fileno()] = "votequorum"
        if self._cmap is not None:
            watched[self._cmap.fileno()] = "cmap"
        poller = select.poll()
        for fd in watched:
            poller.register(fd, select.POLLIN)
        ready = {watched[fd] for fd, _ in poller.poll(max(0.0, timeout) * 1000)}
        items: list[Input] = []
        reads: list[Read] = []
        if "quorum" in ready:
            for item in self._quorum.poll(0):
                items.append(item)
                reads += self._planner.after(item)
        if "votequorum" in ready and self._vq is not None:
            for event in self._vq.events(timeout=0):
                items.append(event)
                reads += self._planner.after(event)
                if len(items) >= MAX_BATCH:
                    break
        if "cmap" in ready and self._cmap is not None:
            for change in self._cmap.events(timeout=0):
                reads += self._planner.after_cmap_change(change.key)
                if len(reads) >= MAX_BATCH:
                    break
        self._check()
        if reads:
            items += self._perform(reads, Deadline(self._call_timeout))
        return items

    def refresh(self, timeout: float) -> Sequence[Input]:
        self._check()
        return self._perform(self._planner.refresh(), Deadline(timeout))

    def close(self) -> None:
        self._connected = False
        self._quorum.close()
        sessions = (self._vq, self._cmap, self._stats)
        self._vq = self._cmap = self._stats = None
        for session in sessions:
            if session is not None:
                with contextlib.suppress(Exception):
                    session.close()

