"""The typed events a session delivers, under one public name.

They are the notification dataclasses of :mod:`pyquorum.messages.types`
(frozen, slotted, comparable, hashable): a V1 session yields
:class:`NodelistNotification` then :class:`QuorumNotification` for each
membership change (only the latter for a quorum-only change); a V0 session
yields :class:`QuorumNotificationV0`.  :data:`Event` is their union, for
annotations.

A :class:`~pyquorum.reconnect.ReconnectingSession` adds two events of its
own (:data:`SupervisorEvent`): :class:`ConnectionLostEvent` when the daemon
goes away, and :class:`Reconnected` once a new session is initialized and
tracking again (its snapshot follows).  The event is named
``ConnectionLostEvent`` because :class:`pyquorum.errors.ConnectionLost` is
the *exception* a plain session raises in that case.
"""

from __future__ import annotations

from pyquorum._frozen import frozen
from pyquorum.messages.constants import Model, QuorumType
from pyquorum.messages.types import (
    NodelistNotification,
    Notification,
    QuorumNotification,
    QuorumNotificationV0,
    RingId,
    UnknownNotification,
)

__all__ = [
    "ConnectionLostEvent",
    "Event",
    "NodelistNotification",
    "Notification",
    "QuorumNotification",
    "QuorumNotificationV0",
    "Reconnected",
    "RingId",
    "SupervisorEvent",
    "UnknownNotification",
]


@frozen
class ConnectionLostEvent:
    """The connection to the daemon was lost; the supervisor is reconnecting.

    ``reason`` is the error's message (from :class:`pyquorum.errors.ConnectionLost`).
    """

    reason: str


@frozen
class Reconnected:
    """A new session is up (same model request, same trackstart flags).

    ``attempts`` is how many connection attempts it took.
    """

    quorum_type: QuorumType | int
    model: Model
    attempts: int = 1


#: The typed events a quorum session delivers (the model decides which of them).
Event = QuorumNotification | NodelistNotification | QuorumNotificationV0

#: What a reconnecting session adds to the event stream.
SupervisorEvent = ConnectionLostEvent | Reconnected
