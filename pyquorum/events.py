"""The typed events a session delivers, under one public name.

They are the notification dataclasses of :mod:`pyquorum.messages.types`
(frozen, slotted, comparable, hashable): a V1 session yields
:class:`NodelistNotification` then :class:`QuorumNotification` for each
membership change (only the latter for a quorum-only change); a V0 session
yields :class:`QuorumNotificationV0`.  :data:`Event` is their union, for
annotations.
"""

from pyquorum._core import Event
from pyquorum.messages.types import (
    NodelistNotification,
    Notification,
    QuorumNotification,
    QuorumNotificationV0,
    RingId,
    UnknownNotification,
)

__all__ = [
    "Event",
    "NodelistNotification",
    "Notification",
    "QuorumNotification",
    "QuorumNotificationV0",
    "RingId",
    "UnknownNotification",
]
