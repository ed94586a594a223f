"""What ``expected``, ``votes`` and ``watch --votequorum`` share: a votequorum session.

Imported by those commands when they run (it brings in the votequorum client).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pyquorum.commands._common import Failure
from pyquorum.errors import CorosyncNotRunning, InvalidParamError, NameNotFoundError
from pyquorum.services.votequorum.session import VotequorumSession

if TYPE_CHECKING:
    from pyquorum.frontend.blocking import Connection

__all__ = ["REFUSALS", "open_votequorum", "refused"]

#: How votequorum says no to SETEXPECTED and SETVOTES.
REFUSALS = (InvalidParamError, NameNotFoundError)


def open_votequorum(
    timeout: float, connect: Callable[[str], Connection] | None = None
) -> VotequorumSession:
    """A votequorum session (over ``connect("votequorum")`` when given); a
    :class:`Failure` saying why when nothing serves votequorum."""
    try:
        connection = connect("votequorum") if connect is not None else None
        return VotequorumSession(timeout=timeout, connection=connection)
    except CorosyncNotRunning as exc:
        raise Failure(
            "nothing serves votequorum here: corosync is not running in this network "
            "namespace, or runs without the votequorum provider (quorum.provider: "
            "corosync_votequorum in corosync.conf)"
        ) from exc


def refused(exc: InvalidParamError | NameNotFoundError, what: str) -> Failure:
    """One of :data:`REFUSALS` in words."""
    if isinstance(exc, NameNotFoundError):
        return Failure(f"votequorum refused {what}: it knows no such node "
                       "(CS_ERR_NAME_NOT_FOUND); pyquorum status lists the node ids")
    return Failure(f"votequorum refused {what} (CS_ERR_INVALID_PARAM); the votes present "
                   "must be able to reach the new quorum, see pyquorum status")
