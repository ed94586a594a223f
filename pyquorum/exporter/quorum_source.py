"""A :class:`~pyquorum.exporter.source.Source` over corosync's quorum service alone.

It gives quorate, the ring id and the member list, as the quorum service's
V1 notifications carry them.  The full corosync-backed source adds votequorum
(votes, flags, qdevice) and cmap (names, knet stats) beside it; this part is
also what runs against pyquorum's fake quorum server, whose story it turns
into the exporter's numbers.

The session is opened by ``open_session(timeout)`` (default: a
:class:`~pyquorum.QuorumSession` on this network namespace's corosync, model
V1, which the exporter needs for ring ids: corosync 3.1 or later).  A test
passes a factory that opens it elsewhere (a fake server's namespace).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

from pyquorum._deadline import Deadline
from pyquorum.errors import ConnectionLost, CsTimeoutError
from pyquorum.exporter.inputs import Input
from pyquorum.messages.constants import Model, Track
from pyquorum.messages.types import NodelistNotification, QuorumNotification
from pyquorum.services.quorum.session import QuorumSession

__all__ = ["QuorumServiceSource"]

#: How many events one poll hands over at most (the rest wait for the next poll).
MAX_BATCH = 256


def _open_default(timeout: float) -> QuorumSession:
    return QuorumSession(Model.V1, timeout=timeout)


class QuorumServiceSource:
    """Tracks the quorum service (CURRENT then CHANGES); no periodic reads."""

    def __init__(self, open_session: Callable[[float], QuorumSession] = _open_default) -> None:
        self._open = open_session
        self._session: QuorumSession | None = None

    def connect(self, timeout: float) -> Sequence[Input]:
        self.close()
        deadline = Deadline(timeout)
        session = self._open(timeout)
        self._session = session
        try:
            session.trackstart(Track.CURRENT | Track.CHANGES, timeout=deadline.remaining())
            picture: list[Input] = []
            while True:
                left = deadline.remaining()
                if not left:
                    raise CsTimeoutError(
                        f"the quorum service sent no snapshot within {timeout} s")
                for event in session.events(timeout=left):
                    if isinstance(event, QuorumNotification | NodelistNotification):
                        picture.append(event)
                    if isinstance(event, QuorumNotification):
                        return picture
                    if not deadline.remaining():
                        break
                if session.closed:
                    raise ConnectionLost("the quorum session closed during its snapshot")
        except BaseException:
            self.close()
            raise

    def poll(self, timeout: float) -> Sequence[Input]:
        session = self._session
        if session is None or session.closed:
            raise ConnectionLost("the quorum source is not connected")
        items: list[Input] = []
        for event in session.events(timeout=timeout):
            if isinstance(event, QuorumNotification | NodelistNotification):
                items.append(event)
            break
        if items:
            for event in session.events(timeout=0):
                if isinstance(event, QuorumNotification | NodelistNotification):
                    items.append(event)
                if len(items) >= MAX_BATCH:
                    break
        if session.closed:
            raise ConnectionLost("the quorum session closed")
        return items

    def fileno(self) -> int:
        """The session's fd, readable when a notification (or a hang-up) is pending."""
        session = self._session
        if session is None or session.closed:
            raise ConnectionLost("the quorum source is not connected")
        return session.fileno()

    def refresh(self, timeout: float) -> Sequence[Input]:
        if self._session is None or self._session.closed:
            raise ConnectionLost("the quorum source is not connected")
        return ()

    def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            with contextlib.suppress(Exception):
                session.close()
